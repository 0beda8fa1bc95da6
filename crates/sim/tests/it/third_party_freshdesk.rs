//! A widely used third-party client, python-freshdesk 1.3.9 (PyPI `python-freshdesk`), run
//! unchanged against the Freshdesk emulator over HTTPS by `tests/python/freshdesk_client_check.py`.
//! Every call's result is compared with what the emulator holds, read back over HTTP: the reads
//! with a snapshot taken before the script starts, the writes with the state after it ends.
//!
//! The test needs `python3` with its `venv` module; it installs the client into a virtual
//! environment under the cargo target directory once (PyPI must be reachable then) and reuses it.
//! Not covered, because the emulator does not serve them: time entries and solutions.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use cutover_sim::freshdesk::FreshdeskSim;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::freshdesk_harness::{Fd, START, fd_opts, key_auth};

/// The client under test, as pip installs it.
const CLIENT: &str = "python-freshdesk==1.3.9";
/// The host name the client is given (it refuses domains without `freshdesk.com`).
const HOST: &str = "acme.freshdesk.com";
/// What to install when Python is missing.
const INSTALL_HINT: &str =
    "install Python 3 with its venv module (Debian/Ubuntu: `apt-get install python3 python3-venv`)";

fn run(command: &mut Command, what: &str) -> Output {
    match command.output() {
        Ok(out) => out,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            panic!("{what}: {e}; python3 is needed for this test: {INSTALL_HINT}")
        }
        Err(e) => panic!("{what}: {e}"),
    }
}

fn check(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The virtual environment's interpreter with the client installed: made once under the target
/// directory, reused later. A lock file keeps concurrent test runs from building it twice, and a
/// marker written last says that it is complete.
fn client_python() -> PathBuf {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let venv = root.join("pyenv-freshdesk");
    let python = venv.join("bin").join("python");
    let marker = venv.join("cutover-ready");
    std::fs::create_dir_all(root).unwrap();
    let lock = File::create(root.join("pyenv-freshdesk.lock")).unwrap();
    lock.lock().unwrap();
    let ready = std::fs::read_to_string(&marker).is_ok_and(|m| m.trim() == CLIENT)
        && Command::new(&python)
            .args(["-c", "import freshdesk.api"])
            .output()
            .is_ok_and(|o| o.status.success());
    if ready {
        return python;
    }
    let version = run(
        Command::new("python3").arg("--version"),
        "run `python3 --version`",
    );
    check(&version, "`python3 --version`");
    match std::fs::remove_dir_all(&venv) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => panic!("remove the incomplete {}: {e}", venv.display()),
    }
    let made = run(
        Command::new("python3").arg("-m").arg("venv").arg(&venv),
        "run `python3 -m venv`",
    );
    assert!(
        made.status.success(),
        "`python3 -m venv {}` failed; {INSTALL_HINT}:\n{}",
        venv.display(),
        String::from_utf8_lossy(&made.stderr)
    );
    let pip = run(
        Command::new(&python).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            CLIENT,
        ]),
        "run pip",
    );
    check(
        &pip,
        &format!("`pip install {CLIENT}` (PyPI must be reachable)"),
    );
    std::fs::write(&marker, CLIENT).unwrap();
    python
    // The lock is released when `lock` is dropped.
}

/// Every item of a paginated list, `per_page` at a time.
async fn pages(fd: &Fd, path: &str, per_page: usize) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut out = Vec::new();
    for page in 1.. {
        let a = fd
            .get(&format!("{path}{sep}page={page}&per_page={per_page}"))
            .await;
        assert_eq!(a.status, StatusCode::OK, "{path}: {}", a.text);
        let items = a.body.as_array().cloned().unwrap_or_default();
        let n = items.len();
        out.extend(items);
        if n < per_page {
            break;
        }
    }
    out
}

async fn one(fd: &Fd, path: &str) -> Value {
    let a = fd.get(path).await;
    assert_eq!(a.status, StatusCode::OK, "{path}: {}", a.text);
    a.body
}

/// The script's lines by call name.
struct Calls {
    lines: BTreeMap<String, Value>,
    stderr: String,
}

impl Calls {
    fn line(&self, call: &str) -> &Value {
        self.lines.get(call).unwrap_or_else(|| {
            panic!(
                "the script printed no line for {call}; its stderr:\n{}",
                self.stderr
            )
        })
    }

