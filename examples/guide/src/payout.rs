use paybridge::{Error, Gateway, Money, WithdrawalRequest};

pub async fn payout(gateway: &Gateway) -> Result<(), Error> {
    let amount = Money::parse("250", "THB")?;
    let request =
        WithdrawalRequest::builder("PAYOUT-77", amount, "101", "John Doe", "1234567890").build()?;
    match gateway.create_withdrawal(&request).await {
        Ok(receipt) => {
            // The provider holds it: receipt.status (processing, or what a status query
            // found), receipt.provider_status (its own word), receipt.learned_from.
            let _ = receipt;
        }
        Err(Error::Ambiguous { order_id, .. }) => {
            // The request may have reached the provider and nobody can say whether it did.
            // paybridge did NOT resend it. Reconcile order_id by status before doing anything else.
            let _ = order_id;
        }
        Err(Error::HeldAsFailed {
            order_id,
            provider_status,
            ..
        }) => {
            // The provider holds this payout as failed or rejected: no money moved.
            let _ = (order_id, provider_status);
        }
        Err(Error::OrderIdConflict { order_id, held, .. }) => {
            // Another order (`held`) already has this id: this one was not taken.
            let _ = (order_id, held);
        }
        Err(other) => return Err(other),
    }
    Ok(())
}
