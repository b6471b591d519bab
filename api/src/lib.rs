//! Patchwork: who else is working with this child, and how do I reach them?
//!
//! Layers, in one direction: `http` and `graphql` translate, `service` decides (asking
//! `policy`), `db` reads and writes.

pub use patchwork_db as db;
pub use patchwork_db::domain;

pub mod auth;
pub mod cli;
pub mod config;
pub mod graphql;
pub mod http;
pub mod mail;
pub mod metrics;
pub mod policy;
pub mod seed;
pub mod service;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod webhook;
