//! The checks, each against a fresh scripted server.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use paybridge_core::{
    CallbackRequest, Currency, Error, Operation, PaymentGateway, Result, WithdrawalRequest,
};
use paybridge_wire::transport::{ResolvePolicy, RetryPolicy, TransportConfig};

use super::server::{Fault, Server};
use super::{Adapter, Check, KINDS};
use crate::logs::Captured as LogBuffer;

/// One run of the checks against an adapter, and what it found so far.
#[derive(Debug)]
pub(super) struct Run<'a> {
    adapter: &'a Adapter,
    checks: Vec<Check>,
    /// Every error seen, for the secret and kind checks.
    errors: Vec<Error>,
}

/// Settings that make faults quick to provoke: a short timeout, one status
/// query to resolve an unknown outcome.
fn quick_transport() -> TransportConfig {
    TransportConfig::default()
        .request_timeout(Duration::from_millis(300))
        .retry(RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
        })
        .resolve(ResolvePolicy {
            attempts: 1,
            delay: Duration::from_millis(1),
        })
        .operation_deadline(Duration::from_secs(5))
}

impl<'a> Run<'a> {
    pub(super) fn new(adapter: &'a Adapter) -> Self {
        Self {
            adapter,
            checks: Vec::new(),
            errors: Vec::new(),
        }
    }

    pub(super) fn into_checks(self) -> Vec<Check> {
        self.checks
    }

    fn check(&mut self, name: String, failure: Option<String>) {
        self.checks.push(Check { name, failure });
    }

    async fn gateway(&mut self, fault: Fault) -> Option<(Arc<dyn PaymentGateway>, Server)> {
        let server = Server::start(self.adapter.canned.clone(), fault).await;
        match (self.adapter.build)(&server.base_url, quick_transport()) {
            Ok(gateway) => Some((gateway, server)),
            Err(err) => {
                self.check(
                    "the adapter builds".into(),
                    Some(format!("building failed: {err}")),
                );
                None
            }
        }
    }

    pub(super) async fn capabilities(&mut self) {
        for operation in Operation::ALL {
            let Some((gateway, server)) = self.gateway(Fault::Status(418)).await else {
                return;
            };
            let supported = gateway.capabilities().supports(operation);
            let outcome = call(gateway.as_ref(), operation, self.adapter).await;
            let sent = server.requests().len();
            let unsupported = matches!(outcome, Err(Error::Unsupported { .. }));
            let failure = match (supported, unsupported, sent) {
                (false, true, 0) => None,
                (false, _, _) => Some(format!(
                    "left out of capabilities(), yet {} and sent {sent} request(s)",
                    describe(&outcome)
                )),
                (true, true, _) => Some("listed in capabilities(), yet unsupported".into()),
                (true, false, 0) if operation != Operation::VerifyCallback => Some(format!(
                    "listed in capabilities(), yet sent nothing ({})",
                    describe(&outcome)
                )),
                (true, false, sent) if operation == Operation::VerifyCallback && sent > 0 => {
                    Some(format!("verifying a callback sent {sent} request(s)"))
                }
                (true, false, _) => None,
            };
            self.errors.extend(outcome.err());
            self.check(format!("capabilities: {operation}"), failure);
        }
    }

    pub(super) async fn invalid_requests(&mut self) {
        let invalid = self.adapter.invalid_deposits.clone();
        for (index, request) in invalid.iter().enumerate() {
            let Some((gateway, server)) = self.gateway(Fault::Status(418)).await else {
                return;
            };
            let outcome = gateway.create_deposit(request).await;
            let sent = server.requests().len();
            let failure = match &outcome {
                Err(Error::InvalidRequest { .. }) if sent == 0 => None,
                other => Some(format!(
                    "expected a refusal before sending; {} after {sent} request(s)",
                    describe(other)
                )),
            };
            self.errors.extend(outcome.err());
            self.check(
                format!("invalid deposit {} is refused before any I/O", index + 1),
                failure,
            );
        }
    }

    pub(super) async fn writes_under_faults(&mut self) {
        for fault in Fault::ALL {
            for kind in ["deposit", "withdrawal"] {
                let Some((gateway, server)) = self.gateway(fault).await else {
                    return;
                };
                let (operation, outcome) = match kind {
                    "deposit" => match &self.adapter.deposit {
                        Some(request) => (
                            Operation::CreateDeposit,
                            gateway.create_deposit(request).await.map(drop),
                        ),
                        None => continue,
                    },
                    _ => match &self.adapter.withdrawal {
                        Some(request) => (
                            Operation::CreateWithdrawal,
                            gateway.create_withdrawal(request).await.map(drop),
                        ),
                        None => continue,
                    },
                };
                if !gateway.capabilities().supports(operation) {
                    continue;
                }
                let writes = server
                    .requests()
                    .iter()
                    .filter(|path| self.adapter.write_paths.contains(path))
                    .count();
                let failure = match (&outcome, writes) {
                    (_, n) if n > 1 => Some(format!("the write was sent {n} times")),
                    (_, 0) => Some("the write was never sent".into()),
                    (Err(Error::Ambiguous { .. }), 1) => None,
                    (other, _) => Some(format!(
                        "an outcome no status query could settle must be ambiguous; {}",
                        describe(other)
                    )),
                };
                self.errors.extend(outcome.err());
                self.check(
                    format!("{kind} when the server {}", fault.describe()),
                    failure,
                );
            }
        }
    }

