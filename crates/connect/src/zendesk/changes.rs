//! Reading Zendesk, kind by kind: incremental exports where Zendesk has them (tickets, users,
//! organizations), cursor-paged lists elsewhere, and a ticket's comments per ticket.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use cutover_model::records::FieldTarget;
use cutover_model::{Observed, PlatformId, PlatformKind, RecordKind, Side};
use serde_json::Value;

use super::client::{INLINE_IMAGES, ZendeskApi};
use super::comment_events::CommentEvents;
use super::mapping::{self, ConfigShape, SolvedAt};
use super::rules::List;
use super::{config, rule_lists};
use crate::connector::Page;
use crate::error::ConnectError;
use crate::fields::{Mapped, Parsed, collect, parse_time};
use crate::http::Request;
use crate::position::ReadPosition;

const ZENDESK: PlatformKind = PlatformKind::Zendesk;

/// One list endpoint of a kind that may span several (fields, triggers and automations).
struct ListSpec {
    path: &'static str,
    key: &'static str,
    paged: bool,
}

/// Reads one page of `kind`.
pub(crate) async fn read_page(
    api: &ZendeskApi,
    side: Side,
    kind: RecordKind,
    position: &ReadPosition,
    comment_events: &CommentEvents,
) -> Result<Page, ConnectError> {
    use RecordKind as K;
    match kind {
        K::Ticket => tickets(api, side, position, comment_events).await,
        K::Contact => contacts(api, side, position).await,
        K::Organization => organizations(api, side, position).await,
        K::Agent => agents(api, side, position).await,
        K::Role => roles(api, side, position).await,
        K::Group => {
            let spec = ListSpec {
                path: "groups.json",
                key: "groups",
                paged: true,
            };
            lists(api, kind, &[spec], position, |raw, _| {
                mapping::group(raw, side)
            })
            .await
        }
        K::CustomField => {
            let specs = [
                ListSpec {
                    path: "ticket_fields.json",
                    key: "ticket_fields",
                    paged: true,
                },
                ListSpec {
                    path: "user_fields.json",
                    key: "user_fields",
                    paged: true,
                },
                ListSpec {
                    path: "organization_fields.json",
                    key: "organization_fields",
                    paged: true,
                },
            ];
            let targets = [
                FieldTarget::Ticket,
                FieldTarget::Contact,
                FieldTarget::Organization,
            ];
            lists(api, kind, &specs, position, |raw, idx| {
                mapping::custom_field(raw, side, targets[idx.min(2)])
            })
            .await
        }
        K::SatisfactionRating => {
            let spec = ListSpec {
                path: "satisfaction_ratings.json",
                key: "satisfaction_ratings",
                paged: true,
            };
            lists(api, kind, &[spec], position, |raw, _| {
                mapping::rating(raw, side)
            })
            .await
        }
        K::Comment | K::Attachment => Err(ConnectError::Unsupported {
            op: format!("read {kind} from zendesk"),
            platform: ZENDESK,
            what: "list comments across tickets: read them per ticket with read_children".into(),
        }),
        K::ChannelConfig => {
            let spec = ListSpec {
                path: "recipient_addresses.json",
                key: "recipient_addresses",
                paged: true,
            };
            let shape = ConfigShape {
                title: "email",
                conditions: &["name", "brand_id", "default"],
                actions: &[],
            };
            lists(api, kind, &[spec], position, |raw, _| {
                mapping::config(raw, side, &shape)
            })
            .await
        }
        rules => rule_lists(api, side, rules, position).await,
    }
}

/// The lists of a rule kind (a routing rule is a trigger or an automation), read into the
/// canonical rule form.
async fn rule_lists(
    api: &ZendeskApi,
    side: Side,
    kind: RecordKind,
    position: &ReadPosition,
) -> Result<Page, ConnectError> {
    let lists_of: &[List] = match kind {
        RecordKind::Macro => &[List::Macros],
        RecordKind::Automation => &[List::Triggers, List::Automations],
        RecordKind::SlaPolicy => &[List::SlaPolicies],
        RecordKind::View => &[List::Views],
        _ => &[List::TicketForms],
    };
    let specs: Vec<ListSpec> = lists_of
        .iter()
        .map(|list| ListSpec {
            path: match list {
                List::Macros => "macros.json",
                List::Triggers => "triggers.json",
                List::Automations => "automations.json",
                List::Views => "views.json",
                List::SlaPolicies => "slas/policies.json",
                List::TicketForms => "ticket_forms.json",
            },
            key: list.list_key(),
            paged: list.paged(),
        })
        .collect();
    let system = if kind == RecordKind::TicketForm {
        let op = "read ticket_form from zendesk (built-in ticket fields)";
        match config::system_field_set(api, op).await {
            Err(e) if matches!(e.status(), Some(403 | 404)) => HashSet::new(),
            other => other?,
        }
    } else {
        HashSet::new()
    };
    lists(api, kind, &specs, position, |raw, idx| {
        rule_lists::observed(raw, side, lists_of[idx.min(lists_of.len() - 1)], &system)
    })
    .await
}

