//! Loaders for real cluster traces: Google clusterdata-2011-2, Alibaba cluster-trace-gpu-v2023
//! and the Standard Workload Format (SWF) of the Parallel Workloads Archive.
//!
//! Every loader turns a trace into the same plain data the synthetic generator produces:
//! [`omega_core::Job`]s in submit order, the jobs already running when the trace starts
//! (*prefill*), and — when the trace describes one — the cluster as `Vec<omega_core::Machine>`.
//!
//! ```no_run
//! use omega_workload::trace::{self, TraceFormat, TraceOptions};
//! let path = std::path::Path::new("../shared/traces/swf/NASA-iPSC-1993-3.1-cln.head500.swf");
//! let format = TraceFormat::detect(path)?;
//! let trace = trace::load(path, format, &TraceOptions::default())?;
//! println!("{} jobs on {} machines", trace.jobs.len(), trace.machines.map_or(0, |m| m.len()));
//! # Ok::<(), trace::TraceError>(())
//! ```
//!
//! [`open`] reads the same trace as a [`TraceStream`]: prefill, cell and counts first, then
//! the jobs one at a time in submit order, so a replay holds what is alive, not the whole
//! trace ([`load`] is `open` collected).
//!
//! The format-specific rules (batch/service split, durations, GPU requests, gang jobs) are
//! documented in [`google`], [`alibaba`] and [`swf`]; [`stats`] summarises a loaded trace
//! (what `cargo xtask trace-stats` prints).
//!
//! # Bad input
//! Every malformed line is a [`TraceError::Parse`] naming the file, the 1-based line, the
//! 1-based column (field index) and what was expected. With [`TraceOptions::lenient`] such
//! lines are skipped and counted in [`Trace::skipped_lines`] instead. I/O errors, a truncated
//! gzip stream ([`TraceError::Truncated`]) and a missing file are errors in both modes. No
//! input makes a loader panic.

pub mod alibaba;
pub mod google;
mod google_stream;
mod input;
mod order;
pub mod stats;
pub mod swf;

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use omega_core::{Job, Machine};
use serde::{Deserialize, Serialize};

pub use stats::{ClassStats, MachineTotals, ResourceTotals, Summary, TraceStats};

/// The trace formats this module reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TraceFormat {
    /// Google clusterdata-2011-2: a folder with `task_events/` and `job_events/` gzip CSV parts.
    #[serde(rename = "google-2011")]
    Google2011,
    /// Alibaba cluster-trace-gpu-v2023: a node list and a pod list (CSV with headers).
    #[serde(rename = "alibaba-gpu-2023")]
    AlibabaGpu2023,
    /// Standard Workload Format: one `.swf` file (optionally gzip-compressed), or a folder
    /// holding exactly one.
    #[serde(rename = "swf")]
    Swf,
}

impl TraceFormat {
    /// Every format, in a fixed order.
    pub const ALL: [TraceFormat; 3] = [
        TraceFormat::Google2011,
        TraceFormat::AlibabaGpu2023,
        TraceFormat::Swf,
    ];

    /// The format's name as configs and the command line spell it.
    ///
    /// ```
    /// use omega_workload::trace::TraceFormat;
    /// assert_eq!(TraceFormat::Google2011.name(), "google-2011");
    /// assert_eq!("swf".parse::<TraceFormat>(), Ok(TraceFormat::Swf));
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            TraceFormat::Google2011 => "google-2011",
            TraceFormat::AlibabaGpu2023 => "alibaba-gpu-2023",
            TraceFormat::Swf => "swf",
        }
    }

    /// Guesses the format of the trace at `path` from its layout and names:
    /// - a folder holding `task_events/` → Google 2011;
    /// - a folder holding a `*pod_list*.csv` file, or a CSV file whose header starts with
    ///   `name,cpu_milli` or `sn,cpu_milli` → Alibaba GPU 2023;
    /// - a file ending in `.swf` or `.swf.gz`, or a folder holding exactly one such file → SWF.
    pub fn detect(path: &Path) -> Result<TraceFormat, TraceError> {
        let unknown = |reason: &str| TraceError::Format {
            path: path.to_path_buf(),
            reason: reason.to_owned(),
        };
        if path.is_dir() {
            if path.join("task_events").is_dir() {
                return Ok(TraceFormat::Google2011);
            }
            let names = input::dir_file_names(path)?;
            if names.iter().any(|n| n.contains("pod_list") && is_csv(n)) {
                return Ok(TraceFormat::AlibabaGpu2023);
            }
            if names.iter().filter(|n| is_swf(n)).count() == 1 {
                return Ok(TraceFormat::Swf);
            }
            return Err(unknown(
                "expected a folder with task_events/ (Google 2011), a *pod_list*.csv \
                 (Alibaba GPU 2023) or one .swf file",
            ));
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if is_swf(&name) {
            return Ok(TraceFormat::Swf);
        }
        if is_csv(&name) {
            let header = input::first_line(path)?;
            if header.starts_with("name,cpu_milli") || header.starts_with("sn,cpu_milli") {
                return Ok(TraceFormat::AlibabaGpu2023);
            }
        }
        if !path.exists() {
            return Err(TraceError::Io {
                file: path.display().to_string(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
            });
        }
        Err(unknown(
            "expected a Google 2011 folder, an Alibaba GPU 2023 CSV or folder, or an .swf file",
        ))
    }
}

fn is_swf(name: &str) -> bool {
    name.ends_with(".swf") || name.ends_with(".swf.gz")
}

fn is_csv(name: &str) -> bool {
    name.ends_with(".csv") || name.ends_with(".csv.gz")
}

impl fmt::Display for TraceFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for TraceFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TraceFormat::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                format!("unknown trace format {s:?} (google-2011, alibaba-gpu-2023, swf)")
            })
    }
}

