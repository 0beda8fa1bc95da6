//! Writing the helpdesk's rules: canned responses and their folders, scenario automations and
//! SLA policies (created and updated, checked as Freshdesk checks them), and the checks of an
//! automation rule's condition sets, events and performer (its routes are `admin.rs`'s). Lists
//! and single records are served by `admin.rs` from the same stored lists.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::{Map, Value, json};

use super::app::App;
use super::automation::ON_UPDATE;
use super::errors::{ApiError, FieldError};
use super::routes::{Res, blank, body_object, path_id, reply};
use super::store::{FreshdeskState, iso, str_of};
use crate::text::html_to_text;

/// Ticket sources an SLA policy may apply to.
const SOURCES: [u64; 6] = [1, 2, 3, 7, 9, 10];
/// Operators of a condition property.
const OPERATORS: &[&str] = &[
    "is",
    "is_not",
    "in",
    "not_in",
    "contains",
    "does_not_contain",
    "starts_with",
    "ends_with",
    "greater_than",
    "less_than",
];
/// The shortest SLA target Freshdesk takes, in seconds.
const MIN_TARGET: u64 = 15 * 60;

/// How a record of a list is checked: against the state, with its fields, its own id when it is
/// an update, adding what is wrong.
type Check = fn(&FreshdeskState, &Map<String, Value>, Option<u64>, &mut Vec<FieldError>);

/// One writable stored list: its path, its fields and how a record of it is checked.
#[derive(Debug, Clone, Copy)]
struct Writable {
    list: &'static str,
    fields: &'static [&'static str],
    check: Check,
}

const WRITABLE: &[Writable] = &[
    Writable {
        list: "canned_response_folders",
        fields: &["name"],
        check: check_folder,
    },
    Writable {
        list: "canned_responses",
        fields: &[
            "title",
            "content_html",
            "folder_id",
            "visibility",
            "group_ids",
            "attachments",
        ],
        check: check_canned,
    },
    Writable {
        list: "scenario_automations",
        fields: &["name", "description", "actions", "private"],
        check: check_scenario,
    },
    Writable {
        list: "sla_policies",
        fields: &[
            "name",
            "description",
            "active",
            "applicable_to",
            "sla_target",
            "escalation",
        ],
        check: check_sla,
    },
];

/// The lists whose records Freshdesk's API deletes (`DELETE /api/v2/scenario_automations/{id}`;
/// it has no delete for canned responses, their folders or SLA policies).
const DELETABLE: &[&str] = &["scenario_automations"];

/// Routes of this module: `POST /api/v2/{list}` and `PUT /api/v2/{list}/{id}` of each list,
/// `DELETE /api/v2/{list}/{id}` of the [`DELETABLE`] ones.
pub(crate) fn routes(mut r: Router<Arc<App>>) -> Router<Arc<App>> {
    for w in WRITABLE {
        let w = *w;
        let mut one = axum::routing::put(
            move |State(app): State<Arc<App>>, Path(id): Path<String>, body: Bytes| async move {
                write(&app, w, Some(&id), &body)
            },
        );
        if DELETABLE.contains(&w.list) {
            one = one.delete(
                move |State(app): State<Arc<App>>, Path(id): Path<String>| async move {
                    remove(&app, w.list, &id)
                },
            );
        }
        r = r
            .route(
                &format!("/api/v2/{}", w.list),
                post(move |State(app): State<Arc<App>>, body: Bytes| async move {
                    write(&app, w, None, &body)
                }),
            )
            .route(&format!("/api/v2/{}/{{id}}", w.list), one);
    }
    r
}

/// `DELETE /api/v2/{list}/{id}`: 204, or 404 when the list holds no such record.
fn remove(app: &App, list: &str, id: &str) -> Res {
    let id = path_id(id)?;
    let mut st = app.write();
    let records = st.lists.get_mut(list).ok_or_else(ApiError::not_found)?;
    let pos = records
        .iter()
        .position(|r| r.get("id").and_then(Value::as_u64) == Some(id))
        .ok_or_else(ApiError::not_found)?;
    records.remove(pos);
    Ok(super::routes::no_content())
}

