//! docs/integration.md's examples are files of the crates `examples/guide` and
//! `examples/guide-vpay88`, which CI builds and tests as a merchant's crates
//! (`cargo xtask guide`). A code block right under `<!-- file: PATH -->` is
//! that whole file; under `<!-- file: PATH [TABLE] -->`, that table of a
//! Cargo.toml, from its header to the next. Run with `PAYBRIDGE_BLESS=1` to
//! rewrite the guide's blocks from the files after changing an example.

use std::path::{Path, PathBuf};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
const GUIDE: &str = "docs/integration.md";
const CRATES: [&str; 2] = ["examples/guide", "examples/guide-vpay88"];
const MARK: &str = "<!-- file: ";

/// One marked block: the file (and table) it shows, and where its text lies in the guide.
struct Block {
    path: String,
    table: Option<String>,
    text: std::ops::Range<usize>,
}

/// Every marked block, in order; panics on a mark with no fenced block under it.
fn blocks(guide: &str) -> Vec<Block> {
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(start) = guide[at..].find(MARK).map(|i| at + i) {
        let line_end = start + guide[start..].find('\n').expect("a mark ends its line");
        let mark = guide[start + MARK.len()..line_end]
            .strip_suffix(" -->")
            .unwrap_or_else(|| panic!("{GUIDE}: a file mark ends with ' -->'"));
        let (path, table) = match mark.split_once(' ') {
            Some((path, table)) => (path, Some(table.to_owned())),
            None => (mark, None),
        };
        let fence = &guide[line_end + 1..];
        assert!(
            fence.starts_with("```") && fence.find('\n').is_some(),
            "{GUIDE}: the mark for {path} is not right above a fenced block"
        );
        let text_start = line_end + 1 + fence.find('\n').unwrap() + 1;
        let rest = &guide[text_start..];
        let text_end = text_start
            + if rest.starts_with("```\n") {
                0
            } else {
                rest.find("\n```\n")
                    .unwrap_or_else(|| panic!("{GUIDE}: the block for {path} is not closed"))
                    + 1
            };
        found.push(Block {
            path: path.to_owned(),
            table,
            text: text_start..text_end,
        });
        at = text_end;
    }
    found
}

/// A Cargo.toml's table `header` (`[dependencies]`), header included, up to the
/// next table, without the blank and comment lines above that one (they are its own).
fn table(manifest: &str, header: &str) -> Option<String> {
    let mut lines = manifest.lines().skip_while(|line| *line != header);
    let first = lines.next()?;
    let rest: Vec<&str> = lines.take_while(|line| !line.starts_with('[')).collect();
    let above_next = |line: &&&str| line.trim().is_empty() || line.starts_with('#');
    let kept = rest.len() - rest.iter().rev().take_while(above_next).count();
    let text: Vec<&str> = std::iter::once(first)
        .chain(rest[..kept].iter().copied())
        .collect();
    Some(text.join("\n") + "\n")
}

/// What a block should show: its file, or the table of it.
fn shown(block: &Block) -> String {
    let path = Path::new(ROOT).join(&block.path);
    let file = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", block.path));
    match &block.table {
        Some(header) => {
            table(&file, header).unwrap_or_else(|| panic!("{} has no table {header}", block.path))
        }
        None => file,
    }
}

/// Every Rust file of the examples' crates, but each crate's `src/lib.rs`, which
/// only names the modules.
fn example_files() -> Vec<String> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    for krate in CRATES {
        for dir in ["src", "tests"] {
            let dir = Path::new(ROOT).join(krate).join(dir);
            if dir.exists() {
                walk(&dir, &mut found);
            }
        }
    }
    let root = Path::new(ROOT);
    let mut files: Vec<String> = found
        .iter()
        .map(|p| {
            p.strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .filter(|p| !p.ends_with("/src/lib.rs"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_example_in_the_guide_is_a_file_the_examples_build() {
    let path = Path::new(ROOT).join(GUIDE);
    let guide = std::fs::read_to_string(&path).unwrap();
    let blocks = blocks(&guide);
    let differing: Vec<&Block> = blocks
        .iter()
        .filter(|b| guide[b.text.clone()] != shown(b))
        .collect();
    if !differing.is_empty() && std::env::var_os("PAYBRIDGE_BLESS").is_some() {
        let mut blessed = guide.clone();
        for block in blocks.iter().rev() {
            blessed.replace_range(block.text.clone(), &shown(block));
        }
        std::fs::write(&path, blessed).unwrap();
        return;
    }
    let names: Vec<&str> = differing.iter().map(|b| b.path.as_str()).collect();
    assert!(
        names.is_empty(),
        "{GUIDE}'s blocks for {names:?} differ from the files; rerun with PAYBRIDGE_BLESS=1"
    );
}

#[test]
fn every_rust_block_of_the_guide_is_marked_and_every_example_file_shown() {
    let guide = std::fs::read_to_string(Path::new(ROOT).join(GUIDE)).unwrap();
    let lines: Vec<&str> = guide.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with("```rust") {
            assert!(
                i > 0 && lines[i - 1].starts_with(MARK),
                "{GUIDE}:{}: a Rust block with no file mark is compiled by nothing",
                i + 1
            );
        }
    }
    let shown: Vec<String> = blocks(&guide)
        .into_iter()
        .filter(|b| b.table.is_none())
        .map(|b| b.path)
        .collect();
    for file in example_files() {
        assert!(
            shown.contains(&file),
            "{file} is an example the guide does not show"
        );
    }
}

/// `(name, version)` of every package a Cargo.lock holds.
fn locked(lock: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(Path::new(ROOT).join(lock)).unwrap();
    let value = |line: &str, key: &str| {
        line.strip_prefix(key)
            .map(|v| v.trim_matches('"').to_owned())
    };
    let lines: Vec<&str> = text.lines().collect();
    lines
        .windows(2)
        .filter_map(|pair| Some((value(pair[0], "name = ")?, value(pair[1], "version = ")?)))
        .collect()
}

#[test]
fn the_examples_build_with_the_versions_the_workspace_tests() {
    let workspace = locked("Cargo.lock");
    for krate in CRATES {
        let own = format!("paybridge-{}", krate.trim_start_matches("examples/"));
        for package in locked(&format!("{krate}/Cargo.lock")) {
            assert!(
                package.0 == own || workspace.contains(&package),
                "{krate}/Cargo.lock holds {package:?}, which the workspace's Cargo.lock does not"
            );
        }
    }
}
