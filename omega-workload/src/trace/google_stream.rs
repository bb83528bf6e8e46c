//! Google 2011 as a stream: the job and task tables merged by time, read twice (the
//! rules and their bound are documented on [`GoogleStream`], re-exported by [`super::google`]).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use omega_core::Job;

use super::google::{CLOSE_GRACE_US, Emitted, GoogleReader, folder_parts};
use super::input::{self, At, CsvRecords};
use super::order::SubmitOrder;
use super::{FirstPass, TraceError, TraceFormat, TraceOptions, TraceStream};

/// Jobs finalised more than this long after their submit time (1 hour) are kept whole by
/// the first pass; the second pass hands out the others, holding a job at most about this
/// long.
pub const STREAM_WINDOW_US: u64 = 3_600_000_000;

/// One table's parts, read record by record: the current record and its time.
struct Cursor {
    files: Vec<PathBuf>,
    next_file: usize,
    records: Option<CsvRecords<Box<dyn std::io::Read + Send>>>,
    line: u64,
    /// The current record's time (0 if unreadable, so that it is applied, and reported,
    /// at once); `None` at the end of the last part.
    time_us: Option<u64>,
}

impl Cursor {
    fn new(files: Vec<PathBuf>) -> Result<Self, TraceError> {
        let mut cursor = Cursor {
            files,
            next_file: 0,
            records: None,
            line: 0,
            time_us: None,
        };
        cursor.advance()?;
        Ok(cursor)
    }

    /// Moves to the next record, opening the next part when one ends.
    fn advance(&mut self) -> Result<(), TraceError> {
        loop {
            if let Some(records) = &mut self.records {
                if let Some((line, record)) = records.next_record()? {
                    self.line = line;
                    let time = record.get(0).and_then(input::parse_u64);
                    self.time_us = Some(time.unwrap_or(0));
                    return Ok(());
                }
                self.records = None;
            }
            let Some(file) = self.files.get(self.next_file) else {
                self.time_us = None;
                return Ok(());
            };
            self.next_file += 1;
            let name = file.display().to_string();
            self.records = Some(CsvRecords::new(input::open(file)?, name));
        }
    }
}

/// The two tables of a trace folder merged by time.
struct Merged {
    job_events: Cursor,
    task_events: Cursor,
}

impl Merged {
    /// Opens the folder's `job_events/` (if any) and `task_events/` parts.
    fn open(path: &Path) -> Result<Self, TraceError> {
        let (job_parts, task_parts) = folder_parts(path)?;
        Ok(Merged {
            job_events: Cursor::new(job_parts)?,
            task_events: Cursor::new(task_parts)?,
        })
    }

    /// The time of the next event (`None`: none left). No job seen later has an event,
    /// so a submit time, before it.
    fn next_time_us(&self) -> Option<u64> {
        match (self.job_events.time_us, self.task_events.time_us) {
            (Some(j), Some(t)) => Some(j.min(t)),
            (j, t) => j.or(t),
        }
    }

    /// Applies the next event to `reader`; false when there was none left.
    fn step(&mut self, reader: &mut GoogleReader) -> Result<bool, TraceError> {
        let take_job = match (self.job_events.time_us, self.task_events.time_us) {
            (None, None) => return Ok(false),
            (Some(j), Some(t)) => j <= t,
            (j, _) => j.is_some(),
        };
        let cursor = if take_job {
            &mut self.job_events
        } else {
            &mut self.task_events
        };
        if let Some(records) = &cursor.records {
            let at = At {
                file: &records.file,
                line: cursor.line,
            };
            if take_job {
                reader.job_record(at, records.current())?;
            } else {
                reader.task_record(at, records.current())?;
            }
        }
        cursor.advance()?;
        Ok(true)
    }
}

/// What the first pass keeps for the second.
struct Kept {
    counts: FirstPass,
    long: Vec<Job>,
    skip: HashSet<u64>,
    users: std::collections::HashMap<Vec<u8>, u32>,
    peak_live_tasks: usize,
}

