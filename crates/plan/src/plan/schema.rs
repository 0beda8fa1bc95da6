//! The shape of a plan file: every table, its keys, which are required, and the rule each value
//! obeys. The walker reads this to report unknown keys, wrong types, missing keys and bad values;
//! the rules are the same constructors the typed plan deserializes through.

use std::str::FromStr;

use chrono::NaiveDate;
use cutover_model::{PlatformKind, RecordKind};

use crate::error::ValueError;
use crate::plan::names::{
    AccessRole, AlertAction, Audience, ChannelKind, ConflictRule, Directions, InlineImages, Kpi,
    MatchBy, NoticeVia, OnInconclusive, SmtpTls, TimeZoneName, WeekTime,
};
use crate::plan::values::{
    BaseUrl, Deviation, Duration, Email, EnvVarName, Fraction, Percent, ServiceLevel, Target,
};

/// A rule for a string value: `Err` says what is wrong, without the key path.
pub(crate) type StrRule = fn(&str) -> Result<(), String>;

/// What a value must look like.
#[derive(Debug)]
pub(crate) enum Shape {
    /// A string obeying a rule.
    Str(StrRule),
    /// An integer obeying a rule.
    Int(fn(i64) -> Result<(), String>),
    /// A number (integer or float) obeying a rule.
    Number(fn(f64) -> Result<(), String>),
    /// `true` or `false`.
    Bool,
    /// An array of values of one shape, with at least `min` items.
    List { item: &'static Shape, min: usize },
    /// A table with known keys.
    Table(&'static [Field]),
    /// An array of tables (`[[name]]`) with known keys, with at least `min` tables.
    Tables {
        fields: &'static [Field],
        min: usize,
    },
    /// A table whose keys are names chosen by the user, each value of one shape.
    Map {
        key: Option<StrRule>,
        value: &'static Shape,
    },
    /// `"all"` or a list of names.
    AllOrList,
    /// `"all"`, `"by_group"` or a list of e-mail addresses.
    Agents,
}

/// A key of a table.
#[derive(Debug)]
pub(crate) struct Field {
    pub(crate) name: &'static str,
    pub(crate) shape: Shape,
    pub(crate) required: bool,
}

const fn req(name: &'static str, shape: Shape) -> Field {
    Field {
        name,
        shape,
        required: true,
    }
}

const fn opt(name: &'static str, shape: Shape) -> Field {
    Field {
        name,
        shape,
        required: false,
    }
}

/// Parses with the type's own constructor, keeping only the verdict.
fn parse<T: FromStr<Err = ValueError>>(text: &str) -> Result<(), String> {
    text.parse::<T>().map(|_| ()).map_err(|e| e.0)
}

fn side(text: &str) -> Result<(), String> {
    match text {
        "old" | "new" => Ok(()),
        _ => Err(format!("expected \"old\" or \"new\", not {text:?}")),
    }
}

fn non_empty(text: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        Err("expected a non-empty string".to_owned())
    } else {
        Ok(())
    }
}

fn any(_: &str) -> Result<(), String> {
    Ok(())
}

fn platform(text: &str) -> Result<(), String> {
    let names: Vec<&str> = PlatformKind::ALL.iter().map(|p| p.as_str()).collect();
    match text.parse::<PlatformKind>() {
        Ok(_) => Ok(()),
        Err(_) => Err(ValueError::unknown("platform", text, &names).0),
    }
}

fn record_kind(text: &str) -> Result<(), String> {
    let names: Vec<&str> = RecordKind::ALL.iter().map(|k| k.as_str()).collect();
    match text.parse::<RecordKind>() {
        Ok(_) => Ok(()),
        Err(_) => Err(ValueError::unknown("record kind", text, &names).0),
    }
}

fn date(text: &str) -> Result<(), String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|_| ())
        .map_err(|_| format!("\"{text}\" is not a date: expected e.g. \"2021-01-01\""))
}

fn phone_number(text: &str) -> Result<(), String> {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    let allowed = text
        .chars()
        .all(|c| c.is_ascii_digit() || " +-()".contains(c));
    if allowed && digits >= 6 {
        Ok(())
    } else {
        Err(format!(
            "\"{text}\" is not a phone number: expected e.g. \"+44 20 7946 0000\""
        ))
    }
}

fn person_id(text: &str) -> Result<(), String> {
    let valid = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "\"{text}\" is not a person id: use letters, digits, - and _, e.g. \"ops-lead\""
        ))
    }
}

