//! The inbound gateway of `cutover serve` (issue 14, item 2) end to end with the real binary: a
//! Zendesk account backfilled into Freshdesk through a plan written by `init`, the plan's
//! channels given their gateway keys, routing written to the store as a wave switch writes it,
//! then each channel kind's provider payload posted to `/gateway/{channel}`: the contact is
//! kept before the 2xx, a provider's retry is kept once, the ticket is found on the routed side,
//! a follow-up lands on the same conversation after routing flipped back, a held contact waits
//! for the switch to end, a badly signed WhatsApp delivery is answered 401 and kept in the dead
//! letters, and, with the new platform down, a contact waits and arrives once it is back.

use std::time::Duration;

use chrono::Utc;
use cutover_model::{RecordKind, Side};
use cutover_runtime::{RoutingState, WavePhase};
use cutover_sim::{freshdesk, zendesk};
use cutover_store::{Contact, ContactId, ContactStatus, Store};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::bridge::read;

/// Zendesk (old) to Freshdesk (new).
type Bridge = crate::bridge::Bridge<zendesk::App, freshdesk::App>;

/// The secret the test harness gives `serve` (`CUTOVER_WEBHOOK_SECRET`): the plan names the same
/// variable for WhatsApp's app secret and verify token.
pub(crate) const SECRET: &str = "a-long-enough-bridge-secret";
const OLD_NUMBER: &str = "+44 20 7946 0101";
const NEW_NUMBER: &str = "+44 20 7946 0202";

/// Gives the plan's channels their gateway keys and adds a chat channel to the last wave.
pub(crate) fn gateway_plan(plan: &std::path::Path) {
    let text = std::fs::read_to_string(plan).unwrap();
    let text = text.replace(
        "name = \"whatsapp\"\nkind = \"whatsapp\"\n",
        "name = \"whatsapp\"\nkind = \"whatsapp\"\napp_secret_env = \"CUTOVER_WEBHOOK_SECRET\"\nverify_token_env = \"CUTOVER_WEBHOOK_SECRET\"\n",
    );
    let text = text.replace(
        "name = \"phone\"\nkind = \"voice\"\n",
        &format!(
            "name = \"phone\"\nkind = \"voice\"\nold_number = \"{OLD_NUMBER}\"\nnew_number = \"{NEW_NUMBER}\"\n"
        ),
    );
    let text = text.replace(
        "\n[[waves]]\nname = \"pilot\"",
        "\n[[channels]]\nname = \"chat\"\nkind = \"chat\"\n\n[[waves]]\nname = \"pilot\"",
    );
    let text = text.replace(
        "channels = [\"email\", \"web\", \"whatsapp\", \"phone\"]",
        "channels = [\"email\", \"web\", \"whatsapp\", \"phone\", \"chat\"]",
    );
    assert!(text.contains("app_secret_env") && text.contains("old_number"));
    assert!(text.contains("kind = \"chat\""), "{text}");
    std::fs::write(plan, text).unwrap();
}

/// Writes the routing as a wave switch does: the last wave ("everyone") in `phase`.
async fn route(store: &dyn Store, phase: WavePhase) {
    let state = RoutingState::load(store)
        .await
        .unwrap()
        .with_phase("everyone", phase, Utc::now());
    let mut tx = store.begin().await.unwrap();
    state.save_in(tx.as_mut()).await.unwrap();
    tx.commit().await.unwrap();
}

async fn open_store(mv: &Bridge) -> std::sync::Arc<dyn Store> {
    cutover_store::open(&mv.store.parse().unwrap())
        .await
        .unwrap()
}

pub(crate) fn sign(body: &[u8], secret: &str) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

