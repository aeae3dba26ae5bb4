//! The library half of the `paybridge` command: the demo, the wiring it shares
//! with the end-to-end tests, and the recorded scenarios behind the fixtures.
#![deny(missing_docs)]

pub mod demo;
pub mod harness;
pub mod recorded;
