//! What every command needs, resolved once from the global options.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use cutover_store::{Store, StoreUrl};

use crate::cli::{GlobalArgs, LogFormat};
use crate::exit::{Class, fail};

/// The plan path and the store every command works with.
#[derive(Debug)]
pub struct Context {
    /// The plan file (`--plan`, default `./cutover.toml`).
    pub plan_path: PathBuf,
    /// Where state lives; its `Debug` and `Display` hide any password.
    pub store_url: StoreUrl,
    /// How logs (and progress events) are written.
    pub log_format: LogFormat,
}

impl Context {
    /// Resolves the global options.
    pub fn new(args: &GlobalArgs) -> anyhow::Result<Self> {
        let store_url: StoreUrl = args.store.parse().map_err(|e| {
            fail(
                Class::Config,
                format!(
                    "read --store (or CUTOVER_STORE): {e}; pass `--store sqlite://cutover.db` \
                     or `--store postgres://USER@HOST/DB`"
                ),
            )
        })?;
        Ok(Context {
            plan_path: args.plan.clone(),
            store_url,
            log_format: args.log_format,
        })
    }

    /// Opens the store, creating and migrating it when needed.
    pub async fn open_store(&self) -> anyhow::Result<Arc<dyn Store>> {
        cutover_store::open(&self.store_url)
            .await
            .with_context(|| format!("open the store at {}", self.store_url))
    }
}
