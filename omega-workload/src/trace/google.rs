//! Google clusterdata-2011-2: `task_events/` and `job_events/` folders of gzip CSV parts.
//!
//! The parts of each folder are read in name order (`part-00000-of-00500.csv.gz`, ...),
//! streaming. [`load`] and [`GoogleStream`] (what [`super::open`] returns) merge the two
//! tables by time and hand the jobs out in submit order in bounded memory (see
//! [`GoogleStream`]: what it holds and its bound); [`GoogleReader`] is the push-style
//! reader under both, which can also be fed all job events first
//! ([`GoogleReader::read_folder`]). The rules:
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
//! - **Censored tasks.** A task running when the trace starts began before it: its
//!   duration is a lower bound (right- and left-censored runs are both cut at the trace's
//!   edges). Such tasks are counted in [`Trace::censored_tasks`]: those SCHEDULEd at time 0,
//!   and, when the trace is read from a later part without part 0 (a slice), those whose
//!   first event says they were already running: EVICT, FAIL, FINISH, LOST or
//!   UPDATE_RUNNING with no SUBMIT or SCHEDULE before it (a first KILL does not say so:
//!   pending tasks are killed too; such a task has duration 0). Those run from time 0 (the
//!   trace's times are kept, so a slice starts with its running tasks in place and its
//!   first real events at their own times) and make their job a prefill job, as above.
//!   Without this rule a slice's running tasks would be tasks that ended without running,
//!   of duration 0. Tasks that really never ran (killed while pending) still have duration
//!   0 and are counted in [`Trace::zero_duration_tasks`].
//! - **Batch vs service** (the Omega paper's split): a job is `service` if its priority is
//!   at least [`TraceOptions::service_min_priority`] (default 9: the production band 9–11);
//!   otherwise it is `batch`. By default the scheduling class plays no part: with
//!   [`TraceOptions::service_min_scheduling_class`] set (e.g. `Some(2)`, latency-sensitive),
//!   a job of at least that class is `service` too. A job's priority and class are the
//!   largest seen on it. [`Job::priority`] is the trace priority (0–11). The paper counts
//!   over 80% of jobs as batch: on the shared part, priority alone makes 91 of the 919
//!   submitted jobs service (9.9%), where adding class ≥ 2 made 287 (31%).
//! - **Users** become dense [`UserId`]s in order of first appearance.
//! - **Times** are the trace's microseconds. Events stamped `2^63 − 1` (after the trace
//!   window) and, when [`TraceOptions::horizon_us`] is set, events after the horizon are
//!   parsed but not applied. The horizon defaults to the last applied event's time.
//! - **Machines**: this loader does not read `machine_events` (absent from the shared
//!   excerpt), so [`Trace::machines`] is `None`: the experiment names the cluster.
//!
//! # Memory
//! Files are streamed (a 256 KiB buffer each), never held whole. The working state is one
//! small record per open job of the job table, one id per closed job (a hash set, to
//! recognise late events), and one accumulator per task (24 bytes, in a
//! vector indexed by task index; a sorted map for jobs with sparse indexes) **only for the
//! jobs still open**: memory grows with the jobs alive at once, not with the file. The
//! output itself ([`Trace::jobs`], with per-task durations where tasks differ) is per job and
//! task by nature.
//!
//! - **Job ends.** A job's end is its latest FAIL, FINISH, KILL or LOST job event (EVICT
//!   does not end a job), unless a later SUBMIT resubmitted it. Jobs with no end in the
//!   trace stay open to the horizon. [`GoogleReader::read_folder`] reads every job event
//!   before any task event; the stream merges the tables by time, so there a job event
//!   more than [`CLOSE_GRACE_US`] after its job was closed is late (see [`GoogleStream`]).
//! - **Closing.** The reader's clock is the latest task event time applied (task events are
//!   in time order across parts; slight disorder only delays the clock). Once the clock has
//!   passed a job's end plus [`CLOSE_GRACE_US`] (10 s: the shared part has task KILLs up to
//!   37 µs after their job's end event), the job is *closed*: if every one of its tasks is
//!   settled (no open run, and scheduled or ended at least once), its accumulator becomes
//!   its final [`Job`] at once, by the same rules as at the end (the horizon does not enter
//!   a settled task's duration), and its tasks are dropped. A job with a task still running
//!   or pending at that point (the trace lost that task's end) stays open to the horizon,
//!   exactly as if it had no end. Ends are kept in a min-heap of (end, job) popped as the
//!   clock advances: no scan of the open jobs.
//! - **Late events.** An event (task or job) for a job already closed cannot change the
//!   finished job: it is ignored (it still counts toward the default horizon) and counted in
//!   [`GoogleReader::late_events`]. In a consistent trace there are none (the shared part has
//!   none). A job closed before any task event of it arrived counts in
//!   [`Trace::dropped_jobs`], like a job without task events.
//!
//! For any input without late events the trace is identical to keeping every job open to the
//! end (a property test checks this, with random disorder below the grace). On the shared
//! part (190,926 tasks of 4,895 jobs) the peak is 156,639 task accumulators (82%): 3,983 of
//! its jobs (147,517 tasks) never end inside its 5,611 s window, so the excerpt cannot show
//! more saving; jobs that start and end one after another hold one job's tasks at a time
//! ([`GoogleReader::peak_live_tasks`] measures it). Peak RSS of
//! `cargo xtask trace-stats ../shared/traces/google-2011` (release, `/usr/bin/time -v`):
//! about 20,200 KiB before streaming (every job's tasks in a B-tree to the end), 14,600 KiB
//! after (closing plus the dense task vectors); the same command on the hand-written fixture
//! takes 3,300 KiB, so the loader and its output went from about 17 MiB to about 11 MiB.

