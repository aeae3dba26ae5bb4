//! `cargo xtask package`: what publishing needs, short of publishing: every
//! publishable crate packaged and verified (built from its package alone,
//! against the others' packages), each package carrying its README and both
//! licence texts, and the docs docs.rs would build, warnings denied.
//!
//! `cargo xtask guide`: the guide's examples built and tested as a merchant's
//! crates, outside the workspace, with warnings denied.

use std::path::Path;

use serde_json::Value;

use crate::{cargo, root, run};

/// Files every package must carry.
const CARRIED: [&str; 3] = ["README.md", "LICENSE-MIT", "LICENSE-APACHE"];

/// The crates outside the repository's workspace that docs/integration.md shows.
const GUIDE_CRATES: [&str; 2] = ["examples/guide", "examples/guide-vpay88"];

pub fn package() -> Result<(), String> {
    let Crates {
        publishable,
        unpublished,
    } = workspace_crates()?;
    let target = root().join("target/package-verify");
    forget_earlier_packages(&publishable, &target)?;
    // One invocation, so a crate is verified against its dependencies' new
    // packages (cargo serves them from a local overlay) rather than the registry.
    let mut packaging = cargo();
    // Dirty: the check is of what would be published, uncommitted changes included.
    packaging.args(["package", "--workspace", "--allow-dirty", "--target-dir"]);
    packaging.arg(&target);
    for name in &unpublished {
        packaging.args(["--exclude", name]);
    }
    run(&mut packaging)?;
    for (name, _) in &publishable {
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

/// Cargo takes a registry package as never changing under its version: it
/// unpacks each package of its local overlay into its home's `registry/src`
/// once, and keeps its build as fresh. These packages do change under one
/// version, so a second run would verify a crate against its dependencies'
/// earlier code (seen after a rebase). Their unpacked copies and, in the
/// verification's own target directory, their builds' fingerprints are
/// dropped, so cargo unpacks and builds this run's.
fn forget_earlier_packages(publishable: &[(String, String)], target: &Path) -> Result<(), String> {
    let remove = |path: &Path| -> Result<(), String> {
        match std::fs::remove_dir_all(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(format!("removing {}: {e}", path.display()))
            }
            _ => Ok(()),
        }
    };
    if let Ok(builds) = std::fs::read_dir(target.join("debug/.fingerprint")) {
        for build in builds.filter_map(Result::ok) {
            if build.file_name().to_string_lossy().starts_with("paybridge") {
                remove(&build.path())?;
            }
        }
    }
    let home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
        .ok_or("neither CARGO_HOME nor HOME is set")?;
    let Ok(sources) = std::fs::read_dir(home.join("registry/src")) else {
        return Ok(()); // nothing unpacked yet
    };
    for source in sources.filter_map(Result::ok) {
        for (name, version) in publishable {
            remove(&source.path().join(format!("{name}-{version}")))?;
        }
    }
    Ok(())
}

/// The workspace's crates as a registry sees them.
struct Crates {
    /// Name and version of each crate a registry would take.
    publishable: Vec<(String, String)>,
    /// The names of those marked `publish = false`.
    unpublished: Vec<String>,
}

fn workspace_crates() -> Result<Crates, String> {
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
    let text = |package: &Value, key: &str| package[key].as_str().map(str::to_owned);
    Ok(Crates {
        publishable: publishable
            .iter()
            .filter_map(|p| Some((text(p, "name")?, text(p, "version")?)))
            .collect(),
        unpublished: unpublished.iter().filter_map(|p| text(p, "name")).collect(),
    })
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
