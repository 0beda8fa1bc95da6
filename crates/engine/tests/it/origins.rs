//! Origins over real HTTP: a record cutover writes on an emulator reads back naming the record it
//! copies (its mark in an external id, the origin custom field or a comment's header line), and
//! one without a mark reads back with none; verify then tells a copy without a link (extra) from
//! what the new side holds of its own (only on the new side).

use std::collections::{BTreeMap, BTreeSet};

use cutover_connect::{Connector, Origin, Outbound, ReadPosition};
use cutover_engine::{Mapping, verify};
use cutover_model::records::{Channel, Comment, Contact, Organization, Record, Ticket};
use cutover_model::{Observed, PlatformId, PlatformKind, RecordKind, RecordRef, Side};

use crate::support::{self, freshdesk_at, id, read_all, t, zendesk_at};

fn origin(platform: PlatformKind, kind: RecordKind, n: u64) -> Origin {
    Origin {
        side: Side::Old,
        platform,
        kind,
        id: id(n),
    }
}

/// What a read must say a record written for `origin` copies.
fn copy_of(origin: &Origin) -> Option<RecordRef> {
    Some(RecordRef {
        kind: origin.kind,
        side: origin.side,
        id: origin.id.clone(),
    })
}

fn contact(name: &str, email: &str, external_id: Option<&str>) -> Record {
    Record::Contact(Contact {
        name: name.into(),
        email: Some(email.into()),
        phone: None,
        organization: None,
        external_id: external_id.map(str::to_owned),
        locale: None,
        time_zone: None,
        tags: BTreeSet::new(),
        custom_fields: BTreeMap::new(),
        active: true,
    })
}

/// A ticket of old requester 7, in `platform`'s vocabulary.
fn ticket(platform: PlatformKind) -> Record {
    let (status, priority) = match platform {
        PlatformKind::Freshdesk => ("open", "low"),
        _ => ("open", "normal"),
    };
    Record::Ticket(Ticket {
        subject: "My parcel never came".into(),
        status: status.into(),
        priority: Some(priority.into()),
        ticket_type: None,
        brand: None,
        channel: Channel::Email,
        requester: id(7),
        assignee: None,
        group: None,
        organization: None,
        tags: BTreeSet::new(),
        custom_fields: BTreeMap::new(),
        created_at: t(0),
        solved_at: None,
        merged_into: None,
    })
}

/// A comment by old contact 7 on old ticket 40.
fn comment() -> Record {
    Record::Comment(Comment {
        ticket: id(40),
        author: id(7),
        public: false,
        html_body: "<p>Still waiting.</p>".into(),
        created_at: t(60),
    })
}

/// Writes `record` for `origin`, its references resolved through `targets`; the target id.
async fn write(
    target: &dyn Connector,
    origin: Origin,
    record: Record,
    targets: &[(RecordKind, u64, &PlatformId)],
) -> PlatformId {
    let mut outbound = Outbound::new(origin, record);
    for (kind, old, new) in targets {
        outbound.targets.insert(*kind, id(*old), (*new).clone());
    }
    target.create(&outbound).await.unwrap().id
}

/// Record `id` of `kind` as `connector` reads it: one by one where it can (Zendesk's exports
/// leave out their last minute), else from the whole list.
async fn read(connector: &dyn Connector, kind: RecordKind, id: &PlatformId) -> Observed {
    let page = connector.read_one(kind, id).await.unwrap();
    if let Some(found) = page.items.into_iter().find(|o| &o.id == id) {
        return found;
    }
    read_all(connector, kind)
        .await
        .into_iter()
        .find(|o| &o.id == id)
        .unwrap_or_else(|| panic!("{kind} {id} not read back"))
}

/// The comments of `ticket` as `connector` reads them.
async fn comments(connector: &dyn Connector, ticket: &PlatformId) -> Vec<Observed> {
    let page = connector
        .read_children(RecordKind::Comment, ticket, &ReadPosition::start())
        .await
        .unwrap();
    page.items
        .into_iter()
        .filter(|o| o.record.kind() == RecordKind::Comment)
        .collect()
}

