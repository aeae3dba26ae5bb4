//! Project automation, run as `cargo xtask <task>`.
//!
//! - `test`: installs what the tests need on a fresh machine (Chromium and its
//!   driver, from Debian's packages), then runs every test, doctests included,
//!   and checks the committed recordings for drift (`fixtures --check`).
//! - `bench [--quick]`: every benchmark, written to `docs/benchmarks.md`.
//! - `fixtures [--check]`: records every adapter operation against the sandbox
//!   into `fixtures/sandbox/` (see `fixtures.rs` for recording a real provider);
//!   with `--check`, records again and reports drift from the committed files.

mod bench;
mod fixtures;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(&args[1..]),
        Some("bench") => bench::bench(args.iter().any(|a| a == "--quick")),
        Some("fixtures") => tokio::runtime::Runtime::new()
            .map_err(|e| e.to_string())
            .and_then(|rt| {
                rt.block_on(fixtures::record(
                    &root(),
                    args.iter().any(|a| a == "--check"),
                ))
            }),
        _ => {
            eprintln!(
                "usage: cargo xtask <test [cargo test args...] | fixtures [--check] | bench [--quick]>"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn run(command: &mut Command) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|e| format!("could not start {command:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{command:?} failed with {status}"))
    }
}

fn cargo() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(root());
    command
}

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Installs Debian's chromium and chromium-driver when they are missing.
fn ensure_browser() -> Result<(), String> {
    if Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists() {
        return Ok(());
    }
    eprintln!("xtask: installing chromium and chromium-driver for the browser test");
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let apt = |args: &[&str]| {
        let mut command = if is_root {
            Command::new("apt-get")
        } else {
            Command::new("sudo")
        };
        if !is_root {
            command.arg("apt-get");
        }
        command.env("DEBIAN_FRONTEND", "noninteractive").args(args);
        run(&mut command)
    };
    apt(&["update", "-qq"])?;
    apt(&["install", "-y", "-qq", "chromium", "chromium-driver"])?;
    if Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists() {
        Ok(())
    } else {
        Err("chromium or chromedriver is still missing after installing".into())
    }
}

fn test(extra: &[String]) -> Result<(), String> {
    ensure_browser()?;
    // Here the browser test may not skip: its absence is a failure.
    run(cargo()
        .env("PAYBRIDGE_REQUIRE_BROWSER", "1")
        .args(["test", "--workspace", "--all-targets"])
        .args(extra))?;
    run(cargo().args(["test", "--workspace", "--doc"]))?;
    // The committed recordings must still be what the code records.
    tokio::runtime::Runtime::new()
        .map_err(|e| e.to_string())
        .and_then(|rt| rt.block_on(fixtures::record(&root(), true)))
}
