//! The integration guide's examples that are parts of a program rather than a
//! whole one (those are the binaries); each module is one of its code blocks.

pub mod ledger;
pub mod payout;
pub mod request;
