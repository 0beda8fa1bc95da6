//! The knowledge base (`/api/v2/solutions/…`): categories, their folders, the folders'
//! articles, each with create/read/update/delete, and translations under a language code
//! (`/solutions/categories/{id}/fr`, lists as `/solutions/categories/fr`). The account's
//! primary language is English; [`LANGUAGES`] are the other portal languages it has enabled.
//! Translations live in each record's internal `_translations` map (language to the
//! translated fields and their own timestamps) and are shown merged over the record.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Extension;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{MethodRouter, get};
use serde_json::{Map, Value, json};

use super::app::App;
use super::auth::Actor;
use super::errors::{ApiError, FieldError};
use super::routes::{Res, blank, body_object, no_content, page_reply, paging, path_id, reply};
use super::store::{FreshdeskState, Rec, iso, public, str_of, u64_of};
use crate::page::QueryMap;
use crate::text::html_to_text;

/// Portal languages besides the primary one (`en`), which translations may use.
pub(crate) const LANGUAGES: [&str; 4] = ["fr", "de", "es", "nl"];

/// The three kinds of knowledge-base records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Category,
    Folder,
    Article,
}

impl Kind {
    /// The kind a record of this one lives in, and the field naming it.
    fn parent(self) -> Option<(Kind, &'static str)> {
        match self {
            Self::Category => None,
            Self::Folder => Some((Self::Category, "category_id")),
            Self::Article => Some((Self::Folder, "folder_id")),
        }
    }

    /// The kind's name in paths.
    fn plural(self) -> &'static str {
        match self {
            Self::Category => "categories",
            Self::Folder => "folders",
            Self::Article => "articles",
        }
    }

    fn map(self, st: &FreshdeskState) -> &BTreeMap<u64, Rec> {
        match self {
            Self::Category => &st.solution_categories,
            Self::Folder => &st.solution_folders,
            Self::Article => &st.solution_articles,
        }
    }

    fn map_mut(self, st: &mut FreshdeskState) -> &mut BTreeMap<u64, Rec> {
        match self {
            Self::Category => &mut st.solution_categories,
            Self::Folder => &mut st.solution_folders,
            Self::Article => &mut st.solution_articles,
        }
    }

    /// Fields a write may carry (`translation`: of a translation).
    fn fields(self, translation: bool) -> &'static [&'static str] {
        match (self, translation) {
            (Self::Category, false) => &["name", "description", "visible_in_portals"],
            (Self::Folder, false) => &["name", "description", "visibility", "company_ids"],
            (Self::Category | Self::Folder, true) => &["name", "description"],
            (Self::Article, false) => &[
                "title",
                "description",
                "status",
                "type",
                "seo_data",
                "tags",
                "agent_id",
            ],
            (Self::Article, true) => &["title", "description", "status", "seo_data", "tags"],
        }
    }

    /// Fields a create must carry.
    fn required(self, translation: bool) -> &'static [&'static str] {
        match (self, translation) {
            (Self::Category, _) | (Self::Folder, true) => &["name"],
            (Self::Folder, false) => &["name", "visibility"],
            (Self::Article, _) => &["title", "description", "status"],
        }
    }
}

/// Routes of this module.
pub(crate) fn routes(r: Router<Arc<App>>) -> Router<Arc<App>> {
    use Kind::{Article, Category, Folder};
    r.route(
        "/api/v2/solutions/categories",
        get(categories).post(create_category),
    )
    .route(
        "/api/v2/solutions/categories/{id}",
        writes(Category, get(category_or_list)),
    )
    .route(
        "/api/v2/solutions/categories/{id}/folders",
        children(Folder),
    )
    .route(
        "/api/v2/solutions/categories/{id}/folders/{lang}",
        children_in(Folder),
    )
    .route(
        "/api/v2/solutions/categories/{id}/{lang}",
        translations(Category),
    )
    .route("/api/v2/solutions/folders/{id}", record(Folder))
    .route("/api/v2/solutions/folders/{id}/articles", children(Article))
    .route(
        "/api/v2/solutions/folders/{id}/articles/{lang}",
        children_in(Article),
    )
    .route(
        "/api/v2/solutions/folders/{id}/{lang}",
        translations(Folder),
    )
    .route("/api/v2/solutions/articles/{id}", record(Article))
    .route(
        "/api/v2/solutions/articles/{id}/{lang}",
        translations(Article),
    )
}

