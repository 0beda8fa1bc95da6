//! Zendesk write requests: what cutover would send for each kind. The HTTP exchange
//! itself is tested end to end once the emulators in `sim` serve Zendesk.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};

use cutover_model::records::{Attachment, Comment, Record, Ticket};
use cutover_model::{PlatformId, PlatformKind, RecordKind, Side};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::Value;
use url::Url;

use super::{ZendeskConfig, ZendeskConnector, mapping};
use crate::connector::Connector;
use crate::http::{Body, Target};
use crate::outbound::{History, Origin, Outbound, TargetIds, UploadHandle, UploadRef};
use crate::{ConnectError, ErrorClass, FileUpload};

fn connector() -> ZendeskConnector {
    let url = Url::parse("https://acme.zendesk.com").unwrap();
    ZendeskConnector::new(ZendeskConfig::with_api_token(
        Side::New,
        url,
        "admin@acme.test",
        SecretString::from("s3cr3t-token"),
    ))
    .unwrap()
}

fn origin(kind: RecordKind, id: u64) -> Origin {
    Origin {
        side: Side::Old,
        platform: PlatformKind::Freshdesk,
        kind,
        id: PlatformId::from(id),
    }
}

fn comment_outbound(id: u64, public: bool, created: i64) -> Outbound {
    let comment = Comment {
        ticket: PlatformId::from(7),
        author: PlatformId::from(30),
        public,
        html_body: format!("<p>comment {id}</p>"),
        created_at: time_at(created),
    };
    let mut outbound = Outbound::new(origin(RecordKind::Comment, id), Record::Comment(comment));
    outbound.targets = TargetIds::new()
        .with(
            RecordKind::Ticket,
            PlatformId::from(7),
            PlatformId::from(9007),
        )
        .with(
            RecordKind::Contact,
            PlatformId::from(30),
            PlatformId::from(9030),
        );
    outbound.history = History {
        author: Some("Jane Doe <jane@example.com>".into()),
        ..History::default()
    };
    outbound
}

fn ticket_outbound() -> Outbound {
    let ticket = Ticket {
        subject: "Printer on fire".into(),
        status: "closed".into(),
        priority: Some("high".into()),
        ticket_type: None,
        brand: None,
        channel: cutover_model::records::Channel::Email,
        requester: PlatformId::from(30),
        assignee: None,
        group: None,
        organization: None,
        tags: Default::default(),
        custom_fields: Default::default(),
        created_at: time_at(1_000),
        solved_at: Some(time_at(5_000)),
        merged_into: None,
    };
    let mut outbound = Outbound::new(origin(RecordKind::Ticket, 7), Record::Ticket(ticket));
    outbound.targets = TargetIds::new().with(
        RecordKind::Contact,
        PlatformId::from(30),
        PlatformId::from(9030),
    );
    outbound.history.updated_at = Some(time_at(6_000));
    let mut first = comment_outbound(71, true, 1_000);
    first.uploads.push(UploadRef {
        origin: Some(origin(RecordKind::Attachment, 711)),
        file_name: "log.txt".into(),
        content_type: "text/plain".into(),
        size: 3,
        handle: UploadHandle::Token("upload-token-1".into()),
        url: None,
    });
    outbound.children = vec![first, comment_outbound(72, false, 2_000)];
    outbound
}

fn json_body(body: &Body) -> &Value {
    match body {
        Body::Json(value) => value,
        other => panic!("not JSON: {other:?}"),
    }
}

