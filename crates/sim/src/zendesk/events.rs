//! Webhooks: the `/api/v2/webhooks` API (create, clone, list, show, update, patch, delete,
//! signing secret, invocations, attempts, test) and the event subscriptions that deliver ticket,
//! user and organization changes, signed as Zendesk signs them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::SecondsFormat;
use serde_json::{Map, Value, json};

use super::app::App;
use super::auth::Actor;
use super::errors::ApiError;
use super::json::iso;
use super::model::{Comment, Organization, Role, Ticket, User, Webhook};
use super::routes::{Res, body_json, no_content, reply};
use super::store::ZendeskState;
use crate::datagen::mix64;
use crate::page::QueryMap;
use crate::webhooks::{Delivery, HmacSigner};

/// The account id in payloads and headers.
pub(crate) const ACCOUNT_ID: u64 = 18_525_119;

static COUNTER: AtomicU64 = AtomicU64::new(1);

pub(crate) fn ulid() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut x = mix64(n ^ 0x0BAD_CAFE);
    let mut out = String::from("01");
    for i in 0..24 {
        if i == 12 {
            x = mix64(x ^ n);
        }
        out.push(char::from(ALPHABET[(x % 32) as usize]));
        x /= 32;
    }
    out
}

fn uuid() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let (a, b) = (mix64(n), mix64(n ^ 0x5555));
    format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        a & 0xFFF,
        b >> 52,
        b & 0xFFFF_FFFF_FFFF
    )
}

/// An event waiting to be delivered to subscribed webhooks.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub(crate) event_type: String,
    pub(crate) subject: String,
    pub(crate) detail: Value,
    pub(crate) event: Value,
}

fn s(id: Option<u64>) -> Value {
    json!(id.map_or_else(|| "0".to_owned(), |i| i.to_string()))
}

/// A ticket event (`kind` like `ticket.created`).
pub(crate) fn ticket_pending(st: &ZendeskState, t: &Ticket, kind: &str, event: Value) -> Pending {
    let detail = json!({
        "actor_id": s(Some(t.submitter_id)), "assignee_id": s(t.assignee_id), "brand_id": s(Some(t.brand_id)),
        "created_at": iso(t.created_at), "custom_status": s(t.custom_status_id.or_else(|| st.status_ids.get(t.status.as_str()).copied())),
        "description": super::seed::description(st, t), "external_id": t.external_id, "form_id": s(Some(t.ticket_form_id)),
        "group_id": s(t.group_id), "id": t.id.to_string(), "is_public": t.is_public, "organization_id": s(t.organization_id),
        "priority": t.priority.map(|p| p.as_str().to_uppercase()), "requester_id": s(Some(t.requester_id)),
        "status": if t.deleted { "DELETED".to_owned() } else { t.status.as_str().to_uppercase() },
        "subject": t.subject, "submitter_id": s(Some(t.submitter_id)), "tags": t.tags,
        "type": t.kind.map(|k| k.as_str().to_uppercase()), "updated_at": iso(t.updated_at), "via": t.via,
    });
    Pending {
        event_type: format!("zen:event-type:{kind}"),
        subject: format!("zen:ticket:{}", t.id),
        detail,
        event,
    }
}

/// A user event (`user.created`, `user.deleted`, …).
pub(crate) fn user_pending(u: &User, kind: &str) -> Pending {
    let detail = json!({
        "created_at": iso(u.created_at), "default_group_id": s(u.default_group_id), "email": u.email.clone().unwrap_or_default(),
        "external_id": u.external_id.clone().unwrap_or_default(), "id": u.id.to_string(), "organization_id": s(u.organization_id),
        "role": u.role.as_str(), "updated_at": iso(u.updated_at),
    });
    Pending {
        event_type: format!("zen:event-type:{kind}"),
        subject: format!("zen:user:{}", u.id),
        detail,
        event: json!({}),
    }
}