/// One ticket, contact or organization by id through its show endpoint: what an incremental
/// export leaves out (its last minute). An empty page for a record that is gone, and for other
/// kinds (their lists are never behind).
pub(crate) async fn read_one(
    api: &ZendeskApi,
    side: Side,
    kind: RecordKind,
    id: &PlatformId,
) -> Result<Page, ConnectError> {
    use RecordKind as K;
    let mut page = Page {
        done: true,
        ..Page::default()
    };
    let (path, key) = match kind {
        K::Ticket => (format!("tickets/{id}.json"), "ticket"),
        K::Contact => (format!("users/{id}.json"), "user"),
        K::Organization => (format!("organizations/{id}.json"), "organization"),
        _ => return Ok(page),
    };
    let op = format!("read {kind} {id} from zendesk");
    // A ticket's `solved_at` lives in its metric set, side-loaded as the export does.
    let request = match kind {
        K::Ticket => Request::get(path).query("include", "metric_sets"),
        _ => Request::get(path),
    };
    let (body, lossy) = match api.get(&op, &request).await {
        Err(e) if e.status() == Some(404) => return Ok(page),
        other => other?,
    };
    let raw = body.get(key).ok_or_else(|| ConnectError::Malformed {
        op: op.clone(),
        detail: format!("no {key} in the answer"),
    })?;
    let solved = solved_at(&body);
    collect(&mut page, ZENDESK, kind, raw, lossy, |raw| match kind {
        K::Ticket => mapping::ticket(raw, side, &solved),
        K::Contact => mapping::contact(raw, side),
        _ => mapping::organization(raw, side),
    });
    Ok(page)
}

/// The most ids a Zendesk `show_many` takes.
pub(crate) const SHOW_MANY: usize = 100;

/// Reads tickets, contacts or organizations by id, up to [`SHOW_MANY`] to a request
/// (`show_many`; tickets with their metric sets side-loaded, as [`read_one`] reads one); a
/// record gone is left out. `None` for a kind Zendesk cannot read so.
pub(crate) async fn read_many(
    api: &ZendeskApi,
    side: Side,
    kind: RecordKind,
    ids: &[PlatformId],
) -> Result<Option<Page>, ConnectError> {
    use RecordKind as K;
    let (path, key) = match kind {
        K::Ticket => ("tickets/show_many.json", "tickets"),
        K::Contact => ("users/show_many.json", "users"),
        K::Organization => ("organizations/show_many.json", "organizations"),
        _ => return Ok(None),
    };
    let mut page = Page {
        done: true,
        ..Page::default()
    };
    for chunk in ids.chunks(SHOW_MANY) {
        let list = chunk
            .iter()
            .map(PlatformId::as_str)
            .collect::<Vec<_>>()
            .join(",");
        let op = format!("read {} {kind} records by id from zendesk", chunk.len());
        let request = match kind {
            K::Ticket => Request::get(path)
                .query("ids", &list)
                .query("include", "metric_sets"),
            _ => Request::get(path).query("ids", &list),
        };
        let (body, lossy) = api.get(&op, &request).await?;
        let solved = solved_at(&body);
        let raws =
            body.get(key)
                .and_then(Value::as_array)
                .ok_or_else(|| ConnectError::Malformed {
                    op: op.clone(),
                    detail: format!("no {key} list in the answer"),
                })?;
        for raw in raws {
            collect(&mut page, ZENDESK, kind, raw, lossy, |raw| match kind {
                K::Ticket => mapping::ticket(raw, side, &solved),
                K::Contact => mapping::contact(raw, side),
                _ => mapping::organization(raw, side),
            });
        }
    }
    Ok(Some(page))
}

