//! API tests: each starts the real server against its own database and speaks HTTP to it.
//! Shared builders live in `patchwork_tests` (`world` for the town, the child with a hidden
//! service's involvement and one helper per operation; `smtp` for a mailbox); each file here is
//! one topic.

mod admin;
mod audit;
mod audit_log;
mod auth;
mod bad_input;
mod batching;
mod browser;
mod browser_smoke;
mod callers;
mod changes;
mod contract;
mod database;
mod family;
mod fhir;
mod graphiql;
mod hostile_input;
mod http;
mod kept_teams;
mod mail;
mod mail_delivery;
mod mail_leaks;
mod mail_preferences;
mod mail_tasks;
mod mail_team;
mod observability;
mod orders_and_search;
mod persisted;
mod process;
mod relay;
mod subscriptions;
mod team_leaks;
mod team_reading;
mod team_writes;
mod vendor;
mod web_client;
mod webhooks;
