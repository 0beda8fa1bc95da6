//! The plan's mapping tables, in both directions.
//!
//! Old → new reads a table as written (`hold = "pending"`); new → old reads its inverse. Where the
//! inverse is ambiguous (`hold` and `pending` both → `pending`), the rule is: the old value spelled
//! like the new one wins (`pending` ← `pending`); failing that, the first old value in byte order.
//! Statuses, priorities, roles (by name), groups (by name) and custom ticket fields (by key or by
//! the field's title) must be mapped: a value with no entry is a [`Hole`], which dead-letters the
//! record with the line to add to the plan; it never fails a run. `"drop"` leaves a value behind:
//! an optional value becomes empty, a record whose identity is dropped (a group, a role, an agent,
//! a ticket whose status is dropped) is not copied.
//!
//! The engine fingerprints every record in one form, whichever side it was read from: values in
//! the **new** side's vocabulary, references in the **old** side's key space.

use std::collections::BTreeMap;

use cutover_model::accounts::AccountSnapshot;
use cutover_model::accounts::same_name;
use cutover_model::records::{
    Agent, CustomFieldDef, CustomFields, FieldOption, FieldTarget, Group, Record, Role, Ticket,
};
use cutover_model::{Observed, PlatformId, RecordKind, Side};
use cutover_plan::plan::model::Mapping as PlanMapping;
use cutover_plan::plan::names::MatchBy;
use cutover_plan::plan::open::{Table as OpenTable, choices, hint, toml_key};
use cutover_plan::plan::values::Target;

/// A value with no entry in its table: names the value and the line to add to the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hole {
    /// The table, as the plan names it (`statuses`).
    pub table: &'static str,
    /// What the value is (`status`).
    pub what: &'static str,
    /// The value.
    pub value: String,
    /// The side whose vocabulary the value is in.
    pub from: Side,
    /// What the line may say, when the run knows the new account (see [`Mapping::know_choices`]).
    pub choices: Vec<String>,
}

impl Hole {
    /// The reason stored with the dead letter, naming the record:
    /// `ticket 17 on the old side: status "escalated" has no mapping: add escalated = "…" to [mapping.statuses]`.
    pub fn reason(&self, kind: RecordKind, id: &PlatformId) -> String {
        let line = match (self.from, open_table(self.table)) {
            (Side::Old, Some(table)) => hint(table, &self.value, &self.choices),
            (Side::Old, None) => format!(
                "add {} = \"…\" to [mapping.{}]",
                toml_key(&self.value),
                self.table
            ),
            // A group only the new side has: the plan's way back for it.
            (Side::New, _) if self.table == "groups" => format!(
                "add {} = \"…\" to [mapping.new_groups] (an old group, \"create\" or \"drop\"; \
                 `cutover plan refresh` adds the line)",
                toml_key(&self.value)
            ),
            (Side::New, _) => format!("add … = {:?} to [mapping.{}]", self.value, self.table),
        };
        format!(
            "{kind} {id} on the {} side: {} {:?} has no mapping: {line}",
            self.from, self.what, self.value
        )
    }
}

/// The plan's table of this name, where its values come from the accounts.
fn open_table(name: &str) -> Option<OpenTable> {
    OpenTable::ALL.into_iter().find(|t| t.key() == name)
}

/// What a record becomes in the other side's vocabulary.
#[expect(clippy::large_enum_variant, reason = "a short-lived value, moved once")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Translated {
    /// The record, translated.
    Record(Record),
    /// The plan leaves it behind; the text says why.
    Dropped(String),
}

/// One table of the plan, both ways.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Table {
    name: &'static str,
    what: &'static str,
    forward: BTreeMap<String, Target>,
    backward: BTreeMap<String, String>,
    /// What a value of the old side may map to on the new one, for hints.
    choices: Vec<String>,
    /// For a value of the new side that no old value maps to, the new value it is nearest to,
    /// whose old value it takes on the way back (see [`STATUS_KIN`]).
    kin: &'static [(&'static str, &'static str)],
    /// The plan's own way back for values only the new side has (`[mapping.new_groups]`): new
    /// value = old value, `"create"` (its own name) or `"drop"`. Looked up before `backward`.
    back: BTreeMap<String, Target>,
}

