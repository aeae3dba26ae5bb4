//! docs/architecture.md's crate map against the crates' own manifests, as
//! `cargo metadata` reads them: every workspace crate is a row, and each row
//! lists exactly the workspace crates it depends on.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

type Map = BTreeMap<String, BTreeSet<String>>;

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The table's rows: `| `crate` | `dep`, `dep` |`.
fn documented() -> Map {
    let text = std::fs::read_to_string(root().join("docs/architecture.md")).unwrap();
    let mut map = Map::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.trim().trim_matches('|').split('|').collect();
        let [name, deps] = cells.as_slice() else {
            continue;
        };
        let name = name.trim();
        let Some(name) = name.strip_prefix('`').and_then(|n| n.strip_suffix('`')) else {
            continue;
        };
        let deps = deps
            .split(',')
            .map(|d| d.trim().trim_matches('`').to_owned())
            .filter(|d| !d.is_empty() && d != "(none)")
            .collect();
        assert!(
            map.insert(name.to_owned(), deps).is_none(),
            "{name} is listed twice"
        );
    }
    map
}

/// What the manifests say: each workspace member's normal dependencies on other members.
fn manifests() -> Map {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let packages = metadata["packages"].as_array().unwrap();
    let members: BTreeSet<String> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    packages
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"].is_null())
                .map(|d| d["name"].as_str().unwrap().to_owned())
                .filter(|d| members.contains(d))
                .collect();
            (p["name"].as_str().unwrap().to_owned(), deps)
        })
        .collect()
}

#[test]
fn the_crate_map_in_docs_architecture_md_is_what_the_manifests_say() {
    let documented = documented();
    let manifests = manifests();
    assert!(
        documented.contains_key("paybridge-core"),
        "the map has no rows: {documented:?}"
    );
    for (name, deps) in &manifests {
        assert_eq!(
            documented.get(name),
            Some(deps),
            "docs/architecture.md's row for {name}"
        );
    }
    for name in documented.keys() {
        assert!(
            manifests.contains_key(name),
            "docs/architecture.md maps {name}, which is no workspace crate"
        );
    }
}

#[test]
fn core_depends_on_no_wire_runtime_and_no_adapter() {
    let core = &manifests()["paybridge-core"];
    assert_eq!(
        core.iter().map(String::as_str).collect::<Vec<_>>(),
        ["paybridge-signing"]
    );
}
