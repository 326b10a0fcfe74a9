//! The one integration-test binary: every test starts the real server on
//! `127.0.0.1:0` over a fresh database (SQLite by default, PostgreSQL when
//! `TEST_DATABASE_URL` is set) and speaks real HTTP to it.

mod abuse;
mod access;
mod cli;
mod codes;
mod complete;
mod concurrency;
mod connections;
mod customers;
mod email;
mod flow;
mod hashing;
mod helpers;
mod http;
mod jsonapi;
mod limits;
mod listing;
mod operations;
mod outage;
mod receiver;
mod robustness;
mod rotation;
mod schema;
mod smtp_sink;
mod storefront;
mod tls;
mod update_delete;
mod webhooks;
