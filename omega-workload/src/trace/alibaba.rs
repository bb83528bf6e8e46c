//! Alibaba cluster-trace-gpu-v2023 ("openb"): a node list and a pod list, CSV with headers.
//!
//! Columns are found by their header names, so their order does not matter. The rules:
//!
//! - **Cluster.** Each node (`sn,cpu_milli,memory_mib,gpu,model`) becomes a
//!   [`Machine`] of type `model` (`cpu` for nodes without GPUs) with `gpu` devices of that
//!   model (label `gpu=<model>`), each node in its own failure domain (the trace has no
//!   racks).
//! - **Jobs.** Each pod is a single-task [`Job`] whose id is its row in the pod list (0 for
//!   the first pod). It asks for `cpu_milli`, `memory_mib` and: no GPU when `num_gpu` is 0;
//!   the fraction `gpu_milli` of one GPU when `num_gpu` is 1 and `gpu_milli` is below 1000;
//!   otherwise `num_gpu` whole GPUs (`num_gpu × 1000` milli-GPU).
//! - **GPU types.** A one-model `gpu_spec` (`V100M16`) requires the label `gpu=V100M16`.
//!   A several-model spec (`V100M16|V100M32`) is one group of alternatives
//!   ([`Constraints::required_any_labels`]): any machine with one of those models will do.
//!   See [`apply_gpu_spec`].
//! - **Rows** have as many fields as the header; a row with fewer or more is a
//!   [`TraceError::Parse`] naming the file and line (skipped and counted in lenient mode).
//! - **Class and priority** from `qos`: the class is the QoS name (`LS`, `BE`, `Burstable`,
//!   `Guaranteed`); priority is Guaranteed 3, LS 2, Burstable 1, anything else 0.
//! - **Times** (seconds → µs): submit at `creation_time`; the task runs from
//!   `scheduled_time` (or `creation_time` when empty) to `deletion_time` (or the horizon
//!   when empty). Pods created after [`TraceOptions::horizon_us`] are left out; the horizon
//!   defaults to the latest time in the pod list. Pods created at time 0 are ordinary jobs
//!   submitted at 0: the trace does not say what ran before it, so
//!   [`Trace::prefill`] is empty.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use csv::ByteRecord;
use omega_core::{
    Constraints, FailureDomain, GPU_MILLI_PER_DEVICE, Job, JobId, MAX_GPUS_PER_MACHINE, Machine,
    Priority, Resources,
};

use super::input::{self, At, CsvRecords, Skips};
use super::order::SubmitOrder;
use super::{FirstPass, Trace, TraceError, TraceFormat, TraceOptions, TraceStream};

/// Reads an Alibaba GPU trace: `path` is a folder (the released `csv/` layout, or one
/// pod list and optionally one node list) or a pod-list file, the files chosen as
/// [`files`] says: [`open`] collected.
pub fn load(path: &Path, options: &TraceOptions) -> Result<Trace, TraceError> {
    open(path, options)?.into_trace()
}

/// Opens an Alibaba GPU trace (`path` as for [`load`]) as a stream: a first pass reads
/// the node list and checks every pod row, finding the horizon and how far the rows stray
/// from creation order (`d`: how much earlier than the latest creation time before it a
/// pod may be created; 0 in the shared excerpt); the second pass reads the pod list again
/// and holds each pod only until a pod created more than `d` after it has been read.
pub fn open(path: &Path, options: &TraceOptions) -> Result<TraceStream, TraceError> {
    let (nodes, pods) = files(path, options)?;
    let mut skips = Skips {
        lenient: options.lenient,
        count: 0,
    };
    let machines = match &nodes {
        Some(p) => Some(parse_nodes(
            input::open(p)?,
            &p.display().to_string(),
            &mut skips,
            options.gpu_nodes_only,
        )?),
        None => None,
    };
    let pods_file = pods.display().to_string();
    let mut scan = PodScan::new(options);
    read_pods(input::open(&pods)?, &pods_file, &mut skips, |id, pod| {
        scan.add(id, pod, false)
    })?;
    scan.skips.count = skips.count;
    let horizon_us = scan.horizon_us();
    let mut first = FirstPass {
        machines,
        horizon_us,
        skipped_lines: scan.skips.count,
        zero_duration_tasks: scan.zero_duration_tasks(),
        ..FirstPass::default()
    };
    for qos in &scan.qos_seen {
        first.classes.insert(qos.clone());
    }
    first.job_count = scan.count;
    first.task_count = scan.count;
    let stream = PodStream {
        pods: CsvRecords::new(input::open(&pods)?, pods_file.clone()),
        pods_file,
        layout: None,
        row: 0,
        options: options.clone(),
        horizon_us,
        classes: BTreeMap::new(),
        buffer: SubmitOrder::default(),
        disorder_us: scan.disorder_us,
        latest_us: 0,
        done: false,
    };
    Ok(first.stream(TraceFormat::AlibabaGpu2023, Box::new(stream)))
}

