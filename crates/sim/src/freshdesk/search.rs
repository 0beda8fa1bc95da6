//! Filter search: `GET /search/tickets|contacts|companies?query="…"` with Freshdesk's query
//! language (`field:value`, `field:'text'`, `field:>'2024-01-01'`, `field:<3`, `null`, `AND`,
//! `OR`, parentheses), 30 results a page, 10 pages at most, `{"results": […], "total": N}`.
//!
//! An equality on an indexed field (a ticket's custom field, a contact's e-mail or phone, a
//! company's name) is answered from the store's index: the index names candidates, every
//! candidate is still checked against the whole query, so the answer is the scan's.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::app::App;
use super::errors::{ApiError, FieldError};
use super::indexed::Indexed;
use super::render::{self, Includes};
use super::routes::{GENERIC_SHAPE, Res, TICKET_SHAPE, corrupt, reply};
use super::store::{Rec, flag, fold, is_agent, parse_time, time_of};
use crate::numbers::NumberSyntax;
use crate::page::QueryMap;

const PER_PAGE: usize = 30;
const MAX_PAGES: usize = 10;
const MAX_QUERY: usize = 512;

#[derive(Debug, Clone, PartialEq)]
enum Lit {
    Num(f64),
    Str(String),
    Null,
    Bool(bool),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Ge,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Term { field: String, op: Op, value: Lit },
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open,
    Close,
    And,
    Or,
    Term(String, Op, Lit),
}

fn invalid_query(message: &str) -> ApiError {
    ApiError::invalid(vec![FieldError::new("query", message, "invalid_value")])
}

