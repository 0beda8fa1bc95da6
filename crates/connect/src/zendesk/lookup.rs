//! Finding a copy on Zendesk before creating one: by cutover's mark in `external_id`, or by the
//! record's natural key (e-mail, name, title), so a crash between "created" and "linked" never
//! duplicates.

use cutover_model::records::{Comment, FieldTarget, Record};
use cutover_model::{PlatformId, RecordKind};
use serde_json::Value;

use super::ZendeskConnector;
use super::bodies;
use crate::connector::WrittenChild;
use crate::error::ConnectError;
use crate::header;
use crate::http::Request;
use crate::outbound::Outbound;

fn id_of(record: &Value) -> Option<PlatformId> {
    match record.get("id")? {
        Value::Number(n) => n.as_u64().map(PlatformId::from),
        Value::String(s) => PlatformId::parse(s.clone()).ok(),
        _ => None,
    }
}

fn str_of<'a>(record: &'a Value, key: &str) -> Option<&'a str> {
    record.get(key).and_then(Value::as_str)
}

/// Finds a copy of `outbound` on Zendesk.
pub(crate) async fn find(
    zd: &ZendeskConnector,
    outbound: &Outbound,
) -> Result<Option<PlatformId>, ConnectError> {
    let op = outbound.op("look up", zd_platform());
    let mark = outbound.origin.mark();
    match &outbound.record {
        Record::Organization(org) => find_organization(zd, &op, &org.name, &mark).await,
        Record::Contact(contact) => {
            let external = contact.external_id.as_deref().unwrap_or(&mark);
            let users = search(
                zd,
                &op,
                "users/search.json",
                "users",
                "external_id",
                external,
            )
            .await?;
            match users.first().and_then(id_of) {
                Some(id) => Ok(Some(id)),
                None => user_by_email(zd, &op, contact.email.as_deref()).await,
            }
        }
        Record::Agent(agent) => user_by_email(zd, &op, Some(&agent.email)).await,
        Record::Group(group) => {
            in_list(zd, &op, "groups.json", "groups", "name", &group.name).await
        }
        Record::Role(role) => {
            in_list(
                zd,
                &op,
                "custom_roles.json",
                "custom_roles",
                "name",
                &role.name,
            )
            .await
        }
        Record::CustomField(def) => {
            let (path, _) = bodies::field_endpoint(def.target);
            let (key, wanted) = match def.target {
                FieldTarget::Ticket => ("title", def.title.as_str()),
                _ => ("key", def.key.as_str()),
            };
            in_list(zd, &op, &format!("{path}.json"), path, key, wanted).await
        }
        Record::Ticket(_) => {
            let request = Request::get("tickets.json").query("external_id", &mark);
            let (body, _) = zd.api.get(&op, &request).await?;
            let tickets = body.get("tickets").and_then(Value::as_array);
            Ok(tickets.and_then(|t| t.first()).and_then(id_of))
        }
        Record::Comment(comment) => {
            let targets = &outbound.targets;
            let ticket = targets.require(&op, "ticket", &[RecordKind::Ticket], &comment.ticket)?;
            let comments = ticket_comments(zd, &op, &ticket).await?;
            Ok(comments
                .iter()
                .filter(|c| id_of(c).is_some_and(|id| !outbound.taken.contains(&id)))
                .find(|c| same_comment(c, comment, outbound))
                .and_then(id_of))
        }
        Record::Attachment(_) | Record::SatisfactionRating(_) => Ok(None),
        Record::ChannelConfig(c) => {
            let path = "recipient_addresses.json";
            in_list(zd, &op, path, "recipient_addresses", "email", &c.title).await
        }
        Record::Macro(_)
        | Record::Automation(_)
        | Record::SlaPolicy(_)
        | Record::View(_)
        | Record::TicketForm(_) => zd.find_rule(outbound, &op).await,
    }
}

/// An organization by the mark in its external id, else by its (unique) name.
async fn find_organization(
    zd: &ZendeskConnector,
    op: &str,
    name: &str,
    mark: &str,
) -> Result<Option<PlatformId>, ConnectError> {
    let path = "organizations/search.json";
    let marked = search(zd, op, path, "organizations", "external_id", mark).await?;
    if let Some(id) = marked.first().and_then(id_of) {
        return Ok(Some(id));
    }
    let named = search(zd, op, path, "organizations", "name", name).await?;
    Ok(named
        .iter()
        .find(|o| str_of(o, "name") == Some(name))
        .and_then(id_of))
}

