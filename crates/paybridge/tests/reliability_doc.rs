//! docs/reliability.md shows the outcome table and every provider's refusal
//! table as the code has them. Run with `PAYBRIDGE_BLESS=1` to rewrite them
//! there after changing the code.

use paybridge::outcome::table_markdown;
use paybridge::refusal::RefusalTable;

const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/reliability.md");

/// Blessing rewrites the one file from two tests: one at a time.
static DOC_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Checks (or, blessed, rewrites) the generated section `name` of the document.
fn section_is_the_code_s(name: &str, generated: &str) {
    let _one_at_a_time = DOC_LOCK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    paybridge_testkit::generated_section_is(
        DOC,
        name,
        "cargo test -p paybridge --test reliability_doc",
        generated,
    );
}

#[test]
fn the_documented_outcome_table_is_the_code_s() {
    section_is_the_code_s("outcome-table", &table_markdown());
}

#[test]
fn the_documented_refusal_tables_are_the_code_s() {
    let tables: [(&str, RefusalTable); 2] = [
        (
            "Vpay88 and One1Pay",
            paybridge_vpay88::transformers::REFUSALS,
        ),
        ("ONE-PUNCH", paybridge_onepunch::transformers::REFUSALS),
    ];
    let mut generated =
        String::from("| provider | message, exactly | meaning | operations |\n|---|---|---|---|\n");
    for (provider, table) in tables {
        let rows = table.markdown();
        if rows.is_empty() {
            generated.push_str(&format!(
                "| {provider} | (none: its document writes no refusal) | | |\n"
            ));
        }
        for row in rows.lines() {
            generated.push_str(&format!("| {provider} {row}\n"));
        }
    }
    section_is_the_code_s("refusal-table", &generated);
}
