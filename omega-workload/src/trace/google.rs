//! Google clusterdata-2011-2: `task_events/` and `job_events/` folders of gzip CSV parts.
//!
//! The parts of each folder are read in name order (`part-00000-of-00500.csv.gz`, ...),
//! streaming: job events first, then task events. The rules:
//!
//! - **Jobs and tasks.** A job is every job id that has task events; its tasks are its task
//!   indexes (task `i` of the [`Job`] is the `i`-th smallest trace index). Job ids are the
//!   trace's. Job ids that appear only in `job_events` have no tasks and are counted in
//!   [`Trace::dropped_jobs`].
//! - **Submit time**: the job's first SUBMIT in `job_events`; without one, its first task
//!   SUBMIT; without that, its first task event.
//! - **Requests**: the trace's CPU and memory requests are normalised to the largest machine
//!   (1.0); they are scaled to [`TraceOptions::machine_size`] (default [`DEFAULT_MACHINE`])
//!   and rounded to the nearest millicore / MiB. A [`Job`] has one request per task, so the
//!   job asks, for every task, the **largest request of any of its tasks** over all their
//!   events (SUBMIT and UPDATE_* included). Missing requests count as zero.
//! - **Durations**: a task runs from each SCHEDULE to the event that ends that run (EVICT,
//!   FAIL, FINISH, KILL, LOST); a task rescheduled after an eviction or failure runs for the
//!   **sum of its runs**. A run still open at the horizon runs to the horizon. A task that was
//!   never scheduled and never ended (pending at the end) runs from the job's submit time to
//!   the horizon; a task that ended without ever running (killed while pending) has
//!   duration 0.
//! - **Prefill**: a job with a task SCHEDULEd at time 0 (already running when the trace
//!   started) goes to [`Trace::prefill`], whole, with submit time 0; its durations count
//!   from time 0.
//! - **Batch vs service** (the Omega paper's split): a job is `service` if its priority is
//!   at least [`TraceOptions::service_min_priority`] (default 9: the production band 9–11) or
//!   its scheduling class is at least [`TraceOptions::service_min_scheduling_class`]
//!   (default 2: latency-sensitive); otherwise it is `batch` (free and middle priorities with
//!   best-effort / batch scheduling classes 0–1). A job's priority and class are the largest
//!   seen on it. [`Job::priority`] is the trace priority (0–11).
//! - **Users** become dense [`UserId`]s in order of first appearance.
//! - **Times** are the trace's microseconds. Events stamped `2^63 − 1` (after the trace
//!   window) and, when [`TraceOptions::horizon_us`] is set, events after the horizon are
//!   parsed but not applied. The horizon defaults to the last applied event's time.
//! - **Machines**: this loader does not read `machine_events` (absent from the shared
//!   excerpt), so [`Trace::machines`] is `None`: the experiment names the cluster.
//!
//! # Memory
//! Files are streamed (a 256 KiB buffer each), never held whole. What is kept is one small
//! record per job and per task seen (about 40 bytes a task), so memory grows with the jobs
//! and tasks of the trace, not with its events or bytes. The loader does **not** bound memory
//! by the jobs alive at once: jobs come out in submit order, and a job's durations are known
//! only at its last event (or at the horizon), so finished jobs submitted after a long-running
//! one would have to wait in memory anyway.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use csv::ByteRecord;
use omega_core::{Job, JobId, Priority, Resources, UserId};

use super::input::{self, At, CsvRecords, Skips};
use super::{MachineSize, Trace, TraceError, TraceFormat, TraceOptions};

/// The machine size normalised 1.0 stands for when the options name none: the seed's
/// largest machine type (B: 16 cores, 32 GiB).
pub const DEFAULT_MACHINE: MachineSize = MachineSize {
    cpu_milli: 16_000,
    mem_mib: 32_768,
};

/// The trace's timestamp for events after the end of the trace window (`2^63 − 1`).
pub const AFTER_TRACE_US: u64 = i64::MAX as u64;

