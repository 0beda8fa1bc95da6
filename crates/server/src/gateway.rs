//! `/gateway/{channel}`: the inbound gateway, one endpoint per `[[channels]]` entry of the plan,
//! each taking what that kind of channel's providers send:
//!
//! - `email`: an inbound-parse webhook (SendGrid's or Mailgun's `multipart/form-data`, or
//!   Mailgun's url-encoded form): `from`, `to`, `subject`, `text` (`body-plain`), `html`
//!   (`body-html`), attachments; the message key is its `Message-Id`;
//! - `web_form`: JSON or a url-encoded form: `email`, `name`, `subject`, `message`;
//! - `whatsapp`: the WhatsApp Business Cloud API webhook: `GET` answers the verification
//!   challenge (`hub.mode=subscribe`, `hub.verify_token`, `hub.challenge` echoed), `POST`
//!   carries `entry[].changes[].value.messages[]`, signed in `X-Hub-Signature-256`
//!   (`sha256=` hex HMAC-SHA256 of the body with the app secret, compared in constant time);
//! - `chat` (and `sms`, `social`, `api`): a JSON message webhook: `id`, `user` (`id`, `name`,
//!   `email`) or `user_id`, `text`;
//! - `voice`: a Twilio-style voice webhook (form POST: `CallSid`, `From`, `To`) answered with
//!   TwiML: `<Dial>` the number of the side the caller is routed to, or, while a switch holds
//!   calls, `<Say>` a notice, `<Pause>` and `<Redirect>` back here until it ends. A call put
//!   through also gets a ticket on that side (one per call, opened by the delivery worker).
//!
//! Every message is kept in the store (by the [`Keeper`], many to a commit) before the
//! answer 2xx; the runtime's delivery worker routes and delivers it. A provider's retry of the
//! same message (same message key; an `Idempotency-Key` header, else a hash of the message, when
//! the provider gives no id) is kept once. A payload that cannot be read or a signature that
//! does not match is answered 4xx naming what is wrong and kept in the dead letters. Bodies and
//! secrets are never logged.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart, Path, Query, State};
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use cutover_connect::WebhookSecret;
use cutover_model::{PlatformId, RecordKind, Side};
use cutover_plan::plan::model::{Channel, Wave};
use cutover_plan::plan::names::ChannelKind;
use cutover_runtime::gateway::{CALL_TICKET, GatewayMetrics};
use cutover_runtime::{Route, RoutingState};
use cutover_store::{Accepted, Contact, ContactStatus, NewContact, NewDeadLetter, Store};
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::keeper::Keeper;

/// The largest request the gateway reads: an e-mail with its attachments (SendGrid's inbound
/// parse takes messages up to 30 MB).
pub const BODY_LIMIT: usize = 40 * 1024 * 1024;

/// One channel's endpoint: its kind and the secrets and numbers it needs.
#[derive(Debug, Clone)]
pub struct ChannelEndpoint {
    /// The plan's channel.
    pub channel: Channel,
    /// WhatsApp: the verify token of the webhook set-up.
    pub verify_token: Option<WebhookSecret>,
    /// WhatsApp: the app secret deliveries are signed with.
    pub app_secret: Option<WebhookSecret>,
}

/// What the gateway needs: the store, the plan's channels and waves, and its counts.
#[derive(Debug, Clone)]
pub struct GatewayState {
    /// Where contacts are kept.
    pub store: Arc<dyn Store>,
    /// By channel name.
    pub channels: Arc<BTreeMap<String, ChannelEndpoint>>,
    /// The plan's waves, in order (calls are routed as they ring).
    pub waves: Arc<Vec<Wave>>,
    /// Counts for `/metrics`, shared with the delivery worker.
    pub metrics: Arc<GatewayMetrics>,
    /// The task that writes contacts, many to a commit.
    pub keeper: Keeper,
}

