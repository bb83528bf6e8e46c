//! Helpers shared by the trace tests.

#![allow(dead_code)] // each test binary uses its own part

use std::path::PathBuf;

use omega_workload::trace::{Trace, TraceError};

/// One second in µs.
pub const S: u64 = 1_000_000;

/// The fixture `name` under `tests/data`.
pub fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Asserts that `got` is a parse error at (`file`, `line`, `column`) whose "expected" text
/// contains `expected`; `input` names the case in failure messages.
pub fn assert_parse_error(
    got: Result<Trace, TraceError>,
    at: (&str, u64, usize),
    expected: &str,
    input: &str,
) {
    match got {
        Err(TraceError::Parse {
            file,
            line,
            column,
            expected: e,
            ..
        }) => {
            assert_eq!((file.as_str(), line, column), at, "{input}");
            assert!(e.contains(expected), "{e:?} for {input}");
        }
        other => panic!("{input}: expected a parse error, got {other:?}"),
    }
}
