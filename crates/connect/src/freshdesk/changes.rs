//! Reading Freshdesk, kind by kind. Freshdesk has no change feed: tickets are read in
//! overlapping `updated_since` windows, oldest change first, a new window starting at the newest
//! change seen on every page. That walks past the 300-page wall, never depends on offsets that
//! shift while records change, and drops the overlap (ids already delivered at the window's
//! first second).

use chrono::{DateTime, Duration, Utc};
use cutover_model::records::FieldTarget;
use cutover_model::{PlatformId, PlatformKind, RecordKind, Side};
use serde_json::Value;

use super::client::{FreshdeskApi, LANE_CONTACTS_LIST, LANE_TICKETS_LIST, ListPage};
use super::mapping::{self, ConfigShape, OriginFields};
use super::rule_lists;
use super::rules::{HOURLY, ON_CREATE, ON_UPDATE};
use crate::connector::Page;
use crate::error::ConnectError;
use crate::fields::{Mapped, Parsed, collect, format_time};
use crate::http::Request;
use crate::position::ReadPosition;

const FRESHDESK: PlatformKind = PlatformKind::Freshdesk;

/// What the ticket reader needs besides the API.
#[derive(Debug, Clone)]
pub(crate) struct TicketReading {
    pub(crate) origin_fields: OriginFields,
    /// The page past which Freshdesk refuses to list (300).
    pub(crate) max_pages: u32,
    /// Whether to embed `stats` (resolution times; costs extra credits).
    pub(crate) include_stats: bool,
}

/// One list a kind is read from.
struct ListSpec {
    path: &'static str,
    lane: Option<&'static str>,
}

/// Reads one page of `kind`.
pub(crate) async fn read_page(
    api: &FreshdeskApi,
    side: Side,
    reading: &TicketReading,
    kind: RecordKind,
    position: &ReadPosition,
) -> Result<Page, ConnectError> {
    use RecordKind as K;
    let simple = |path| [ListSpec { path, lane: None }];
    match kind {
        K::Ticket => tickets(api, side, reading, position).await,
        K::Contact => contacts(api, side, position).await,
        K::Organization => {
            lists(api, kind, &simple("companies"), position, |raw, _| {
                mapping::company(raw, side)
            })
            .await
        }
        K::Agent => {
            lists(api, kind, &simple("agents"), position, |raw, _| {
                mapping::agent(raw, side)
            })
            .await
        }
        K::Group => {
            lists(api, kind, &simple("groups"), position, |raw, _| {
                mapping::group(raw, side)
            })
            .await
        }
        K::Role => {
            lists(api, kind, &simple("roles"), position, |raw, _| {
                mapping::role(raw, side)
            })
            .await
        }
        K::CustomField => {
            let specs = [
                ListSpec {
                    path: "ticket_fields",
                    lane: None,
                },
                ListSpec {
                    path: "contact_fields",
                    lane: None,
                },
                ListSpec {
                    path: "company_fields",
                    lane: None,
                },
            ];
            let targets = [
                FieldTarget::Ticket,
                FieldTarget::Contact,
                FieldTarget::Organization,
            ];
            let origin = &reading.origin_fields;
            lists(api, kind, &specs, position, |raw, idx| {
                // cutover's own origin fields are not the account's: never copied or compared.
                let name = raw.get("name").and_then(serde_json::Value::as_str);
                if idx == 0 && name.is_some_and(|n| origin.contains(n)) {
                    return Ok(Mapped::Skip);
                }
                mapping::custom_field(raw, side, targets[idx.min(2)])
            })
            .await
        }
        K::SatisfactionRating => {
            lists(
                api,
                kind,
                &simple("surveys/satisfaction_ratings"),
                position,
                |raw, _| mapping::rating(raw, side),
            )
            .await
        }
        K::Comment | K::Attachment => Err(ConnectError::Unsupported {
            op: format!("read {kind} from freshdesk"),
            platform: FRESHDESK,
            what: "list conversations across tickets: read them per ticket with read_children"
                .into(),
        }),
        K::View => Ok(Page {
            done: true,
            ..Page::default()
        }),
        K::Macro if position.seq == 0 => canned_responses(api, side).await,
        K::Macro => {
            let specs = [
                simple("canned_response_folders"),
                simple("scenario_automations"),
            ];
            let specs: Vec<ListSpec> = specs.into_iter().flatten().collect();
            lists(api, kind, &specs, position, |raw, _| {
                rule_lists::scenario(raw, side)
            })
            .await
        }
        K::Automation => {
            let types = [ON_CREATE, HOURLY, ON_UPDATE];
            let specs = [
                simple("automations/1/rules"),
                simple("automations/3/rules"),
                simple("automations/4/rules"),
            ];
            let specs: Vec<ListSpec> = specs.into_iter().flatten().collect();
            lists(api, kind, &specs, position, |raw, idx| {
                rule_lists::automation_rule(raw, side, types[idx.min(2)])
            })
            .await
        }
        K::SlaPolicy => {
            lists(api, kind, &simple("sla_policies"), position, |raw, _| {
                rule_lists::sla(raw, side)
            })
            .await
        }
        K::TicketForm => {
            lists(api, kind, &simple("ticket-forms"), position, |raw, _| {
                rule_lists::ticket_form(raw, side)
            })
            .await
        }
        config => {
            let (specs, shapes) = config_lists(config);
            lists(api, kind, &specs, position, |raw, idx| {
                mapping::config(raw, side, &shapes[idx.min(shapes.len() - 1)])
            })
            .await
        }
    }
}

