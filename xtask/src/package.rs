//! `cargo xtask package`: what publishing needs, short of publishing: every
//! publishable crate packaged and verified (built from its package alone,
//! against the others' packages), each package carrying its README and both
//! licence texts, and the docs docs.rs would build, warnings denied.
//!
//! `cargo xtask guide`: the guide's examples built and tested as a merchant's
//! crates, outside the workspace, with warnings denied.

use serde_json::Value;

use crate::{cargo, root, run};

/// Files every package must carry.
const CARRIED: [&str; 3] = ["README.md", "LICENSE-MIT", "LICENSE-APACHE"];

/// The crates outside the repository's workspace that docs/integration.md shows.
const GUIDE_CRATES: [&str; 2] = ["examples/guide", "examples/guide-vpay88"];

pub fn package() -> Result<(), String> {
    let (publishable, unpublished) = workspace_crates()?;
    // One invocation, so a crate is verified against its dependencies' new
    // packages (cargo serves them from a local overlay) rather than the registry.
    let mut packaging = cargo();
    // Dirty: the check is of what would be published, uncommitted changes included.
    packaging.args(["package", "--workspace", "--allow-dirty"]);
    for name in &unpublished {
        packaging.args(["--exclude", name]);
    }
    run(&mut packaging)?;
    for name in &publishable {
        let output = cargo()
            .args(["package", "--list", "--allow-dirty", "-p", name])
            .output()
            .map_err(|e| format!("cargo package --list: {e}"))?;
        let listed = String::from_utf8_lossy(&output.stdout);
        for file in CARRIED {
            if !listed.lines().any(|line| line == file) {
                return Err(format!("the package of {name} does not carry {file}"));
            }
        }
    }
    run(cargo().env("RUSTDOCFLAGS", "-D warnings").args([
        "doc",
        "--workspace",
        "--no-deps",
        "--all-features",
    ]))
}

/// The workspace's crates by name: those a registry would take, and those
/// marked `publish = false`.
fn workspace_crates() -> Result<(Vec<String>, Vec<String>), String> {
    let output = cargo()
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .output()
        .map_err(|e| format!("cargo metadata: {e}"))?;
    let metadata: Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("cargo metadata's answer: {e}"))?;
    let packages = metadata["packages"].as_array().cloned().unwrap_or_default();
    let (publishable, unpublished): (Vec<&Value>, Vec<&Value>) = packages
        .iter()
        .partition(|p| p["publish"].as_array().is_none_or(|to| !to.is_empty()));
    let names = |list: Vec<&Value>| -> Vec<String> {
        list.iter()
            .filter_map(|p| p["name"].as_str().map(str::to_owned))
            .collect()
    };
    Ok((names(publishable), names(unpublished)))
}

pub fn guide() -> Result<(), String> {
    // A target directory of their own: their dependencies build with other
    // features and flags than the workspace's, which would otherwise rebuild
    // each other's.
    let target = root().join("target/guide");
    for krate in GUIDE_CRATES {
        let manifest = root().join(krate).join("Cargo.toml");
        run(cargo()
            .args(["fmt", "--all", "--manifest-path"])
            .arg(&manifest)
            .args(["--", "--check"]))?;
        for task in ["build", "test"] {
            run(cargo()
                .env("RUSTFLAGS", "-D warnings")
                .env("CARGO_TARGET_DIR", &target)
                .arg(task)
                .arg("--manifest-path")
                .arg(&manifest)
                .args(["--locked", "--all-targets"]))?;
        }
    }
    Ok(())
}