impl GatewayState {
    /// The gateway of a plan's channels; `env` reads the secrets the plan names. Starts its
    /// [`Keeper`] on the current runtime, with `writers` writers (by default
    /// [`Keeper::default_writers`] of the store's backend).
    pub fn new(
        store: Arc<dyn Store>,
        channels: &[Channel],
        waves: &[Wave],
        metrics: Arc<GatewayMetrics>,
        writers: Option<usize>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Self {
        let secret = |name: &Option<cutover_plan::plan::values::EnvVarName>| {
            name.as_ref()
                .and_then(|n| env(n.as_str()))
                .filter(|s| !s.is_empty())
                .map(WebhookSecret::new)
        };
        let channels = channels
            .iter()
            .map(|c| {
                let endpoint = ChannelEndpoint {
                    channel: c.clone(),
                    verify_token: secret(&c.verify_token_env),
                    app_secret: secret(&c.app_secret_env),
                };
                (c.name.clone(), endpoint)
            })
            .collect();
        GatewayState {
            keeper: Keeper::with_writers(
                Arc::clone(&store),
                writers.unwrap_or_else(|| Keeper::default_writers(store.backend())),
            ),
            store,
            channels: Arc::new(channels),
            waves: Arc::new(waves.to_vec()),
            metrics,
        }
    }
}

/// What is wrong with a request: answered with its status and kept in the dead letters.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    reason: String,
}

impl Refusal {
    fn bad(reason: impl Into<String>) -> Self {
        Refusal {
            status: StatusCode::BAD_REQUEST,
            reason: reason.into(),
        }
    }

    fn unauthorized(reason: impl Into<String>) -> Self {
        Refusal {
            status: StatusCode::UNAUTHORIZED,
            reason: reason.into(),
        }
    }
}

/// A message read from a request, before it is kept.
#[derive(Debug, Clone, PartialEq)]
struct Message {
    key: String,
    customer: String,
    payload: Value,
}

fn plain(status: StatusCode, text: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

fn no_channel(name: &str, state: &GatewayState) -> Response {
    let known: Vec<&str> = state.channels.keys().map(String::as_str).collect();
    plain(
        StatusCode::NOT_FOUND,
        format!(
            "no channel {name:?} in the plan: the gateway serves /gateway/{{{}}}\n",
            known.join("|")
        ),
    )
}

/// `GET /gateway/{channel}`: WhatsApp's verification challenge.
pub async fn verify(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let gateway = &state.gateway;
    let Some(endpoint) = gateway.channels.get(&name) else {
        return no_channel(&name, gateway);
    };
    if endpoint.channel.kind != ChannelKind::Whatsapp {
        return plain(
            StatusCode::METHOD_NOT_ALLOWED,
            format!(
                "channel {name:?} is {}: only whatsapp channels answer GET (the webhook verification); POST contacts here\n",
                endpoint.channel.kind
            ),
        );
    }
    let Some(expected) = &endpoint.verify_token else {
        return plain(
            StatusCode::FORBIDDEN,
            format!(
                "channel {name:?} has no verify token: set the variable its verify_token_env names\n"
            ),
        );
    };
    if query.get("hub.mode").map(String::as_str) != Some("subscribe") {
        return plain(
            StatusCode::BAD_REQUEST,
            "hub.mode must be \"subscribe\"\n".to_owned(),
        );
    }
    let given = query.get("hub.verify_token").map(String::as_str);
    if !given.is_some_and(|t| constant_time_eq(t.as_bytes(), expected.expose().as_bytes())) {
        tracing::warn!(channel = %name, "WhatsApp verification refused: the verify token does not match.");
        return plain(
            StatusCode::FORBIDDEN,
            "hub.verify_token does not match the channel's verify token\n".to_owned(),
        );
    }
    match query.get("hub.challenge") {
        Some(challenge) => plain(StatusCode::OK, challenge.clone()),
        None => plain(
            StatusCode::BAD_REQUEST,
            "hub.challenge is missing\n".to_owned(),
        ),
    }
}

/// `POST /gateway/{channel}`: one delivery of a channel's provider.
pub async fn receive(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let gateway = &state.gateway;
    let Some(endpoint) = gateway.channels.get(&name) else {
        return no_channel(&name, gateway);
    };
    let kind = endpoint.channel.kind;
    let read = match kind {
        ChannelKind::Email => email(&headers, body.clone()).await.map(|m| vec![m]),
        ChannelKind::WebForm => web_form(&headers, body.clone()).await.map(|m| vec![m]),
        ChannelKind::Whatsapp => whatsapp(endpoint, &headers, &body),
        ChannelKind::Voice => return voice(gateway, endpoint, &headers, body).await,
        ChannelKind::Chat | ChannelKind::Sms | ChannelKind::Social | ChannelKind::Api => {
            chat(&headers, &body).map(|m| vec![m])
        }
    };
    let messages = match read {
        Ok(messages) => messages,
        Err(refusal) => return refuse(gateway, &name, kind, &headers, &body, refusal).await,
    };
    let mut kept = Vec::new();
    for message in messages {
        match keep(gateway, &name, message, ContactStatus::Pending, None).await {
            Ok(accepted) => kept.push(json!({
                "contact": accepted.contact().id.0,
                "repeat": matches!(accepted, Accepted::Repeat(_)),
            })),
            Err(response) => return response,
        }
    }
    (
        StatusCode::ACCEPTED,
        axum::Json(json!({ "channel": name, "contacts": kept })),
    )
        .into_response()
}

/// Keeps one message; a store that fails is answered 503 (the provider delivers again).
async fn keep(
    gateway: &GatewayState,
    channel: &str,
    message: Message,
    status: ContactStatus,
    side: Option<Side>,
) -> Result<Accepted, Response> {
    let contact = NewContact {
        channel: channel.to_owned(),
        message_key: message.key,
        customer: message.customer,
        payload: message.payload,
        status,
        side,
    };
    match gateway.keeper.keep(contact).await {
        Ok(accepted) => {
            if let Accepted::New(c) = &accepted {
                gateway.metrics.accepted(channel);
                if let Some(side) = side {
                    gateway.metrics.delivered(channel, side);
                }
                tracing::debug!(contact = %c.id, channel, "Contact kept.");
            }
            Ok(accepted)
        }
        Err(e) => {
            tracing::error!(channel, error = %e, "A contact could not be kept; the provider is asked to deliver again.");
            Err(plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "the store is unavailable; deliver again\n".to_owned(),
            ))
        }
    }
}