fn zd_platform() -> cutover_model::PlatformKind {
    cutover_model::PlatformKind::Zendesk
}

async fn search(
    zd: &ZendeskConnector,
    op: &str,
    path: &str,
    key: &str,
    param: &str,
    value: &str,
) -> Result<Vec<Value>, ConnectError> {
    let request = Request::get(path).query(param, value);
    let (body, _) = zd.api.get(op, &request).await?;
    Ok(body
        .get(key)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default())
}

async fn user_by_email(
    zd: &ZendeskConnector,
    op: &str,
    email: Option<&str>,
) -> Result<Option<PlatformId>, ConnectError> {
    let Some(email) = email else { return Ok(None) };
    let found = search(
        zd,
        op,
        "users/search.json",
        "users",
        "query",
        &format!("email:\"{email}\""),
    )
    .await?;
    Ok(found
        .iter()
        .find(|u| str_of(u, "email").is_some_and(|e| e.eq_ignore_ascii_case(email)))
        .and_then(id_of))
}

/// Scans a whole list for a record whose `key` equals `wanted`.
pub(super) async fn in_list(
    zd: &ZendeskConnector,
    op: &str,
    path: &str,
    key: &str,
    field: &str,
    wanted: &str,
) -> Result<Option<PlatformId>, ConnectError> {
    let mut token: Option<String> = None;
    loop {
        let paged = !matches!(
            path,
            "custom_roles.json" | "slas/policies.json" | "ticket_forms.json"
        );
        let list = match zd
            .api
            .list_page(op, path, key, token.as_deref(), paged)
            .await
        {
            Err(e) if matches!(e.status(), Some(403 | 404)) => return Ok(None),
            other => other?,
        };
        if let Some(id) = list
            .items
            .iter()
            .find(|r| str_of(r, field) == Some(wanted))
            .and_then(id_of)
        {
            return Ok(Some(id));
        }
        match list.next {
            Some(next) if Some(&next) != token.as_ref() => token = Some(next),
            _ => return Ok(None),
        }
    }
}

/// Every comment of a ticket, raw.
pub(super) async fn ticket_comments(
    zd: &ZendeskConnector,
    op: &str,
    ticket: &PlatformId,
) -> Result<Vec<Value>, ConnectError> {
    let path = format!("tickets/{ticket}/comments.json");
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let list = zd
            .api
            .list_page_with(
                op,
                &path,
                "comments",
                token.as_deref(),
                true,
                super::client::INLINE_IMAGES,
            )
            .await?;
        all.extend(list.items);
        match list.next {
            Some(next) if Some(&next) != token.as_ref() => token = Some(next),
            _ => return Ok(all),
        }
    }
}

