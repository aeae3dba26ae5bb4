//! Callback verification for every provider must never panic, whatever arrives.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use paybridge::{CallbackRequest, Config, Gateway, Provider};

fn gateways() -> &'static [Gateway] {
    static GATEWAYS: OnceLock<Vec<Gateway>> = OnceLock::new();
    GATEWAYS.get_or_init(|| {
        let config = Config::from_toml(
            "[vpay88]\nbase_url = \"http://127.0.0.1:9\"\nusername = \"m\"\napi_key = \"k\"\nsecret_keys = [\"a\", \"b\"]\n\
             [one1pay]\nbase_url = \"http://127.0.0.1:9\"\nusername = \"m\"\napi_key = \"k\"\nsecret_key = \"s\"\n\
             [onepunch]\nmonster_token = \"MON-x\"\nmonster_key = \"key\"\n",
            "fuzz",
        )
        .expect("a valid fuzz configuration");
        paybridge::providers::BUILT_IN.iter().map(|p| Gateway::for_provider(&config, *p).expect("a gateway")).collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let (flags, body) = data.split_first().unwrap_or((&0, &[]));
    let content_type = (flags & 1 == 1).then_some("application/x-www-form-urlencoded");
    let provider_ref = (flags & 2 == 2).then_some("OP1");
    for gateway in gateways() {
        let request = CallbackRequest::new(body).with_content_type(content_type).with_provider_ref(provider_ref);
        let _ = gateway.verify_callback(&request);
    }
});