fn share(value: f64) -> Result<(), String> {
    Fraction::try_from(value).map(|_| ()).map_err(|e| e.0)
}

fn version(value: i64) -> Result<(), String> {
    if value == 1 {
        Ok(())
    } else {
        Err(format!(
            "version {value} is not supported: this cutover reads version 1"
        ))
    }
}

fn rate_limit(value: i64) -> Result<(), String> {
    if (1..=100_000).contains(&value) {
        Ok(())
    } else {
        Err(format!(
            "{value} is out of range: expected 1 to 100000 requests per minute"
        ))
    }
}

fn weeks(value: i64) -> Result<(), String> {
    if (1..=52).contains(&value) {
        Ok(())
    } else {
        Err(format!("{value} is out of range: expected 1 to 52 weeks"))
    }
}

fn samples(value: i64) -> Result<(), String> {
    if (1..=1_000_000).contains(&value) {
        Ok(())
    } else {
        Err(format!(
            "{value} is out of range: expected 1 to 1000000 samples"
        ))
    }
}

const NAME: Shape = Shape::Str(non_empty);
const NAMES: Shape = Shape::List {
    item: &NAME,
    min: 1,
};
const DURATION: Shape = Shape::Str(parse::<Duration>);
const ENV: Shape = Shape::Str(parse::<EnvVarName>);
const TARGETS: Shape = Shape::Map {
    key: None,
    value: &Shape::Str(parse::<Target>),
};

/// The whole file.
pub(crate) const ROOT: &[Field] = &[
    req("version", Shape::Int(version)),
    opt("name", Shape::Str(any)),
    req("old", Shape::Table(PLATFORM)),
    req("new", Shape::Table(PLATFORM)),
    opt("copy", Shape::Table(COPY)),
    req("mapping", Shape::Table(MAPPING)),
    opt("sync", Shape::Table(SYNC)),
    // A backfill-only plan leaves both out; the commands that need them ask for them.
    opt(
        "channels",
        Shape::Tables {
            fields: CHANNEL,
            min: 1,
        },
    ),
    opt(
        "waves",
        Shape::Tables {
            fields: WAVE,
            min: 1,
        },
    ),
    opt("baseline", Shape::Table(BASELINE)),
    opt(
        "alerts",
        Shape::Tables {
            fields: ALERT,
            min: 0,
        },
    ),
    opt("monitor", Shape::Table(MONITOR)),
    opt(
        "people",
        Shape::Map {
            key: Some(person_id),
            value: &Shape::Table(PERSON),
        },
    ),
    opt(
        "notices",
        Shape::Tables {
            fields: NOTICE,
            min: 0,
        },
    ),
    opt("backup", Shape::Table(BACKUP)),
    opt("review", Shape::Table(REVIEW)),
    opt("staffing", Shape::Table(STAFFING)),
];

const PLATFORM: &[Field] = &[
    req("platform", Shape::Str(platform)),
    req("url", Shape::Str(parse::<BaseUrl>)),
    opt("email_env", ENV),
    req("token_env", ENV),
    req("requests_per_minute", Shape::Int(rate_limit)),
    opt("share", Shape::Number(share)),
];

const COPY: &[Field] = &[
    opt(
        "kinds",
        Shape::List {
            item: &Shape::Str(record_kind),
            min: 1,
        },
    ),
    opt("since", Shape::Str(date)),
    opt("inline_images", Shape::Str(parse::<InlineImages>)),
    opt("keep_original", Shape::Table(KEEP_ORIGINAL)),
    opt("target_notifications_off", Shape::Bool),
];

const KEEP_ORIGINAL: &[Field] = &[opt("id_field", NAME), opt("note_header", Shape::Bool)];

const MAPPING: &[Field] = &[
    req("statuses", TARGETS),
    req("priorities", TARGETS),
    req("roles", TARGETS),
    opt("groups", TARGETS),
    opt("new_groups", TARGETS),
    opt("agents", Shape::Table(AGENTS)),
    opt("fields", TARGETS),
    opt("ticket_types", TARGETS),
    opt("brands", TARGETS),
    opt("unmatched_group", NAME),
];

const AGENTS: &[Field] = &[
    opt("match_by", Shape::Str(parse::<MatchBy>)),
    opt("unmatched", Shape::Str(parse::<Email>)),
    opt("overrides", TARGETS),
];

