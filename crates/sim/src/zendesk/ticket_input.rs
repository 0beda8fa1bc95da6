//! Reading a ticket from a request body (`ticket` on create, update and import) and validating
//! it the way Zendesk does, collecting every field's error into one `RecordInvalid`.

use serde_json::{Map, Value};

use super::errors::FieldError;
use super::json::parse_time;
use super::model::{Priority, Role, Status, TicketType};
use super::store::ZendeskState;
use crate::text::html_to_text;

/// Which endpoint reads the ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `POST /tickets`.
    Create,
    /// `PUT /tickets/{id}`.
    Update,
    /// `POST /imports/tickets`.
    Import,
}

/// A comment to add.
#[derive(Debug, Clone, Default)]
pub(crate) struct CommentInput {
    /// Plain text.
    pub(crate) body: String,
    /// HTML, if given.
    pub(crate) html: Option<String>,
    /// Public reply or private note.
    pub(crate) public: bool,
    /// Author, if not the caller.
    pub(crate) author_id: Option<u64>,
    /// Upload tokens.
    pub(crate) uploads: Vec<String>,
    /// Original time (import only).
    pub(crate) created_at: Option<i64>,
    /// Made from the ticket's `description` rather than a `comment` (not e-mailed to anyone).
    pub(crate) from_description: bool,
}

/// Who the requester is.
#[derive(Debug, Clone)]
pub(crate) enum RequesterRef {
    /// An existing user.
    Id(u64),
    /// Found by e-mail or created.
    New {
        /// Name.
        name: Option<String>,
        /// E-mail.
        email: Option<String>,
    },
}

/// What a request asks to set. `Some(None)` clears a field.
#[derive(Debug, Clone, Default)]
pub(crate) struct TicketPatch {
    pub(crate) subject: Option<String>,
    pub(crate) comments: Vec<CommentInput>,
    pub(crate) requester: Option<RequesterRef>,
    pub(crate) submitter_id: Option<u64>,
    pub(crate) assignee_id: Option<Option<u64>>,
    pub(crate) group_id: Option<Option<u64>>,
    pub(crate) organization_id: Option<Option<u64>>,
    pub(crate) status: Option<Status>,
    pub(crate) priority: Option<Option<Priority>>,
    pub(crate) kind: Option<Option<TicketType>>,
    pub(crate) tags: Option<Vec<String>>,
    pub(crate) add_tags: Vec<String>,
    pub(crate) remove_tags: Vec<String>,
    pub(crate) custom_fields: Vec<(u64, Value)>,
    pub(crate) external_id: Option<Option<String>>,
    pub(crate) due_at: Option<Option<i64>>,
    pub(crate) ticket_form_id: Option<u64>,
    pub(crate) brand_id: Option<u64>,
    pub(crate) collaborator_ids: Option<Vec<u64>>,
    pub(crate) created_at: Option<i64>,
    pub(crate) updated_at: Option<i64>,
    pub(crate) solved_at: Option<i64>,
    pub(crate) safe_update_stamp: Option<String>,
    /// The channel named by a create's write-only `via_id` (Zendesk's via types).
    pub(crate) via: Option<&'static str>,
}

/// Reads and validates `ticket` for `mode`; `now` bounds import times.
pub(crate) fn parse(
    ticket: &Map<String, Value>,
    st: &ZendeskState,
    mode: Mode,
    now: i64,
) -> Result<TicketPatch, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut patch = TicketPatch {
        subject: ticket
            .get("subject")
            .and_then(Value::as_str)
            .map(str::to_owned),
        ..TicketPatch::default()
    };
    read_enums(ticket, &mut patch, &mut errors);
    read_people(ticket, st, &mut patch, &mut errors);
    read_tags(ticket, &mut patch);
    read_custom_fields(ticket, st, &mut patch, &mut errors);
    read_misc(ticket, &mut patch, &mut errors);
    read_comments(ticket, st, mode, now, &mut patch, &mut errors);
    if mode == Mode::Import {
        read_times(ticket, now, &mut patch, &mut errors);
        if patch.requester.is_none() {
            errors.push(FieldError::new(
                "requester",
                "Requester: cannot be blank",
                "BlankValue",
            ));
        }
    }
    if errors.is_empty() {
        Ok(patch)
    } else {
        Err(errors)
    }
}