use std::cmp::Reverse;
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use csv::ByteRecord;
use omega_core::{Job, JobId, Priority, Resources, UserId};

use super::input::{self, At, CsvRecords, Skips};
use super::{MachineSize, Trace, TraceError, TraceFormat, TraceOptions};

pub use super::google_stream::{GoogleStream, STREAM_WINDOW_US};

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

/// How long after a job's end (its terminal job event) the reader waits before closing
/// the job: task events a little after the job's end, or a little out of order, still
/// apply. The shared part has task KILLs up to 37 µs after
/// their job's end event.
pub const CLOSE_GRACE_US: u64 = 10_000_000;

/// Event types shared by both tables (FAIL, FINISH, KILL and LOST end a job; EVICT
/// does not).
const SUBMIT: u8 = 0;
const SCHEDULE: u8 = 1;
const EVICT: u8 = 2;
const FAIL: u8 = 3;
const FINISH: u8 = 4;
const LOST: u8 = 6;
const UPDATE_RUNNING: u8 = 8;

/// Reads a Google 2011 trace folder (`task_events/`, and `job_events/` if present):
/// [`GoogleStream`] collected.
pub fn load(path: &Path, options: &TraceOptions) -> Result<Trace, TraceError> {
    GoogleStream::open(path, options)?.into_trace()
}

/// A trace folder's `job_events/` parts (none if the folder is absent) and `task_events/`
/// parts (required, at least one), each in name order.
pub(crate) fn folder_parts(path: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>), TraceError> {
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
    Ok((job_parts, task_parts))
}

/// The CSV parts of a folder, in name order.
pub(crate) fn parts(dir: &Path) -> Result<Vec<PathBuf>, TraceError> {
    Ok(input::dir_file_names(dir)?
        .into_iter()
        .filter(|n| n.ends_with(".csv") || n.ends_with(".csv.gz"))
        .map(|n| dir.join(n))
        .collect())
}

