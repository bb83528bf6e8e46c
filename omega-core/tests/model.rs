//! Model-based property test (in the style of sled's): random histories of commits, releases,
//! failures, recoveries and resizes are applied both to `CellState` and to a naive oracle made
//! of plain `Vec`s and `BTreeMap`s; after every step the two must agree on every commit
//! outcome, every machine's allocation, free GPU and version, and every placement. Old
//! snapshots are checked never to change, and replaying the journal rebuilds the final state.
//! Scheduler working copies (`assume`, which buffers its changes in a draft) are checked the
//! same way, including a commit, release or failure applied on top of one. Every history runs
//! under a random `VersionPolicy`, which the oracle models on its own: a release bumps its
//! machines' versions unless the policy is the paper's `Claims`.
//!
//! In-place operations (`commit_in_place`, `release_all_in_place`, `fail_machine_in_place`,
//! `recover_machine_in_place`) are checked three ways: the journal applies them to a state a
//! snapshot shares (so every write copies), a second state that nothing else holds applies
//! them too (so writes go in place) and must render exactly as the journal's, and the
//! `&self` operation applied to the snapshot taken before must give the same outcome and
//! the same rendering. Every snapshot (clone) is compared with its own rendering from when
//! it was taken, so an in-place change can never reach a state that shares its nodes.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::collections::BTreeMap;

use omega_core::*;
use proptest::prelude::*;

// ----- the oracle --------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
struct OMachine {
    capacity: Resources,
    gpus: usize,
    allocated: Resources,
    gpu_free: Vec<u64>,
    version: u64,
    status: MachineStatus,
}

#[derive(Clone, Debug, PartialEq)]
struct Oracle {
    machines: Vec<OMachine>,
    tasks: BTreeMap<TaskId, Placement>,
    seq: u64,
    /// Whether a release bumps its machines' versions (every policy but `Claims`).
    release_bumps: bool,
}

fn per_device(r: &Resources) -> u64 {
    if r.gpu_milli < 1000 {
        r.gpu_milli
    } else {
        1000
    }
}

impl Oracle {
    fn new(specs: &[Machine], policy: VersionPolicy) -> Self {
        let mut o = Oracle {
            machines: Vec::new(),
            tasks: BTreeMap::new(),
            seq: 0,
            release_bumps: match policy {
                VersionPolicy::Claims => false,
                VersionPolicy::ClaimsAndReleases | VersionPolicy::EveryChange => true,
                other => panic!("the oracle does not model {other:?}"),
            },
        };
        for s in specs {
            o.add(s);
        }
        o.seq = 0;
        o
    }

    fn add(&mut self, s: &Machine) -> MachineId {
        self.machines.push(OMachine {
            capacity: s.capacity,
            gpus: s.gpus.len(),
            allocated: Resources::ZERO,
            gpu_free: vec![1000; s.gpus.len()],
            version: 0,
            status: MachineStatus::Up,
        });
        self.seq += 1;
        MachineId(self.machines.len() as u32 - 1)
    }

    fn take(&mut self, task: TaskId) -> Option<Placement> {
        let p = self.tasks.remove(&task)?;
        let m = &mut self.machines[p.machine.0 as usize];
        m.allocated.cpu_milli -= p.resources.cpu_milli;
        m.allocated.gpu_milli -= p.resources.gpu_milli;
        m.allocated.mem_mib -= p.resources.mem_mib;
        for d in p.gpus.iter() {
            m.gpu_free[d as usize] += per_device(&p.resources);
        }
        Some(p)
    }

    fn put(&mut self, c: &Claim) {
        let m = &mut self.machines[c.machine.0 as usize];
        m.allocated.cpu_milli += c.resources.cpu_milli;
        m.allocated.gpu_milli += c.resources.gpu_milli;
        m.allocated.mem_mib += c.resources.mem_mib;
        for d in c.gpus.iter() {
            m.gpu_free[d as usize] -= per_device(&c.resources);
        }
        self.tasks.insert(
            c.task,
            Placement {
                machine: c.machine,
                resources: c.resources,
                gpus: c.gpus,
                priority: c.priority,
            },
        );
    }

