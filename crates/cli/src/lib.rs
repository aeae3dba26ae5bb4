//! The library half of the `paybridge` command: the demo, the wiring it shares
//! with the end-to-end tests, the recorded scenarios behind the fixtures, and
//! `paybridge reconcile`.
#![deny(missing_docs)]

pub mod csv_cells;
pub mod demo;
mod demo_serve;
pub mod harness;
pub mod meter;
pub mod reconcile;
pub mod recorded;

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