/// The statuses one platform has and another lacks, each with the status it is nearest to on
/// the way back (new to old): a Zendesk ticket `new` (no agent has touched it) is `open` on a
/// Freshdesk, whose statuses start at open; `hold` (waiting on a third party) is `pending`.
/// Without them the bridge's new-to-old direction could not carry a ticket opened on a Zendesk
/// new side into a Freshdesk old side, because `[mapping.statuses]` only runs old to new.
const STATUS_KIN: &[(&str, &str)] = &[("new", "open"), ("hold", "pending")];

impl Table {
    fn new(name: &'static str, what: &'static str, forward: &BTreeMap<String, Target>) -> Self {
        let mut backward: BTreeMap<String, String> = BTreeMap::new();
        // Keys come in byte order, so the first old value per new value is kept unless the old
        // value spelled like the new one comes later.
        for (old, target) in forward {
            if let Some(new) = target.resolve(old) {
                let keep = backward.get(new).is_some_and(|kept| kept == new);
                if !keep && (old == new || !backward.contains_key(new)) {
                    backward.insert(new.to_owned(), old.clone());
                }
            }
        }
        Table {
            name,
            what,
            forward: forward.clone(),
            backward,
            choices: Vec::new(),
            kin: &[],
            back: BTreeMap::new(),
        }
    }

    /// The value on the other side (`None`: dropped), or the hole.
    fn map(&self, value: &str, from: Side) -> Result<Option<String>, Hole> {
        let found = match from {
            Side::Old => self
                .forward
                .get(value)
                .map(|target| target.resolve(value).map(str::to_owned)),
            Side::New => match self.back.get(value) {
                Some(target) => Some(target.resolve(value).map(str::to_owned)),
                None => self
                    .backward
                    .get(value)
                    .or_else(|| {
                        // A value of the new side no old value maps to (the plan's tables run old
                        // to new): the old value of its nearest kin, when the table has one.
                        let (_, kin) = self.kin.iter().find(|(v, _)| *v == value)?;
                        self.backward.get(*kin)
                    })
                    .cloned()
                    .map(Some),
            },
        };
        found.ok_or_else(|| Hole {
            table: self.name,
            what: self.what,
            value: value.to_owned(),
            from,
            choices: self.choices.clone(),
        })
    }
}

/// The plan's mapping tables, ready to translate records either way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    statuses: Table,
    priorities: Table,
    roles: Table,
    groups: Table,
    fields: Table,
    /// `[mapping.ticket_types]`; `None`: the plan has no such table, and a type is carried
    /// under its own name (the target leaves one it lacks empty).
    ticket_types: Option<Table>,
    /// `[mapping.brands]`; `None`: the plan has no such table, and no brand is carried.
    brands: Option<Table>,
    match_by: MatchBy,
    agents: Table,
    /// The e-mail of the author given to history written by agents who are not copied.
    unmatched: Option<String>,
    /// The new side's group given to tickets whose group is not carried.
    unmatched_group: Option<String>,
    /// Titles of custom ticket fields by (side, key): the plan may name a field by its title.
    titles: BTreeMap<(Side, String), String>,
    /// Keys of custom ticket fields by (side, title): the way back from a title.
    keys: BTreeMap<(Side, String), String>,
    /// The choices of each choice field by (side, the records it is on, key): a value is
    /// carried as the choice of the same name on the other side (Zendesk stores
    /// `mid_market` for the choice "Mid-market", Freshdesk stores "Mid-market").
    options: BTreeMap<(Side, FieldTarget, String), Vec<FieldOption>>,
    /// The plan's tables as written, for what asks which values they decide.
    plan: PlanMapping,
    /// The new platform, when it has no place for an agent who has left
    /// (`Capabilities::agents_who_left`): such an agent is not carried.
    leavers_not_carried: Option<cutover_model::PlatformKind>,
    /// The plan's `copy.since`: old tickets last changed before it are left behind, with their
    /// comments, attachments and ratings.
    since: Option<chrono::NaiveDate>,
    /// The plan's `copy.inline_images = "link"`: an old comment's inline images stay where they
    /// are, its body pointing at them, instead of being uploaded again.
    link_inline_images: bool,
}

