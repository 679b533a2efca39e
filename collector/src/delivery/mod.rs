//! From accepted rows to ClickHouse, without losing any: the in-memory
//! queue and its batch writer ([`batcher`]) or, with `durability = "spool"`,
//! the fsynced spool ([`spool`]) and its writer ([`spool_writer`]); the
//! storage seam ([`sink`]); and the files of batches ClickHouse would not
//! take ([`dead_letter`]).

pub mod batcher;
pub mod dead_letter;
pub mod sink;
pub mod spool;
pub mod spool_writer;
