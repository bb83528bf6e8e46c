//! The Standard Workload Format (SWF) of the Parallel Workloads Archive.
//!
//! Lines starting with `;` are header comments (`; Key: value`); every other non-blank line
//! is one job of 18 whitespace-separated integers, where -1 means unknown. The rules:
//!
//! - **Gang jobs.** Each job becomes a [`Job`] with `gang = true` and one task per processor
//!   (field 5, allocated processors; if unknown, field 8, requested processors). Each task
//!   asks for one processor (1000 millicores) and the job's memory per processor (field 10,
//!   requested memory, else field 7, used memory; KB rounded up to MiB; unknown = 0).
//! - **Times**: submit time is field 2 and the duration field 4 (run time; if unknown,
//!   field 9, requested time), both seconds, turned into µs. SWF has no jobs running at
//!   the start, so [`Trace::prefill`] is empty.
//! - **Dependencies**: field 17 (preceding job), when positive, becomes
//!   [`Job::depends_on`]. Field 18 (think time after it) is not modelled: the submit time
//!   already includes it.
//! - **Class**: the name the header gives the job's queue (field 15, `; Queue: 1 batch`),
//!   else `queue-<n>`, else, for an unknown queue, `batch`. User: field 12 (unknown = 0).
//!   Job ids are field 1.
//! - **Dropped jobs**: a job with an unknown submit time, no known processor count (or 0),
//!   or no known duration cannot be replayed; it is counted in [`Trace::dropped_jobs`].
//!   Fields the loader does not use (3, 6, 11, 13, 14, 16, 18) must be present but are not
//!   checked.
//! - **Cluster**: [`TraceOptions::node_count`] nodes (default the header's `MaxNodes`, else
//!   `MaxProcs`, else the largest job), each with an equal share of `MaxProcs` processors
//!   (default one) as 1000 millicores apiece, and memory for that many processors at the
//!   largest per-processor memory of any job (0 if no job states memory);
//!   [`TraceOptions::machine_size`] overrides the node size. Nodes are named `node`, each in
//!   its own failure domain (SWF has no racks).
//! - **Horizon**: [`TraceOptions::horizon_us`] (jobs submitted after it are left out), else
//!   the end of the last job.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use omega_core::{FailureDomain, Job, JobId, Machine, Resources, UserId};

use super::input::{self, At, Skips, parse_i64};
use super::order::SubmitOrder;
use super::{FirstPass, Trace, TraceError, TraceFormat, TraceOptions, TraceStream};

/// Fields of a job line.
const FIELDS: usize = 18;

/// The most nodes a cluster may have (header or options): a bad header must not make the
/// loader allocate billions of machines.
pub const MAX_NODES: u64 = 1_000_000;

/// Reads an SWF file (plain or gzip-compressed), or the one `.swf`/`.swf.gz` file of a
/// folder (several, or none, is an error naming the folder): [`open`] collected.
pub fn load(path: &Path, options: &TraceOptions) -> Result<Trace, TraceError> {
    open(path, options)?.into_trace()
}

/// Opens an SWF file (or a folder's one) as a stream: a first pass checks every line and
/// finds the header, the cluster, the horizon and how far the file strays from submit
/// order (`d`: how much earlier than the latest submit time before it a job may be
/// submitted; 0 for a sorted file, as the format asks); the second pass builds the jobs
/// and holds each only until a job submitted more than `d` after it has been read: in a
/// sorted file, the jobs of one submit time.
pub fn open(path: &Path, options: &TraceOptions) -> Result<TraceStream, TraceError> {
    let file = if path.is_dir() {
        the_swf_file(path)?
    } else {
        path.to_path_buf()
    };
    let name = file.display().to_string();
    let scan = Scan::read(input::open(&file)?, &name, options, false)?;
    let machines = scan.machines(&name, options)?;
    let mut first = FirstPass {
        machines: Some(machines),
        horizon_us: scan.horizon_us(options),
        skipped_lines: scan.skips.count,
        dropped_jobs: scan.dropped_jobs,
        zero_duration_tasks: scan.zero_duration_tasks,
        ..FirstPass::default()
    };
    let mut classes = Classes::of(&scan.header);
    for (queue, tasks) in &scan.counted {
        first.count_tasks(*tasks, &classes.get(*queue));
    }
    let stream = SwfStream {
        lines: Lines::new(input::open(&file)?, name),
        options: options.clone(),
        classes,
        buffer: SubmitOrder::default(),
        disorder_us: scan.disorder_us,
        latest_submit_us: 0,
        done: false,
    };
    Ok(first.stream(TraceFormat::Swf, Box::new(stream)))
}

