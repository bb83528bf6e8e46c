//! Shared fixtures of the integration tests: the fixed 12-machine heterogeneous cell and a
//! readable text rendering of decisions.

#![allow(dead_code, clippy::unwrap_used, clippy::type_complexity)]

use std::fmt::Write;

use omega_core::*;
use omega_schedulers::{Decision, TaskExplanation};

pub const GIB: u64 = 1024;

/// The fixed cell of the snapshot tests: 4 x A (8 cores, 16 GiB), 4 x B (16 cores, 32 GiB),
/// 4 x C (8 cores, 2 GPUs, 32 GiB; m8/m9 T4, m10/m11 A100), machine i in rack i % 3;
/// `ssd` on m4, m5 and m10; m7 down; some machines loaded (see `LOAD`).
pub fn fixed_cell() -> CellState {
    let machines = (0..12u32).map(|i| {
        let rack = FailureDomain(i % 3);
        let m = match i / 4 {
            0 => Machine::new("A", 8_000, 16 * GIB, rack),
            1 => Machine::new("B", 16_000, 32 * GIB, rack),
            _ => Machine::new("C", 8_000, 32 * GIB, rack)
                .with_gpus(2, if i < 10 { "T4" } else { "A100" }),
        };
        if matches!(i, 4 | 5 | 10) {
            m.with_label("ssd")
        } else {
            m
        }
    });
    let mut cell = CellState::new(machines).unwrap();
    for &(job, task, machine, cpu, gpu, mem, gpus, prio) in LOAD {
        let mut txn = Transaction::new(JobId(job));
        txn.push(
            Claim::new(
                TaskId::new(JobId(job), task),
                MachineId(machine),
                Resources::new(cpu, gpu, mem),
                0,
            )
            .with_gpus(GpuDevices(gpus))
            .with_priority(Priority(prio)),
        );
        let commit = cell.commit(&txn);
        assert_eq!(commit.accepted, vec![0], "fixture load must fit");
        cell = commit.state;
    }
    cell.fail_machine(MachineId(7)).unwrap().0
}

/// (job, task, machine, cpu_milli, gpu_milli, mem_mib, device mask, priority)
pub const LOAD: &[(u64, u32, u32, u64, u64, u64, u8, u32)] = &[
    (100, 0, 0, 6_000, 0, 8 * GIB, 0, 0),  // m0 (A): 6 of 8 cores
    (101, 0, 4, 8_000, 0, 16 * GIB, 0, 1), // m4 (B): half, priority 1
    (102, 0, 5, 6_000, 0, 12 * GIB, 0, 0), // m5 (B): two priority-0 tasks
    (102, 1, 5, 6_000, 0, 12 * GIB, 0, 0),
    (103, 0, 8, 2_000, 500, 8 * GIB, 0b01, 0), // m8 (C): half of device 0
    (104, 0, 9, 4_000, 1_000, 8 * GIB, 0b10, 2), // m9 (C): all of device 1
    (105, 0, 10, 1_000, 750, 4 * GIB, 0b01, 0), // m10 (C): 3/4 of device 0
    (106, 0, 2, 2_000, 0, 4 * GIB, 0, 5),      // m2 (A): priority 5
];

/// One line per machine: the cell as the snapshot tests see it.
pub fn describe_cell(cell: &CellState) -> String {
    let mut s =
        String::from("machine type rack  up    free cpu/gpu/mem      devices free   labels\n");
    for m in cell.machines() {
        let f = m.free();
        let labels: Vec<&str> = m.spec.labels.iter().map(String::as_str).collect();
        let _ = writeln!(
            s,
            "{:<7} {:<4} {:<5} {:<5} {:>5}m {:>4}m {:>5} MiB  {:<13} {}",
            m.id.to_string(),
            m.spec.type_name,
            m.spec.failure_domain.to_string(),
            if m.is_up() { "up" } else { "down" },
            f.cpu_milli,
            f.gpu_milli,
            f.mem_mib,
            format!("{:?}", m.gpu_free_milli()),
            labels.join(","),
        );
    }
    s
}

fn machine_cell(cell: &CellState, m: MachineId) -> String {
    let spec = cell.spec(m).unwrap();
    format!("{} ({}, {})", m, spec.type_name, spec.failure_domain)
}

fn devices(g: GpuDevices) -> String {
    if g.is_empty() {
        "-".into()
    } else {
        g.iter()
            .map(|d| format!("gpu{d}"))
            .collect::<Vec<_>>()
            .join("+")
    }
}

/// The decision as a table: one row per claim.
pub fn describe_decision(cell: &CellState, d: &Decision) -> String {
    let t = &d.transaction;
    let mut s = format!(
        "commit: {:?}, conflicts: {:?}, think_time_us: {}, claims: {}, unplaced: {}, \
         preemptions: {}, extra_workers: {}, task_duration_us: {:?}\n",
        t.commit,
        t.conflicts,
        d.think_time_us,
        t.claims.len(),
        d.stats.unplaced,
        d.stats.preemptions,
        d.extra_workers,
        d.task_duration_us,
    );
    if !t.claims.is_empty() {
        s.push_str("task    machine           gpus       seen_version  priority  preempts\n");
    }
    for c in &t.claims {
        let victims: Vec<String> = c.preempts.iter().map(|v| v.to_string()).collect();
        let _ = writeln!(
            s,
            "{:<7} {:<17} {:<10} {:<13} {:<9} {}",
            c.task.to_string(),
            machine_cell(cell, c.machine),
            devices(c.gpus),
            c.seen_version,
            c.priority.0,
            if victims.is_empty() {
                "-".into()
            } else {
                victims.join(",")
            },
        );
    }
    s
}

/// The service policy's explanation: per task, the pick and the top candidates' scores.
pub fn describe_explanation(cell: &CellState, tasks: &[TaskExplanation]) -> String {
    let mut s = String::new();
    for t in tasks {
        let pick = t.machine.map_or("none".into(), |m| machine_cell(cell, m));
        let victims: Vec<String> = t.preempts.iter().map(|v| v.to_string()).collect();
        let _ = writeln!(
            s,
            "task {} -> {} {} (scored {}){}",
            t.task,
            pick,
            devices(t.gpus),
            t.candidates_scored,
            if victims.is_empty() {
                String::new()
            } else {
                format!(" preempting {}", victims.join(","))
            },
        );
        if !t.top.is_empty() {
            s.push_str("  machine           gpus    fit balance spread gpu_keep gpu_frag  total\n");
        }
        for c in &t.top {
            let b = c.score;
            let _ = writeln!(
                s,
                "  {:<17} {:<7} {:>3} {:>7} {:>6} {:>8} {:>8} {:>6}",
                machine_cell(cell, c.machine),
                devices(c.gpus),
                b.fit,
                b.balance,
                b.spread,
                b.gpu_keep_free,
                b.gpu_fragmentation,
                b.total,
            );
        }
    }
    s
}

/// A job of `tasks` identical tasks.
pub fn job(id: u64, class: &str, tasks: u32, cpu: u64, gpu: u64, mem: u64) -> Job {
    Job::new(
        JobId(id),
        class,
        tasks,
        Resources::new(cpu, gpu, mem),
        60_000_000,
    )
}