/// Every canned response, folder by folder (an account has few), as the first list of macros;
/// scenario automations follow.
async fn canned_responses(api: &FreshdeskApi, side: Side) -> Result<Page, ConnectError> {
    let kind = RecordKind::Macro;
    let op = "read macro from freshdesk (canned responses)";
    let mut page = Page {
        next: Some(ReadPosition {
            seq: 1,
            ..ReadPosition::default()
        }),
        ..Page::default()
    };
    let folders = match api
        .list_all(op, &Request::get("canned_response_folders"), 50)
        .await
    {
        // An account without canned responses answers 403 or 404.
        Err(e) if matches!(e.status(), Some(403 | 404)) => return Ok(page),
        other => other?,
    };
    for folder in &folders {
        let (Some(id), Some(name)) = (
            folder.get("id").and_then(Value::as_u64),
            folder.get("name").and_then(Value::as_str),
        ) else {
            continue;
        };
        let path = format!("canned_response_folders/{id}/responses");
        let responses = api.list_all(op, &Request::get(path), 50).await?;
        for raw in &responses {
            collect(&mut page, FRESHDESK, kind, raw, false, |raw| {
                rule_lists::canned(raw, side, name)
            });
        }
    }
    Ok(page)
}

fn config_lists(kind: RecordKind) -> (Vec<ListSpec>, Vec<ConfigShape>) {
    let shape = ConfigShape {
        title: "to_email",
        conditions: &[
            "name",
            "reply_email",
            "group_id",
            "product_id",
            "primary_role",
        ],
        actions: &[],
    };
    debug_assert_eq!(kind, RecordKind::ChannelConfig);
    (
        vec![ListSpec {
            path: "email_configs",
            lane: None,
        }],
        vec![shape],
    )
}

