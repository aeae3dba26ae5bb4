//! Reading what the queries return: a value that does not read back is the
//! ledger's corruption, never a default.

use std::str::FromStr;

use paybridge_core::{Currency, Decimal, Error, Money, OrderKind, Result};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::state::LedgerState;
use crate::{OrderKey, OrderRecord};

/// The columns of an order, in the order [`record`] reads them.
pub(super) const ORDER_COLUMNS: &str =
    "provider, account, kind, order_id, amount, currency, state, \
    provider_status, provider_ref, payment_url, conflict, detail, created_at, updated_at, version";

/// A stored value that does not read back: the database was written by
/// something else.
pub(super) fn corrupt(what: String) -> Error {
    Error::local("the ledger holds a value it cannot read", what)
}

fn parse_kind(word: &str) -> Result<OrderKind> {
    match word {
        "deposit" => Ok(OrderKind::Deposit),
        "withdrawal" => Ok(OrderKind::Withdrawal),
        other => Err(corrupt(format!("order kind {other:?}"))),
    }
}

fn money(amount: &str, currency: &str) -> Result<Money> {
    let amount =
        Decimal::from_str(amount).map_err(|e| corrupt(format!("amount {amount:?}: {e}")))?;
    Ok(Money::new(amount, Currency::new(currency)?))
}

/// A row's columns, read as text, optional text or a number; a value that
/// does not read is the ledger's corruption.
pub(super) struct Columns<'a>(pub(super) &'a AnyRow);

impl Columns<'_> {
    fn read<T>(&self, column: &str) -> Result<T>
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
    {
        self.0
            .try_get::<T, _>(column)
            .map_err(|e| corrupt(format!("{column}: {e}")))
    }

    pub(super) fn text(&self, column: &str) -> Result<String> {
        self.read(column)
    }

    pub(super) fn optional(&self, column: &str) -> Result<Option<String>> {
        self.read(column)
    }

    pub(super) fn number(&self, column: &str) -> Result<i64> {
        self.read(column)
    }

    /// The order key columns every order table shares.
    pub(super) fn key(&self) -> Result<OrderKey> {
        Ok(OrderKey {
            provider: self.text("provider")?,
            account: self.text("account")?,
            kind: parse_kind(&self.text("kind")?)?,
            order_id: self.text("order_id")?,
        })
    }

    /// The key, amount and state columns every order table shares.
    pub(super) fn key_amount_state(&self) -> Result<(OrderKey, Money, LedgerState)> {
        let amount = money(&self.text("amount")?, &self.text("currency")?)?;
        let state = self.text("state")?;
        let state =
            LedgerState::parse(&state).ok_or_else(|| corrupt(format!("state {state:?}")))?;
        Ok((self.key()?, amount, state))
    }
}

/// Reads an order row selected with [`ORDER_COLUMNS`]; also its version.
pub(super) fn record(row: &AnyRow) -> Result<(OrderRecord, i64)> {
    let columns = Columns(row);
    let (key, amount, state) = columns.key_amount_state()?;
    let record = OrderRecord {
        key,
        amount,
        state,
        provider_status: columns.optional("provider_status")?,
        provider_ref: columns.optional("provider_ref")?,
        payment_url: columns.optional("payment_url")?,
        conflict: columns.optional("conflict")?,
        detail: columns.optional("detail")?,
        created_at: columns.number("created_at")?,
        updated_at: columns.number("updated_at")?,
    };
    Ok((record, columns.number("version")?))
}
