//! Rendering records in Zendesk's JSON shapes (as the recordings show them, key for key).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::model::{
    Comment, Group, Identity, Membership, MergeNote, Organization, Rating, Ticket, User,
};
use super::seed;
use super::store::ZendeskState;
use crate::datagen;

/// `2024-01-31T12:00:00Z`.
pub(crate) fn iso(ts: i64) -> String {
    DateTime::<Utc>::from_timestamp(ts, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Parses Zendesk's (and ISO 8601's) date-time forms into Unix seconds.
pub(crate) fn parse_time(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp());
    }
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S")
        .ok()
        .map(|t| t.and_utc().timestamp())
}

fn plain_via(channel: &str) -> Value {
    json!({"channel": channel, "source": {"from": {}, "rel": null, "to": {}}})
}

/// `via`, naming the user the platform e-mailed (`source.to`) when there is one.
pub(crate) fn via(st: &ZendeskState, channel: &str, recipient: Option<u64>) -> Value {
    let mut v = plain_via(channel);
    if let Some(user) = recipient.and_then(|id| st.users.get(&id)) {
        v["source"]["to"] = json!({"address": user.email, "name": user.name});
    }
    v
}

/// A ticket. `generated_timestamp` is added where the API shows it (exports, creates).
pub(crate) fn ticket(st: &ZendeskState, t: &Ticket, base: &str, with_generated: bool) -> Value {
    let fields: Vec<Value> = st
        .custom_field_ids("ticket_fields")
        .into_iter()
        .map(|id| {
            let value = t
                .custom_fields
                .iter()
                .find(|(f, _)| *f == id)
                .map_or(Value::Null, |(_, v)| v.clone());
            json!({"id": id, "value": value})
        })
        .collect();
    let rating = t.rating_id.and_then(|id| st.ratings.get(&id)).map_or(
        Value::Null,
        |r| json!({"id": r.id, "score": r.score, "comment": r.comment, "reason": r.reason}),
    );
    let status = if t.deleted {
        "deleted"
    } else {
        t.status.as_str()
    };
    let mut v = json!({
        "allow_attachments": true,
        "allow_channelback": false,
        "assignee_id": t.assignee_id,
        "brand_id": t.brand_id,
        "collaborator_ids": t.collaborator_ids,
        "created_at": iso(t.created_at),
        "custom_fields": fields.clone(),
        "custom_status_id": t.custom_status_id.or_else(|| st.status_ids.get(t.status.as_str()).or(st.status_ids.get("open")).copied()).unwrap_or(0),
        "description": seed::description(st, t),
        "due_at": t.due_at.map(iso),
        "email_cc_ids": t.email_cc_ids,
        "external_id": t.external_id,
        "fields": fields,
        "follower_ids": t.follower_ids,
        "followup_ids": [],
        "forum_topic_id": null,
        "from_messaging_channel": false,
        "group_id": t.group_id,
        "has_incidents": false,
        "id": t.id,
        "is_public": t.is_public,
        "organization_id": t.organization_id,
        "priority": t.priority.map(|p| p.as_str()),
        "problem_id": t.problem_id,
        "raw_subject": t.subject,
        "recipient": null,
        "requester_id": t.requester_id,
        "satisfaction_rating": rating,
        "sharing_agreement_ids": [],
        "status": status,
        "subject": t.subject,
        "submitter_id": t.submitter_id,
        "tags": t.tags,
        "ticket_form_id": t.ticket_form_id,
        "type": t.kind.map(|k| k.as_str()),
        "updated_at": iso(t.updated_at),
        "url": format!("{base}/api/v2/tickets/{}.json", t.id),
        "via": plain_via(t.via),
    });
    if with_generated {
        v["generated_timestamp"] = json!(t.generated_at);
    }
    v
}

/// Zendesk's numeric id of a locale tag.
pub(crate) fn locale_id(locale: &str) -> u64 {
    match locale {
        "de" => 8,
        "es" => 2,
        "fr" => 16,
        "ja" => 67,
        "ru" => 27,
        "zh-cn" => 10,
        "ar" => 66,
        "el" => 64,
        "hi" => 1005,
        _ => 1,
    }
}

