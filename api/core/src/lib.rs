//! Patchwork's core: what every door (GraphQL, the vendor API, FHIR, webhooks, the web
//! client's pages) calls. Layers, in one direction: `service` decides (asking `policy`),
//! `db` reads and writes; `mail` and `webhook` deliver what the services queued.
//!
//! Nothing here names a transport: this crate does not depend on actix or async-graphql, so
//! the compiler keeps HTTP and GraphQL types out of the rules.

pub use patchwork_db as db;
pub use patchwork_db::domain;

pub mod auth;
pub mod config;
pub mod mail;
pub mod metrics;
pub mod policy;
pub mod service;
pub mod state;
pub mod webhook;
