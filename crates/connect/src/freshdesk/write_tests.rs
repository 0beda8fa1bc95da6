//! Freshdesk write requests: what cutover would send for each kind. The HTTP exchange
//! itself is tested end to end once the emulators in `sim` serve Freshdesk.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use cutover_model::records::{Channel, Comment, Record, Ticket};
use cutover_model::{PlatformId, PlatformKind, RecordKind, Side};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::Value;
use url::Url;

use super::{FreshdeskConfig, FreshdeskConnector};
use crate::connector::Connector;
use crate::http::{Body, Target};
use crate::outbound::{History, Origin, Outbound, TargetIds};
use crate::{ErrorClass, FileUpload, UploadHandle, UploadMode};

fn connector() -> FreshdeskConnector {
    let url = Url::parse("https://acme.freshdesk.com").unwrap();
    FreshdeskConnector::new(FreshdeskConfig::with_api_key(
        Side::New,
        url,
        SecretString::from("fd-api-key-123"),
    ))
    .unwrap()
}

fn origin(kind: RecordKind, id: u64) -> Origin {
    Origin {
        side: Side::Old,
        platform: PlatformKind::Zendesk,
        kind,
        id: PlatformId::from(id),
    }
}

fn comment(id: u64, public: bool) -> Outbound {
    let comment = Comment {
        ticket: PlatformId::from(7),
        author: PlatformId::from(30),
        public,
        html_body: format!("<p>comment {id}</p>"),
        created_at: Utc.timestamp_opt(1_000, 0).single().unwrap(),
    };
    let mut outbound = Outbound::new(origin(RecordKind::Comment, id), Record::Comment(comment));
    outbound.targets = TargetIds::new()
        .with(
            RecordKind::Ticket,
            PlatformId::from(7),
            PlatformId::from(8007),
        )
        .with(
            RecordKind::Contact,
            PlatformId::from(30),
            PlatformId::from(8030),
        );
    outbound.history = History {
        author: Some("Jane Doe".into()),
        ..History::default()
    };
    outbound
}

fn ticket(status: &str) -> Outbound {
    let ticket = Ticket {
        subject: "Printer on fire".into(),
        status: status.into(),
        priority: Some("urgent".into()),
        ticket_type: Some("Incident".into()),
        brand: None,
        channel: Channel::Email,
        requester: PlatformId::from(30),
        assignee: None,
        group: None,
        organization: None,
        tags: Default::default(),
        custom_fields: [("cf_order".to_owned(), Value::from("A-1"))]
            .into_iter()
            .collect(),
        created_at: Utc.timestamp_opt(1_000, 0).single().unwrap(),
        solved_at: None,
        merged_into: None,
    };
    let mut outbound = Outbound::new(origin(RecordKind::Ticket, 7), Record::Ticket(ticket));
    outbound.targets = TargetIds::new().with(
        RecordKind::Contact,
        PlatformId::from(30),
        PlatformId::from(8030),
    );
    outbound.history.author = Some("Jane Doe <jane@example.com>".into());
    outbound.children = vec![comment(71, true), comment(72, false)];
    outbound
}

fn json(body: &Body) -> &Value {
    match body {
        Body::Json(value) => value,
        other => panic!("not JSON: {other:?}"),
    }
}

#[test]
fn a_ticket_keeps_its_origin_in_custom_fields_and_its_first_comment_as_description() {
    let fd = connector();
    let request = fd.create_request(&ticket("closed"), "test").unwrap();
    assert_eq!(request.method, Method::POST);
    assert!(matches!(&request.target, Target::Path(p) if p == "tickets"));
    let body = json(&request.body);
    assert_eq!(
        (
            body["status"].as_i64(),
            body["priority"].as_i64(),
            body["source"].as_i64()
        ),
        (Some(5), Some(4), Some(1))
    );
    assert_eq!(body["requester_id"], 8030);
    assert_eq!(body["custom_fields"]["cf_order"], "A-1");
    assert_eq!(
        body["custom_fields"]["cf_cutover_origin"],
        "cutover:old:ticket:7"
    );
    assert_eq!(
        body["custom_fields"]["cf_cutover_created_at"],
        "1970-01-01T00:16:40Z"
    );
    assert_eq!(
        body["custom_fields"]["cf_cutover_author"],
        "Jane Doe <jane@example.com>"
    );
    let description = body["description"].as_str().unwrap();
    assert!(
        description.starts_with(
            "<p>[cutover:old:comment:71] 1970-01-01T00:16:40Z · public reply · Jane Doe</p>"
        ),
        "{description}"
    );
    assert!(description.ends_with("<p>comment 71</p>"));
}

#[test]
fn a_ticket_whose_agent_or_group_is_not_carried_names_the_originals_in_its_origin_field() {
    let fd = connector();
    let mut outbound = ticket("open");
    outbound.history.stand_ins = Some("assignee: Jo Lee <jo@acme.example>; group: Tier 2".into());
    let request = fd.create_request(&outbound, "test").unwrap();
    assert_eq!(
        json(&request.body)["custom_fields"]["cf_cutover_author"],
        "assignee: Jo Lee <jo@acme.example>; group: Tier 2"
    );
}

