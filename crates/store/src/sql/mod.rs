//! The SQL implementation of the store, written once over sqlx and instantiated for SQLite and
//! PostgreSQL. Both backends accept the same statements (`$N` parameters, `ON CONFLICT`,
//! `RETURNING`); what differs (how a write transaction starts, row locks, `SKIP LOCKED`) is a
//! constant of [`dialect::Dialect`].

pub(crate) mod alerts;
pub(crate) mod codec;
pub(crate) mod created;
pub(crate) mod dialect;
pub(crate) mod kpi;
pub(crate) mod kpi_buckets;
pub(crate) mod kpi_created;
pub(crate) mod leases;
pub(crate) mod postgres;
pub(crate) mod probes;
pub(crate) mod sqlite;
pub(crate) mod store;
pub(crate) mod tx;
