//! Everything the services share: the config file, the event model, the
//! ClickHouse client setup, the DDL with its migrations, the data lifecycle
//! (retention, site deletion and export), the generated privacy statement
//! ([`privacy_statement`]), the HTTP listener with its
//! connection limits ([`listener`]), and a launcher for a private
//! ClickHouse server used by tests and the local quickstart.

pub mod auth;
pub mod client;
pub mod cluster;
pub mod cluster_ddl;
pub mod config;
pub mod doctor;
pub mod erase;
pub mod event;
pub mod event_docs;
pub mod export;
pub mod import;
pub mod listener;
pub mod local_cluster;
pub mod local_server;
pub mod migrate;
pub mod privacy_statement;
pub mod retention;
pub mod row_binary;
pub mod runtime;
pub mod salts;
pub mod site_delete;
pub mod site_tables;
pub mod source;
pub mod table_check;
pub mod text;

pub use client::{connect, Db, DbError};
pub use config::{Config, ConfigError};
pub use event::{EventRow, SaltRow, NO_SCROLL_DEPTH};
pub use row_binary::EncodedRows;