impl Mapping {
    /// The tables of a plan's `[mapping]`.
    pub fn from_plan(plan: &PlanMapping) -> Self {
        Mapping {
            statuses: Table {
                kin: STATUS_KIN,
                ..Table::new("statuses", "status", &plan.statuses)
            },
            priorities: Table::new("priorities", "priority", &plan.priorities),
            roles: Table::new("roles", "role", &plan.roles),
            groups: Table {
                back: plan.new_groups.clone(),
                ..Table::new("groups", "group", &plan.groups)
            },
            fields: Table::new("fields", "custom field", &plan.fields),
            ticket_types: plan
                .ticket_types
                .as_ref()
                .map(|types| Table::new("ticket_types", "ticket type", types)),
            brands: plan
                .brands
                .as_ref()
                .map(|brands| Table::new("brands", "brand", brands)),
            match_by: plan.agents.match_by,
            agents: Table::new("agents.overrides", "agent", &plan.agents.overrides),
            unmatched: plan
                .agents
                .unmatched
                .as_ref()
                .map(|e| e.as_str().to_owned()),
            unmatched_group: plan.unmatched_group.clone(),
            titles: BTreeMap::new(),
            keys: BTreeMap::new(),
            options: BTreeMap::new(),
            leavers_not_carried: None,
            plan: plan.clone(),
            since: None,
            link_inline_images: false,
        }
    }

    /// The plan's tables as written.
    pub fn plan(&self) -> &PlanMapping {
        &self.plan
    }

    /// Learns what the new account offers each table, so a value with no mapping is reported
    /// with the choices for its line.
    pub fn know_choices(&mut self, new: &AccountSnapshot) {
        let plan = self.plan.clone();
        for (table, open) in [
            (&mut self.statuses, OpenTable::Statuses),
            (&mut self.priorities, OpenTable::Priorities),
            (&mut self.roles, OpenTable::Roles),
            (&mut self.groups, OpenTable::Groups),
            (&mut self.fields, OpenTable::Fields),
        ] {
            table.choices = choices(open, new, &open.taken(&plan, new.platform));
        }
        if let Some(types) = &mut self.ticket_types {
            types.choices = choices(OpenTable::TicketTypes, new, &[]);
        }
        if let Some(brands) = &mut self.brands {
            brands.choices = choices(OpenTable::Brands, new, &[]);
        }
    }

    /// The tables of a plan's `[mapping]`, and its `copy.since`.
    pub fn for_plan(plan: &cutover_plan::Plan) -> Self {
        use cutover_plan::plan::names::InlineImages;
        Mapping::from_plan(&plan.mapping)
            .history_since(plan.copy.since)
            .linking_inline_images(plan.copy.inline_images == InlineImages::Link)
    }

    /// Keeps old inline images where they are (the plan's `copy.inline_images = "link"`).
    pub fn linking_inline_images(mut self, link: bool) -> Self {
        self.link_inline_images = link;
        self
    }

    /// Whether old inline images stay where they are, the copied bodies linking to them.
    pub fn links_inline_images(&self) -> bool {
        self.link_inline_images
    }

    /// Leaves the old side's agents who have left behind, when the new platform `to` has no
    /// place for them (`Capabilities::agents_who_left`): their history takes the stand-in.
    pub fn leaving_leavers_behind(&mut self, to: Option<cutover_model::PlatformKind>) {
        self.leavers_not_carried = to;
    }

    /// Leaves old tickets last changed before `since` behind (the plan's `copy.since`).
    pub fn history_since(mut self, since: Option<chrono::NaiveDate>) -> Self {
        self.since = since;
        self
    }

    /// Translates a record as it was read: an old ticket last changed before the plan's
    /// `copy.since` is left behind (its children with it), whatever else it holds; anything else
    /// as [`Mapping::translate`] does. The change time is the platform's own (`updated_at`; a
    /// ticket read without one counts from its creation), so a ticket answered after that day
    /// is copied with its whole history, and a later catch-up finds it.
    pub fn translate_observed(&self, observed: &Observed) -> Result<Translated, Hole> {
        if let Some(reason) = self.before_since(observed) {
            return Ok(Translated::Dropped(reason));
        }
        self.translate(observed.record.clone(), observed.side)
    }