/// The size of one machine, in the model's units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineSize {
    /// CPU in millicores.
    pub cpu_milli: u64,
    /// Memory in MiB.
    pub mem_mib: u64,
}

impl MachineSize {
    /// The largest of `machines` by CPU, then memory: what Google's normalised requests are
    /// scaled to when the user names a cluster. `None` for an empty slice.
    ///
    /// ```
    /// use omega_core::{FailureDomain, Machine};
    /// use omega_workload::trace::MachineSize;
    /// let cluster = [Machine::new("A", 8_000, 16_384, FailureDomain(0)),
    ///                Machine::new("B", 16_000, 32_768, FailureDomain(0))];
    /// assert_eq!(MachineSize::largest_of(&cluster),
    ///            Some(MachineSize { cpu_milli: 16_000, mem_mib: 32_768 }));
    /// ```
    pub fn largest_of(machines: &[Machine]) -> Option<MachineSize> {
        machines
            .iter()
            .map(|m| (m.capacity.cpu_milli, m.capacity.mem_mib))
            .max()
            .map(|(cpu_milli, mem_mib)| MachineSize { cpu_milli, mem_mib })
    }
}

/// How to read a trace. Plain data, readable from a config (`deny_unknown_fields`; every
/// field has a default).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TraceOptions {
    /// Skip malformed lines (counting them in [`Trace::skipped_lines`]) instead of failing.
    pub lenient: bool,
    /// The end of the replay, in µs of trace time: tasks still running then (or never
    /// ending) run until it. Default: the trace's last event time.
    pub horizon_us: Option<u64>,
    /// Google: the machine size that the trace's normalised 1.0 stands for (default
    /// [`google::DEFAULT_MACHINE`], the seed's largest type; use
    /// [`MachineSize::largest_of`] on the chosen cluster). SWF: the size of one node
    /// (default: processors per node × 1000 millicores, memory from the jobs).
    pub machine_size: Option<MachineSize>,
    /// SWF: the number of nodes (default: the header's `MaxNodes`, else `MaxProcs`, else the
    /// largest job).
    pub node_count: Option<u32>,
    /// Google: jobs of at least this priority are `service` (default 9, the production band).
    pub service_min_priority: u32,
    /// Google: if set, jobs of at least this scheduling class are `service` too (e.g. 2,
    /// latency-sensitive). Default `None`: the class is not used, priority alone decides
    /// (the Omega paper's >80% batch).
    pub service_min_scheduling_class: Option<u32>,
    /// Alibaba: the pod list to read, a file name inside the trace folder (or a path).
    /// Default: the folder's only `*pod_list*.csv`, or `openb_pod_list_default.csv` when
    /// there are several (the released `csv/` layout).
    pub pod_list: Option<PathBuf>,
    /// Alibaba: the node list to read, a file name inside the trace folder (or a path).
    /// Default: the folder's only `*node_list*.csv`, or `openb_node_list_all_node.csv`
    /// when there are several.
    pub node_list: Option<PathBuf>,
    /// Alibaba: keep only the nodes with GPUs (the published fill experiments' cell).
    pub gpu_nodes_only: bool,
}