/// `GET|PUT|DELETE …/{id}`: one record of `kind`.
fn record(kind: Kind) -> MethodRouter<Arc<App>> {
    let read = get(
        move |State(app): State<Arc<App>>, Path(id): Path<String>| async move {
            one(&app, kind, &id, None)
        },
    );
    writes(kind, read)
}

/// `read` with `PUT` and `DELETE` of one record of `kind`.
fn writes(kind: Kind, read: MethodRouter<Arc<App>>) -> MethodRouter<Arc<App>> {
    read.put(
        move |State(app): State<Arc<App>>, Path(id): Path<String>, body: Bytes| async move {
            update(&app, kind, &id, &body)
        },
    )
    .delete(
        move |State(app): State<Arc<App>>, Path(id): Path<String>| async move {
            delete(&app, kind, &id)
        },
    )
}

/// `GET|POST|PUT …/{id}/{lang}`: a record's translation, read, created or updated.
fn translations(kind: Kind) -> MethodRouter<Arc<App>> {
    get(
        move |State(app): State<Arc<App>>, Path((id, lang)): Path<(String, String)>| async move {
            one(&app, kind, &id, Some(language(&lang)?))
        },
    )
    .post(
        move |State(app): State<Arc<App>>,
              Path((id, lang)): Path<(String, String)>,
              body: Bytes| async move { translate(&app, kind, &id, &lang, &body, true) },
    )
    .put(
        move |State(app): State<Arc<App>>,
              Path((id, lang)): Path<(String, String)>,
              body: Bytes| async move { translate(&app, kind, &id, &lang, &body, false) },
    )
}

/// `GET|POST …/{parent id}/folders` (or `/articles`): the records of `kind` in one parent,
/// listed or created there.
fn children(kind: Kind) -> MethodRouter<Arc<App>> {
    get(
        move |State(app): State<Arc<App>>, Path(id): Path<String>, RawQuery(q): RawQuery| async move {
            list_in(&app, kind, &id, None, q.as_deref())
        },
    )
    .post(
        move |State(app): State<Arc<App>>,
              Extension(actor): Extension<Actor>,
              Path(id): Path<String>,
              body: Bytes| async move {
            create(&app, kind, Some(path_id(&id)?), actor.agent_id, &body)
        },
    )
}

/// `GET …/{parent id}/folders/{lang}` (or `/articles/{lang}`): those records in a language.
fn children_in(kind: Kind) -> MethodRouter<Arc<App>> {
    get(
        move |State(app): State<Arc<App>>,
              Path((id, lang)): Path<(String, String)>,
              RawQuery(q): RawQuery| async move {
            list_in(&app, kind, &id, Some(&lang), q.as_deref())
        },
    )
}

/// The records of `kind` in the parent `id` (a category's folders, a folder's articles).
fn list_in(app: &App, kind: Kind, id: &str, lang: Option<&str>, query: Option<&str>) -> Res {
    let (parent, key) = kind.parent().ok_or_else(ApiError::not_found)?;
    let id = path_id(id)?;
    let lang = lang.map(language).transpose()?;
    parent_exists(&app.read(), parent, id)?;
    let in_lang = lang.map(|l| format!("/{l}")).unwrap_or_default();
    let path = format!(
        "/api/v2/solutions/{}/{id}/{}{in_lang}",
        parent.plural(),
        kind.plural()
    );
    list_of(app, kind, Some((key, id)), lang, &path, query)
}

/// An enabled translation language, or 404 (the primary language has no translation).
fn language(raw: &str) -> Result<&'static str, ApiError> {
    LANGUAGES
        .iter()
        .find(|l| **l == raw)
        .copied()
        .ok_or_else(ApiError::not_found)
}