/// Sorts one finalised job into the prefill, the long jobs or the counted-only.
fn keep(e: Emitted, kept: &mut Kept) {
    if e.prefill {
        kept.skip.insert(e.job.id.0);
        kept.counts.prefill.push(e.job);
        return;
    }
    kept.counts.count(&e.job);
    if e.closed_at_us.saturating_sub(e.job.submit_at_us) > STREAM_WINDOW_US {
        kept.skip.insert(e.job.id.0);
        kept.long.push(e.job);
    }
}

/// The first pass: reads the whole trace, keeps the prefill and the long jobs.
fn first_pass(path: &Path, options: &TraceOptions) -> Result<Kept, TraceError> {
    let mut reader = GoogleReader::new(options);
    reader.dropped_ids = Some(Vec::new());
    let mut merged = Merged::open(path)?;
    let mut kept = Kept {
        counts: FirstPass::default(),
        long: Vec::new(),
        skip: HashSet::new(),
        users: Default::default(),
        peak_live_tasks: 0,
    };
    while merged.step(&mut reader)? {
        for e in reader.take_emitted() {
            keep(e, &mut kept);
        }
    }
    kept.counts.horizon_us = reader.close_all();
    for e in reader.take_emitted() {
        keep(e, &mut kept);
    }
    // Number users as a reader fed the job table first does.
    let ids = reader.table_order_user_ids();
    let renumber = |job: &mut Job| {
        if let Some(&id) = ids.get(job.user.0 as usize) {
            job.user = omega_core::UserId(id);
        }
    };
    kept.counts.prefill.iter_mut().for_each(renumber);
    kept.long.iter_mut().for_each(renumber);
    kept.counts.prefill.sort_by_key(|j| (j.submit_at_us, j.id));
    kept.users = std::mem::take(&mut reader.users);
    for id in kept.users.values_mut() {
        *id = ids.get(*id as usize).copied().unwrap_or(*id);
    }
    kept.skip
        .extend(reader.dropped_ids.take().unwrap_or_default());
    kept.counts.skipped_lines = reader.skipped_lines();
    let (dropped, censored, zero) = reader.counts();
    kept.counts.dropped_jobs = dropped;
    kept.counts.censored_tasks = censored;
    kept.counts.zero_duration_tasks = zero;
    kept.peak_live_tasks = reader.peak_live_tasks();
    Ok(kept)
}