/// The default pod list of a folder with several (Alibaba's released `csv/` folder).
pub const DEFAULT_POD_LIST: &str = "openb_pod_list_default.csv";
/// The default node list of a folder with several (every node; the other released list
/// holds the GPU nodes only).
pub const DEFAULT_NODE_LIST: &str = "openb_node_list_all_node.csv";

/// The files a trace at `path` is read from: the node list (if any) and the pod list.
///
/// `path` is a folder or a pod-list file (the node list is then looked for beside it).
/// [`TraceOptions::pod_list`] and [`TraceOptions::node_list`] name the files (relative to
/// the folder); unnamed, a folder's only `*pod_list*.csv` is read, or
/// [`DEFAULT_POD_LIST`] when there are several, and likewise the only `*node_list*.csv`
/// or [`DEFAULT_NODE_LIST`]. Several candidates and no default is an error naming them.
pub fn files(
    path: &Path,
    options: &TraceOptions,
) -> Result<(Option<PathBuf>, PathBuf), TraceError> {
    let (dir, pods) = if path.is_dir() {
        let pods = match &options.pod_list {
            Some(name) => Some(existing(&path.join(name))?),
            None => find_one(path, "pod_list", DEFAULT_POD_LIST)?,
        };
        let pods = pods.ok_or_else(|| TraceError::Format {
            path: path.to_path_buf(),
            reason: "expected a *pod_list*.csv file".to_owned(),
        })?;
        (path.to_path_buf(), pods)
    } else {
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        (dir, path.to_path_buf())
    };
    let nodes = match &options.node_list {
        Some(name) => Some(existing(&dir.join(name))?),
        None => find_one(&dir, "node_list", DEFAULT_NODE_LIST)?,
    };
    Ok((nodes, pods))
}

/// `path` if it is a file, else an error saying it is missing.
fn existing(path: &Path) -> Result<PathBuf, TraceError> {
    if path.is_file() {
        Ok(path.to_path_buf())
    } else {
        Err(TraceError::Format {
            path: path.to_path_buf(),
            reason: "no such file (named by pod_list / node_list)".to_owned(),
        })
    }
}

/// The CSV file in `dir` whose name contains `part`: the only one, else `default` if it
/// is among several; an error if there are several and none is `default`.
fn find_one(dir: &Path, part: &str, default: &str) -> Result<Option<PathBuf>, TraceError> {
    let names: Vec<String> = input::dir_file_names(dir)?
        .into_iter()
        .filter(|n| n.contains(part) && (n.ends_with(".csv") || n.ends_with(".csv.gz")))
        .collect();
    match names.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(dir.join(one))),
        _ if names.iter().any(|n| n == default) => Ok(Some(dir.join(default))),
        _ => Err(TraceError::Format {
            path: dir.to_path_buf(),
            reason: format!(
                "several *{part}*.csv files ({}) and no {default}: name the file",
                names.join(", ")
            ),
        }),
    }
}

/// The `gpu=<model>` labels of a pod's `gpu_spec` (models separated by `|`), sorted and
/// without repeats; empty for an empty spec (any GPU).
///
/// ```
/// use omega_workload::trace::alibaba::gpu_spec_labels;
/// assert_eq!(gpu_spec_labels("V100M32|V100M16|V100M32"), ["gpu=V100M16", "gpu=V100M32"]);
/// assert!(gpu_spec_labels(" | ").is_empty());
/// ```
pub fn gpu_spec_labels(spec: &str) -> Vec<String> {
    spec_models(spec)
        .into_iter()
        .map(|m| format!("gpu={m}"))
        .collect()
}