/// What the job table says about a job, and whether the reader has closed it.
#[derive(Clone, Copy, Debug, Default)]
struct JobInfo {
    submit_us: Option<u64>,
    /// The latest SUBMIT in `job_events`.
    last_submit_us: Option<u64>,
    /// The latest terminal event (FAIL, FINISH, KILL, LOST) in `job_events`.
    last_end_us: Option<u64>,
    scheduling_class: Option<u32>,
    user: Option<u32>,
}

impl JobInfo {
    /// When the job ended: its latest terminal event, unless it was resubmitted after it.
    fn end_us(&self) -> Option<u64> {
        let end = self.last_end_us?;
        match self.last_submit_us {
            Some(submit) if submit > end => None,
            _ => Some(end),
        }
    }
}

/// One task's runs so far.
#[derive(Clone, Copy, Debug)]
struct TaskAcc {
    run_start_us: u64,
    ran_us: u64,
    scheduled: bool,
    ended: bool,
    /// Running when the trace started: its run began before it.
    censored: bool,
    /// False for a hole in [`Tasks::Dense`] (no event of that index yet).
    present: bool,
}

impl TaskAcc {
    /// A task with no event applied yet.
    const NEW: TaskAcc = TaskAcc {
        run_start_us: NOT_RUNNING,
        ran_us: 0,
        scheduled: false,
        ended: false,
        censored: false,
        present: true,
    };
    /// A hole in [`Tasks::Dense`].
    const ABSENT: TaskAcc = TaskAcc {
        present: false,
        ..TaskAcc::NEW
    };

    /// True if the task's duration no longer depends on the horizon: no open run, and it
    /// was scheduled or ended at least once.
    fn settled(&self) -> bool {
        self.run_start_us == NOT_RUNNING && (self.scheduled || self.ended)
    }

    /// The task's duration if the trace ends at `horizon_us`.
    fn duration_us(&self, submit_us: u64, horizon_us: u64) -> u64 {
        if self.run_start_us != NOT_RUNNING {
            self.ran_us
                .saturating_add(horizon_us.saturating_sub(self.run_start_us))
        } else if !self.scheduled && !self.ended {
            horizon_us.saturating_sub(submit_us)
        } else {
            self.ran_us
        }
    }
}

/// Holes a dense task vector may grow over beyond twice its tasks.
const DENSE_SLACK: usize = 64;

/// A job's tasks by trace index. The trace numbers a job's tasks 0, 1, 2, ...: they sit in
/// a vector indexed by task index (24 bytes a task) while the indexes stay below twice the
/// task count plus [`DENSE_SLACK`]; a job with sparser indexes switches to a sorted map.
#[derive(Clone, Debug)]
enum Tasks {
    Dense { slots: Vec<TaskAcc>, len: usize },
    Sparse(BTreeMap<u32, TaskAcc>),
}

impl Tasks {
    fn len(&self) -> usize {
        match self {
            Tasks::Dense { len, .. } => *len,
            Tasks::Sparse(map) => map.len(),
        }
    }

    /// The tasks in index order.
    fn values(&self) -> impl Iterator<Item = &TaskAcc> {
        let (dense, sparse) = match self {
            Tasks::Dense { slots, .. } => (Some(slots.iter().filter(|t| t.present)), None),
            Tasks::Sparse(map) => (None, Some(map.values())),
        };
        dense
            .into_iter()
            .flatten()
            .chain(sparse.into_iter().flatten())
    }

