//! `cargo xtask tidy`: rustfmt check, clippy with `-D warnings`, the module-doc rule and the
//! function-length rule.
//!
//! The module-doc rule (every `.rs` file opens with a `//!` comment saying what lives there)
//! and the function-length rule (no non-test function over 80 lines, [`crate::fn_length`])
//! are also unit tests, so `cargo test --workspace` enforces them.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::fn_length;

/// Runs every tidy check, stopping at the first failure.
pub fn run() -> Result<(), Box<dyn std::error::Error>> {
    let root = workspace_root();
    cargo(&root, &["fmt", "--all", "--", "--check"])?;
    cargo(
        &root,
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    let missing = files_without_module_docs(&root)?;
    if !missing.is_empty() {
        let list: Vec<String> = missing.iter().map(|p| p.display().to_string()).collect();
        return Err(format!(
            "these files do not open with a `//!` doc comment:\n  {}",
            list.join("\n  ")
        )
        .into());
    }
    let lengths = fn_length::check(&root, fn_length::ALLOWED_LONG_FNS)?;
    if !lengths.is_clean() {
        return Err(lengths.to_string().trim_end().to_owned().into());
    }
    println!(
        "tidy: fmt, clippy, module docs and function lengths are clean ({} allowed for now)",
        fn_length::ALLOWED_LONG_FNS.len()
    );
    Ok(())
}

fn cargo(root: &Path, args: &[&str]) -> Result<(), Box<dyn std::error::Error>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo).args(args).current_dir(root).status()?;
    if !status.success() {
        return Err(format!("`cargo {}` failed", args.join(" ")).into());
    }
    Ok(())
}

/// The workspace root (the parent of this crate's folder).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Every `.rs` file under `root` (outside `target/` and hidden folders) whose first
/// non-blank line is not a `//!` comment.
pub fn files_without_module_docs(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut missing = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.path());
        for entry in entries {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if entry.file_type()?.is_dir() {
                if !name.starts_with('.') && name != "target" {
                    stack.push(path);
                }
            } else if name.ends_with(".rs") {
                let text = std::fs::read_to_string(&path)?;
                let first = text.lines().find(|l| !l.trim().is_empty());
                if !first.is_some_and(|l| l.trim_start().starts_with("//!")) {
                    missing.push(path.strip_prefix(root).unwrap_or(&path).to_path_buf());
                }
            }
        }
    }
    missing.sort();
    Ok(missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rust_file_opens_with_a_module_doc_comment() {
        let missing = files_without_module_docs(&workspace_root()).unwrap();
        assert!(
            missing.is_empty(),
            "files without a `//!` header: {missing:?}"
        );
    }

    #[test]
    fn no_function_is_over_the_length_limit() {
        let report = fn_length::check(&workspace_root(), fn_length::ALLOWED_LONG_FNS).unwrap();
        assert!(report.is_clean(), "{report}");
    }

    #[test]
    fn the_check_notices_a_file_without_docs() {
        let dir = std::env::temp_dir().join(format!("omega-tidy-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(dir.join("src/good.rs"), "\n//! Documented.\nfn f() {}\n").unwrap();
        std::fs::write(dir.join("src/bad.rs"), "// A plain comment.\nfn f() {}\n").unwrap();
        let missing = files_without_module_docs(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(missing, vec![PathBuf::from("src/bad.rs")]);
    }
}