#[test]
fn tickets_go_through_the_import_api_with_their_history() {
    let zd = connector();
    let (request, envelope) = zd.create_request(&ticket_outbound(), "test").unwrap();
    assert_eq!((request.method.clone(), envelope), (Method::POST, "ticket"));
    assert!(matches!(&request.target, Target::Path(p) if p == "imports/tickets.json"));
    let key = request
        .headers
        .iter()
        .find(|(name, _)| name == "idempotency-key")
        .map(|(_, v)| v.clone());
    assert!(
        key.is_some_and(|k| k.starts_with("cutover-")),
        "creates carry an Idempotency-Key"
    );
    let ticket = &json_body(&request.body)["ticket"];
    assert_eq!(ticket["external_id"], "cutover:old:ticket:7");
    assert_eq!(ticket["created_at"], "1970-01-01T00:16:40Z");
    assert_eq!(ticket["updated_at"], "1970-01-01T01:40:00Z");
    assert_eq!(ticket["solved_at"], "1970-01-01T01:23:20Z");
    assert_eq!(ticket["requester_id"], 9030);
    let comments = ticket["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 2);
    assert_eq!(comments[0]["author_id"], 9030);
    assert_eq!(
        (
            comments[0]["public"].as_bool(),
            comments[1]["public"].as_bool()
        ),
        (Some(true), Some(false))
    );
    assert_eq!(comments[0]["uploads"][0], "upload-token-1");
    assert_eq!(comments[1]["created_at"], "1970-01-01T00:33:20Z");
}

#[test]
fn an_imported_comment_written_as_a_stand_in_names_its_original_author() {
    let zd = connector();
    let mut outbound = ticket_outbound();
    // Only the first comment's author is not carried: the engine names the original there.
    outbound.children[1].history.author = None;
    let (request, _) = zd.create_request(&outbound, "test").unwrap();
    let comments = json_body(&request.body)["ticket"]["comments"]
        .as_array()
        .unwrap()
        .clone();
    let first = comments[0]["html_body"].as_str().unwrap();
    assert!(
        first.starts_with("<p>[cutover:old:comment:71] ")
            && first.contains("Jane Doe &lt;jane@example.com&gt;</p>"),
        "{first}"
    );
    let second = comments[1]["html_body"].as_str().unwrap();
    assert!(!second.contains("[cutover:"), "{second}");
}

#[test]
fn a_missing_parent_makes_the_record_wait() {
    let zd = connector();
    let mut outbound = ticket_outbound();
    outbound.targets = TargetIds::new();
    let err = zd
        .create_request(&outbound, "create ticket cutover:old:ticket:7 on zendesk")
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Waiting);
    assert_eq!(
        err.to_string(),
        "create ticket cutover:old:ticket:7 on zendesk: requester refers to contact or agent 30, which has no id on the target yet"
    );
}

#[test]
fn live_public_comments_are_kept_private_with_a_header_and_read_back_as_public() {
    let zd = connector();
    let outbound = comment_outbound(71, true, 1_000);
    let (request, _) = zd.create_request(&outbound, "test").unwrap();
    assert_eq!(request.method, Method::PUT);
    assert!(matches!(&request.target, Target::Path(p) if p == "tickets/9007.json"));
    let comment = &json_body(&request.body)["ticket"]["comment"];
    assert_eq!(comment["public"], false, "nobody is e-mailed a copy");
    assert_eq!(comment["author_id"], 9030);
    let mut answer = comment.clone();
    answer["id"] = 555.into();
    answer["created_at"] = "2030-01-01T00:00:00Z".into();
    let Ok(crate::fields::Mapped::Comment(observed, _)) =
        mapping::comment(&answer, Side::New, &PlatformId::from(9007))
    else {
        panic!("maps")
    };
    let Record::Comment(read) = observed.record else {
        panic!("a comment")
    };
    assert!(read.public);
    assert_eq!(read.created_at, time_at(1_000));
    assert_eq!(read.html_body, "<p>comment 71</p>");
}