/// Walks the lists of a kind page by page: `seq` says which list, `token` the page in it.
async fn lists(
    api: &FreshdeskApi,
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
    let page_number: u32 = position
        .token
        .as_deref()
        .and_then(|t| t.parse().ok())
        .unwrap_or(1);
    let op = format!(
        "read {kind} page {page_number} from freshdesk ({})",
        spec.path
    );
    let mut request = Request::get(spec.path);
    if let Some(lane) = spec.lane {
        request = request.lane(lane);
    }
    let list = match api.list_page(&op, request, page_number).await {
        // Features the account lacks (forms, scenario automations) answer 403 or 404.
        Err(e) if matches!(e.status(), Some(403 | 404)) && page_number == 1 => {
            tracing::info!(kind = %kind, path = spec.path, error = %e, "Freshdesk list not available on this account; skipping it");
            None
        }
        other => Some(other?),
    };
    let mut page = Page::default();
    let mut has_next = false;
    if let Some(list) = list {
        for raw in &list.items {
            collect(&mut page, FRESHDESK, kind, raw, list.lossy, |raw| {
                map(raw, idx)
            });
        }
        has_next = list.has_next;
    }
    page.next = if has_next {
        Some(ReadPosition {
            token: Some((page_number + 1).to_string()),
            seq: position.seq,
            ..ReadPosition::default()
        })
    } else if idx + 1 < specs.len() {
        Some(ReadPosition {
            seq: position.seq + 1,
            ..ReadPosition::default()
        })
    } else {
        None
    };
    page.done = page.next.is_none();
    Ok(page)
}

/// The `updated_since` of a window: a second before the mark, in case Freshdesk's filter is
/// strict; what that second re-reads is dropped as overlap.
fn window_start(position: &ReadPosition) -> String {
    let start = position
        .time
        .map_or(DateTime::<Utc>::UNIX_EPOCH, |t| t - Duration::seconds(1));
    format_time(&start.max(DateTime::<Utc>::UNIX_EPOCH))
}

/// One page of tickets in the window at `position`; the next position starts a new window at the
/// newest change seen, or turns the page when the whole page shared the window's first second.
async fn tickets(
    api: &FreshdeskApi,
    side: Side,
    reading: &TicketReading,
    position: &ReadPosition,
) -> Result<Page, ConnectError> {
    let page_number = position.seq.max(1);
    let op = format!(
        "read tickets page {page_number} from freshdesk (updated since {})",
        window_start(position)
    );
    let mut request = Request::get("tickets")
        .query("updated_since", window_start(position))
        .query("order_by", "updated_at")
        .query("order_type", "asc")
        .lane(LANE_TICKETS_LIST);
    if reading.include_stats {
        request = request.query("include", "stats");
    }
    let list = api.list_page(&op, request, page_number).await?;
    let stamps: Vec<Option<(DateTime<Utc>, String)>> = list.items.iter().map(stamp).collect();
    let full_page = list.items.len() >= api.page_size as usize;
    let step = window_step(
        position,
        &stamps,
        full_page,
        list.has_next,
        reading.max_pages,
    )
    .map_err(|detail| ConnectError::Malformed {
        op: op.clone(),
        detail,
    })?;
    let mut page = Page::default();
    for (raw, keep) in list.items.iter().zip(&step.keep) {
        if *keep {
            collect(
                &mut page,
                FRESHDESK,
                RecordKind::Ticket,
                raw,
                list.lossy,
                |raw| mapping::ticket(raw, side, &reading.origin_fields),
            );
        }
    }
    let pass = pass_start(position);
    let mut next = step.next;
    if step.done {
        removed_since(
            api,
            pass.as_deref().unwrap_or(&window_start(position)),
            &mut page,
        )
        .await?;
        next.token = None;
    } else {
        next.token = Some(pass.unwrap_or_else(|| window_start(position)));
    }
    page.next = Some(next);
    page.done = step.done;
    Ok(page)
}

/// The `updated_since` a pass of ticket windows started at, carried from page to page in the
/// position's token until the pass is done (`None`: this page starts a pass).
fn pass_start(position: &ReadPosition) -> Option<String> {
    position
        .token
        .as_deref()
        .filter(|t| crate::fields::parse_time(t).is_some())
        .map(str::to_owned)
}