/// A SendGrid inbound-parse body: multipart fields and one file.
pub(crate) fn inbound_parse(
    from: &str,
    subject: &str,
    text: &str,
    message_id: &str,
) -> (String, Vec<u8>) {
    let boundary = "xYzZY-gateway-test";
    let mut body = String::new();
    let headers = format!("Message-ID: {message_id}\nSubject: {subject}");
    for (name, value) in [
        ("from", from),
        ("to", "support@acme.example"),
        ("subject", subject),
        ("text", text),
        ("html", &format!("<p>{text}</p>")),
        ("headers", &headers),
        ("attachments", "1"),
    ] {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"attachment1\"; filename=\"invoice.txt\"\r\nContent-Type: text/plain\r\n\r\nline one\r\n--{boundary}--\r\n"
    ));
    (
        format!("multipart/form-data; boundary={boundary}"),
        body.into_bytes(),
    )
}

pub(crate) fn whatsapp_body(from: &str, id: &str, text: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [{ "id": "102290129340398", "changes": [{ "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": { "display_phone_number": "15550783881", "phone_number_id": "106540352242922" },
            "contacts": [{ "profile": { "name": "Kerry Fisher" }, "wa_id": from }],
            "messages": [{ "from": from, "id": id, "timestamp": "1749416383", "type": "text",
                           "text": { "body": text } }]
        }}]}]
    }))
    .unwrap()
}

/// Posts to the gateway; answers status and body.
pub(crate) async fn post(
    base: &str,
    channel: &str,
    content_type: &str,
    body: Vec<u8>,
    extra: &[(&str, String)],
) -> (StatusCode, String) {
    let mut request = reqwest::Client::new()
        .post(format!("{base}/gateway/{channel}"))
        .header("content-type", content_type)
        .body(body);
    for (name, value) in extra {
        request = request.header(*name, value);
    }
    let answer = request.send().await.unwrap();
    let status = answer.status();
    (status, answer.text().await.unwrap())
}

