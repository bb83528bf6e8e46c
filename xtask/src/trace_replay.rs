//! `cargo xtask trace-replay PATH [--collect]`: reads a trace the way a replay does — the
//! prefill, then the jobs pulled one at a time from `omega_workload::trace::open` and
//! dropped, as the simulator drops a job once it is done — and prints what was read and
//! the process's peak memory. With `--collect` the trace is loaded whole first (for
//! Google, the collecting `GoogleReader` fed the job table first: the loader as it was
//! before streaming), so the two peaks compare the stream with the old loader. Peak
//! memory is the kernel's `VmHWM` (Linux; `-` elsewhere).

use std::path::PathBuf;

use omega_workload::trace::google::{GoogleReader, GoogleStream};
use omega_workload::trace::{self, TraceFormat, TraceOptions};

/// Arguments of `cargo xtask trace-replay`.
#[derive(Debug, clap::Args)]
pub struct TraceReplayArgs {
    /// The trace: a Google 2011 folder, an Alibaba GPU 2023 folder or pod-list CSV, or an
    /// SWF file or a folder holding one.
    pub path: PathBuf,
    /// The format; detected from the path if absent.
    #[arg(long)]
    pub format: Option<TraceFormat>,
    /// Load the whole trace first (the collecting loader) instead of streaming it.
    #[arg(long)]
    pub collect: bool,
}

/// Jobs and tasks read.
#[derive(Default)]
struct Read {
    jobs: u64,
    tasks: u64,
}

impl Read {
    /// Counts a job of `tasks` tasks.
    fn add(&mut self, tasks: u32) {
        self.jobs += 1;
        self.tasks += u64::from(tasks);
    }
}

/// Reads the trace and prints jobs, tasks and peak memory.
pub fn run(args: TraceReplayArgs) -> Result<(), Box<dyn std::error::Error>> {
    let format = match args.format {
        Some(format) => format,
        None => TraceFormat::detect(&args.path)?,
    };
    let options = TraceOptions::default();
    let started = std::time::Instant::now();
    let mut read = Read::default();
    let mut note = String::new();
    if args.collect {
        let loaded = if format == TraceFormat::Google2011 {
            let mut reader = GoogleReader::new(&options);
            reader.read_folder(&args.path)?;
            reader.finish()
        } else {
            trace::load(&args.path, format, &options)?
        };
        loaded
            .prefill
            .iter()
            .chain(&loaded.jobs)
            .for_each(|j| read.add(j.tasks));
    } else if format == TraceFormat::Google2011 {
        let mut stream = GoogleStream::open(&args.path, &options)?;
        stream.prefill().iter().for_each(|j| read.add(j.tasks));
        for job in &mut stream {
            read.add(job?.tasks);
        }
        note = format!(
            "; buffered at most {} jobs, {} task accumulators (first pass {})",
            stream.peak_buffered_jobs(),
            stream.peak_live_tasks(),
            stream.first_pass_peak_live_tasks()
        );
    } else {
        let mut stream = trace::open(&args.path, format, &options)?;
        stream.prefill.iter().for_each(|j| read.add(j.tasks));
        for job in &mut stream {
            read.add(job?.tasks);
        }
    }
    let mode = if args.collect {
        "collected"
    } else {
        "streamed"
    };
    println!(
        "{mode}: {} jobs, {} tasks in {:.2} s; peak memory {}{note}",
        read.jobs,
        read.tasks,
        started.elapsed().as_secs_f64(),
        peak_memory().unwrap_or_else(|| "-".to_owned())
    );
    Ok(())
}

/// The process's peak resident memory (`VmHWM`), if the platform says.
fn peak_memory() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .map(|v| v.trim().to_owned())
}