/// The one SWF file directly in folder `dir`.
fn the_swf_file(dir: &Path) -> Result<PathBuf, TraceError> {
    let names: Vec<String> = input::dir_file_names(dir)?
        .into_iter()
        .filter(|n| super::is_swf(n))
        .collect();
    match names.as_slice() {
        [one] => Ok(dir.join(one)),
        [] => Err(TraceError::Format {
            path: dir.to_path_buf(),
            reason: "expected one .swf or .swf.gz file in this folder, found none".to_owned(),
        }),
        _ => Err(TraceError::Format {
            path: dir.to_path_buf(),
            reason: format!("several .swf files ({}): name the file", names.join(", ")),
        }),
    }
}

/// Header values the loader uses.
#[derive(Debug, Default)]
struct Header {
    max_nodes: Option<u64>,
    max_procs: Option<u64>,
    queues: BTreeMap<i64, String>,
}

/// One usable job line.
struct SwfJob {
    id: u64,
    submit_us: u64,
    duration_us: u64,
    procs: u32,
    mem_mib: u64,
    user: u32,
    queue: i64,
    preceding: Option<u64>,
}

/// A file's lines, with their numbers.
struct Lines<R> {
    reader: BufReader<R>,
    file: String,
    buf: Vec<u8>,
    line_no: u64,
}

impl<R: Read> Lines<R> {
    fn new(reader: R, file: String) -> Self {
        Self {
            reader: BufReader::new(reader),
            file,
            buf: Vec::new(),
            line_no: 0,
        }
    }

    /// Reads the next line into `buf`; false at the end.
    fn advance(&mut self) -> Result<bool, TraceError> {
        self.buf.clear();
        let n = self
            .reader
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| input::io_error(Path::new(&self.file), e, self.line_no))?;
        self.line_no += u64::from(n > 0);
        Ok(n > 0)
    }
}

/// What a line is.
enum Line {
    /// Blank, or a header comment (read into the header by the first pass).
    Other,
    /// A job line: a job, or `None` for one that cannot be replayed.
    Job(Option<SwfJob>),
}

/// Parses the current line of `lines`, reading a header comment into `header`.
fn parse_line<R: Read>(lines: &Lines<R>, header: &mut Header) -> Result<Line, TraceError> {
    let at = At {
        file: &lines.file,
        line: lines.line_no,
    };
    let line = lines.buf.trim_ascii();
    if line.is_empty() {
        return Ok(Line::Other);
    }
    if let Some(comment) = line.strip_prefix(b";") {
        parse_header(at, comment, header)?;
        return Ok(Line::Other);
    }
    parse_job(at, line).map(Line::Job)
}

/// The first pass over a file: the header, the counts, the cluster's inputs.
#[derive(Default)]
struct Scan {
    header: Header,
    skips: Skips,
    dropped_jobs: u64,
    zero_duration_tasks: u64,
    /// (queue, tasks) of each job the replay will have, in file order.
    counted: Vec<(i64, u32)>,
    largest_procs: Option<u64>,
    mem_per_proc_mib: u64,
    last_end_us: u64,
    latest_submit_us: u64,
    disorder_us: u64,
    /// The jobs themselves, when kept ([`parse`]).
    jobs: Vec<SwfJob>,
}