/// Answers a refusal and keeps the payload in the dead letters (headers named, none of their
/// values but the content type: a signature or token stays out).
async fn refuse(
    gateway: &GatewayState,
    channel: &str,
    kind: ChannelKind,
    headers: &HeaderMap,
    body: &[u8],
    refusal: Refusal,
) -> Response {
    tracing::warn!(channel, %kind, reason = %refusal.reason, status = refusal.status.as_u16(), "Gateway delivery refused; kept in the dead letters.");
    let text = String::from_utf8_lossy(body).into_owned();
    let content = serde_json::from_slice::<Value>(body).unwrap_or(Value::String(text));
    let record = json!({
        "gateway": { "channel": channel, "kind": kind.as_str() },
        "content_type": header_str(headers, header::CONTENT_TYPE.as_str()),
        "headers": headers.keys().map(|k| k.as_str()).collect::<Vec<_>>(),
        "body": content,
    });
    let letter = NewDeadLetter {
        kind: RecordKind::Ticket,
        side: Side::Old,
        source_id: PlatformId::parse(format!("gateway:{channel}"))
            .unwrap_or_else(|_| PlatformId::from(0)),
        reason: format!("gateway {channel}: {}", refusal.reason),
        record,
    };
    let kept = async {
        let mut tx = gateway.store.begin().await?;
        tx.put_dead_letter(&letter).await?;
        tx.commit().await
    };
    if let Err(e) = kept.await {
        tracing::error!(channel, error = %e, "A refused gateway delivery could not be kept in the dead letters.");
    }
    gateway.metrics.failed(channel, None);
    plain(refusal.status, format!("{}\n", refusal.reason))
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The key of a message the provider gave no id: its `Idempotency-Key` header, else a hash
/// of what it says (a retry says the same).
fn fallback_key(headers: &HeaderMap, parts: &[&str]) -> String {
    if let Some(key) = header_str(headers, "idempotency-key").filter(|k| !k.trim().is_empty()) {
        return format!("idempotency:{}", key.trim());
    }
    let mut hasher = blake3::Hasher::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update(&[0]);
    }
    format!("hash:{}", &hasher.finalize().to_hex()[..32])
}

/// `Ana <ana@example.com>` → (`Ana`, `ana@example.com`), the address lowercased.
fn mailbox(text: &str) -> Option<(Option<String>, String)> {
    let text = text.trim();
    let (name, address) = match (text.rfind('<'), text.rfind('>')) {
        (Some(open), Some(close)) if open < close => {
            let name = text[..open].trim().trim_matches('"').trim();
            (
                (!name.is_empty()).then(|| name.to_owned()),
                &text[open + 1..close],
            )
        }
        _ => (None, text),
    };
    let address = address.trim().to_lowercase();
    let (local, domain) = address.split_once('@')?;
    if local.is_empty() || !domain.contains('.') || address.contains(char::is_whitespace) {
        return None;
    }
    Some((name, address))
}

