//! Values without a mapping: what the old account holds that the plan does not decide yet, and
//! so what a backfill would dead-letter for want of a line. Both accounts' definitions are read
//! (a few requests each, [`crate::discovery`]) and compared with the plan's tables by the one
//! rule `cutover_plan::plan::open` states; `backfill` refuses to start while any is left,
//! `inventory` lists them with what each holds back.

use cutover_connect::Connector;
use cutover_model::RecordKind;
use cutover_model::accounts::Accounts;
use cutover_plan::plan::model::Mapping as PlanMapping;
use cutover_plan::plan::open::{OpenValue, open_values};

use crate::discovery::discover_accounts;
use crate::error::EngineError;

/// Both accounts' definitions, uncounted, and the old one's values `mapping` leaves open for a
/// copy of `kinds`.
pub async fn unmapped(
    source: &dyn Connector,
    target: &dyn Connector,
    mapping: &PlanMapping,
    kinds: &[RecordKind],
) -> Result<(Accounts, Vec<OpenValue>), EngineError> {
    let accounts = discover_accounts(source, target, false, &|_, _| {}).await?;
    let open = open_values(mapping, kinds, &accounts.old, &accounts.new);
    Ok((accounts, open))
}

/// The refusal's text: each open value with the line to add.
pub fn describe(open: &[OpenValue]) -> String {
    let mut text = String::new();
    for value in open {
        let held = value.holds_back();
        let counted = if value.value.uses.is_empty() {
            String::new()
        } else {
            format!(" ({held})")
        };
        text.push_str(&format!(
            "  - {}{counted}: {}\n",
            value.name(),
            value.hint()
        ));
    }
    text
}

/// The inventory's section on open values: each with what it holds back and its line.
pub fn summary(open: &[OpenValue]) -> String {
    if open.is_empty() {
        return "\nEvery value of the old account has a mapping.\n".to_owned();
    }
    format!(
        "\nValues without a mapping ({}): `cutover backfill` refuses to start until each is \
         decided\n{}",
        open.len(),
        describe(open)
    )
}
