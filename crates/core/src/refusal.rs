//! The refusals a provider's document writes, as one table per provider.
//!
//! A provider is an open world: it may answer `status: false` with any message,
//! at any HTTP status. Only a refusal its document writes, matched exactly, on
//! an operation the document shows it for, answered with HTTP 2xx, is read for
//! what it says: on a create, that nothing is held (or, for a duplicate id, that
//! the id was used before); on a status query, that the order is unknown. Every
//! other refusal is [`RefusalKind::Other`] and not
//! [documented](crate::Error::Provider::documented): a create it answers leaves
//! the order's outcome open, to be resolved by a status query
//! ([`crate::outcome`]), and a status query it answers says nothing about the
//! order.

use crate::error::RefusalKind;
use crate::operation::Operation;

/// One refusal as a provider's document writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentedRefusal {
    /// The message, byte for byte as the document writes it.
    pub message: &'static str,
    /// What it means.
    pub kind: RefusalKind,
    /// The operations the document shows it on.
    pub operations: &'static [Operation],
}

/// A provider's documented refusals. The only place a refusal message is
/// given a meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefusalTable {
    rows: &'static [DocumentedRefusal],
}

/// How a refusal was read against a [`RefusalTable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadRefusal {
    /// What it means: [`RefusalKind::Other`] unless documented.
    pub kind: RefusalKind,
    /// Whether the document writes it for this operation and it came with HTTP 2xx.
    pub documented: bool,
}

impl ReadRefusal {
    /// A refusal no document writes.
    pub const UNDOCUMENTED: ReadRefusal = ReadRefusal {
        kind: RefusalKind::Other,
        documented: false,
    };
}

impl RefusalTable {
    /// A table of `rows`.
    pub const fn new(rows: &'static [DocumentedRefusal]) -> Self {
        Self { rows }
    }

    /// A provider whose document writes no refusal: every refusal is undocumented.
    pub const EMPTY: RefusalTable = RefusalTable { rows: &[] };

    /// Every row.
    pub fn rows(&self) -> &'static [DocumentedRefusal] {
        self.rows
    }

    /// Reads the refusal `message` of `operation`, answered with HTTP `http_status`.
    pub fn read(&self, operation: Operation, http_status: u16, message: &str) -> ReadRefusal {
        let row = (200..300).contains(&http_status).then(|| {
            self.rows
                .iter()
                .find(|row| row.message == message && row.operations.contains(&operation))
        });
        match row.flatten() {
            Some(row) => ReadRefusal {
                kind: row.kind,
                documented: true,
            },
            None => ReadRefusal::UNDOCUMENTED,
        }
    }

    /// The table as Markdown rows (`| message | meaning | operations |`), as
    /// `docs/reliability.md` shows it.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        for row in self.rows {
            let operations: Vec<&str> = row.operations.iter().map(|op| op.name()).collect();
            out.push_str(&format!(
                "| `{}` | {} | {} |\n",
                row.message,
                row.kind,
                operations.join(", ")
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: RefusalTable = RefusalTable::new(&[DocumentedRefusal {
        message: "Order id exist!",
        kind: RefusalKind::DuplicateOrder,
        operations: &[Operation::CreateWithdrawal],
    }]);

    #[test]
    fn only_the_exact_message_on_its_operation_with_http_2xx_is_documented() {
        let documented = TABLE.read(Operation::CreateWithdrawal, 200, "Order id exist!");
        assert_eq!(
            documented,
            ReadRefusal {
                kind: RefusalKind::DuplicateOrder,
                documented: true
            }
        );
        let undocumented = ReadRefusal {
            kind: RefusalKind::Other,
            documented: false,
        };
        for (operation, status, message) in [
            (Operation::CreateWithdrawal, 200, "Order ID exist!"),
            (Operation::CreateWithdrawal, 200, "Order id exist! "),
            (Operation::CreateWithdrawal, 409, "Order id exist!"),
            (Operation::CreateWithdrawal, 302, "Order id exist!"),
            (Operation::CreateDeposit, 200, "Order id exist!"),
            (Operation::CreateWithdrawal, 200, ""),
        ] {
            assert_eq!(
                TABLE.read(operation, status, message),
                undocumented,
                "{operation} {status} {message:?}"
            );
        }
    }
}
