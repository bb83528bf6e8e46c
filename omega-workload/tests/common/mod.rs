//! Helpers shared by the trace tests.

use omega_workload::trace::{Trace, TraceError};

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