/// The fields of a form body: multipart (with files) or url-encoded.
struct FormFields {
    fields: BTreeMap<String, String>,
    files: Vec<Value>,
}

async fn form_fields(headers: &HeaderMap, body: Bytes) -> Result<FormFields, Refusal> {
    let content_type = header_str(headers, header::CONTENT_TYPE.as_str()).unwrap_or_default();
    let request = |body: Bytes| {
        Request::builder()
            .method(axum::http::Method::POST)
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .map_err(|e| Refusal::bad(format!("the request cannot be read: {e}")))
    };
    let mut fields = BTreeMap::new();
    let mut files = Vec::new();
    if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(request(body)?, &())
            .await
            .map_err(|e| Refusal::bad(format!("the multipart body cannot be read: {e}")))?;
        loop {
            let field = match multipart.next_field().await {
                Ok(Some(field)) => field,
                Ok(None) => break,
                Err(e) => {
                    return Err(Refusal::bad(format!(
                        "the multipart body cannot be read: {e}"
                    )));
                }
            };
            let name = field.name().unwrap_or_default().to_owned();
            match field.file_name().map(str::to_owned) {
                Some(file_name) => {
                    let content_type = field.content_type().map(str::to_owned);
                    let bytes = field.bytes().await.map_err(|e| {
                        Refusal::bad(format!("attachment {file_name:?} cannot be read: {e}"))
                    })?;
                    // The bytes are kept with the contact (base64 in its payload), so the
                    // delivery worker attaches them to the ticket, whenever it delivers.
                    files.push(json!({
                        "field": name,
                        "name": file_name,
                        "content_type": content_type,
                        "size": bytes.len(),
                        "data": BASE64.encode(&bytes),
                    }));
                }
                None => {
                    let text = field
                        .text()
                        .await
                        .map_err(|e| Refusal::bad(format!("field {name:?} cannot be read: {e}")))?;
                    fields.insert(name, text);
                }
            }
        }
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        let axum::Form(pairs) =
            axum::Form::<Vec<(String, String)>>::from_request(request(body)?, &())
                .await
                .map_err(|e| Refusal::bad(format!("the form body cannot be read: {e}")))?;
        fields.extend(pairs);
    } else {
        return Err(Refusal {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            reason: format!(
                "content type {content_type:?}: expected multipart/form-data or application/x-www-form-urlencoded"
            ),
        });
    }
    Ok(FormFields { fields, files })
}

/// An inbound-parse webhook (SendGrid, Mailgun).
async fn email(headers: &HeaderMap, body: Bytes) -> Result<Message, Refusal> {
    let FormFields { fields, files } = form_fields(headers, body).await?;
    let get = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| fields.get(*k))
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    };
    let from = get(&["from", "sender", "From"])
        .ok_or_else(|| Refusal::bad("e-mail: the field `from` (the sender) is missing"))?;
    let (name, address) = mailbox(from).ok_or_else(|| {
        Refusal::bad(format!("e-mail: `from` is not an e-mail address: {from:?}"))
    })?;
    let subject = get(&["subject", "Subject"]).unwrap_or_default();
    let text = get(&["text", "body-plain", "stripped-text"]).unwrap_or_default();
    let html = get(&["html", "body-html"]).unwrap_or_default();
    if text.is_empty() && html.is_empty() && subject.is_empty() {
        return Err(Refusal::bad(
            "e-mail: no `subject`, `text` or `html`: nothing to deliver",
        ));
    }
    let to = get(&["to", "recipient", "To"]).unwrap_or_default();
    let message_id = get(&["Message-Id", "message-id", "Message-ID"])
        .map(str::to_owned)
        .or_else(|| get(&["headers"]).and_then(message_id_in));
    let key = match message_id {
        Some(id) => format!("message-id:{}", id.trim()),
        None => fallback_key(headers, &[&address, to, subject, text, html]),
    };
    Ok(Message {
        key,
        customer: address.clone(),
        payload: json!({
            "from": address, "name": name, "to": to, "subject": subject,
            "text": text, "html": html, "attachments": files,
        }),
    })
}

