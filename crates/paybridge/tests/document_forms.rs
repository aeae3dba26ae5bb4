//! The documents' example requests, built from paybridge's requests by each
//! dialect's transformers, compare field by field with `fixtures/*/create_*/request.txt`.

use paybridge::{
    DepositRequest, DepositRequestBuilder, Money, WithdrawalRequest, WithdrawalRequestBuilder,
};
use paybridge_one1pay::One1Pay;
use paybridge_testkit::assert_form_is_fixture;
use paybridge_vpay88::{DepositForm, Vpay88, WithdrawalForm};

/// The customer both documents' deposit examples name.
fn documents_deposit(currency: &str) -> DepositRequestBuilder {
    DepositRequest::builder("Example_123", Money::parse("100", currency).unwrap())
        .customer_name("john")
        .email("john@example.com")
        .phone("601012456789")
        .redirect_url("https://www.google.com")
}

/// The payee both documents' payout examples name.
fn documents_payout(currency: &str) -> WithdrawalRequestBuilder {
    WithdrawalRequest::builder(
        "Example_123",
        Money::parse("100", currency).unwrap(),
        "12",
        "John Doe",
        "12332343432",
    )
    .bank_branch("Kentucky")
}

#[test]
fn vpay88_myr_deposit_with_mode_digi() {
    let request = documents_deposit("MYR").mode("DIGI").build().unwrap();
    let form = DepositForm::new(&Vpay88::dialect(), &request).unwrap();
    assert_form_is_fixture("vpay88", "create_deposit", &form);
}

#[test]
fn vpay88_myr_payout_with_a_branch() {
    let request = documents_payout("MYR").build().unwrap();
    let form = WithdrawalForm::new(&Vpay88::dialect(), &request).unwrap();
    assert_form_is_fixture("vpay88", "create_withdrawal", &form);
}

#[test]
fn one1pay_thb_deposit_with_thaiqr_bank_105_and_the_customers_account() {
    let request = documents_deposit("THB")
        .customer_bank_holder_name("tang")
        .customer_bank_account("1234")
        .bank_id("105")
        .payment_method("thaiqr")
        .callback_url("https://abc.com/deposit/callback")
        .build()
        .unwrap();
    let form = DepositForm::new(&One1Pay::dialect(), &request).unwrap();
    assert_form_is_fixture("one1pay", "create_deposit", &form);
}

#[test]
fn one1pay_thb_payout_with_a_branch_and_its_callback_url() {
    let request = documents_payout("THB")
        .callback_url("https://abc.com/withdraw/callback")
        .build()
        .unwrap();
    let form = WithdrawalForm::new(&One1Pay::dialect(), &request).unwrap();
    assert_form_is_fixture("one1pay", "create_withdrawal", &form);
}