/// A Google 2011 trace folder's jobs in submit order, read in bounded memory.
///
/// Both tables are sorted by time within and across parts (the shared part: 10,704 job
/// events and 450,146 task events, none out of order), so one cursor per table, each
/// walking its parts in name order, gives every event in time order (job events first at
/// equal times) with one record of each table in memory. [`super::google::GoogleReader`]
/// applies them and finalises a job as soon as its end has passed (its module's *Memory*
/// section), so its working state is the jobs open at the reading point.
///
/// A job must be complete (every task's duration known) when it is handed out, and handed
/// out in submit order. A job that runs for days would hold back every job submitted
/// after it, so the trace is read twice:
///
/// 1. **First pass** (in [`GoogleStream::open`]): every line is checked (errors and
///    lenient skips as [`super::load`] has them), the counts and the horizon are taken,
///    and the jobs that the second pass cannot hand out in time are kept, whole: the
///    prefill (running at the start) and the *long* jobs, finalised more than
///    [`STREAM_WINDOW_US`] after their submit time (or never: still open at the horizon).
///    Every other job is dropped as soon as it is counted. Also kept: the ids of those
///    jobs and of the dropped records, and the user numbering.
/// 2. **Second pass** (the iterator): the same reader on the same events, ignoring the
///    jobs the first pass kept, finalises the short jobs again (the same [`Job`]s: the
///    reader is deterministic and no job's result depends on another's) into a
///    submit-order buffer that starts with the long jobs. The earliest buffered job is
///    handed out once it was submitted before every job still open (their first event is
///    a lower bound on their submit time) and [`CLOSE_GRACE_US`] before the next unread
///    event (the disorder the reader tolerates). A job found out of that order (tables
///    more disordered than that) ends the stream with a [`TraceError::Format`], never a
///    job out of order.
///
/// # What is held, and its bound
/// - first pass: the reader's open jobs (the jobs alive at its reading point), the prefill
///   and long jobs kept, and the ids of the jobs the second pass skips;
/// - second pass: the long jobs not handed out yet, the short jobs open at the reading
///   point, and the short jobs finalised but not handed out: those submitted after the
///   oldest open short job, which was submitted at most [`STREAM_WINDOW_US`] plus
///   [`CLOSE_GRACE_US`] before the reading point. So the buffer holds at most the jobs
///   submitted in the last hour and ten seconds of trace time plus the long jobs still to
///   come, whatever the trace's length; [`GoogleStream::peak_buffered_jobs`] measures it;
/// - both passes: one id per closed job, the reader's late-event check (a `HashSet<u64>`,
///   about 20–40 bytes a job with the table's slack). This is the one part that grows with
///   the trace rather than with what is alive: about 25 MB for the full trace's ~670,000
///   jobs.
///
/// Measured with `cargo xtask trace-replay` (peak RSS, release build): the shared part,
/// 11.6 MB streamed against 13.4 MB collected (most of its jobs outlive its 1.6 hours and
/// are held whole either way); a generated trace of 100,000 jobs (10 tasks each, living 1
/// to 10 minutes, 1% to the end) in 30 parts, 9.6 MB against 86 MB; the same with 300,000
/// jobs in 90 parts, 17.6 MB against 264 MB (the growth is the closed ids and the 1% of
/// long jobs).
///
/// Job events are merged with the task events by time, not read before them as
/// [`super::google::GoogleReader::read_folder`] does. The two orders give the same jobs
/// except when a job event comes more than [`super::google::CLOSE_GRACE_US`] after its
/// job was closed (a resubmission or a second end after the job's tasks have all
/// settled): merged, it is a late event, ignored and counted as such. The shared part has
/// none; users are numbered as if the job table came first, so user ids agree too.
///
/// ```no_run
/// use omega_workload::trace::{google::GoogleStream, TraceOptions};
/// let path = std::path::Path::new("../shared/traces/google-2011");
/// let mut stream = GoogleStream::open(path, &TraceOptions::default())?;
/// let first = stream.next().transpose()?;
/// println!("{:?}, {} jobs buffered at most", first.map(|j| j.id), stream.peak_buffered_jobs());
/// # Ok::<(), omega_workload::trace::TraceError>(())
/// ```
pub struct GoogleStream {
    reader: GoogleReader,
    merged: Merged,
    buffer: SubmitOrder,
    counts: Option<FirstPass>,
    /// The input is over (read to the end, or failed).
    done: bool,
    /// `(submit, id)` of the last job handed out.
    last_key: Option<(u64, u64)>,
    path: PathBuf,
    first_pass_peak_live_tasks: usize,
}

