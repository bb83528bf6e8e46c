//! The builds a sweep runs: this checkout's `xtask experiment` (the running binary) and,
//! with `--against REV`, that revision checked out in a temporary `git worktree` and built in
//! release with its own target dir (`target/bench-sweep/SHA/`, kept so that the next run
//! against the same revision builds nothing).
//!
//! A revision runs experiment files with `cargo xtask experiment --config FILE --out DIR`
//! where it has `xtask/src/experiment.rs`, else with the `run` example of
//! `omega-sim/examples/run.rs` (revisions before it, such as `ef03d24`), which writes no
//! output files and prints its counts; with neither it cannot run the sweep.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::BenchError;
use super::measure::tail;

/// How a build runs one experiment file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runner {
    /// `xtask experiment --config FILE --out DIR`; counts from `summary.json`.
    Xtask,
    /// `run FILE` (the `omega-sim` example); counts from its stdout.
    Example,
}

/// A built revision and how to run it.
#[derive(Clone, Debug)]
pub struct Build {
    /// What the tables call it (`this checkout (abc123)` or the revision's short id).
    pub label: String,
    /// Its runner.
    pub runner: Runner,
    /// The runner's binary.
    pub bin: PathBuf,
}

impl Build {
    /// This checkout: the running `xtask` binary, whose `experiment` subcommand is the runner.
    pub fn current(root: &Path) -> Result<Self, BenchError> {
        let bin = std::env::current_exe().map_err(|source| BenchError::Io {
            path: PathBuf::from("the running xtask binary"),
            source,
        })?;
        let head = git(root, &["rev-parse", "--short=12", "HEAD"]).unwrap_or_default();
        Ok(Self {
            label: format!("this checkout ({})", head.trim()),
            runner: Runner::Xtask,
            bin,
        })
    }

    /// The command line that runs `file`, writing outputs (if the runner has any) to `out`.
    pub fn command(&self, file: &Path, out: &Path) -> Vec<OsString> {
        let mut cmd = vec![self.bin.clone().into_os_string()];
        match self.runner {
            Runner::Xtask => {
                cmd.extend(["experiment".into(), "--config".into()]);
                cmd.push(file.as_os_str().to_owned());
                cmd.push("--out".into());
                cmd.push(out.as_os_str().to_owned());
            }
            Runner::Example => cmd.push(file.as_os_str().to_owned()),
        }
        cmd
    }
}

/// A revision checked out and built; its worktree goes away when this is dropped.
#[derive(Debug)]
pub struct Revision {
    /// Its build.
    pub build: Build,
    /// Kept until the runs end: an `xtask` of the revision runs from its own tree.
    _worktree: Worktree,
}

/// Resolves `rev`, checks it out in a temporary worktree, detects its runner and builds
/// it in release.
pub fn prepare(root: &Path, rev: &str) -> Result<Revision, BenchError> {
    let sha = resolve(root, rev)?;
    let short = &sha[..12];
    let runner = detect_runner(root, &sha, rev)?;
    let path = std::env::temp_dir().join(format!("omega-bench-sweep-{short}"));
    let worktree = Worktree::add(root, &path, &sha)?;
    let target = root.join("target").join("bench-sweep").join(&sha);
    let (args, bin): (&[&str], PathBuf) = match runner {
        Runner::Xtask => (
            &["build", "--release", "-p", "xtask"],
            target.join("release").join("xtask"),
        ),
        Runner::Example => (
            &["build", "--release", "-p", "omega-sim", "--example", "run"],
            target.join("release").join("examples").join("run"),
        ),
    };
    eprintln!(
        "bench-sweep: building {rev} ({short}) in release: cargo {} (target {})",
        args.join(" "),
        target.display()
    );
    let output = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(args)
        .current_dir(&path)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .map_err(|source| BenchError::Io {
            path: PathBuf::from("cargo"),
            source,
        })?;
    if !output.status.success() || !bin.is_file() {
        return Err(BenchError::Command {
            what: format!("building {rev} ({short}): cargo {}", args.join(" ")),
            status: output.status.to_string(),
            stderr_tail: tail(&output.stderr),
        });
    }
    Ok(Revision {
        build: Build {
            label: rev.to_owned(),
            runner,
            bin,
        },
        _worktree: worktree,
    })
}

