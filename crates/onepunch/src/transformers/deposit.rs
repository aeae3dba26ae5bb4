//! A deposit: its field table, the signed create-payment body, and the
//! payment it registers.

use paybridge_core::fields::{check_fields, in_request_order, sent_value};
use paybridge_core::{
    DepositRequest, Error, ExposeSecret, FieldRule, Money, OrderId, OrderKind, RequestField,
    Result, SecretString,
};
use paybridge_signing::{onepunch_create_signature, OnepunchCreateFields};
use paybridge_wire::{AnswerError, Scalar};
use serde::{Deserialize, Serialize};

use super::{from_fen, to_fen, Payload};
use crate::PROVIDER;

/// The merchant's side of a create-payment body: sub-account, signing key and
/// default URLs, as configured. `Debug` shows no secret, nor a URL's credentials.
#[derive(Clone)]
pub struct Account {
    /// Sub-account id (`monster_token`).
    pub monster_token: String,
    /// Signing key.
    pub monster_key: SecretString,
    /// `notify_url` for deposits that name no `callback_url`.
    pub notify_url: Option<String>,
    /// `return_url` for deposits that name no `redirect_url`.
    pub return_url: Option<String>,
    /// `payment_method` for deposits that name none.
    pub payment_method: Option<String>,
}

/// How ONE-PUNCH uses each deposit field (it takes CNY deposits only): the one
/// table the create-payment body is checked against and built from.
pub fn deposit_rules() -> Vec<FieldRule> {
    use RequestField as F;
    let payer = "ONE-PUNCH takes no payer details beyond an address";
    let payer_bank = "ONE-PUNCH takes no payer's bank; the payer pays by the method's QR page";
    in_request_order(
        vec![
            FieldRule::required(F::OrderId, "order_num", "the merchant's order number, signed"),
            FieldRule::required(F::Amount, "amount", "in fen, CNY only"),
            FieldRule::not_sent(F::CustomerName, payer),
            FieldRule::not_sent(F::Email, payer),
            FieldRule::not_sent(F::Phone, payer),
            FieldRule::required(F::RedirectUrl, "return_url", "signed; `[onepunch] return_url` is used when the request names none"),
            FieldRule::sent(F::IpAddr, "ip_addr", "optional: the payer's IP address"),
            FieldRule::required(F::CallbackUrl, "notify_url", "signed; `[onepunch] notify_url` is used when the request names none"),
            FieldRule::required(F::PaymentMethod, "payment_method", "from payment_methods (`ali-person`); `[onepunch] payment_method` is used when the request names none"),
            FieldRule::not_sent(F::BankId, payer_bank),
            FieldRule::not_sent(F::CustomerBankHolderName, payer_bank),
            FieldRule::not_sent(F::CustomerBankAccount, payer_bank),
            FieldRule::refused(F::Mode, "the prepaid-card mode is Vpay88's; without it the payer would be offered another channel"),
            FieldRule::sent(F::MacAddr, "mac_addr", "optional: the payer's MAC address"),
            FieldRule::refused(F::Extra, "ONE-PUNCH signs a fixed list of fields and its document names no others: an extra field would go unsigned, and a brand that needs one is not this API"),
        ],
        OrderKind::Deposit,
    )
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use paybridge_core::redact::Url;
        f.debug_struct("Account")
            .field("monster_token", &self.monster_token)
            .field("monster_key", &self.monster_key)
            .field("notify_url", &self.notify_url.as_deref().map(Url))
            .field("return_url", &self.return_url.as_deref().map(Url))
            .finish()
    }
}

/// The create-payment body, as sent: JSON, signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreatePaymentBody {
    /// Amount in fen.
    pub amount: u64,
    /// Payment method code.
    pub payment_method: String,
    /// Sub-account id.
    pub monster_token: String,
    /// Notification URL.
    pub notify_url: String,
    /// Return URL.
    pub return_url: String,
    /// Payer IP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_addr: Option<String>,
    /// Payer MAC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac_addr: Option<String>,
    /// Random number for this request.
    pub magic_num: u64,
    /// Merchant order number.
    pub order_num: String,
    /// The request signature.
    pub signature: String,
}

/// A deposit to turn into a create-payment body, with the account it is sent
/// from and this request's `magic_num`.
#[derive(Debug, Clone, Copy)]
pub struct CreateOf<'a> {
    /// The deposit.
    pub request: &'a DepositRequest,
    /// The sending account.
    pub account: &'a Account,
    /// This request's random number.
    pub magic_num: u64,
}