/// An organization event.
pub(crate) fn org_pending(o: &Organization, kind: &str) -> Pending {
    let detail = json!({
        "created_at": iso(o.created_at), "external_id": o.external_id, "group_id": s(o.group_id), "id": o.id.to_string(),
        "name": o.name, "shared_comments": o.shared_comments, "shared_tickets": o.shared_tickets, "updated_at": iso(o.updated_at),
    });
    Pending {
        event_type: format!("zen:event-type:{kind}"),
        subject: format!("zen:organization:{}", o.id),
        detail,
        event: json!({}),
    }
}

/// The `event` of `ticket.comment_added`.
pub(crate) fn comment_event(st: &ZendeskState, c: &Comment) -> Value {
    let author = st.users.get(&c.author_id);
    json!({"comment": {
        "id": c.id.to_string(), "body": c.body, "is_public": c.public,
        "author": {"id": c.author_id.to_string(), "is_staff": author.is_some_and(|u| u.role != Role::EndUser),
                   "name": author.map(|u| u.name.clone()).unwrap_or_default()},
    }})
}

/// The event type of a changed ticket field, if Zendesk has one.
pub(crate) fn ticket_change_type(field: &str) -> Option<&'static str> {
    Some(match field {
        "status" => "ticket.status_changed",
        "priority" => "ticket.priority_changed",
        "subject" => "ticket.subject_changed",
        "tags" => "ticket.tags_changed",
        "assignee_id" => "ticket.agent_assignment_changed",
        "group_id" => "ticket.group_assignment_changed",
        "type" => "ticket.type_changed",
        "organization_id" => "ticket.organization_changed",
        "requester_id" => "ticket.requester_changed",
        _ => return None,
    })
}

fn subscribed(w: &Webhook, event_type: &str) -> bool {
    let active = w.data.get("status").and_then(Value::as_str) == Some("active");
    let subs = w.data.get("subscriptions").and_then(Value::as_array);
    active
        && subs.is_some_and(|subs| {
            subs.iter().filter_map(Value::as_str).any(|sub| {
                // `conditional_ticket_events` webhooks are called by triggers and automations
                // only (see `triggers.rs`), never by events.
                sub == event_type
                    || sub
                        .strip_suffix('*')
                        .is_some_and(|prefix| event_type.starts_with(prefix))
            })
        })
}

