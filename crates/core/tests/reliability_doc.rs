//! docs/reliability.md shows the outcome table as the code has it. Run with
//! `PAYBRIDGE_BLESS=1` to rewrite the table there after changing the code.

use paybridge_core::outcome::table_markdown;

const START: &str = "<!-- outcome-table:start (generated from paybridge_core::outcome; PAYBRIDGE_BLESS=1 cargo test -p paybridge-core --test reliability_doc rewrites it) -->\n";
const END: &str = "<!-- outcome-table:end -->";

#[test]
fn the_documented_outcome_table_is_the_code_s() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/reliability.md");
    let doc = std::fs::read_to_string(path).unwrap();
    let (before, rest) = doc
        .split_once(START)
        .expect("docs/reliability.md has the outcome-table start marker");
    let (documented, after) = rest
        .split_once(END)
        .expect("docs/reliability.md has the outcome-table end marker");
    let generated = table_markdown();
    if documented != generated && std::env::var_os("PAYBRIDGE_BLESS").is_some() {
        std::fs::write(path, format!("{before}{START}{generated}{END}{after}")).unwrap();
        return;
    }
    assert_eq!(
        documented, generated,
        "docs/reliability.md's outcome table differs from the code; rerun with PAYBRIDGE_BLESS=1"
    );
}
