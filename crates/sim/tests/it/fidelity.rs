//! Replays every recorded interaction of `shared/fixtures/zendesk-recorded/` against a fresh
//! emulator per cassette (ids of records created earlier in the cassette are mapped to the
//! emulator's), checks that every write (its recorded request body replayed) is answered with the
//! recorded status and that every answer has the recorded keys and JSON types at every path,
//! writes a coverage report to `target/tmp/sim-fidelity-zendesk.json` (Cargo's `CARGO_TARGET_TMPDIR`) (endpoints covered / recorded,
//! GETs and writes apart) and asserts floors.
//!
//! Where the real API itself answered the same endpoint in two ways (a key present in some
//! recorded answers and absent in others, such as `job_type` or `permanently_deleted`, or a
//! value of several JSON types, such as a trigger action's `value`), either way is accepted.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Sim, opts, spawn};

type Schema = BTreeMap<String, BTreeSet<&'static str>>;

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "num",
        Value::String(_) => "str",
        Value::Array(_) => "arr",
        Value::Object(_) => "obj",
    }
}

fn walk(v: &Value, path: &str, out: &mut Schema) {
    out.entry(path.to_owned()).or_default().insert(kind(v));
    // Keys of these maps are the account's own field keys: only their type is comparable.
    if ["user_fields", "organization_fields", "custom"]
        .iter()
        .any(|k| path.ends_with(&format!(".{k}")))
    {
        return;
    }
    match v {
        Value::Object(map) => map
            .iter()
            .for_each(|(k, v)| walk(v, &format!("{path}.{k}"), out)),
        Value::Array(items) => items
            .iter()
            .for_each(|v| walk(v, &format!("{path}[]"), out)),
        _ => {}
    }
}

fn parent(path: &str) -> Option<&str> {
    if let Some(p) = path.strip_suffix("[]") {
        return Some(p);
    }
    path.rfind('.').map(|i| &path[..i])
}

fn container(s: &Schema, p: &str) -> bool {
    s.get(p)
        .is_some_and(|t| t.contains("obj") || t.contains("arr"))
}

/// How the real API's answers to one endpoint varied over all recordings.
#[derive(Default)]
struct Variation {
    /// Every type seen at every path.
    types: Schema,
    /// Paths present in some answers and absent in others whose parent was there.
    optional: BTreeSet<String>,
}

fn variation(answers: &[&Value]) -> Variation {
    let schemas: Vec<Schema> = answers
        .iter()
        .map(|v| {
            let mut s = Schema::new();
            walk(v, "", &mut s);
            s
        })
        .collect();
    let mut out = Variation::default();
    for s in &schemas {
        for (path, types) in s {
            out.types
                .entry(path.clone())
                .or_default()
                .extend(types.iter().copied());
        }
    }
    for path in out.types.keys() {
        let Some(parent) = parent(path) else { continue };
        if path.ends_with("[]") {
            continue;
        }
        let absent = schemas
            .iter()
            .any(|s| container(s, parent) && !s.contains_key(path));
        if absent {
            out.optional.insert(path.clone());
        }
    }
    out
}

/// Paths where the answers differ in keys or types; only paths whose parent is a container on
/// both sides can be judged (an empty array or a null object shows nothing). What the real API
/// did both ways at this endpoint (`seen`) is accepted either way.
fn shape_diff(recorded: &Value, emulated: &Value, seen: &Variation) -> Vec<String> {
    let (mut a, mut b) = (Schema::new(), Schema::new());
    walk(recorded, "", &mut a);
    walk(emulated, "", &mut b);
    // An array's elements can be judged only when both answers have some.
    let judgeable = |p: &str| {
        parent(p).is_none_or(|q| container(&a, q) && container(&b, q))
            && (!p.ends_with("[]") || (a.contains_key(p) && b.contains_key(p)))
    };
    let mut diffs = Vec::new();
    for (path, types) in a.iter().filter(|(p, _)| judgeable(p)) {
        match b.get(path) {
            None if seen.optional.contains(path) => {}
            None => diffs.push(format!("missing {path}")),
            Some(other)
                if !types.contains("null")
                    && !other.contains("null")
                    && types.is_disjoint(other)
                    && seen
                        .types
                        .get(path)
                        .is_none_or(|all| all.is_disjoint(other)) =>
            {
                diffs.push(format!(
                    "type {path}: recorded {types:?}, emulated {other:?}"
                ));
            }
            _ => {}
        }
    }
    diffs.extend(
        b.keys()
            .filter(|p| judgeable(p) && !a.contains_key(*p) && !seen.optional.contains(*p))
            .map(|p| format!("extra {p}")),
    );
    diffs
}