    /// Why `observed` is history the plan's `copy.since` leaves behind, if it is.
    fn before_since(&self, observed: &Observed) -> Option<String> {
        let since = self.since?;
        let Record::Ticket(ticket) = &observed.record else {
            return None;
        };
        let changed = observed
            .updated_at
            .unwrap_or(ticket.created_at)
            .date_naive();
        (observed.side == Side::Old && changed < since).then(|| {
            format!(
                "last changed {changed}, before copy.since = {since}: history left behind by \
                 the plan"
            )
        })
    }

    /// The e-mail of the author of history written by agents who are not copied.
    pub fn unmatched_author(&self) -> Option<&str> {
        self.unmatched.as_deref()
    }

    /// The new side's group given to tickets whose group is not carried.
    pub fn unmatched_group(&self) -> Option<&str> {
        self.unmatched_group.as_deref()
    }

    /// Learns a custom field's title, so `[mapping.fields]` may name it by title (Zendesk keys
    /// ticket field values by the field's id).
    pub fn learn_field(&mut self, side: Side, field: &CustomFieldDef) {
        if !field.options.is_empty() {
            self.options.insert(
                (side, field.target, field.key.clone()),
                field.options.clone(),
            );
        }
        if field.target == FieldTarget::Ticket {
            self.titles
                .insert((side, field.key.clone()), field.title.clone());
            self.keys
                .insert((side, field.title.clone()), field.key.clone());
        }
    }

    /// The old group or role whose copy the old one named `name` shares, when the plan maps
    /// several onto one new value (`"Tier 2" = "Escalations"`, `VIP = "Escalations"`): the one
    /// spelled like the new value, else the first in byte order, is copied (or found); the
    /// others are linked to nothing of their own, and what refers to them refers to its copy.
    pub fn merged_into(&self, kind: RecordKind, name: &str) -> Option<&str> {
        let table = match kind {
            RecordKind::Group => &self.groups,
            RecordKind::Role => &self.roles,
            _ => return None,
        };
        let new = table.forward.get(name)?.resolve(name)?;
        let kept = table.backward.get(new)?;
        (kept != name).then_some(kept.as_str())
    }

    /// Whether the plan maps several old groups or roles onto one new value.
    pub fn has_merges(&self) -> bool {
        [
            (RecordKind::Group, &self.groups),
            (RecordKind::Role, &self.roles),
        ]
        .iter()
        .any(|(kind, table)| {
            table
                .forward
                .keys()
                .any(|old| self.merged_into(*kind, old).is_some())
        })
    }

