//! Wall time and peak memory of one child process, measured from outside it.
//!
//! The bench re-runs its own binary as a thin wrapper (`xtask bench-sweep-measure --report
//! FILE -- PROGRAM ARGS...`) that starts the program, waits for it and then asks the kernel
//! for `getrusage(RUSAGE_CHILDREN)`: the wrapper has exactly one child, so `ru_maxrss` is
//! that program's peak resident set, whatever else runs beside it (`--jobs N` runs N
//! wrappers). Asking in the bench process itself would give the largest peak of all its
//! children so far, not the one just finished; `wait4` would give it per child but has no
//! safe wrapper in a maintained crate, and `unsafe` is forbidden here. `nix` gives
//! `getrusage` safely. The program's stdout and stderr pass through the wrapper untouched;
//! the wrapper writes its figures to the report file, in `key=value` lines.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use nix::sys::resource::{UsageWho, getrusage};

use super::BenchError;

/// Arguments of the hidden `xtask bench-sweep-measure`.
#[derive(Debug, clap::Args)]
pub struct MeasureArgs {
    /// Where to write the figures.
    #[arg(long, value_name = "FILE")]
    pub report: PathBuf,
    /// The program to run and its arguments.
    #[arg(last = true, required = true)]
    pub command: Vec<OsString>,
}

/// The wrapper: runs the program, then writes its wall time, peak memory and exit status.
pub fn wrapper(args: MeasureArgs) -> Result<(), Box<dyn std::error::Error>> {
    let Some((program, rest)) = args.command.split_first() else {
        return Err("bench-sweep-measure: no program given".into());
    };
    let started = Instant::now();
    let status = Command::new(program)
        .args(rest)
        .status()
        .map_err(|e| format!("{}: {e}", Path::new(program).display()))?;
    let wall_s = started.elapsed().as_secs_f64();
    let max_rss_kib = getrusage(UsageWho::RUSAGE_CHILDREN)?.max_rss();
    let report = Report {
        wall_s,
        max_rss_kib: u64::try_from(max_rss_kib).ok(),
        success: status.success(),
        status: status.to_string(),
    };
    std::fs::write(&args.report, report.to_text())
        .map_err(|e| format!("{}: {e}", args.report.display()))?;
    Ok(())
}

/// What the wrapper reports.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// Wall time of the program, in seconds.
    pub wall_s: f64,
    /// Its peak resident set, in KiB (Linux's unit of `ru_maxrss`).
    pub max_rss_kib: Option<u64>,
    /// Whether it exited with status 0.
    pub success: bool,
    /// Its exit status, as the platform says it.
    pub status: String,
}

impl Report {
    fn to_text(&self) -> String {
        let rss = self
            .max_rss_kib
            .map_or("none".to_owned(), |k| k.to_string());
        format!(
            "wall_s={}\nmax_rss_kib={rss}\nsuccess={}\nstatus={}\n",
            self.wall_s, self.success, self.status
        )
    }

    /// Reads a report the wrapper wrote.
    pub fn parse(text: &str) -> Result<Self, String> {
        let get = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                .ok_or_else(|| format!("the measurement report has no `{key}`"))
        };
        let wall_s = get("wall_s")?
            .parse::<f64>()
            .map_err(|e| format!("wall_s: {e}"))?;
        let max_rss_kib = match get("max_rss_kib")? {
            "none" => None,
            n => Some(n.parse::<u64>().map_err(|e| format!("max_rss_kib: {e}"))?),
        };
        let success = get("success")? == "true";
        let status = get("status")?.to_owned();
        Ok(Self {
            wall_s,
            max_rss_kib,
            success,
            status,
        })
    }

    /// The peak in MiB.
    pub fn peak_mib(&self) -> Option<f64> {
        self.max_rss_kib.map(|k| k as f64 / 1024.0)
    }
}

/// Runs `command` under the wrapper; returns the report and the program's captured output.
pub fn run_measured(command: &[OsString], report: &Path) -> Result<(Report, Output), BenchError> {
    let me = std::env::current_exe().map_err(|source| BenchError::Io {
        path: PathBuf::from("the running xtask binary"),
        source,
    })?;
    let _ = std::fs::remove_file(report);
    let output = Command::new(&me)
        .arg("bench-sweep-measure")
        .arg("--report")
        .arg(report)
        .arg("--")
        .args(command)
        .output()
        .map_err(|source| BenchError::Io {
            path: me.clone(),
            source,
        })?;
    let text = std::fs::read_to_string(report).map_err(|_| BenchError::Command {
        what: format!("measuring {}", shown(command)),
        status: output.status.to_string(),
        stderr_tail: tail(&output.stderr),
    });
    let _ = std::fs::remove_file(report);
    let parsed = Report::parse(&text?).map_err(|reason| BenchError::Command {
        what: format!("measuring {}", shown(command)),
        status: output.status.to_string(),
        stderr_tail: reason,
    })?;
    Ok((parsed, output))
}

/// A command line as one string, for messages.
pub fn shown(command: &[OsString]) -> String {
    command
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The last 20 lines of a captured stream.
pub fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(20);
    let shown = lines[from..].join("\n");
    if shown.trim().is_empty() {
        "(nothing on stderr)".to_owned()
    } else {
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_reads_back_what_was_written() {
        let report = Report {
            wall_s: 1.25,
            max_rss_kib: Some(10_412),
            success: false,
            status: "exit status: 3".to_owned(),
        };
        let back = Report::parse(&report.to_text()).unwrap();
        assert_eq!(back, report);
        assert_eq!(back.peak_mib(), Some(10_412.0 / 1024.0));
        let none = Report {
            max_rss_kib: None,
            ..report
        };
        assert_eq!(Report::parse(&none.to_text()).unwrap().max_rss_kib, None);
    }

    #[test]
    fn a_broken_report_is_an_error_naming_the_key() {
        let err = Report::parse("wall_s=1\nsuccess=true\nstatus=ok\n").unwrap_err();
        assert!(err.contains("max_rss_kib"), "{err}");
        assert!(Report::parse("wall_s=x\nmax_rss_kib=1\nsuccess=true\nstatus=ok").is_err());
    }

    #[test]
    fn the_wrapper_reports_a_failing_child_and_its_memory() {
        let report = std::env::temp_dir().join(format!("bench-sweep-test-{}", std::process::id()));
        let args = MeasureArgs {
            report: report.clone(),
            command: ["sh", "-c", "exit 3"].map(OsString::from).to_vec(),
        };
        wrapper(args).unwrap();
        let back = Report::parse(&std::fs::read_to_string(&report).unwrap()).unwrap();
        let _ = std::fs::remove_file(&report);
        assert!(!back.success);
        assert!(back.status.contains('3'), "{}", back.status);
        assert!(back.max_rss_kib.is_some_and(|k| k > 0), "{back:?}");
        assert!(back.wall_s >= 0.0);
    }

    #[test]
    fn a_program_that_does_not_exist_is_an_error_naming_it() {
        let args = MeasureArgs {
            report: std::env::temp_dir().join("bench-sweep-test-never-written"),
            command: vec![OsString::from("/no/such/program")],
        };
        let err = wrapper(args).unwrap_err();
        assert!(err.to_string().contains("/no/such/program"), "{err}");
    }

    #[test]
    fn the_tail_keeps_the_last_twenty_lines() {
        let text: String = (0..30).map(|i| format!("line {i}\n")).collect();
        let t = tail(text.as_bytes());
        assert!(t.starts_with("line 10\n") && t.ends_with("line 29"), "{t}");
        assert_eq!(tail(b""), "(nothing on stderr)");
    }
}
