//! `cargo xtask`: the single entry point for project chores.
//!
//! - `cargo xtask tidy`: formatting check, clippy with `-D warnings`, and a check that
//!   every `.rs` file opens with a `//!` doc comment.

mod tidy;

use clap::{Parser, Subcommand};

/// Chores for the omega workspace.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "Chores for the omega workspace")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check formatting, lints and module docs (what CI checks first).
    Tidy,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Tidy => tidy::run(),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