const SYNC: &[Field] = &[
    opt("directions", Shape::Str(parse::<Directions>)),
    opt("poll_every", DURATION),
    opt("webhook_secret_env", ENV),
    opt("conflicts", Shape::Str(parse::<ConflictRule>)),
    opt("verify_every", DURATION),
    opt("recheck_every", DURATION),
    opt("recheck_window", DURATION),
    opt("switch_timeout", DURATION),
    opt(
        "field_policy",
        Shape::Map {
            key: None,
            value: &Shape::Str(parse::<ConflictRule>),
        },
    ),
    opt("notifications_off", Shape::Bool),
];

const CHANNEL: &[Field] = &[
    req("name", NAME),
    req("kind", Shape::Str(parse::<ChannelKind>)),
    opt(
        "addresses",
        Shape::List {
            item: &Shape::Str(parse::<Email>),
            min: 1,
        },
    ),
    opt("fallback_number", Shape::Str(phone_number)),
    opt("old_number", Shape::Str(phone_number)),
    opt("new_number", Shape::Str(phone_number)),
    opt("verify_token_env", ENV),
    opt("app_secret_env", ENV),
    opt("backup", Shape::Str(side)),
];

const WAVE: &[Field] = &[
    req("name", NAME),
    req("channels", NAMES),
    req("groups", Shape::AllOrList),
    opt("agents", Shape::Agents),
    req("customers", Shape::Str(parse::<Percent>)),
    opt("window", Shape::Table(WINDOW)),
    req("gates", Shape::Table(GATES)),
];

const WINDOW: &[Field] = &[
    req("from", Shape::Str(parse::<WeekTime>)),
    req("to", Shape::Str(parse::<WeekTime>)),
    req("tz", Shape::Str(parse::<TimeZoneName>)),
];

const GATES: &[Field] = &[
    opt("verify_clean", Shape::Bool),
    opt("max_sync_lag", DURATION),
    opt("kpis_within_bounds", DURATION),
    opt("rollback_drill", Shape::Bool),
    req("sign_off", NAMES),
];

const BASELINE: &[Field] = &[opt("weeks", Shape::Int(weeks))];

const ALERT: &[Field] = &[
    req("kpi", Shape::Str(parse::<Kpi>)),
    req("worse_than_baseline", Shape::Str(parse::<Deviation>)),
    req("sustained", DURATION),
    opt("min_samples", Shape::Int(samples)),
    req("then", Shape::Str(parse::<AlertAction>)),
    req("notify", NAMES),
];

const MONITOR: &[Field] = &[
    opt("every", DURATION),
    opt("rollback_without_sign_off", Shape::Bool),
    opt("on_inconclusive", Shape::Str(parse::<OnInconclusive>)),
    opt("smtp_host", NAME),
    opt("smtp_port", Shape::Int(port)),
    opt("smtp_tls", Shape::Str(parse::<SmtpTls>)),
    opt("smtp_from", Shape::Str(parse::<Email>)),
    opt("smtp_user_env", ENV),
    opt("smtp_password_env", ENV),
    opt("slack_webhook_env", ENV),
    opt("teams_webhook_env", ENV),
];

fn port(value: i64) -> Result<(), String> {
    if (1..=65_535).contains(&value) {
        Ok(())
    } else {
        Err(format!(
            "{value} is out of range: expected a port, 1 to 65535"
        ))
    }
}

const PERSON: &[Field] = &[
    req("name", NAME),
    req("email", Shape::Str(parse::<Email>)),
    req("role", Shape::Str(parse::<AccessRole>)),
];

const NOTICE: &[Field] = &[
    req("before_wave", NAME),
    req("lead", DURATION),
    req("to", Shape::Str(parse::<Audience>)),
    req(
        "via",
        Shape::List {
            item: &Shape::Str(parse::<NoticeVia>),
            min: 1,
        },
    ),
    req("template", NAME),
];

const BACKUP: &[Field] = &[
    opt("full_before_first_wave", Shape::Bool),
    opt("incremental_every", DURATION),
    opt("keep", DURATION),
    opt("dir", NAME),
];

const STAFFING: &[Field] = &[
    opt("service_level", Shape::Str(parse::<ServiceLevel>)),
    opt("handle_time", DURATION),
];