/// Tickets deleted or marked spam since `since`, the start of a pass of ticket windows, which
/// Freshdesk leaves out of its lists unless asked by `filter`: read once per pass, on its last
/// page (so a ticket removed while the pass read is seen too), into [`Page::deleted`], a spam
/// ticket being the same loss to the other side as a deleted one. Not once per window: a pass
/// over many pages (a backfill) would ask two more lists a page. The first page of each (100
/// tickets) is read.
async fn removed_since(
    api: &FreshdeskApi,
    since: &str,
    page: &mut Page,
) -> Result<(), ConnectError> {
    for filter in ["deleted", "spam"] {
        let op = format!("read {filter} tickets from freshdesk (updated since {since})");
        let request = Request::get("tickets")
            .query("filter", filter)
            .query("updated_since", since)
            .query("order_by", "updated_at")
            .query("order_type", "asc")
            .lane(LANE_TICKETS_LIST);
        let list = api.list_page(&op, request, 1).await?;
        for raw in &list.items {
            let id = match raw.get("id") {
                Some(Value::Number(n)) => PlatformId::parse(n.to_string()).ok(),
                _ => None,
            };
            if let Some(id) = id
                && !page.deleted.iter().any(|(_, d)| *d == id)
            {
                page.deleted.push((RecordKind::Ticket, id));
            }
        }
    }
    Ok(())
}

/// Reads one ticket, contact or company by id (an empty page when it is gone; a deleted or spam
/// ticket in [`Page::deleted`]).
pub(crate) async fn read_one(
    api: &FreshdeskApi,
    side: Side,
    reading: &TicketReading,
    kind: RecordKind,
    id: &PlatformId,
) -> Result<Page, ConnectError> {
    let mut page = Page {
        done: true,
        ..Page::default()
    };
    let path = match kind {
        RecordKind::Ticket => format!("tickets/{id}"),
        RecordKind::Contact => format!("contacts/{id}"),
        RecordKind::Organization => format!("companies/{id}"),
        _ => return Ok(page),
    };
    let op = format!("read {kind} {id} from freshdesk");
    let mut request = Request::get(path);
    if kind == RecordKind::Ticket && reading.include_stats {
        request = request.query("include", "stats");
    }
    let response = match api.http.send(&op, &request).await {
        Err(e) if e.status() == Some(404) => {
            if kind == RecordKind::Ticket {
                // Freshdesk answers 404 for a ticket in the trash: gone, as far as a copy goes.
                page.deleted.push((kind, id.clone()));
            }
            return Ok(page);
        }
        other => other?,
    };
    let (raw, lossy) = crate::fields::decode_body(&op, &response.body)?;
    collect(&mut page, FRESHDESK, kind, &raw, lossy, |raw| match kind {
        RecordKind::Ticket => mapping::ticket(raw, side, &reading.origin_fields),
        RecordKind::Contact => mapping::contact(raw, side),
        _ => mapping::company(raw, side),
    });
    Ok(page)
}

/// A raw record's (updated_at, id), if both read.
fn stamp(raw: &Value) -> Option<(DateTime<Utc>, String)> {
    let time = raw
        .get("updated_at")
        .and_then(Value::as_str)
        .and_then(crate::fields::parse_time)?;
    Some((time, crate::fields::raw_id(raw)?))
}

/// What one page of a ticket window comes to.
#[derive(Debug, PartialEq)]
pub(crate) struct WindowStep {
    /// Where to read on.
    pub(crate) next: ReadPosition,
    /// For each record of the page, whether to deliver it (false: overlap already delivered).
    pub(crate) keep: Vec<bool>,
    /// Whether the window has nothing more now.
    pub(crate) done: bool,
}

/// The pure arithmetic of ticket windows. `stamps` are the page's (updated_at, id) in order
/// (`None` for a record too broken to tell: delivered, to be rejected, never moving the mark).
pub(crate) fn window_step(
    position: &ReadPosition,
    stamps: &[Option<(DateTime<Utc>, String)>],
    full_page: bool,
    has_next: bool,
    max_pages: u32,
) -> Result<WindowStep, String> {
    let page_number = position.seq.max(1);
    let mut next = position.clone();
    let keep: Vec<bool> = stamps
        .iter()
        .map(|stamp| match stamp {
            Some((time, id)) if position.covers(*time, id) => false,
            Some((time, id)) => next.advance(*time, id),
            None => true,
        })
        .collect();
    let done = !has_next || stamps.is_empty();
    if next.time > position.time || done {
        next.seq = 1;
    } else if full_page {
        // Every ticket of this page changed in the window's first second: turn the page.
        next.seq = page_number + 1;
        if next.seq > max_pages {
            return Err(format!(
                "more than {max_pages} pages of tickets share the update time {:?}",
                position.time
            ));
        }
    }
    Ok(WindowStep { next, keep, done })
}

