//! Fidelity of a Zendesk → Zendesk backfill, read straight from both emulators' APIs (not
//! through the connectors): comment order, visibility, HTML, authors and times; tags, custom
//! fields and ratings; attachments byte for byte; inline images re-hosted on the target.

use std::collections::BTreeMap;

use cutover_model::{PlatformId, RecordKind};
use cutover_store::Store;
use serde_json::Value;

/// Old id → new id of every link of `kind`.
pub(crate) async fn links(store: &dyn Store, kind: RecordKind) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    let mut after: Option<PlatformId> = None;
    loop {
        let page = store.links(kind, after.as_ref(), 1000).await.unwrap();
        let Some(last) = page.last() else {
            return map;
        };
        after = Some(last.link.old_id.clone());
        for stored in page {
            map.insert(
                stored.link.old_id.to_string(),
                stored.link.new_id.to_string(),
            );
        }
    }
}

/// One emulator's API, as the admin.
pub(crate) struct Api {
    pub(crate) url: String,
    client: reqwest::Client,
}

impl Api {
    pub(crate) fn new(url: &str) -> Self {
        Api {
            url: url.trim_end_matches('/').to_owned(),
            client: reqwest::Client::new(),
        }
    }

    pub(crate) async fn get(&self, path: &str) -> Value {
        let answer = self
            .client
            .get(format!("{}/api/v2/{path}", self.url))
            .basic_auth("admin@example.com/token", Some("sim-token"))
            .send()
            .await
            .unwrap();
        assert!(
            answer.status().is_success(),
            "GET {path}: {}",
            answer.status()
        );
        answer.json().await.unwrap()
    }

    /// The bytes at an attachment's address.
    pub(crate) async fn download(&self, url: &str) -> Vec<u8> {
        let answer = self.client.get(url).send().await.unwrap();
        assert!(
            answer.status().is_success(),
            "GET {url}: {}",
            answer.status()
        );
        answer.bytes().await.unwrap().to_vec()
    }

    /// Ticket field titles by id.
    async fn field_titles(&self) -> BTreeMap<String, String> {
        let fields = self.get("ticket_fields.json").await;
        fields["ticket_fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["id"].to_string(), f["title"].as_str().unwrap().to_owned()))
            .collect()
    }
}

/// A ticket's custom field values keyed by the field's title, nulls left out.
fn fields_by_title(ticket: &Value, titles: &BTreeMap<String, String>) -> BTreeMap<String, Value> {
    ticket["custom_fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| !f["value"].is_null())
        .map(|f| (titles[&f["id"].to_string()].clone(), f["value"].clone()))
        .collect()
}

fn sorted_tags(ticket: &Value) -> Vec<String> {
    let mut tags: Vec<String> = ticket["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    tags.sort();
    tags
}

/// What was checked, to prove the data exercised every case.
#[derive(Debug, Default)]
pub(crate) struct Checked {
    pub(crate) tickets: usize,
    pub(crate) comments: usize,
    pub(crate) private_comments: usize,
    pub(crate) attachments: usize,
    pub(crate) inline_images: usize,
    pub(crate) ratings: usize,
    pub(crate) custom_values: usize,
}

/// Compares every linked ticket of `old` with its copy on `new`.
pub(crate) async fn zendesk_to_zendesk(store: &dyn Store, old: &Api, new: &Api) -> Checked {
    let tickets = links(store, RecordKind::Ticket).await;
    let mut people = links(store, RecordKind::Contact).await;
    people.extend(links(store, RecordKind::Agent).await);
    let (old_titles, new_titles) = (old.field_titles().await, new.field_titles().await);
    let mut checked = Checked::default();
    for (old_id, new_id) in &tickets {
        let o = &old.get(&format!("tickets/{old_id}.json")).await["ticket"];
        let n = &new.get(&format!("tickets/{new_id}.json")).await["ticket"];
        let what = format!("ticket {old_id} → {new_id}");
        for key in [
            "subject",
            "status",
            "priority",
            "type",
            "created_at",
            "updated_at",
        ] {
            assert_eq!(o[key], n[key], "{what}: {key}");
        }
        assert_eq!(sorted_tags(o), sorted_tags(n), "{what}: tags");
        let values = fields_by_title(o, &old_titles);
        assert_eq!(
            values,
            fields_by_title(n, &new_titles),
            "{what}: custom fields"
        );
        checked.custom_values += values.len();
        // Ratings are not compared: Zendesk takes a rating only from the customer, so none can be
        // written into Zendesk (a loss `cutover inventory` names). They are counted, to know.
        let score = |t: &Value| t["satisfaction_rating"]["score"].clone();
        checked.ratings += usize::from(score(o).as_str().is_some_and(|s| s != "unoffered"));
        let path = |id: &str| format!("tickets/{id}/comments.json?include_inline_images=true");
        let oc = old.get(&path(old_id)).await["comments"]
            .as_array()
            .unwrap()
            .clone();
        let nc = new.get(&path(new_id)).await["comments"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(oc.len(), nc.len(), "{what}: comments");
        for (idx, (c, d)) in oc.iter().zip(&nc).enumerate() {
            let what = format!("{what}: comment {idx}");
            assert_eq!(c["public"], d["public"], "{what}: public");
            assert_eq!(c["created_at"], d["created_at"], "{what}: created_at");
            let author = people.get(&c["author_id"].to_string());
            assert_eq!(author, Some(&d["author_id"].to_string()), "{what}: author");
            checked.comments += 1;
            checked.private_comments += usize::from(c["public"] == Value::Bool(false));
            compare_attachments(old, new, c, d, &what, &mut checked).await;
        }
        checked.tickets += 1;
    }
    checked
}

/// Attachments byte for byte, and the body with every inline image pointing at its copy.
async fn compare_attachments(
    old: &Api,
    new: &Api,
    c: &Value,
    d: &Value,
    what: &str,
    checked: &mut Checked,
) {
    let (oa, na) = (
        c["attachments"].as_array().unwrap(),
        d["attachments"].as_array().unwrap(),
    );
    assert_eq!(oa.len(), na.len(), "{what}: attachments");
    let mut expected_html = c["html_body"].as_str().unwrap().to_owned();
    for a in oa {
        let name = a["file_name"].as_str().unwrap();
        let b = na
            .iter()
            .find(|b| b["file_name"] == a["file_name"])
            .unwrap_or_else(|| panic!("{what}: {name} missing on the target"));
        let (from, to) = (
            a["content_url"].as_str().unwrap(),
            b["content_url"].as_str().unwrap(),
        );
        let (bytes, copied) = (old.download(from).await, new.download(to).await);
        assert_eq!(
            blake3::hash(&bytes),
            blake3::hash(&copied),
            "{what}: bytes of {name}"
        );
        assert_eq!(
            a["content_type"], b["content_type"],
            "{what}: type of {name}"
        );
        checked.attachments += 1;
        if expected_html.contains(from) {
            assert!(to.starts_with(&new.url), "{what}: {name} re-hosted at {to}");
            expected_html = expected_html.replace(from, to);
            checked.inline_images += 1;
        }
    }
    let html = d["html_body"].as_str().unwrap();
    assert_eq!(html, expected_html, "{what}: html body");
    assert!(
        !html.contains(&old.url),
        "{what}: the body still points at the old side: {html}\n{}",
        c["attachments"]
    );
}
