//! Test vectors. Each expected digest was computed outside this crate with coreutils:
//! `printf '%s' '<concatenation>' | md5sum`, where `<concatenation>` is written out
//! literally in the comment beside the vector. None of them come from this code.

use super::*;

#[test]
fn md5_of_nothing_is_the_rfc_1321_vector() {
    // printf '' | md5sum
    assert_eq!(md5_hex(&[]), "d41d8cd98f00b204e9800998ecf8427e");
}

#[test]
fn form_callback_token_is_secret_then_order_id() {
    // printf '%s' 'demo-secret-keyORDER-1' | md5sum
    assert_eq!(
        form_callback_token("demo-secret-key", "ORDER-1"),
        "40de4df682b69794eadd3c865ab1757f"
    );
    // printf '%s' 'secret20073' | md5sum
    assert_eq!(
        form_callback_token("secret", "20073"),
        "bbff7a4cbd92314bc83180b4027897dc"
    );
}

#[test]
fn form_callback_token_order_matters() {
    // order_id + secret_key is the wrong concatenation and must not collide.
    assert_ne!(
        form_callback_token("ORDER-1", "demo-secret-key"),
        form_callback_token("demo-secret-key", "ORDER-1")
    );
}

#[test]
fn onepunch_listing_signature_vectors() {
    // printf '%s' '888MON-demodemo-monster-key' | md5sum
    assert_eq!(
        onepunch_listing_signature(888, "MON-demo", "demo-monster-key"),
        "6e88d3db3fd35ded60e92c24c5a7fcaa"
    );
    // printf '%s' '0MON-demodemo-monster-key' | md5sum  (magic_num 0 prints as "0")
    assert_eq!(
        onepunch_listing_signature(0, "MON-demo", "demo-monster-key"),
        "8aaa2bfa0efb0425f6ef7473e4f5482b"
    );
}

#[test]
fn onepunch_create_signature_with_order_num() {
    // printf '%s' '88810000ali-personMON-demo_some_order_num_123_http://yourcompany.com/notify/wechathttp://yourcompany.com/pay/successdemo-monster-key' | md5sum
    let fields = OnepunchCreateFields {
        magic_num: 888,
        amount_fen: 10000,
        payment_method: "ali-person",
        monster_token: "MON-demo",
        order_num: Some("_some_order_num_123_"),
        notify_url: "http://yourcompany.com/notify/wechat",
        return_url: "http://yourcompany.com/pay/success",
    };
    assert_eq!(
        onepunch_create_signature(&fields, "demo-monster-key"),
        "91b165dae986b9fae8068f7227b86f66"
    );
}

#[test]
fn onepunch_create_signature_with_empty_order_num() {
    // printf '%s' '888100ali-personMON-demohttp://n.example/notifyhttp://r.example/returndemo-monster-key' | md5sum
    let fields = OnepunchCreateFields {
        magic_num: 888,
        amount_fen: 100,
        payment_method: "ali-person",
        monster_token: "MON-demo",
        order_num: None,
        notify_url: "http://n.example/notify",
        return_url: "http://r.example/return",
    };
    let expected = "704818cc3d78f5f5646ad232f8109689";
    assert_eq!(
        onepunch_create_signature(&fields, "demo-monster-key"),
        expected
    );
    let empty = OnepunchCreateFields {
        order_num: Some(""),
        ..fields
    };
    assert_eq!(
        onepunch_create_signature(&empty, "demo-monster-key"),
        expected
    );
}

#[test]
fn onepunch_status_signature_vector() {
    // printf '%s' 'OP9f2dca888MON-demodemo-monster-key' | md5sum
    assert_eq!(
        onepunch_status_signature("OP9f2dca", 888, "MON-demo", "demo-monster-key"),
        "4c94df908144c3a41e6cd7d43a141077"
    );
}

#[test]
fn onepunch_notification_signature_true() {
    // printf '%s' 'trueTRANSACTION SUCCEEDOP9f2dca100MON-demo_some_order_num_demo-monster-key' | md5sum
    let fields = OnepunchNotificationFields {
        transaction_status: true,
        message: "TRANSACTION SUCCEED",
        payment_token: "OP9f2dca",
        amount_fen: 100,
        monster_token: "MON-demo",
        order_num: Some("_some_order_num_"),
    };
    assert_eq!(
        onepunch_notification_signature(&fields, "demo-monster-key"),
        "926ae4978db239a87c0682e9d100fbec"
    );
}

#[test]
fn onepunch_notification_signature_false_zero_amount_no_order_num() {
    // printf '%s' 'falseTRANSACTION FAILEDOP9f2dca0MON-demodemo-monster-key' | md5sum
    let fields = OnepunchNotificationFields {
        transaction_status: false,
        message: "TRANSACTION FAILED",
        payment_token: "OP9f2dca",
        amount_fen: 0,
        monster_token: "MON-demo",
        order_num: None,
    };
    assert_eq!(
        onepunch_notification_signature(&fields, "demo-monster-key"),
        "4a6bd41801681e352dedd724dbfa1d51"
    );
}

#[test]
fn a_notification_matches_its_signature_in_either_case_and_nothing_else() {
    let fields = OnepunchNotificationFields {
        transaction_status: true,
        message: "TRANSACTION SUCCEED",
        payment_token: "OP9f2dca",
        amount_fen: 18_446_744_073_709_551_615,
        monster_token: "MON-demo",
        order_num: Some("_some_order_num_"),
    };
    let signature = onepunch_notification_signature(&fields, "demo-monster-key");
    // printf '%s' 'trueTRANSACTION SUCCEEDOP9f2dca18446744073709551615MON-demo_some_order_num_demo-monster-key' | md5sum
    assert_eq!(signature, "a8d78c08b90565d11f6d6b87af67ec58");
    let matches =
        |received: &str| onepunch_notification_matches(&fields, "demo-monster-key", received);
    assert!(matches(&signature));
    assert!(matches(&signature.to_uppercase()));
    let mut last_digit_changed = signature.clone();
    last_digit_changed.replace_range(31.., if signature.ends_with('0') { "1" } else { "0" });
    assert!(!matches(&last_digit_changed));
    assert!(!matches(&signature[..31]));
    assert!(!matches(&format!("{signature}0")));
    assert!(!matches(&format!("{}g", &signature[..31])), "not hex");
    assert!(!matches(""));
    assert!(!onepunch_notification_matches(
        &fields,
        "other-monster-key",
        &signature
    ));
}

#[test]
fn verify_accepts_either_case_and_rejects_everything_else() {
    let good = "40de4df682b69794eadd3c865ab1757f";
    assert!(verify_hex(good, good));
    assert!(verify_hex(good, "40DE4DF682B69794EADD3C865AB1757F"));
    assert!(!verify_hex(good, "40de4df682b69794eadd3c865ab1757e"));
    assert!(!verify_hex(good, &good[..31]));
    assert!(!verify_hex(good, ""));
    assert!(!verify_hex("", ""));
    assert!(!verify_hex(good, &format!("{good}0")));
    let long = "a".repeat(100);
    assert!(!verify_hex(&long, &long));
}

#[test]
fn verify_any_finds_the_matching_secret() {
    let token = form_callback_token("bank-secret", "A1");
    let candidates = [
        form_callback_token("ewallet-secret", "A1"),
        form_callback_token("bank-secret", "A1"),
    ];
    assert_eq!(verify_any(&candidates, &token), Some(1));
    assert_eq!(
        verify_any(&candidates, &form_callback_token("other", "A1")),
        None
    );
    assert_eq!(verify_any(Vec::<String>::new(), &token), None);
}