fn write(app: &App, w: Writable, id: Option<&str>, body: &Bytes) -> Res {
    let id = id.map(path_id).transpose()?;
    let fields = body_object(body)?;
    let now = iso(app.now());
    let mut st = app.write();
    let existing = match id {
        Some(id) => Some(
            st.lists
                .get(w.list)
                .and_then(|l| {
                    l.iter()
                        .find(|r| r.get("id").and_then(Value::as_u64) == Some(id))
                })
                .cloned()
                .ok_or_else(ApiError::not_found)?,
        ),
        None => None,
    };
    let mut errors: Vec<FieldError> = fields
        .keys()
        .filter(|k| !w.fields.contains(&k.as_str()))
        .map(|k| FieldError::unexpected(k))
        .collect();
    (w.check)(&st, &fields, id, &mut errors);
    if let Some(e) = errors.iter().position(|e| e.code == "duplicate_value") {
        return Err(ApiError::conflict(vec![errors.remove(e)]));
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let mut record = match existing {
        Some(Value::Object(record)) => record,
        _ => new_record(&mut st, w.list, &now),
    };
    record.extend(fields);
    record.insert("updated_at".into(), json!(now));
    if w.list == "canned_responses" {
        let html = str_of(&record, "content_html").unwrap_or_default();
        record.insert("content".into(), json!(html_to_text(html)));
    }
    let record = Value::Object(record);
    let list = st.lists.entry(w.list).or_default();
    match list.iter_mut().find(|r| r.get("id") == record.get("id")) {
        Some(slot) => *slot = record.clone(),
        None => list.push(record.clone()),
    }
    if w.list == "canned_responses" {
        count_responses(&mut st);
    }
    let status = if id.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok(reply(status, &record))
}

/// A new record of `list` with Freshdesk's defaults.
fn new_record(st: &mut FreshdeskState, list: &str, now: &str) -> Map<String, Value> {
    let id = st.other_ids.next_id();
    let defaults = match list {
        "canned_response_folders" => json!({"personal": false, "responses_count": 0}),
        "canned_responses" => json!({"visibility": 0, "group_ids": [], "attachments": []}),
        "scenario_automations" => json!({"description": null, "private": false, "actions": []}),
        _ => json!({"description": null, "active": true, "is_default": false,
            "applicable_to": {}, "escalation": {}}),
    };
    let mut record = defaults.as_object().cloned().unwrap_or_default();
    if list == "sla_policies" {
        let position = st.lists.get(list).map_or(0, Vec::len) + 1;
        record.insert("position".into(), json!(position));
    }
    record.insert("id".into(), json!(id));
    record.insert("created_at".into(), json!(now));
    record
}

fn count_responses(st: &mut FreshdeskState) {
    let responses = st
        .lists
        .get("canned_responses")
        .cloned()
        .unwrap_or_default();
    if let Some(folders) = st.lists.get_mut("canned_response_folders") {
        for folder in folders.iter_mut() {
            let id = folder.get("id").and_then(Value::as_u64);
            let count = responses
                .iter()
                .filter(|r| r.get("folder_id").and_then(Value::as_u64) == id)
                .count();
            folder["responses_count"] = json!(count);
        }
    }
}

fn required(fields: &Map<String, Value>, creating: bool, name: &str, errors: &mut Vec<FieldError>) {
    let present = fields.contains_key(name);
    if (creating || present) && blank(fields.get(name)) {
        errors.push(FieldError::new(
            name,
            "It should be a/an String",
            "missing_field",
        ));
    }
}

fn unique(
    st: &FreshdeskState,
    list: &str,
    key: &str,
    fields: &Map<String, Value>,
    own: Option<u64>,
    errors: &mut Vec<FieldError>,
) {
    let Some(wanted) = fields.get(key).and_then(Value::as_str) else {
        return;
    };
    let taken = st.lists.get(list).into_iter().flatten().any(|r| {
        r.get(key).and_then(Value::as_str) == Some(wanted.trim())
            && r.get("id").and_then(Value::as_u64) != own
    });
    if taken {
        errors.push(FieldError::new(
            key,
            "It should be a unique value",
            "duplicate_value",
        ));
    }
}

fn check_folder(
    st: &FreshdeskState,
    fields: &Map<String, Value>,
    own: Option<u64>,
    errors: &mut Vec<FieldError>,
) {
    required(fields, own.is_none(), "name", errors);
    unique(st, "canned_response_folders", "name", fields, own, errors);
}

fn check_canned(
    st: &FreshdeskState,
    fields: &Map<String, Value>,
    own: Option<u64>,
    errors: &mut Vec<FieldError>,
) {
    let creating = own.is_none();
    required(fields, creating, "title", errors);
    required(fields, creating, "content_html", errors);
    if creating || fields.contains_key("folder_id") {
        let folder = fields.get("folder_id").and_then(Value::as_u64);
        let known = st
            .lists
            .get("canned_response_folders")
            .into_iter()
            .flatten()
            .any(|f| folder.is_some() && f.get("id").and_then(Value::as_u64) == folder);
        if !known {
            errors.push(FieldError::new(
                "folder_id",
                "There is no canned response folder matching the given folder_id",
                "invalid_value",
            ));
        }
    }
    let visibility = fields.get("visibility").map(Value::as_u64);
    match visibility {
        Some(Some(0..=2)) | None => {}
        Some(_) => errors.push(FieldError::not_one_of("visibility", "0,1,2")),
    }
    if visibility == Some(Some(2)) {
        let groups = fields.get("group_ids").and_then(Value::as_array);
        let ok = groups.is_some_and(|g| {
            !g.is_empty()
                && g.iter()
                    .all(|id| id.as_u64().is_some_and(|id| st.groups.contains_key(&id)))
        });
        if !ok {
            errors.push(FieldError::new(
                "group_ids",
                "There are no groups matching some of the given group_ids",
                "invalid_value",
            ));
        }
    }
}

fn check_scenario(
    _: &FreshdeskState,
    fields: &Map<String, Value>,
    own: Option<u64>,
    errors: &mut Vec<FieldError>,
) {
    required(fields, own.is_none(), "name", errors);
    if own.is_none() || fields.contains_key("actions") {
        let ok = fields
            .get("actions")
            .and_then(Value::as_array)
            .is_some_and(|a| {
                !a.is_empty()
                    && a.iter()
                        .all(|x| x.get("name").and_then(Value::as_str).is_some())
            });
        if !ok {
            errors.push(FieldError::new(
                "actions",
                "It should be a/an Array of actions, each with a name",
                "missing_field",
            ));
        }
    }
}

fn check_sla(
    st: &FreshdeskState,
    fields: &Map<String, Value>,
    own: Option<u64>,
    errors: &mut Vec<FieldError>,
) {
    let creating = own.is_none();
    required(fields, creating, "name", errors);
    unique(st, "sla_policies", "name", fields, own, errors);
    let default = own.is_some_and(|id| {
        st.lists.get("sla_policies").into_iter().flatten().any(|p| {
            p.get("id").and_then(Value::as_u64) == Some(id)
                && p.get("is_default").and_then(Value::as_bool) == Some(true)
        })
    });
    match fields.get("applicable_to") {
        Some(_) if default => errors.push(FieldError::new(
            "applicable_to",
            "The default policy applies to every ticket no other policy applies to",
            "invalid_value",
        )),
        Some(applicable) => check_applicable(st, applicable, errors),
        None if creating => errors.push(FieldError::new(
            "applicable_to",
            "It should be a/an key/value pair",
            "missing_field",
        )),
        None => {}
    }
    match fields.get("sla_target") {
        Some(target) => check_targets(target, errors),
        None if creating => errors.push(FieldError::new(
            "sla_target",
            "It should be a/an key/value pair",
            "missing_field",
        )),
        None => {}
    }
}

fn check_applicable(st: &FreshdeskState, applicable: &Value, errors: &mut Vec<FieldError>) {
    let Some(map) = applicable.as_object() else {
        errors.push(FieldError::mismatch(
            "applicable_to",
            "key/value pair",
            "String",
        ));
        return;
    };
    const KEYS: [&str; 5] = [
        "company_ids",
        "group_ids",
        "sources",
        "ticket_types",
        "product_ids",
    ];
    for key in map.keys().filter(|k| !KEYS.contains(&k.as_str())) {
        errors.push(FieldError::unexpected(&format!("applicable_to.{key}")));
    }
    let listed = |key: &str| {
        map.get(key)
            .and_then(Value::as_array)
            .filter(|l| !l.is_empty())
    };
    if KEYS.iter().all(|k| listed(k).is_none()) {
        errors.push(FieldError::new(
            "applicable_to",
            "Please specify at least one condition for the policy",
            "missing_field",
        ));
    }
    if let Some(groups) = listed("group_ids")
        && !groups
            .iter()
            .all(|g| g.as_u64().is_some_and(|g| st.groups.contains_key(&g)))
    {
        errors.push(FieldError::new(
            "applicable_to.group_ids",
            "There are no groups matching some of the given group_ids",
            "invalid_value",
        ));
    }
    if let Some(sources) = listed("sources")
        && !sources
            .iter()
            .all(|s| s.as_u64().is_some_and(|s| SOURCES.contains(&s)))
    {
        errors.push(FieldError::not_one_of(
            "applicable_to.sources",
            "1,2,3,7,9,10",
        ));
    }
}

fn check_targets(target: &Value, errors: &mut Vec<FieldError>) {
    for priority in ["priority_1", "priority_2", "priority_3", "priority_4"] {
        let one = target.get(priority);
        let time = |key: &str| {
            one.and_then(|t| t.get(key))
                .and_then(Value::as_u64)
                .is_some_and(|s| s >= MIN_TARGET)
        };
        if !(time("respond_within") && time("resolve_within")) {
            errors.push(FieldError::new(
                &format!("sla_target.{priority}"),
                "It should have respond_within and resolve_within of at least 900 seconds",
                "missing_field",
            ));
        }
    }
}

/// Checks of an automation rule's condition sets, events (update rules) and performer: each
/// property names a field and one of Freshdesk's operators, each event a field.
pub(crate) fn check_rule_parts(
    kind: u64,
    fields: &Map<String, Value>,
    errors: &mut Vec<FieldError>,
) {
    if let Some(conditions) = fields.get("conditions") {
        let Some(sets) = conditions.as_array() else {
            errors.push(FieldError::mismatch("conditions", "Array", "String"));
            return;
        };
        for set in sets {
            let properties = match set.get("properties") {
                Some(Value::Array(properties)) => properties.iter().collect(),
                Some(_) => {
                    errors.push(FieldError::mismatch(
                        "conditions.properties",
                        "Array",
                        "String",
                    ));
                    continue;
                }
                None => vec![set],
            };
            if let Some(match_type) = set.get("match_type").and_then(Value::as_str)
                && !["all", "any"].contains(&match_type)
            {
                errors.push(FieldError::not_one_of("conditions.match_type", "all,any"));
            }
            for property in properties {
                let named = property.get("field_name").and_then(Value::as_str).is_some();
                let operator = property.get("operator").and_then(Value::as_str);
                let resource = property
                    .get("resource_type")
                    .and_then(Value::as_str)
                    .unwrap_or("ticket");
                if !named || !operator.is_some_and(|o| OPERATORS.contains(&o)) {
                    errors.push(FieldError::new(
                        "conditions.properties",
                        format!(
                            "Each condition needs a field_name and one of the operators {}",
                            OPERATORS.join(",")
                        ),
                        "invalid_value",
                    ));
                }
                if !["ticket", "requester", "company"].contains(&resource) {
                    errors.push(FieldError::not_one_of(
                        "conditions.resource_type",
                        "ticket,requester,company",
                    ));
                }
            }
        }
    }
    if kind == ON_UPDATE {
        for event in fields
            .get("events")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if event.get("field_name").and_then(Value::as_str).is_none() {
                errors.push(FieldError::new(
                    "events",
                    "Each event needs a field_name",
                    "missing_field",
                ));
            }
        }
    }
    if let Some(performer) = fields.get("performer") {
        let kind = performer.get("type").and_then(Value::as_u64);
        if !kind.is_some_and(|k| (1..=4).contains(&k)) {
            errors.push(FieldError::not_one_of("performer.type", "1,2,3,4"));
        }
    }
}