/// The `Message-ID` of a raw header block (SendGrid's `headers` field).
fn message_id_in(headers: &str) -> Option<String> {
    headers.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("message-id")
            .then(|| value.trim().to_owned())
            .filter(|v| !v.is_empty())
    })
}

/// A web form: JSON or url-encoded.
async fn web_form(headers: &HeaderMap, body: Bytes) -> Result<Message, Refusal> {
    let content_type = header_str(headers, header::CONTENT_TYPE.as_str()).unwrap_or_default();
    let fields: Map<String, Value> = if content_type.starts_with("application/json") {
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err(Refusal::bad("web form: the JSON body must be an object")),
            Err(e) => return Err(Refusal::bad(format!("web form: the body is not JSON: {e}"))),
        }
    } else {
        let form = form_fields(headers, body).await?;
        form.fields
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect()
    };
    let get = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| fields.get(*k).and_then(Value::as_str))
            .filter(|v| !v.trim().is_empty())
    };
    let email = get(&["email"]).ok_or_else(|| Refusal::bad("web form: `email` is missing"))?;
    let (_, address) = mailbox(email).ok_or_else(|| {
        Refusal::bad(format!(
            "web form: `email` is not an e-mail address: {email:?}"
        ))
    })?;
    let text = get(&["message", "text", "body", "description"])
        .ok_or_else(|| Refusal::bad("web form: `message` is missing"))?;
    let subject = get(&["subject"]).unwrap_or_default();
    let name = get(&["name"]);
    let key = match get(&["id", "submission_id", "idempotency_key"]) {
        Some(id) => format!("id:{id}"),
        None => fallback_key(headers, &[&address, subject, text]),
    };
    Ok(Message {
        key,
        customer: address.clone(),
        payload: json!({ "from": address, "name": name, "subject": subject, "text": text }),
    })
}

/// A chat (or other) JSON message webhook.
fn chat(headers: &HeaderMap, body: &[u8]) -> Result<Message, Refusal> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Refusal::bad(format!("chat: the body is not JSON: {e}")))?;
    let field = |v: &Value, key: &str| match v.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let user = value.get("user").cloned().unwrap_or(Value::Null);
    let user_id = field(&user, "id")
        .or_else(|| field(&value, "user_id"))
        .or_else(|| field(&value, "from"))
        .ok_or_else(|| Refusal::bad("chat: no sender: expected `user.id` or `user_id`"))?;
    let text = field(&value, "text")
        .or_else(|| field(&value, "message"))
        .ok_or_else(|| Refusal::bad("chat: `text` is missing"))?;
    let name = field(&user, "name").or_else(|| field(&value, "name"));
    let email = field(&user, "email").or_else(|| field(&value, "email"));
    let key = match field(&value, "id").or_else(|| field(&value, "message_id")) {
        Some(id) => format!("id:{id}"),
        None => fallback_key(headers, &[&user_id, &text]),
    };
    // A chat user with an e-mail address is that customer everywhere.
    let customer = email
        .as_deref()
        .and_then(mailbox)
        .map_or(user_id.clone(), |(_, address)| address);
    Ok(Message {
        key,
        customer,
        payload: json!({
            "user_id": user_id, "name": name, "email": email,
            "subject": field(&value, "subject"), "text": text,
        }),
    })
}