pub(crate) fn auth_header(w: &Webhook) -> Option<(String, String)> {
    let auth = w.data.get("authentication")?;
    let data = auth.get("data")?;
    let text = |k: &str| {
        data.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    match auth.get("type").and_then(Value::as_str)? {
        "basic_auth" => Some((
            "Authorization".into(),
            format!(
                "Basic {}",
                STANDARD.encode(format!("{}:{}", text("username"), text("password")))
            ),
        )),
        "bearer_token" => Some(("Authorization".into(), format!("Bearer {}", text("token")))),
        "api_key" => Some((text("name"), text("value"))),
        _ => None,
    }
}

/// Delivers `pending` events to every subscribed, active webhook.
pub(crate) fn emit(app: &App, st: &ZendeskState, pending: Vec<Pending>) {
    for p in pending {
        for w in st
            .webhooks
            .values()
            .filter(|w| subscribed(w, &p.event_type))
        {
            let payload = json!({
                "account_id": ACCOUNT_ID, "detail": p.detail, "event": p.event, "id": uuid(), "subject": p.subject,
                "time": app.clock.now_secs().format("%Y-%m-%dT%H:%M:%SZ").to_string(), "type": p.event_type,
                "zendesk_event_version": "2022-11-06",
            });
            let invocation_id = ulid();
            let mut headers = vec![
                (
                    "Content-Type".to_owned(),
                    "application/json; charset=utf-8".to_owned(),
                ),
                ("User-Agent".to_owned(), "Zendesk Webhook".to_owned()),
                ("X-Zendesk-Account-Id".to_owned(), ACCOUNT_ID.to_string()),
                ("X-Zendesk-Webhook-Id".to_owned(), w.id.clone()),
                (
                    "X-Zendesk-Webhook-Invocation-Id".to_owned(),
                    invocation_id.clone(),
                ),
            ];
            headers.extend(auth_header(w));
            let signer = HmacSigner {
                secret: w.secret.clone(),
                signature_header: "X-Zendesk-Webhook-Signature",
                timestamp_header: "X-Zendesk-Webhook-Signature-Timestamp",
            };
            app.webhooks.dispatch(Delivery {
                webhook_id: w.id.clone(),
                invocation_id,
                event_type: p.event_type.clone(),
                url: w
                    .data
                    .get("endpoint")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                method: w
                    .data
                    .get("http_method")
                    .and_then(Value::as_str)
                    .unwrap_or("POST")
                    .to_owned(),
                headers,
                body: payload.to_string().into_bytes(),
                signer: Some(Arc::new(signer)),
            });
        }
    }
}

fn render(w: &Webhook, fresh: bool) -> Value {
    let mut out = w.data.clone();
    if let Some(Value::Object(auth)) = out.get_mut("authentication")
        && let Some(Value::Object(data)) = auth.get_mut("data")
    {
        data.remove("password");
        data.remove("token");
        data.remove("value");
        if data.is_empty() {
            auth.remove("data");
        }
    }
    if out.get("authentication").is_some_and(Value::is_null) {
        out.remove("authentication");
    }
    let created = if fresh {
        w.created_at.to_rfc3339_opts(SecondsFormat::Nanos, true)
    } else {
        iso(w.created_at.timestamp())
    };
    out.insert("id".into(), json!(w.id));
    out.insert("created_at".into(), json!(created));
    out.insert("created_by".into(), json!(w.created_by.to_string()));
    if let Some((at, by)) = w.updated {
        out.insert("updated_at".into(), json!(iso(at.timestamp())));
        out.insert("updated_by".into(), json!(by.to_string()));
    }
    Value::Object(out)
}

fn webhook_error(detail: &str, pointer: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        json!({"errors": [{"code": "InvalidInput", "title": "Invalid input", "detail": detail, "source": {"pointer": pointer}}]}),
    )
}

fn webhook_data(body: &Value) -> Result<Map<String, Value>, ApiError> {
    let data = body
        .get("webhook")
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| webhook_error("webhook is required", "/webhook"))?;
    for key in [
        "name",
        "endpoint",
        "http_method",
        "request_format",
        "status",
    ] {
        if !data.get(key).is_some_and(Value::is_string) {
            return Err(webhook_error(
                &format!("{key} is required"),
                &format!("/webhook/{key}"),
            ));
        }
    }
    Ok(data)
}

/// `POST /api/v2/webhooks` (or `?clone_webhook_id=`).
pub(crate) async fn create_webhook(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let mut st = app.write();
    let data = match query.non_empty("clone_webhook_id") {
        Some(source) => {
            let mut data = st
                .webhooks
                .get(source)
                .ok_or_else(ApiError::not_found)?
                .data
                .clone();
            let name = format!(
                "{} (copy)",
                data.get("name").and_then(Value::as_str).unwrap_or_default()
            );
            data.insert("name".into(), json!(name));
            data
        }
        None => webhook_data(&body_json(&body)?)?,
    };
    // A secret given at creation (`signing_secret.secret`) is kept; otherwise one is made.
    // Either way it is never stored among the webhook's shown fields.
    let mut data = data;
    let given = data
        .remove("signing_secret")
        .and_then(|s| s.get("secret").and_then(Value::as_str).map(str::to_owned))
        .filter(|s| !s.is_empty());
    let secret = given.unwrap_or_else(|| {
        STANDARD.encode(
            mix64(COUNTER.fetch_add(1, Ordering::Relaxed) ^ st.seed)
                .to_le_bytes()
                .repeat(4),
        )
    });
    let w = Webhook {
        id: ulid(),
        data,
        secret,
        created_at: app.clock.now(),
        created_by: actor.user_id,
        updated: None,
    };
    let out = json!({"webhook": render(&w, true)});
    st.webhooks.insert(w.id.clone(), w);
    Ok(reply(StatusCode::CREATED, &out))
}

