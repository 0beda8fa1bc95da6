//! What the engine hands a connector to write: the canonical record, where it came from (the mark
//! written on the target), the target-side ids of the records it refers to, and its history.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use cutover_model::records::RecordKey;
use cutover_model::{PlatformId, PlatformKind, Record, RecordKind, RecordRef, Side};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::ConnectError;

/// Where a record came from. Its [`Origin::mark`] is written on the target (external id, custom
/// field, note header) so a lookup before creating finds a copy made before a crash.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Origin {
    /// The side it was read from.
    pub side: Side,
    /// The platform of that side (named in note headers).
    pub platform: PlatformKind,
    /// Its kind.
    pub kind: RecordKind,
    /// Its id there.
    pub id: PlatformId,
}

/// The prefix of every mark: values that start with it are cutover's, not the customer's.
pub const MARK_PREFIX: &str = "cutover:";

impl Origin {
    /// The mark: `cutover:{side}:{kind}:{id}`, e.g. `cutover:old:ticket:4017`.
    pub fn mark(&self) -> String {
        format!("{MARK_PREFIX}{}:{}:{}", self.side, self.kind, self.id)
    }

    /// Reads a mark back: (side, kind, id), or `None` when `text` is not one.
    pub fn parse_mark(text: &str) -> Option<(Side, RecordKind, PlatformId)> {
        let rest = text.trim().strip_prefix(MARK_PREFIX)?;
        let mut parts = rest.splitn(3, ':');
        let side = parts.next()?.parse().ok()?;
        let kind = parts.next()?.parse().ok()?;
        let id = PlatformId::parse(parts.next()?).ok()?;
        Some((side, kind, id))
    }

    /// The record a mark names (what a read puts in [`cutover_model::Observed::origin`]), or
    /// `None` when `text` is not a mark.
    pub fn marked(text: &str) -> Option<RecordRef> {
        let (side, kind, id) = Self::parse_mark(text)?;
        Some(RecordRef { kind, side, id })
    }

    /// Whether `text` is a cutover mark rather than a value of the customer's.
    pub fn is_mark(text: &str) -> bool {
        text.trim().starts_with(MARK_PREFIX)
    }
}

/// A reference of a canonical record to another record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The record's field holding it (`requester`, `author`, `groups`…).
    pub field: &'static str,
    /// The kinds it may point at, most likely first (a comment's author: agent, then contact).
    pub kinds: &'static [RecordKind],
    /// The referenced record's key on the source side.
    pub key: RecordKey,
}

const AGENT_OR_CONTACT: &[RecordKind] = &[RecordKind::Agent, RecordKind::Contact];

/// Every reference of `record`: what must be linked before it can be written, and what
/// [`TargetIds`] must resolve.
pub fn references(record: &Record) -> Vec<Reference> {
    use RecordKind as K;
    let one = |field, kinds, key: &RecordKey| {
        Some(Reference {
            field,
            kinds,
            key: key.clone(),
        })
    };
    let opt =
        |field, kinds, key: &Option<RecordKey>| key.as_ref().and_then(|key| one(field, kinds, key));
    let refs: Vec<Option<Reference>> = match record {
        Record::Contact(c) => vec![opt("organization", &[K::Organization], &c.organization)],
        Record::Agent(a) => {
            let mut refs = vec![opt("role", &[K::Role], &a.role)];
            refs.extend(a.groups.iter().map(|g| one("groups", &[K::Group], g)));
            refs
        }
        Record::Ticket(t) => vec![
            one("requester", &[K::Contact, K::Agent], &t.requester),
            opt("assignee", &[K::Agent], &t.assignee),
            opt("group", &[K::Group], &t.group),
            opt("organization", &[K::Organization], &t.organization),
            opt("merged_into", &[K::Ticket], &t.merged_into),
        ],
        Record::Comment(c) => vec![
            one("ticket", &[K::Ticket], &c.ticket),
            one("author", AGENT_OR_CONTACT, &c.author),
        ],
        Record::Attachment(a) => vec![one("comment", &[K::Comment], &a.comment)],
        Record::SatisfactionRating(r) => vec![
            one("ticket", &[K::Ticket], &r.ticket),
            one("requester", &[K::Contact, K::Agent], &r.requester),
            opt("assignee", &[K::Agent], &r.assignee),
        ],
        other => match other.rule() {
            Some(rule) => crate::rules::references(rule)
                .into_iter()
                .map(Some)
                .collect(),
            None => Vec::new(),
        },
    };
    refs.into_iter().flatten().collect()
}

/// Target-side ids of referenced records, by (kind, source-side key): filled by the engine from
/// its links before it asks for a write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetIds {
    by_source: BTreeMap<(RecordKind, RecordKey), PlatformId>,
}