    pub(super) async fn secrets(&mut self, logs: &LogBuffer) {
        let Some((gateway, _server)) = self.gateway(Fault::Status(418)).await else {
            return;
        };
        let mut texts = vec![("Debug of the gateway".to_owned(), format!("{gateway:?}"))];
        for err in &self.errors {
            texts.push((format!("error {err}"), error_chain(err)));
        }
        texts.push(("the TRACE logs".into(), logs.text()));
        for secret in &self.adapter.secrets {
            let leaks: Vec<&str> = texts
                .iter()
                .filter(|(_, text)| text.contains(secret.as_str()))
                .map(|(what, _)| what.as_str())
                .collect();
            let failure = (!leaks.is_empty()).then(|| format!("shown in {}", leaks.join("; ")));
            self.check(format!("secret {}… shows nowhere", prefix(secret)), failure);
        }
    }

    pub(super) fn kinds(&mut self) {
        let unknown: Vec<String> = self
            .errors
            .iter()
            .filter(|err| !KINDS.contains(&err.kind()))
            .map(|err| format!("{} ({err})", err.kind()))
            .collect();
        let failure = (!unknown.is_empty()).then(|| unknown.join("; "));
        self.check(
            format!("every error ({}) has a documented kind", self.errors.len()),
            failure,
        );
    }
}

fn prefix(secret: &str) -> String {
    secret.chars().take(3).collect()
}

/// An error's `Display`, `Debug` and every source.
fn error_chain(err: &Error) -> String {
    let mut text = format!("{err} {err:?}");
    let mut source = std::error::Error::source(err);
    while let Some(inner) = source {
        let _ = write!(text, " {inner} {inner:?}");
        source = inner.source();
    }
    text
}

fn describe<T>(outcome: &Result<T>) -> String {
    match outcome {
        Ok(_) => "it succeeded".into(),
        Err(err) => format!("it failed with {} ({err})", err.kind()),
    }
}

/// Calls `operation` with the adapter's sample requests; what it returns is
/// dropped, only success or the error matters.
async fn call(gateway: &dyn PaymentGateway, operation: Operation, adapter: &Adapter) -> Result<()> {
    let currency = adapter
        .deposit
        .as_ref()
        .map(|d| d.amount.currency().clone())
        .unwrap_or_else(|| Currency::new("MYR").expect("a currency code"));
    let missing = |what: &str| {
        Err(Error::invalid(
            what,
            "the kit was given no sample; add one to the Adapter",
        ))
    };
    match operation {
        Operation::Currencies => gateway.currencies().await.map(drop),
        Operation::DepositBanks => gateway.deposit_banks(Some(&currency)).await.map(drop),
        Operation::WithdrawalBanks => gateway.withdrawal_banks(Some(&currency)).await.map(drop),
        Operation::PaymentMethods => gateway.payment_methods().await.map(drop),
        Operation::CreateDeposit => match &adapter.deposit {
            Some(request) => gateway.create_deposit(request).await.map(drop),
            None => missing("deposit"),
        },
        Operation::CreateWithdrawal => match &adapter.withdrawal {
            Some(request) => gateway.create_withdrawal(request).await.map(drop),
            // An adapter without payouts refuses any request; build one that
            // is valid in form.
            None => match WithdrawalRequest::builder(
                "KIT-W-1",
                paybridge_core::Money::new(paybridge_core::Decimal::ONE_HUNDRED, currency),
                "1",
                "Kit Holder",
                "1",
            )
            .build()
            {
                Ok(request) => gateway.create_withdrawal(&request).await.map(drop),
                Err(err) => Err(err),
            },
        },
        Operation::DepositStatus => match &adapter.status_query {
            Some(query) => gateway.deposit_status(query).await.map(drop),
            None => missing("status_query"),
        },
        Operation::WithdrawalStatus => match &adapter.status_query {
            Some(query) => gateway.withdrawal_status(query).await.map(drop),
            None => missing("status_query"),
        },
        Operation::Balance => gateway.balance(&currency).await.map(drop),
        Operation::VerifyCallback => gateway
            .verify_callback(&CallbackRequest::new(b"{\"unsigned\": true}"))
            .map(drop),
        other => Err(Error::invalid(
            other.name(),
            "is an operation the kit does not know yet",
        )),
    }
}
