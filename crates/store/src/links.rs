//! Links: one row per record that exists on both sides.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use cutover_model::{Fingerprint, PlatformId, RecordKind, Side};

/// What a link says: which old record is which new record, and what was last synced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The kind of both records.
    pub kind: RecordKind,
    /// The record's id on the old side.
    pub old_id: PlatformId,
    /// The record's id on the new side.
    pub new_id: PlatformId,
    /// The fingerprint of the canonical content at the last sync: a change whose fingerprint
    /// equals it is the bridge's own echo.
    pub fingerprint: Fingerprint,
    /// The old platform's version of the record at the last sync (e.g. its `updated_at`).
    pub old_version: Option<String>,
    /// The new platform's version of the record at the last sync.
    pub new_version: Option<String>,
    /// Which side wrote the content last.
    pub last_writer: Side,
    /// A hash of each field of the content at the last sync (by field name), when the bridge
    /// keeps them: a field whose hash differs on a side changed there since. `None` on links
    /// made before field hashes were kept.
    pub fields: Option<FieldHashes>,
}

/// A hash of each field of a record's content, by field name.
pub type FieldHashes = BTreeMap<String, String>;

/// Field hashes as stored (a JSON object of strings).
pub(crate) fn encode_fields(fields: &FieldHashes) -> String {
    serde_json::to_string(fields).unwrap_or_else(|_| "{}".to_owned())
}

/// Field hashes as read back.
pub(crate) fn decode_fields(text: &str) -> Result<FieldHashes, String> {
    serde_json::from_str(text).map_err(|e| e.to_string())
}

impl Link {
    /// A fresh link, written by `last_writer`, with no versions seen yet.
    pub fn new(
        kind: RecordKind,
        old_id: PlatformId,
        new_id: PlatformId,
        fingerprint: Fingerprint,
        last_writer: Side,
    ) -> Self {
        Link {
            kind,
            old_id,
            new_id,
            fingerprint,
            old_version: None,
            new_version: None,
            last_writer,
            fields: None,
        }
    }

    /// The record's id on one side.
    pub fn id(&self, side: Side) -> &PlatformId {
        match side {
            Side::Old => &self.old_id,
            Side::New => &self.new_id,
        }
    }

    /// The version seen on one side.
    pub fn version(&self, side: Side) -> Option<&str> {
        match side {
            Side::Old => self.old_version.as_deref(),
            Side::New => self.new_version.as_deref(),
        }
    }
}

/// A link as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLink {
    /// What the link says.
    pub link: Link,
    /// When it was last written (store clock, to the microsecond).
    pub updated_at: DateTime<Utc>,
}

/// What `link_if_absent` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkOutcome {
    /// This call created the link.
    Created(StoredLink),
    /// The old id was linked already (possibly to another new id); nothing was written.
    Existing(StoredLink),
    /// The new id is linked to another old record; nothing was written.
    NewIdTaken(StoredLink),
}

impl LinkOutcome {
    /// Whether this call created the link.
    pub fn is_created(&self) -> bool {
        matches!(self, LinkOutcome::Created(_))
    }

    /// The link that now holds the ids: the one created or the one found.
    pub fn stored(&self) -> &StoredLink {
        match self {
            LinkOutcome::Created(link)
            | LinkOutcome::Existing(link)
            | LinkOutcome::NewIdTaken(link) => link,
        }
    }
}