impl TargetIds {
    /// No ids.
    pub fn new() -> Self {
        TargetIds::default()
    }

    /// Records that the source record `(kind, key)` is `target` on the target side.
    pub fn insert(&mut self, kind: RecordKind, key: RecordKey, target: PlatformId) {
        self.by_source.insert((kind, key), target);
    }

    /// Adds an id, builder style.
    pub fn with(mut self, kind: RecordKind, key: RecordKey, target: PlatformId) -> Self {
        self.insert(kind, key, target);
        self
    }

    /// Every `(kind, source key, target id)`.
    pub fn iter(&self) -> impl Iterator<Item = (RecordKind, &RecordKey, &PlatformId)> {
        self.by_source
            .iter()
            .map(|((kind, key), target)| (*kind, key, target))
    }

    /// The target id of a source record.
    pub fn get(&self, kind: RecordKind, key: &RecordKey) -> Option<&PlatformId> {
        self.by_source.get(&(kind, key.clone()))
    }

    /// The target id a reference resolves to, trying its kinds in order.
    pub fn resolve(&self, reference: &Reference) -> Option<&PlatformId> {
        reference
            .kinds
            .iter()
            .find_map(|kind| self.get(*kind, &reference.key))
    }

    /// Resolves `key` of `field` or says which reference is missing, naming `op`.
    pub(crate) fn require(
        &self,
        op: &str,
        field: &'static str,
        kinds: &'static [RecordKind],
        key: &RecordKey,
    ) -> Result<PlatformId, ConnectError> {
        let reference = Reference {
            field,
            kinds,
            key: key.clone(),
        };
        self.resolve(&reference)
            .cloned()
            .ok_or_else(|| ConnectError::Unresolved {
                op: op.to_owned(),
                field,
                kinds: kinds
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(" or "),
                key: key.to_string(),
            })
    }

    /// Like [`TargetIds::require`] for an optional reference.
    pub(crate) fn require_opt(
        &self,
        op: &str,
        field: &'static str,
        kinds: &'static [RecordKind],
        key: Option<&RecordKey>,
    ) -> Result<Option<PlatformId>, ConnectError> {
        key.map(|key| self.require(op, field, kinds, key))
            .transpose()
    }
}

/// The target ids a ticket's references resolve to, whatever the platform calls them
/// (Freshdesk's `responder` is the assignee, its `company` the organization).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TicketIds {
    pub(crate) requester: PlatformId,
    pub(crate) assignee: Option<PlatformId>,
    pub(crate) group: Option<PlatformId>,
    pub(crate) organization: Option<PlatformId>,
    /// The brand (Zendesk) or product (Freshdesk): set by the connector from the ticket's
    /// brand name; none when the account has no such brand.
    pub(crate) brand: Option<PlatformId>,
}

impl TicketIds {
    /// Resolves `ticket`'s references through `outbound`'s target ids; `op` names the write in
    /// the error when one is not linked yet.
    pub(crate) fn resolve(
        ticket: &cutover_model::records::Ticket,
        outbound: &Outbound,
        op: &str,
    ) -> Result<Self, ConnectError> {
        let targets = &outbound.targets;
        Ok(TicketIds {
            requester: targets.require(
                op,
                "requester",
                &[RecordKind::Contact, RecordKind::Agent],
                &ticket.requester,
            )?,
            assignee: targets.require_opt(
                op,
                "assignee",
                &[RecordKind::Agent],
                ticket.assignee.as_ref(),
            )?,
            group: targets.require_opt(op, "group", &[RecordKind::Group], ticket.group.as_ref())?,
            organization: targets.require_opt(
                op,
                "organization",
                &[RecordKind::Organization],
                ticket.organization.as_ref(),
            )?,
            brand: None,
        })
    }
}

/// The history of a record that the canonical content does not hold: for import APIs and for
/// the header lines and custom fields where a platform cannot backdate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// Who wrote or asked, as a person reads it: `Jane Doe <jane@example.com>`. Set on a comment
    /// whose author is not carried (it is written as the plan's stand-in, and the note header
    /// names the original).
    pub author: Option<String>,
    /// The source's own last update time.
    pub updated_at: Option<DateTime<Utc>>,
    /// Whom the copy's stand-ins replace, as a person reads it (`assignee Jane Doe
    /// <jane@example.com>; group Tier 2`): the agent or group of a ticket that is not carried.
    /// Written where the target keeps a ticket's origin.
    pub stand_ins: Option<String>,
}

