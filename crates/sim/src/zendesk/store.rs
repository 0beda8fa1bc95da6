//! The account's records and the indexes the API needs, behind one lock in [`super::App`].

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use serde_json::{Map, Value};

use super::model::{
    Group, Job, Membership, Organization, Rating, StoredAttachment, Ticket, TicketEvent, Upload,
    User, Webhook,
};
use crate::notify::NotificationLog;
use crate::state::{Counts, IdGen};

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
    /// Users by id.
    pub(crate) users: BTreeMap<u64, User>,
    /// Lower-cased e-mail (primary and extra identities) to user id.
    pub(crate) emails: HashMap<String, u64>,
    /// Organizations by id.
    pub(crate) orgs: BTreeMap<u64, Organization>,
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
            users: BTreeMap::new(),
            emails: HashMap::new(),
            orgs: BTreeMap::new(),
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
        }
    }

    /// Stores a ticket (new or changed), keeping the export index right.
    pub(crate) fn put_ticket(&mut self, ticket: Ticket) {
        if let Some(old) = self.tickets.get(&ticket.id) {
            self.ticket_index.remove(&(old.generated_at, old.id));
        }
        self.ticket_index.insert((ticket.generated_at, ticket.id));
        self.tickets.insert(ticket.id, ticket);
    }

    /// Stores a user (new or changed), keeping the e-mail index right.
    pub(crate) fn put_user(&mut self, user: User) {
        if let Some(old) = self.users.get(&user.id)
            && let Some(email) = &old.email
        {
            self.emails.remove(&email.to_lowercase());
        }
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

    /// The user with this e-mail (any identity), if any.
    pub(crate) fn user_by_email(&self, email: &str) -> Option<&User> {
        self.emails
            .get(&email.trim().to_lowercase())
            .and_then(|id| self.users.get(id))
    }

    /// The user with this external id, if any.
    pub(crate) fn user_by_external_id(&self, external_id: &str) -> Option<&User> {
        self.users
            .values()
            .find(|u| u.external_id.as_deref() == Some(external_id))
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