/// A record as shown, in `lang` when given (`None` when it has no such translation).
fn render(rec: &Rec, lang: Option<&str>) -> Option<Value> {
    let mut out = public(rec);
    if let Some(lang) = lang {
        let tr = rec
            .get("_translations")
            .and_then(|t| t.get(lang))
            .and_then(Value::as_object)?;
        out.extend(tr.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    Some(Value::Object(out))
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(_) => "Number",
        Value::String(_) => "String",
        Value::Array(_) => "Array",
        Value::Object(_) => "key/value pair",
    }
}

/// Checks a write's fields: unknown ones, missing required ones (on create), types and
/// allowed values, and that a given `agent_id` is an agent.
fn check(
    st: &FreshdeskState,
    kind: Kind,
    body: &Map<String, Value>,
    create: bool,
    translation: bool,
) -> Result<(), ApiError> {
    let allowed = kind.fields(translation);
    let mut errors: Vec<FieldError> = body
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .map(|k| FieldError::unexpected(k))
        .collect();
    if create {
        for key in kind.required(translation) {
            if !body.contains_key(*key) {
                errors.push(FieldError::new(
                    key,
                    "It should be a/an String",
                    "missing_field",
                ));
            }
        }
    }
    for (key, v) in body.iter().filter(|(k, _)| allowed.contains(&k.as_str())) {
        let problem = match key.as_str() {
            "name" | "title" if !v.is_string() => {
                Some(FieldError::mismatch(key, "String", type_name(v)))
            }
            "name" | "title" if blank(Some(v)) => {
                Some(FieldError::new(key, "It should not be blank", "blank"))
            }
            "description" if !v.is_string() && !v.is_null() => {
                Some(FieldError::mismatch(key, "String", type_name(v)))
            }
            "visibility" if !matches!(v.as_u64(), Some(1..=4)) => {
                Some(FieldError::not_one_of(key, "1,2,3,4"))
            }
            "status" if !matches!(v.as_u64(), Some(1 | 2)) => {
                Some(FieldError::not_one_of(key, "1,2"))
            }
            "type" if !matches!(v.as_u64(), Some(1 | 2)) => {
                Some(FieldError::not_one_of(key, "1,2"))
            }
            "visible_in_portals" | "company_ids"
                if !v.as_array().is_some_and(|a| a.iter().all(Value::is_u64)) =>
            {
                Some(FieldError::mismatch(key, "Array", type_name(v)))
            }
            "tags" if !v.as_array().is_some_and(|a| a.iter().all(Value::is_string)) => {
                Some(FieldError::mismatch(key, "Array", type_name(v)))
            }
            "seo_data"
                if !v.as_object().is_some_and(|o| {
                    o.iter().all(|(k, x)| {
                        matches!(
                            k.as_str(),
                            "meta_title" | "meta_description" | "meta_keywords"
                        ) && (x.is_string() || x.is_null())
                    })
                }) =>
            {
                Some(FieldError::new(
                    key,
                    "It should contain only meta_title, meta_description and meta_keywords as strings",
                    "invalid_value",
                ))
            }
            "agent_id" if !v.as_u64().is_some_and(|a| st.agents.contains_key(&a)) => {
                Some(FieldError::new(
                    key,
                    "There is no agent matching the given agent_id",
                    "invalid_value",
                ))
            }
            _ => None,
        };
        errors.extend(problem);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(errors))
    }
}

/// 409 when another record among `siblings` (not `except`) already has this name.
fn unique(
    siblings: impl Iterator<Item = (u64, String)>,
    name: Option<&str>,
    except: Option<u64>,
) -> Result<(), ApiError> {
    let Some(name) = name else { return Ok(()) };
    let clash = siblings
        .filter(|(id, _)| Some(*id) != except)
        .find(|(_, n)| n.trim().eq_ignore_ascii_case(name.trim()));
    match clash {
        Some((id, _)) => Err(ApiError::conflict(vec![FieldError::new(
            "name",
            "It should be a unique value",
            "duplicate_value",
        )])
        .with_info(json!({"id": id}))),
        None => Ok(()),
    }
}

/// Names of categories, or of the folders of one category.
fn sibling_names(st: &FreshdeskState, kind: Kind, category: Option<u64>) -> Vec<(u64, String)> {
    kind.map(st)
        .iter()
        .filter(|(_, r)| kind != Kind::Folder || u64_of(r, "category_id") == category)
        .map(|(id, r)| (*id, str_of(r, "name").unwrap_or_default().to_owned()))
        .collect()
}

/// Adds `description_text` beside an article's `description`.
fn with_text(fields: &mut Map<String, Value>, kind: Kind) {
    if kind == Kind::Article
        && let Some(d) = fields.get("description").and_then(Value::as_str)
    {
        let text = html_to_text(d);
        fields.insert("description_text".into(), json!(text));
    }
}

