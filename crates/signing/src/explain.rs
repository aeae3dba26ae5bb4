//! Why a token or signature did not verify: the string that was signed, field
//! by field with secrets shown only by name, the digest expected and the one
//! received, and which common mistake would have produced the received one.
//!
//! Each mistake is tried by signing the variant it describes and comparing; a
//! named mistake is therefore a match, never a guess.

use std::fmt;

use crate::{form_callback_token, js_bool, md5_hex, verify_hex, OnepunchNotificationFields};

/// A mistake a sender makes when computing a token or signature.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mistake {
    /// The fields concatenated in reverse order.
    ReversedConcatenation,
    /// The secret left out of the signed string.
    SecretMissing,
    /// The merchant's `api_key` used where the callback secret belongs.
    ApiKeyAsSecret,
    /// The secret of another configured account (named, never shown).
    AnotherAccountsSecret(String),
    /// A boolean printed another way than JavaScript prints it (`True`, `1`).
    BooleanWrittenAs(&'static str),
    /// The amount in yuan where the signature covers fen.
    AmountInYuan,
    /// The amount written with decimals (`100.00`).
    AmountWithDecimals,
    /// White space around a field (a trailing newline on a key read from a file).
    SurroundingWhitespace,
    /// The provider's own reference signed where the merchant's order id belongs.
    ProviderOrderId,
}

impl fmt::Display for Mistake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mistake::ReversedConcatenation => {
                f.write_str("the fields were concatenated in reverse order")
            }
            Mistake::SecretMissing => f.write_str("the secret was left out of the signed string"),
            Mistake::ApiKeyAsSecret => f.write_str("the api_key was used as the secret"),
            Mistake::AnotherAccountsSecret(account) => {
                write!(
                    f,
                    "the secret of another configured account ({account}) was used"
                )
            }
            Mistake::BooleanWrittenAs(how) => {
                write!(
                    f,
                    "the boolean was written as `{how}` instead of `true`/`false`"
                )
            }
            Mistake::AmountInYuan => f.write_str("the amount was signed in yuan instead of fen"),
            Mistake::AmountWithDecimals => f.write_str("the amount was signed with decimals"),
            Mistake::SurroundingWhitespace => {
                f.write_str("a field was signed with surrounding white space")
            }
            Mistake::ProviderOrderId => f.write_str(
                "the provider's reference was signed instead of the merchant's order id",
            ),
        }
    }
}

/// Why a digest did not verify. `Debug` and `Display` show the expected digest
/// only as its length: written to a log, it would let the log's reader forge
/// this very callback. [`Explanation::expected`] gives it to whoever asks.
#[derive(Clone, PartialEq, Eq)]
pub struct Explanation {
    /// The signed string's parts in order: `(field, value)`, secrets as `<name>`.
    pub parts: Vec<(String, String)>,
    expected: String,
    /// The digest the body carried.
    pub received: String,
    /// The mistake that reproduces the received digest, when one does.
    pub mistake: Option<Mistake>,
}

impl Explanation {
    /// The digest the configured secret gives (secret in itself: see the type's docs).
    pub fn expected(&self) -> &str {
        &self.expected
    }
}

impl fmt::Debug for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Explanation")
            .field("parts", &self.parts)
            .field("expected", &"[32 hex digits, see expected()]")
            .field("received", &self.received)
            .field("mistake", &self.mistake)
            .finish()
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "signed string, in order:")?;
        for (field, value) in &self.parts {
            writeln!(f, "  {field:<20} {value}")?;
        }
        writeln!(f, "received digest:       {}", self.received)?;
        match &self.mistake {
            Some(mistake) => write!(f, "likely mistake:        {mistake}"),
            None => write!(
                f,
                "likely mistake:        none of the common ones reproduces it"
            ),
        }
    }
}

/// The first mistake whose digest is the received one.
fn first_match(candidates: Vec<(Mistake, String)>, received: &str) -> Option<Mistake> {
    candidates
        .into_iter()
        .find(|(_, digest)| verify_hex(digest, received))
        .map(|(mistake, _)| mistake)
}

/// What a Vpay88/One1Pay callback token check knows.
#[derive(Debug, Clone, Copy)]
pub struct FormTokenContext<'a> {
    /// The merchant's order id the body names.
    pub order_id: &'a str,
    /// The callback secret it was checked against.
    pub secret_key: &'a str,
    /// The merchant's api_key, to recognize it used as the secret.
    pub api_key: Option<&'a str>,
    /// Other configured accounts: `(name, secret)`.
    pub other_accounts: &'a [(String, &'a str)],
    /// The provider's reference for the order, when the body names one.
    pub provider_reference: Option<&'a str>,
}