    /// The naive rules, written out once more, independently of the cell's code.
    fn check(&self, before: &Oracle, c: &Claim, coarse: bool) -> Result<(), Conflict> {
        let Some(m) = self.machines.get(c.machine.0 as usize) else {
            return Err(Conflict::MachineMissing);
        };
        if m.status == MachineStatus::Removed {
            return Err(Conflict::MachineMissing);
        }
        if m.status == MachineStatus::Down {
            return Err(Conflict::MachineDown);
        }
        let g = c.resources.gpu_milli;
        let shape_ok = g < 1000 || (g % 1000 == 0 && g / 1000 <= 8);
        if !shape_ok {
            return Err(Conflict::Invalid(InvalidClaim::GpuRequestShape));
        }
        let want_devices = if g == 0 {
            0
        } else if g < 1000 {
            1
        } else {
            g / 1000
        };
        if c.gpus.iter().any(|d| d as usize >= m.gpus) || u64::from(c.gpus.len()) != want_devices {
            return Err(Conflict::Invalid(InvalidClaim::GpuDevices));
        }
        if self.tasks.contains_key(&c.task) {
            return Err(Conflict::Invalid(InvalidClaim::TaskAlreadyPlaced));
        }
        if coarse && before.machines[c.machine.0 as usize].version != c.seen_version {
            return Err(Conflict::VersionChanged);
        }
        let mut trial = self.clone();
        for (i, v) in c.preempts.iter().enumerate() {
            if c.preempts[..i].contains(v) {
                return Err(Conflict::VictimGone);
            }
            match self.tasks.get(v) {
                Some(p) if p.machine == c.machine && p.priority < c.priority => {
                    trial.take(*v);
                }
                _ => return Err(Conflict::VictimGone),
            }
        }
        let m = &trial.machines[c.machine.0 as usize];
        let free_cpu = m.capacity.cpu_milli - m.allocated.cpu_milli;
        let free_mem = m.capacity.mem_mib - m.allocated.mem_mib;
        let free_gpu = m.capacity.gpu_milli - m.allocated.gpu_milli;
        let devices_ok = c
            .gpus
            .iter()
            .all(|d| m.gpu_free[d as usize] >= per_device(&c.resources));
        if c.resources.cpu_milli > free_cpu
            || c.resources.mem_mib > free_mem
            || c.resources.gpu_milli > free_gpu
            || !devices_ok
        {
            return Err(Conflict::InsufficientResources);
        }
        Ok(())
    }

    fn commit(&mut self, txn: &Transaction) -> Outcome {
        let before = self.clone();
        let coarse = txn.conflicts == ConflictMode::Coarse;
        let mut out = Outcome::default();
        let mut touched = Vec::new();
        for (i, c) in txn.claims.iter().enumerate() {
            match self.check(&before, c, coarse) {
                Ok(()) => {
                    for v in &c.preempts {
                        self.take(*v);
                        out.preempted.push(*v);
                    }
                    self.put(c);
                    out.accepted.push(i);
                    if !touched.contains(&c.machine) {
                        touched.push(c.machine);
                    }
                }
                Err(reason) => out.rejected.push(Rejection {
                    claim: i,
                    task: c.task,
                    machine: c.machine,
                    reason,
                }),
            }
        }
        if txn.commit == CommitMode::Gang && !out.rejected.is_empty() {
            *self = before;
            out.accepted.clear();
            out.preempted.clear();
            out.aborted = true;
            return out;
        }
        if !out.accepted.is_empty() {
            for m in touched {
                self.machines[m.0 as usize].version += 1;
            }
            self.seq += 1;
        }
        out
    }

    /// Ends tasks that end together: one sequence step, and one bump per machine they ran
    /// on if the policy bumps on releases. Nothing happens for an empty list.
    fn release(&mut self, tasks: &[TaskId]) -> Vec<(TaskId, Placement)> {
        let mut released = Vec::new();
        let mut touched = Vec::new();
        for t in tasks {
            let p = self.take(*t).unwrap();
            if !touched.contains(&p.machine) {
                touched.push(p.machine);
            }
            released.push((*t, p));
        }
        if !tasks.is_empty() {
            if self.release_bumps {
                for m in touched {
                    self.machines[m.0 as usize].version += 1;
                }
            }
            self.seq += 1;
        }
        released
    }

    fn live(&self, id: MachineId) -> Option<&OMachine> {
        self.machines
            .get(id.0 as usize)
            .filter(|m| m.status != MachineStatus::Removed)
    }