/// Contacts, filtered by `_updated_since` from where the previous pass ended. Contacts are not
/// listed in change order, so a pass keeps its start in `time` and carries its page and the
/// newest change seen so far in `token` (`"{page}|{time}"`); the next pass starts there. The
/// boundary second is read again and its contacts delivered again (harmless: equal fingerprints).
async fn contacts(
    api: &FreshdeskApi,
    side: Side,
    position: &ReadPosition,
) -> Result<Page, ConnectError> {
    let (page_number, mut newest) = parse_pass(position.token.as_deref());
    let op = format!("read contacts page {page_number} from freshdesk");
    let mut request = Request::get("contacts").lane(LANE_CONTACTS_LIST);
    if let Some(since) = position.time {
        request = request.query(
            "_updated_since",
            format_time(&(since - Duration::seconds(1))),
        );
    }
    let list = api.list_page(&op, request, page_number).await?;
    let mut page = Page::default();
    for raw in &list.items {
        collect(
            &mut page,
            FRESHDESK,
            RecordKind::Contact,
            raw,
            list.lossy,
            |raw| mapping::contact(raw, side),
        );
    }
    newest = page
        .items
        .iter()
        .filter_map(|item| item.updated_at)
        .chain(newest)
        .max();
    page.done = !list.has_next;
    page.next = Some(if page.done {
        ReadPosition {
            time: newest.or(position.time),
            ..ReadPosition::default()
        }
    } else {
        let token = format!(
            "{}|{}",
            page_number + 1,
            newest.map(|t| format_time(&t)).unwrap_or_default()
        );
        ReadPosition {
            token: Some(token),
            time: position.time,
            ..ReadPosition::default()
        }
    });
    Ok(page)
}

/// Reads a contact pass token: (page, newest change seen so far).
fn parse_pass(token: Option<&str>) -> (u32, Option<DateTime<Utc>>) {
    let Some(token) = token else { return (1, None) };
    let (page, newest) = token.split_once('|').unwrap_or((token, ""));
    (page.parse().unwrap_or(1), crate::fields::parse_time(newest))
}

