//! A payout: its field table, its form, and what its creation answers.

use paybridge_core::fields::{check_fields, sent_value};
use paybridge_core::{
    check_request_amount, ExtraFields, FieldRule, OrderKind, RequestField, Result,
    WithdrawalRequest,
};
use paybridge_wire::{AnswerError, Scalar};
use serde::{Deserialize, Serialize};

use super::{extra_rule, format_amount, FORM_FIELD_NAMES};
use crate::DialectSpec;

/// The payout fields only some providers take.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WithdrawalFields {
    /// One1Pay: this payout's callback URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
}

/// `/merchant/withdraw_orders`, without the auth token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WithdrawalForm {
    /// The amount, without trailing zeros.
    pub amount: String,
    /// The currency code.
    pub currency: String,
    /// The merchant order id.
    pub orderid: String,
    /// The payee's bank.
    pub bank_id: String,
    /// The payee's branch, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bank_branch: Option<String>,
    /// The payee's name.
    pub holder_name: String,
    /// The payee's account number.
    pub account_no: String,
    /// The dialect's fields.
    #[serde(flatten)]
    pub fields: WithdrawalFields,
    /// The request's extra fields, last.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// The rows every withdrawal of this family shares.
pub fn common_withdrawal_rules() -> Vec<FieldRule> {
    use RequestField as F;
    vec![
        FieldRule::required(
            F::OrderId,
            "orderid",
            "the merchant's withdrawal id, the key of every status query and callback",
        ),
        FieldRule::required(F::Amount, "amount", "with `currency`"),
        FieldRule::required(F::BankId, "bank_id", "from the withdrawal bank list"),
        FieldRule::required(F::HolderName, "holder_name", "must match the bank's record"),
        FieldRule::required(F::AccountNo, "account_no", "the payee's account"),
        FieldRule::sent(F::BankBranch, "bank_branch", "optional in the documents"),
        extra_rule(),
    ]
}

impl WithdrawalForm {
    /// The form `dialect` sends for `request`, or the error naming the first
    /// field its table refuses or misses.
    pub fn new(dialect: &DialectSpec, request: &WithdrawalRequest) -> Result<Self> {
        check_request_amount(&request.amount)?;
        let currency = request.amount.currency();
        let rules = dialect.rules(OrderKind::Withdrawal, currency);
        check_fields(
            rules,
            dialect.provider(),
            format_args!(" {currency} withdrawals"),
            |f| request.has(f),
        )?;
        request
            .extra
            .refuse_names(FORM_FIELD_NAMES, dialect.provider())?;
        Ok(Self {
            amount: format_amount(request.amount.amount()),
            currency: currency.as_str().to_owned(),
            orderid: request.order_id.as_str().to_owned(),
            bank_id: request.bank_id.clone(),
            bank_branch: sent_value(rules, RequestField::BankBranch, &request.bank_branch),
            holder_name: request.holder_name.clone(),
            account_no: request.account_no.clone(),
            fields: WithdrawalFields {
                callback_url: sent_value(rules, RequestField::CallbackUrl, &request.callback_url),
            },
            extra: request.extra.clone(),
        })
    }
}

/// `/merchant/withdraw_orders`.
#[derive(Debug, Deserialize)]
pub struct WithdrawalCreatedAnswer {
    /// One1Pay's reference.
    pub payment_id: Option<Scalar>,
    /// Vpay88's reference.
    pub withdraw_order_id: Option<Scalar>,
}

/// A payout the provider took, and its reference when it gives one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedWithdrawal {
    /// The provider's reference.
    pub provider_ref: Option<String>,
}

impl TryFrom<WithdrawalCreatedAnswer> for CreatedWithdrawal {
    type Error = AnswerError;

    fn try_from(answer: WithdrawalCreatedAnswer) -> Result<Self, AnswerError> {
        Ok(Self {
            provider_ref: Scalar::optional_text(answer.payment_id)
                .or_else(|| Scalar::optional_text(answer.withdraw_order_id)),
        })
    }
}