impl Default for TraceOptions {
    fn default() -> Self {
        Self {
            lenient: false,
            horizon_us: None,
            machine_size: None,
            node_count: None,
            service_min_priority: 9,
            service_min_scheduling_class: None,
            pod_list: None,
            node_list: None,
            gpu_nodes_only: false,
        }
    }
}

/// A loaded trace: what an experiment replays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    /// The format it was read from.
    pub format: TraceFormat,
    /// The cluster the trace defines (Alibaba node list, SWF header), or `None` when the
    /// trace has none (Google without `machine_events`): the experiment names one.
    pub machines: Option<Vec<Machine>>,
    /// Jobs already running when the trace starts (time 0), to be placed before the
    /// replay; their durations are the time left from trace start.
    pub prefill: Vec<Job>,
    /// The other jobs, in submit order (ties by job id).
    pub jobs: Vec<Job>,
    /// The end of the replay in µs (from [`TraceOptions::horizon_us`] or the last event).
    pub horizon_us: u64,
    /// Malformed lines skipped in lenient mode.
    pub skipped_lines: u64,
    /// Well-formed records that could not become a job (no tasks, unknown size or
    /// duration); each loader documents its cases.
    pub dropped_jobs: u64,
    /// Tasks already running when the trace starts, whose runs began before it: their
    /// durations are lower bounds. They are in [`Trace::prefill`]. Only Google traces
    /// have them (see [`google`]); 0 for the others.
    pub censored_tasks: u64,
    /// Tasks replayed with duration 0 (ended without running: killed while pending, a
    /// pod deleted when it was scheduled, a job of run time 0), prefill included.
    pub zero_duration_tasks: u64,
}

/// Reads the trace at `path` in format `format`, every job at once: [`open`] collected.
///
/// `path` is the folder of a Google trace, the folder or pod-list CSV of an Alibaba trace
/// (the node list is looked for beside it), or an SWF file or a folder holding one.
pub fn load(path: &Path, format: TraceFormat, options: &TraceOptions) -> Result<Trace, TraceError> {
    open(path, format, options)?.into_trace()
}

/// Opens the trace at `path` in format `format` as a [`TraceStream`]: its cell, prefill
/// and counts at once, its jobs one at a time in submit order (ties by job id).
///
/// Every loader reads its input twice. The first pass checks every line (so a malformed
/// line is an error here, before any job is replayed, as [`load`] reports it), counts
/// what the trace holds and finds what must be known before the first job: the horizon,
/// the cluster, the prefill. The second pass, driven by the iterator, builds the jobs
/// again and hands them out in submit order, holding only what that order requires (each
/// format's module says what and how much). Jobs streamed equal those [`load`] returns.
///
/// ```no_run
/// use omega_workload::trace::{self, TraceFormat, TraceOptions};
/// let path = std::path::Path::new("../shared/traces/google-2011");
/// let mut stream = trace::open(path, TraceFormat::Google2011, &TraceOptions::default())?;
/// println!("{} jobs running at the start, {} to come", stream.prefill.len(), stream.job_count);
/// for job in &mut stream {
///     let job = job?; // an I/O error mid-stream names its file and line
///     let _ = job.submit_at_us;
/// }
/// # Ok::<(), trace::TraceError>(())
/// ```
pub fn open(
    path: &Path,
    format: TraceFormat,
    options: &TraceOptions,
) -> Result<TraceStream, TraceError> {
    match format {
        TraceFormat::Google2011 => google_stream::open(path, options),
        TraceFormat::AlibabaGpu2023 => alibaba::open(path, options),
        TraceFormat::Swf => swf::open(path, options),
    }
}

/// A trace being read: what must be known before the replay starts (cell, prefill,
/// horizon, counts) as fields, and the jobs as an iterator in submit order (ties by job
/// id), each `Ok`, or one `Err` (a read failure in the second pass: the file changed or
/// became unreadable since the first) after which the stream ends.
pub struct TraceStream {
    /// The format it is read from.
    pub format: TraceFormat,
    /// As [`Trace::machines`].
    pub machines: Option<Vec<Machine>>,
    /// As [`Trace::prefill`] (in submit order, ties by id).
    pub prefill: Vec<Job>,
    /// As [`Trace::horizon_us`].
    pub horizon_us: u64,
    /// Jobs the stream will yield (prefill not included).
    pub job_count: u64,
    /// Their tasks.
    pub task_count: u64,
    /// The class names of the stream's jobs and of the prefill, sorted.
    pub classes: BTreeSet<String>,
    /// As [`Trace::skipped_lines`] (the whole trace: counted by the first pass).
    pub skipped_lines: u64,
    /// As [`Trace::dropped_jobs`].
    pub dropped_jobs: u64,
    /// As [`Trace::censored_tasks`].
    pub censored_tasks: u64,
    /// As [`Trace::zero_duration_tasks`].
    pub zero_duration_tasks: u64,
    jobs: Box<dyn Iterator<Item = Result<Job, TraceError>> + Send>,
}