fn read_enums(t: &Map<String, Value>, patch: &mut TicketPatch, errors: &mut Vec<FieldError>) {
    match t.get("status") {
        None | Some(Value::Null) => {}
        Some(v) => match v.as_str().and_then(Status::parse) {
            Some(s) => patch.status = Some(s),
            None => errors.push(invalid("status", "Status", v)),
        },
    }
    match t.get("priority") {
        None => {}
        Some(Value::Null) => patch.priority = Some(None),
        Some(v) => match v.as_str().and_then(Priority::parse) {
            Some(p) => patch.priority = Some(Some(p)),
            None => errors.push(invalid("priority", "Priority", v)),
        },
    }
    match t.get("type") {
        None => {}
        Some(Value::Null) => patch.kind = Some(None),
        Some(v) => match v.as_str().and_then(TicketType::parse) {
            Some(k) => patch.kind = Some(Some(k)),
            None => errors.push(invalid("type", "Type", v)),
        },
    }
}

fn invalid(field: &str, title: &str, value: &Value) -> FieldError {
    let shown = value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned);
    FieldError::new(
        field,
        format!("{title}: {shown} is not a valid value"),
        "InvalidValue",
    )
}

/// A plausible e-mail address (one `@`, something on both sides, a dot in the domain).
pub(crate) fn valid_email(email: &str) -> bool {
    let email = email.trim();
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(char::is_whitespace)
}

fn id_of(v: &Value) -> Option<u64> {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

fn read_people(
    t: &Map<String, Value>,
    st: &ZendeskState,
    patch: &mut TicketPatch,
    errors: &mut Vec<FieldError>,
) {
    match t.get("requester_id") {
        None => {}
        Some(Value::Null) => errors.push(FieldError::new(
            "requester",
            "Requester: cannot be blank",
            "BlankValue",
        )),
        Some(v) => match id_of(v).filter(|id| st.users.get(id).is_some_and(|u| u.active)) {
            Some(id) => patch.requester = Some(RequesterRef::Id(id)),
            None => errors.push(FieldError::new(
                "requester",
                "Requester: is invalid",
                "InvalidValue",
            )),
        },
    }
    if let Some(Value::Object(r)) = t.get("requester") {
        let name = r.get("name").and_then(Value::as_str).map(str::to_owned);
        let email = r.get("email").and_then(Value::as_str).map(str::to_owned);
        match (&name, &email) {
            (_, Some(e)) if !valid_email(e) => errors.push(FieldError::new(
                "requester",
                format!("Requester: Email: {e} is not properly formatted"),
                "InvalidFormat",
            )),
            (None, None) => errors.push(FieldError::new(
                "requester",
                "Requester: Name: is too short (minimum one character)",
                "BlankValue",
            )),
            _ => patch.requester = Some(RequesterRef::New { name, email }),
        }
    }
    patch.submitter_id = t
        .get("submitter_id")
        .and_then(id_of)
        .filter(|id| st.users.contains_key(id));
    if let Some(v) = t.get("assignee_id") {
        let agent = id_of(v).filter(|id| {
            st.users
                .get(id)
                .is_some_and(|u| u.role != Role::EndUser && u.active)
        });
        match (v, agent) {
            (Value::Null, _) => patch.assignee_id = Some(None),
            (_, Some(id)) => patch.assignee_id = Some(Some(id)),
            _ => errors.push(FieldError::new(
                "assignee",
                "Assignee: is invalid",
                "InvalidValue",
            )),
        }
    }
    if let Some(v) = t.get("group_id") {
        match (
            v,
            id_of(v).filter(|id| st.groups.get(id).is_some_and(|g| !g.deleted)),
        ) {
            (Value::Null, _) => patch.group_id = Some(None),
            (_, Some(id)) => patch.group_id = Some(Some(id)),
            _ => errors.push(FieldError::new(
                "group",
                "Group: is invalid",
                "InvalidValue",
            )),
        }
    }
    if let Some(v) = t.get("organization_id") {
        match (v, id_of(v).filter(|id| st.orgs.contains_key(id))) {
            (Value::Null, _) => patch.organization_id = Some(None),
            (_, Some(id)) => patch.organization_id = Some(Some(id)),
            _ => errors.push(FieldError::new(
                "organization",
                "Organization: is invalid",
                "InvalidValue",
            )),
        }
    }
    if let Some(Value::Array(ids)) = t.get("collaborator_ids") {
        patch.collaborator_ids = Some(
            ids.iter()
                .filter_map(id_of)
                .filter(|id| st.users.contains_key(id))
                .collect(),
        );
    }
}

fn tag_list(v: Option<&Value>) -> Option<Vec<String>> {
    match v? {
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .map(normalise_tag)
                .collect(),
        ),
        Value::String(s) => Some(s.split_whitespace().map(normalise_tag).collect()),
        _ => None,
    }
}

