//! The browser the suite drives: Debian's Chromium through playwright-core, from a Node.js script
//! in `tests/browser` that prints one JSON object of what it saw, for a Rust test to judge.
//! `.ci/run` installs them; without them a browser test fails, saying what to install, unless
//! the suite was built with `OFFBOARDING_TESTS=no-browser`.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::Answer;

pub const CHROMIUM: &str = "/usr/bin/chromium";

/// The scripts' folder, or what is missing to run them.
pub fn tools() -> Result<PathBuf, String> {
    let script_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser");
    if !Path::new(CHROMIUM).exists() {
        return Err(format!("Chromium at {CHROMIUM} (apt-get install chromium)"));
    }
    for package in [
        "playwright-core",
        "axe-core",
        "graphql-http",
        "@apollo/client",
        "esbuild",
    ] {
        if !script_dir.join("node_modules").join(package).exists() {
            return Err(format!(
                "{package} in tests/browser (npm ci --prefix tests/browser)"
            ));
        }
    }
    if std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_err()
    {
        return Err("Node.js (node on the PATH)".into());
    }
    Ok(script_dir)
}

/// Runs `tests/browser/<script>` with these settings (and `chromium`), and returns what it
/// printed last. The API under test runs on the caller's runtime meanwhile: the browser is
/// waited for on a blocking thread.
pub async fn run(script: &str, mut settings: Value) -> Answer {
    let script_dir = tools().unwrap_or_else(|missing| {
        panic!(
            "the browser test needs {missing}; or build the suite with OFFBOARDING_TESTS=no-browser"
        )
    });
    settings["chromium"] = CHROMIUM.into();
    let script = script_dir.join(script);
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg(script)
            .arg(settings.to_string())
            .current_dir(script_dir)
            .output()
    })
    .await
    .expect("the browser thread finishes")
    .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the browser script failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|_| panic!("the script's answer: {stdout}"))
}