/// A WhatsApp Business Cloud API delivery: checked against the app secret, then its messages.
fn whatsapp(
    endpoint: &ChannelEndpoint,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Vec<Message>, Refusal> {
    let Some(secret) = &endpoint.app_secret else {
        return Err(Refusal::unauthorized(
            "whatsapp: the channel has no app secret (set the variable its app_secret_env names): every delivery is refused",
        ));
    };
    let signature = header_str(headers, "x-hub-signature-256")
        .ok_or_else(|| Refusal::unauthorized("whatsapp: X-Hub-Signature-256 is missing"))?;
    let hex = signature.trim().strip_prefix("sha256=").ok_or_else(|| {
        Refusal::unauthorized("whatsapp: X-Hub-Signature-256 must read sha256=<hex>")
    })?;
    if !signature_matches(secret.expose().as_bytes(), body, hex) {
        return Err(Refusal::unauthorized(
            "whatsapp: X-Hub-Signature-256 does not match the body signed with the app secret",
        ));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Refusal::bad(format!("whatsapp: the body is not JSON: {e}")))?;
    let entries = value
        .get("entry")
        .and_then(Value::as_array)
        .ok_or_else(|| Refusal::bad("whatsapp: `entry` is missing"))?;
    let mut messages = Vec::new();
    for entry in entries {
        let changes = entry.get("changes").and_then(Value::as_array);
        for change in changes.into_iter().flatten() {
            let Some(value) = change.get("value") else {
                continue;
            };
            let names: BTreeMap<&str, &str> = value
                .get("contacts")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|c| {
                    let id = c.get("wa_id")?.as_str()?;
                    let name = c.get("profile")?.get("name")?.as_str()?;
                    Some((id, name))
                })
                .collect();
            // Status updates (sent, delivered, read) carry no messages: nothing to keep.
            let list = value.get("messages").and_then(Value::as_array);
            for message in list.into_iter().flatten() {
                let from = message.get("from").and_then(Value::as_str);
                let id = message.get("id").and_then(Value::as_str);
                let (Some(from), Some(id)) = (from, id) else {
                    return Err(Refusal::bad("whatsapp: a message without `from` or `id`"));
                };
                let kind = message
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("text");
                let text = match kind {
                    "text" => message
                        .pointer("/text/body")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    other => {
                        let caption = message
                            .get(other)
                            .and_then(|m| m.get("caption"))
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        format!("[{other}] {caption}").trim().to_owned()
                    }
                };
                let customer = format!("+{}", from.trim_start_matches('+'));
                messages.push(Message {
                    key: format!("wamid:{id}"),
                    customer,
                    payload: json!({
                        "from": from, "name": names.get(from), "type": kind, "text": text,
                        "timestamp": message.get("timestamp"),
                    }),
                });
            }
        }
    }
    Ok(messages)
}

/// Whether `hex` is the HMAC-SHA256 of `body` with `secret`, compared in constant time.
fn signature_matches(secret: &[u8], body: &[u8], hex: &str) -> bool {
    use hmac::{Hmac, KeyInit, Mac};
    let Some(expected) = decode_hex(hex.trim()) else {
        return false;
    };
    let Ok(mut mac) = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn twiml(inner: &str) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/xml")],
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response>{inner}</Response>\n"),
    )
        .into_response()
}

/// What a held call hears before it is asked again.
const HOLD_NOTICE: &str =
    "We are moving to a new system. Please hold, your call will be connected in a moment.";

/// A voice webhook: the call is kept, then forwarded to the number of the side its caller is
/// routed to, or held with a notice while a switch is under way.
async fn voice(
    gateway: &GatewayState,
    endpoint: &ChannelEndpoint,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let name = endpoint.channel.name.clone();
    let kind = endpoint.channel.kind;
    let read = async {
        let form = form_fields(headers, body.clone()).await?;
        let get = |key: &str| {
            form.fields
                .get(key)
                .filter(|v| !v.trim().is_empty())
                .cloned()
        };
        let sid = get("CallSid").ok_or_else(|| Refusal::bad("voice: `CallSid` is missing"))?;
        let from = get("From").ok_or_else(|| Refusal::bad("voice: `From` is missing"))?;
        Ok::<_, Refusal>(Message {
            key: format!("call:{sid}"),
            customer: from.clone(),
            payload: json!({ "from": from, "to": get("To"), "call_sid": sid,
                             "status": get("CallStatus") }),
        })
    };
    let message = match read.await {
        Ok(message) => message,
        Err(refusal) => return refuse(gateway, &name, kind, headers, &body, refusal).await,
    };
    let routing = match RoutingState::load(gateway.store.as_ref()).await {
        Ok(routing) => routing,
        Err(e) => {
            tracing::error!(channel = %name, error = %e, "The routing state cannot be read; the call hears the notice.");
            return hold(&name);
        }
    };
    let route = routing.route(&gateway.waves, &name, &message.customer);
    let (status, side) = match route {
        Route::Hold => (ContactStatus::Ringing, None),
        Route::To(side) => (ContactStatus::Forwarded, Some(side)),
    };
    let accepted = match keep(gateway, &name, message, status, side).await {
        Ok(accepted) => accepted,
        Err(response) => return response,
    };
    let contact = accepted.contact();
    // A call already forwarded keeps its side; a ringing one is forwarded once routed.
    let side = match (contact.status, contact.side, route) {
        (ContactStatus::Forwarded, Some(side), _) => side,
        (_, _, Route::Hold) => {
            if matches!(accepted, Accepted::New(_)) {
                gateway.metrics.held(&name);
            }
            return hold(&name);
        }
        (_, _, Route::To(side)) => {
            match gateway.store.forward_call(contact.id, side).await {
                Ok(true) => gateway.metrics.delivered(&name, side),
                Ok(false) => {}
                Err(e) => {
                    tracing::error!(channel = %name, error = %e, "A held call could not be marked forwarded.");
                }
            }
            side
        }
    };
    call_ticket(gateway, &name, contact, side).await;
    let channel = &endpoint.channel;
    let number = match side {
        Side::Old => channel.old_number.as_ref(),
        Side::New => channel.new_number.as_ref(),
    }
    .or(channel.fallback_number.as_ref());
    match number {
        Some(number) => twiml(&format!("<Dial>{}</Dial>", xml_escape(number))),
        None => twiml(&format!(
            "<Say>{}</Say><Hangup/>",
            xml_escape("Sorry, no one can take your call right now. Please try again later.")
        )),
    }
}