const REVIEW: &[Field] = &[
    opt("intensive", DURATION),
    opt("heightened", DURATION),
    opt("final", DURATION),
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use cutover_model::PlatformKind;
    use toml::de::{DeTable, DeValue};

    use super::*;
    use crate::plan::init::{InitOptions, render};

    /// Every key path the schema knows, with `[]` for array items and `*` for free keys.
    fn schema_paths(fields: &[Field], prefix: &str, out: &mut BTreeSet<String>) {
        for field in fields {
            let path = format!("{prefix}{}", field.name);
            out.insert(path.clone());
            shape_paths(&field.shape, &path, out);
        }
    }

    fn shape_paths(shape: &Shape, path: &str, out: &mut BTreeSet<String>) {
        match shape {
            Shape::Table(inner) => schema_paths(inner, &format!("{path}."), out),
            Shape::Tables { fields, .. } => schema_paths(fields, &format!("{path}[]."), out),
            Shape::Map { value, .. } => shape_paths(value, &format!("{path}.*"), out),
            _ => {}
        }
    }

    /// The schema paths a document uses.
    fn used_paths(table: &DeTable<'_>, fields: &[Field], prefix: &str, out: &mut BTreeSet<String>) {
        for (key, value) in table.iter() {
            let Some(field) = fields.iter().find(|f| f.name == key.get_ref().as_ref()) else {
                continue;
            };
            let path = format!("{prefix}{}", field.name);
            out.insert(path.clone());
            used_value(value.get_ref(), &field.shape, &path, out);
        }
    }

    fn used_value(value: &DeValue<'_>, shape: &Shape, path: &str, out: &mut BTreeSet<String>) {
        match (shape, value) {
            (Shape::Table(fields), DeValue::Table(inner)) => {
                used_paths(inner, fields, &format!("{path}."), out);
            }
            (Shape::Tables { fields, .. }, DeValue::Array(items)) => {
                for item in items.iter() {
                    if let DeValue::Table(inner) = item.get_ref() {
                        used_paths(inner, fields, &format!("{path}[]."), out);
                    }
                }
            }
            (Shape::Map { value: item, .. }, DeValue::Table(inner)) => {
                for (_, entry) in inner.iter() {
                    used_value(entry.get_ref(), item, &format!("{path}.*"), out);
                }
            }
            _ => {}
        }
    }

    /// The schema and the typed plan must agree key for key: every key the schema knows is used by
    /// the template or the test fixture, and both pass the checker *and* deserialize (with
    /// `deny_unknown_fields`) into the typed plan.
    #[test]
    fn every_schema_key_is_exercised_by_plans_that_deserialize() {
        let options = |from, to| InitOptions {
            from,
            to,
            old_url: None,
            new_url: None,
        };
        let there = render(&options(PlatformKind::Zendesk, PlatformKind::Freshdesk));
        let back = render(&options(PlatformKind::Freshdesk, PlatformKind::Zendesk));
        let fixture = include_str!("../../tests/it/fixtures/base.toml");
        // The gateway's channel keys: a WhatsApp and a voice channel beside the fixture's.
        let gateway = fixture
            .replacen(
                "[[waves]]",
                "[[channels]]\nname = \"wa\"\nkind = \"whatsapp\"\nverify_token_env = \"WA_VERIFY\"\n\
                 app_secret_env = \"WA_SECRET\"\n\n[[channels]]\nname = \"phone\"\nkind = \"voice\"\n\
                 old_number = \"+15550100\"\nnew_number = \"+15550101\"\n\n[[waves]]",
                1,
            )
            .replacen(
                "channels = [\"email\", \"web\"]",
                "channels = [\"email\", \"web\", \"wa\", \"phone\"]",
                1,
            )
            .replacen(
                "rollback_without_sign_off = false",
                "rollback_without_sign_off = false\non_inconclusive = \"pause\"",
                1,
            );
        let mut used = BTreeSet::new();
        for text in [there.as_str(), back.as_str(), fixture, gateway.as_str()] {
            let document = DeTable::parse(text).unwrap();
            used_paths(document.get_ref(), ROOT, "", &mut used);
            assert!(crate::plan::check_str("plan.toml", text).is_ok());
        }
        let mut known = BTreeSet::new();
        schema_paths(ROOT, "", &mut known);
        let unused: Vec<&String> = known.difference(&used).collect();
        assert!(unused.is_empty(), "keys no test plan uses: {unused:?}");
    }
}