impl std::fmt::Debug for GoogleStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleStream")
            .field("buffered", &self.buffer.len())
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl GoogleStream {
    /// Runs the first pass over the folder at `path` and opens the second.
    pub fn open(path: &Path, options: &TraceOptions) -> Result<GoogleStream, TraceError> {
        let kept = first_pass(path, options)?;
        let mut reader = GoogleReader::new(options);
        reader.users = kept.users;
        reader.skip = kept.skip;
        let mut buffer = SubmitOrder::default();
        for job in kept.long {
            buffer.push(job);
        }
        Ok(GoogleStream {
            reader,
            merged: Merged::open(path)?,
            buffer,
            counts: Some(kept.counts),
            done: false,
            last_key: None,
            path: path.to_path_buf(),
            first_pass_peak_live_tasks: kept.peak_live_tasks,
        })
    }

    /// The jobs running at the trace's start, in submit order (kept by the first pass).
    pub fn prefill(&self) -> &[Job] {
        self.counts.as_ref().map_or(&[], |c| c.prefill.as_slice())
    }

    /// The most jobs the second pass held finished and not handed out at once (long jobs
    /// of the first pass included): with [`live_jobs`](Self::live_jobs), what the stream's
    /// memory follows.
    pub fn peak_buffered_jobs(&self) -> usize {
        self.buffer.peak()
    }

    /// Jobs held finished and not handed out now.
    pub fn buffered_jobs(&self) -> usize {
        self.buffer.len()
    }

    /// Jobs the second pass has open now (accumulating events).
    pub fn live_jobs(&self) -> usize {
        self.reader.live_jobs()
    }

    /// The most task accumulators the second pass held at once.
    pub fn peak_live_tasks(&self) -> usize {
        self.reader.peak_live_tasks()
    }

    /// The most task accumulators the first pass held at once.
    pub fn first_pass_peak_live_tasks(&self) -> usize {
        self.first_pass_peak_live_tasks
    }

    /// Collects the rest into a [`super::Trace`].
    pub fn into_trace(self) -> Result<super::Trace, TraceError> {
        self.into_stream().into_trace()
    }

    /// The stream as a [`TraceStream`] (the first pass's counts as its fields).
    pub fn into_stream(mut self) -> TraceStream {
        let counts = self.counts.take().unwrap_or_default();
        counts.stream(TraceFormat::Google2011, Box::new(self))
    }

    /// `job` if it comes after the last job handed out; else an error (the trace's
    /// tables were out of time order by more than [`CLOSE_GRACE_US`]), which ends the
    /// stream.
    fn in_order(&mut self, job: Job) -> Result<Job, TraceError> {
        let key = (job.submit_at_us, job.id.0);
        if self.last_key.is_some_and(|last| key < last) {
            self.done = true;
            self.buffer = SubmitOrder::default();
            return Err(TraceError::Format {
                path: self.path.clone(),
                reason: format!(
                    "events out of time order by more than {} s across parts: job {} \
                     (submitted at {} µs) was found after a later job was replayed",
                    CLOSE_GRACE_US / 1_000_000,
                    job.id.0,
                    job.submit_at_us
                ),
            });
        }
        self.last_key = Some(key);
        Ok(job)
    }

    /// Reads one more event (or finishes the reader at the end).
    fn read_more(&mut self) -> Result<(), TraceError> {
        if !self.merged.step(&mut self.reader)? {
            self.reader.close_all();
            self.done = true;
        }
        for e in self.reader.take_emitted() {
            self.buffer.push(e.job);
        }
        Ok(())
    }
}

impl Iterator for GoogleStream {
    type Item = Result<Job, TraceError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                let job = self.buffer.pop()?;
                return Some(self.in_order(job));
            }
            // Unseen jobs: the next event's time, less the disorder the reader tolerates.
            let unseen_us = self
                .merged
                .next_time_us()
                .map_or(u64::MAX, |t| t.saturating_sub(CLOSE_GRACE_US));
            let bound_us = self
                .reader
                .oldest_open_us()
                .map_or(unseen_us, |t| t.min(unseen_us));
            if let Some(job) = self.buffer.pop_before(bound_us) {
                return Some(self.in_order(job));
            }
            if let Err(e) = self.read_more() {
                self.done = true;
                self.buffer = SubmitOrder::default();
                return Some(Err(e));
            }
        }
    }
}

/// [`GoogleStream::open`] as a [`TraceStream`].
pub(crate) fn open(path: &Path, options: &TraceOptions) -> Result<TraceStream, TraceError> {
    Ok(GoogleStream::open(path, options)?.into_stream())
}