    /// The task of trace index `index`, created if new (then the flag is true).
    fn entry(&mut self, index: u32) -> (&mut TaskAcc, bool) {
        if let Tasks::Dense { slots, len } = self {
            let i = index as usize;
            if i >= slots.len() && i <= len.saturating_mul(2).saturating_add(DENSE_SLACK) {
                slots.resize(i + 1, TaskAcc::ABSENT);
            }
            if i >= slots.len() {
                let map = slots
                    .iter()
                    .enumerate()
                    .filter(|(_, t)| t.present)
                    .map(|(i, t)| (i as u32, *t))
                    .collect();
                *self = Tasks::Sparse(map);
            }
        }
        match self {
            Tasks::Dense { slots, len } => {
                let slot = &mut slots[index as usize];
                let new = !slot.present;
                if new {
                    *slot = TaskAcc::NEW;
                    *len += 1;
                }
                (slot, new)
            }
            Tasks::Sparse(map) => match map.entry(index) {
                Entry::Occupied(task) => (task.into_mut(), false),
                Entry::Vacant(slot) => (slot.insert(TaskAcc::NEW), true),
            },
        }
    }
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
    tasks: Tasks,
}

/// A job finalised by the reader.
#[derive(Debug)]
pub(crate) struct Emitted {
    pub(crate) job: Job,
    /// Running at the trace's start: a prefill job.
    pub(crate) prefill: bool,
    /// The reader's clock when it was finalised (the horizon for jobs finalised at the end).
    pub(crate) closed_at_us: u64,
}

/// Which table an event came from (users are numbered job table first).
#[derive(Clone, Copy)]
enum Table {
    Job,
    Task,
}

impl JobAcc {
    /// A job first seen at `first_event_us`, of user `user`.
    fn new(first_event_us: u64, user: u32) -> Self {
        JobAcc {
            first_event_us,
            first_task_submit_us: None,
            priority: 0,
            scheduling_class: 0,
            user,
            cpu_milli: 0,
            mem_mib: 0,
            running_at_start: false,
            tasks: Tasks::Dense {
                slots: Vec::new(),
                len: 0,
            },
        }
    }
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

/// A streaming Google 2011 reader: feed it `job_events` and `task_events` parts in order
/// (all job events first), then [`finish`](GoogleReader::finish) it. [`load`] and
/// [`read_folder`](GoogleReader::read_folder) do this for a folder; the `read_*` methods
/// are for traces from elsewhere (memory, network, other layouts).
///
/// Jobs are finalised as soon as their end has passed (see the module's *Memory* section):
/// [`live_tasks`](GoogleReader::live_tasks) and
/// [`peak_live_tasks`](GoogleReader::peak_live_tasks) measure the working state.
///
/// ```
/// use omega_workload::trace::{google::GoogleReader, TraceOptions};
/// let mut r = GoogleReader::new(&TraceOptions::default());
/// r.read_task_events(&b"600000000,,7,0,,0,u,0,0,0.5,0.25,0,0\n\
///                       600000000,,7,0,42,1,u,0,0,0.5,0.25,0,0\n\
///                       900000000,,7,0,42,4,u,0,0,0.5,0.25,0,0\n"[..], "inline")?;
/// assert_eq!(r.live_tasks(), 1); // no job_events: job 7 stays open to the end
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
    /// The job table's records of the jobs not closed yet.
    jobs_info: HashMap<u64, JobInfo>,
    /// Open jobs' accumulators.
    jobs: HashMap<u64, JobAcc>,
    /// Jobs closed: their later events are late. One id per finished job.
    closed: HashSet<u64>,
    /// Jobs seen and not finalised yet, by the time of their first event: the earliest is
    /// a lower bound on the submit time of every job still to be finalised.
    open_since: BTreeSet<(u64, u64)>,
    first_seen_us: HashMap<u64, u64>,
    /// Jobs whose events are ignored (a stream's second pass: jobs the first pass kept).
    pub(crate) skip: HashSet<u64>,
    /// Ids of the jobs dropped, when recorded (a stream's first pass).
    pub(crate) dropped_ids: Option<Vec<u64>>,
    pub(crate) users: HashMap<Vec<u8>, u32>,
    /// Per user id: the order of its first appearance in the job table and in the task
    /// table.
    user_ranks: Vec<(Option<u32>, Option<u32>)>,
    user_ranks_seen: (u32, u32),
    max_time_us: u64,
    skips: Skips,
    /// The latest applied task event time: the reader's clock for closing jobs.
    clock_us: u64,
    /// Job ends not yet passed by the clock, earliest first: (end, job). Entries made
    /// stale by a resubmission are skipped when popped.
    ends: BinaryHeap<Reverse<(u64, u64)>>,
    /// Jobs finalised and not taken yet (in closing order; sorted by `finish`).
    out: Vec<Emitted>,
    dropped_jobs: u64,
    censored_tasks: u64,
    zero_duration_tasks: u64,
    live_tasks: usize,
    peak_live_tasks: usize,
    late_events: u64,
    batch: Arc<str>,
    service: Arc<str>,
}