/// One record to write on the target.
///
/// `record` is in the **target's vocabulary** (statuses, priorities, ticket types, custom field
/// keys, permission names as the target names them: the engine translates with the plan's
/// tables) while its references stay **source-side keys**, resolved through `targets`.
#[derive(Debug, Clone, PartialEq)]
pub struct Outbound {
    /// Where the record came from; its mark goes on the target.
    pub origin: Origin,
    /// The canonical content.
    pub record: Record,
    /// Target-side ids of the records it refers to.
    pub targets: TargetIds,
    /// What the canonical content does not hold.
    pub history: History,
    /// For a comment: the files to attach, already uploaded through [`crate::Connector::upload`].
    pub uploads: Vec<UploadRef>,
    /// For a ticket: its comments (each with its own uploads), written with it so an import API
    /// keeps their times and authors and nobody is e-mailed.
    pub children: Vec<Outbound>,
    /// Target ids a lookup must not answer with: copies linked to other records already. Two
    /// comments with equal author and text on one ticket must not both resolve to one copy.
    pub taken: BTreeSet<PlatformId>,
    /// Whether a copy may exist already (an earlier attempt may have made it, or the record is
    /// matched to the target's own by a natural key): `create` looks for it first. The engine
    /// clears it for a first attempt, after leaving its durable intent, so a clean first run
    /// pays no lookup per record; a create that answers "already exists" (409), or whose answer
    /// is lost, is looked up all the same.
    pub may_exist: bool,
    /// Whether a create may wait a moment to go out with others of its kind through the
    /// platform's bulk endpoint (a backfill's creates; the bridge's go out at once).
    pub batch: bool,
}

impl Outbound {
    /// An outbound with no references, history, uploads or children yet.
    pub fn new(origin: Origin, record: Record) -> Self {
        Outbound {
            origin,
            record,
            targets: TargetIds::new(),
            history: History::default(),
            uploads: Vec::new(),
            children: Vec::new(),
            taken: BTreeSet::new(),
            may_exist: true,
            batch: false,
        }
    }

    /// Whether `create` looks for a copy before creating: when one may exist, and always for
    /// the kinds matched to the target's own records by a natural key (groups, roles and custom
    /// fields by name, agents by e-mail, configuration by title), which a target may hold before
    /// cutover writes anything.
    pub(crate) fn look_first(&self) -> bool {
        self.may_exist
            || !matches!(
                self.record.kind(),
                RecordKind::Organization
                    | RecordKind::Contact
                    | RecordKind::Ticket
                    | RecordKind::Comment
                    | RecordKind::Attachment
                    | RecordKind::SatisfactionRating
            )
    }

    /// The words naming this write in errors: `create ticket cutover:old:ticket:7 on zendesk`.
    pub(crate) fn op(&self, verb: &str, platform: PlatformKind) -> String {
        format!(
            "{verb} {} {} on {platform}",
            self.record.kind(),
            self.origin.mark()
        )
    }
}

/// A file uploaded to (or held for) the target, ready to be attached to a comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRef {
    /// The attachment it copies, so the written comment's attachments can be linked.
    pub origin: Option<Origin>,
    /// The file name.
    pub file_name: String,
    /// The MIME type.
    pub content_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// How the target gets the bytes.
    pub handle: UploadHandle,
    /// Where the target serves the copy, when the upload says (Zendesk's `content_url`): inline
    /// images in the comment's HTML are pointed here.
    pub url: Option<Url>,
}

/// How the bytes of an upload reach the target.
#[derive(Clone, PartialEq, Eq)]
pub enum UploadHandle {
    /// Uploaded already; the platform's token names it (Zendesk's `uploads` tokens, valid an hour).
    Token(String),
    /// Held in memory and sent with the comment itself (Freshdesk's multipart notes).
    Held(Arc<Vec<u8>>),
}

impl fmt::Debug for UploadHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UploadHandle::Token(_) => f.write_str("Token([redacted])"),
            UploadHandle::Held(bytes) => write!(f, "Held({} bytes)", bytes.len()),
        }
    }
}

/// A file to upload.
#[derive(Clone, PartialEq, Eq)]
pub struct FileUpload {
    /// The attachment it copies.
    pub origin: Option<Origin>,
    /// The file name.
    pub file_name: String,
    /// The MIME type.
    pub content_type: String,
    /// The bytes.
    pub bytes: Arc<Vec<u8>>,
    /// An image shown inside the comment's body (Zendesk's `inline=true` upload).
    pub inline: bool,
}

impl fmt::Debug for FileUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileUpload")
            .field("origin", &self.origin)
            .field("file_name", &self.file_name)
            .field("content_type", &self.content_type)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// Where an attachment's bytes can be fetched: reported by a read beside the attachment record.
#[derive(Clone, PartialEq, Eq)]
pub struct AttachmentSource {
    /// The attachment's id (as in its [`cutover_model::Observed`]).
    pub id: PlatformId,
    /// Its download URL (may carry a short-lived token: never logged).
    pub url: Url,
    /// The size the platform reports, checked after download.
    pub size: u64,
    /// The file name.
    pub file_name: String,
}

