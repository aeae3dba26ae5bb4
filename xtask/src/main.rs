//! Project automation, run as `cargo xtask <task>`.
//!
//! - `test`: installs what the tests need on a fresh machine (Chromium and its
//!   driver, and PostgreSQL, from Debian's packages), then runs every test, doctests included,
//!   and checks the committed recordings for drift (`fixtures --check`).
//! - `bench [--quick]`: every benchmark, written to `docs/benchmarks.md`; with
//!   `--quick`, at smaller sizes, written to `benchmarks-quick.md` in the target
//!   directory instead (a proof that the benches run, not figures).
//! - `fixtures [--check]`: records every adapter operation against the sandbox
//!   into `fixtures/sandbox/` (see `fixtures.rs` for recording a real provider);
//!   with `--check`, records again and reports drift from the committed files.
//! - `package`: every publishable crate packaged and verified, and the docs
//!   built with warnings denied (`package.rs`).
//! - `guide`: the guide's examples built and tested as a merchant's crates;
//!   `test` runs it too.

mod bench;
mod bench_report;
mod fixtures;
mod ledger_bench;
mod package;
mod scale;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(&args[1..]),
        Some("package") => package::package(),
        Some("guide") => package::guide(),
        Some("bench") => ensure_browser_and_database()
            .and_then(|()| bench::bench(args.iter().any(|a| a == "--quick"))),
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
                "usage: cargo xtask <test [cargo test args...] | fixtures [--check] | package | guide | bench [--quick]>"
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

/// Where cargo puts what it builds, as cargo itself says (`cargo metadata`),
/// so that `CARGO_TARGET_DIR` and a configured `build.target-dir` are
/// honoured. Asked once.
fn target_dir() -> Result<PathBuf, String> {
    static TARGET: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    TARGET
        .get_or_init(|| {
            let out = cargo()
                .args(["metadata", "--format-version", "1", "--no-deps"])
                .stderr(std::process::Stdio::inherit())
                .output()
                .map_err(|e| format!("could not start cargo metadata: {e}"))?;
            if !out.status.success() {
                return Err(format!("cargo metadata failed with {}", out.status));
            }
            let metadata: serde_json::Value =
                serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata: {e}"))?;
            metadata["target_directory"]
                .as_str()
                .map(PathBuf::from)
                .ok_or_else(|| "cargo metadata names no target_directory".to_owned())
        })
        .clone()
}

/// A program of the workspace's release build.
fn release_binary(name: &str) -> Result<PathBuf, String> {
    Ok(target_dir()?.join("release").join(name))
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

/// Whether Debian's PostgreSQL server programs are installed.
fn has_postgres() -> bool {
    std::fs::read_dir("/usr/lib/postgresql")
        .map(|versions| {
            versions
                .filter_map(Result::ok)
                .any(|v| v.path().join("bin/initdb").exists())
        })
        .unwrap_or(false)
}

/// Whether `program` runs (`--version`).
fn runs(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Installs Debian's chromium and chromium-driver, postgresql, and the
/// interpreters the client examples and webhook verifiers run on (python3 with
/// pip, nodejs with npm, php-cli with php-curl), when missing.
fn ensure_browser_and_database() -> Result<(), String> {
    let mut packages = Vec::new();
    if !(Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists()) {
        packages.extend(["chromium", "chromium-driver"]);
    }
    if !has_postgres() {
        packages.push("postgresql");
    }
    if !runs("python3") || !(runs("pip3") || runs("pip")) {
        packages.extend(["python3", "python3-pip"]);
    }
    if !runs("node") || !runs("npm") {
        packages.extend(["nodejs", "npm"]);
    }
    if !runs("php") {
        packages.extend(["php-cli", "php-curl"]);
    }
    if packages.is_empty() {
        return Ok(());
    }
    eprintln!(
        "xtask: installing {} for the browser and database tests",
        packages.join(", ")
    );
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
    let mut install = vec!["install", "-y", "-qq"];
    install.extend(&packages);
    apt(&install)?;
    if !(Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists()) {
        return Err("chromium or chromedriver is still missing after installing".into());
    }
    if !has_postgres() {
        return Err("postgresql's server is still missing after installing".into());
    }
    Ok(())
}

/// The Standard Webhooks libraries for Python and Node and openapi-spec-validator, at pinned versions,
/// installed under the target directory (never system-wide); their folder.
fn ensure_verifiers() -> Result<PathBuf, String> {
    let dir = target_dir()?.join("verifiers");
    let python = dir.join("python");
    if !(python.join("standardwebhooks").exists() && python.join("openapi_spec_validator").exists())
    {
        eprintln!(
            "xtask: installing the Python Standard Webhooks library and openapi-spec-validator"
        );
        let pip = if runs("pip3") { "pip3" } else { "pip" };
        run(Command::new(pip)
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
            .env("PIP_ROOT_USER_ACTION", "ignore")
            .args(["install", "--quiet", "--target"])
            .arg(&python)
            .args(["standardwebhooks==1.1.0", "openapi-spec-validator==0.7.1"]))?;
    }
    let node = dir.join("node");
    if !node.join("node_modules/standardwebhooks").exists() {
        eprintln!("xtask: installing the Node Standard Webhooks library for the webhook tests");
        std::fs::create_dir_all(&node).map_err(|e| format!("{}: {e}", node.display()))?;
        run(Command::new("npm")
            .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
            .arg(&node)
            .arg("standardwebhooks@1.1.1"))?;
    }
    Ok(dir)
}

fn test(extra: &[String]) -> Result<(), String> {
    ensure_browser_and_database()?;
    let verifiers = ensure_verifiers()?;
    // Here the browser, database and verifier tests may not skip: their absence is a failure.
    run(cargo()
        .env("PAYBRIDGE_REQUIRE_BROWSER", "1")
        .env("PAYBRIDGE_REQUIRE_POSTGRES", "1")
        .env("PAYBRIDGE_REQUIRE_VERIFIERS", "1")
        .env("PAYBRIDGE_REQUIRE_CLIENTS", "1")
        .env("PAYBRIDGE_VERIFIERS", &verifiers)
        .args(["test", "--workspace", "--all-targets"])
        .args(extra))?;
    run(cargo().args(["test", "--workspace", "--doc"]))?;
    // The ledger with one backend built in refuses the other's URLs by name.
    run(cargo().args([
        "test",
        "-p",
        "paybridge-ledger",
        "--no-default-features",
        "--features",
        "sqlite",
        "--test",
        "one_backend",
    ]))?;
    // The committed recordings must still be what the code records.
    tokio::runtime::Runtime::new()
        .map_err(|e| e.to_string())
        .and_then(|rt| rt.block_on(fixtures::record(&root(), true)))?;
    package::guide()
}
