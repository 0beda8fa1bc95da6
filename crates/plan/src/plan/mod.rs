//! The plan file, `cutover.toml`: its typed form, the checker behind `cutover plan check`, and
//! the commented template `cutover init` writes. The reference is `docs/plan.md`.

pub mod accounts;
mod check;
pub mod discovered;
pub(crate) mod hint;
pub mod init;
pub mod model;
pub mod names;
mod new_groups;
pub mod open;
mod rules;
mod schema;
pub(crate) mod span;
mod tree;
pub mod values;
mod vocab;
mod walk;

pub use check::{Checked, check_str, check_with, load, load_checked};
pub use model::Plan;