fn is_id_key(key: &str) -> bool {
    key == "id" || key.ends_with("_id") || matches!(key, "token" | "after_cursor" | "before_cursor")
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

fn learn(recorded: &Value, emulated: &Value, map: &mut HashMap<String, String>) {
    match (recorded, emulated) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, va) in a {
                let Some(vb) = b.get(k) else { continue };
                if is_id_key(k)
                    && let (Some(x), Some(y)) = (scalar(va), scalar(vb))
                {
                    // The first answer that named a recorded id (usually its creation) wins:
                    // lists can pair records in another order later.
                    map.entry(x).or_insert(y);
                    continue;
                }
                learn(va, vb, map);
            }
        }
        (Value::Array(a), Value::Array(b)) => a.iter().zip(b).for_each(|(x, y)| learn(x, y, map)),
        _ => {}
    }
}

fn map_body(v: &Value, key: &str, map: &HashMap<String, String>) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), map_body(v, k, map)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| map_body(v, key, map)).collect()),
        Value::Number(n) if key == "id" || key.ends_with("_id") || key.ends_with("_ids") => map
            .get(&n.to_string())
            .and_then(|m| m.parse::<u64>().ok())
            .map_or_else(|| v.clone(), Value::from),
        Value::String(s) if key == "uploads" || key == "id" => {
            map.get(s).map_or_else(|| v.clone(), |m| json!(m))
        }
        _ => v.clone(),
    }
}

/// Maps ids in a recorded path (segments and query values) to the emulator's.
async fn map_path(
    sim: &Sim,
    recorded: &str,
    ok: bool,
    map: &mut HashMap<String, String>,
) -> String {
    let (path, query) = recorded.split_once('?').unwrap_or((recorded, ""));
    let segments: Vec<&str> = path.split('/').collect();
    let mut out = Vec::new();
    for (i, seg) in segments.iter().enumerate() {
        let (stem, ext) = seg.split_once('.').map_or((*seg, ""), |(s, e)| (s, e));
        let mapped = match map.get(stem) {
            Some(m) => m.clone(),
            None if ok && i > 3 && stem.chars().all(|c| c.is_ascii_digit()) && !stem.is_empty() => {
                let found = fallback(sim, segments[i - 1], map)
                    .await
                    .unwrap_or_else(|| stem.to_owned());
                // The same recorded id stands for the same record from now on.
                map.insert(stem.to_owned(), found.clone());
                found
            }
            None => stem.to_owned(),
        };
        out.push(if ext.is_empty() {
            mapped
        } else {
            format!("{mapped}.{ext}")
        });
    }
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        let v = if k == "ids" {
            v.split(',')
                .map(|id| map.get(id).cloned().unwrap_or_else(|| id.to_owned()))
                .collect::<Vec<_>>()
                .join(",")
        } else {
            map.get(&v).cloned().unwrap_or(v)
        };
        q.append_pair(&k, &v);
    }
    let q = q.finish();
    if q.is_empty() {
        out.join("/")
    } else {
        format!("{}?{q}", out.join("/"))
    }
}

/// An existing record of the collection, for ids the recorded account had before the cassette
/// (one no other recorded id stands for yet).
async fn fallback(sim: &Sim, collection: &str, map: &HashMap<String, String>) -> Option<String> {
    let a = sim
        .get(&format!("/api/v2/{collection}.json?per_page=100"))
        .await;
    let taken: std::collections::HashSet<&String> = map.values().collect();
    let ids: Vec<String> = a
        .body
        .get(collection)?
        .as_array()?
        .iter()
        .filter_map(|r| r.get("id").and_then(scalar))
        .collect();
    ids.iter()
        .find(|id| !taken.contains(id))
        .or(ids.first())
        .cloned()
}