    /// Of the old side's groups and roles (kind, id, name), each one that shares another's
    /// copy ([`Mapping::merged_into`]), with the id of the one it shares.
    pub(crate) fn merges<'a>(
        &self,
        records: impl IntoIterator<Item = (RecordKind, &'a PlatformId, &'a str)>,
    ) -> BTreeMap<(RecordKind, PlatformId), PlatformId> {
        let records: Vec<(RecordKind, &PlatformId, &str)> = records.into_iter().collect();
        let mut merges = BTreeMap::new();
        for (kind, id, name) in &records {
            let Some(kept) = self.merged_into(*kind, name) else {
                continue;
            };
            if let Some((_, kept_id, _)) = records.iter().find(|(k, _, n)| k == kind && *n == kept)
            {
                merges.insert((*kind, (*id).clone()), (*kept_id).clone());
            }
        }
        merges
    }

    /// Translates a record read on `from` into the other side's vocabulary. References are left
    /// as they are.
    pub fn translate(&self, record: Record, from: Side) -> Result<Translated, Hole> {
        match record {
            Record::Ticket(ticket) => self.ticket(ticket, from),
            Record::Group(group) => self.group(group, from),
            Record::Role(role) => self.role(role, from),
            Record::Agent(agent) => self.agent(agent, from),
            Record::CustomField(field) => self.field_def(field, from),
            Record::Organization(mut org) => {
                self.choices_of(FieldTarget::Organization, &mut org.custom_fields, from);
                Ok(Translated::Record(Record::Organization(org)))
            }
            Record::Contact(mut contact) => {
                self.choices_of(FieldTarget::Contact, &mut contact.custom_fields, from);
                Ok(Translated::Record(Record::Contact(contact)))
            }
            Record::Attachment(a) if a.inline && self.link_inline_images && from == Side::Old => {
                Ok(Translated::Dropped(format!(
                    "inline image {}: the copy links to it on the old platform \
                     (copy.inline_images = \"link\")",
                    a.file_name
                )))
            }
            rule if rule.rule().is_some() => crate::rules::translate(self, rule, from),
            other => Ok(Translated::Record(other)),
        }
    }

    /// A record read on the new side as a copy's round trip (new to old and back) leaves it:
    /// a ticket's status and priority the plan's tables fold into one value come back as that
    /// value (a Zendesk `new` ticket is `open` on a Freshdesk old side, `open` again when read
    /// back). Values with no way there or back are left as they are.
    pub(crate) fn round_trip(&self, record: Record) -> Record {
        let back_and_forth = |table: &Table, value: &str| {
            let old = table.map(value, Side::New).ok()??;
            table.map(&old, Side::Old).ok()?
        };
        match record {
            Record::Ticket(mut ticket) => {
                if let Some(status) = back_and_forth(&self.statuses, &ticket.status) {
                    ticket.status = status;
                }
                if let Some(priority) = ticket.priority.as_deref()
                    && let Some(kept) = back_and_forth(&self.priorities, priority)
                {
                    ticket.priority = Some(kept);
                }
                Record::Ticket(ticket)
            }
            other => other,
        }
    }

    /// A status on the other side (`None`: dropped), or the hole.
    pub(crate) fn status(&self, value: &str, from: Side) -> Result<Option<String>, Hole> {
        self.statuses.map(value, from)
    }

    /// A ticket type on the other side (`None`: dropped), or the hole; carried as it is when
    /// the plan has no `[mapping.ticket_types]`.
    /// A type is looked up as written, then case and spacing aside (Zendesk's rules and
    /// tickets spell types in lower case).
    pub(crate) fn ticket_type(&self, value: &str, from: Side) -> Result<Option<String>, Hole> {
        let Some(types) = &self.ticket_types else {
            return Ok(Some(value.to_owned()));
        };
        types.map(value, from).or_else(|hole| {
            let keys: Vec<&String> = match from {
                Side::Old => types.forward.keys().collect(),
                Side::New => types.backward.keys().collect(),
            };
            match keys.into_iter().find(|k| same_name(k, value)) {
                Some(key) => types.map(key, from),
                None => Err(hole),
            }
        })
    }

    /// A brand (product) on the other side (`None`: dropped, or the plan has no
    /// `[mapping.brands]`), or the hole. Looked up as written, then case and spacing aside.
    pub(crate) fn brand(&self, value: &str, from: Side) -> Result<Option<String>, Hole> {
        let Some(brands) = &self.brands else {
            return Ok(None);
        };
        brands.map(value, from).or_else(|hole| {
            let keys: Vec<&String> = match from {
                Side::Old => brands.forward.keys().collect(),
                Side::New => brands.backward.keys().collect(),
            };
            match keys.into_iter().find(|k| same_name(k, value)) {
                Some(key) => brands.map(key, from),
                // The table runs old to new: a brand of the new side that no old brand maps to
                // (a Zendesk target's default brand on a ticket opened there during the parallel
                // run) has nothing to go back as, and its ticket's copy on the old side carries
                // no brand (verify levels it with its reason, `losses::NEW_SIDE_BRAND`).
                None if from == Side::New => Ok(None),
                None => Err(hole),
            }
        })
    }

    /// Whether the plan has a `[mapping.brands]` table: a ticket's brand is carried.
    pub fn maps_brands(&self) -> bool {
        self.brands.is_some()
    }

    /// The brands the plan creates on the new platform (`"create"`).
    pub fn brands_to_create(&self) -> Vec<String> {
        self.plan
            .brands
            .iter()
            .flatten()
            .filter(|(_, target)| **target == Target::Create)
            .map(|(old, _)| old.clone())
            .collect()
    }

    /// Whether the plan has a `[mapping.ticket_types]` table.
    pub(crate) fn maps_ticket_types(&self) -> bool {
        self.ticket_types.is_some()
    }

    /// The ticket types the plan creates on the new platform (`"create"`).
    pub fn ticket_types_to_create(&self) -> Vec<String> {
        self.plan
            .ticket_types
            .iter()
            .flatten()
            .filter(|(_, target)| **target == Target::Create)
            .map(|(old, _)| old.clone())
            .collect()
    }

    /// A priority on the other side (`None`: dropped), or the hole.
    pub(crate) fn priority(&self, value: &str, from: Side) -> Result<Option<String>, Hole> {
        self.priorities.map(value, from)
    }

    fn ticket(&self, mut ticket: Ticket, from: Side) -> Result<Translated, Hole> {
        match self.statuses.map(&ticket.status, from)? {
            Some(status) => ticket.status = status,
            None => {
                return Ok(Translated::Dropped(format!(
                    "status {:?} is dropped by [mapping.statuses]",
                    ticket.status
                )));
            }
        }
        ticket.priority = match ticket.priority.take() {
            Some(priority) => self.priorities.map(&priority, from)?,
            None => None,
        };
        ticket.ticket_type = match ticket.ticket_type.take() {
            Some(kind) => self.ticket_type(&kind, from)?,
            None => None,
        };
        ticket.brand = match ticket.brand.take() {
            Some(brand) => self.brand(&brand, from)?,
            None => None,
        };
        let mut fields = BTreeMap::new();
        for (key, value) in std::mem::take(&mut ticket.custom_fields) {
            if let Some(mapped) = self.field_key(&key, from)? {
                let value = self.choice(FieldTarget::Ticket, (&key, &mapped), value, from);
                fields.insert(mapped, value);
            }
        }
        ticket.custom_fields = fields;
        Ok(Translated::Record(Record::Ticket(ticket)))
    }

    /// The values of the choice fields of a contact or organization (carried under their own
    /// key) as the other side stores the same choices.
    fn choices_of(&self, target: FieldTarget, fields: &mut CustomFields, from: Side) {
        for (key, value) in fields.iter_mut() {
            let taken = std::mem::take(value);
            *value = self.choice(target, (key, key), taken, from);
        }
    }

    /// A choice field's value (a list's items one by one) as the other side stores the same
    /// choice: the field's choice on `from` whose stored value it is, then the other side's
    /// choice of the same name (exactly, then case and spacing aside), or of the same stored
    /// value. A value neither side's choices know is carried as it is, and the target says
    /// whether it takes it.
    fn choice(
        &self,
        target: FieldTarget,
        (key, other_key): (&str, &str),
        value: serde_json::Value,
        from: Side,
    ) -> serde_json::Value {
        let (Some(ours), Some(theirs)) = (
            self.options.get(&(from, target, key.to_owned())),
            self.options
                .get(&(from.other(), target, other_key.to_owned())),
        ) else {
            return value;
        };
        let one = |stored: &str| -> Option<String> {
            let option = ours.iter().find(|o| o.value == stored)?;
            theirs
                .iter()
                .find(|o| o.name == option.name)
                .or_else(|| theirs.iter().find(|o| same_name(&o.name, &option.name)))
                .or_else(|| theirs.iter().find(|o| o.value == option.value))
                .map(|o| o.value.clone())
        };
        match value {
            serde_json::Value::String(stored) => {
                serde_json::Value::String(one(&stored).unwrap_or(stored))
            }
            serde_json::Value::Array(items) => serde_json::Value::Array(
                items
                    .into_iter()
                    .map(|item| match item {
                        serde_json::Value::String(stored) => {
                            serde_json::Value::String(one(&stored).unwrap_or(stored))
                        }
                        other => other,
                    })
                    .collect(),
            ),
            other => other,
        }
    }

    /// A custom ticket field's key on the other side (`None`: dropped). The table is tried with
    /// the key, then with the field's title.
    pub(crate) fn field_key(&self, key: &str, from: Side) -> Result<Option<String>, Hole> {
        let title = self.titles.get(&(from, key.to_owned()));
        let to_key = |name: Option<String>| {
            name.map(|name| {
                self.keys
                    .get(&(from.other(), name.clone()))
                    .cloned()
                    .unwrap_or(name)
            })
        };
        match self.fields.map(key, from) {
            Ok(name) => Ok(to_key(name)),
            Err(hole) => match title {
                Some(title) => self.fields.map(title, from).map(to_key),
                None => Err(hole),
            },
        }
    }

    /// The title a field definition takes on the other side, when the plan names a field of a
    /// title of its own there (`"Product" = "Item"`); a name in Freshdesk's key form (`cf_…`)
    /// names the field, not its title.
    fn field_title(&self, field: &CustomFieldDef, from: Side) -> Option<String> {
        let mapped = match self.fields.map(&field.key, from) {
            Ok(name) => name,
            Err(_) => self.fields.map(&field.title, from).ok().flatten(),
        }?;
        let titled = !mapped.starts_with("cf_") && mapped != field.title;
        titled.then_some(mapped)
    }

    fn field_def(&self, mut field: CustomFieldDef, from: Side) -> Result<Translated, Hole> {
        if field.target != FieldTarget::Ticket {
            return Ok(Translated::Record(Record::CustomField(field)));
        }
        match self.field_key(&field.key, from)? {
            Some(key) => {
                if let Some(title) = self.field_title(&field, from) {
                    field.title = title;
                }
                field.key = key;
                Ok(Translated::Record(Record::CustomField(field)))
            }
            None => Ok(Translated::Dropped(format!(
                "custom field {:?} is dropped by [mapping.fields]",
                field.title
            ))),
        }
    }

    fn group(&self, mut group: Group, from: Side) -> Result<Translated, Hole> {
        if from == Side::Old
            && let Some(kept) = self.merged_into(RecordKind::Group, &group.name)
        {
            return Ok(Translated::Dropped(format!(
                "group {:?} shares the copy of {kept:?}: [mapping.groups] maps both onto one group",
                group.name
            )));
        }
        match self.groups.map(&group.name, from)? {
            Some(name) => {
                group.name = name;
                Ok(Translated::Record(Record::Group(group)))
            }
            None => Ok(Translated::Dropped(format!(
                "group {:?} is dropped by [mapping.groups]",
                group.name
            ))),
        }
    }

    fn role(&self, mut role: Role, from: Side) -> Result<Translated, Hole> {
        if from == Side::Old
            && let Some(kept) = self.merged_into(RecordKind::Role, &role.name)
        {
            return Ok(Translated::Dropped(format!(
                "role {:?} shares the copy of {kept:?}: [mapping.roles] maps both onto one role",
                role.name
            )));
        }
        match self.roles.map(&role.name, from)? {
            Some(name) => {
                role.name = name;
                Ok(Translated::Record(Record::Role(role)))
            }
            None => Ok(Translated::Dropped(format!(
                "role {:?} is dropped by [mapping.roles]",
                role.name
            ))),
        }
    }

    /// Agents are matched by e-mail (or name); an override renames or drops one. An agent with
    /// no override keeps its identity: that is the match.
    fn agent(&self, mut agent: Agent, from: Side) -> Result<Translated, Hole> {
        if let Some(to) = self.leavers_not_carried
            && from == Side::Old
            && !agent.active
        {
            return Ok(Translated::Dropped(format!(
                "agent {:?} has left, and {to} has no place for an agent who has left: the \
                 history they wrote takes [mapping.agents] unmatched",
                agent.email
            )));
        }
        let identity = match self.match_by {
            MatchBy::Email => agent.email.clone(),
            MatchBy::Name => agent.name.clone(),
        };
        let mapped = match self.agents.map(&identity, from) {
            Ok(mapped) => mapped,
            Err(_) => Some(identity.clone()),
        };
        match mapped {
            Some(value) => {
                match self.match_by {
                    MatchBy::Email => agent.email = value,
                    MatchBy::Name => agent.name = value,
                }
                Ok(Translated::Record(Record::Agent(agent)))
            }
            None => Ok(Translated::Dropped(format!(
                "agent {identity:?} is dropped by [mapping.agents.overrides]"
            ))),
        }
    }
}

#[cfg(test)]
#[path = "mapping_tests.rs"]
mod tests;