    fn evict_all(&mut self, id: MachineId) -> Vec<TaskId> {
        let tasks: Vec<TaskId> = self
            .tasks
            .iter()
            .filter(|(_, p)| p.machine == id)
            .map(|(t, _)| *t)
            .collect();
        for t in &tasks {
            self.take(*t);
        }
        tasks
    }

    fn set(&mut self, id: MachineId, status: MachineStatus) {
        let m = &mut self.machines[id.0 as usize];
        m.status = status;
        m.version += 1;
        self.seq += 1;
    }
}

// ----- operations ----------------------------------------------------------------------

#[derive(Clone, Debug)]
struct ClaimSeed {
    job: u64,
    index: u32,
    machine: u32,
    cpu_milli: u64,
    mem_mib: u64,
    gpu: u8,
    devices: u8,
    stale: u8,
    priority: u32,
    victims: Vec<usize>,
}

#[derive(Clone, Debug)]
enum Op {
    Commit {
        claims: Vec<ClaimSeed>,
        gang: bool,
        coarse: bool,
    },
    Release(Vec<usize>),
    Fail(u32),
    Recover(u32),
    Add(u8),
    Remove(u32),
    Snapshot,
    /// A scheduler's working copy: claims assumed one by one, then maybe a change made on
    /// top of the copy (0: none, 1: commit `more`, 2: release a task, 3: fail a machine).
    Work {
        claims: Vec<ClaimSeed>,
        then: u8,
        more: Vec<ClaimSeed>,
        pick: u32,
    },
}

fn claim_seed() -> impl Strategy<Value = ClaimSeed> {
    (
        (0u64..6, 0u32..4, 0u32..9),
        (0u64..7_000, 0u64..20_000),
        (0u8..12, any::<u8>(), 0u8..8, 0u32..4),
        prop_oneof![2 => Just(Vec::new()), 1 => prop::collection::vec(any::<usize>(), 1..3)],
    )
        .prop_map(
            |(
                (job, index, machine),
                (cpu_milli, mem_mib),
                (gpu, devices, stale, priority),
                victims,
            )| {
                ClaimSeed {
                    job,
                    index,
                    machine,
                    cpu_milli,
                    mem_mib,
                    gpu,
                    devices,
                    stale,
                    priority,
                    victims,
                }
            },
        )
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (prop::collection::vec(claim_seed(), 1..6), any::<bool>(), any::<bool>())
            .prop_map(|(claims, gang, coarse)| Op::Commit { claims, gang, coarse }),
        2 => prop::collection::vec(any::<usize>(), 0..3).prop_map(Op::Release),
        1 => (0u32..10).prop_map(Op::Fail),
        1 => (0u32..10).prop_map(Op::Recover),
        1 => (0u8..3).prop_map(Op::Add),
        1 => (0u32..10).prop_map(Op::Remove),
        1 => Just(Op::Snapshot),
        3 => (
            prop::collection::vec(claim_seed(), 1..12),
            0u8..4,
            prop::collection::vec(claim_seed(), 1..4),
            any::<u32>(),
        )
            .prop_map(|(claims, then, more, pick)| Op::Work { claims, then, more, pick }),
    ]
}

fn machine_of_kind(kind: u8, rack: u32) -> Machine {
    match kind % 3 {
        0 => Machine::new("A", 8_000, 16_384, FailureDomain(rack)),
        1 => Machine::new("B", 16_000, 32_768, FailureDomain(rack)),
        _ => Machine::new("C", 8_000, 32_768, FailureDomain(rack)).with_gpus(2, "T4"),
    }
}