/// Tags are lower case without spaces.
pub(crate) fn normalise_tag(tag: &str) -> String {
    tag.trim().to_lowercase().replace(' ', "_")
}

fn read_tags(t: &Map<String, Value>, patch: &mut TicketPatch) {
    patch.tags = tag_list(t.get("tags"));
    patch.add_tags = tag_list(t.get("additional_tags")).unwrap_or_default();
    patch.remove_tags = tag_list(t.get("remove_tags")).unwrap_or_default();
}

fn read_custom_fields(
    t: &Map<String, Value>,
    st: &ZendeskState,
    patch: &mut TicketPatch,
    errors: &mut Vec<FieldError>,
) {
    let known = st.custom_field_ids("ticket_fields");
    let mut pairs: Vec<(Value, Value)> = Vec::new();
    for key in ["custom_fields", "fields"] {
        match t.get(key) {
            Some(Value::Array(items)) => pairs.extend(items.iter().map(|i| {
                (
                    i.get("id").cloned().unwrap_or(Value::Null),
                    i.get("value").cloned().unwrap_or(Value::Null),
                )
            })),
            Some(Value::Object(map)) => pairs.extend(
                map.iter()
                    .map(|(k, v)| (Value::String(k.clone()), v.clone())),
            ),
            _ => {}
        }
    }
    for (id, value) in pairs {
        match id_of(&id).filter(|id| known.contains(id)) {
            Some(id) => patch.custom_fields.push((id, value)),
            None => errors.push(FieldError::new(
                "custom_fields",
                format!("Custom field {id} does not exist"),
                "InvalidValue",
            )),
        }
    }
}

/// The `via.channel` of a ticket created with `via_id` (Zendesk's via types reference); an id
/// without a channel of its own is left as `api`, which is what a create by API records.
fn via_channel(via_id: u64) -> Option<&'static str> {
    match via_id {
        0 => Some("web"),
        4 => Some("email"),
        29 => Some("chat"),
        33..=35 | 44 | 45 => Some("voice"),
        _ => None,
    }
}

fn read_misc(t: &Map<String, Value>, patch: &mut TicketPatch, errors: &mut Vec<FieldError>) {
    if let Some(v) = t.get("external_id") {
        patch.external_id = Some(match v {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        });
    }
    if let Some(v) = t.get("due_at") {
        match (v, v.as_str().and_then(parse_time)) {
            (Value::Null, _) => patch.due_at = Some(None),
            (_, Some(ts)) => patch.due_at = Some(Some(ts)),
            _ => errors.push(invalid("due_at", "Due at", v)),
        }
    }
    patch.ticket_form_id = t.get("ticket_form_id").and_then(id_of);
    patch.brand_id = t.get("brand_id").and_then(id_of);
    patch.via = t
        .get("via_id")
        .and_then(Value::as_u64)
        .and_then(via_channel);
    if t.get("safe_update").and_then(Value::as_bool) == Some(true) {
        patch.safe_update_stamp = t
            .get("updated_stamp")
            .and_then(Value::as_str)
            .map(str::to_owned);
    }
}