impl Scan {
    /// Reads every line; keeps the jobs if `keep`.
    fn read(
        reader: impl Read,
        file: &str,
        options: &TraceOptions,
        keep: bool,
    ) -> Result<Scan, TraceError> {
        let mut scan = Scan {
            skips: Skips {
                lenient: options.lenient,
                count: 0,
            },
            ..Scan::default()
        };
        let mut lines = Lines::new(reader, file.to_owned());
        while lines.advance()? {
            match scan.skips.check(parse_line(&lines, &mut scan.header))? {
                Some(Line::Job(Some(job)))
                    if options.horizon_us.is_none_or(|h| job.submit_us <= h) =>
                {
                    scan.add(job, keep);
                }
                Some(Line::Job(None)) => scan.dropped_jobs += 1,
                _ => {}
            }
        }
        Ok(scan)
    }

    fn add(&mut self, job: SwfJob, keep: bool) {
        let procs = u64::from(job.procs);
        self.largest_procs = Some(self.largest_procs.map_or(procs, |p| p.max(procs)));
        self.mem_per_proc_mib = self.mem_per_proc_mib.max(job.mem_mib);
        self.last_end_us = self
            .last_end_us
            .max(job.submit_us.saturating_add(job.duration_us));
        self.latest_submit_us = self.latest_submit_us.max(job.submit_us);
        self.disorder_us = self.disorder_us.max(self.latest_submit_us - job.submit_us);
        if job.duration_us == 0 {
            self.zero_duration_tasks += procs;
        }
        self.counted.push((job.queue, job.procs));
        if keep {
            self.jobs.push(job);
        }
    }

    fn horizon_us(&self, options: &TraceOptions) -> u64 {
        options.horizon_us.unwrap_or(self.last_end_us)
    }

    fn machines(&self, file: &str, options: &TraceOptions) -> Result<Vec<Machine>, TraceError> {
        cluster(
            &self.header,
            self.largest_procs,
            self.mem_per_proc_mib,
            options,
        )
        .ok_or_else(|| TraceError::Format {
            path: file.into(),
            reason: format!("the cluster would have more than {MAX_NODES} nodes"),
        })
    }
}

/// Class names by queue: the header's, else `queue-<n>`, else `batch`.
struct Classes {
    batch: Arc<str>,
    by_queue: BTreeMap<i64, Arc<str>>,
}

impl Classes {
    fn of(header: &Header) -> Self {
        Self {
            batch: Arc::from("batch"),
            by_queue: header
                .queues
                .iter()
                .map(|(q, name)| (*q, Arc::from(name.as_str())))
                .collect(),
        }
    }

    fn get(&mut self, queue: i64) -> Arc<str> {
        if queue < 0 {
            return Arc::clone(&self.batch);
        }
        Arc::clone(
            self.by_queue
                .entry(queue)
                .or_insert_with(|| Arc::from(format!("queue-{queue}"))),
        )
    }

    fn job(&mut self, j: SwfJob) -> Job {
        let mut job = Job::new(
            JobId(j.id),
            "",
            j.procs,
            Resources::new(1_000, 0, j.mem_mib),
            j.duration_us,
        );
        job.class = self.get(j.queue);
        job.submit_at_us = j.submit_us;
        job.user = UserId(j.user);
        job.gang = true;
        job.depends_on = j.preceding.map(JobId).into_iter().collect();
        job
    }
}

/// The second pass: job lines again, out in submit order.
struct SwfStream {
    lines: Lines<Box<dyn Read + Send>>,
    options: TraceOptions,
    classes: Classes,
    buffer: SubmitOrder,
    disorder_us: u64,
    latest_submit_us: u64,
    done: bool,
}

impl SwfStream {
    /// Reads lines up to the next job line the replay has (buffered); false at the end.
    fn read_job(&mut self) -> Result<bool, TraceError> {
        let mut header = Header::default();
        while self.lines.advance()? {
            match parse_line(&self.lines, &mut header) {
                Ok(Line::Job(Some(job)))
                    if self.options.horizon_us.is_none_or(|h| job.submit_us <= h) =>
                {
                    self.latest_submit_us = self.latest_submit_us.max(job.submit_us);
                    let job = self.classes.job(job);
                    self.buffer.push(job);
                    return Ok(true);
                }
                Err(e) if !(self.options.lenient && e.is_line_error()) => return Err(e),
                _ => {} // Counted by the first pass.
            }
        }
        Ok(false)
    }
}

