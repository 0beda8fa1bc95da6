//! Verification: both sides read once, each record put in the one fingerprint form (values in
//! the new side's vocabulary, references in the old side's key space), and compared through the
//! links: **missing** (on the old side, not linked, or linked to a new record that is gone),
//! **extra** (on the new side, not linked, yet written by cutover: it carries cutover's mark, or
//! belongs to a record that does; a duplicate) and **different** (with a field-level diff). What
//! the target cannot hold ([`Losses`], from the connectors' capabilities, as `cutover inventory`
//! names it) is levelled on both forms of a linked pair and counted as "not comparable:
//! <reason>"; records on the new side with no link and no mark (what the target account held
//! before the move, or what people created there since) are reported as present only on the new
//! side. Neither is a difference.
//!
//! Extras are told by cutover's mark ([`Observed::origin`]), not by kind: a contact cutover
//! created and failed to link is a duplicate, a ticket a customer opened on the new platform is
//! not. Some records carry no mark on some platforms (groups, roles, fields, Freshdesk's agents,
//! companies and ratings; attachments; comments Zendesk imported with their ticket; contacts
//! with an external id of
//! their own). No kind is presumed a duplicate for that, as verify did before marks were read:
//! cutover finds those before creating them by what names them (name, e-mail, label, external
//! id, the ticket rated, a comment's author, time and text), so a crash cannot make a second
//! copy, and a comment or attachment written with its parent is extra when its parent is (see
//! [`parent_of`]).
//!
//! It takes no more requests than reading both sides once: no record is fetched on its own,
//! except a linked one that a change feed does not show yet (Zendesk's exports leave out their
//! last minute), so a verification straight after a backfill is right.
//!
//! Its memory stays nearly flat. The links of the listed kinds (tickets, contacts, …) are held
//! compactly (both ids and the last writer). Each listed kind is compared on its own: the new
//! side's records are written to a temporary file as they are read (`held`: in memory, only
//! where each one is), then the old side's are read page by page, each compared as it comes
//! with its copy read back, and let go. The records read per ticket (comments and
//! attachments, most of an account) are read and compared [`TICKETS_PER_PART`] tickets at a
//! time, each old ticket's beside its copy's, with their links looked up for that part alone,
//! and let go; the parts follow the old tickets' order, or their copies' where only the new
//! side reads children in bulk (its stream then reads little past each part). What stays is
//! the tickets' ids and the report: counts, and the records that differ.
//!
//! Layout: `run` reads and compares kind after kind and part after part; `readers` reads a
//! part and the links; `held` keeps the new side's records of a kind on disk; `compare`
//! puts a linked pair side by side (through `forms` and [`crate::losses`]); `records` compares a
//! few pairs read by id with the same comparison (the bridge's rolling re-check); `report` is
//! what it found, and `summary` how a person reads it in a terminal; `last` the outcome kept for
//! the `verify_clean` gate.

mod compare;
mod held;
mod last;
mod readers;
mod records;
mod report;
mod run;
mod summary;

pub use crate::losses::Losses;
pub use compare::{compare, compare_with, parent_of};
pub use last::{LAST_VERIFY_KEY, LastVerify, VerifiedBy};
pub use readers::Snapshot;
pub use records::{Pair, PairsReport, Settled, verify_pairs};
pub use report::{Different, Group, KindReport, Missing, Pages, VerifyReport};
pub use run::{TICKETS_PER_PART, verify, verify_in_parts};
