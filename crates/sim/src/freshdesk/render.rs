//! Records as the API shows them: the ticket with its optional embeds, conversations, contacts,
//! agents (with their contact), attachments with their download URL.

use serde_json::{Value, json};

use super::store::{Attachment, FreshdeskState, Rec, flag, iso, public, u64_of};

/// Which embeds a request asked for (`include=requester,stats,description,company,conversations`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Includes {
    pub(crate) requester: bool,
    pub(crate) stats: bool,
    pub(crate) description: bool,
    pub(crate) company: bool,
    pub(crate) conversations: bool,
}

impl Includes {
    /// Reads an `include` list; unknown names are returned as the error.
    pub(crate) fn parse(list: &[String], allowed: &[&str]) -> Result<Self, String> {
        let mut inc = Self::default();
        for name in list {
            if !allowed.contains(&name.as_str()) {
                return Err(name.clone());
            }
            match name.as_str() {
                "requester" => inc.requester = true,
                "stats" => inc.stats = true,
                "description" => inc.description = true,
                "company" => inc.company = true,
                "conversations" => inc.conversations = true,
                _ => {}
            }
        }
        Ok(inc)
    }
}

/// Freshdesk's status names (custom statuses are named by the ticket-field choices).
pub(crate) fn status_name(status: u64) -> &'static str {
    match status {
        2 => "Open",
        3 => "Pending",
        4 => "Resolved",
        5 => "Closed",
        6 => "Waiting on Customer",
        7 => "Waiting on Third Party",
        _ => "Custom",
    }
}

/// Priority names.
pub(crate) fn priority_name(priority: u64) -> &'static str {
    match priority {
        1 => "Low",
        2 => "Medium",
        3 => "High",
        _ => "Urgent",
    }
}

/// An attachment as listed on a ticket or conversation.
pub(crate) fn attachment(att: &Attachment, base: &str) -> Value {
    json!({
        "id": att.id,
        "content_type": att.content_type,
        "file_size": att.size,
        "name": att.name,
        "attachment_url": attachment_url(att, base),
        "created_at": iso(att.created_at),
        "updated_at": iso(att.created_at),
    })
}

/// Where an attachment's bytes are served (no authentication, like Freshdesk's CDN links).
pub(crate) fn attachment_url(att: &Attachment, base: &str) -> String {
    let name: String = url::form_urlencoded::byte_serialize(att.name.as_bytes()).collect();
    format!(
        "{base}/data/helpdesk/attachments/production/{}/original/{name}",
        att.id
    )
}

fn attachments(st: &FreshdeskState, rec: &Rec, base: &str) -> Value {
    let list = rec
        .get("_attachments")
        .and_then(Value::as_array)
        .map(|ids| {
            ids.iter()
                .filter_map(Value::as_u64)
                .filter_map(|id| st.attachments.get(&id))
                .map(|a| attachment(a, base))
                .collect()
        })
        .unwrap_or_default();
    Value::Array(list)
}

/// A ticket. Lists leave out `description`, `description_text` and `attachments` unless
/// `include=description` (the latter two stay out of lists regardless).
pub(crate) fn ticket(
    st: &FreshdeskState,
    rec: &Rec,
    base: &str,
    inc: Includes,
    in_list: bool,
) -> Value {
    let mut out = public(rec);
    if in_list {
        out.remove("attachments");
        if !inc.description {
            out.remove("description");
            out.remove("description_text");
        }
    } else {
        out.insert("attachments".into(), attachments(st, rec, base));
    }
    if let Some(priority) = u64_of(rec, "priority") {
        out.insert("priority_name".into(), json!(priority_name(priority)));
    }
    if flag(rec, "_deleted") {
        out.insert("deleted".into(), json!(true));
    }
    if inc.stats {
        out.insert(
            "stats".into(),
            rec.get("_stats").cloned().unwrap_or(Value::Null),
        );
    }
    if inc.requester {
        let requester = u64_of(rec, "requester_id")
            .and_then(|id| st.contacts.get(&id))
            .map_or(Value::Null, |c| {
                json!({"id": c.get("id"), "name": c.get("name"), "email": c.get("email"),
                    "mobile": c.get("mobile"), "phone": c.get("phone")})
            });
        out.insert("requester".into(), requester);
    }
    if inc.company {
        let company = u64_of(rec, "company_id")
            .and_then(|id| st.companies.get(&id))
            .map_or(
                Value::Null,
                |c| json!({"id": c.get("id"), "name": c.get("name")}),
            );
        out.insert("company".into(), company);
    }
    if inc.conversations && !in_list {
        let list: Vec<Value> = st
            .conversations_of(u64_of(rec, "id").unwrap_or(0))
            .iter()
            .take(10)
            .filter_map(|id| st.conversations.get(id))
            .map(|c| conversation(st, c, base))
            .collect();
        out.insert("conversations".into(), Value::Array(list));
    }
    Value::Object(out)
}

/// A reply or note.
pub(crate) fn conversation(st: &FreshdeskState, rec: &Rec, base: &str) -> Value {
    let mut out = public(rec);
    out.insert("attachments".into(), attachments(st, rec, base));
    Value::Object(out)
}

/// A contact (agents' contact records are not contacts of the API's lists).
pub(crate) fn contact(rec: &Rec) -> Value {
    Value::Object(public(rec))
}

/// An agent, with its `contact` object.
pub(crate) fn agent(st: &FreshdeskState, rec: &Rec) -> Value {
    let mut out = public(rec);
    let id = u64_of(rec, "id").unwrap_or(0);
    let contact = st.contacts.get(&id).map_or(Value::Null, |c| {
        json!({
            "active": c.get("active"), "email": c.get("email"), "job_title": c.get("job_title"),
            "language": c.get("language"), "last_login_at": rec.get("_last_login_at"),
            "mobile": c.get("mobile"), "name": c.get("name"), "phone": c.get("phone"),
            "time_zone": c.get("time_zone"), "created_at": c.get("created_at"),
            "updated_at": c.get("updated_at"),
        })
    });
    out.insert("contact".into(), contact);
    Value::Object(out)
}