impl Iterator for SwfStream {
    type Item = Result<Job, TraceError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return self.buffer.pop().map(Ok);
            }
            let bound_us = self.latest_submit_us.saturating_sub(self.disorder_us);
            if let Some(job) = self.buffer.pop_before(bound_us) {
                return Some(Ok(job));
            }
            match self.read_job() {
                Ok(more) => self.done = !more,
                Err(e) => {
                    self.done = true;
                    self.buffer = SubmitOrder::default();
                    return Some(Err(e));
                }
            }
        }
    }
}

/// Reads SWF text from `reader`, every job at once; `file` names it in errors.
///
/// ```
/// use omega_workload::trace::{swf, TraceOptions};
/// let text = "; MaxNodes: 4\n; MaxProcs: 8\n\
///             1 0 -1 60 4 -1 -1 -1 -1 -1 1 3 1 -1 -1 -1 -1 -1\n\
///             2 30 -1 -1 2 -1 -1 2 120 -1 1 3 1 -1 -1 -1 1 -1\n";
/// let trace = swf::parse(text.as_bytes(), "inline.swf", &TraceOptions::default())?;
/// assert_eq!(trace.machines.as_ref().map(|m| m.len()), Some(4));
/// let second = &trace.jobs[1];
/// assert!(second.gang);
/// assert_eq!((second.tasks, second.task_duration_us), (2, 120_000_000));
/// assert_eq!(second.depends_on, vec![omega_core::JobId(1)]);
/// # Ok::<(), omega_workload::trace::TraceError>(())
/// ```
pub fn parse(reader: impl Read, file: &str, options: &TraceOptions) -> Result<Trace, TraceError> {
    let mut scan = Scan::read(reader, file, options, true)?;
    let machines = scan.machines(file, options)?;
    let horizon_us = scan.horizon_us(options);
    let mut classes = Classes::of(&scan.header);
    let mut jobs: Vec<Job> = std::mem::take(&mut scan.jobs)
        .into_iter()
        .map(|j| classes.job(j))
        .collect();
    jobs.sort_by_key(|j| (j.submit_at_us, j.id));
    Ok(Trace {
        format: TraceFormat::Swf,
        machines: Some(machines),
        prefill: Vec::new(),
        jobs,
        horizon_us,
        skipped_lines: scan.skips.count,
        censored_tasks: 0,
        zero_duration_tasks: scan.zero_duration_tasks,
        dropped_jobs: scan.dropped_jobs,
    })
}

