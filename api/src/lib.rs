//! Patchwork: who else is working with this child, and how do I reach them?
//!
//! Layers, in one direction: `http` and `graphql` translate, `service` decides (asking
//! `policy`), `db` reads and writes. The transports live in this crate; everything below them
//! is `patchwork-core` (services, rules, mail, webhooks) over `patchwork-db`, re-exported here
//! under their module names.

pub use patchwork_core::{
    auth, config, db, domain, mail, metrics, policy, service, state, webhook,
};

pub mod cli;
pub mod graphql;
pub mod http;
pub mod seed;
pub mod startup;
pub mod telemetry;