/// Builds a concrete claim from a seed, against the current state (versions, running tasks).
fn make_claim(s: &ClaimSeed, cell: &CellState, running: &[TaskId]) -> Claim {
    // Mostly machines that exist, sometimes one id past the end.
    let machine = MachineId(s.machine % (cell.slot_count() + 1));
    let version = cell.state(machine).map_or(0, |st| st.version);
    let seen_version = match s.stale {
        0 => version.saturating_sub(1),
        1 => version + 1,
        _ => version,
    };
    // gpu: 0 none, 1 fraction, 2 one whole, 3 two whole, 4 bad shape, 5 fraction 600
    let gpu_milli = [0, 400, 1000, 2000, 1500, 600]
        .get(s.gpu as usize)
        .copied()
        .unwrap_or(0);
    let gpus = match s.devices % 8 {
        0 | 1 => GpuDevices::NONE,
        2 | 3 => GpuDevices::one(0),
        4 | 5 => GpuDevices::one(1),
        6 => GpuDevices::one(0).with(1),
        _ => GpuDevices::one(2),
    };
    // Mostly keep devices consistent with the request so resource checks get exercised.
    let gpus = if s.devices < 200 {
        match gpu_milli {
            0 => GpuDevices::NONE,
            2000 => GpuDevices::one(0).with(1),
            1000 | 400 | 600 => GpuDevices::one(s.devices % 2),
            _ => gpus,
        }
    } else {
        gpus
    };
    // Victims mostly from the claim's own machine (so preemption can succeed), sometimes any.
    let local: Vec<TaskId> = cell.tasks_on(machine).map(|(t, _)| t).collect();
    let victims = s.victims.iter().filter_map(|v| {
        let pool = if v % 4 != 0 && !local.is_empty() {
            &local
        } else {
            running
        };
        (!pool.is_empty()).then(|| pool[(v / 4) % pool.len()])
    });
    Claim::new(
        TaskId::new(JobId(s.job), s.index),
        machine,
        Resources::new(s.cpu_milli, gpu_milli, s.mem_mib),
        seen_version,
    )
    .with_gpus(gpus)
    .with_priority(Priority(s.priority))
    .preempting(victims)
}

/// Compares the cell with the oracle in every respect, and checks the invariants.
fn assert_agree(cell: &CellState, oracle: &Oracle) {
    assert_eq!(cell.slot_count() as usize, oracle.machines.len());
    assert_eq!(cell.seq(), oracle.seq, "sequence numbers differ");
    let mut total_alloc = Resources::ZERO;
    let mut capacity_up = Resources::ZERO;
    for (i, om) in oracle.machines.iter().enumerate() {
        let id = MachineId(i as u32);
        let st = cell.state(id).unwrap();
        assert_eq!(st.status, om.status, "status of {id}");
        assert_eq!(st.version, om.version, "version of {id}");
        assert_eq!(st.allocated, om.allocated, "allocation of {id}");
        let free: Vec<u64> = st.gpu_free_milli[..om.gpus]
            .iter()
            .map(|&f| u64::from(f))
            .collect();
        assert_eq!(free, om.gpu_free, "free GPU of {id}");
        // Invariant: allocated == sum of running requests <= capacity.
        let sum = cell.tasks_on(id).fold(Resources::ZERO, |acc, (_, p)| {
            acc.checked_add(&p.resources).unwrap()
        });
        assert_eq!(
            sum, st.allocated,
            "allocation of {id} is not the sum of its tasks"
        );
        assert!(st.allocated.fits(&om.capacity), "{id} is over capacity");
        if om.status == MachineStatus::Up {
            capacity_up = capacity_up.checked_add(&om.capacity).unwrap();
        } else {
            assert!(st.allocated.is_zero(), "{id} is not up but holds resources");
        }
        total_alloc = total_alloc.checked_add(&st.allocated).unwrap();
    }
    assert_eq!(cell.allocated(), total_alloc);
    assert_eq!(cell.capacity(), capacity_up);
    let placements: BTreeMap<TaskId, Placement> = cell.running_tasks().collect();
    assert_eq!(placements, oracle.tasks, "placements differ");
    assert_eq!(cell.task_count(), oracle.tasks.len());
}

/// Everything a `CellState` shows, as text: two states that render the same are the same
/// to every reader.
fn render(cell: &CellState) -> String {
    use std::fmt::Write;
    let mut out = format!(
        "seq {} policy {:?} slots {} machines {} capacity {:?} allocated {:?} tasks {}\n",
        cell.seq(),
        cell.version_policy(),
        cell.slot_count(),
        cell.machine_count(),
        cell.capacity(),
        cell.allocated(),
        cell.task_count(),
    );
    for i in 0..cell.slot_count() {
        let id = MachineId(i);
        let tasks: Vec<(TaskId, Placement)> = cell.tasks_on(id).collect();
        writeln!(out, "{id}: {:?} {tasks:?}", cell.state(id)).unwrap();
    }
    for (task, p) in cell.running_tasks() {
        writeln!(out, "{task}: {p:?} {:?}", cell.placement(task)).unwrap();
    }
    out
}

