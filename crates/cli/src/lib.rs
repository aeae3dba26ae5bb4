//! The library half of the `paybridge` command: the demo and the wiring it
//! shares with the end-to-end tests.
#![deny(missing_docs)]

pub mod demo;
pub mod recorded;
