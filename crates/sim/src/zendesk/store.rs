//! The account's records and the indexes the API needs, behind one lock in [`super::App`].

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use serde_json::{Map, Value};

use super::model::{
    Group, Job, Membership, Organization, Rating, StoredAttachment, Ticket, TicketEvent, Upload,
    User, Webhook,
};
use crate::lateness::{IndexLag, Lateness};
use crate::notify::NotificationLog;
use crate::state::{Counts, IdGen, KeyIndex};

/// First id of uploaded attachments; generated attachments' ids stay below it.
pub(crate) const UPLOADED_ATTACHMENT_BASE: u64 = 1 << 44;

/// Everything one emulated Zendesk account holds.
#[derive(Debug)]
pub(crate) struct ZendeskState {
    /// The emulator's base URL (for URLs inside generated HTML).
    pub(crate) base: String,
    /// Seed of generated content (comment bodies, attachment bytes).
    pub(crate) seed: u64,
    /// Ids of everything but tickets and uploaded attachments, one increasing sequence.
    pub(crate) ids: IdGen,
    /// Ticket ids, from 1.
    pub(crate) ticket_ids: IdGen,
    /// Uploaded attachment ids.
    pub(crate) attachment_ids: IdGen,
    /// Tickets by id.
    pub(crate) tickets: BTreeMap<u64, Ticket>,
    /// `(generated_timestamp, id)` of every ticket, the incremental export's order.
    pub(crate) ticket_index: BTreeSet<(i64, u64)>,
    /// Tickets (deleted ones too) by external id.
    pub(crate) ticket_externals: KeyIndex,
    /// Users by id.
    pub(crate) users: BTreeMap<u64, User>,
    /// Lower-cased e-mail (primary and extra identities) to user id.
    pub(crate) emails: HashMap<String, u64>,
    /// Users by external id.
    pub(crate) user_externals: KeyIndex,
    /// Users by the text `users/search?query=` reads (e-mail, name, identities).
    pub(crate) user_text: TextIndex,
    /// Organizations by id.
    pub(crate) orgs: BTreeMap<u64, Organization>,
    /// Organizations by external id.
    pub(crate) org_externals: KeyIndex,
    /// Organizations by lower-cased name.
    pub(crate) org_names: KeyIndex,
    /// Groups by id.
    pub(crate) groups: BTreeMap<u64, Group>,
    /// Group memberships by id.
    pub(crate) memberships: BTreeMap<u64, Membership>,
    /// Configuration records (macros, triggers, views, fields, …) by collection, then id.
    pub(crate) config: BTreeMap<&'static str, BTreeMap<u64, Map<String, Value>>>,
    /// Satisfaction ratings by id.
    pub(crate) ratings: BTreeMap<u64, Rating>,
    /// Uploaded attachments by id.
    pub(crate) attachments: HashMap<u64, StoredAttachment>,
    /// Content-URL token to uploaded attachment id.
    pub(crate) attachment_tokens: HashMap<String, u64>,
    /// Upload tokens.
    pub(crate) uploads: HashMap<String, Upload>,
    /// The last 100 job statuses.
    pub(crate) jobs: VecDeque<Job>,
    /// Ticket changes, in time order.
    pub(crate) events: Vec<TicketEvent>,
    /// Webhooks by id.
    pub(crate) webhooks: BTreeMap<String, Webhook>,
    /// E-mails the account would have sent customers.
    pub(crate) notifications: NotificationLog,
    /// The account owner (admin).
    pub(crate) owner_id: u64,
    /// The default brand.
    pub(crate) brand_id: u64,
    /// The default ticket form.
    pub(crate) form_id: u64,
    /// Custom status id per status category (`new`, `open`, `pending`, `hold`, `solved`).
    pub(crate) status_ids: BTreeMap<&'static str, u64>,
    /// Counter for upload tokens and other opaque strings.
    pub(crate) token_counter: u64,
    /// What the search engine has not seen yet of tickets, users and organizations.
    pub(crate) searched: Searched,
    /// Ticket creates sent with an `Idempotency-Key`, by key, while the key lives.
    pub(crate) idempotent: HashMap<String, Idempotent>,
}

/// A ticket create sent with an `Idempotency-Key`: what was asked and what was answered.
#[derive(Debug, Clone)]
pub(crate) struct Idempotent {
    /// The request's body.
    pub(crate) request: Value,
    /// The answer's body.
    pub(crate) answer: Value,
    /// The created ticket's address (`Location`).
    pub(crate) location: String,
    /// When the key is forgotten (Unix seconds).
    pub(crate) expires_at: i64,
}