/// Columns of `task_events`.
const TASK_COLUMNS: usize = 13;
/// Columns of `job_events`.
const JOB_COLUMNS: usize = 8;
/// No open run.
const NOT_RUNNING: u64 = u64::MAX;

/// Event types shared by both tables.
const SUBMIT: u8 = 0;
const SCHEDULE: u8 = 1;
const EVICT: u8 = 2;
const LOST: u8 = 6;

/// Reads a Google 2011 trace folder (`task_events/`, and `job_events/` if present).
pub fn load(path: &Path, options: &TraceOptions) -> Result<Trace, TraceError> {
    let task_dir = path.join("task_events");
    if !task_dir.is_dir() {
        return Err(TraceError::Format {
            path: path.to_path_buf(),
            reason: "expected a task_events/ folder of CSV parts".to_owned(),
        });
    }
    let task_parts = parts(&task_dir)?;
    if task_parts.is_empty() {
        return Err(TraceError::Format {
            path: task_dir,
            reason: "no .csv or .csv.gz parts".to_owned(),
        });
    }
    let job_dir = path.join("job_events");
    let job_parts = if job_dir.is_dir() {
        parts(&job_dir)?
    } else {
        Vec::new()
    };
    let mut reader = GoogleReader::new(options);
    for part in &job_parts {
        reader.read_job_events(input::open(part)?, &part.display().to_string())?;
    }
    for part in &task_parts {
        reader.read_task_events(input::open(part)?, &part.display().to_string())?;
    }
    Ok(reader.finish())
}

/// The CSV parts of a folder, in name order.
fn parts(dir: &Path) -> Result<Vec<PathBuf>, TraceError> {
    Ok(input::dir_file_names(dir)?
        .into_iter()
        .filter(|n| n.ends_with(".csv") || n.ends_with(".csv.gz"))
        .map(|n| dir.join(n))
        .collect())
}

/// What the job table says about a job.
#[derive(Clone, Copy, Debug, Default)]
struct JobInfo {
    submit_us: Option<u64>,
    scheduling_class: Option<u32>,
    user: Option<u32>,
}

/// One task's runs so far.
#[derive(Clone, Copy, Debug)]
struct TaskAcc {
    run_start_us: u64,
    ran_us: u64,
    scheduled: bool,
    ended: bool,
}

/// One job's tasks and requests so far.
#[derive(Clone, Debug)]
struct JobAcc {
    first_event_us: u64,
    first_task_submit_us: Option<u64>,
    priority: u32,
    scheduling_class: u32,
    user: u32,
    cpu_milli: u64,
    mem_mib: u64,
    running_at_start: bool,
    tasks: BTreeMap<u32, TaskAcc>,
}

/// One parsed `task_events` line.
struct TaskEvent<'a> {
    time_us: u64,
    job: u64,
    index: u32,
    event: u8,
    user: &'a [u8],
    scheduling_class: Option<u32>,
    priority: Option<u32>,
    cpu: Option<f64>,
    mem: Option<f64>,
}

/// A streaming Google 2011 reader: feed it `job_events` and `task_events` parts in order,
/// then [`finish`](GoogleReader::finish) it. [`load`] does this for a folder; this type is
/// for traces from elsewhere (memory, network, other layouts).
///
/// ```
/// use omega_workload::trace::{google::GoogleReader, TraceOptions};
/// let mut r = GoogleReader::new(&TraceOptions::default());
/// r.read_task_events(&b"600000000,,7,0,,0,u,0,0,0.5,0.25,0,0\n\
///                       600000000,,7,0,42,1,u,0,0,0.5,0.25,0,0\n\
///                       900000000,,7,0,42,4,u,0,0,0.5,0.25,0,0\n"[..], "inline")?;
/// let trace = r.finish();
/// assert_eq!(trace.jobs.len(), 1);
/// assert_eq!(trace.jobs[0].task_duration_us, 300_000_000);
/// assert_eq!(trace.jobs[0].task_resources.cpu_milli, 8_000); // 0.5 of 16 cores
/// assert_eq!(&*trace.jobs[0].class, "batch");
/// # Ok::<(), omega_workload::trace::TraceError>(())
/// ```
#[derive(Debug)]
pub struct GoogleReader {
    options: TraceOptions,
    scale: MachineSize,
    jobs_info: HashMap<u64, JobInfo>,
    jobs: HashMap<u64, JobAcc>,
    users: HashMap<Vec<u8>, u32>,
    max_time_us: u64,
    skips: Skips,
}

