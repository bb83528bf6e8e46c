//! `cargo xtask trace-stats PATH`: streams a trace in any supported format and prints its
//! summary (jobs, tasks, classes, time span, resource totals, per-class mean/p50/p99 of
//! tasks per job, duration and requests) as a text table or, with `--json`, as JSON.
//!
//! The summary itself is computed by `omega_workload::trace::TraceStats`, where it is
//! tested; this file only parses arguments and prints.

use std::path::PathBuf;

use omega_workload::trace::{self, MachineSize, TraceFormat, TraceOptions, TraceStats};

/// Arguments of `cargo xtask trace-stats`.
#[derive(Debug, clap::Args)]
pub struct TraceStatsArgs {
    /// The trace: a Google 2011 folder (task_events/, job_events/), an Alibaba GPU 2023
    /// folder or pod-list CSV, or an SWF file or a folder holding one.
    pub path: PathBuf,
    /// The format (google-2011, alibaba-gpu-2023, swf); detected from the path if absent.
    #[arg(long)]
    pub format: Option<TraceFormat>,
    /// Print JSON instead of a text table.
    #[arg(long)]
    pub json: bool,
    /// Skip malformed lines (and report how many) instead of stopping at the first.
    #[arg(long)]
    pub lenient: bool,
    /// End of the replay in microseconds of trace time (default: the last event).
    #[arg(long)]
    pub horizon_us: Option<u64>,
    /// Google: millicores of the machine the trace's normalised 1.0 stands for (with
    /// --machine-mem-mib; default 16000). SWF: millicores of one node.
    #[arg(long, requires = "machine_mem_mib")]
    pub machine_cpu_milli: Option<u64>,
    /// Google: MiB of the machine the trace's normalised 1.0 stands for (with
    /// --machine-cpu-milli; default 32768). SWF: MiB of one node.
    #[arg(long, requires = "machine_cpu_milli")]
    pub machine_mem_mib: Option<u64>,
    /// Alibaba: the pod list to read, a file name in the trace folder (default: the only
    /// one, or openb_pod_list_default.csv when there are several).
    #[arg(long)]
    pub pod_list: Option<PathBuf>,
    /// Alibaba: the node list to read, a file name in the trace folder (default: the only
    /// one, or openb_node_list_all_node.csv when there are several).
    #[arg(long)]
    pub node_list: Option<PathBuf>,
    /// Alibaba: keep only the nodes with GPUs.
    #[arg(long)]
    pub gpu_nodes_only: bool,
}

/// Loads the trace and prints its summary to stdout.
pub fn run(args: TraceStatsArgs) -> Result<(), Box<dyn std::error::Error>> {
    let format = match args.format {
        Some(format) => format,
        None => TraceFormat::detect(&args.path)?,
    };
    let machine_size = match (args.machine_cpu_milli, args.machine_mem_mib) {
        (Some(cpu_milli), Some(mem_mib)) => Some(MachineSize { cpu_milli, mem_mib }),
        _ => None,
    };
    let options = TraceOptions {
        lenient: args.lenient,
        horizon_us: args.horizon_us,
        machine_size,
        pod_list: args.pod_list,
        node_list: args.node_list,
        gpu_nodes_only: args.gpu_nodes_only,
        ..TraceOptions::default()
    };
    if format == TraceFormat::AlibabaGpu2023 {
        let (nodes, pods) = trace::alibaba::files(&args.path, &options)?;
        let nodes = nodes.map_or_else(|| "none".to_owned(), |p| p.display().to_string());
        eprintln!("reading pod list {} and node list {nodes}", pods.display());
    }
    let stream = trace::open(&args.path, format, &options)?;
    let skipped_lines = stream.skipped_lines;
    let stats = TraceStats::of_stream(stream)?;
    if args.json {
        println!("{}", stats.to_json());
    } else {
        print!("{}", stats.to_text());
    }
    if skipped_lines > 0 {
        eprintln!("note: skipped {skipped_lines} malformed lines (--lenient)");
    }
    Ok(())
}