/// The search engine's late view (see [`crate::lateness`]): the writes of searchable records it
/// has not seen yet. Searches (`/search`, `/users/search?query=`) answer from it; reads by id
/// and filtered lists see every write at once.
#[derive(Debug, Default)]
pub(crate) struct Searched {
    /// The clock and the switch (none until the account is generated).
    pub(crate) late: Option<Lateness>,
    pub(crate) tickets: IndexLag<Ticket>,
    pub(crate) users: IndexLag<User>,
    pub(crate) orgs: IndexLag<Organization>,
}

impl Searched {
    /// `(now, lag)` while search is behind.
    pub(crate) fn behind(&self) -> Option<(i64, i64)> {
        self.late.as_ref().and_then(Lateness::behind)
    }

    /// `(now, lag)` to note a write with (the lag `None` while search is not behind).
    fn stamp(&self) -> Option<(i64, Option<i64>)> {
        self.late.as_ref().map(|late| (late.now(), late.lag()))
    }
}

impl ZendeskState {
    /// An empty account; `seed::bootstrap` fills in what every account has.
    pub(crate) fn empty(seed: u64, base: &str) -> Self {
        Self {
            base: base.to_owned(),
            seed,
            ids: IdGen::new(10_000_000_000, 1),
            ticket_ids: IdGen::new(1, 1),
            attachment_ids: IdGen::new(UPLOADED_ATTACHMENT_BASE, 1),
            tickets: BTreeMap::new(),
            ticket_index: BTreeSet::new(),
            ticket_externals: KeyIndex::default(),
            users: BTreeMap::new(),
            emails: HashMap::new(),
            user_externals: KeyIndex::default(),
            user_text: TextIndex::default(),
            orgs: BTreeMap::new(),
            org_externals: KeyIndex::default(),
            org_names: KeyIndex::default(),
            groups: BTreeMap::new(),
            memberships: BTreeMap::new(),
            config: BTreeMap::new(),
            ratings: BTreeMap::new(),
            attachments: HashMap::new(),
            attachment_tokens: HashMap::new(),
            uploads: HashMap::new(),
            jobs: VecDeque::new(),
            events: Vec::new(),
            webhooks: BTreeMap::new(),
            notifications: NotificationLog::default(),
            owner_id: 0,
            brand_id: 0,
            form_id: 0,
            status_ids: BTreeMap::new(),
            token_counter: 0,
            searched: Searched::default(),
            idempotent: HashMap::new(),
        }
    }

    /// Stores a ticket (new or changed), keeping the export and external-id indexes right.
    pub(crate) fn put_ticket(&mut self, ticket: Ticket) {
        if let Some((now, lag)) = self.searched.stamp() {
            let before = self.tickets.get(&ticket.id);
            self.searched.tickets.note(ticket.id, before, now, lag);
        }
        if let Some(old) = self.tickets.get(&ticket.id) {
            self.ticket_index.remove(&(old.generated_at, old.id));
            self.ticket_externals
                .remove(old.external_id.as_deref(), old.id);
        }
        self.ticket_index.insert((ticket.generated_at, ticket.id));
        self.ticket_externals
            .insert(ticket.external_id.as_deref(), ticket.id);
        self.tickets.insert(ticket.id, ticket);
    }

    /// Removes a ticket for good, with its index entries.
    pub(crate) fn purge_ticket(&mut self, id: u64) -> Option<Ticket> {
        let old = self.tickets.remove(&id)?;
        if let Some((now, lag)) = self.searched.stamp() {
            self.searched.tickets.note(id, Some(&old), now, lag);
        }
        self.ticket_index.remove(&(old.generated_at, old.id));
        self.ticket_externals
            .remove(old.external_id.as_deref(), old.id);
        Some(old)
    }

    /// Ids of the tickets (deleted ones too) with this external id, ascending.
    pub(crate) fn tickets_by_external_id(&self, external_id: &str) -> &[u64] {
        self.ticket_externals.get(external_id)
    }

    /// Stores an organization (new or changed), keeping its indexes right.
    pub(crate) fn put_org(&mut self, org: Organization) {
        if let Some((now, lag)) = self.searched.stamp() {
            let before = self.orgs.get(&org.id);
            self.searched.orgs.note(org.id, before, now, lag);
        }
        if let Some(old) = self.orgs.get(&org.id) {
            self.org_externals
                .remove(old.external_id.as_deref(), old.id);
            self.org_names
                .remove(Some(&old.name.to_lowercase()), old.id);
        }
        self.org_externals
            .insert(org.external_id.as_deref(), org.id);
        self.org_names
            .insert(Some(&org.name.to_lowercase()), org.id);
        self.orgs.insert(org.id, org);
    }