/// Text without tags and with whitespace collapsed: how bodies are compared after Zendesk
/// rewrites their HTML.
pub(crate) fn plain(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether a Zendesk comment is the copy of `comment`: written under our header (its mark), or
/// imported (imports keep times) by the same author at the same time with the same text. Every
/// comment written live carries the header, public or private (a public reply written public
/// while the triggers are quiet, or private before), so none is matched by text alone. Two
/// comments of one author with one text are told apart by their times: matching by text alone
/// handed one copy to both.
fn same_comment(raw: &Value, comment: &Comment, outbound: &Outbound) -> bool {
    let html = str_of(raw, "html_body").unwrap_or_default();
    if let Some((info, _)) = header::parse(html) {
        return info.id == outbound.origin.id && info.side == outbound.origin.side;
    }
    let author = outbound
        .targets
        .get(RecordKind::Agent, &comment.author)
        .or_else(|| outbound.targets.get(RecordKind::Contact, &comment.author));
    let same_author = match (author, raw.get("author_id").and_then(Value::as_u64)) {
        (Some(author), Some(raw_author)) => author.as_str() == raw_author.to_string(),
        _ => false,
    };
    let same_time =
        str_of(raw, "created_at").and_then(crate::fields::parse_time) == Some(comment.created_at);
    same_author && same_time && plain(html) == plain(&comment.html_body)
}

/// The files of a found comment (its copy's attachments, matched by name).
pub(crate) async fn comment_files(
    zd: &ZendeskConnector,
    comment: &PlatformId,
    outbound: &Outbound,
) -> Result<Vec<WrittenChild>, ConnectError> {
    let Record::Comment(record) = &outbound.record else {
        return Ok(Vec::new());
    };
    let op = outbound.op("match files of", zd_platform());
    let ticket = outbound
        .targets
        .require(&op, "ticket", &[RecordKind::Ticket], &record.ticket)?;
    let comments = ticket_comments(zd, &op, &ticket).await?;
    Ok(comments
        .iter()
        .find(|c| id_of(c).as_ref() == Some(comment))
        .map(|raw| super::write::attachment_children(raw, outbound))
        .unwrap_or_default())
}

/// Links the comments of a found ticket to the outbound's children, where they match.
pub(crate) async fn match_children(
    zd: &ZendeskConnector,
    ticket: &PlatformId,
    outbound: &Outbound,
) -> Result<Vec<WrittenChild>, ConnectError> {
    let op = outbound.op("match comments of", zd_platform());
    let comments = ticket_comments(zd, &op, ticket).await?;
    Ok(match_comments(comments, outbound).0)
}

/// The outbound's children matched to a ticket's comments as Zendesk shows them (`comments`,
/// raw: its comments list, or the ticket events export's comment events), each comment with its
/// files; and whether every comment sent was matched.
pub(crate) fn match_comments(
    mut comments: Vec<Value>,
    outbound: &Outbound,
) -> (Vec<WrittenChild>, bool) {
    let mut children = Vec::new();
    let mut all = true;
    for child in &outbound.children {
        let Record::Comment(comment) = &child.record else {
            continue;
        };
        let Some(idx) = comments.iter().position(|c| {
            id_of(c).is_some_and(|id| !child.taken.contains(&id)) && same_comment(c, comment, child)
        }) else {
            all = false;
            continue;
        };
        let raw = comments.remove(idx);
        if let Some(id) = id_of(&raw) {
            children.push(WrittenChild {
                origin: child.origin.clone(),
                id,
            });
        }
        children.extend(super::write::attachment_children(&raw, child));
    }
    (children, all)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly on purpose")]
    use super::*;

    #[test]
    fn plain_text_ignores_markup_and_spacing() {
        assert_eq!(
            plain(
                "<div class=\"zd-comment\" dir=\"auto\"><p dir=\"auto\">Some   comment</p></div>"
            ),
            "Some comment"
        );
        assert_eq!(plain("Some comment"), "Some comment");
    }

    fn outbound(id: u64, html: &str, created: &str) -> (Comment, Outbound) {
        let comment = Comment {
            ticket: PlatformId::from(7),
            author: PlatformId::from(30),
            public: false,
            html_body: html.into(),
            created_at: crate::fields::parse_time(created).unwrap(),
        };
        let origin = crate::outbound::Origin {
            side: cutover_model::Side::Old,
            platform: cutover_model::PlatformKind::Zendesk,
            kind: RecordKind::Comment,
            id: PlatformId::from(id),
        };
        let mut outbound = Outbound::new(origin, Record::Comment(comment.clone()));
        outbound.targets.insert(
            RecordKind::Contact,
            PlatformId::from(30),
            PlatformId::from(9030),
        );
        (comment, outbound)
    }

    #[test]
    fn equal_text_by_one_author_at_another_time_is_another_comment() {
        let raw = serde_json::json!({
            "id": 500, "author_id": 9030, "created_at": "2025-10-06T05:29:25Z",
            "html_body": "<div class=\"zd-comment\"><p>Thanks!</p><p><img src=\"x.png\"></p></div>",
        });
        let (same, same_out) = outbound(1, "<p>Thanks!</p>", "2025-10-06T05:29:25Z");
        assert!(same_comment(&raw, &same, &same_out));
        let (earlier, earlier_out) = outbound(2, "<p>Thanks!</p>", "2025-10-04T08:03:05Z");
        assert!(!same_comment(&raw, &earlier, &earlier_out));
        let (other, other_out) = outbound(3, "<p>Sorry!</p>", "2025-10-06T05:29:25Z");
        assert!(!same_comment(&raw, &other, &other_out));
    }

    #[test]
    fn a_header_names_the_copy_whatever_its_time() {
        let (comment, out) = outbound(4, "<p>Thanks!</p>", "2025-10-04T08:03:05Z");
        let line = header::header(&out.origin, &comment.created_at, false, None);
        let raw = serde_json::json!({
            "id": 501, "author_id": 9030, "created_at": "2030-01-01T00:00:00Z",
            "html_body": format!("{line}<p>Thanks!</p>"),
        });
        assert!(same_comment(&raw, &comment, &out));
        let (_, other_out) = outbound(5, "<p>Thanks!</p>", "2025-10-04T08:03:05Z");
        assert!(!same_comment(&raw, &comment, &other_out));
    }
}