#[test]
fn live_private_comments_carry_their_mark_and_time_and_read_back_equal() {
    let zd = connector();
    let outbound = comment_outbound(72, false, 2_000);
    let (request, _) = zd.create_request(&outbound, "test").unwrap();
    let comment = &json_body(&request.body)["ticket"]["comment"];
    assert_eq!(comment["public"], false);
    let html = comment["html_body"].as_str().unwrap();
    assert!(
        html.starts_with("<p>[cutover:old:comment:72] "),
        "the mark leads the body: {html}"
    );
    let mut answer = comment.clone();
    answer["id"] = 556.into();
    answer["created_at"] = "2030-01-01T00:00:00Z".into();
    let Ok(crate::fields::Mapped::Comment(observed, _)) =
        mapping::comment(&answer, Side::New, &PlatformId::from(9007))
    else {
        panic!("maps")
    };
    let Record::Comment(read) = observed.record else {
        panic!("a comment")
    };
    assert!(!read.public);
    assert_eq!(
        read.created_at,
        time_at(2_000),
        "the original time, not the write's"
    );
    assert_eq!(read.html_body, "<p>comment 72</p>");
}

#[test]
fn ratings_and_lone_attachments_cannot_be_written() {
    let zd = connector();
    let attachment = Attachment {
        comment: PlatformId::from(1),
        file_name: "a".into(),
        content_type: "text/plain".into(),
        size: 1,
        checksum: String::new(),
        inline: false,
    };
    let outbound = Outbound::new(
        origin(RecordKind::Attachment, 1),
        Record::Attachment(attachment),
    );
    let err = zd
        .create_request(&outbound, "create attachment x on zendesk")
        .unwrap_err();
    assert!(matches!(err, ConnectError::Unsupported { .. }));
    assert_eq!(err.class(), ErrorClass::Permanent);
    assert!(!zd.capabilities().can_write(RecordKind::SatisfactionRating));
}

#[tokio::test]
async fn oversize_uploads_are_refused_before_sending() {
    let mut config = ZendeskConfig::with_api_token(
        Side::New,
        Url::parse("https://acme.zendesk.com").unwrap(),
        "a@b.c",
        SecretString::from("t"),
    );
    config.max_attachment_bytes = 2;
    let zd = ZendeskConnector::new(config).unwrap();
    let file = FileUpload {
        origin: None,
        file_name: "big.bin".into(),
        content_type: "application/octet-stream".into(),
        bytes: Arc::new(vec![0; 3]),
        inline: false,
    };
    let err = zd.upload(file).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "upload big.bin to zendesk: big.bin is 3 bytes, over zendesk's cap of 2 bytes"
    );
}

#[test]
fn the_connector_is_object_safe_and_keeps_its_secrets() {
    let connector: Arc<dyn Connector> = Arc::new(connector());
    let caps = connector.capabilities();
    assert!(caps.can_backdate && caps.can_set_authors);
    assert_eq!(caps.upload_mode, crate::UploadMode::Token);
    assert!(caps.incremental.contains(&RecordKind::Ticket));
    assert!(caps.can_read(RecordKind::Comment) && !caps.readable.contains(&RecordKind::Comment));
    assert_eq!(caps.budget.limit_per_minute, 400);
    let shown = format!("{connector:?}");
    assert!(
        !shown.contains("s3cr3t-token") && !shown.contains("admin@acme.test"),
        "{shown}"
    );
}

fn time_at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).single().unwrap()
}

#[test]
fn a_comment_written_with_its_tickets_update_is_named_from_the_audit() {
    let child = comment_outbound(5, false, 1_700_000_000);
    let answer = br#"{"ticket": {"id": 9007, "updated_at": "2026-01-01T10:00:00Z"},
        "audit": {"events": [{"type": "Change", "id": 1, "field_name": "status"},
                             {"type": "Comment", "id": 77, "public": false}]}}"#;
    let children = super::write::comment_of_audit(answer, &child);
    assert_eq!(children.len(), 1);
    assert_eq!(children[0].id, PlatformId::from(77));
    assert_eq!(children[0].origin, child.origin);
    // An answer without a Comment event names none: the engine finds the comment by its mark.
    let none = br#"{"ticket": {"id": 9007}, "audit": {"events": []}}"#;
    assert!(super::write::comment_of_audit(none, &child).is_empty());
    assert!(super::write::comment_of_audit(b"not json", &child).is_empty());
}