/// Reads a `; Key: value` comment into `header` (unknown keys and free text are ignored).
fn parse_header(at: At<'_>, comment: &[u8], header: &mut Header) -> Result<(), TraceError> {
    let text = String::from_utf8_lossy(comment);
    let Some((key, value)) = text.split_once(':') else {
        return Ok(());
    };
    let (key, value) = (key.trim(), value.trim());
    let count = |what: &str| {
        input::parse_u64(value.as_bytes())
            .filter(|&v| v > 0)
            .ok_or_else(|| at.err(1, format!("{what}: a positive integer"), value.as_bytes()))
    };
    match key {
        "MaxNodes" => header.max_nodes = Some(count("MaxNodes")?),
        "MaxProcs" => header.max_procs = Some(count("MaxProcs")?),
        "Queue" => {
            let mut words = value.split_whitespace();
            let number = words.next().and_then(|w| parse_i64(w.as_bytes()));
            let name = words.collect::<Vec<_>>().join(" ");
            match number {
                Some(n) if !name.is_empty() => {
                    header.queues.insert(n, name);
                }
                _ => {
                    return Err(at.err(1, "Queue: a queue number and a name", value.as_bytes()));
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// Parses a job line: `Ok(Some(job))`, or `Ok(None)` for a well-formed job that cannot be
/// replayed (unknown submit time, processors or duration).
fn parse_job(at: At<'_>, line: &[u8]) -> Result<Option<SwfJob>, TraceError> {
    let mut fields = [&[] as &[u8]; FIELDS];
    let mut count = 0;
    for word in line
        .split(|b| b.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
    {
        if count == FIELDS {
            return Err(at.err(FIELDS + 1, "18 whitespace-separated fields", word));
        }
        fields[count] = word;
        count += 1;
    }
    if count < FIELDS {
        return Err(at.err(count + 1, "18 whitespace-separated fields", b""));
    }
    // Field `i` (1-based): -1 (unknown) or a non-negative integer.
    let int = |i: usize| -> Result<Option<u64>, TraceError> {
        let raw = fields[i - 1];
        match parse_i64(raw) {
            Some(-1) => Ok(None),
            Some(v) if v >= 0 => Ok(Some(v as u64)),
            _ => Err(at.err(i, "an integer >= 0, or -1 for unknown", raw)),
        }
    };
    let Some(id) = int(1)? else {
        return Err(at.err(1, "a job number", fields[0]));
    };
    let submit = int(2)?;
    let run = int(4)?;
    let allocated = int(5)?.filter(|&p| p > 0);
    let used_kb = int(7)?;
    let requested_procs = int(8)?.filter(|&p| p > 0);
    let requested_time = int(9)?;
    let requested_kb = int(10)?;
    let user = int(12)?;
    let queue = parse_i64(fields[14])
        .filter(|&q| q >= -1)
        .ok_or_else(|| at.err(15, "a queue number, or -1 for unknown", fields[14]))?;
    let preceding = int(17)?.filter(|&p| p > 0);
    let secs = |i: usize, v: u64| {
        input::secs_to_us(v)
            .ok_or_else(|| at.err(i, "a time in seconds that fits in µs", fields[i - 1]))
    };
    let (Some(submit), Some(procs), Some((duration_field, duration))) = (
        submit,
        allocated.or(requested_procs),
        run.map(|r| (4, r)).or(requested_time.map(|r| (9, r))),
    ) else {
        return Ok(None);
    };
    let procs_field = if allocated.is_some() { 5 } else { 8 };
    let procs = u32::try_from(procs).map_err(|_| {
        at.err(
            procs_field,
            "a processor count below 2^32",
            fields[procs_field - 1],
        )
    })?;
    let mem_mib = requested_kb.or(used_kb).map_or(0, |kb| kb.div_ceil(1024));
    let user = match user {
        Some(u) => {
            u32::try_from(u).map_err(|_| at.err(12, "a user number below 2^32", fields[11]))?
        }
        None => 0,
    };
    Ok(Some(SwfJob {
        id,
        submit_us: secs(2, submit)?,
        duration_us: secs(duration_field, duration)?,
        procs,
        mem_mib,
        user,
        queue,
        preceding,
    }))
}

/// The cluster: the header's (or the options') nodes; `largest_job` in processors and
/// `mem_per_proc` in MiB from the jobs.
fn cluster(
    header: &Header,
    largest_job: Option<u64>,
    mem_per_proc: u64,
    options: &TraceOptions,
) -> Option<Vec<Machine>> {
    let largest_job = largest_job.unwrap_or(1);
    let total_procs = header
        .max_procs
        .or(header.max_nodes)
        .unwrap_or(largest_job)
        .max(1);
    let nodes = options
        .node_count
        .map(u64::from)
        .or(header.max_nodes)
        .unwrap_or(total_procs)
        .max(1);
    if nodes > MAX_NODES {
        return None;
    }
    let procs_per_node = total_procs.div_ceil(nodes).max(1);
    let size = options.machine_size.unwrap_or(super::MachineSize {
        cpu_milli: procs_per_node.saturating_mul(1_000),
        mem_mib: procs_per_node.saturating_mul(mem_per_proc),
    });
    let machines = (0..nodes)
        .map(|i| {
            Machine::new(
                "node",
                size.cpu_milli,
                size.mem_mib,
                FailureDomain(u32::try_from(i).unwrap_or(u32::MAX)),
            )
        })
        .collect();
    Some(machines)
}