/// A user.
pub(crate) fn user(u: &User, base: &str) -> Value {
    let role_type = match u.role {
        super::model::Role::Admin => json!(4),
        super::model::Role::Agent => u.custom_role_id.map_or(json!(0), |_| json!(0)),
        super::model::Role::EndUser => Value::Null,
    };
    json!({
        "active": u.active,
        "alias": u.alias,
        "created_at": iso(u.created_at),
        "custom_role_id": u.custom_role_id,
        "default_group_id": u.default_group_id,
        "details": u.details,
        "email": u.email,
        "external_id": u.external_id,
        "iana_time_zone": u.time_zone,
        "id": u.id,
        "last_login_at": null,
        "locale": u.locale,
        "locale_id": locale_id(&u.locale),
        "moderator": u.role != super::model::Role::EndUser,
        "name": u.name,
        "notes": u.notes,
        "only_private_comments": u.only_private_comments,
        "organization_id": u.organization_id,
        "phone": u.phone,
        "photo": null,
        "report_csv": u.role == super::model::Role::Admin,
        "restricted_agent": u.role == super::model::Role::Agent && u.ticket_restriction.is_some(),
        "role": u.role.as_str(),
        "role_type": role_type,
        "shared": false,
        "shared_agent": false,
        "shared_phone_number": null,
        "signature": u.signature,
        "suspended": u.suspended,
        "tags": u.tags,
        "ticket_restriction": u.ticket_restriction,
        "time_zone": u.time_zone,
        "two_factor_auth_enabled": false,
        "updated_at": iso(u.updated_at),
        "url": format!("{base}/api/v2/users/{}.json", u.id),
        "user_fields": u.user_fields,
        "verified": u.verified,
    })
}

/// A user identity (the primary e-mail is identity `user.id`).
pub(crate) fn identity(u: &User, i: &Identity, base: &str) -> Value {
    json!({
        "created_at": iso(i.created_at),
        "deliverable_state": "deliverable",
        "id": i.id,
        "primary": i.primary,
        "type": i.kind,
        "undeliverable_count": 0,
        "updated_at": iso(i.created_at),
        "url": format!("{base}/api/v2/users/{}/identities/{}.json", u.id, i.id),
        "user_id": u.id,
        "value": i.value,
        "verified": i.verified,
    })
}

/// An organization.
pub(crate) fn organization(o: &Organization, base: &str) -> Value {
    json!({
        "created_at": iso(o.created_at),
        "details": o.details,
        "domain_names": o.domain_names,
        "external_id": o.external_id,
        "group_id": o.group_id,
        "id": o.id,
        "name": o.name,
        "notes": o.notes,
        "organization_fields": o.organization_fields,
        "shared_comments": o.shared_comments,
        "shared_tickets": o.shared_tickets,
        "tags": o.tags,
        "updated_at": iso(o.updated_at),
        "url": format!("{base}/api/v2/organizations/{}.json", o.id),
    })
}

/// A group.
pub(crate) fn group(g: &Group, base: &str) -> Value {
    json!({
        "created_at": iso(g.created_at),
        "default": g.default,
        "deleted": g.deleted,
        "description": g.description,
        "id": g.id,
        "is_public": g.is_public,
        "name": g.name,
        "updated_at": iso(g.updated_at),
        "url": format!("{base}/api/v2/groups/{}.json", g.id),
    })
}

/// A group membership.
pub(crate) fn membership(m: &Membership, base: &str) -> Value {
    json!({
        "created_at": iso(m.created_at),
        "default": m.default,
        "group_id": m.group_id,
        "id": m.id,
        "updated_at": iso(m.updated_at),
        "url": format!("{base}/api/v2/group_memberships/{}.json", m.id),
        "user_id": m.user_id,
    })
}