impl GoogleReader {
    /// A reader with nothing read yet.
    pub fn new(options: &TraceOptions) -> Self {
        Self {
            options: options.clone(),
            scale: options.machine_size.unwrap_or(DEFAULT_MACHINE),
            jobs_info: HashMap::new(),
            jobs: HashMap::new(),
            users: HashMap::new(),
            max_time_us: 0,
            skips: Skips {
                lenient: options.lenient,
                count: 0,
            },
        }
    }

    fn user_id(&mut self, hash: &[u8]) -> u32 {
        let next = u32::try_from(self.users.len()).unwrap_or(u32::MAX);
        if let Some(&id) = self.users.get(hash) {
            return id;
        }
        self.users.insert(hash.to_vec(), next);
        next
    }

    /// True if an event at `time_us` is applied (inside the trace window and the horizon).
    fn applies(&self, time_us: u64) -> bool {
        time_us < AFTER_TRACE_US && self.options.horizon_us.is_none_or(|h| time_us <= h)
    }

    /// Reads one `job_events` part (CSV, no header, 8 columns); `file` names it in errors.
    pub fn read_job_events(&mut self, reader: impl Read, file: &str) -> Result<(), TraceError> {
        let mut records = CsvRecords::new(reader, file.to_owned());
        while let Some((line, record)) = records.next_record()? {
            let at = At { file, line };
            let Some((time_us, job, event, user, class)) =
                self.skips.check(parse_job_event(at, record))?
            else {
                continue;
            };
            if !self.applies(time_us) {
                continue;
            }
            self.max_time_us = self.max_time_us.max(time_us);
            let user = self.user_id(user);
            let info = self.jobs_info.entry(job).or_default();
            if event == SUBMIT && info.submit_us.is_none() {
                info.submit_us = Some(time_us);
            }
            if let Some(class) = class {
                info.scheduling_class = Some(info.scheduling_class.unwrap_or(0).max(class));
            }
            info.user.get_or_insert(user);
        }
        Ok(())
    }

    /// Reads one `task_events` part (CSV, no header, 13 columns); `file` names it in errors.
    pub fn read_task_events(&mut self, reader: impl Read, file: &str) -> Result<(), TraceError> {
        let mut records = CsvRecords::new(reader, file.to_owned());
        while let Some((line, record)) = records.next_record()? {
            let at = At { file, line };
            let Some(ev) = self.skips.check(parse_task_event(at, record))? else {
                continue;
            };
            self.apply_task_event(ev);
        }
        Ok(())
    }

