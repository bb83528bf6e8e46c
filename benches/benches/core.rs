//! Criterion benchmarks of omega-core: snapshot clone, commit, machine failure.
fn main() {}