impl fmt::Debug for TraceStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TraceStream")
            .field("format", &self.format)
            .field("machines", &self.machines.as_ref().map(Vec::len))
            .field("prefill", &self.prefill.len())
            .field("horizon_us", &self.horizon_us)
            .field("job_count", &self.job_count)
            .field("task_count", &self.task_count)
            .finish_non_exhaustive()
    }
}

impl Iterator for TraceStream {
    type Item = Result<Job, TraceError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.jobs.next()
    }
}

impl TraceStream {
    /// Collects the rest of the stream into a [`Trace`] (the first error, if any).
    pub fn into_trace(mut self) -> Result<Trace, TraceError> {
        let jobs = (&mut self).collect::<Result<Vec<Job>, TraceError>>()?;
        Ok(Trace {
            format: self.format,
            machines: self.machines,
            prefill: self.prefill,
            jobs,
            horizon_us: self.horizon_us,
            skipped_lines: self.skipped_lines,
            dropped_jobs: self.dropped_jobs,
            censored_tasks: self.censored_tasks,
            zero_duration_tasks: self.zero_duration_tasks,
        })
    }
}

/// What a first pass found, for [`TraceStream`]'s fields.
#[derive(Debug, Default)]
pub(crate) struct FirstPass {
    pub(crate) machines: Option<Vec<Machine>>,
    pub(crate) prefill: Vec<Job>,
    pub(crate) horizon_us: u64,
    pub(crate) job_count: u64,
    pub(crate) task_count: u64,
    pub(crate) classes: BTreeSet<String>,
    pub(crate) skipped_lines: u64,
    pub(crate) dropped_jobs: u64,
    pub(crate) censored_tasks: u64,
    pub(crate) zero_duration_tasks: u64,
}

impl FirstPass {
    /// Counts one job the stream will yield.
    pub(crate) fn count(&mut self, job: &Job) {
        self.count_tasks(job.tasks, &job.class);
    }

    /// Counts one job of `tasks` tasks of class `class` the stream will yield.
    pub(crate) fn count_tasks(&mut self, tasks: u32, class: &str) {
        self.job_count += 1;
        self.task_count += u64::from(tasks);
        if !self.classes.contains(class) {
            self.classes.insert(class.to_owned());
        }
    }

    /// The stream: these counts and `jobs`.
    pub(crate) fn stream(
        self,
        format: TraceFormat,
        jobs: Box<dyn Iterator<Item = Result<Job, TraceError>> + Send>,
    ) -> TraceStream {
        let mut classes = self.classes;
        classes.extend(self.prefill.iter().map(|j| j.class.to_string()));
        TraceStream {
            format,
            machines: self.machines,
            prefill: self.prefill,
            horizon_us: self.horizon_us,
            job_count: self.job_count,
            task_count: self.task_count,
            classes,
            skipped_lines: self.skipped_lines,
            dropped_jobs: self.dropped_jobs,
            censored_tasks: self.censored_tasks,
            zero_duration_tasks: self.zero_duration_tasks,
            jobs,
        }
    }
}

/// What went wrong reading a trace.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TraceError {
    /// A file could not be opened or read.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A gzip stream ended before its end marker: the file is cut short.
    #[error(
        "{file}: truncated gzip stream (the data ends after line {line} without the gzip end marker)"
    )]
    Truncated {
        /// The file.
        file: String,
        /// The last complete line read.
        line: u64,
    },
    /// A malformed line.
    #[error("{file}:{line}: column {column}: expected {expected}, found {found:?}")]
    Parse {
        /// The file.
        file: String,
        /// The 1-based line.
        line: u64,
        /// The 1-based column (field index; 0 when the line as a whole is wrong).
        column: usize,
        /// What was expected there.
        expected: String,
        /// What was found (cut to 60 characters).
        found: String,
    },
    /// The path does not hold a trace of the expected layout.
    #[error("{}: {reason}", path.display())]
    Format {
        /// The path.
        path: PathBuf,
        /// What is missing or wrong.
        reason: String,
    },
}

impl TraceError {
    /// True if this error is about one line (what lenient mode skips).
    pub fn is_line_error(&self) -> bool {
        matches!(self, TraceError::Parse { .. })
    }
}