/// An attachment, generated or uploaded.
pub(crate) fn attachment(st: &ZendeskState, id: u64, base: &str) -> Option<Value> {
    let (name, content_type, size, inline, token, deleted) =
        if let Some(a) = st.attachments.get(&id) {
            (
                a.file_name.clone(),
                a.content_type.clone(),
                a.bytes.len() as u64,
                a.inline,
                a.token.clone(),
                a.redacted,
            )
        } else if id < super::store::UPLOADED_ATTACHMENT_BASE {
            let meta = datagen::attachment_meta(st.seed, id, id % 4 == 3);
            (
                meta.file_name,
                meta.content_type.to_owned(),
                meta.size,
                meta.inline,
                format!("g{id}"),
                false,
            )
        } else {
            return None;
        };
    let content_url = format!(
        "{base}/attachments/token/{token}/?name={}",
        urlencode(&name)
    );
    Some(json!({
        "content_type": content_type,
        "content_url": content_url,
        "deleted": deleted,
        "file_name": name,
        "height": null,
        "id": id,
        "inline": inline,
        "malware_access_override": false,
        "malware_scan_result": "not_scanned",
        "mapped_content_url": content_url,
        "size": size,
        "thumbnails": [],
        "url": format!("{base}/api/v2/attachments/{id}.json"),
        "width": null,
    }))
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn metadata() -> Value {
    json!({"custom": {}, "system": {
        "client": "cutover-sim", "ip_address": "127.0.0.1",
        "latitude": 0.0, "location": "Localhost", "longitude": 0.0,
    }})
}

/// A comment.
pub(crate) fn comment(st: &ZendeskState, c: &Comment, base: &str) -> Value {
    let attachments: Vec<Value> = c
        .attachments
        .iter()
        .filter_map(|id| attachment(st, *id, base))
        .collect();
    json!({
        "attachments": attachments,
        "audit_id": c.audit_id,
        "author_id": c.author_id,
        "body": c.body,
        "created_at": iso(c.created_at),
        "html_body": c.html_body,
        "id": c.id,
        "metadata": metadata(),
        "plain_body": c.body,
        "public": c.public,
        "type": "Comment",
        "via": comment_via(st, c),
    })
}

/// A comment's `via`: a merge's comment names the tickets it joined (`source.rel` `merge`).
pub(crate) fn comment_via(st: &ZendeskState, c: &Comment) -> Value {
    let mut v = via(st, c.via, c.recipient_id);
    match &c.merge {
        Some(MergeNote::Into(id, subject)) => {
            v["source"]["rel"] = json!("merge");
            v["source"]["to"] = json!({"ticket_id": id, "subject": subject});
        }
        Some(MergeNote::From(ids)) => {
            v["source"]["rel"] = json!("merge");
            v["source"]["from"] = json!({"ticket_ids": ids});
        }
        None => {}
    }
    v
}

/// The comment event inside an audit.
pub(crate) fn comment_event(st: &ZendeskState, c: &Comment, base: &str) -> Value {
    let attachments: Vec<Value> = c
        .attachments
        .iter()
        .filter_map(|id| attachment(st, *id, base))
        .collect();
    json!({
        "attachments": attachments,
        "audit_id": c.audit_id,
        "author_id": c.author_id,
        "body": c.body,
        "html_body": c.html_body,
        "id": c.id,
        "plain_body": c.body,
        "public": c.public,
        "type": "Comment",
    })
}

/// An audit wrapping `events`.
pub(crate) fn audit(
    id: u64,
    ticket_id: u64,
    author_id: u64,
    at: i64,
    via: Value,
    events: Vec<Value>,
) -> Value {
    json!({
        "author_id": author_id,
        "created_at": iso(at),
        "events": events,
        "id": id,
        "metadata": metadata(),
        "ticket_id": ticket_id,
        "via": via,
    })
}

/// A satisfaction rating.
pub(crate) fn rating(r: &Rating, base: &str) -> Value {
    json!({
        "assignee_id": r.assignee_id,
        "comment": r.comment,
        "created_at": iso(r.created_at),
        "group_id": r.group_id,
        "id": r.id,
        "reason": r.reason,
        "requester_id": r.requester_id,
        "score": r.score,
        "ticket_id": r.ticket_id,
        "updated_at": iso(r.updated_at),
        "url": format!("{base}/api/v2/satisfaction_ratings/{}.json", r.id),
    })
}

/// A configuration record with its `url`.
pub(crate) fn config(kind: &str, record: &Map<String, Value>, base: &str) -> Value {
    let mut out = record.clone();
    // Custom roles are the one kind Zendesk shows without a `url`.
    if let Some(id) = record
        .get("id")
        .and_then(Value::as_u64)
        .filter(|_| kind != "custom_roles")
    {
        let path = super::config_objects::url_path(kind);
        out.insert(
            "url".into(),
            json!(format!("{base}/api/v2/{path}/{id}.json")),
        );
    }
    Value::Object(out)
}