/// The contact ids a 202 names.
pub(crate) fn contact_ids(answer: &str) -> Vec<(ContactId, bool)> {
    let value: Value = serde_json::from_str(answer).unwrap_or_else(|e| panic!("{e}: {answer}"));
    value["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                ContactId(c["contact"].as_i64().unwrap()),
                c["repeat"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// Waits until the contact is delivered (or `limit` passes: the test fails with the log).
async fn delivered(store: &dyn Store, id: ContactId, log: &std::path::Path) -> Contact {
    let start = std::time::Instant::now();
    loop {
        let contact = store.contact(id).await.unwrap().unwrap();
        if contact.status == ContactStatus::Delivered {
            return contact;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "contact {id} not delivered: {contact:?}\n--- serve's log\n{}",
            read(log)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A Freshdesk ticket's tags and its conversations' bodies.
async fn freshdesk_ticket(url: &str, id: &str) -> (Vec<String>, Vec<String>) {
    let get = |path: String| <freshdesk::App as crate::bridge::Platform>::get(url, &path);
    let ticket: Value = get(format!("tickets/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tags = ticket["tags"]
        .as_array()
        .map(|t| {
            t.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let notes: Value = get(format!("tickets/{id}/conversations"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bodies = notes
        .as_array()
        .map(|n| {
            n.iter()
                .filter_map(|c| c["body_text"].as_str().or(c["body"].as_str()))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    (tags, bodies)
}

/// A Freshdesk ticket's attachments: name and the bytes its URL serves.
async fn freshdesk_files(url: &str, id: &str) -> Vec<(String, Vec<u8>)> {
    let ticket: Value =
        <freshdesk::App as crate::bridge::Platform>::get(url, &format!("tickets/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let mut files = Vec::new();
    for file in ticket["attachments"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let bytes = reqwest::get(file["attachment_url"].as_str().unwrap())
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        files.push((file["name"].as_str().unwrap().to_owned(), bytes.to_vec()));
    }
    files
}

/// A Freshdesk ticket's subject and tags.
async fn freshdesk_subject(url: &str, id: &str) -> (String, Vec<String>) {
    let ticket: Value =
        <freshdesk::App as crate::bridge::Platform>::get(url, &format!("tickets/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let tags = ticket["tags"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t.as_str().map(str::to_owned))
        .collect();
    (ticket["subject"].as_str().unwrap().to_owned(), tags)
}

/// The one ticket contact the gateway kept for call `sid`, once delivered.
async fn call_ticket(store: &dyn Store, sid: &str, log: &std::path::Path) -> Contact {
    let key = format!("call-ticket:call:{sid}");
    let all = store.contacts(None, 1000).await.unwrap();
    let tickets: Vec<&Contact> = all.iter().filter(|c| c.message_key == key).collect();
    assert_eq!(tickets.len(), 1, "{all:#?}");
    delivered(store, tickets[0].id, log).await
}

async fn zendesk_comments(url: &str, id: &str) -> Vec<String> {
    let comments: Value =
        <zendesk::App as crate::bridge::Platform>::get(url, &format!("tickets/{id}/comments.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    comments["comments"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["body"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gateway_takes_every_channel_kind_and_keeps_conversations_whole() {
    let mv = Bridge::backfilled_with(false, 3).await;
    gateway_plan(&mv.dir.path().join("cutover.toml"));
    mv.expect(0, &["plan", "check"]).await;
    let store = open_store(&mv).await;
    route(store.as_ref(), WavePhase::New).await;
    let served = mv.serve(0).await;
    let base = served.url.clone();
    let log = served.log.clone();
    let new_url = mv.new.url().to_owned();

    // E-mail: SendGrid's inbound parse; the provider's retry is kept once.
    let (ct, body) = inbound_parse(
        "Ana Lima <Ana.Lima@example.com>",
        "My order never came",
        "Order 1234 is late.",
        "<order-1234@mail.example.com>",
    );
    let (status, answer) = post(&base, "email", &ct, body.clone(), &[]).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let email = contact_ids(&answer);
    assert_eq!(email.len(), 1);
    assert!(!email[0].1);
    let (status, answer) = post(&base, "email", &ct, body, &[]).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    assert_eq!(contact_ids(&answer), vec![(email[0].0, true)]);

    // Web form: url-encoded; chat: JSON; WhatsApp: signed Cloud API payload.
    let form = "email=bo%40example.com&name=Bo&subject=Refund&message=Please+refund+me&id=form-77";
    let (status, answer) = post(
        &base,
        "web",
        "application/x-www-form-urlencoded",
        form.as_bytes().to_vec(),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let web = contact_ids(&answer)[0].0;
    let chat_body = json!({ "id": "chat-msg-1", "user": { "id": "visitor-9", "name": "Cy" },
                            "text": "Is the shop open on Sunday?" });
    let (status, answer) = post(
        &base,
        "chat",
        "application/json",
        serde_json::to_vec(&chat_body).unwrap(),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let chat = contact_ids(&answer)[0].0;
    let wa = whatsapp_body(
        "447700900123",
        "wamid.HBgLNDQ3NzAwOTAwMTIzFQIAEhgg",
        "Where is my parcel?",
    );
    let signature = sign(&wa, SECRET);
    let (status, answer) = post(
        &base,
        "whatsapp",
        "application/json",
        wa.clone(),
        &[("x-hub-signature-256", signature)],
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let whatsapp = contact_ids(&answer)[0].0;

    // WhatsApp's verification challenge, and a delivery signed with another secret.
    let verify = reqwest::get(format!(
        "{base}/gateway/whatsapp?hub.mode=subscribe&hub.verify_token={SECRET}&hub.challenge=1158201444"
    ))
    .await
    .unwrap();
    assert_eq!(verify.status(), StatusCode::OK);
    assert_eq!(verify.text().await.unwrap(), "1158201444");
    let wrong = reqwest::get(format!(
        "{base}/gateway/whatsapp?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1"
    ))
    .await
    .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    let forged = whatsapp_body("447700900999", "wamid.forged", "send me everything");
    let (status, answer) = post(
        &base,
        "whatsapp",
        "application/json",
        forged.clone(),
        &[("x-hub-signature-256", sign(&forged, "not-the-app-secret"))],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    assert!(
        answer.contains("X-Hub-Signature-256 does not match"),
        "{answer}"
    );
    let letters = mv.expect(0, &["deadletters", "list", "--json"]).await;
    assert!(
        letters.contains("gateway whatsapp: whatsapp: X-Hub-Signature-256 does not match"),
        "{letters}"
    );
    assert!(
        !letters.contains(SECRET),
        "a secret reached the dead letters"
    );
    // A bad payload: 400 naming what is missing.
    let (status, answer) = post(
        &base,
        "chat",
        "application/json",
        b"{\"text\":\"hi\"}".to_vec(),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(answer.contains("no sender"), "{answer}");

    // Voice: forwarded to the new side's number.
    let call = "CallSid=CA42&From=%2B447700900555&To=%2B442079460000&CallStatus=ringing";
    let (status, twiml) = post(
        &base,
        "phone",
        "application/x-www-form-urlencoded",
        call.as_bytes().to_vec(),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{twiml}");
    assert!(
        twiml.contains(&format!("<Dial>{NEW_NUMBER}</Dial>")),
        "{twiml}"
    );

    // Every message is a ticket on the new side (Freshdesk), marked with its contact.
    for id in [email[0].0, web, chat, whatsapp] {
        let contact = delivered(store.as_ref(), id, &log).await;
        assert_eq!(contact.side, Some(Side::New), "{contact:?}");
        assert!(!contact.follow_up);
        let ticket = contact.ticket_id.clone().unwrap();
        let (tags, _) = freshdesk_ticket(&new_url, ticket.as_str()).await;
        assert!(
            tags.contains(&format!("cutover-contact-{}", id.0)),
            "{tags:?}"
        );
    }
    let first = store.contact(email[0].0).await.unwrap().unwrap();
    let ticket = first.ticket_id.clone().unwrap();
    // The e-mail's attachment reached the ticket with its bytes.
    let files = freshdesk_files(&new_url, ticket.as_str()).await;
    assert_eq!(
        files,
        vec![("invoice.txt".to_owned(), b"line one".to_vec())]
    );
    // The call put through opened a call ticket on the side it went to; the provider asking
    // again about the same call opens no second one.
    let (status, _) = post(
        &base,
        "phone",
        "application/x-www-form-urlencoded",
        call.as_bytes().to_vec(),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let called = call_ticket(store.as_ref(), "CA42", &log).await;
    assert_eq!(called.side, Some(Side::New), "{called:?}");
    let (subject, tags) =
        freshdesk_subject(&new_url, called.ticket_id.as_ref().unwrap().as_str()).await;
    assert_eq!(subject, "Phone call from +447700900555");
    assert!(
        tags.contains(&format!("cutover-contact-{}", called.id.0)),
        "{tags:?}"
    );

    // Routing flips back to the old side: Ana's next e-mail follows up on her conversation,
    // on the bridged copy of her ticket once the bridge made one, else where it is.
    route(store.as_ref(), WavePhase::Old).await;
    let (ct, body) = inbound_parse(
        "ana.lima@example.com",
        "Re: My order never came",
        "Any news on order 1234?",
        "<order-1234-2@mail.example.com>",
    );
    let (status, answer) = post(&base, "email", &ct, body, &[]).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let follow = delivered(store.as_ref(), contact_ids(&answer)[0].0, &log).await;
    assert!(follow.follow_up, "{follow:?}");
    let landed = follow.ticket_id.clone().unwrap();
    match follow.side {
        Some(Side::New) => {
            assert_eq!(landed, ticket);
            let (_, notes) = freshdesk_ticket(&new_url, landed.as_str()).await;
            assert!(
                notes.iter().any(|n| n.contains("Any news on order 1234?")),
                "{notes:?}"
            );
        }
        Some(Side::Old) => {
            let link = store
                .find_link(RecordKind::Ticket, Side::New, &ticket)
                .await
                .unwrap()
                .expect("a follow-up on the old side goes to the bridged copy");
            assert_eq!(link.link.old_id, landed);
            let comments = zendesk_comments(mv.old.url(), landed.as_str()).await;
            assert!(
                comments
                    .iter()
                    .any(|c| c.contains("Any news on order 1234?")),
                "{comments:?}"
            );
        }
        None => panic!("{follow:?}"),
    }
    let conversation = store
        .conversation("email", "ana.lima@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (conversation.side, &conversation.ticket_id),
        (Side::New, &ticket)
    );

    // A switch under way holds contacts and calls; they go once it ends.
    route(store.as_ref(), WavePhase::Holding).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let held_body = json!({ "id": "chat-msg-2", "user_id": "visitor-10", "text": "Hello?" });
    let (status, answer) = post(
        &base,
        "chat",
        "application/json",
        serde_json::to_vec(&held_body).unwrap(),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let held = contact_ids(&answer)[0].0;
    let call = "CallSid=CA43&From=%2B447700900556&To=%2B442079460000";
    let (_, twiml) = post(
        &base,
        "phone",
        "application/x-www-form-urlencoded",
        call.as_bytes().to_vec(),
        &[],
    )
    .await;
    assert!(
        twiml.contains("<Say>") && twiml.contains("<Redirect"),
        "{twiml}"
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    let waiting = store.contact(held).await.unwrap().unwrap();
    assert_eq!(waiting.status, ContactStatus::Pending, "{waiting:?}");
    assert_eq!(
        waiting.last_error.as_deref(),
        Some(cutover_runtime::gateway::HELD)
    );
    route(store.as_ref(), WavePhase::New).await;
    let released = delivered(store.as_ref(), held, &log).await;
    assert_eq!(released.side, Some(Side::New));
    let (_, twiml) = post(
        &base,
        "phone",
        "application/x-www-form-urlencoded",
        call.as_bytes().to_vec(),
        &[],
    )
    .await;
    assert!(
        twiml.contains(&format!("<Dial>{NEW_NUMBER}</Dial>")),
        "{twiml}"
    );

    // The held call got its ticket once put through, on the side it went to.
    let held_call = call_ticket(store.as_ref(), "CA43", &log).await;
    assert_eq!(held_call.side, Some(Side::New), "{held_call:?}");

    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "cutover_gateway_contacts_total{channel=\"email\",side=\"none\",outcome=\"accepted\"} 2",
        "cutover_gateway_contacts_total{channel=\"email\",side=\"new\",outcome=\"delivered\"} ",
        "cutover_gateway_contacts_total{channel=\"chat\",side=\"none\",outcome=\"held\"} 1",
        "cutover_gateway_contacts_total{channel=\"phone\",side=\"new\",outcome=\"delivered\"} 2",
    ] {
        assert!(metrics.contains(line), "{line} not in\n{metrics}");
    }
    // Where the kept contacts' time went: a sample per contact, for each step.
    for step in ["queue", "write", "wake"] {
        let count = format!("cutover_gateway_keep_seconds_count{{step=\"{step}\"}} ");
        let samples: u64 = metrics
            .lines()
            .find_map(|l| l.strip_prefix(&count))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("{count} not in\n{metrics}"));
        assert!(samples >= 2, "{count}{samples}\n{metrics}");
        let p99 = format!("cutover_gateway_keep_seconds{{step=\"{step}\",quantile=\"0.99\"}} ");
        assert!(metrics.contains(&p99), "{p99} not in\n{metrics}");
    }
    assert!(
        metrics.contains("cutover_gateway_keep_batch_contacts{quantile=\"0.5\"} "),
        "{metrics}"
    );
    assert!(!read(&log).contains(SECRET), "a secret reached the log");
    served.terminate().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gateway_contacts_wait_for_a_platform_that_is_down_on_postgres() {
    let mv = Bridge::backfilled_with(true, 2).await;
    gateway_plan(&mv.dir.path().join("cutover.toml"));
    let store = open_store(&mv).await;
    route(store.as_ref(), WavePhase::New).await;
    let served = mv.serve(0).await;
    let down = json!({"error_rate": 1.0, "error_burst": 1_000_000});
    let faults = reqwest::Client::new()
        .put(format!("{}/_sim/faults", mv.new.url()))
        .json(&down)
        .send()
        .await
        .unwrap();
    assert!(faults.status().is_success());

    let body = json!({ "email": "dee@example.com", "subject": "Broken", "message": "It broke." });
    let (status, answer) = post(
        &served.url,
        "web",
        "application/json",
        serde_json::to_vec(&body).unwrap(),
        &[("idempotency-key", "form-submission-5".to_owned())],
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let id = contact_ids(&answer)[0].0;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let waiting = store.contact(id).await.unwrap().unwrap();
    assert_eq!(waiting.status, ContactStatus::Pending, "{waiting:?}");
    assert!(waiting.last_error.is_some(), "{waiting:?}");

    let cleared = reqwest::Client::new()
        .delete(format!("{}/_sim/faults", mv.new.url()))
        .send()
        .await
        .unwrap();
    assert!(cleared.status().is_success());
    let contact = delivered(store.as_ref(), id, &served.log).await;
    assert_eq!(contact.side, Some(Side::New));
    // Exactly one ticket carries the contact's mark.
    let mark = format!("cutover-contact-{}", id.0);
    let tickets: Value = <freshdesk::App as crate::bridge::Platform>::get(
        mv.new.url(),
        "tickets?updated_since=2000-01-01T00:00:00Z&per_page=100",
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let marked = tickets
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| {
            t["tags"]
                .as_array()
                .is_some_and(|tags| tags.contains(&json!(mark)))
        })
        .count();
    assert_eq!(marked, 1, "{tickets}");
    served.terminate().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gateway_writes_once_when_the_platform_loses_its_answers() {
    let mv = Bridge::backfilled_with(false, 2).await;
    gateway_plan(&mv.dir.path().join("cutover.toml"));
    let store = open_store(&mv).await;
    route(store.as_ref(), WavePhase::New).await;
    let served = mv.serve(0).await;
    // Every ticket write on the new side is stored, and its answer lost.
    let lossy = json!({"lost_answer_rate": 1.0, "paths": ["/api/v2/tickets"]});
    let faults = reqwest::Client::new()
        .put(format!("{}/_sim/faults", mv.new.url()))
        .json(&lossy)
        .send()
        .await
        .unwrap();
    assert!(faults.status().is_success());

    let mut delivered_ids = Vec::new();
    for (id, text) in [("f1", "My tap leaks."), ("f2", "It still leaks, any news?")] {
        let body = json!({ "id": id, "email": "fay@example.com", "message": text });
        let (status, answer) = post(
            &served.url,
            "web",
            "application/json",
            serde_json::to_vec(&body).unwrap(),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
        let contact = delivered(store.as_ref(), contact_ids(&answer)[0].0, &served.log).await;
        assert!(
            contact.attempts >= 2,
            "the first answer was lost: {contact:?}"
        );
        delivered_ids.push(contact);
    }
    let (opened, follow) = (&delivered_ids[0], &delivered_ids[1]);
    assert!(follow.follow_up);
    assert_eq!(follow.ticket_id, opened.ticket_id);
    let ticket = opened.ticket_id.clone().unwrap();
    let (_, notes) = freshdesk_ticket(mv.new.url(), ticket.as_str()).await;
    let follow_ups = notes
        .iter()
        .filter(|n| n.contains("It still leaks, any news?"))
        .count();
    assert_eq!(follow_ups, 1, "{notes:?}");
    let tickets: Value = <freshdesk::App as crate::bridge::Platform>::get(
        mv.new.url(),
        "tickets?updated_since=2000-01-01T00:00:00Z&per_page=100",
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let mark = format!("cutover-contact-{}", opened.id.0);
    let marked = tickets
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| {
            t["tags"]
                .as_array()
                .is_some_and(|tags| tags.contains(&json!(mark)))
        })
        .count();
    assert_eq!(marked, 1, "{tickets}");
    let _ = reqwest::Client::new()
        .delete(format!("{}/_sim/faults", mv.new.url()))
        .send()
        .await;
    served.terminate().await;
}
