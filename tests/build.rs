// `OFFBOARDING_TESTS` leaves parts of the suite out, only when asked: `sqlite-only` (no
// PostgreSQL and Redis on this machine) and `no-browser` (no Chromium), comma-separated. The
// tests left out are built as ignored, so cargo's summary counts them. Unset, every test runs,
// and one whose service or browser is missing fails, saying what to install.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(offboarding_sqlite_only)");
    println!("cargo::rustc-check-cfg=cfg(offboarding_no_browser)");
    println!("cargo::rerun-if-env-changed=OFFBOARDING_TESTS");
    println!("cargo::rerun-if-env-changed=CI");
    let asked = std::env::var("OFFBOARDING_TESTS").unwrap_or_default();
    let ci = std::env::var("CI").is_ok_and(|ci| ci == "true" || ci == "1");
    for part in asked
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
    {
        assert!(
            !ci,
            "CI runs every test: unset OFFBOARDING_TESTS (it is {asked:?})"
        );
        match part {
            "sqlite-only" => println!("cargo::rustc-cfg=offboarding_sqlite_only"),
            "no-browser" => println!("cargo::rustc-cfg=offboarding_no_browser"),
            other => {
                panic!("OFFBOARDING_TESTS lists `sqlite-only` and/or `no-browser`, not {other:?}")
            }
        }
    }
}