#[derive(Default, serde::Serialize)]
struct Endpoint {
    interactions: usize,
    status_ok: usize,
    shape_ok: usize,
    first_problems: Vec<String>,
}

fn template(method: &str, path: &str) -> String {
    let path = path
        .split('?')
        .next()
        .unwrap_or_default()
        .trim_end_matches(".json");
    let segs: Vec<String> = path
        .split('/')
        .map(|s| {
            let looks_like_id = s.chars().any(|c| c.is_ascii_digit())
                && (s.len() > 12 || s.chars().all(|c| c.is_ascii_digit()));
            if looks_like_id {
                "{id}".to_owned()
            } else {
                s.to_owned()
            }
        })
        .collect();
    format!("{method} {}", segs.join("/"))
}

/// Replays one recorded test session (its cassettes in order) against a fresh emulator.
async fn replay(
    session: &[&Value],
    variations: &BTreeMap<String, Variation>,
    endpoints: &mut BTreeMap<String, Endpoint>,
) {
    let mut o = opts();
    o.tickets = 30;
    let sim = spawn(o).await;
    // The recorded account had a webhook before the cassettes ran.
    let hook = sim.post("/api/v2/webhooks", json!({"webhook": {"name": "existing", "description": "made before the cassette", "endpoint": "http://127.0.0.1:9/x", "http_method": "POST", "request_format": "json", "status": "active", "subscriptions": ["zen:event-type:user.deleted"]}})).await;
    let mut map: HashMap<String, String> = HashMap::new();
    map.insert(
        "01HAN96XNH1J7DY8D7RZ22QMT9".into(),
        hook.body["webhook"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    );
    let interactions = session
        .iter()
        .flat_map(|c| c["interactions"].as_array().unwrap());
    for i in interactions {
        let method = i["method"].as_str().unwrap();
        let recorded_status = i["status"].as_u64().unwrap() as u16;
        let ok = (200..300).contains(&recorded_status);
        let path = map_path(&sim, i["path"].as_str().unwrap(), ok, &mut map).await;
        let mut request = sim
            .client
            .request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                sim.url(&path),
            )
            .header("Authorization", &sim.auth);
        if path.starts_with("/api/v2/uploads") && method == "POST" {
            request = request
                .header("Content-Type", "text/markdown")
                .body(b"# README\nrecorded upload stand-in\n".to_vec());
        } else if !i["request_body"].is_null() {
            request = request.json(&map_body(&i["request_body"], "", &map));
        }
        let answer = crate::harness::answer(request.send().await.unwrap()).await;
        let key = template(method, i["path"].as_str().unwrap());
        let entry = endpoints.entry(key.clone()).or_default();
        entry.interactions += 1;
        let status_ok = answer.status.as_u16() == recorded_status;
        let diffs = if i["body"].is_object() {
            shape_diff(&i["body"], &answer.body, &variations[&key])
        } else {
            Vec::new()
        };
        if status_ok {
            entry.status_ok += 1;
        }
        if status_ok && diffs.is_empty() {
            entry.shape_ok += 1;
        } else if entry.first_problems.len() < 3 {
            let mut problem = format!(
                "{method} {path}: status {} (recorded {recorded_status})",
                answer.status.as_u16()
            );
            if !diffs.is_empty() {
                problem.push_str(&format!(
                    "; {}",
                    diffs.iter().take(6).cloned().collect::<Vec<_>>().join(", ")
                ));
            }
            if !status_ok {
                problem.push_str(&format!(
                    "; body {}",
                    answer.text.chars().take(200).collect::<String>()
                ));
            }
            entry.first_problems.push(problem);
        }
        learn(&i["body"], &answer.body, &mut map);
    }
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/zendesk-recorded")
}

/// The recorded answers' variation per endpoint, over every cassette.
fn variations(cassettes: &[Value]) -> BTreeMap<String, Variation> {
    let mut bodies: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for cassette in cassettes {
        for i in cassette["interactions"].as_array().unwrap() {
            let key = template(i["method"].as_str().unwrap(), i["path"].as_str().unwrap());
            let answers = bodies.entry(key).or_default();
            if i["body"].is_object() {
                answers.push(&i["body"]);
            }
        }
    }
    bodies
        .into_iter()
        .map(|(key, answers)| (key, variation(&answers)))
        .collect()
}