/// A list of records (all, or those whose `parent_key` is `parent`), in `lang` when given.
fn list_of(
    app: &App,
    kind: Kind,
    parent: Option<(&str, u64)>,
    lang: Option<&str>,
    path: &str,
    query: Option<&str>,
) -> Res {
    let query = QueryMap::parse(query);
    let paging = paging(&query, None)?;
    let st = app.read();
    let items: Vec<Value> = kind
        .map(&st)
        .values()
        .filter(|r| parent.is_none_or(|(k, id)| u64_of(r, k) == Some(id)))
        .filter_map(|r| render(r, lang))
        .collect();
    drop(st);
    Ok(page_reply(app, path, &query, paging, items))
}

fn one(app: &App, kind: Kind, id: &str, lang: Option<&str>) -> Res {
    let id = path_id(id)?;
    let st = app.read();
    let rec = kind.map(&st).get(&id).ok_or_else(ApiError::not_found)?;
    let shown = render(rec, lang).ok_or_else(ApiError::not_found)?;
    Ok(reply(StatusCode::OK, &shown))
}

/// The parent record must exist: 404 otherwise.
fn parent_exists(st: &FreshdeskState, kind: Kind, id: u64) -> Result<&Rec, ApiError> {
    kind.map(st).get(&id).ok_or_else(ApiError::not_found)
}

/// Creates a record of `kind` under `parent` (its id and keys to copy from it).
fn create(app: &App, kind: Kind, parent: Option<u64>, agent: u64, body: &Bytes) -> Res {
    let mut fields = body_object(body)?;
    let now = app.now();
    let mut st = app.write();
    let mut rec: Rec = Map::new();
    match (kind, parent) {
        (Kind::Folder, Some(c)) => {
            parent_exists(&st, Kind::Category, c)?;
            rec.insert("category_id".into(), json!(c));
        }
        (Kind::Article, Some(f)) => {
            let folder = parent_exists(&st, Kind::Folder, f)?;
            rec.insert(
                "category_id".into(),
                folder.get("category_id").cloned().unwrap_or_default(),
            );
            rec.insert("folder_id".into(), json!(f));
        }
        _ => {}
    }
    check(&st, kind, &fields, true, false)?;
    if kind != Kind::Article {
        let siblings = sibling_names(&st, kind, parent);
        unique(siblings.into_iter(), str_of(&fields, "name"), None)?;
    }
    with_text(&mut fields, kind);
    let id = st.solution_ids.next_id();
    let mut base = defaults(kind, id, agent, now);
    base.extend(rec);
    base.extend(fields);
    let shown = render(&base, None).unwrap_or_default();
    kind.map_mut(&mut st).insert(id, base);
    Ok(reply(StatusCode::CREATED, &shown))
}