/// Walks the lists of a kind one page at a time: `seq` says which list, `token` where in it.
async fn lists(
    api: &ZendeskApi,
    kind: RecordKind,
    specs: &[ListSpec],
    position: &ReadPosition,
    map: impl Fn(&Value, usize) -> Parsed<Mapped>,
) -> Result<Page, ConnectError> {
    let idx = position.seq as usize;
    let Some(spec) = specs.get(idx) else {
        return Ok(Page {
            done: true,
            ..Page::default()
        });
    };
    let op = format!("read {kind} from zendesk ({})", spec.path);
    let list = match api
        .list_page(
            &op,
            spec.path,
            spec.key,
            position.token.as_deref(),
            spec.paged,
        )
        .await
    {
        // Accounts without a feature (custom roles, SLAs, forms) answer 403 or 404: nothing to read.
        Err(e) if matches!(e.status(), Some(403 | 404)) && position.token.is_none() => {
            tracing::info!(kind = %kind, path = spec.path, error = %e, "Zendesk list not available on this account; skipping it");
            None
        }
        other => Some(other?),
    };
    let mut page = Page::default();
    let mut next_token = None;
    if let Some(list) = list {
        for raw in &list.items {
            collect(&mut page, ZENDESK, kind, raw, list.lossy, |raw| {
                map(raw, idx)
            });
        }
        next_token = list.next;
    }
    page.next = match next_token {
        Some(token) => Some(ReadPosition {
            token: Some(token),
            seq: position.seq,
            ..ReadPosition::default()
        }),
        None if idx + 1 < specs.len() => Some(ReadPosition {
            seq: position.seq + 1,
            ..ReadPosition::default()
        }),
        None => None,
    };
    page.done = page.next.is_none();
    Ok(page)
}

/// Moves `next` over the observed items, dropping the overlap already delivered at `position`.
fn drop_overlap(page: &mut Page, position: &ReadPosition, next: &mut ReadPosition) {
    page.items.retain(|item| match item.updated_at {
        Some(time) if position.covers(time, item.id.as_str()) => false,
        Some(time) => {
            next.advance(time, item.id.as_str());
            true
        }
        None => true,
    });
}

/// Tickets through the cursor-based incremental export, `solved_at` from side-loaded metric sets.
async fn tickets(
    api: &ZendeskApi,
    side: Side,
    position: &ReadPosition,
    comment_events: &CommentEvents,
) -> Result<Page, ConnectError> {
    let op = "read tickets from zendesk (incremental export)";
    let export = api
        .export_page(
            op,
            "tickets",
            position.token.as_deref(),
            position.time,
            Some("metric_sets"),
        )
        .await?;
    let solved = solved_at(&export.body);
    comment_events.note_versions(&export.items);
    let mut page = Page::default();
    for raw in &export.items {
        collect(
            &mut page,
            ZENDESK,
            RecordKind::Ticket,
            raw,
            export.lossy,
            |raw| mapping::ticket(raw, side, &solved),
        );
    }
    let mut next = position.clone();
    next.token = export.after_cursor.or(next.token);
    for item in &page.items {
        if let Some(time) = item.updated_at {
            next.advance(time, item.id.as_str());
        }
    }
    page.next = Some(next);
    page.done = export.end_of_stream;
    Ok(page)
}

fn solved_at(body: &Value) -> SolvedAt {
    let mut solved = BTreeMap::new();
    for set in body
        .get("metric_sets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let id = match set.get("ticket_id") {
            Some(Value::Number(n)) => n.as_u64().map(PlatformId::from),
            _ => None,
        };
        let time = set
            .get("solved_at")
            .and_then(Value::as_str)
            .and_then(parse_time);
        if let (Some(id), Some(time)) = (id, time) {
            solved.insert(id, time);
        }
    }
    solved
}

/// End users through the cursor-based incremental user export (agents are read apart).
async fn contacts(
    api: &ZendeskApi,
    side: Side,
    position: &ReadPosition,
) -> Result<Page, ConnectError> {
    let op = "read contacts from zendesk (incremental user export)";
    let export = api
        .export_page(op, "users", position.token.as_deref(), position.time, None)
        .await?;
    let mut page = Page::default();
    for raw in &export.items {
        collect(
            &mut page,
            ZENDESK,
            RecordKind::Contact,
            raw,
            export.lossy,
            |raw| mapping::contact(raw, side),
        );
    }
    let mut next = position.clone();
    next.token = export.after_cursor.or(next.token);
    for item in &page.items {
        if let Some(time) = item.updated_at {
            next.advance(time, item.id.as_str());
        }
    }
    page.next = Some(next);
    page.done = export.end_of_stream;
    Ok(page)
}

