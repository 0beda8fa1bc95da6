//! The plan file, `cutover.toml`: its typed form, the checker behind `cutover plan check`, and
//! the commented template `cutover init` writes. The reference is `docs/plan.md`.

mod check;
pub(crate) mod hint;
pub mod init;
pub mod model;
pub mod names;
mod rules;
mod schema;
pub(crate) mod span;
mod tree;
pub mod values;
mod vocab;
mod walk;

pub use check::{check_str, load};
pub use model::Plan;