/// Keeps the ticket of a call forwarded to `side`: a contact of its own (`call-ticket:` and the
/// call's key), pending for the delivery worker, which opens it as a new ticket on that side. A
/// provider asking again about the same call keeps nothing more. A store that fails is logged:
/// the caller is still put through.
async fn call_ticket(gateway: &GatewayState, channel: &str, call: &Contact, side: Side) {
    let p = &call.payload;
    let field = |key: &str| p.get(key).and_then(Value::as_str).unwrap_or_default();
    let from = field("from");
    let text = format!(
        "Phone call from {from} to {} (call {}), put through to the {side} side at {}.",
        field("to"),
        field("call_sid"),
        call.received_at.format("%Y-%m-%d %H:%M:%S UTC"),
    );
    let ticket = NewContact {
        channel: channel.to_owned(),
        message_key: format!("call-ticket:{}", call.message_key),
        customer: call.customer.clone(),
        payload: json!({
            "from": from, "to": field("to"), "call_sid": field("call_sid"),
            "subject": format!("Phone call from {from}"), "text": text,
            CALL_TICKET: side.as_str(),
        }),
        status: ContactStatus::Pending,
        side: Some(side),
    };
    if let Err(e) = gateway.keeper.keep(ticket).await {
        tracing::error!(channel, contact = %call.id, error = %e, "A call's ticket could not be kept; the call is put through without one.");
    }
}

/// The TwiML of a held call: the notice, a pause, and the same webhook asked again.
fn hold(channel: &str) -> Response {
    twiml(&format!(
        "<Say>{}</Say><Pause length=\"3\"/><Redirect method=\"POST\">/gateway/{}</Redirect>",
        xml_escape(HOLD_NOTICE),
        xml_escape(channel)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailboxes_are_read_with_and_without_names() {
        assert_eq!(
            mailbox("Ana Silva <Ana@Example.com>"),
            Some((Some("Ana Silva".to_owned()), "ana@example.com".to_owned()))
        );
        assert_eq!(
            mailbox("bo@example.com"),
            Some((None, "bo@example.com".to_owned()))
        );
        assert_eq!(mailbox("not an address"), None);
        assert_eq!(mailbox("x@localhost"), None);
    }

    #[test]
    fn a_message_id_is_found_in_a_raw_header_block() {
        let headers = "Received: by x\nMessage-ID: <abc@mail.example>\nSubject: hi";
        assert_eq!(
            message_id_in(headers).as_deref(),
            Some("<abc@mail.example>")
        );
    }

    #[test]
    fn signatures_are_hex_hmac_sha256_of_the_body() {
        use hmac::{Hmac, KeyInit, Mac};
        let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(b"app-secret").unwrap();
        mac.update(b"{\"entry\":[]}");
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(signature_matches(b"app-secret", b"{\"entry\":[]}", &hex));
        assert!(!signature_matches(b"other", b"{\"entry\":[]}", &hex));
        assert!(!signature_matches(b"app-secret", b"{\"entry\":[1]}", &hex));
        assert!(!signature_matches(b"app-secret", b"{}", "zz"));
    }
}
