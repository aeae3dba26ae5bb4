//! Every domain type a gateway's API speaks, in one list. The wire runtime's
//! prelude adds its transport settings; each adapter crate re-exports that
//! (`pub use paybridge_wire::prelude::*`), as the facade does, so a program
//! that uses one adapter depends on that adapter alone.

pub use crate::outcome::ResolvePolicy;
pub use crate::{
    check_request_amount, confirm, Balance, Bank, CallbackEvent, CallbackRejection,
    CallbackRequest, Capabilities, Currency, CurrencyLimit, Decimal, DepositOrder, DepositRequest,
    DepositRequestBuilder, Error, ExtraFields, FieldRule, FieldUse, LearnedFrom, Money, Operation,
    OrderId, OrderKind, OrderStatus, PaymentGateway, PaymentMethod, Provider, RefusalKind,
    RequestField, Result, StatusQuery, StatusReport, Verdict, WithdrawalReceipt, WithdrawalRequest,
    WithdrawalRequestBuilder, MAX_AMOUNT, MAX_CALLBACK_BODY, MINOR_UNITS,
};