impl fmt::Debug for AttachmentSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttachmentSource")
            .field("id", &self.id)
            .field("host", &self.url.host_str())
            .field("size", &self.size)
            .field("file_name", &self.file_name)
            .finish()
    }
}

/// An attachment's bytes and their checksum (blake3, lowercase hex: the canonical
/// [`cutover_model::records::Attachment::checksum`], which a read leaves empty).
#[derive(Clone, PartialEq, Eq)]
pub struct Downloaded {
    /// The bytes.
    pub bytes: Arc<Vec<u8>>,
    /// blake3 of the bytes, lowercase hex.
    pub checksum: String,
}

impl Downloaded {
    /// Wraps bytes and computes their checksum.
    pub fn new(bytes: Vec<u8>) -> Self {
        let checksum = blake3::hash(&bytes).to_hex().to_string();
        Downloaded {
            bytes: Arc::new(bytes),
            checksum,
        }
    }
}

/// Checks downloaded bytes against the size the platform reported and wraps them.
pub(crate) fn check_download(
    op: &str,
    source: &AttachmentSource,
    bytes: Vec<u8>,
) -> Result<Downloaded, ConnectError> {
    if bytes.len() as u64 != source.size {
        return Err(ConnectError::Malformed {
            op: op.to_owned(),
            detail: format!(
                "got {} bytes of {}, the platform said {}",
                bytes.len(),
                source.file_name,
                source.size
            ),
        });
    }
    Ok(Downloaded::new(bytes))
}

impl fmt::Debug for Downloaded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Downloaded({} bytes, {})",
            self.bytes.len(),
            self.checksum
        )
    }
}

/// Refuses a file over a platform's attachment cap, before anything is sent: what an upload
/// answers, and what a dry run asks (`Connector::check_upload`).
pub(crate) fn refuse_oversize(
    file: &FileUpload,
    cap: u64,
    platform: cutover_model::PlatformKind,
) -> Result<(), ConnectError> {
    let size = file.bytes.len() as u64;
    if size > cap {
        return Err(ConnectError::TooLarge {
            op: format!("upload {} to {platform}", file.file_name),
            file_name: file.file_name.clone(),
            size,
            cap,
            platform,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cutover_model::records::Comment;

    fn origin() -> Origin {
        Origin {
            side: Side::Old,
            platform: PlatformKind::Zendesk,
            kind: RecordKind::Ticket,
            id: PlatformId::from(4017),
        }
    }

    #[test]
    fn marks_round_trip() {
        let mark = origin().mark();
        assert_eq!(mark, "cutover:old:ticket:4017");
        assert_eq!(
            Origin::parse_mark(&mark),
            Some((Side::Old, RecordKind::Ticket, PlatformId::from(4017)))
        );
        assert_eq!(Origin::parse_mark("cutover:sideways:ticket:1"), None);
        assert_eq!(Origin::parse_mark("CRM-1234"), None);
        assert!(Origin::is_mark(&mark) && !Origin::is_mark("CRM-1234"));
    }

    #[test]
    fn references_name_their_field_and_kinds() {
        let comment = Record::Comment(Comment {
            ticket: PlatformId::from(1),
            author: PlatformId::from(2),
            public: true,
            html_body: "<p>hi</p>".into(),
            created_at: DateTime::UNIX_EPOCH,
        });
        let refs = references(&comment);
        assert_eq!(refs.len(), 2);
        assert_eq!(refs[1].field, "author");
        let targets = TargetIds::new()
            .with(
                RecordKind::Ticket,
                PlatformId::from(1),
                PlatformId::from(501),
            )
            .with(
                RecordKind::Contact,
                PlatformId::from(2),
                PlatformId::from(502),
            );
        assert_eq!(targets.resolve(&refs[1]), Some(&PlatformId::from(502)));
        let err = TargetIds::new().require(
            "create comment x on zendesk",
            "author",
            AGENT_OR_CONTACT,
            &PlatformId::from(2),
        );
        let text = err.unwrap_err().to_string();
        assert!(
            text.contains("author refers to agent or contact 2"),
            "{text}"
        );
    }

    #[test]
    fn debug_never_shows_tokens_or_bytes() {
        let handle = UploadHandle::Token("abc123secret".into());
        assert!(!format!("{handle:?}").contains("abc123secret"));
        let source = AttachmentSource {
            id: PlatformId::from(1),
            url: Url::parse("https://cdn.example/file?X-Amz-Signature=deadbeef").unwrap(),
            size: 3,
            file_name: "a.txt".into(),
        };
        assert!(!format!("{source:?}").contains("deadbeef"));
        let downloaded = Downloaded::new(b"abc".to_vec());
        assert_eq!(
            downloaded.checksum,
            blake3::hash(b"abc").to_hex().to_string()
        );
    }
}