impl TryFrom<CreateOf<'_>> for CreatePaymentBody {
    type Error = Error;

    fn try_from(
        CreateOf {
            request,
            account,
            magic_num,
        }: CreateOf<'_>,
    ) -> Result<Self> {
        let amount = to_fen(&request.amount)?;
        let rules = deposit_rules();
        // The order's own value, else the account's default.
        let payment_method = request
            .payment_method
            .clone()
            .or_else(|| account.payment_method.clone());
        let notify_url = request
            .callback_url
            .clone()
            .or_else(|| account.notify_url.clone());
        let return_url = request
            .redirect_url
            .clone()
            .or_else(|| account.return_url.clone());
        check_fields(&rules, PROVIDER, " deposits", |field| match field {
            RequestField::PaymentMethod => payment_method.is_some(),
            RequestField::CallbackUrl => notify_url.is_some(),
            RequestField::RedirectUrl => return_url.is_some(),
            other => request.has(other),
        })?;
        // The table requires all three; the check above named any missing.
        let missing = |field: &str| Error::missing(field, PROVIDER.as_str(), " deposits");
        let payment_method = payment_method.ok_or_else(|| missing("payment_method"))?;
        let notify_url = notify_url.ok_or_else(|| missing("callback_url"))?;
        let return_url = return_url.ok_or_else(|| missing("redirect_url"))?;
        check_lengths(&[
            ("payment_method", Some(&payment_method), 32),
            ("callback_url (notify_url)", Some(&notify_url), 200),
            ("redirect_url (return_url)", Some(&return_url), 200),
            ("ip_addr", request.ip_addr.as_ref(), 65),
            ("mac_addr", request.mac_addr.as_ref(), 65),
        ])?;
        let order_num = request.order_id.as_str().to_owned();
        let signature = onepunch_create_signature(
            &OnepunchCreateFields {
                magic_num,
                amount_fen: amount,
                payment_method: &payment_method,
                monster_token: &account.monster_token,
                order_num: Some(&order_num),
                notify_url: &notify_url,
                return_url: &return_url,
            },
            account.monster_key.expose_secret(),
        );
        Ok(Self {
            amount,
            payment_method,
            monster_token: account.monster_token.clone(),
            notify_url,
            return_url,
            ip_addr: sent_value(&rules, RequestField::IpAddr, &request.ip_addr),
            mac_addr: sent_value(&rules, RequestField::MacAddr, &request.mac_addr),
            magic_num,
            order_num,
            signature,
        })
    }
}

/// Refuses a field longer than the document allows, before anything is sent:
/// the provider would truncate or refuse it, and a truncated URL signs differently.
fn check_lengths(fields: &[(&str, Option<&String>, usize)]) -> Result<()> {
    for &(field, value, max) in fields {
        let length = value.map_or(0, |v| v.chars().count());
        if length > max {
            return Err(Error::invalid(
                field,
                format!("is {length} characters long; {PROVIDER} takes at most {max}"),
            ));
        }
    }
    Ok(())
}

/// The create-payment payload.
#[derive(Debug, Deserialize)]
pub struct CreatedPayload {
    /// Where to send the payer.
    pub payment_url: Option<Scalar>,
    /// The provider's reference.
    pub payment_token: Option<Scalar>,
    /// The amount registered, in fen like the amount sent.
    pub amount: Option<Scalar>,
}

/// A registered payment, from the create-payment payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedPayment {
    /// Where to send the payer.
    pub payment_url: String,
    /// The provider's reference, needed for every status query.
    pub payment_token: String,
    /// The amount the provider registered, in fen, when the answer names one.
    pub amount_fen: Option<u64>,
}

impl CreatedPayment {
    /// Refuses a registration of another amount than `sent`: the payer would
    /// be asked for the provider's amount, not the merchant's.
    pub fn check_amount(&self, order_id: &OrderId, sent: &Money) -> Result<()> {
        match self.amount_fen {
            Some(fen) if fen != to_fen(sent)? => Err(Error::OrderIdConflict {
                kind: OrderKind::Deposit,
                order_id: order_id.clone(),
                requested: sent.clone(),
                held: from_fen(fen),
                from_ledger: false,
            }),
            _ => Ok(()),
        }
    }
}

impl TryFrom<Payload<CreatedPayload>> for CreatedPayment {
    type Error = AnswerError;

    /// `amount` is read in fen, the unit of the amount sent and of the status
    /// payload's. (The document's create example answers `"amount": 10` to a
    /// request of 10000 fen; read in fen or in yuan the two disagree, so that
    /// answer is taken to be another payment's, of 10 fen.)
    fn try_from(answer: Payload<CreatedPayload>) -> Result<Self, AnswerError> {
        let payload = answer.required_payload()?;
        let amount_fen = payload
            .amount
            .map(|amount| amount.u64().map_err(|r| AnswerError::field("amount", r)))
            .transpose()?;
        let payment_url = Scalar::required_text(payload.payment_url, "payment_url")?;
        if !paybridge_wire::is_http_url(&payment_url) {
            return Err(AnswerError::field("payment_url", "is not an http(s) URL"));
        }
        Ok(Self {
            payment_url,
            payment_token: Scalar::required_text(payload.payment_token, "payment_token")?,
            amount_fen,
        })
    }
}