    fn apply_task_event(&mut self, ev: TaskEvent<'_>) {
        if !self.applies(ev.time_us) {
            return;
        }
        self.max_time_us = self.max_time_us.max(ev.time_us);
        let user = self.user_id(ev.user);
        let scale = self.scale;
        let job = self.jobs.entry(ev.job).or_insert_with(|| JobAcc {
            first_event_us: ev.time_us,
            first_task_submit_us: None,
            priority: 0,
            scheduling_class: 0,
            user,
            cpu_milli: 0,
            mem_mib: 0,
            running_at_start: false,
            tasks: BTreeMap::new(),
        });
        job.first_event_us = job.first_event_us.min(ev.time_us);
        job.priority = job.priority.max(ev.priority.unwrap_or(0));
        job.scheduling_class = job.scheduling_class.max(ev.scheduling_class.unwrap_or(0));
        if let Some(cpu) = ev.cpu {
            job.cpu_milli = job.cpu_milli.max(scaled(cpu, scale.cpu_milli));
        }
        if let Some(mem) = ev.mem {
            job.mem_mib = job.mem_mib.max(scaled(mem, scale.mem_mib));
        }
        let task = job.tasks.entry(ev.index).or_insert(TaskAcc {
            run_start_us: NOT_RUNNING,
            ran_us: 0,
            scheduled: false,
            ended: false,
        });
        match ev.event {
            SUBMIT => {
                if job.first_task_submit_us.is_none_or(|t| ev.time_us < t) {
                    job.first_task_submit_us = Some(ev.time_us);
                }
                task.ended = false;
            }
            SCHEDULE => {
                if task.run_start_us == NOT_RUNNING {
                    task.run_start_us = ev.time_us;
                }
                task.scheduled = true;
                task.ended = false;
                if ev.time_us == 0 {
                    job.running_at_start = true;
                }
            }
            EVICT..=LOST => {
                if task.run_start_us != NOT_RUNNING {
                    let ran = ev.time_us.saturating_sub(task.run_start_us);
                    task.ran_us = task.ran_us.saturating_add(ran);
                    task.run_start_us = NOT_RUNNING;
                }
                task.ended = true;
            }
            _ => {} // UPDATE_PENDING, UPDATE_RUNNING: requests only.
        }
    }

    /// Malformed lines skipped so far (lenient mode).
    pub fn skipped_lines(&self) -> u64 {
        self.skips.count
    }

    /// Builds the trace from everything read.
    pub fn finish(self) -> Trace {
        let horizon_us = self.options.horizon_us.unwrap_or(self.max_time_us);
        let batch: Arc<str> = Arc::from("batch");
        let service: Arc<str> = Arc::from("service");
        let mut prefill = Vec::new();
        let mut jobs = Vec::with_capacity(self.jobs.len());
        let mut dropped_jobs = self
            .jobs_info
            .keys()
            .filter(|id| !self.jobs.contains_key(id))
            .count() as u64;
        for (id, acc) in self.jobs {
            let info = self.jobs_info.get(&id).copied().unwrap_or_default();
            let Ok(task_count) = u32::try_from(acc.tasks.len()) else {
                dropped_jobs += 1;
                continue;
            };
            let submit_us = if acc.running_at_start {
                0
            } else {
                info.submit_us
                    .or(acc.first_task_submit_us)
                    .unwrap_or(acc.first_event_us)
            };
            let durations: Vec<u64> = acc
                .tasks
                .values()
                .map(|t| {
                    if t.run_start_us != NOT_RUNNING {
                        t.ran_us
                            .saturating_add(horizon_us.saturating_sub(t.run_start_us))
                    } else if !t.scheduled && !t.ended {
                        horizon_us.saturating_sub(submit_us)
                    } else {
                        t.ran_us
                    }
                })
                .collect();
            let scheduling_class = acc.scheduling_class.max(info.scheduling_class.unwrap_or(0));
            let is_service = acc.priority >= self.options.service_min_priority
                || scheduling_class >= self.options.service_min_scheduling_class;
            let class = if is_service { &service } else { &batch };
            let mut job = Job::new(
                JobId(id),
                "",
                task_count,
                Resources::new(acc.cpu_milli, 0, acc.mem_mib),
                0,
            );
            job.class = Arc::clone(class);
            job.user = UserId(info.user.unwrap_or(acc.user));
            job.priority = Priority(acc.priority);
            job.submit_at_us = submit_us;
            set_durations(&mut job, durations);
            if acc.running_at_start {
                prefill.push(job);
            } else {
                jobs.push(job);
            }
        }
        prefill.sort_by_key(|j| (j.submit_at_us, j.id));
        jobs.sort_by_key(|j| (j.submit_at_us, j.id));
        Trace {
            format: TraceFormat::Google2011,
            machines: None,
            prefill,
            jobs,
            horizon_us,
            skipped_lines: self.skips.count,
            dropped_jobs,
        }
    }
}