/// Writes through `target` a marked contact, a contact with an external id of its own, a marked
/// ticket (in the target's vocabulary) of the first and a marked comment on it, and checks the
/// origin each reads back with; the marked contact as read.
async fn marks_read_back(target: &dyn Connector) -> Observed {
    let p = PlatformKind::Zendesk;
    let marked = origin(p, RecordKind::Contact, 7);
    let contact_id = write(
        target,
        marked.clone(),
        contact("Ada Origin", "ada.origin@example.com", None),
        &[],
    )
    .await;
    let read_contact = read(target, RecordKind::Contact, &contact_id).await;
    assert_eq!(read_contact.origin, copy_of(&marked));

    // The customer's own external id wins over the mark: no origin shows.
    let own_id = write(
        target,
        origin(p, RecordKind::Contact, 8),
        contact("Grace Own", "grace.own@example.com", Some("crm-8")),
        &[],
    )
    .await;
    let read_own = read(target, RecordKind::Contact, &own_id).await;
    assert_eq!(read_own.origin, None);

    // Zendesk's external id, or Freshdesk's origin custom field, names the ticket it copies.
    let ticket_origin = origin(p, RecordKind::Ticket, 40);
    let ticket_id = write(
        target,
        ticket_origin.clone(),
        ticket(target.platform()),
        &[(RecordKind::Contact, 7, &contact_id)],
    )
    .await;
    let read_ticket = read(target, RecordKind::Ticket, &ticket_id).await;
    assert_eq!(read_ticket.origin, copy_of(&ticket_origin));

    // A comment added to an existing ticket (a note, in Freshdesk) carries a header line with
    // its mark.
    let comment_origin = origin(p, RecordKind::Comment, 400);
    let comment_id = write(
        target,
        comment_origin.clone(),
        comment(),
        &[
            (RecordKind::Ticket, 40, &ticket_id),
            (RecordKind::Contact, 7, &contact_id),
        ],
    )
    .await;
    let read_comments = comments(target, &ticket_id).await;
    let copy = read_comments
        .iter()
        .find(|o| o.id == comment_id)
        .unwrap_or_else(|| panic!("comment {comment_id} not read back: {read_comments:?}"));
    assert_eq!(copy.origin, copy_of(&comment_origin));
    read_contact
}

#[tokio::test]
async fn zendesk_reads_back_the_origin_of_what_cutover_wrote() {
    let sim = support::zendesk_sim(31, 0).await;
    let zd = zendesk_at(Side::New, sim.url());

    let org_origin = origin(PlatformKind::Zendesk, RecordKind::Organization, 3);
    let org = Record::Organization(Organization {
        name: "Origin Labs".into(),
        domains: BTreeSet::new(),
        details: None,
        notes: None,
        tags: BTreeSet::new(),
        custom_fields: BTreeMap::new(),
    });
    let org_id = write(zd.as_ref(), org_origin.clone(), org, &[]).await;
    let read_org = read(zd.as_ref(), RecordKind::Organization, &org_id).await;
    assert_eq!(read_org.origin, copy_of(&org_origin));

    let read_contact = marks_read_back(zd.as_ref()).await;
    // The mark is not content: the customer's external id stays empty.
    let Record::Contact(c) = &read_contact.record else {
        panic!("{read_contact:?}")
    };
    assert_eq!(c.external_id, None);
}

#[tokio::test]
async fn freshdesk_reads_back_the_origin_of_what_cutover_wrote() {
    let sim = support::freshdesk_sim(21, 0).await;
    let fd = freshdesk_at(Side::New, sim.url());
    marks_read_back(fd.as_ref()).await;
}

/// A copy cutover wrote but never linked (a crash between the write and the link) fails verify
/// as extra, naming the record it copies; the new account's own records do not.
#[tokio::test]
async fn verify_fails_on_a_marked_copy_without_a_link_and_not_on_the_new_sides_own() {
    // Into Freshdesk, whose lists show a record as soon as it is written (Zendesk's exports
    // leave out their last minute).
    let (old_sim, new_sim) = (
        support::zendesk_sim(32, 0).await,
        support::freshdesk_sim(21, 0).await,
    );
    let (old, new) = (
        zendesk_at(Side::Old, old_sim.url()),
        freshdesk_at(Side::New, new_sim.url()),
    );
    let p = PlatformKind::Zendesk;
    let contact_id = write(
        new.as_ref(),
        origin(p, RecordKind::Contact, 7),
        contact("Ada Twice", "ada.twice@example.com", None),
        &[],
    )
    .await;
    let ticket_id = write(
        new.as_ref(),
        origin(p, RecordKind::Ticket, 40),
        ticket(PlatformKind::Freshdesk),
        &[(RecordKind::Contact, 7, &contact_id)],
    )
    .await;
    let (store, _dir) = support::store().await;
    let kinds = [RecordKind::Contact, RecordKind::Ticket];
    let report = verify(
        store.as_ref(),
        old.as_ref(),
        new.as_ref(),
        Mapping::from_plan(&support::plan().mapping),
        &kinds,
    )
    .await
    .unwrap();
    let context = report.summary();
    assert!(!report.is_clean(), "{context}");
    let contacts = &report.kinds[&RecordKind::Contact];
    assert_eq!(
        contacts.extra,
        std::slice::from_ref(&contact_id),
        "{context}"
    );
    assert_eq!(
        contacts.extra_reasons[&contact_id],
        "written by cutover as the copy of contact 7 on the old side but not linked"
    );
    assert!(
        !contacts.only_new.is_empty(),
        "the seeded contacts are the new side's own: {context}"
    );
    assert!(!contacts.only_new.contains(&contact_id), "{context}");
    let tickets = &report.kinds[&RecordKind::Ticket];
    assert_eq!(tickets.extra, std::slice::from_ref(&ticket_id), "{context}");
    assert_eq!(
        tickets.extra_reasons[&ticket_id],
        "written by cutover as the copy of ticket 40 on the old side but not linked"
    );
    assert!(tickets.only_new.is_empty(), "{context}");
    assert!(
        context.contains(&format!(
            "extra contact {contact_id}: written by cutover as the copy of contact 7"
        )),
        "{context}"
    );
}