fn tokenize(q: &str) -> Result<Vec<Tok>, ApiError> {
    let chars: Vec<char> = q.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            out.push(Tok::Open);
            i += 1;
        } else if c == ')' {
            out.push(Tok::Close);
            i += 1;
        } else {
            let start = i;
            while i < chars.len() && chars[i] != ':' && !chars[i].is_whitespace() && chars[i] != ')'
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if i >= chars.len() || chars[i] != ':' {
                match word.to_ascii_uppercase().as_str() {
                    "AND" => out.push(Tok::And),
                    "OR" => out.push(Tok::Or),
                    _ => {
                        return Err(invalid_query(&format!(
                            "Unexpected term '{word}' in the query"
                        )));
                    }
                }
                continue;
            }
            i += 1;
            let op = match chars.get(i) {
                Some('>') => {
                    i += 1;
                    Op::Ge
                }
                Some('<') => {
                    i += 1;
                    Op::Le
                }
                _ => Op::Eq,
            };
            let value = if chars.get(i) == Some(&'\'') {
                i += 1;
                let start = i;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                if i >= chars.len() {
                    return Err(invalid_query("Unterminated quoted value in the query"));
                }
                let s: String = chars[start..i].iter().collect();
                i += 1;
                Lit::Str(s)
            } else {
                let start = i;
                while i < chars.len() && !chars[i].is_whitespace() && chars[i] != ')' {
                    i += 1;
                }
                let raw: String = chars[start..i].iter().collect();
                match raw.as_str() {
                    "null" => Lit::Null,
                    "true" => Lit::Bool(true),
                    "false" => Lit::Bool(false),
                    _ => raw.parse::<f64>().map(Lit::Num).map_err(|_| {
                        invalid_query(&format!("The value '{raw}' of {word} should be quoted"))
                    })?,
                }
            };
            out.push(Tok::Term(word, op, value));
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn or(&mut self) -> Result<Expr, ApiError> {
        let mut left = self.and()?;
        while self.toks.get(self.pos) == Some(&Tok::Or) {
            self.pos += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, ApiError> {
        let mut left = self.atom()?;
        while self.toks.get(self.pos) == Some(&Tok::And) {
            self.pos += 1;
            left = Expr::And(Box::new(left), Box::new(self.atom()?));
        }
        Ok(left)
    }

    fn atom(&mut self) -> Result<Expr, ApiError> {
        match self.toks.get(self.pos).cloned() {
            Some(Tok::Open) => {
                self.pos += 1;
                let inner = self.or()?;
                if self.toks.get(self.pos) != Some(&Tok::Close) {
                    return Err(invalid_query("Unbalanced parentheses in the query"));
                }
                self.pos += 1;
                Ok(inner)
            }
            Some(Tok::Term(field, op, value)) => {
                self.pos += 1;
                Ok(Expr::Term { field, op, value })
            }
            _ => Err(invalid_query("The query is incomplete")),
        }
    }
}

/// Parses a query; `custom` names the defined `cf_*` fields, which the query may also spell
/// without the prefix (as Freshdesk's documentation does).
fn parse(q: &str, fields: &[&str], custom: &[String]) -> Result<Expr, ApiError> {
    let toks = tokenize(q)?;
    let mut p = Parser { toks, pos: 0 };
    let mut expr = p.or()?;
    if p.pos != p.toks.len() {
        return Err(invalid_query("Unexpected tokens at the end of the query"));
    }
    check_fields(&mut expr, fields, custom)?;
    Ok(expr)
}

fn check_fields(e: &mut Expr, fields: &[&str], custom: &[String]) -> Result<(), ApiError> {
    match e {
        Expr::Term { field, .. } => {
            if fields.contains(&field.as_str())
                || field.starts_with("cf_") && fields.contains(&"cf_*")
            {
                Ok(())
            } else if fields.contains(&"cf_*")
                && let Some(full) = custom.iter().find(|c| c.strip_prefix("cf_") == Some(field))
            {
                field.clone_from(full);
                Ok(())
            } else {
                Err(ApiError::invalid(vec![FieldError::unexpected(field)]))
            }
        }
        Expr::And(a, b) | Expr::Or(a, b) => {
            check_fields(a, fields, custom)?;
            check_fields(b, fields, custom)
        }
    }
}

/// Which query terms an index answers: the fields it covers and how it normalises a value.
struct Indexing {
    covers: fn(&str) -> bool,
    key: fn(&str) -> String,
}

/// Tickets: their custom fields' text values (not the date-like ones, which compare by day).
const TICKET_INDEX: Indexing = Indexing {
    covers: |f| f.starts_with("cf_") && !is_date(f),
    key: fold,
};

/// Contacts: e-mails (primary and other: a superset of the primary the query matches), phones,
/// mobiles, Twitter ids.
const CONTACT_INDEX: Indexing = Indexing {
    covers: |f| ["email", "phone", "mobile", "twitter_id"].contains(&f),
    key: fold,
};

/// Companies: lower-cased names (Unicode lower case: a superset of the ASCII-case-blind match).
const COMPANY_INDEX: Indexing = Indexing {
    covers: |f| f == "name",
    key: str::to_lowercase,
};

/// Ids (ascending) of the records that may match `e`, from `records`' index; `None` when the
/// index cannot narrow the query and every record is a candidate.
fn candidates(e: &Expr, records: &Indexed, how: &Indexing) -> Option<Vec<u64>> {
    match e {
        Expr::Term {
            field,
            op: Op::Eq,
            value: Lit::Str(s),
        } if (how.covers)(field) => Some(records.lookup(field, &(how.key)(s)).to_vec()),
        Expr::Term { .. } => None,
        Expr::And(a, b) => match (candidates(a, records, how), candidates(b, records, how)) {
            (Some(x), Some(y)) => Some(
                x.into_iter()
                    .filter(|id| y.binary_search(id).is_ok())
                    .collect(),
            ),
            (Some(x), None) | (None, Some(x)) => Some(x),
            (None, None) => None,
        },
        Expr::Or(a, b) => {
            let mut all = candidates(a, records, how)?;
            all.extend(candidates(b, records, how)?);
            all.sort_unstable();
            all.dedup();
            Some(all)
        }
    }
}

/// The records matching `e` (before other filters), ascending by id, as the search engine sees
/// them (late when lateness is on): from the index when it narrows the query, else every record.
fn matching<'a>(
    e: &'a Expr,
    records: &'a Indexed,
    how: &Indexing,
    custom_plain: &'a [&'a str],
) -> Box<dyn Iterator<Item = &'a Rec> + 'a> {
    let all: Box<dyn Iterator<Item = (u64, &'a Rec)> + 'a> = match candidates(e, records, how) {
        Some(ids) => Box::new(
            ids.into_iter()
                .filter_map(|id| records.get(&id).map(|rec| (id, rec))),
        ),
        None => Box::new(records.iter()),
    };
    Box::new(
        records
            .searched(all)
            .filter(move |r| eval(e, r, custom_plain)),
    )
}

fn field_value(rec: &Rec, field: &str, custom_plain: &[&str]) -> Value {
    let key = match field {
        "agent_id" => "responder_id",
        "tag" => "tags",
        "domain" => "domains",
        other => other,
    };
    if key.starts_with("cf_") || custom_plain.contains(&key) {
        return rec
            .get("custom_fields")
            .and_then(|c| c.get(key))
            .cloned()
            .unwrap_or(Value::Null);
    }
    rec.get(key).cloned().unwrap_or(Value::Null)
}

fn is_date(field: &str) -> bool {
    field.ends_with("_at") || field.ends_with("due_by")
}

fn eval(e: &Expr, rec: &Rec, custom_plain: &[&str]) -> bool {
    match e {
        Expr::And(a, b) => eval(a, rec, custom_plain) && eval(b, rec, custom_plain),
        Expr::Or(a, b) => eval(a, rec, custom_plain) || eval(b, rec, custom_plain),
        Expr::Term { field, op, value } => {
            if is_date(field) {
                let Lit::Str(day) = value else { return false };
                let Some(start) = parse_time(day) else {
                    return false;
                };
                let t = time_of(rec, field);
                let day_start = start - start.rem_euclid(86_400);
                return match op {
                    Op::Eq => t >= day_start && t < day_start + 86_400,
                    Op::Ge => t >= day_start,
                    Op::Le => t < day_start + 86_400,
                };
            }
            let actual = field_value(rec, field, custom_plain);
            let one = |v: &Value| -> bool {
                match (value, op) {
                    (Lit::Null, _) => v.is_null(),
                    (Lit::Bool(b), _) => v.as_bool() == Some(*b),
                    (Lit::Num(n), Op::Eq) => v.as_f64() == Some(*n),
                    (Lit::Num(n), Op::Ge) => v.as_f64().is_some_and(|x| x >= *n),
                    (Lit::Num(n), Op::Le) => v.as_f64().is_some_and(|x| x <= *n),
                    (Lit::Str(s), _) => v.as_str().is_some_and(|x| x.eq_ignore_ascii_case(s)),
                }
            };
            match &actual {
                Value::Array(items) if !matches!(value, Lit::Null) => items.iter().any(one),
                Value::Array(items) => items.is_empty(),
                other => one(other),
            }
        }
    }
}

struct SearchReq {
    expr: Expr,
    page: usize,
}

fn read(q: Option<&str>, fields: &[&str], custom: &[String]) -> Result<SearchReq, ApiError> {
    let query = QueryMap::parse(q);
    let Some(raw) = query.get("query") else {
        return Err(ApiError::field(
            "query",
            "It should be a/an String",
            "missing_field",
        ));
    };
    let raw = raw.trim();
    if raw.chars().count() > MAX_QUERY + 2 {
        return Err(invalid_query("It should not have more than 512 characters"));
    }
    let Some(inner) = raw.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else {
        return Err(invalid_query("Query should be wrapped in double quotes"));
    };
    let page = match query.uint("page", NumberSyntax::Freshdesk) {
        None => 1,
        Some(p) => match p.map(usize::try_from) {
            Ok(Ok(n)) if (1..=MAX_PAGES).contains(&n) => n,
            _ => {
                return Err(ApiError::field(
                    "page",
                    format!("It should be a Positive Integer less than or equal to {MAX_PAGES}"),
                    "invalid_value",
                ));
            }
        },
    };
    Ok(SearchReq {
        expr: parse(inner, fields, custom)?,
        page,
    })
}

/// The hits of one page (only those are rendered) and the total.
fn cut<T>(hits: Vec<T>, page: usize) -> (Vec<T>, usize) {
    let total = hits.len();
    let page = hits
        .into_iter()
        .skip((page - 1) * PER_PAGE)
        .take(PER_PAGE)
        .collect();
    (page, total)
}

fn answer(results: Vec<Value>, total: usize) -> Res {
    Ok(reply(
        StatusCode::OK,
        &json!({"results": results, "total": total}),
    ))
}

const TICKET_FIELDS: [&str; 15] = [
    "status",
    "priority",
    "group_id",
    "agent_id",
    "requester_id",
    "type",
    "tag",
    "created_at",
    "updated_at",
    "due_by",
    "fr_due_by",
    "source",
    "company_id",
    "product_id",
    "cf_*",
];

/// `GET /api/v2/search/tickets?query="…"`.
pub(crate) async fn tickets(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Res {
    let st = app.read();
    let custom: Vec<String> = st
        .ticket_custom_fields()
        .into_iter()
        .map(|f| f.name)
        .collect();
    let req = read(q.as_deref(), &TICKET_FIELDS, &custom)?;
    let mut picked: Vec<&Rec> = matching(&req.expr, &st.tickets, &TICKET_INDEX, &[])
        .filter(|t| !flag(t, "_deleted") && !flag(t, "spam"))
        .collect();
    picked.sort_by_cached_key(|t| std::cmp::Reverse(time_of(t, "created_at")));
    let (page, total) = cut(picked, req.page);
    let mut hits: Vec<Value> = page
        .into_iter()
        .map(|t| {
            render::ticket(
                &st,
                t,
                &app.base,
                Includes {
                    description: true,
                    ..Includes::default()
                },
                true,
            )
        })
        .collect();
    drop(st);
    corrupt(&app, &mut hits, &TICKET_SHAPE);
    answer(hits, total)
}

const CONTACT_FIELDS: [&str; 12] = [
    "active",
    "company_id",
    "twitter_id",
    "email",
    "mobile",
    "phone",
    "tag",
    "time_zone",
    "language",
    "created_at",
    "updated_at",
    "customer_tier",
];

/// `GET /api/v2/search/contacts?query="…"`.
pub(crate) async fn contacts(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Res {
    let req = read(q.as_deref(), &CONTACT_FIELDS, &[])?;
    let st = app.read();
    let found: Vec<&Rec> = matching(&req.expr, &st.contacts, &CONTACT_INDEX, &["customer_tier"])
        .filter(|c| !is_agent(c) && !flag(c, "deleted"))
        .collect();
    let (page, total) = cut(found, req.page);
    let mut hits: Vec<Value> = page.into_iter().map(render::contact).collect();
    drop(st);
    corrupt(&app, &mut hits, &GENERIC_SHAPE);
    answer(hits, total)
}

const COMPANY_FIELDS: [&str; 7] = [
    "name",
    "domain",
    "created_at",
    "updated_at",
    "website",
    "health_score",
    "account_tier",
];

/// `GET /api/v2/search/companies?query="…"`.
pub(crate) async fn companies(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Res {
    let req = read(q.as_deref(), &COMPANY_FIELDS, &[])?;
    let st = app.read();
    let found: Vec<&Rec> =
        matching(&req.expr, &st.companies, &COMPANY_INDEX, &["website"]).collect();
    let (page, total) = cut(found, req.page);
    let hits: Vec<Value> = page.into_iter().map(|c| Value::Object(c.clone())).collect();
    drop(st);
    answer(hits, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_parse_with_precedence_and_quotes() {
        let e = parse(
            "(status:2 OR priority:4) AND tag:'needs review'",
            &TICKET_FIELDS,
            &[],
        )
        .unwrap();
        let Expr::And(left, right) = e else {
            panic!("{e:?}")
        };
        assert!(matches!(*left, Expr::Or(..)));
        assert_eq!(
            *right,
            Expr::Term {
                field: "tag".into(),
                op: Op::Eq,
                value: Lit::Str("needs review".into())
            }
        );
        assert!(parse("status:2 AND", &TICKET_FIELDS, &[]).is_err());
        assert!(parse("nonsense:2", &TICKET_FIELDS, &[]).is_err());
        assert!(parse("created_at:>'2024-01-01'", &TICKET_FIELDS, &[]).is_ok());
        let custom = ["cf_order_number".to_owned()];
        let bare = parse("order_number:'A-1'", &TICKET_FIELDS, &custom).unwrap();
        assert!(matches!(bare, Expr::Term { ref field, .. } if field == "cf_order_number"));
        assert!(parse("order_number:'A-1'", &CONTACT_FIELDS, &custom).is_err());
    }

    /// A pure scan: every record, then the query.
    fn scan<'a>(e: &Expr, records: &'a Indexed, plain: &[&str]) -> Vec<&'a Rec> {
        records.values().filter(|r| eval(e, r, plain)).collect()
    }

    #[test]
    fn indexed_answers_equal_the_scan_on_generated_data() {
        let mut st = super::super::store::FreshdeskState::empty(7);
        super::super::seed::bootstrap(&mut st, "acme", 1_600_000_000);
        super::super::seed::generate(&mut st, ("acme", "http://x"), 400, 1_717_416_000, None);
        let custom: Vec<String> = st
            .ticket_custom_fields()
            .into_iter()
            .map(|f| f.name)
            .collect();
        assert!(st.tickets.index_is_true() && st.contacts.index_is_true());
        assert!(st.companies.index_is_true());
        let tickets: Vec<&Rec> = st.tickets.values().collect();
        let order = |t: &Rec| {
            t.get("custom_fields")
                .and_then(|c| c.get("cf_order_number"))
                .and_then(Value::as_str)
                .unwrap_or("none")
                .to_owned()
        };
        let (a, b) = (order(tickets[3]), order(tickets[250]));
        let mut queries = vec![
            format!("cf_order_number:'{a}'"),
            format!("order_number:'{}'", a.to_lowercase()),
            format!("cf_order_number:'{a}' OR cf_order_number:'{b}'"),
            format!("cf_order_number:'{a}' AND status:2"),
            format!("(plan:'premium' OR cf_order_number:'{b}') AND priority:1"),
            format!("plan:'Basic' OR status:3"),
            "cf_order_number:'no-such-order'".to_owned(),
            "cf_plan:null".to_owned(),
            "plan:'FREE' AND (status:2 OR status:3)".to_owned(),
        ];
        queries.extend(PLANS_FOR_TEST.iter().map(|p| format!("cf_plan:'{p}'")));
        let mut narrowed = 0;
        for q in &queries {
            let e = parse(q, &TICKET_FIELDS, &custom).unwrap();
            narrowed += usize::from(candidates(&e, &st.tickets, &TICKET_INDEX).is_some());
            let fast: Vec<&Rec> = matching(&e, &st.tickets, &TICKET_INDEX, &[]).collect();
            assert_eq!(fast, scan(&e, &st.tickets, &[]), "{q}");
        }
        assert!(narrowed >= 8, "the index answered only {narrowed} queries");
        assert!(
            !scan(
                &parse(&queries[0], &TICKET_FIELDS, &custom).unwrap(),
                &st.tickets,
                &[]
            )
            .is_empty()
        );

        let contact = st
            .contacts
            .values()
            .find(|c| {
                c.get("phone").is_some_and(Value::is_string)
                    && c.get("email").is_some_and(Value::is_string)
            })
            .unwrap();
        let email = contact["email"].as_str().unwrap().to_uppercase();
        let phone = contact["phone"].as_str().unwrap().to_owned();
        for q in [
            format!("email:'{email}'"),
            format!("phone:'{phone}'"),
            format!("phone:'{phone}' AND language:'en'"),
            format!("email:'{email}' OR mobile:'+1 999'"),
        ] {
            let e = parse(&q, &CONTACT_FIELDS, &[]).unwrap();
            assert!(
                candidates(&e, &st.contacts, &CONTACT_INDEX).is_some(),
                "{q}"
            );
            let fast: Vec<&Rec> =
                matching(&e, &st.contacts, &CONTACT_INDEX, &["customer_tier"]).collect();
            assert_eq!(fast, scan(&e, &st.contacts, &["customer_tier"]), "{q}");
        }
        let company = st.companies.values().next().unwrap();
        let name = company["name"].as_str().unwrap().to_uppercase();
        let e = parse(&format!("name:'{name}'"), &COMPANY_FIELDS, &[]).unwrap();
        let fast: Vec<&Rec> = matching(&e, &st.companies, &COMPANY_INDEX, &["website"]).collect();
        assert_eq!(fast, scan(&e, &st.companies, &["website"]));
        assert_eq!(fast.len(), 1);
    }

    const PLANS_FOR_TEST: [&str; 4] = ["Free", "basic", "PREMIUM", "Gold"];
}
