//! Everything the services share: the config file, the event model, the
//! ClickHouse client setup, the DDL with its migrations, and a launcher for a
//! private ClickHouse server used by tests and the local quickstart.

pub mod auth;
pub mod client;
pub mod cluster;
pub mod cluster_ddl;
pub mod config;
pub mod event;
pub mod local_cluster;
pub mod local_server;
pub mod migrate;
pub mod runtime;
pub mod salts;
pub mod table_check;

pub use client::{connect, Db, DbError};
pub use config::{Config, ConfigError};
pub use event::{EventRow, SaltRow};