/// Adds the constraint of a pod's `gpu_spec` to `constraints`: one model is a required
/// label, several are one group of alternatives, an empty spec adds nothing.
///
/// ```
/// use omega_core::Constraints;
/// use omega_workload::trace::alibaba::apply_gpu_spec;
/// let mut one = Constraints::default();
/// apply_gpu_spec("T4", &mut one);
/// assert_eq!(one.required_labels, ["gpu=T4"]);
/// let mut several = Constraints::default();
/// apply_gpu_spec("V100M32|V100M16", &mut several);
/// assert_eq!(several.required_any_labels, [["gpu=V100M16", "gpu=V100M32"]]);
/// assert!(several.required_labels.is_empty());
/// ```
pub fn apply_gpu_spec(spec: &str, constraints: &mut Constraints) {
    let mut labels = gpu_spec_labels(spec);
    match labels.len() {
        0 => {}
        1 => constraints.required_labels.append(&mut labels),
        _ => constraints.required_any_labels.push(labels),
    }
}

fn spec_models(spec: &str) -> Vec<&str> {
    let set: BTreeSet<&str> = spec
        .split('|')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .collect();
    set.into_iter().collect()
}

/// The columns of a header, by name.
struct Columns {
    index: BTreeMap<String, usize>,
}

impl Columns {
    fn read(record: &ByteRecord) -> Self {
        let index = record
            .iter()
            .enumerate()
            .map(|(i, name)| (String::from_utf8_lossy(name).trim().to_owned(), i))
            .collect();
        Self { index }
    }

    fn require(&self, at: At<'_>, names: &[&str]) -> Result<Vec<usize>, TraceError> {
        names
            .iter()
            .map(|name| {
                self.index
                    .get(*name)
                    .copied()
                    .ok_or_else(|| at.err(0, format!("a header with a column named {name}"), b""))
            })
            .collect()
    }
}

/// A header's columns: the indexes of the named columns the loader reads, and how many
/// fields every row must have (the header's).
struct Layout {
    cols: Vec<usize>,
    width: usize,
}

impl Layout {
    /// An error unless `record` has as many fields as the header.
    fn check_width(&self, at: At<'_>, record: &ByteRecord) -> Result<(), TraceError> {
        if record.len() == self.width {
            return Ok(());
        }
        let column = record.len().min(self.width) + 1;
        let found = record.get(self.width).unwrap_or_default();
        Err(at.err(
            column,
            format!(
                "{} comma-separated fields, as the header has (found {})",
                self.width,
                record.len()
            ),
            found,
        ))
    }
}

/// Reads the header row of `records`, or an error for an empty file.
fn header<R: Read>(records: &mut CsvRecords<R>, names: &[&str]) -> Result<Layout, TraceError> {
    let file = records.file.clone();
    let Some((line, record)) = records.next_record()? else {
        return Err(TraceError::Parse {
            file,
            line: 1,
            column: 0,
            expected: format!("a header row ({})", names.join(",")),
            found: String::new(),
        });
    };
    let width = record.len();
    let columns = Columns::read(record);
    let cols = columns.require(At { file: &file, line }, names)?;
    Ok(Layout { cols, width })
}

/// Field `column` (0-based index) of `record`, empty if the row is short.
fn get(record: &ByteRecord, column: usize) -> &[u8] {
    record.get(column).unwrap_or_default()
}

const NODE_COLUMNS: [&str; 4] = ["cpu_milli", "memory_mib", "gpu", "model"];

/// Reads the node list (only the nodes with GPUs when `gpu_nodes_only`; each kept node
/// is its own failure domain, numbered in the order kept).
fn parse_nodes(
    reader: impl Read,
    file: &str,
    skips: &mut Skips,
    gpu_nodes_only: bool,
) -> Result<Vec<Machine>, TraceError> {
    let mut records = CsvRecords::new(reader, file.to_owned());
    let layout = header(&mut records, &NODE_COLUMNS)?;
    let cols = &layout.cols;
    let mut machines = Vec::new();
    while let Some((line, record)) = records.next_record()? {
        let at = At { file, line };
        let index = machines.len();
        let parsed = (|| {
            layout.check_width(at, record)?;
            let field = |i: usize| (get(record, cols[i]), cols[i] + 1);
            let (raw, c) = field(0);
            let cpu = at.u64(raw, c, "cpu_milli: an integer")?;
            let (raw, c) = field(1);
            let mem = at.u64(raw, c, "memory_mib: an integer")?;
            let (raw, c) = field(2);
            let gpus = at.u64(raw, c, "gpu: an integer")?;
            let gpus = u8::try_from(gpus)
                .ok()
                .filter(|&g| usize::from(g) <= MAX_GPUS_PER_MACHINE)
                .ok_or_else(|| at.err(c, format!("gpu: at most {MAX_GPUS_PER_MACHINE}"), raw))?;
            let (raw, c) = field(3);
            let model = String::from_utf8_lossy(raw).trim().to_owned();
            if gpus > 0 && model.is_empty() {
                return Err(at.err(c, "model: a GPU model for a node with GPUs", raw));
            }
            let domain = FailureDomain(u32::try_from(index).unwrap_or(u32::MAX));
            let type_name = if gpus > 0 { model.as_str() } else { "cpu" };
            Ok(Machine::new(type_name, cpu, mem, domain).with_gpus(gpus, &model))
        })();
        if let Some(machine) = skips.check(parsed)? {
            if !gpu_nodes_only || !machine.gpus.is_empty() {
                machines.push(machine);
            }
        }
    }
    Ok(machines)
}

