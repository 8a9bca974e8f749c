// The same switch as the test harness: see `tests/build.rs`.
include!("../tests/build.rs");