    /// The value of a call that must have succeeded.
    fn ok(&self, call: &str) -> &Value {
        let line = self.line(call);
        assert_eq!(
            line["ok"], true,
            "{call} failed in the client: {line}\n{}",
            self.stderr
        );
        &line["value"]
    }

    /// The exception class of a call that must have failed.
    fn error(&self, call: &str) -> &str {
        let line = self.line(call);
        assert_eq!(line["ok"], false, "{call} should have failed: {line}");
        line["error"].as_str().unwrap_or_default()
    }
}

/// What the client holds without the names it derives (`client_*`): the answer as received.
fn as_received(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !k.starts_with("client_"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(as_received).collect()),
        other => other.clone(),
    }
}

fn ids(items: &Value) -> Vec<u64> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().or_else(|| v["id"].as_u64()).unwrap())
        .collect()
}

fn values_ids(items: &[Value]) -> Vec<u64> {
    items.iter().map(|v| v["id"].as_u64().unwrap()).collect()
}

#[tokio::test]
async fn python_freshdesk_works_unchanged_against_the_emulator() {
    let python = tokio::task::spawn_blocking(client_python).await.unwrap();

    cutover_sim::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    let mut opts = fd_opts();
    opts.tls_cert_out = Some(ca.clone());
    let auth = key_auth(&opts.api_key);
    let key = opts.api_key.clone();
    let handle = FreshdeskSim::spawn(opts, "127.0.0.1:0").await.unwrap();
    assert!(handle.url().starts_with("https://"), "{}", handle.url());
    let pem = std::fs::read(&ca).unwrap();
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        .build()
        .unwrap();
    let fd = Fd {
        handle,
        client,
        auth,
    };

    // What the reads must return, before the script changes anything.
    let me = one(&fd, "/api/v2/agents/me").await;
    let all_tickets = pages(
        &fd,
        "/api/v2/tickets?updated_since=2000-01-01T00:00:00Z",
        100,
    )
    .await;
    let mut updated: Vec<&str> = all_tickets
        .iter()
        .map(|t| t["updated_at"].as_str().unwrap())
        .collect();
    updated.sort_unstable();
    let since = updated[updated.len() * 2 / 3].to_owned();
    let open_mine = pages(&fd, "/api/v2/tickets?filter=new_and_my_open", 100).await;
    let since_tickets = pages(&fd, &format!("/api/v2/tickets?updated_since={since}"), 10).await;
    assert!(
        since_tickets.len() > 10 && since_tickets.len() < all_tickets.len(),
        "updated_since {since} should pick more than a page and not all: {} of {}",
        since_tickets.len(),
        all_tickets.len()
    );
    let seeded = all_tickets
        .iter()
        .find(|t| t["company_id"].is_u64())
        .expect("a seeded ticket with a company");
    let ticket_id = seeded["id"].as_u64().unwrap();
    let company_id = seeded["company_id"].as_u64().unwrap();
    let ticket = one(&fd, &format!("/api/v2/tickets/{ticket_id}")).await;
    let ticket_include = one(
        &fd,
        &format!("/api/v2/tickets/{ticket_id}?include=stats,requester,company"),
    )
    .await;
    let contacts = pages(&fd, "/api/v2/contacts", 10).await;
    assert!(
        contacts.len() > 10,
        "contacts span pages: {}",
        contacts.len()
    );
    let contact = contacts
        .iter()
        .find(|c| c["email"].is_string())
        .expect("a contact with an e-mail");
    let contact_id = contact["id"].as_u64().unwrap();
    let contact_email = contact["email"].as_str().unwrap().to_owned();
    let contacts_email = pages(&fd, &format!("/api/v2/contacts?email={contact_email}"), 100).await;
    assert_eq!(values_ids(&contacts_email), vec![contact_id]);
    let contact_one = one(&fd, &format!("/api/v2/contacts/{contact_id}")).await;
    let companies = pages(&fd, "/api/v2/companies", 100).await;
    let company = one(&fd, &format!("/api/v2/companies/{company_id}")).await;
    let agents = pages(&fd, "/api/v2/agents", 100).await;
    let agent_id = agents.last().unwrap()["id"].as_u64().unwrap();
    let agent = one(&fd, &format!("/api/v2/agents/{agent_id}")).await;
    let groups = pages(&fd, "/api/v2/groups", 100).await;
    let group_id = groups[0]["id"].as_u64().unwrap();
    let group = one(&fd, &format!("/api/v2/groups/{group_id}")).await;
    let roles = one(&fd, "/api/v2/roles").await;
    let role_id = roles[roles.as_array().unwrap().len() - 1]["id"]
        .as_u64()
        .unwrap();
    let role = one(&fd, &format!("/api/v2/roles/{role_id}")).await;
    let ticket_fields = one(&fd, "/api/v2/ticket_fields").await;

    // The client, unchanged, in its own process.
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/freshdesk_client_check.py");
    let mut command = Command::new(&python);
    command
        .arg(&script)
        .args(["--domain", &format!("{HOST}:{}", fd.handle.addr().port())])
        .args(["--connect", &fd.handle.addr().ip().to_string()])
        .args(["--api-key", &key])
        .args(["--ticket-id", &ticket_id.to_string()])
        .args(["--contact-id", &contact_id.to_string()])
        .args(["--contact-email", &contact_email])
        .args(["--company-id", &company_id.to_string()])
        .args(["--agent-id", &agent_id.to_string()])
        .args(["--group-id", &group_id.to_string()])
        .args(["--role-id", &role_id.to_string()])
        .args(["--since", &since])
        .args(["--contacts-since", START])
        .env("REQUESTS_CA_BUNDLE", &ca)
        .env("NO_PROXY", "*")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    for proxy in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"] {
        command.env_remove(proxy).env_remove(proxy.to_lowercase());
    }
    let out = tokio::task::spawn_blocking(move || run(&mut command, "run the client script"))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "the script failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let lines: BTreeMap<String, Value> = stdout
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}\n{stderr}"));
            (v["call"].as_str().unwrap().to_owned(), v)
        })
        .collect();
    assert_eq!(lines.len(), 58, "one line per call: {stdout}");
    let calls = Calls { lines, stderr };

    // Reads: the client holds exactly what the emulator answered.
    assert_eq!(calls.ok("agents.me"), &me);
    assert_eq!(as_received(calls.ok("tickets.list")), json!(open_mine));
    assert_eq!(
        as_received(calls.ok("tickets.list_since")),
        json!(since_tickets)
    );
    assert_eq!(calls.ok("tickets.list_watching"), &json!([]));
    assert_eq!(as_received(calls.ok("tickets.get")), ticket);
    assert_eq!(as_received(calls.ok("tickets.get_include")), ticket_include);
    assert!(ticket_include["stats"].is_object() && ticket_include["requester"].is_object());
    let got = calls.ok("tickets.get");
    // The library names the four built-in statuses and a custom one (a realistic account's
    // "Waiting on Customer", 6 and up) as `status_N`.
    let status = ticket["status"].to_string();
    let status_names = json!({"2": "open", "3": "pending", "4": "resolved", "5": "closed"});
    let expected = match &status_names[&status] {
        Value::Null => json!(format!("status_{status}")),
        name => name.clone(),
    };
    assert_eq!(got["client_status"], expected);
    assert_eq!(calls.error("tickets.get_missing"), "FreshdeskNotFound");
    assert_eq!(calls.ok("contacts.list"), &json!(contacts));
    assert_eq!(calls.ok("contacts.list_email"), &json!(contacts_email));
    assert_eq!(calls.ok("contacts.get"), &contact_one);
    assert_eq!(calls.ok("companies.list"), &json!(companies));
    assert_eq!(calls.ok("companies.get"), &company);
    assert_eq!(calls.ok("agents.list"), &json!(agents));
    assert_eq!(calls.ok("agents.get"), &agent);
    assert_eq!(calls.ok("groups.list"), &json!(groups));
    assert_eq!(calls.ok("groups.get"), &group);
    assert_eq!(calls.ok("roles.list"), &roles);
    assert_eq!(calls.ok("roles.get"), &role);
    assert_eq!(calls.ok("ticket_fields.list"), &ticket_fields);

    // Tickets written by the client, as the emulator holds them now.
    let created = calls.ok("tickets.create");
    let new_id = created["id"].as_u64().unwrap();
    assert_eq!(created["subject"], "Printer on fire (pyclient)");
    assert_eq!(
        (&created["priority"], &created["source"], &created["type"]),
        (&json!(2), &json!(2), &json!("Incident"))
    );
    assert_eq!(
        (
            &created["client_priority"],
            &created["client_source"],
            &created["client_status"]
        ),
        (&json!("medium"), &json!("portal"), &json!("open"))
    );
    assert_eq!(created["tags"], json!(["pyclient"]));
    let mut open_now = vec![new_id];
    open_now.extend(values_ids(&open_mine));
    assert_eq!(ids(calls.ok("tickets.list_after_create")), open_now);
    let requester = pages(&fd, "/api/v2/contacts?email=py.client@example.com", 100).await;
    assert_eq!(created["requester_id"], requester[0]["id"]);
    let reply = calls.ok("comments.reply");
    assert_eq!(
        (
            &reply["client_source"],
            &reply["private"],
            &reply["ticket_id"]
        ),
        (&json!("reply"), &json!(false), &json!(new_id))
    );
    let note = calls.ok("comments.note");
    assert_eq!(
        (&note["client_source"], &note["private"]),
        (&json!("note"), &json!(true))
    );
    let conversations = pages(&fd, &format!("/api/v2/tickets/{new_id}/conversations"), 100).await;
    assert_eq!(as_received(calls.ok("comments.list")), json!(conversations));
    let conversation_ids = values_ids(&conversations);
    assert!(
        conversation_ids.contains(&reply["id"].as_u64().unwrap())
            && conversation_ids.contains(&note["id"].as_u64().unwrap()),
        "{conversation_ids:?}"
    );
    let updated = calls.ok("tickets.update");
    assert_eq!(
        (
            &updated["client_status"],
            &updated["client_priority"],
            &updated["subject"]
        ),
        (
            &json!("pending"),
            &json!("urgent"),
            &json!("Printer was on fire (pyclient)")
        )
    );
    let now_held = one(&fd, &format!("/api/v2/tickets/{new_id}")).await;
    assert_eq!(as_received(calls.ok("tickets.get_created")), now_held);
    assert_eq!(
        (&now_held["status"], &now_held["priority"]),
        (&json!(3), &json!(4))
    );
    let urgent = one(&fd, "/api/v2/search/tickets?query=\"priority:4\"").await;
    assert!(
        urgent["total"].as_u64().unwrap() <= 30,
        "one page: {urgent}"
    );
    assert_eq!(ids(calls.ok("tickets.filter")), ids(&urgent["results"]));
    assert!(ids(calls.ok("tickets.filter")).contains(&new_id));
    let doomed = calls.ok("tickets.create_doomed")["id"].as_u64().unwrap();
    assert_eq!(calls.ok("tickets.delete"), &Value::Null);
    // Freshdesk still shows a deleted ticket, marked `deleted`.
    let trashed = one(&fd, &format!("/api/v2/tickets/{doomed}")).await;
    assert_eq!(trashed["deleted"], true);
    assert_eq!(as_received(calls.ok("tickets.get_deleted")), trashed);
    let deleted = pages(&fd, "/api/v2/tickets?filter=deleted", 100).await;
    assert_eq!(ids(calls.ok("tickets.list_deleted")), values_ids(&deleted));
    assert!(values_ids(&deleted).contains(&doomed));

    // Contacts and companies written by the client.
    let contact = calls.ok("contacts.create");
    let new_contact = contact["id"].as_u64().unwrap();
    assert_eq!(
        (&contact["name"], &contact["email"], &contact["job_title"]),
        (
            &json!("Py Client"),
            &json!("py.contact@example.com"),
            &json!("Tester")
        )
    );
    let changed = calls.ok("contacts.update");
    assert_eq!(
        (&changed["job_title"], &changed["phone"]),
        (&json!("Lead tester"), &json!("+1 555 0100"))
    );
    assert_eq!(calls.ok("contacts.soft_delete"), &Value::Null);
    assert_eq!(calls.ok("contacts.get_soft_deleted")["deleted"], true);
    assert_eq!(calls.ok("contacts.restore"), &Value::Null);
    let held = one(&fd, &format!("/api/v2/contacts/{new_contact}")).await;
    assert_eq!(calls.ok("contacts.get_restored"), &held);
    assert_eq!(
        (&held["deleted"], &held["job_title"], &held["description"]),
        (
            &json!(false),
            &json!("Lead tester"),
            &json!("Freshdesk Contact")
        )
    );
    let written_since = pages(
        &fd,
        &format!("/api/v2/contacts?_updated_since={START}"),
        100,
    )
    .await;
    assert_eq!(calls.ok("contacts.list_since"), &json!(written_since));
    let written = values_ids(&written_since);
    assert!(
        written.contains(&new_contact)
            && written.contains(&requester[0]["id"].as_u64().unwrap())
            && written.len() < contacts.len(),
        "contacts since {START}: {written:?}"
    );
    let gone = calls.ok("contacts.create_doomed")["id"].as_u64().unwrap();
    assert_eq!(calls.ok("contacts.hard_delete"), &Value::Null);
    assert_eq!(
        calls.error("contacts.get_hard_deleted"),
        "FreshdeskNotFound"
    );
    assert_eq!(
        fd.get(&format!("/api/v2/contacts/{gone}")).await.status,
        StatusCode::NOT_FOUND
    );
    let company = calls.ok("companies.create");
    let new_company = company["id"].as_u64().unwrap();
    assert_eq!(
        (&company["name"], &company["domains"]),
        (&json!("Py Client Ltd"), &json!(["pyclient.example"]))
    );
    let held = one(&fd, &format!("/api/v2/companies/{new_company}")).await;
    assert_eq!(calls.ok("companies.update"), &held);
    assert_eq!(held["description"], "updated by pyclient");
    let gone = calls.ok("companies.create_doomed")["id"].as_u64().unwrap();
    assert_eq!(calls.ok("companies.delete"), &Value::Null);
    assert_eq!(calls.error("companies.get_deleted"), "FreshdeskNotFound");
    assert_eq!(
        fd.get(&format!("/api/v2/companies/{gone}")).await.status,
        StatusCode::NOT_FOUND
    );

    // Time entries: the client holds what the emulator lists.
    let ticket_entries = pages(
        &fd,
        &format!("/api/v2/tickets/{ticket_id}/time_entries"),
        100,
    )
    .await;
    assert_eq!(calls.ok("time_entries.list_ticket"), &json!(ticket_entries));
    let billable = pages(&fd, "/api/v2/time_entries?billable=true", 100).await;
    assert!(!billable.is_empty(), "some seeded entries are billable");
    assert_eq!(calls.ok("time_entries.list_billable"), &json!(billable));

    // The knowledge base: written through the client, then gone with its category.
    let category = calls.ok("solutions.create_category");
    assert_eq!(category["name"], "Py Client KB");
    let category_id = category["id"].as_u64().unwrap();
    let fr = calls.ok("solutions.category_translation");
    assert_eq!(
        (&fr["id"], &fr["name"]),
        (&category["id"], &json!("Base PyClient"))
    );
    assert_eq!(
        calls.ok("solutions.get_category_translated")["name"],
        "Base PyClient"
    );
    let folder = calls.ok("solutions.create_folder");
    assert_eq!(folder["category_id"], category["id"]);
    let article = calls.ok("solutions.create_article");
    assert_eq!(
        (&article["folder_id"], &article["status"]),
        (&folder["id"], &json!(2))
    );
    assert_eq!(
        calls.ok("solutions.update_article")["title"],
        "Py Article 2"
    );
    let listed = calls.ok("solutions.list_articles");
    assert_eq!(ids(listed), vec![article["id"].as_u64().unwrap()]);
    assert_eq!(listed[0]["title"], "Py Article 2");
    assert_eq!(calls.ok("solutions.delete_category"), &Value::Null);
    assert_eq!(
        calls.error("solutions.get_deleted_article"),
        "FreshdeskNotFound"
    );
    assert_eq!(
        fd.get(&format!("/api/v2/solutions/categories/{category_id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // A wrong key is the client's own auth error, as the emulator's 401.
    assert_eq!(calls.error("auth.wrong_key"), "FreshdeskUnauthorized");
    let wrong = fd
        .client
        .get(fd.url("/api/v2/agents/me"))
        .header("Authorization", key_auth("sim-key-wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    fd.handle.shutdown().await.unwrap();
}