#[test]
fn a_first_comment_the_requester_did_not_write_is_no_description() {
    // Freshdesk reads a description back as the requester's: an agent's first comment stays a
    // note with its own author, and the description is cutover's header line with the subject.
    let fd = connector();
    let mut outbound = ticket("open");
    if let Record::Comment(comment) = &mut outbound.children[0].record {
        comment.author = PlatformId::from(31);
    }
    let request = fd.create_request(&outbound, "test").unwrap();
    let description = json(&request.body)["description"].as_str().unwrap();
    assert!(
        description.starts_with("<p>[cutover:old:ticket:7] "),
        "{description}"
    );
    assert!(
        description.ends_with("<p>Printer on fire</p>"),
        "{description}"
    );
}

#[test]
fn a_private_first_comment_is_no_description() {
    // A description is public on Freshdesk: the requester's private first comment (possible on
    // Zendesk) stays a private note, and the description is the header line with the subject.
    let fd = connector();
    let mut outbound = ticket("open");
    if let Record::Comment(comment) = &mut outbound.children[0].record {
        comment.public = false;
    }
    let request = fd.create_request(&outbound, "test").unwrap();
    let description = json(&request.body)["description"].as_str().unwrap();
    assert!(
        description.starts_with("<p>[cutover:old:ticket:7] ")
            && !description.contains("comment 71"),
        "{description}"
    );
}

#[test]
fn a_status_without_a_freshdesk_code_is_a_permanent_error() {
    let err = connector()
        .create_request(
            &ticket("solved"),
            "create ticket cutover:old:ticket:7 on freshdesk",
        )
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Permanent);
    assert!(
        err.to_string()
            .contains("ticket field status: \"solved\" is no freshdesk status"),
        "{err}"
    );
}

#[test]
fn comments_become_private_notes_never_replies() {
    let fd = connector();
    let request = fd.create_request(&comment(72, true), "test").unwrap();
    assert!(
        matches!(&request.target, Target::Path(p) if p == "tickets/8007/notes"),
        "{:?}",
        request.target
    );
    let body = json(&request.body);
    assert_eq!(body["private"], true);
    assert_eq!(body["user_id"], 8030);
    assert_eq!(
        body["incoming"], true,
        "a customer's words show as coming from outside"
    );
    assert!(
        body["body"]
            .as_str()
            .unwrap()
            .contains("[cutover:old:comment:72]")
    );
    assert!(body["body"].as_str().unwrap().contains("public reply"));
}

#[tokio::test]
async fn files_travel_inside_the_note() {
    let fd = connector();
    let file = FileUpload {
        origin: Some(origin(RecordKind::Attachment, 5)),
        file_name: "log.txt".into(),
        content_type: "text/plain".into(),
        bytes: Arc::new(b"abc".to_vec()),
        inline: false,
    };
    let upload = fd.upload(file).await.unwrap();
    assert!(matches!(&upload.handle, UploadHandle::Held(bytes) if bytes.as_slice() == b"abc"));
    let mut note = comment(73, false);
    note.uploads.push(upload);
    let request = fd.create_request(&note, "test").unwrap();
    let Body::Multipart { fields, files } = &request.body else {
        panic!("multipart")
    };
    assert!(fields.contains(&("private".to_owned(), "true".to_owned())));
    assert_eq!(
        (files[0].field.as_str(), files[0].file_name.as_str()),
        ("attachments[]", "log.txt")
    );
}

#[test]
fn roles_views_and_forms_cannot_be_written_but_rules_can() {
    let fd = connector();
    let caps = fd.capabilities();
    assert!(!caps.can_write(RecordKind::Role) && !caps.can_write(RecordKind::View));
    assert!(!caps.can_write(RecordKind::TicketForm));
    for kind in [
        RecordKind::Macro,
        RecordKind::Automation,
        RecordKind::SlaPolicy,
    ] {
        assert!(caps.can_write(kind), "{kind}");
    }
    assert!(caps.can_write(RecordKind::Comment) && caps.can_write(RecordKind::Ticket));
}

#[test]
fn the_connector_is_object_safe_and_keeps_its_secrets() {
    let connector: Arc<dyn Connector> = Arc::new(connector());
    let caps = connector.capabilities();
    assert!(!caps.can_backdate && !caps.can_write_public_history && caps.ticket_create_may_notify);
    assert_eq!(caps.upload_mode, UploadMode::WithComment);
    assert_eq!(caps.max_attachment_bytes, 20 * 1024 * 1024);
    assert!(caps.incremental.contains(&RecordKind::Ticket));
    let shown = format!("{connector:?}");
    assert!(!shown.contains("fd-api-key-123"), "{shown}");
}
