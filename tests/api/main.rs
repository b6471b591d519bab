//! API tests: each starts the real server against its own database and speaks HTTP to it.

mod admin;
mod audit;
mod audit_log;
mod auth;
mod batching;
mod contract;
mod database;
mod hostile_input;
mod http;
mod mail;
mod mail_delivery;
mod mail_triggers;
mod observability;
mod process;
mod team_access;
mod team_leaks;
mod vendor;