/// `GET /api/v2/webhooks`.
pub(crate) async fn list_webhooks(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let contains = query
        .get("filter[name_contains]")
        .unwrap_or_default()
        .to_owned();
    let st = app.read();
    let hooks: Vec<Value> = st
        .webhooks
        .values()
        .filter(|w| {
            w.data
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .contains(&contains)
        })
        .map(|w| render(w, false))
        .collect();
    Ok(reply(
        StatusCode::OK,
        &json!({"webhooks": hooks, "meta": {"has_more": false}}),
    ))
}

/// `GET /api/v2/webhooks/{id}`.
pub(crate) async fn show_webhook(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    let st = app.read();
    let w = st.webhooks.get(&id).ok_or_else(ApiError::not_found)?;
    Ok(reply(StatusCode::OK, &json!({"webhook": render(w, false)})))
}

fn change_webhook(app: &App, actor: Actor, id: &str, body: &Bytes, merge: bool) -> Res {
    let body = body_json(body)?;
    let changes = body
        .get("webhook")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut st = app.write();
    let w = st.webhooks.get_mut(id).ok_or_else(ApiError::not_found)?;
    if !merge {
        let keep: Vec<(String, Value)> = ["subscriptions", "authentication"]
            .iter()
            .filter_map(|k| w.data.get(*k).map(|v| ((*k).to_owned(), v.clone())))
            .collect();
        w.data = changes.clone();
        for (k, v) in keep {
            w.data.entry(k).or_insert(v);
        }
    } else {
        for (k, v) in changes {
            if k != "id" {
                w.data.insert(k, v);
            }
        }
    }
    w.data.remove("id");
    w.updated = Some((app.clock.now(), actor.user_id));
    Ok(no_content())
}

/// `PUT /api/v2/webhooks/{id}`.
pub(crate) async fn update_webhook(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    body: Bytes,
) -> Res {
    change_webhook(&app, actor, &id, &body, false)
}

/// `PATCH /api/v2/webhooks/{id}`.
pub(crate) async fn patch_webhook(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    body: Bytes,
) -> Res {
    change_webhook(&app, actor, &id, &body, true)
}

/// `DELETE /api/v2/webhooks/{id}`.
pub(crate) async fn delete_webhook(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    app.write()
        .webhooks
        .remove(&id)
        .ok_or_else(ApiError::not_found)?;
    Ok(no_content())
}

/// `GET /api/v2/webhooks/{id}/signing_secret`.
pub(crate) async fn show_secret(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    let st = app.read();
    let w = st.webhooks.get(&id).ok_or_else(ApiError::not_found)?;
    Ok(reply(
        StatusCode::OK,
        &json!({"signing_secret": {"algorithm": "SHA256", "secret": w.secret}}),
    ))
}

/// `POST /api/v2/webhooks/{id}/signing_secret`: a new secret.
pub(crate) async fn reset_secret(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    let mut st = app.write();
    let seed = st.seed;
    let w = st.webhooks.get_mut(&id).ok_or_else(ApiError::not_found)?;
    w.secret = STANDARD.encode(
        mix64(COUNTER.fetch_add(1, Ordering::Relaxed) ^ seed ^ 0xFEED)
            .to_le_bytes()
            .repeat(4),
    );
    Ok(reply(
        StatusCode::CREATED,
        &json!({"signing_secret": {"algorithm": "SHA256", "secret": w.secret}}),
    ))
}

