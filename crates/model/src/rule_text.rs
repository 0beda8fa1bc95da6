//! How the parts of a rule read for a person (`Display`): `hours since solved greater than 96`,
//! `e-mail group #3: "New"`, `condition 2: "via_id is 47" has no freshdesk counterpart`. The
//! words are the vocabulary's own names, so a report names a part the same way on every platform.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::rules::{
    Action, Condition, Operator, Recipient, RuleField, RuleValue, SlaTarget, Untranslatable, When,
};

impl fmt::Display for Untranslatable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {:?} {}", self.part, self.text, self.reason)
    }
}

impl fmt::Display for When {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            When::Created => "when a ticket is created",
            When::Updated => "when a ticket is updated",
            When::CreatedOrUpdated => "when a ticket is created or updated",
            When::Hourly => "every hour",
        })
    }
}

impl fmt::Display for RuleField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleField::CustomField(key) => write!(f, "custom field {key}"),
            RuleField::HoursSince(moment) => write!(f, "hours since {}", snake(moment)),
            other => f.write_str(&snake(other)),
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&snake(self).replace('_', " "))
    }
}

impl fmt::Display for RuleValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleValue::None => f.write_str("nothing"),
            RuleValue::Text(text) => write!(f, "{text:?}"),
            RuleValue::Number(n) => write!(f, "{n}"),
            RuleValue::Bool(b) => write!(f, "{b}"),
            RuleValue::Key(key) => write!(f, "#{key}"),
            RuleValue::List(items) => {
                let items: Vec<String> = items.iter().map(ToString::to_string).collect();
                write!(f, "[{}]", items.join(", "))
            }
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::Test {
                field,
                operator,
                value,
            } => match operator {
                Operator::Changed | Operator::NotChanged => write!(f, "{field} {operator}"),
                _ => write!(f, "{field} {operator} {value}"),
            },
            Condition::Native(native) => f.write_str(&native.text),
            Condition::Lost(lost) => f.write_str(&lost.text),
        }
    }
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Recipient::Group(key) => write!(f, "group #{key}"),
            Recipient::Agent(key) => write!(f, "agent #{key}"),
            other => f.write_str(&snake(other).replace('_', " ")),
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Set { field, value } => write!(f, "set {field} to {value}"),
            Action::AddTags { tags } => write!(f, "add tags {}", tags.join(" ")),
            Action::RemoveTags { tags } => write!(f, "remove tags {}", tags.join(" ")),
            Action::Comment { public: true, .. } => f.write_str("add a public reply"),
            Action::Comment { public: false, .. } => f.write_str("add a private note"),
            Action::Notify { to, subject, .. } => write!(f, "e-mail {to}: {subject:?}"),
            Action::Native(native) => f.write_str(&native.text),
            Action::Lost(lost) => f.write_str(&lost.text),
        }
    }
}

impl fmt::Display for SlaTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hours = if self.business_hours {
            "business"
        } else {
            "calendar"
        };
        write!(
            f,
            "{} {} within {} {hours} minutes",
            self.priority,
            snake(&self.metric).replace('_', " "),
            self.minutes
        )
    }
}

/// A unit variant's serialized name (`ticket_type`).
fn snake<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(name)) => name,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}