/// Sets a job's durations: one value if all tasks agree, else per task (with the largest as
/// `task_duration_us`).
pub(crate) fn set_durations(job: &mut Job, durations: Vec<u64>) {
    let first = durations.first().copied().unwrap_or(0);
    if durations.iter().all(|&d| d == first) {
        job.task_duration_us = first;
        job.task_durations_us = Vec::new();
    } else {
        job.task_duration_us = durations.iter().copied().max().unwrap_or(0);
        job.task_durations_us = durations;
    }
}

/// `fraction × full`, rounded to the nearest integer (saturating).
fn scaled(fraction: f64, full: u64) -> u64 {
    (fraction * full as f64).round() as u64
}

fn column_count(at: At<'_>, fields: &ByteRecord, expected: usize) -> Result<(), TraceError> {
    if fields.len() == expected {
        return Ok(());
    }
    let column = fields.len().min(expected) + 1;
    let found = fields.get(expected).unwrap_or_default();
    Err(at.err(
        column,
        format!("{expected} comma-separated fields (found {})", fields.len()),
        found,
    ))
}

fn small(at: At<'_>, raw: &[u8], column: usize, what: &str, max: u64) -> Result<u64, TraceError> {
    at.u64(raw, column, what).and_then(|v| {
        if v <= max {
            Ok(v)
        } else {
            Err(at.err(column, what, raw))
        }
    })
}

fn opt_small(at: At<'_>, raw: &[u8], column: usize, what: &str) -> Result<Option<u32>, TraceError> {
    match at.opt_u64(raw, column, what)? {
        Some(v) => u32::try_from(v)
            .map(Some)
            .map_err(|_| at.err(column, what, raw)),
        None => Ok(None),
    }
}

/// One parsed `job_events` line: (time, job, event, user hash, scheduling class).
type JobEvent<'a> = (u64, u64, u8, &'a [u8], Option<u32>);

/// Parses a `job_events` line.
fn parse_job_event<'a>(at: At<'_>, fields: &'a ByteRecord) -> Result<JobEvent<'a>, TraceError> {
    column_count(at, fields, JOB_COLUMNS)?;
    let time = at.u64(&fields[0], 1, "a time in microseconds")?;
    let job = at.u64(&fields[2], 3, "a job ID")?;
    let event = small(at, &fields[3], 4, "an event type 0-8", 8)? as u8;
    let class = opt_small(at, &fields[5], 6, "a scheduling class (integer)")?;
    Ok((time, job, event, &fields[4], class))
}

/// Parses a `task_events` line.
fn parse_task_event<'a>(at: At<'_>, fields: &'a ByteRecord) -> Result<TaskEvent<'a>, TraceError> {
    column_count(at, fields, TASK_COLUMNS)?;
    let index = small(
        at,
        &fields[3],
        4,
        "a task index (0 to 2^32-1)",
        u64::from(u32::MAX),
    )?;
    Ok(TaskEvent {
        time_us: at.u64(&fields[0], 1, "a time in microseconds")?,
        job: at.u64(&fields[2], 3, "a job ID")?,
        index: index as u32,
        event: small(at, &fields[5], 6, "an event type 0-8", 8)? as u8,
        user: &fields[6],
        scheduling_class: opt_small(at, &fields[7], 8, "a scheduling class (integer)")?,
        priority: opt_small(at, &fields[8], 9, "a priority (integer)")?,
        cpu: at.opt_fraction(&fields[9], 10, "a normalised CPU request (decimal >= 0)")?,
        mem: at.opt_fraction(
            &fields[10],
            11,
            "a normalised memory request (decimal >= 0)",
        )?,
    })
}