/// A new record's keys before the request's fields are laid over them.
fn defaults(kind: Kind, id: u64, agent: u64, now: i64) -> Rec {
    let v = match kind {
        Kind::Category => json!({"id": id, "name": "", "description": null,
            "visible_in_portals": [], "created_at": iso(now), "updated_at": iso(now)}),
        Kind::Folder => json!({"id": id, "name": "", "description": null, "visibility": 1,
            "category_id": null, "created_at": iso(now), "updated_at": iso(now)}),
        Kind::Article => json!({"id": id, "type": 1, "status": 1, "agent_id": agent,
            "category_id": null, "folder_id": null, "title": "", "description": "",
            "description_text": "", "seo_data": {"meta_title": "", "meta_description": ""},
            "tags": [], "attachments": [], "cloud_files": [], "thumbs_up": 0, "thumbs_down": 0,
            "hits": 0, "suggested": 0, "feedback_count": 0,
            "created_at": iso(now), "updated_at": iso(now)}),
    };
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn update(app: &App, kind: Kind, id: &str, body: &Bytes) -> Res {
    let id = path_id(id)?;
    let mut fields = body_object(body)?;
    let now = app.now();
    let mut st = app.write();
    let category = u64_of(parent_exists(&st, kind, id)?, "category_id");
    check(&st, kind, &fields, false, false)?;
    if kind != Kind::Article {
        let siblings = sibling_names(&st, kind, category);
        unique(siblings.into_iter(), str_of(&fields, "name"), Some(id))?;
    }
    with_text(&mut fields, kind);
    let rec = kind
        .map_mut(&mut st)
        .get_mut(&id)
        .ok_or_else(ApiError::not_found)?;
    rec.extend(fields);
    rec.insert("updated_at".into(), json!(iso(now)));
    Ok(reply(
        StatusCode::OK,
        &render(rec, None).unwrap_or_default(),
    ))
}

/// Deletes a record and everything under it.
fn delete(app: &App, kind: Kind, id: &str) -> Res {
    let id = path_id(id)?;
    let mut st = app.write();
    kind.map_mut(&mut st)
        .remove(&id)
        .ok_or_else(ApiError::not_found)?;
    match kind {
        Kind::Category => {
            st.solution_folders
                .retain(|_, f| u64_of(f, "category_id") != Some(id));
            st.solution_articles
                .retain(|_, a| u64_of(a, "category_id") != Some(id));
        }
        Kind::Folder => st
            .solution_articles
            .retain(|_, a| u64_of(a, "folder_id") != Some(id)),
        Kind::Article => {}
    }
    Ok(no_content())
}

/// Creates (`create`) or updates a translation of a record.
fn translate(app: &App, kind: Kind, id: &str, lang: &str, body: &Bytes, create: bool) -> Res {
    let id = path_id(id)?;
    let lang = language(lang)?;
    let mut fields = body_object(body)?;
    let now = app.now();
    let mut st = app.write();
    let rec = parent_exists(&st, kind, id)?;
    let exists = rec.get("_translations").and_then(|t| t.get(lang)).is_some();
    if !create && !exists {
        return Err(ApiError::not_found());
    }
    if create && exists {
        return Err(ApiError::conflict(vec![FieldError::new(
            "language",
            format!("A translation in '{lang}' already exists"),
            "duplicate_value",
        )]));
    }
    check(&st, kind, &fields, create, true)?;
    with_text(&mut fields, kind);
    let rec = kind
        .map_mut(&mut st)
        .get_mut(&id)
        .ok_or_else(ApiError::not_found)?;
    let translations = rec.entry("_translations").or_insert_with(|| json!({}));
    if let Value::Object(all) = translations {
        let tr = all
            .entry(lang)
            .or_insert_with(|| json!({"created_at": iso(now)}));
        if let Value::Object(tr) = tr {
            tr.extend(fields);
            tr.insert("updated_at".into(), json!(iso(now)));
        }
    }
    let status = if create {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let shown = render(rec, Some(lang)).ok_or_else(ApiError::not_found)?;
    Ok(reply(status, &shown))
}

async fn categories(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Res {
    list_of(
        &app,
        Kind::Category,
        None,
        None,
        "/api/v2/solutions/categories",
        q.as_deref(),
    )
}

/// `/solutions/categories/{id}` is one category; `/solutions/categories/{lang}` all of them
/// in that language.
async fn category_or_list(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Res {
    if id.parse::<u64>().is_ok() {
        return one(&app, Kind::Category, &id, None);
    }
    let lang = language(&id)?;
    let path = format!("/api/v2/solutions/categories/{lang}");
    list_of(&app, Kind::Category, None, Some(lang), &path, q.as_deref())
}

async fn create_category(
    State(app): State<Arc<App>>,
    Extension(actor): Extension<Actor>,
    body: Bytes,
) -> Res {
    create(&app, Kind::Category, None, actor.agent_id, &body)
}

/// A seeded article: title and HTML body.
type SeedArticle = (&'static str, &'static str);
/// A seeded folder: name and articles.
type SeedFolder = (&'static str, &'static [SeedArticle]);
/// A seeded category: name, description and folders.
type SeedCategory = (&'static str, &'static str, &'static [SeedFolder]);

/// Seeds a small knowledge base at `at`: two categories, three folders, five articles, the
/// first category, folder and its articles also in French. Ids come from the sequence alone.
pub(crate) fn seed(st: &mut FreshdeskState, at: i64) {
    let agent = st.owner_id;
    let later = at + 86_400;
    let kb: [SeedCategory; 2] = [
        (
            "General Category",
            "Default solution category, feel free to edit or delete it.",
            &[
                (
                    "Getting Started",
                    &[
                        (
                            "Changing account details",
                            "<p>Select <b>account details</b> from the menu bar and click <b>save changes</b>.</p>",
                        ),
                        (
                            "Adding a payment method",
                            "<p>Select <b>payment options</b>, then <b>add payment</b> method.</p>",
                        ),
                    ],
                ),
                (
                    "FAQ",
                    &[(
                        "How do I reset my password?",
                        "<p>Click <b>forgot password</b> and follow the e-mail.</p>",
                    )],
                ),
            ],
        ),
        (
            "Billing",
            "Invoices, refunds and plans.",
            &[(
                "Invoices",
                &[
                    (
                        "Downloading an invoice",
                        "<p>Invoices are under <b>Billing</b> &gt; <b>History</b>.</p>",
                    ),
                    (
                        "Requesting a refund",
                        "<p>Open a ticket of type <i>Refund</i> within 30 days.</p>",
                    ),
                ],
            )],
        ),
    ];
    let fr = |fields: Value| json!({"fr": merge(fields, json!({"created_at": iso(later), "updated_at": iso(later)}))});
    for (ci, (name, description, folders)) in kb.iter().enumerate() {
        let cid = st.solution_ids.next_id();
        let mut cat = defaults(Kind::Category, cid, agent, at);
        cat.insert("name".into(), json!(name));
        cat.insert("description".into(), json!(description));
        if ci == 0 {
            cat.insert(
                "_translations".into(),
                fr(json!({"name": "Catégorie générale", "description": "Catégorie par défaut."})),
            );
        }
        st.solution_categories.insert(cid, cat);
        for (fi, (fname, articles)) in folders.iter().enumerate() {
            let fid = st.solution_ids.next_id();
            let mut folder = defaults(Kind::Folder, fid, agent, at);
            folder.insert("name".into(), json!(fname));
            folder.insert("description".into(), json!(format!("{fname} articles.")));
            folder.insert("category_id".into(), json!(cid));
            let translated = ci == 0 && fi == 0;
            if translated {
                folder.insert(
                    "_translations".into(),
                    fr(json!({"name": "Commencer", "description": "Pour bien commencer."})),
                );
            }
            st.solution_folders.insert(fid, folder);
            for (ai, (title, body)) in articles.iter().enumerate() {
                let aid = st.solution_ids.next_id();
                let mut article = defaults(Kind::Article, aid, agent, at);
                let mut fields = json!({"title": title, "description": body, "status": if ai == 0 { 2 } else { 1 },
                    "category_id": cid, "folder_id": fid, "tags": ["kb"],
                    "hits": 10 * (ai + 1), "thumbs_up": ai + 1})
                .as_object()
                .cloned()
                .unwrap_or_default();
                with_text(&mut fields, Kind::Article);
                article.extend(fields);
                if translated {
                    let mut tr = Map::new();
                    tr.insert("title".into(), json!(format!("{title} (fr)")));
                    tr.insert("description".into(), json!(body));
                    with_text(&mut tr, Kind::Article);
                    article.insert("_translations".into(), fr(Value::Object(tr)));
                }
                st.solution_articles.insert(aid, article);
            }
        }
    }
}

fn merge(a: Value, b: Value) -> Value {
    match (a, b) {
        (Value::Object(mut a), Value::Object(b)) => {
            a.extend(b);
            Value::Object(a)
        }
        (a, _) => a,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_translation_is_laid_over_the_record() {
        let mut rec = defaults(Kind::Category, 7, 1, 0);
        rec.insert("name".into(), json!("General"));
        rec.insert(
            "_translations".into(),
            json!({"fr": {"name": "Général", "updated_at": "x"}}),
        );
        let fr = render(&rec, Some("fr")).unwrap();
        assert_eq!(fr["name"], "Général");
        assert_eq!(fr["id"], 7);
        assert_eq!(fr["updated_at"], "x");
        assert!(fr.get("_translations").is_none());
        assert!(render(&rec, Some("de")).is_none());
        assert_eq!(render(&rec, None).unwrap()["name"], "General");
    }

    #[test]
    fn only_enabled_languages_are_accepted() {
        assert_eq!(language("fr").ok(), Some("fr"));
        assert!(language("en").is_err());
        assert!(language("xx").is_err());
    }

    #[test]
    fn the_seed_is_the_same_every_time() {
        let mut a = FreshdeskState::empty(1);
        let mut b = FreshdeskState::empty(2);
        seed(&mut a, 1_000);
        seed(&mut b, 1_000);
        assert_eq!(a.solution_articles, b.solution_articles);
        assert_eq!(a.solution_categories.len(), 2);
        assert_eq!(a.solution_folders.len(), 3);
        assert_eq!(a.solution_articles.len(), 5);
    }
}