const POD_COLUMNS: [&str; 9] = [
    "cpu_milli",
    "memory_mib",
    "num_gpu",
    "gpu_milli",
    "gpu_spec",
    "qos",
    "creation_time",
    "deletion_time",
    "scheduled_time",
];

/// One pod as read.
struct Pod {
    resources: Resources,
    gpu_spec: String,
    qos: String,
    created_us: u64,
    start_us: u64,
    deleted_us: Option<u64>,
}

fn parse_pod(at: At<'_>, record: &ByteRecord, cols: &[usize]) -> Result<Pod, TraceError> {
    let field = |i: usize| (get(record, cols[i]), cols[i] + 1);
    let (raw, c) = field(0);
    let cpu = at.u64(raw, c, "cpu_milli: an integer")?;
    let (raw, c) = field(1);
    let mem = at.u64(raw, c, "memory_mib: an integer")?;
    let (raw, c) = field(2);
    let num_gpu = at.u64(raw, c, "num_gpu: an integer")?;
    if num_gpu > MAX_GPUS_PER_MACHINE as u64 {
        return Err(at.err(c, format!("num_gpu: at most {MAX_GPUS_PER_MACHINE}"), raw));
    }
    let (raw, c) = field(3);
    let gpu_milli = at.u64(raw, c, "gpu_milli: an integer")?;
    if gpu_milli > GPU_MILLI_PER_DEVICE {
        return Err(at.err(c, "gpu_milli: at most 1000", raw));
    }
    let gpu = match num_gpu {
        0 => 0,
        1 if gpu_milli > 0 && gpu_milli < GPU_MILLI_PER_DEVICE => gpu_milli,
        n => n * GPU_MILLI_PER_DEVICE,
    };
    let (raw, _) = field(4);
    let gpu_spec = String::from_utf8_lossy(raw).trim().to_owned();
    let (raw, c) = field(5);
    let qos = String::from_utf8_lossy(raw).trim().to_owned();
    if qos.is_empty() {
        return Err(at.err(c, "qos: a QoS class (LS, BE, Burstable, Guaranteed)", raw));
    }
    let time = |i: usize, what: &str| -> Result<Option<u64>, TraceError> {
        let (raw, c) = field(i);
        match at.opt_u64(raw, c, what)? {
            Some(s) => input::secs_to_us(s)
                .map(Some)
                .ok_or_else(|| at.err(c, what, raw)),
            None => Ok(None),
        }
    };
    let created_us = time(6, "creation_time: seconds")?
        .ok_or_else(|| at.err(cols[6] + 1, "creation_time: seconds", b""))?;
    let deleted_us = time(7, "deletion_time: seconds, or empty")?;
    let start_us = time(8, "scheduled_time: seconds, or empty")?.unwrap_or(created_us);
    if let Some(deleted) = deleted_us {
        if deleted < start_us {
            let (raw, c) = field(7);
            return Err(at.err(
                c,
                "deletion_time: not before scheduled_time/creation_time",
                raw,
            ));
        }
    }
    Ok(Pod {
        resources: Resources::new(cpu, gpu, mem),
        gpu_spec,
        qos,
        created_us,
        start_us,
        deleted_us,
    })
}