/// A working copy of `cell`: each claim assumed must get the oracle's verdict (fine checks,
/// no version bumps) and leave the copy equal to the oracle's; a clone taken midway must not
/// see later claims; a change made on top of the copy must match the oracle's too.
fn work(
    cell: &CellState,
    oracle: &Oracle,
    claims: &[ClaimSeed],
    then: u8,
    more: &[ClaimSeed],
    pick: u32,
) {
    let mut local = cell.clone();
    let mut lo = oracle.clone();
    let mut frozen = None;
    for (i, s) in claims.iter().enumerate() {
        let running: Vec<TaskId> = lo.tasks.keys().copied().collect();
        let c = make_claim(s, &local, &running);
        let want = lo.check(&lo, &c, false);
        if want.is_ok() {
            for v in &c.preempts {
                lo.take(*v);
            }
            lo.put(&c);
        }
        assert_eq!(local.assume(&c), want, "assume of {c:?}");
        assert_agree(&local, &lo);
        if i == claims.len() / 2 {
            frozen = Some((local.clone(), lo.clone()));
        }
    }
    let running: Vec<TaskId> = lo.tasks.keys().copied().collect();
    match then {
        1 => {
            let mut txn = Transaction::new(JobId(0));
            for s in more {
                txn.push(make_claim(s, &local, &running));
            }
            let before = lo.clone();
            let local_before = render(&local);
            let commit = local.commit(&txn);
            assert_eq!(commit.outcome(), lo.commit(&txn));
            assert_agree(&commit.state, &lo);
            // The commit must not have changed the working copy it started from.
            assert_agree(&local, &before);
            // In place on a clone of the working copy (draft and all): the same.
            let mut inplace = local.clone();
            let applied = inplace.commit_in_place(&txn);
            assert_eq!(applied.outcome(), commit.outcome());
            assert_eq!(applied.preempted, commit.preempted);
            assert_eq!(render(&inplace), render(&commit.state));
            assert_eq!(
                render(&local),
                local_before,
                "a commit in place reached its source"
            );
        }
        2 if !running.is_empty() => {
            let task = running[pick as usize % running.len()];
            let local_before = render(&local);
            let (next, p) = local.release(task).unwrap();
            assert_eq!(lo.release(&[task]), vec![(task, p)]);
            assert_agree(&next, &lo);
            let mut inplace = local.clone();
            assert_eq!(inplace.release_all_in_place([task]), Ok(vec![(task, p)]));
            assert_eq!(render(&inplace), render(&next));
            assert_eq!(
                render(&local),
                local_before,
                "a release in place reached its source"
            );
        }
        3 => {
            let id = MachineId(pick % (local.slot_count() + 1));
            let local_before = render(&local);
            let mut inplace = local.clone();
            let in_place = inplace.fail_machine_in_place(id);
            let got = local.fail_machine(id);
            match (&got, in_place) {
                (Ok((next, evicted)), Ok(evicted_in_place)) => {
                    assert_eq!(evicted, &evicted_in_place);
                    assert_eq!(render(&inplace), render(next));
                }
                (Err(e), Err(e_in_place)) => {
                    assert_eq!(*e, e_in_place);
                    assert_eq!(
                        render(&inplace),
                        local_before,
                        "a failed failure changed state"
                    );
                }
                (got, in_place) => panic!("fail_machine {got:?} but in place {in_place:?}"),
            }
            assert_eq!(
                render(&local),
                local_before,
                "a failure in place reached its source"
            );
            match lo.live(id).map(|m| m.status) {
                None => assert_eq!(got.unwrap_err(), CoreError::UnknownMachine(id)),
                Some(MachineStatus::Down) => {
                    assert_eq!(got.unwrap_err(), CoreError::AlreadyDown(id));
                }
                Some(_) => {
                    let want = lo.evict_all(id);
                    lo.set(id, MachineStatus::Down);
                    let (next, evicted) = got.unwrap();
                    let got: Vec<TaskId> = evicted.into_iter().map(|(t, _)| t).collect();
                    assert_eq!(got, want);
                    assert_agree(&next, &lo);
                }
            }
        }
        _ => {}
    }
    if let Some((f, fo)) = frozen {
        assert_agree(&f, &fo);
    }
    // The snapshot the copy came from is untouched.
    assert_agree(cell, oracle);
}