/// Explains a Vpay88/One1Pay callback token, `md5(secret_key + order_id)`.
pub fn explain_form_token(context: &FormTokenContext<'_>, received: &str) -> Explanation {
    let FormTokenContext {
        order_id,
        secret_key,
        ..
    } = *context;
    let mut candidates = vec![
        (
            Mistake::ReversedConcatenation,
            md5_hex(&[order_id, secret_key]),
        ),
        (Mistake::SecretMissing, md5_hex(&[order_id])),
        (
            Mistake::SurroundingWhitespace,
            md5_hex(&[secret_key, order_id, "\n"]),
        ),
        (
            Mistake::SurroundingWhitespace,
            md5_hex(&[secret_key, "\n", order_id]),
        ),
        (
            Mistake::SurroundingWhitespace,
            md5_hex(&[secret_key, " ", order_id]),
        ),
        (
            Mistake::SurroundingWhitespace,
            md5_hex(&[secret_key.trim(), order_id.trim()]),
        ),
    ];
    if let Some(api_key) = context.api_key {
        candidates.push((
            Mistake::ApiKeyAsSecret,
            form_callback_token(api_key, order_id),
        ));
    }
    for (account, secret) in context.other_accounts {
        candidates.push((
            Mistake::AnotherAccountsSecret(account.clone()),
            form_callback_token(secret, order_id),
        ));
    }
    if let Some(reference) = context.provider_reference {
        candidates.push((
            Mistake::ProviderOrderId,
            form_callback_token(secret_key, reference),
        ));
    }
    Explanation {
        parts: vec![
            ("secret_key".into(), "<secret_key>".into()),
            ("order_id".into(), order_id.into()),
        ],
        expected: form_callback_token(secret_key, order_id),
        received: received.trim().to_owned(),
        mistake: first_match(candidates, received.trim()),
    }
}

