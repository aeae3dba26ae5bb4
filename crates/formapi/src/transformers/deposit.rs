//! A deposit: its field table, its form, and what its creation answers.

use paybridge_core::fields::{check_fields, sent_value};
use paybridge_core::{
    check_request_amount, DepositRequest, ExtraFields, FieldRule, OrderKind, RequestField, Result,
};
use paybridge_wire::{AnswerError, Scalar};
use serde::{Deserialize, Serialize};

use super::{extra_rule, format_amount, FORM_FIELD_NAMES};
use crate::DialectSpec;

/// The deposit fields only some providers or currencies take; each is set
/// when the dialect's table sends it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DepositFields {
    /// Vpay88 MYR prepaid-card mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Where the payer returns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
    /// One1Pay: the payer's account holder name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_bank_holder_name: Option<String>,
    /// One1Pay: the payer's account number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_bank_account: Option<String>,
    /// The payer's bank.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bank_id: Option<String>,
    /// One1Pay: the payment method.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pay_method: Option<String>,
    /// One1Pay: this order's callback URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
}

/// `/merchant/generate_orders`, without the auth token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DepositForm {
    /// The payer's name (the document calls the payer `username`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The amount, without trailing zeros.
    pub amount: String,
    /// The currency code.
    pub currency: String,
    /// The merchant order id.
    pub orderid: String,
    /// The payer's e-mail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The payer's phone number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// The dialect's fields.
    #[serde(flatten)]
    pub fields: DepositFields,
    /// The request's extra fields, last.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// Why e-mail and phone are sent when given, not required.
const LIVE_WITHOUT_CONTACT: &str =
    "sent when given: the documents list it, but live servers accept deposits without it";

/// The rows every deposit of this family shares: what the documents list for
/// both providers. A dialect's table starts from them.
pub fn common_deposit_rules() -> Vec<FieldRule> {
    use RequestField as F;
    vec![
        FieldRule::required(
            F::OrderId,
            "orderid",
            "the merchant's order id, the key of every status query and callback",
        ),
        FieldRule::required(F::Amount, "amount", "with `currency`"),
        FieldRule::required(
            F::CustomerName,
            "username",
            "the documents list the payer's user name for every deposit",
        ),
        FieldRule::sent(F::Email, "email", LIVE_WITHOUT_CONTACT),
        FieldRule::sent(F::Phone, "phone_number", LIVE_WITHOUT_CONTACT),
        FieldRule::not_sent(F::IpAddr, "the form API takes no payer address"),
        FieldRule::not_sent(F::MacAddr, "the form API takes no payer address"),
        extra_rule(),
    ]
}

impl DepositForm {
    /// The form `dialect` sends for `request`, or the error naming the first
    /// field its table refuses or misses.
    pub fn new(dialect: &DialectSpec, request: &DepositRequest) -> Result<Self> {
        use RequestField as F;
        check_request_amount(&request.amount)?;
        let currency = request.amount.currency();
        let rules = dialect.rules(OrderKind::Deposit, currency);
        let provider = dialect.provider();
        check_fields(rules, provider, format_args!(" {currency} deposits"), |f| {
            request.has(f)
        })?;
        request.extra.refuse_names(FORM_FIELD_NAMES, provider)?;
        dialect.check_deposit_values(request)?;
        let sent = |field, value: &Option<String>| sent_value(rules, field, value);
        Ok(Self {
            username: sent(F::CustomerName, &request.customer_name),
            amount: format_amount(request.amount.amount()),
            currency: currency.as_str().to_owned(),
            orderid: request.order_id.as_str().to_owned(),
            email: sent(F::Email, &request.email),
            phone_number: sent(F::Phone, &request.phone),
            fields: DepositFields {
                mode: sent(F::Mode, &request.mode),
                redirect_url: sent(F::RedirectUrl, &request.redirect_url),
                customer_bank_holder_name: sent(
                    F::CustomerBankHolderName,
                    &request.customer_bank_holder_name,
                ),
                customer_bank_account: sent(F::CustomerBankAccount, &request.customer_bank_account),
                bank_id: sent(F::BankId, &request.bank_id),
                pay_method: sent(F::PaymentMethod, &request.payment_method),
                callback_url: sent(F::CallbackUrl, &request.callback_url),
            },
            extra: request.extra.clone(),
        })
    }
}

/// `/merchant/generate_orders`.
#[derive(Debug, Deserialize)]
pub struct DepositCreatedAnswer {
    /// The payment page.
    pub p_url: Option<Scalar>,
    /// One1Pay's reference.
    pub payment_id: Option<Scalar>,
}

/// What a created deposit answers: where to send the payer, and a reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedDeposit {
    /// The payment page.
    pub payment_url: String,
    /// The provider's reference, when it gives one.
    pub provider_ref: Option<String>,
}

impl TryFrom<DepositCreatedAnswer> for CreatedDeposit {
    type Error = AnswerError;

    fn try_from(answer: DepositCreatedAnswer) -> Result<Self, AnswerError> {
        let payment_url = Scalar::required_text(answer.p_url, "p_url")?;
        if !paybridge_wire::is_http_url(&payment_url) {
            return Err(AnswerError::field("p_url", "is not an http(s) URL"));
        }
        Ok(Self {
            payment_url,
            provider_ref: Scalar::optional_text(answer.payment_id),
        })
    }
}