fn run(initial_kinds: Vec<u8>, policy: VersionPolicy, ops: Vec<Op>) {
    let specs: Vec<Machine> = initial_kinds
        .iter()
        .enumerate()
        .map(|(i, k)| machine_of_kind(*k, i as u32 % 3))
        .collect();
    let initial = CellState::new(specs.clone())
        .unwrap()
        .with_version_policy(policy);
    let mut journal = Journal::new(initial.clone());
    let mut oracle = Oracle::new(&specs, policy);
    let mut snapshots: Vec<(CellState, Oracle)> = Vec::new();
    // Built on its own and never kept cloned, so in-place writes find its nodes unshared;
    // its snapshots are kept with their rendering from when they were taken.
    let mut owned = CellState::new(specs.clone())
        .unwrap()
        .with_version_policy(policy);
    let mut owned_snapshots: Vec<(CellState, String)> = Vec::new();
    for op in ops {
        let cell = journal.state().clone();
        let cell_before = render(&cell);
        let owned_before = render(&owned);
        // The `&self` operation's state, applied to the snapshot `cell`.
        let mut by_ref: Option<CellState> = None;
        let before_versions: Vec<u64> = oracle.machines.iter().map(|m| m.version).collect();
        let running: Vec<TaskId> = oracle.tasks.keys().copied().collect();
        let releasing = matches!(op, Op::Release(_));
        match op {
            Op::Commit {
                claims,
                gang,
                coarse,
            } => {
                let mut txn = Transaction::new(JobId(0))
                    .with_commit(if gang {
                        CommitMode::Gang
                    } else {
                        CommitMode::Incremental
                    })
                    .with_conflicts(if coarse {
                        ConflictMode::Coarse
                    } else {
                        ConflictMode::Fine
                    });
                for s in &claims {
                    txn.push(make_claim(s, &cell, &running));
                }
                let reference = cell.commit(&txn);
                let got = journal.commit(&txn);
                let applied = owned.commit_in_place(&txn);
                let want = oracle.commit(&txn);
                assert_eq!(got.outcome(), want, "commit outcomes differ for {txn:?}");
                assert_eq!(applied.outcome(), want, "in place: outcome of {txn:?}");
                assert_eq!(
                    reference.outcome(),
                    want,
                    "by reference: outcome of {txn:?}"
                );
                assert_eq!(applied.preempted, got.preempted);
                assert_eq!(reference.preempted, got.preempted);
                if applied.aborted || applied.accepted.is_empty() {
                    assert_eq!(render(&owned), owned_before, "a void commit changed state");
                }
                by_ref = Some(reference.state);
            }
            Op::Release(picks) => {
                let mut tasks: Vec<TaskId> = picks
                    .iter()
                    .filter(|_| !running.is_empty())
                    .map(|p| running[p % running.len()])
                    .collect();
                tasks.sort();
                tasks.dedup();
                if picks.len() == 2 {
                    // Sometimes ask for a task that is not running, or one task twice: an
                    // error, after the others were taken out, and nothing changes.
                    let bad = match tasks.first() {
                        Some(&t) if picks[0] % 2 == 0 => t,
                        _ => TaskId::new(JobId(999), 0),
                    };
                    tasks.push(bad);
                    let want = Err(CoreError::UnknownTask(bad));
                    assert_eq!(journal.release(&tasks), want);
                    assert_eq!(owned.release_all_in_place(tasks.iter().copied()), want);
                    assert_eq!(cell.release_all(tasks.iter().copied()).map(|r| r.1), want);
                    assert_eq!(
                        render(&owned),
                        owned_before,
                        "a failed release changed state"
                    );
                } else {
                    let got = journal.release(&tasks).unwrap();
                    assert_eq!(got, oracle.release(&tasks));
                    let in_place = owned.release_all_in_place(tasks.iter().copied());
                    assert_eq!(in_place.as_ref(), Ok(&got));
                    let (next, reference) = cell.release_all(tasks.iter().copied()).unwrap();
                    assert_eq!(reference, got);
                    by_ref = Some(next);
                }
            }
            Op::Fail(m) => {
                let id = MachineId(m);
                let got = journal.fail_machine(id);
                assert_eq!(owned.fail_machine_in_place(id), got);
                let reference = cell.fail_machine(id);
                assert_eq!(reference.as_ref().map(|r| &r.1), got.as_ref());
                by_ref = reference.ok().map(|r| r.0);
                match oracle.live(id).map(|m| m.status) {
                    None => assert_eq!(got, Err(CoreError::UnknownMachine(id))),
                    Some(MachineStatus::Down) => assert_eq!(got, Err(CoreError::AlreadyDown(id))),
                    Some(_) => {
                        let want = oracle.evict_all(id);
                        oracle.set(id, MachineStatus::Down);
                        let got: Vec<TaskId> = got.unwrap().into_iter().map(|(t, _)| t).collect();
                        assert_eq!(got, want);
                    }
                }
            }
            Op::Recover(m) => {
                let id = MachineId(m);
                let got = journal.recover_machine(id);
                assert_eq!(owned.recover_machine_in_place(id), got);
                let reference = cell.recover_machine(id);
                assert_eq!(reference.as_ref().map(|_| ()), got.as_ref().copied());
                by_ref = reference.ok();
                match oracle.live(id).map(|m| m.status) {
                    None => assert_eq!(got, Err(CoreError::UnknownMachine(id))),
                    Some(MachineStatus::Down) => {
                        got.unwrap();
                        oracle.set(id, MachineStatus::Up);
                    }
                    Some(_) => assert_eq!(got, Err(CoreError::NotDown(id))),
                }
            }
            Op::Add(kind) => {
                let spec = machine_of_kind(kind, 7);
                let got = journal.add_machine(spec.clone()).unwrap();
                assert_eq!(got, oracle.add(&spec));
                owned = owned.add_machine(spec).unwrap().0;
            }
            Op::Remove(m) => {
                let id = MachineId(m);
                let got = journal.remove_machine(id);
                if let Ok((next, evicted)) = owned.remove_machine(id) {
                    assert_eq!(Ok(evicted), got);
                    owned = next;
                }
                if oracle.live(id).is_none() {
                    assert_eq!(got, Err(CoreError::UnknownMachine(id)));
                } else {
                    let want = oracle.evict_all(id);
                    oracle.set(id, MachineStatus::Removed);
                    let got: Vec<TaskId> = got.unwrap().into_iter().map(|(t, _)| t).collect();
                    assert_eq!(got, want);
                }
            }
            Op::Snapshot => {
                snapshots.push((cell.clone(), oracle.clone()));
                owned_snapshots.push((owned.clone(), render(&owned)));
            }
            Op::Work {
                claims,
                then,
                more,
                pick,
            } => work(&cell, &oracle, &claims, then, &more, pick),
        }
        let now = journal.state();
        assert_agree(now, &oracle);
        // In place on an unshared state, in place on a shared one, and by reference: one
        // state; and the snapshot the journal's state was shared with did not move.
        assert_eq!(render(&owned), render(now), "the owned state differs");
        if let Some(reference) = &by_ref {
            assert_eq!(render(reference), render(now), "the `&self` state differs");
        }
        assert_eq!(
            render(&cell),
            cell_before,
            "an in-place change reached a snapshot"
        );
        assert_eq!(now.version_policy(), policy, "the policy was lost");
        // Invariant: versions never go down, and a machine whose state changed got a new one,
        // except by a release under `Claims`, which leaves every version as it was.
        let quiet = releasing && policy == VersionPolicy::Claims;
        for (i, v) in before_versions.iter().enumerate() {
            let id = MachineId(i as u32);
            let (b, a) = (cell.state(id).unwrap(), now.state(id).unwrap());
            assert!(a.version >= *v);
            if quiet {
                assert_eq!(
                    a.version, b.version,
                    "a release bumped {id} under {policy:?}"
                );
            } else if (b.allocated, b.status, b.gpu_free_milli)
                != (a.allocated, a.status, a.gpu_free_milli)
            {
                assert!(a.version > b.version, "{id} changed without a version bump");
            }
        }
        // Invariant: an old snapshot never changes.
        for (snap, at) in &snapshots {
            assert_agree(snap, at);
        }
        for (snap, at) in &owned_snapshots {
            assert_eq!(
                &render(snap),
                at,
                "an in-place change reached an owned snapshot"
            );
        }
    }
    // Replay rebuilds the final state exactly.
    let replayed = replay(&initial, journal.log()).unwrap();
    assert_agree(&replayed, &oracle);
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000),
        ..ProptestConfig::default()
    })]

    #[test]
    fn cell_state_agrees_with_oracle(
        kinds in prop::collection::vec(0u8..3, 3..9),
        policy in prop::sample::select(VersionPolicy::ALL.to_vec()),
        ops in prop::collection::vec(op(), 1..40),
    ) {
        run(kinds, policy, ops);
    }
}
