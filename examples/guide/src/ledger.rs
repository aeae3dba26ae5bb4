use paybridge::{Config, Gateway};

/// The gateway `paybridge.toml` configures, keeping its orders in the ledger its
/// `[ledger]` names, when it names one.
pub async fn gateway() -> Result<Gateway, paybridge::Error> {
    let config = Config::load("paybridge.toml".as_ref())?;
    let mut gateway = Gateway::from_config(&config)?;
    if let Some(ledger) = config.open_ledger().await? {
        // Applies the migrations the database lacks (`migrate = false` refuses instead).
        gateway = gateway.with_ledger(ledger);
    }
    Ok(gateway)
}