impl GoogleReader {
    /// A reader with nothing read yet.
    pub fn new(options: &TraceOptions) -> Self {
        Self {
            options: options.clone(),
            scale: options.machine_size.unwrap_or(DEFAULT_MACHINE),
            jobs_info: HashMap::new(),
            jobs: HashMap::new(),
            closed: HashSet::new(),
            open_since: BTreeSet::new(),
            first_seen_us: HashMap::new(),
            skip: HashSet::new(),
            dropped_ids: None,
            users: HashMap::new(),
            user_ranks: Vec::new(),
            user_ranks_seen: (0, 0),
            max_time_us: 0,
            skips: Skips {
                lenient: options.lenient,
                count: 0,
            },
            clock_us: 0,
            ends: BinaryHeap::new(),
            out: Vec::new(),
            dropped_jobs: 0,
            censored_tasks: 0,
            zero_duration_tasks: 0,
            live_tasks: 0,
            peak_live_tasks: 0,
            late_events: 0,
            batch: Arc::from("batch"),
            service: Arc::from("service"),
        }
    }

    /// Reads a trace folder: every `job_events/` part, then every `task_events/` part, each
    /// folder in name order. [`load`] is this followed by [`finish`](GoogleReader::finish).
    pub fn read_folder(&mut self, path: &Path) -> Result<(), TraceError> {
        let (job_parts, task_parts) = folder_parts(path)?;
        for part in &job_parts {
            self.read_job_events(input::open(part)?, &part.display().to_string())?;
        }
        for part in &task_parts {
            self.read_task_events(input::open(part)?, &part.display().to_string())?;
        }
        Ok(())
    }

    fn user_id(&mut self, hash: &[u8], table: Table) -> u32 {
        let id = match self.users.get(hash) {
            Some(&id) => id,
            None => {
                let next = u32::try_from(self.users.len()).unwrap_or(u32::MAX);
                self.users.insert(hash.to_vec(), next);
                next
            }
        };
        let i = id as usize;
        if i >= self.user_ranks.len() {
            self.user_ranks.resize(i + 1, (None, None));
        }
        let (ranks, seen) = (&mut self.user_ranks[i], &mut self.user_ranks_seen);
        let (rank, counter) = match table {
            Table::Job => (&mut ranks.0, &mut seen.0),
            Table::Task => (&mut ranks.1, &mut seen.1),
        };
        if rank.is_none() {
            *rank = Some(*counter);
            *counter += 1;
        }
        id
    }

    /// The user numbering of a reader fed every job event before any task event (users
    /// in order of first appearance in the job table, then in the task table): for each of
    /// this reader's user ids, that numbering's id.
    pub(crate) fn table_order_user_ids(&self) -> Vec<u32> {
        let mut order: Vec<usize> = (0..self.user_ranks.len()).collect();
        order.sort_by_key(|&i| {
            let (job, task) = self.user_ranks[i];
            (job.is_none(), job, task)
        });
        let mut ids = vec![0; order.len()];
        for (rank, i) in order.into_iter().enumerate() {
            ids[i] = u32::try_from(rank).unwrap_or(u32::MAX);
        }
        ids
    }