/// Reads the pod list: the header, then each row as `(row id, pod)` to `each` (pods
/// created after the horizon included: `each` decides).
fn read_pods(
    reader: impl Read,
    pods_file: &str,
    skips: &mut Skips,
    mut each: impl FnMut(u64, Pod),
) -> Result<(), TraceError> {
    let mut records = CsvRecords::new(reader, pods_file.to_owned());
    let layout = header(&mut records, &POD_COLUMNS)?;
    let mut row = 0u64;
    while let Some((line, record)) = records.next_record()? {
        let at = At {
            file: pods_file,
            line,
        };
        let id = row;
        row += 1;
        let pod = layout
            .check_width(at, record)
            .and_then(|()| parse_pod(at, record, &layout.cols));
        if let Some(pod) = skips.check(pod)? {
            each(id, pod);
        }
    }
    Ok(())
}

/// The first pass over the pods: the horizon, the counts, the disorder.
struct PodScan {
    skips: Skips,
    horizon_option_us: Option<u64>,
    count: u64,
    qos_seen: BTreeSet<String>,
    /// The latest time of any pod (the default horizon).
    latest_us: u64,
    /// Pods ending at the horizon (no deletion) that start at it: with the option's
    /// horizon, those starting at or after it; without, those starting at `latest_us`.
    start_at_horizon: u64,
    /// Pods deleted when they were scheduled.
    deleted_at_start: u64,
    latest_created_us: u64,
    disorder_us: u64,
    /// The pods themselves, when kept ([`parse`]).
    pods: Vec<(u64, Pod)>,
}

impl PodScan {
    fn new(options: &TraceOptions) -> Self {
        Self {
            skips: Skips {
                lenient: options.lenient,
                count: 0,
            },
            horizon_option_us: options.horizon_us,
            count: 0,
            qos_seen: BTreeSet::new(),
            latest_us: 0,
            start_at_horizon: 0,
            deleted_at_start: 0,
            latest_created_us: 0,
            disorder_us: 0,
            pods: Vec::new(),
        }
    }

    fn add(&mut self, id: u64, pod: Pod, keep: bool) {
        if self.horizon_option_us.is_some_and(|h| pod.created_us > h) {
            return;
        }
        self.count += 1;
        if !self.qos_seen.contains(&pod.qos) {
            self.qos_seen.insert(pod.qos.clone());
        }
        let latest = pod
            .deleted_us
            .unwrap_or(0)
            .max(pod.start_us)
            .max(pod.created_us);
        if latest > self.latest_us {
            self.latest_us = latest;
            if self.horizon_option_us.is_none() {
                self.start_at_horizon = 0;
            }
        }
        match (pod.deleted_us, self.horizon_option_us) {
            (Some(deleted), _) => self.deleted_at_start += u64::from(deleted <= pod.start_us),
            (None, Some(h)) => self.start_at_horizon += u64::from(pod.start_us >= h),
            (None, None) => self.start_at_horizon += u64::from(pod.start_us == self.latest_us),
        }
        self.latest_created_us = self.latest_created_us.max(pod.created_us);
        self.disorder_us = self
            .disorder_us
            .max(self.latest_created_us - pod.created_us);
        if keep {
            self.pods.push((id, pod));
        }
    }

    fn horizon_us(&self) -> u64 {
        self.horizon_option_us.unwrap_or(self.latest_us)
    }

    fn zero_duration_tasks(&self) -> u64 {
        self.start_at_horizon + self.deleted_at_start
    }
}

/// A pod as a single-task job (class by QoS, from `classes`).
fn pod_job(id: u64, pod: Pod, horizon_us: u64, classes: &mut BTreeMap<String, Arc<str>>) -> Job {
    let class = classes
        .entry(pod.qos.clone())
        .or_insert_with(|| Arc::from(pod.qos.as_str()));
    let end_us = pod.deleted_us.unwrap_or(horizon_us).max(pod.start_us);
    let mut job = Job::new(JobId(id), "", 1, pod.resources, end_us - pod.start_us);
    job.class = Arc::clone(class);
    job.priority = Priority(match pod.qos.as_str() {
        "Guaranteed" => 3,
        "LS" => 2,
        "Burstable" => 1,
        _ => 0,
    });
    job.submit_at_us = pod.created_us;
    apply_gpu_spec(&pod.gpu_spec, &mut job.constraints);
    job
}