/// `GET /api/v2/webhooks/{id}/invocations`: one row per invocation, latest attempt's outcome.
pub(crate) async fn invocations(State(app): State<Arc<App>>, Path(id): Path<String>) -> Res {
    if !app.read().webhooks.contains_key(&id) {
        return Err(ApiError::not_found());
    }
    let mut rows: Vec<(String, Value)> = Vec::new();
    for a in app
        .webhooks
        .attempts()
        .into_iter()
        .filter(|a| a.webhook_id == id)
    {
        let mut row = json!({"id": a.invocation_id, "latest_completed_at": a.completed_at, "status": a.status});
        if let Some(code) = a.status_code {
            row["status_code"] = json!(code);
        }
        match rows.iter_mut().find(|(inv, _)| *inv == a.invocation_id) {
            Some(existing) => existing.1 = row,
            None => rows.push((a.invocation_id.clone(), row)),
        }
    }
    let list: Vec<Value> = rows.into_iter().rev().map(|(_, v)| v).collect();
    let cursor = list
        .last()
        .and_then(|v| v.get("id"))
        .and_then(Value::as_str)
        .map(|i| STANDARD.encode(format!("{i},desc")));
    let next = cursor.as_ref().map(|c| {
        format!(
            "{}/api/v2/webhooks/{id}/invocations?page[after]={c}",
            app.base
        )
    });
    Ok(reply(
        StatusCode::OK,
        &json!({"invocations": list, "meta": {"has_more": false, "after_cursor": cursor}, "links": {"next": next}}),
    ))
}

/// `GET /api/v2/webhooks/{id}/invocations/{inv}/attempts`.
pub(crate) async fn attempts(
    State(app): State<Arc<App>>,
    Path((id, inv)): Path<(String, String)>,
) -> Res {
    let kv = |pairs: &[(String, String)]| -> Vec<Value> {
        pairs
            .iter()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect()
    };
    let list: Vec<Value> = app
        .webhooks
        .attempts()
        .into_iter()
        .filter(|a| a.webhook_id == id && a.invocation_id == inv)
        .map(|a| {
            json!({
                "completed_at": a.completed_at, "id": id, "invocation_id": a.invocation_id,
                "request": {"headers": kv(&a.request_headers), "payload": a.payload},
                "response": {"headers": [], "payload": a.response_body},
                "status": a.status, "status_code": a.status_code.unwrap_or(0),
            })
        })
        .collect();
    Ok(reply(StatusCode::OK, &json!({"attempts": list})))
}

/// `POST /api/v2/webhooks/test`: sends one request and reports the answer (loopback only).
pub(crate) async fn test_webhook(
    State(app): State<Arc<App>>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Res {
    let query = QueryMap::parse(q.as_deref());
    let body = body_json(&body)?;
    let request = body.get("request").cloned().unwrap_or(json!({}));
    let stored = query
        .non_empty("webhook_id")
        .and_then(|id| app.read().webhooks.get(id).map(|w| w.data.clone()));
    let pick = |k: &str| {
        request
            .get(k)
            .or_else(|| stored.as_ref().and_then(|d| d.get(k)))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let endpoint = pick("endpoint")
        .ok_or_else(|| webhook_error("endpoint is required", "/request/endpoint"))?;
    let method = pick("http_method").unwrap_or_else(|| "POST".into());
    let payload = request
        .get("payload")
        .and_then(Value::as_str)
        .unwrap_or("{}")
        .to_owned();
    let local = url::Url::parse(&endpoint)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .is_some_and(|h| h == "localhost" || h.starts_with("127.") || h == "[::1]");
    let response = if local || app.opts.allow_external_webhooks {
        let client = reqwest::Client::new();
        let method =
            reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::POST);
        match client.request(method, &endpoint).body(payload).send().await {
            Ok(r) => {
                let code = r.status().as_u16();
                let headers: Vec<Value> = r.headers().iter().map(|(k, v)| json!({"key": k.as_str(), "value": v.to_str().unwrap_or_default()})).collect();
                json!({"headers": headers, "payload": r.text().await.unwrap_or_default(), "status_code": code})
            }
            Err(e) => json!({"headers": [], "payload": e.to_string(), "status_code": 502}),
        }
    } else {
        json!({"headers": [], "payload": "the emulator delivers only to loopback endpoints", "status_code": 502})
    };
    Ok(reply(StatusCode::OK, &json!({"response": response})))
}