    /// Records that `job` was seen at `time_us` (if it is new).
    fn seen(&mut self, job: u64, time_us: u64) {
        if let std::collections::hash_map::Entry::Vacant(e) = self.first_seen_us.entry(job) {
            e.insert(time_us);
            self.open_since.insert((time_us, job));
        }
    }

    /// Forgets a job finalised or dropped.
    fn forget(&mut self, job: u64) {
        if let Some(t) = self.first_seen_us.remove(&job) {
            self.open_since.remove(&(t, job));
        }
    }

    /// Counts a job dropped (no tasks, or too many).
    fn drop_job(&mut self, job: u64) {
        self.dropped_jobs += 1;
        self.forget(job);
        if let Some(ids) = &mut self.dropped_ids {
            ids.push(job);
        }
    }

    /// The earliest first-event time of the jobs seen and not finalised: no job finalised
    /// from now on is submitted before it (`None`: no job is open).
    pub(crate) fn oldest_open_us(&self) -> Option<u64> {
        self.open_since.first().map(|&(t, _)| t)
    }

    /// The jobs finalised since the last call.
    pub(crate) fn take_emitted(&mut self) -> Vec<Emitted> {
        std::mem::take(&mut self.out)
    }

    /// True if an event at `time_us` is applied (inside the trace window and the horizon).
    fn applies(&self, time_us: u64) -> bool {
        time_us < AFTER_TRACE_US && self.options.horizon_us.is_none_or(|h| time_us <= h)
    }

    /// Reads one `job_events` part (CSV, no header, 8 columns); `file` names it in errors.
    pub fn read_job_events(&mut self, reader: impl Read, file: &str) -> Result<(), TraceError> {
        let mut records = CsvRecords::new(reader, file.to_owned());
        while let Some((line, record)) = records.next_record()? {
            self.job_record(At { file, line }, record)?;
        }
        Ok(())
    }

    /// Parses and applies one `job_events` record (a skipped line in lenient mode).
    pub(crate) fn job_record(&mut self, at: At<'_>, record: &ByteRecord) -> Result<(), TraceError> {
        let Some((time_us, job, event, user, class)) =
            self.skips.check(parse_job_event(at, record))?
        else {
            return Ok(());
        };
        if !self.applies(time_us) {
            return Ok(());
        }
        self.max_time_us = self.max_time_us.max(time_us);
        let user = self.user_id(user, Table::Job);
        if self.closed.contains(&job) {
            self.late_events += 1;
            return Ok(());
        }
        if self.skip.contains(&job) {
            return Ok(());
        }
        self.seen(job, time_us);
        let info = self.jobs_info.entry(job).or_default();
        if event == SUBMIT {
            if info.submit_us.is_none() {
                info.submit_us = Some(time_us);
            }
            info.last_submit_us = info.last_submit_us.max(Some(time_us));
        }
        if (FAIL..=LOST).contains(&event) {
            info.last_end_us = info.last_end_us.max(Some(time_us));
            if info.end_us() == Some(time_us) {
                self.ends.push(Reverse((time_us, job)));
            }
        }
        if let Some(class) = class {
            info.scheduling_class = Some(info.scheduling_class.unwrap_or(0).max(class));
        }
        info.user.get_or_insert(user);
        Ok(())
    }

    /// Reads one `task_events` part (CSV, no header, 13 columns); `file` names it in errors.
    pub fn read_task_events(&mut self, reader: impl Read, file: &str) -> Result<(), TraceError> {
        let mut records = CsvRecords::new(reader, file.to_owned());
        while let Some((line, record)) = records.next_record()? {
            self.task_record(At { file, line }, record)?;
        }
        Ok(())
    }

    /// Parses and applies one `task_events` record (a skipped line in lenient mode).
    pub(crate) fn task_record(
        &mut self,
        at: At<'_>,
        record: &ByteRecord,
    ) -> Result<(), TraceError> {
        if let Some(ev) = self.skips.check(parse_task_event(at, record))? {
            self.apply_task_event(ev);
        }
        Ok(())
    }