/// A ticket's conversations, the description first (as a comment of its own); `first`, the
/// first page of them when it was read a moment ago (for the ticket's merge), is not asked again.
pub(crate) async fn conversations(
    api: &FreshdeskApi,
    side: Side,
    ticket: &PlatformId,
    position: &ReadPosition,
    first: Option<ListPage>,
) -> Result<Page, ConnectError> {
    let page_number: u32 = position
        .token
        .as_deref()
        .and_then(|t| t.parse().ok())
        .unwrap_or(1);
    let mut page = Page::default();
    if page_number == 1 {
        let op = format!("read ticket {ticket} from freshdesk");
        let (raw, lossy) = api
            .get(&op, &Request::get(format!("tickets/{ticket}")))
            .await?;
        let before = page.rejected.len();
        collect(
            &mut page,
            FRESHDESK,
            RecordKind::Comment,
            &raw,
            lossy,
            |raw| mapping::description(raw, side),
        );
        // A description that does not read is the comment `d{ticket}`, not the ticket.
        if let (Some(rejected), Ok(id)) = (
            page.rejected.get_mut(before),
            mapping::description_id(ticket),
        ) {
            rejected.id = Some(id.to_string());
        }
    }
    let op = format!("read conversations page {page_number} of ticket {ticket} from freshdesk");
    let list = match first.filter(|_| page_number == 1) {
        Some(list) => list,
        None => {
            api.list_page(
                &op,
                Request::get(format!("tickets/{ticket}/conversations")),
                page_number,
            )
            .await?
        }
    };
    // A merge's notes are not carried as comments: the merge is (see `merges.rs`).
    for raw in list
        .items
        .iter()
        .filter(|c| !super::merges::is_merge_note(c))
    {
        collect(
            &mut page,
            FRESHDESK,
            RecordKind::Comment,
            raw,
            list.lossy,
            |raw| mapping::conversation(raw, side),
        );
    }
    page.next = list.has_next.then(|| ReadPosition {
        token: Some((page_number + 1).to_string()),
        ..ReadPosition::default()
    });
    page.done = page.next.is_none();
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + secs, 0).single().unwrap()
    }

    fn stamps(items: &[(i64, &str)]) -> Vec<Option<(DateTime<Utc>, String)>> {
        items
            .iter()
            .map(|(secs, id)| Some((t(*secs), (*id).to_owned())))
            .collect()
    }

    #[test]
    fn a_new_window_starts_at_the_newest_change_and_drops_the_overlap() {
        let first = window_step(
            &ReadPosition::start(),
            &stamps(&[(1, "a"), (2, "b"), (2, "c")]),
            true,
            true,
            300,
        )
        .unwrap();
        assert_eq!(first.keep, vec![true, true, true]);
        assert!(!first.done);
        assert_eq!(first.next.time, Some(t(2)));
        assert_eq!(first.next.seq, 1);
        // The next window starts at t(2) (minus a second): a, b and c come again and are dropped.
        let second = window_step(
            &first.next,
            &stamps(&[(1, "a"), (2, "b"), (2, "c"), (2, "d"), (3, "e")]),
            true,
            true,
            300,
        )
        .unwrap();
        assert_eq!(second.keep, vec![false, false, false, true, true]);
        assert_eq!(second.next.time, Some(t(3)));
        assert_eq!(window_start(&second.next), format_time(&t(2)));
    }

    #[test]
    fn a_page_all_in_one_second_turns_the_page_instead() {
        let mut position = ReadPosition::since(t(5));
        position.advance(t(5), "a");
        let step = window_step(
            &position,
            &stamps(&[(5, "a"), (5, "b"), (5, "c")]),
            true,
            true,
            300,
        )
        .unwrap();
        assert_eq!(step.next.seq, 2);
        assert_eq!(step.next.time, Some(t(5)));
        let mut stuck = step.next.clone();
        stuck.seq = 300;
        let err = window_step(&stuck, &stamps(&[(5, "x")]), true, true, 300).unwrap_err();
        assert!(err.contains("300 pages"), "{err}");
    }

    #[test]
    fn the_last_page_is_done_and_polls_from_the_newest_change() {
        let step = window_step(
            &ReadPosition::start(),
            &stamps(&[(7, "z")]),
            false,
            false,
            300,
        )
        .unwrap();
        assert!(step.done);
        assert_eq!(step.next.time, Some(t(7)));
        assert_eq!(step.next.seq, 1);
        let empty = window_step(&step.next, &[], false, false, 300).unwrap();
        assert!(empty.done);
        assert_eq!(empty.next, step.next);
    }

    #[test]
    fn a_record_without_a_readable_time_is_delivered_but_moves_nothing() {
        let step = window_step(&ReadPosition::start(), &[None], false, false, 300).unwrap();
        assert_eq!(step.keep, vec![true]);
        assert_eq!(step.next.time, None);
    }

    #[test]
    fn a_pass_of_ticket_windows_carries_its_start_until_its_last_page() {
        assert_eq!(pass_start(&ReadPosition::start()), None);
        let mut position = ReadPosition::since(t(5));
        position.token = Some(format_time(&t(1)));
        assert_eq!(pass_start(&position), Some(format_time(&t(1))));
        // A token that is no time (an older cursor's) starts a pass.
        position.token = Some("2".into());
        assert_eq!(pass_start(&position), None);
    }

    #[test]
    fn contact_pass_tokens_read_back() {
        assert_eq!(parse_pass(None), (1, None));
        assert_eq!(parse_pass(Some("3|")), (3, None));
        let (page, newest) = parse_pass(Some(&format!("4|{}", format_time(&t(9)))));
        assert_eq!((page, newest), (4, Some(t(9))));
    }
}