/// Endpoints whose every interaction matched, out of those `filter` keeps.
fn tally(endpoints: &BTreeMap<String, Endpoint>, filter: impl Fn(&str) -> bool) -> Value {
    let kept: Vec<(&String, &Endpoint)> = endpoints.iter().filter(|(k, _)| filter(k)).collect();
    let covered = kept.iter().filter(|(_, e)| e.shape_ok == e.interactions);
    json!({
        "endpoints_recorded": kept.len(),
        "endpoints_covered": covered.count(),
        "interactions_recorded": kept.iter().map(|(_, e)| e.interactions).sum::<usize>(),
        "interactions_status_ok": kept.iter().map(|(_, e)| e.status_ok).sum::<usize>(),
        "interactions_matched": kept.iter().map(|(_, e)| e.shape_ok).sum::<usize>(),
        "uncovered": kept
            .iter()
            .filter(|(_, e)| e.shape_ok < e.interactions)
            .map(|(k, _)| k.as_str())
            .collect::<Vec<_>>(),
    })
}

/// Cassettes grouped by the test session that recorded them (`Test.test_x-create-single` and
/// `Test.test_x-tearDown` are one session: the teardown deletes what the first one made), set
/// up first and torn down last.
fn sessions<'a>(files: &[PathBuf], cassettes: &'a [Value]) -> Vec<Vec<&'a Value>> {
    let mut by_session: BTreeMap<String, Vec<(u8, String, &Value)>> = BTreeMap::new();
    for (file, cassette) in files.iter().zip(cassettes) {
        let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
        let (session, step) = stem.split_once('-').unwrap_or((&stem, ""));
        let rank = match step {
            "setUp" => 0,
            "tearDown" => 2,
            _ => 1,
        };
        by_session
            .entry(session.to_owned())
            .or_default()
            .push((rank, step.to_owned(), cassette));
    }
    by_session
        .into_values()
        .map(|mut steps| {
            steps.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
            steps.into_iter().map(|(_, _, c)| c).collect()
        })
        .collect()
}

#[tokio::test]
async fn recorded_interactions_get_the_same_status_and_shape() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .expect("the recorded fixtures are beside the repository")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 232);
    let cassettes: Vec<Value> = files
        .iter()
        .map(|f| serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap())
        .collect();
    let variations = variations(&cassettes);
    let mut endpoints = BTreeMap::new();
    for session in sessions(&files, &cassettes) {
        replay(&session, &variations, &mut endpoints).await;
    }
    let all = tally(&endpoints, |_| true);
    let gets = tally(&endpoints, |k| k.starts_with("GET "));
    let writes = tally(&endpoints, |k| !k.starts_with("GET "));
    let report = json!({"all": all, "gets": gets, "writes": writes, "endpoints": endpoints});
    // Cargo's scratch folder for integration tests, inside whatever target folder is in use.
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sim-fidelity-zendesk.json");
    std::fs::write(&out, serde_json::to_string_pretty(&report).unwrap()).unwrap();
    let line = |t: &Value| {
        format!(
            "{}/{} endpoints covered, {}/{} interactions matched ({} with the recorded status)",
            t["endpoints_covered"],
            t["endpoints_recorded"],
            t["interactions_matched"],
            t["interactions_recorded"],
            t["interactions_status_ok"]
        )
    };
    eprintln!(
        "fidelity (zendesk), report in {}\n  GETs:   {}\n  writes: {}\n  uncovered: {}",
        out.display(),
        line(&gets),
        line(&writes),
        all["uncovered"]
    );
    let n = |t: &Value, k: &str| t[k].as_u64().unwrap();
    assert_eq!(
        n(&gets, "endpoints_covered"),
        n(&gets, "endpoints_recorded"),
        "every recorded GET endpoint answers with the recorded status and shape: {}",
        gets["uncovered"]
    );
    assert_eq!(
        n(&writes, "interactions_status_ok"),
        n(&writes, "interactions_recorded"),
        "every recorded write gets its recorded status: {}",
        writes["uncovered"]
    );
    assert_eq!(
        n(&all, "interactions_matched"),
        n(&all, "interactions_recorded"),
        "every recorded interaction, writes included, is matched: {}",
        line(&all)
    );
}