    fn apply_task_event(&mut self, ev: TaskEvent<'_>) {
        if !self.applies(ev.time_us) {
            return;
        }
        self.max_time_us = self.max_time_us.max(ev.time_us);
        if ev.time_us > self.clock_us {
            self.clock_us = ev.time_us;
            self.close_ended_jobs();
        }
        if self.closed.contains(&ev.job) {
            self.late_events += 1;
            return;
        }
        let user = self.user_id(ev.user, Table::Task);
        if self.skip.contains(&ev.job) {
            return;
        }
        self.seen(ev.job, ev.time_us);
        let scale = self.scale;
        let job = self
            .jobs
            .entry(ev.job)
            .or_insert_with(|| JobAcc::new(ev.time_us, user));
        job.first_event_us = job.first_event_us.min(ev.time_us);
        job.priority = job.priority.max(ev.priority.unwrap_or(0));
        job.scheduling_class = job.scheduling_class.max(ev.scheduling_class.unwrap_or(0));
        if let Some(cpu) = ev.cpu {
            job.cpu_milli = job.cpu_milli.max(scaled(cpu, scale.cpu_milli));
        }
        if let Some(mem) = ev.mem {
            job.mem_mib = job.mem_mib.max(scaled(mem, scale.mem_mib));
        }
        let (task, new) = job.tasks.entry(ev.index);
        if new {
            self.live_tasks += 1;
            self.peak_live_tasks = self.peak_live_tasks.max(self.live_tasks);
            if was_running_before(ev.event) {
                // A slice read without its first part: the task ran since before it.
                task.run_start_us = 0;
                task.scheduled = true;
                task.censored = true;
                job.running_at_start = true;
            }
        }
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
                    task.censored = true;
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

    /// Closes the jobs whose end plus [`CLOSE_GRACE_US`] the clock has passed: a job whose
    /// tasks are all settled becomes its final [`Job`] now; one with a task still running or
    /// pending (the trace lost that task's end) stays open to the horizon.
    fn close_ended_jobs(&mut self) {
        while let Some(&Reverse((end_us, id))) = self.ends.peek() {
            if end_us.saturating_add(CLOSE_GRACE_US) >= self.clock_us {
                break;
            }
            self.ends.pop();
            let Some(&info) = self.jobs_info.get(&id) else {
                continue; // Already closed.
            };
            if info.end_us() != Some(end_us) {
                continue; // A stale entry: the job was resubmitted.
            }
            let settled = self
                .jobs
                .get(&id)
                .is_none_or(|acc| acc.tasks.values().all(TaskAcc::settled));
            if !settled {
                continue;
            }
            self.jobs_info.remove(&id);
            self.closed.insert(id);
            match self.jobs.remove(&id) {
                Some(acc) => {
                    self.live_tasks -= acc.tasks.len();
                    // Every task is settled: the horizon does not enter the durations.
                    self.emit(id, acc, info, self.clock_us, self.clock_us);
                }
                None => self.drop_job(id), // Ended without task events.
            }
        }
    }

    /// Turns a job's accumulator into its final [`Job`] (durations cut at `horizon_us`),
    /// into the prefill or the submitted jobs.
    fn emit(&mut self, id: u64, acc: JobAcc, info: JobInfo, horizon_us: u64, closed_at_us: u64) {
        let Ok(task_count) = u32::try_from(acc.tasks.len()) else {
            self.drop_job(id);
            return;
        };
        self.forget(id);
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
            .map(|t| t.duration_us(submit_us, horizon_us))
            .collect();
        self.censored_tasks += acc.tasks.values().filter(|t| t.censored).count() as u64;
        self.zero_duration_tasks += durations.iter().filter(|&&d| d == 0).count() as u64;
        let scheduling_class = acc.scheduling_class.max(info.scheduling_class.unwrap_or(0));
        let is_service = acc.priority >= self.options.service_min_priority
            || self
                .options
                .service_min_scheduling_class
                .is_some_and(|min| scheduling_class >= min);
        let class = if is_service {
            &self.service
        } else {
            &self.batch
        };
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
        self.out.push(Emitted {
            job,
            prefill: acc.running_at_start,
            closed_at_us,
        });
    }

    /// Malformed lines skipped so far (lenient mode).
    pub fn skipped_lines(&self) -> u64 {
        self.skips.count
    }

    /// Task accumulators held now: the tasks of the jobs still open.
    pub fn live_tasks(&self) -> usize {
        self.live_tasks
    }

    /// The most task accumulators held at once so far: what the reader's working memory
    /// grows with (24 bytes each, plus vector slack).
    pub fn peak_live_tasks(&self) -> usize {
        self.peak_live_tasks
    }

    /// Jobs still open (accumulating task events).
    pub fn live_jobs(&self) -> usize {
        self.jobs.len()
    }

    /// Events ignored because their job was already closed (see the module's *Memory*
    /// section); zero for a consistent trace.
    pub fn late_events(&self) -> u64 {
        self.late_events
    }

    /// Finalises every job still open (their running and pending tasks run to the
    /// horizon) and counts the job-table records without tasks as dropped; returns the
    /// horizon.
    pub(crate) fn close_all(&mut self) -> u64 {
        let horizon_us = self.options.horizon_us.unwrap_or(self.max_time_us);
        let mut without_tasks: Vec<u64> = self
            .jobs_info
            .keys()
            .filter(|id| !self.jobs.contains_key(id))
            .copied()
            .collect();
        without_tasks.sort_unstable();
        for id in without_tasks {
            self.drop_job(id);
        }
        let mut open: Vec<(u64, JobAcc)> = std::mem::take(&mut self.jobs).into_iter().collect();
        open.sort_unstable_by_key(|(id, _)| *id);
        for (id, acc) in open {
            let info = self.jobs_info.get(&id).copied().unwrap_or_default();
            self.emit(id, acc, info, horizon_us, horizon_us);
        }
        self.jobs_info.clear();
        self.live_tasks = 0;
        horizon_us
    }

    /// The horizon, and the counts of dropped records, censored tasks and tasks of
    /// duration 0 so far.
    pub(crate) fn counts(&self) -> (u64, u64, u64) {
        (
            self.dropped_jobs,
            self.censored_tasks,
            self.zero_duration_tasks,
        )
    }

    /// Builds the trace from everything read: finalises the jobs still open (their running
    /// and pending tasks run to the horizon) and sorts the jobs by submit time, then id.
    pub fn finish(mut self) -> Trace {
        let horizon_us = self.close_all();
        let (mut prefill, mut jobs): (Vec<Emitted>, Vec<Emitted>) =
            self.take_emitted().into_iter().partition(|e| e.prefill);
        prefill.sort_by_key(|e| (e.job.submit_at_us, e.job.id));
        jobs.sort_by_key(|e| (e.job.submit_at_us, e.job.id));
        Trace {
            format: TraceFormat::Google2011,
            machines: None,
            prefill: prefill.into_iter().map(|e| e.job).collect(),
            jobs: jobs.into_iter().map(|e| e.job).collect(),
            horizon_us,
            skipped_lines: self.skips.count,
            dropped_jobs: self.dropped_jobs,
            censored_tasks: self.censored_tasks,
            zero_duration_tasks: self.zero_duration_tasks,
        }
    }
}

/// True if a task's first event in the trace says it was already running: EVICT, FAIL,
/// FINISH, LOST or UPDATE_RUNNING with no SUBMIT or SCHEDULE first. A first KILL does not:
/// pending tasks are killed too, so such a task is one that never ran (duration 0).
fn was_running_before(event: u8) -> bool {
    matches!(event, EVICT | FAIL | FINISH | LOST | UPDATE_RUNNING)
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
