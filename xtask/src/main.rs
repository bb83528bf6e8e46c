//! `cargo xtask`: the single entry point for project chores (tidy for now).
fn main() {}