/// The full commit id of `rev`, or a clear error.
fn resolve(root: &Path, rev: &str) -> Result<String, BenchError> {
    let bad = |detail: &str| BenchError::BadRevision {
        rev: rev.to_owned(),
        detail: detail.to_owned(),
    };
    if rev.is_empty() || rev.starts_with('-') {
        return Err(bad("a revision is a commit, branch or tag name"));
    }
    let spec = format!("{rev}^{{commit}}");
    let sha = git(root, &["rev-parse", "--verify", "--quiet", &spec])
        .map_err(|_| bad("git knows no such commit"))?;
    let sha = sha.trim().to_owned();
    if sha.len() < 12 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad(&format!("git answered `{sha}`")));
    }
    Ok(sha)
}

/// Which runner the revision has.
fn detect_runner(root: &Path, sha: &str, rev: &str) -> Result<Runner, BenchError> {
    let has = |file: &str| git(root, &["cat-file", "-e", &format!("{sha}:{file}")]).is_ok();
    if has("xtask/src/experiment.rs") {
        Ok(Runner::Xtask)
    } else if has("omega-sim/examples/run.rs") {
        Ok(Runner::Example)
    } else {
        Err(BenchError::NoRunner {
            rev: rev.to_owned(),
        })
    }
}

/// Runs git in `root`; its stdout, or its stderr as the error.
fn git(root: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(root)
        .output()
        .map_err(|e| format!("git: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// A detached `git worktree`, removed (and pruned) when dropped, also after an error.
#[derive(Debug)]
struct Worktree {
    repo: PathBuf,
    path: PathBuf,
}

impl Worktree {
    fn add(repo: &Path, path: &Path, sha: &str) -> Result<Self, BenchError> {
        // A worktree left by a run that was killed: remove it first.
        let stale = Self {
            repo: repo.to_owned(),
            path: path.to_owned(),
        };
        drop(stale);
        let path_arg = path.to_string_lossy();
        git(repo, &["worktree", "add", "--detach", &path_arg, sha]).map_err(|stderr| {
            BenchError::Command {
                what: format!("git worktree add {path_arg} {sha}"),
                status: "failed".to_owned(),
                stderr_tail: stderr,
            }
        })?;
        Ok(Self {
            repo: repo.to_owned(),
            path: path.to_owned(),
        })
    }
}

impl Drop for Worktree {
    fn drop(&mut self) {
        let path = self.path.to_string_lossy();
        if self.path.exists() && git(&self.repo, &["worktree", "remove", "--force", &path]).is_err()
        {
            let _ = std::fs::remove_dir_all(&self.path);
        }
        let _ = git(&self.repo, &["worktree", "prune"]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        crate::experiment::workspace_root()
    }

    #[test]
    fn a_bad_revision_is_a_clear_error() {
        for rev in ["no-such-revision-anywhere", "--help", ""] {
            let err = resolve(&root(), rev).unwrap_err();
            assert!(matches!(err, BenchError::BadRevision { .. }), "{err}");
            assert!(err.to_string().contains("not a revision"), "{err}");
        }
    }

    #[test]
    fn head_resolves_and_has_the_xtask_runner() {
        let Ok(sha) = resolve(&root(), "HEAD") else {
            // Not a git checkout (a source tarball): nothing to resolve.
            return;
        };
        assert_eq!(sha.len(), 40);
        assert_eq!(detect_runner(&root(), &sha, "HEAD").unwrap(), Runner::Xtask);
    }

    #[test]
    fn a_revision_before_xtask_experiment_has_the_example_runner() {
        // ef03d24 is the sweep's reference; a shallow clone may not have it.
        let Ok(sha) = resolve(&root(), "ef03d24") else {
            return;
        };
        let runner = detect_runner(&root(), &sha, "ef03d24").unwrap();
        assert_eq!(runner, Runner::Example);
    }

    #[test]
    fn commands_follow_the_runner() {
        let xtask = Build {
            label: "new".to_owned(),
            runner: Runner::Xtask,
            bin: PathBuf::from("/b/xtask"),
        };
        let cmd = xtask.command(Path::new("/c/f.toml"), Path::new("/o"));
        let shown: Vec<_> = cmd
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            shown,
            [
                "/b/xtask",
                "experiment",
                "--config",
                "/c/f.toml",
                "--out",
                "/o"
            ]
        );
        let example = Build {
            runner: Runner::Example,
            bin: PathBuf::from("/b/run"),
            ..xtask
        };
        assert_eq!(
            example
                .command(Path::new("/c/f.toml"), Path::new("/o"))
                .len(),
            2
        );
    }
}