/// Organizations through the time-based incremental export, windows overlapping by a second.
async fn organizations(
    api: &ZendeskApi,
    side: Side,
    position: &ReadPosition,
) -> Result<Page, ConnectError> {
    let op = "read organizations from zendesk (incremental export)";
    let export = api
        .time_export_page(op, "organizations", position.time)
        .await?;
    let mut page = Page::default();
    for raw in &export.items {
        collect(
            &mut page,
            ZENDESK,
            RecordKind::Organization,
            raw,
            export.lossy,
            |raw| mapping::organization(raw, side),
        );
    }
    let mut next = position.clone();
    drop_overlap(&mut page, position, &mut next);
    // A full page that was all overlap would start the same window again: step past it.
    let end = export
        .end_time
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0));
    if let Some(end) = end
        && next.time == position.time
        && !export.end_of_stream
        && Some(end) > position.time
    {
        next = ReadPosition::since(end);
    }
    page.next = Some(next);
    page.done = export.end_of_stream;
    Ok(page)
}

/// Agents and admins (a cursor-paged user list), with their groups from the membership rows.
async fn agents(
    api: &ZendeskApi,
    side: Side,
    position: &ReadPosition,
) -> Result<Page, ConnectError> {
    let op = "read agents from zendesk (users)";
    let path = "users.json?role[]=agent&role[]=admin";
    let list = api
        .list_page(op, path, "users", position.token.as_deref(), true)
        .await?;
    let groups = memberships(api).await?;
    let mut page = Page::default();
    for raw in &list.items {
        collect(
            &mut page,
            ZENDESK,
            RecordKind::Agent,
            raw,
            list.lossy,
            |raw| mapping::agent(raw, side, &groups),
        );
    }
    page.next = list.next.map(|token| ReadPosition {
        token: Some(token),
        ..ReadPosition::default()
    });
    page.done = page.next.is_none();
    Ok(page)
}

/// Every group membership, as groups by user. Rows that do not parse are left out (they name
/// no record of their own; the agent they belong to reads with fewer groups).
async fn memberships(
    api: &ZendeskApi,
) -> Result<BTreeMap<PlatformId, BTreeSet<PlatformId>>, ConnectError> {
    let op = "read group memberships from zendesk";
    let mut groups: BTreeMap<PlatformId, BTreeSet<PlatformId>> = BTreeMap::new();
    let mut token: Option<String> = None;
    loop {
        let list = api
            .list_page(
                op,
                "group_memberships.json",
                "group_memberships",
                token.as_deref(),
                true,
            )
            .await?;
        for raw in &list.items {
            match mapping::membership(raw) {
                Ok((user, group)) => {
                    groups.entry(user).or_default().insert(group);
                }
                Err(problem) => {
                    tracing::warn!(reason = %problem.reason, "Skipping a group membership row that does not parse")
                }
            }
        }
        match list.next {
            Some(next) if Some(&next) != token.as_ref() => token = Some(next),
            _ => return Ok(groups),
        }
    }
}

/// Custom roles (Enterprise); accounts without them have the built-in `agent` and `admin`.
async fn roles(
    api: &ZendeskApi,
    side: Side,
    position: &ReadPosition,
) -> Result<Page, ConnectError> {
    let spec = ListSpec {
        path: "custom_roles.json",
        key: "custom_roles",
        paged: false,
    };
    let mut page = lists(api, RecordKind::Role, &[spec], position, |raw, _| {
        mapping::role(raw, side)
    })
    .await?;
    let builtin: Vec<Observed> = ["agent", "admin"]
        .iter()
        .filter_map(|name| mapping::builtin_role(name, side))
        .collect();
    page.items.extend(builtin);
    Ok(page)
}

/// A ticket's comments, each followed by its attachments.
pub(crate) async fn comments(
    api: &ZendeskApi,
    side: Side,
    ticket: &PlatformId,
    position: &ReadPosition,
) -> Result<Page, ConnectError> {
    let op = format!("read comments of ticket {ticket} from zendesk");
    let path = format!("tickets/{ticket}/comments.json");
    let list = api
        .list_page_with(
            &op,
            &path,
            "comments",
            position.token.as_deref(),
            true,
            INLINE_IMAGES,
        )
        .await?;
    let mut page = Page::default();
    // A merge's comments are not carried as comments: the merge is (see `merges.rs`).
    for raw in list
        .items
        .iter()
        .filter(|c| !super::merges::is_merge_comment(c))
    {
        collect(
            &mut page,
            ZENDESK,
            RecordKind::Comment,
            raw,
            list.lossy,
            |raw| mapping::comment(raw, side, ticket),
        );
    }
    page.next = list.next.map(|token| ReadPosition {
        token: Some(token),
        ..ReadPosition::default()
    });
    page.done = page.next.is_none();
    Ok(page)
}