fn read_comment(
    c: &Value,
    st: &ZendeskState,
    field: &str,
    import: bool,
    errors: &mut Vec<FieldError>,
) -> Option<CommentInput> {
    let Value::Object(c) = c else {
        errors.push(FieldError::new(
            field,
            "Comment: is invalid",
            "InvalidValue",
        ));
        return None;
    };
    let text = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_owned);
    let html = text("html_body");
    let body = text("body")
        .or_else(|| text("value"))
        .or_else(|| html.as_deref().map(html_to_text))
        .unwrap_or_default();
    let uploads: Vec<String> = match c.get("uploads") {
        Some(Value::Array(tokens)) => tokens
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(Value::String(token)) => vec![token.clone()],
        _ => Vec::new(),
    };
    if body.trim().is_empty() && uploads.is_empty() {
        errors.push(FieldError::new(
            field,
            "Comment: cannot be blank",
            "BlankValue",
        ));
        return None;
    }
    if let Some(bad) = uploads.iter().find(|t| !st.uploads.contains_key(*t)) {
        errors.push(FieldError::new(
            "uploads",
            format!("Uploads: token {bad} is invalid or expired"),
            "InvalidValue",
        ));
    }
    let author_id = c.get("author_id").and_then(id_of);
    if author_id.is_some_and(|id| !st.users.contains_key(&id)) {
        errors.push(FieldError::new(
            field,
            "Comment: author is invalid",
            "InvalidValue",
        ));
    }
    let created_at = if import {
        c.get("created_at")
            .and_then(Value::as_str)
            .and_then(parse_time)
    } else {
        None
    };
    let public = c.get("public").and_then(Value::as_bool).unwrap_or(true);
    Some(CommentInput {
        body,
        html,
        public,
        author_id,
        uploads,
        created_at,
        from_description: false,
    })
}

fn read_comments(
    t: &Map<String, Value>,
    st: &ZendeskState,
    mode: Mode,
    now: i64,
    patch: &mut TicketPatch,
    errors: &mut Vec<FieldError>,
) {
    let import = mode == Mode::Import;
    if let Some(c) = t.get("comment") {
        patch
            .comments
            .extend(read_comment(c, st, "comment", import, errors));
    }
    if import {
        if let Some(Value::Array(list)) = t.get("comments") {
            for c in list {
                patch
                    .comments
                    .extend(read_comment(c, st, "comments", true, errors));
            }
        }
        for c in &mut patch.comments {
            if let Some(at) = c.created_at {
                if at > now {
                    errors.push(FieldError::new(
                        "comments",
                        "Comments: created_at cannot be in the future",
                        "InvalidValue",
                    ));
                }
                c.created_at = Some(at.max(0));
            }
        }
    }
    if patch.comments.is_empty() && mode != Mode::Update {
        match t
            .get("description")
            .and_then(Value::as_str)
            .filter(|d| !d.trim().is_empty())
        {
            Some(d) => patch.comments.push(CommentInput {
                body: d.to_owned(),
                public: true,
                from_description: true,
                ..CommentInput::default()
            }),
            None if !errors.iter().any(|e| e.field == "comment") => {
                errors.push(FieldError::new(
                    "description",
                    "Description: cannot be blank",
                    "BlankValue",
                ));
            }
            None => {}
        }
    }
}

fn read_times(
    t: &Map<String, Value>,
    now: i64,
    patch: &mut TicketPatch,
    errors: &mut Vec<FieldError>,
) {
    for (key, slot) in [
        ("created_at", &mut patch.created_at),
        ("updated_at", &mut patch.updated_at),
        ("solved_at", &mut patch.solved_at),
    ] {
        if let Some(v) = t.get(key).filter(|v| !v.is_null()) {
            match v.as_str().and_then(parse_time) {
                Some(ts) if ts > now => errors.push(FieldError::new(
                    key,
                    format!("{key}: cannot be in the future"),
                    "InvalidValue",
                )),
                // Before 1970 is imported as 1970, as Zendesk documents.
                Some(ts) => *slot = Some(ts.max(0)),
                None => errors.push(invalid(key, key, v)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_email(input: &str, expected: bool) {
        assert_eq!(valid_email(input), expected, "{input}");
    }

    #[test]
    fn emails() {
        check_email("a@example.com", true);
        check_email("анна.7@пример.рф", true);
        check_email("no-at-sign", false);
        check_email("a@b", false);
        check_email("a b@example.com", false);
        check_email("a@@example.com", false);
    }
}