    /// Removes an organization, with its index entries.
    pub(crate) fn remove_org(&mut self, id: u64) -> Option<Organization> {
        let old = self.orgs.remove(&id)?;
        if let Some((now, lag)) = self.searched.stamp() {
            self.searched.orgs.note(id, Some(&old), now, lag);
        }
        self.org_externals
            .remove(old.external_id.as_deref(), old.id);
        self.org_names
            .remove(Some(&old.name.to_lowercase()), old.id);
        Some(old)
    }

    /// The organizations with this external id, ascending by id.
    pub(crate) fn orgs_by_external_id<'a>(
        &'a self,
        external_id: &str,
    ) -> impl Iterator<Item = &'a Organization> + use<'a> {
        self.org_externals
            .get(external_id)
            .iter()
            .filter_map(|id| self.orgs.get(id))
    }

    /// The organizations whose lower-cased name is `name` lower-cased, ascending by id.
    pub(crate) fn orgs_by_name<'a>(
        &'a self,
        name: &str,
    ) -> impl Iterator<Item = &'a Organization> + use<'a> {
        self.org_names
            .get(&name.to_lowercase())
            .iter()
            .filter_map(|id| self.orgs.get(id))
    }

    /// Stores a user (new or changed), keeping the e-mail, external-id and text indexes right.
    pub(crate) fn put_user(&mut self, user: User) {
        if let Some((now, lag)) = self.searched.stamp() {
            let before = self.users.get(&user.id);
            self.searched.users.note(user.id, before, now, lag);
        }
        if let Some(old) = self.users.get(&user.id) {
            if let Some(email) = &old.email {
                self.emails.remove(&email.to_lowercase());
            }
            self.user_externals
                .remove(old.external_id.as_deref(), old.id);
            self.user_text.remove(old.id, &searchable(old));
        }
        self.user_externals
            .insert(user.external_id.as_deref(), user.id);
        self.user_text.insert(user.id, &searchable(&user));
        if let Some(email) = &user.email {
            self.emails.insert(email.to_lowercase(), user.id);
        }
        for identity in &user.identities {
            if identity.kind == "email" {
                self.emails.insert(identity.value.to_lowercase(), user.id);
            }
        }
        self.users.insert(user.id, user);
    }

    /// Forgets a user for good (a permanent deletion), with its group memberships, e-mails,
    /// external id and text.
    pub(crate) fn remove_user(&mut self, id: u64) -> Option<User> {
        let old = self.users.remove(&id)?;
        self.memberships.retain(|_, m| m.user_id != id);
        self.emails.retain(|_, user| *user != id);
        self.user_externals.remove(old.external_id.as_deref(), id);
        self.user_text.remove(id, &searchable(&old));
        Some(old)
    }

    /// The user with this e-mail (any identity), if any.
    pub(crate) fn user_by_email(&self, email: &str) -> Option<&User> {
        self.emails
            .get(&email.trim().to_lowercase())
            .and_then(|id| self.users.get(id))
    }

    /// The user with this external id (the oldest, if several), if any.
    pub(crate) fn user_by_external_id(&self, external_id: &str) -> Option<&User> {
        self.user_externals
            .get(external_id)
            .first()
            .and_then(|id| self.users.get(id))
    }

    /// The users with this external id, ascending by id.
    pub(crate) fn users_by_external_id<'a>(
        &'a self,
        external_id: &str,
    ) -> impl Iterator<Item = &'a User> + use<'a> {
        self.user_externals
            .get(external_id)
            .iter()
            .filter_map(|id| self.users.get(id))
    }

    /// A configuration collection (created empty on first use).
    pub(crate) fn config_mut(
        &mut self,
        kind: &'static str,
    ) -> &mut BTreeMap<u64, Map<String, Value>> {
        self.config.entry(kind).or_default()
    }

    /// A configuration collection, if it has records.
    pub(crate) fn config_of(&self, kind: &str) -> Option<&BTreeMap<u64, Map<String, Value>>> {
        self.config.get(kind)
    }

    /// Ids of the custom (non-system) fields of a field collection.
    pub(crate) fn custom_field_ids(&self, kind: &str) -> Vec<u64> {
        self.config_of(kind)
            .map(|fields| {
                fields
                    .iter()
                    .filter(|(_, f)| f.get("removable").and_then(Value::as_bool) != Some(false))
                    .map(|(id, _)| *id)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The next opaque token (`prefix` + 25 alphanumerics), deterministic per account.
    pub(crate) fn next_token(&mut self, prefix: &str) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        self.token_counter += 1;
        let mut x =
            crate::datagen::mix64(self.seed ^ self.token_counter.wrapping_mul(0x51_7CC1_B727_220A));
        let mut token = String::from(prefix);
        for i in 0..25 {
            if i % 10 == 9 {
                x = crate::datagen::mix64(x);
            }
            token.push(char::from(ALPHABET[(x % ALPHABET.len() as u64) as usize]));
            x /= ALPHABET.len() as u64;
        }
        token
    }

    /// Records per kind, for `/_sim/state`.
    pub(crate) fn counts(&self) -> Counts {
        let mut counts = Counts::new();
        counts.insert(
            "tickets",
            self.tickets.values().filter(|t| !t.deleted).count(),
        );
        counts.insert(
            "deleted_tickets",
            self.tickets.values().filter(|t| t.deleted).count(),
        );
        counts.insert(
            "comments",
            self.tickets
                .values()
                .map(|t| t.comments.len() + t.generated.map_or(0, |g| g.count as usize))
                .sum(),
        );
        counts.insert("users", self.users.len());
        counts.insert("organizations", self.orgs.len());
        counts.insert(
            "groups",
            self.groups.values().filter(|g| !g.deleted).count(),
        );
        counts.insert("group_memberships", self.memberships.len());
        counts.insert("satisfaction_ratings", self.ratings.len());
        counts.insert("uploaded_attachments", self.attachments.len());
        counts.insert("job_statuses", self.jobs.len());
        counts.insert("ticket_events", self.events.len());
        counts.insert("webhooks", self.webhooks.len());
        counts.insert("notifications", self.notifications.len());
        for (kind, records) in &self.config {
            counts.insert(kind, records.len());
        }
        counts
    }
}

/// The lower-cased texts of a user that `users/search?query=` matches against.
fn searchable(user: &User) -> Vec<String> {
    user.email
        .iter()
        .chain(std::iter::once(&user.name))
        .chain(user.identities.iter().map(|i| &i.value))
        .map(|text| text.to_lowercase())
        .collect()
}

/// Record ids by the three-byte sequences of their texts: narrows a substring search to the
/// records that hold every trigram of the needle. Candidates must still be checked against the
/// record: a trigram match is necessary, not sufficient.
#[derive(Debug, Default)]
pub(crate) struct TextIndex {
    grams: HashMap<[u8; 3], Vec<u64>>,
}

impl TextIndex {
    /// Ids (ascending) of the records whose texts may contain `needle`; `None` when the needle
    /// is shorter than a trigram and every record is a candidate.
    pub(crate) fn candidates(&self, needle: &str) -> Option<Vec<u64>> {
        let mut lists = Vec::new();
        for gram in trigrams(needle) {
            match self.grams.get(&gram) {
                Some(ids) => lists.push(ids.as_slice()),
                None => return Some(Vec::new()),
            }
        }
        lists.sort_by_key(|ids| ids.len());
        let (first, rest) = lists.split_first()?;
        Some(
            first
                .iter()
                .copied()
                .filter(|id| rest.iter().all(|ids| ids.binary_search(id).is_ok()))
                .collect(),
        )
    }

    fn insert(&mut self, id: u64, texts: &[String]) {
        for gram in texts.iter().flat_map(|t| trigrams(t)) {
            let ids = self.grams.entry(gram).or_default();
            if let Err(at) = ids.binary_search(&id) {
                ids.insert(at, id);
            }
        }
    }

    fn remove(&mut self, id: u64, texts: &[String]) {
        for gram in texts.iter().flat_map(|t| trigrams(t)) {
            if let Some(ids) = self.grams.get_mut(&gram) {
                if let Ok(at) = ids.binary_search(&id) {
                    ids.remove(at);
                }
                if ids.is_empty() {
                    self.grams.remove(&gram);
                }
            }
        }
    }
}

/// The three-byte windows of `text`.
fn trigrams(text: &str) -> impl Iterator<Item = [u8; 3]> + '_ {
    text.as_bytes().windows(3).map(|w| [w[0], w[1], w[2]])
}
