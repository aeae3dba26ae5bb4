#[derive(serde::Deserialize)]
struct MyApp {
    listen: String,
    paybridge: paybridge::Config, // [paybridge], [paybridge.vpay88], [paybridge.ledger], ...
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let app: MyApp = toml::from_str(&std::fs::read_to_string("myapp.toml")?)?;
    let gateway = paybridge::Gateway::from_config(&app.paybridge)?;
    println!("{} for {}", app.listen, gateway.provider());
    Ok(())
}
