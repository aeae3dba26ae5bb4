//! The refusals the form API's documents write, and what each means.

use paybridge_core::refusal::{DocumentedRefusal, RefusalTable};
use paybridge_core::{Operation, RefusalKind};

/// Every operation that fetches an auth token first: the token's refusal,
/// `Params incorrect`, can answer any of them.
const AUTHED: &[Operation] = &[
    Operation::CreateDeposit,
    Operation::CreateWithdrawal,
    Operation::Balance,
];

const CREATE_DEPOSIT: &[Operation] = &[Operation::CreateDeposit];
const CREATE_WITHDRAWAL: &[Operation] = &[Operation::CreateWithdrawal];

/// The refusals the form API's documents write, exactly, per operation. Every
/// other refusal (another message, a near-variant, a non-2xx status) is
/// undocumented: a create it answers is resolved by status. The documents
/// show no answer to a status query for an order the provider does not hold,
/// so no status refusal reads as "not found".
pub const REFUSALS: RefusalTable = RefusalTable::new(&[
    refusal("Params incorrect", RefusalKind::Unauthorized, AUTHED),
    refusal(
        "Params incorrect.",
        RefusalKind::Unauthorized,
        CREATE_DEPOSIT,
    ),
    refusal(
        "email incorrect.",
        RefusalKind::InvalidEmail,
        CREATE_DEPOSIT,
    ),
    refusal(
        "Params missing.",
        RefusalKind::MissingParameter,
        CREATE_DEPOSIT,
    ),
    refusal(
        "Currency invalid.",
        RefusalKind::InvalidCurrency,
        CREATE_DEPOSIT,
    ),
    refusal(
        "Order ID Exist.",
        RefusalKind::DuplicateOrder,
        CREATE_DEPOSIT,
    ),
    refusal(
        "Invalid Amount.",
        RefusalKind::InvalidAmount,
        CREATE_DEPOSIT,
    ),
    refusal(
        "Params missing.",
        RefusalKind::MissingParameter,
        CREATE_WITHDRAWAL,
    ),
    refusal(
        "bank_id invalid.",
        RefusalKind::InvalidBank,
        CREATE_WITHDRAWAL,
    ),
    refusal(
        "Balance not enough!",
        RefusalKind::InsufficientBalance,
        CREATE_WITHDRAWAL,
    ),
    refusal(
        "Amount Invalid!",
        RefusalKind::InvalidAmount,
        CREATE_WITHDRAWAL,
    ),
    refusal(
        "Order id exist!",
        RefusalKind::DuplicateOrder,
        CREATE_WITHDRAWAL,
    ),
]);

const fn refusal(
    message: &'static str,
    kind: RefusalKind,
    operations: &'static [Operation],
) -> DocumentedRefusal {
    DocumentedRefusal {
        message,
        kind,
        operations,
    }
}