/// The second pass: the pod rows again, out in creation order.
struct PodStream {
    pods: CsvRecords<Box<dyn Read + Send>>,
    pods_file: String,
    /// The header's layout, once read.
    layout: Option<Layout>,
    row: u64,
    options: TraceOptions,
    horizon_us: u64,
    classes: BTreeMap<String, Arc<str>>,
    buffer: SubmitOrder,
    disorder_us: u64,
    latest_us: u64,
    done: bool,
}

impl PodStream {
    /// Reads rows up to the next pod the replay has (buffered); false at the end.
    fn read_pod(&mut self) -> Result<bool, TraceError> {
        if self.layout.is_none() {
            self.layout = Some(header(&mut self.pods, &POD_COLUMNS)?);
        }
        let Some(layout) = &self.layout else {
            return Ok(false);
        };
        while let Some((line, record)) = self.pods.next_record()? {
            let at = At {
                file: &self.pods_file,
                line,
            };
            let id = self.row;
            self.row += 1;
            let pod = match layout
                .check_width(at, record)
                .and_then(|()| parse_pod(at, record, &layout.cols))
            {
                Ok(pod) => pod,
                Err(e) if self.options.lenient && e.is_line_error() => continue,
                Err(e) => return Err(e),
            };
            if self.options.horizon_us.is_some_and(|h| pod.created_us > h) {
                continue;
            }
            self.latest_us = self.latest_us.max(pod.created_us);
            let job = pod_job(id, pod, self.horizon_us, &mut self.classes);
            self.buffer.push(job);
            return Ok(true);
        }
        Ok(false)
    }
}

impl Iterator for PodStream {
    type Item = Result<Job, TraceError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return self.buffer.pop().map(Ok);
            }
            let bound_us = self.latest_us.saturating_sub(self.disorder_us);
            if let Some(job) = self.buffer.pop_before(bound_us) {
                return Some(Ok(job));
            }
            match self.read_pod() {
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

/// Reads an Alibaba GPU trace from readers, every pod at once: the node list with its
/// file name (optional) and the pod list, named `pods_file` in errors.
///
/// ```
/// use omega_workload::trace::{alibaba, TraceOptions};
/// let nodes = "sn,cpu_milli,memory_mib,gpu,model\nn0,32000,262144,2,T4\n";
/// let pods = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,\
///             creation_time,deletion_time,scheduled_time\n\
///             p0,4000,8192,1,460,T4,LS,Running,10,100,20\n";
/// let trace = alibaba::parse(Some((nodes.as_bytes(), "nodes.csv".to_owned())),
///                            pods.as_bytes(), "pods.csv", &TraceOptions::default())?;
/// let pod = &trace.jobs[0];
/// assert_eq!(pod.task_resources.gpu_milli, 460);
/// assert_eq!((pod.submit_at_us, pod.task_duration_us), (10_000_000, 80_000_000));
/// assert_eq!(pod.constraints.required_labels, vec!["gpu=T4".to_owned()]);
/// assert!(trace.machines.unwrap()[0].has_label("gpu=T4"));
/// # Ok::<(), omega_workload::trace::TraceError>(())
/// ```
pub fn parse<N: Read>(
    nodes: Option<(N, String)>,
    pods: impl Read,
    pods_file: &str,
    options: &TraceOptions,
) -> Result<Trace, TraceError> {
    let mut skips = Skips {
        lenient: options.lenient,
        count: 0,
    };
    let machines = match nodes {
        Some((reader, file)) => Some(parse_nodes(
            reader,
            &file,
            &mut skips,
            options.gpu_nodes_only,
        )?),
        None => None,
    };
    let mut scan = PodScan::new(options);
    read_pods(pods, pods_file, &mut skips, |id, pod| {
        scan.add(id, pod, true)
    })?;
    scan.skips.count = skips.count;
    let horizon_us = scan.horizon_us();
    let zero_duration_tasks = scan.zero_duration_tasks();
    let mut classes = BTreeMap::new();
    let mut jobs: Vec<Job> = std::mem::take(&mut scan.pods)
        .into_iter()
        .map(|(id, pod)| pod_job(id, pod, horizon_us, &mut classes))
        .collect();
    jobs.sort_by_key(|j| (j.submit_at_us, j.id));
    Ok(Trace {
        format: TraceFormat::AlibabaGpu2023,
        machines,
        prefill: Vec::new(),
        jobs,
        horizon_us,
        skipped_lines: scan.skips.count,
        censored_tasks: 0,
        zero_duration_tasks,
        dropped_jobs: 0,
    })
}