/// Explains a ONE-PUNCH notification signature, `md5(transaction_status +
/// message + payment_token + amount + monster_token + order_num + monster_key)`.
pub fn explain_onepunch_notification(
    fields: &OnepunchNotificationFields<'_>,
    monster_key: &str,
    received: &str,
) -> Explanation {
    let status = js_bool(fields.transaction_status);
    let amount = fields.amount_fen.to_string();
    let order_num = fields.order_num.unwrap_or("");
    let signed = |status: &str, amount: &str, order_num: &str, key: &str| {
        md5_hex(&[
            status,
            fields.message,
            fields.payment_token,
            amount,
            fields.monster_token,
            order_num,
            key,
        ])
    };
    let (python, number) = if fields.transaction_status {
        ("True", "1")
    } else {
        ("False", "0")
    };
    let yuan = format!("{}.{:02}", fields.amount_fen / 100, fields.amount_fen % 100);
    let whole_yuan = (fields.amount_fen / 100).to_string();
    let candidates = vec![
        (
            Mistake::ReversedConcatenation,
            md5_hex(&[
                monster_key,
                order_num,
                fields.monster_token,
                &amount,
                fields.payment_token,
                fields.message,
                status,
            ]),
        ),
        (
            Mistake::SecretMissing,
            signed(status, &amount, order_num, ""),
        ),
        (
            Mistake::BooleanWrittenAs(python),
            signed(python, &amount, order_num, monster_key),
        ),
        (
            Mistake::BooleanWrittenAs(number),
            signed(number, &amount, order_num, monster_key),
        ),
        (
            Mistake::AmountWithDecimals,
            signed(status, &yuan, order_num, monster_key),
        ),
        (
            Mistake::AmountWithDecimals,
            signed(status, &format!("{amount}.00"), order_num, monster_key),
        ),
        (
            Mistake::AmountInYuan,
            signed(status, &whole_yuan, order_num, monster_key),
        ),
        (
            Mistake::SurroundingWhitespace,
            signed(status, &amount, order_num, &format!("{monster_key}\n")),
        ),
        (
            Mistake::SurroundingWhitespace,
            signed(status, &amount, order_num, monster_key.trim()),
        ),
        (
            Mistake::ProviderOrderId,
            signed(status, &amount, fields.payment_token, monster_key),
        ),
    ];
    Explanation {
        parts: vec![
            ("transaction_status".into(), status.into()),
            ("message".into(), fields.message.into()),
            ("payment_token".into(), fields.payment_token.into()),
            ("amount (fen)".into(), amount.clone()),
            ("monster_token".into(), fields.monster_token.into()),
            ("order_num".into(), order_num.into()),
            ("monster_key".into(), "<monster_key>".into()),
        ],
        expected: signed(status, &amount, order_num, monster_key),
        received: received.trim().to_owned(),
        mistake: first_match(candidates, received.trim()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "demo-secret-key";
    const API_KEY: &str = "demo-api-key";

    fn form(received: &str) -> Explanation {
        let others = [("channel duitnow".to_owned(), "duitnow-secret")];
        explain_form_token(
            &FormTokenContext {
                order_id: "ORDER-1",
                secret_key: SECRET,
                api_key: Some(API_KEY),
                other_accounts: &others,
                provider_reference: Some("123456_4_789"),
            },
            received,
        )
    }

    #[test]
    fn each_form_token_mistake_is_produced_and_named() {
        let cases = [
            (
                md5_hex(&["ORDER-1", SECRET]),
                Mistake::ReversedConcatenation,
            ),
            (md5_hex(&["ORDER-1"]), Mistake::SecretMissing),
            (md5_hex(&[API_KEY, "ORDER-1"]), Mistake::ApiKeyAsSecret),
            (
                md5_hex(&["duitnow-secret", "ORDER-1"]),
                Mistake::AnotherAccountsSecret("channel duitnow".into()),
            ),
            (
                md5_hex(&[SECRET, "ORDER-1\n"]),
                Mistake::SurroundingWhitespace,
            ),
            (md5_hex(&[SECRET, "123456_4_789"]), Mistake::ProviderOrderId),
        ];
        for (received, mistake) in cases {
            let explanation = form(&received.to_uppercase());
            assert_eq!(explanation.mistake, Some(mistake.clone()), "{mistake}");
            let shown = format!("{explanation}\n{explanation:?}");
            for secret in [SECRET, API_KEY, "duitnow-secret"] {
                assert!(!shown.contains(secret), "{secret} shown in {shown}");
            }
            assert!(shown.contains("<secret_key>") && shown.contains(&mistake.to_string()));
            assert!(!shown.contains(explanation.expected()), "{shown}");
        }
        let unknown = form("0123456789abcdef0123456789abcdef");
        assert_eq!(unknown.mistake, None);
        assert_eq!(unknown.expected(), form_callback_token(SECRET, "ORDER-1"));
    }

    #[test]
    fn each_onepunch_signature_mistake_is_produced_and_named() {
        let key = "demo-monster-key";
        let fields = OnepunchNotificationFields {
            transaction_status: true,
            message: "TRANSACTION SUCCEED",
            payment_token: "OP9f2dca",
            amount_fen: 10000,
            monster_token: "MON-demo",
            order_num: Some("ORDER-1"),
        };
        let with = |status: &str, amount: &str, order: &str, key: &str| {
            md5_hex(&[
                status,
                "TRANSACTION SUCCEED",
                "OP9f2dca",
                amount,
                "MON-demo",
                order,
                key,
            ])
        };
        let cases = [
            (
                md5_hex(&[
                    key,
                    "ORDER-1",
                    "MON-demo",
                    "10000",
                    "OP9f2dca",
                    "TRANSACTION SUCCEED",
                    "true",
                ]),
                Mistake::ReversedConcatenation,
            ),
            (with("true", "10000", "ORDER-1", ""), Mistake::SecretMissing),
            (
                with("True", "10000", "ORDER-1", key),
                Mistake::BooleanWrittenAs("True"),
            ),
            (
                with("1", "10000", "ORDER-1", key),
                Mistake::BooleanWrittenAs("1"),
            ),
            (with("true", "100", "ORDER-1", key), Mistake::AmountInYuan),
            (
                with("true", "100.00", "ORDER-1", key),
                Mistake::AmountWithDecimals,
            ),
            (
                with("true", "10000", "ORDER-1", "demo-monster-key\n"),
                Mistake::SurroundingWhitespace,
            ),
            (
                with("true", "10000", "OP9f2dca", key),
                Mistake::ProviderOrderId,
            ),
        ];
        for (received, mistake) in cases {
            let explanation = explain_onepunch_notification(&fields, key, &received);
            assert_eq!(explanation.mistake, Some(mistake.clone()), "{mistake}");
            let shown = format!("{explanation}\n{explanation:?}");
            assert!(!shown.contains(key), "the key shown in {shown}");
            assert!(shown.contains("<monster_key>") && shown.contains("amount (fen)"));
        }
    }
}
