//! Values with rules, each parsed by one constructor that both the checker and serde use, so a
//! value the checker accepts is a value the typed plan holds.
//!
//! Durations are a whole number and one unit: `s`, `m` (minutes), `h`, `d` or `w`. Months have no
//! fixed length and are refused with a hint to write days (`"30d"`): `m` means minutes
//! everywhere, in `[alerts]` as in `[review]`.

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

use crate::error::ValueError;

/// A length of time, written `"90s"`, `"15m"`, `"24h"`, `"7d"` or `"2w"`; never zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct Duration(std::time::Duration);

/// The units a duration accepts, largest first, with their length in seconds.
const UNITS: [(&str, u64); 5] = [
    ("w", 604_800),
    ("d", 86_400),
    ("h", 3_600),
    ("m", 60),
    ("s", 1),
];

impl Duration {
    /// A duration of whole seconds (at least one).
    pub fn from_secs(secs: u64) -> Result<Self, ValueError> {
        if secs == 0 {
            return Err(ValueError("a duration must be longer than zero".to_owned()));
        }
        Ok(Duration(std::time::Duration::from_secs(secs)))
    }

    /// A duration for a default value; `secs` is a non-zero constant.
    pub(crate) const fn default_of_secs(secs: u64) -> Self {
        Duration(std::time::Duration::from_secs(if secs == 0 {
            1
        } else {
            secs
        }))
    }

    /// The length as a standard duration.
    pub fn get(self) -> std::time::Duration {
        self.0
    }
}

impl FromStr for Duration {
    type Err = ValueError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let digits_end = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(digits_end);
        let unit_lower = unit.trim().to_lowercase();
        if !number.is_empty() && (unit == "M" || unit_lower.starts_with("mo")) {
            return Err(ValueError(format!(
                "\"{text}\": months have no fixed length: write days, e.g. \"30d\""
            )));
        }
        let secs_per_unit = UNITS
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|(_, secs)| *secs);
        let (Ok(count), Some(secs_per_unit)) = (number.parse::<u64>(), secs_per_unit) else {
            return Err(ValueError(format!(
                "\"{text}\" is not a duration: write a whole number and a unit: s, m (minutes), \
                 h, d or w, e.g. \"15m\""
            )));
        };
        let secs = count
            .checked_mul(secs_per_unit)
            .ok_or_else(|| ValueError(format!("\"{text}\" is too long a duration")))?;
        Duration::from_secs(secs)
    }
}

impl TryFrom<String> for Duration {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl fmt::Display for Duration {
    /// The largest unit that divides the length exactly: 7200 seconds shows as `2h`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs();
        let (unit, size) = UNITS
            .iter()
            .copied()
            .find(|(_, size)| secs.is_multiple_of(*size))
            .unwrap_or(("s", 1));
        write!(f, "{}{unit}", secs / size)
    }
}

/// Parses `"12.5%"` into 12.5; the sign is required so that `0.5` and `50` are never confused.
fn parse_percent(text: &str) -> Result<f64, ValueError> {
    let number = text.strip_suffix('%').ok_or_else(|| {
        ValueError(format!(
            "\"{text}\" is not a percentage: write a number and a percent sign, e.g. \"5%\""
        ))
    })?;
    match number.trim().parse::<f64>() {
        Ok(value) if value.is_finite() && value >= 0.0 => Ok(value),
        _ => Err(ValueError(format!(
            "\"{text}\" is not a percentage: write a number from 0 and a percent sign, e.g. \"5%\""
        ))),
    }
}

/// A share of customers, from `"0%"` to `"100%"`.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Deserialize)]
#[serde(try_from = "String")]
pub struct Percent(f64);

impl Percent {
    /// The percentage, from 0 to 100.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl FromStr for Percent {
    type Err = ValueError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let value = parse_percent(text)?;
        if value > 100.0 {
            return Err(ValueError(format!(
                "\"{text}\" is more than all customers: use \"0%\" to \"100%\""
            )));
        }
        Ok(Percent(value))
    }
}

impl TryFrom<String> for Percent {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.0)
    }
}

/// How far a KPI may drift from its baseline, e.g. `"10%"`; more than zero, may exceed 100 %.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Deserialize)]
#[serde(try_from = "String")]
pub struct Deviation(f64);

impl Deviation {
    /// The deviation in percent (50 means 50 % worse than the baseline).
    pub fn get(self) -> f64 {
        self.0
    }
}

impl FromStr for Deviation {
    type Err = ValueError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let value = parse_percent(text)?;
        if value == 0.0 || value > 1000.0 {
            return Err(ValueError(format!(
                "\"{text}\" is out of range: a deviation is more than \"0%\" and at most \"1000%\""
            )));
        }
        Ok(Deviation(value))
    }
}

impl TryFrom<String> for Deviation {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

/// A service-level target: the share of contacts answered within a time, written
/// `"80% in 20s"` (more than 0 %, below 100 %; the time a [`Duration`]).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(try_from = "String")]
pub struct ServiceLevel {
    percent: f64,
    within: Duration,
}

impl ServiceLevel {
    /// `"80% in 20s"`, the industry's usual target.
    pub const DEFAULT: ServiceLevel = ServiceLevel {
        percent: 80.0,
        within: Duration::default_of_secs(20),
    };

    /// The share answered in time, in (0, 1).
    pub fn share(self) -> f64 {
        self.percent / 100.0
    }

    /// The time they are answered within.
    pub fn within(self) -> std::time::Duration {
        self.within.get()
    }
}

impl FromStr for ServiceLevel {
    type Err = ValueError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let malformed = || {
            ValueError(format!(
                "\"{text}\" is not a service level: expected a share and a time, e.g. \"80% in 20s\""
            ))
        };
        let (percent, within) = text.split_once(" in ").ok_or_else(malformed)?;
        let percent = parse_percent(percent.trim())?;
        if percent <= 0.0 || percent >= 100.0 {
            return Err(ValueError(format!(
                "\"{text}\" is out of range: the share is more than \"0%\" and below \"100%\""
            )));
        }
        Ok(ServiceLevel {
            percent,
            within: within.trim().parse()?,
        })
    }
}

impl TryFrom<String> for ServiceLevel {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl fmt::Display for ServiceLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}% in {}", self.percent, self.within)
    }
}

/// The share of a platform's rate budget cutover may use: more than 0, at most 1.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Deserialize)]
#[serde(try_from = "f64")]
pub struct Fraction(f64);

impl Fraction {
    /// The share, in (0, 1].
    pub fn get(self) -> f64 {
        self.0
    }
}

impl TryFrom<f64> for Fraction {
    type Error = ValueError;
    fn try_from(value: f64) -> Result<Self, Self::Error> {
        if value > 0.0 && value <= 1.0 {
            Ok(Fraction(value))
        } else {
            Err(ValueError(format!(
                "{value} is out of range: a share is more than 0 and at most 1 (0.8 leaves 20 % \
                 of the budget to other integrations)"
            )))
        }
    }
}

impl Default for Fraction {
    fn default() -> Self {
        Fraction(1.0)
    }
}

/// The name of an environment variable that holds a secret: `[A-Z_][A-Z0-9_]*`. A plan holds
/// names only; the error for a bad one never repeats the value, which may be a pasted secret.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct EnvVarName(String);

impl EnvVarName {
    /// The variable's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for EnvVarName {
    type Err = ValueError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut chars = text.chars();
        let valid = chars
            .next()
            .is_some_and(|c| c.is_ascii_uppercase() || c == '_')
            && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            return Err(ValueError(
                "expected the name of an environment variable (capital letters, digits and _, \
                 e.g. \"CUTOVER_OLD_TOKEN\"), never a secret itself (the value is not shown)"
                    .to_owned(),
            ));
        }
        let has_digit = text.chars().any(|c| c.is_ascii_digit());
        if text.len() >= 20 && has_digit && !text.contains('_') {
            return Err(ValueError(
                "this looks like a secret, not the name of an environment variable: put the \
                 secret in a variable and name the variable here (the value is not shown)"
                    .to_owned(),
            ));
        }
        Ok(EnvVarName(text.to_owned()))
    }
}

impl TryFrom<String> for EnvVarName {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl fmt::Display for EnvVarName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A platform account's base URL: `https`, or `http` to a local emulator; never with a user
/// name or password in it, so a plan cannot carry a secret this way either.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct BaseUrl(url::Url);

impl BaseUrl {
    /// The parsed URL.
    pub fn as_url(&self) -> &url::Url {
        &self.0
    }
}

impl FromStr for BaseUrl {
    type Err = ValueError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let url = url::Url::parse(text).map_err(|e| {
            ValueError(format!(
                "\"{text}\" is not a URL ({e}): expected e.g. \"https://acme.zendesk.com\""
            ))
        })?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ValueError(
                "the URL holds credentials: name environment variables instead (the value is not \
                 shown)"
                    .to_owned(),
            ));
        }
        let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
        match url.scheme() {
            "https" => {}
            "http" if local => {}
            _ => {
                return Err(ValueError(format!(
                    "\"{text}\": expected an https URL (http only to localhost, for emulators)"
                )));
            }
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(ValueError(format!(
                "\"{text}\": a base URL has no query or fragment"
            )));
        }
        Ok(BaseUrl(url))
    }
}

impl TryFrom<String> for BaseUrl {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

/// An e-mail address: one `@`, something on each side, a dot in the domain, no spaces.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct Email(String);

impl Email {
    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Email {
    type Err = ValueError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let valid = match text.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@')
                    && !text.chars().any(char::is_whitespace)
            }
            None => false,
        };
        if valid {
            Ok(Email(text.to_owned()))
        } else {
            Err(ValueError(format!("\"{text}\" is not an e-mail address")))
        }
    }
}

impl TryFrom<String> for Email {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a mapped value goes: a value on the new platform, or `"drop"`, an explicit decision to
/// leave it behind (listed among the inventory's losses).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub enum Target {
    /// Becomes this value on the new platform.
    To(String),
    /// Is created on the new platform under its old name (where the platform lets cutover
    /// create such a value: `plan check` says where it does not).
    Create,
    /// Is left behind on purpose.
    Drop,
}

impl Target {
    /// The new platform's value, or `None` when dropped. A value to create has no new name of
    /// its own: see [`Target::resolve`].
    pub fn value(&self) -> Option<&str> {
        match self {
            Target::To(value) => Some(value),
            Target::Create | Target::Drop => None,
        }
    }

    /// The new platform's value for the old value `old`: the name written, `old` itself when it
    /// is created, `None` when dropped.
    pub fn resolve<'a>(&'a self, old: &'a str) -> Option<&'a str> {
        match self {
            Target::To(value) => Some(value),
            Target::Create => Some(old),
            Target::Drop => None,
        }
    }
}

impl FromStr for Target {
    type Err = ValueError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "drop" => Ok(Target::Drop),
            "create" => Ok(Target::Create),
            "" => Err(ValueError(
                "an empty target: name the new platform's value, or write \"create\" or \"drop\""
                    .to_owned(),
            )),
            value => Ok(Target::To(value.to_owned())),
        }
    }
}

impl TryFrom<String> for Target {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

/// Which groups a wave moves: every group, or the named ones (by either platform's name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupSelection {
    /// `groups = "all"`.
    All,
    /// `groups = ["Billing", "Escalations"]`.
    Named(Vec<String>),
}

impl<'de> Deserialize<'de> for GroupSelection {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(GroupSelectionVisitor)
    }
}

struct GroupSelectionVisitor;

impl<'de> serde::de::Visitor<'de> for GroupSelectionVisitor {
    type Value = GroupSelection;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"all\" or a list of group names")
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Self::Value, E> {
        if value == "all" {
            Ok(GroupSelection::All)
        } else {
            Err(E::invalid_value(serde::de::Unexpected::Str(value), &self))
        }
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut names = Vec::new();
        while let Some(name) = seq.next_element::<String>()? {
            names.push(name);
        }
        Ok(GroupSelection::Named(names))
    }
}

/// The agents a wave moves: `agents = "all"`, `"by_group"` (the members of the wave's groups,
/// as discovery saw memberships; the default), or a list of the old account's agents' e-mails.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AgentSelection {
    /// `agents = "all"`.
    All,
    /// `agents = "by_group"`, or no `agents` key.
    #[default]
    ByGroup,
    /// `agents = ["ana@acme.example"]`.
    Named(Vec<Email>),
}

impl<'de> Deserialize<'de> for AgentSelection {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(AgentSelectionVisitor)
    }
}

struct AgentSelectionVisitor;

impl<'de> serde::de::Visitor<'de> for AgentSelectionVisitor {
    type Value = AgentSelection;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"all\", \"by_group\" or a list of agents' e-mails")
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Self::Value, E> {
        match value {
            "all" => Ok(AgentSelection::All),
            "by_group" => Ok(AgentSelection::ByGroup),
            _ => Err(E::invalid_value(serde::de::Unexpected::Str(value), &self)),
        }
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut emails = Vec::new();
        while let Some(email) = seq.next_element::<Email>()? {
            emails.push(email);
        }
        Ok(AgentSelection::Named(emails))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(text: &str) -> u64 {
        text.parse::<Duration>().unwrap().get().as_secs()
    }

    #[test]
    fn durations_take_one_unit_and_m_is_minutes() {
        assert_eq!(secs("60s"), 60);
        assert_eq!(secs("15m"), 900);
        assert_eq!(secs("24h"), 86_400);
        assert_eq!(secs("7d"), 604_800);
        assert_eq!(secs("2w"), 1_209_600);
        for bad in ["15x", "15", "m", "", "1.5h", "-1h", "0s", " 5m", "1 h"] {
            assert!(bad.parse::<Duration>().is_err(), "{bad:?} should not parse");
        }
        let month = "1mo".parse::<Duration>().unwrap_err().to_string();
        assert!(month.contains("30d"), "{month}");
        assert!(
            "1M".parse::<Duration>()
                .unwrap_err()
                .to_string()
                .contains("months")
        );
    }

    #[test]
    fn durations_display_in_their_largest_exact_unit() {
        for text in ["90s", "15m", "2h", "3d", "2w"] {
            assert_eq!(text.parse::<Duration>().unwrap().to_string(), text);
        }
        assert_eq!("120m".parse::<Duration>().unwrap().to_string(), "2h");
    }

    #[test]
    fn percentages_need_their_sign_and_stay_in_range() {
        assert_eq!("5%".parse::<Percent>().unwrap().get(), 5.0);
        assert_eq!("12.5%".parse::<Percent>().unwrap().get(), 12.5);
        assert!("150%".parse::<Percent>().is_err());
        assert!("5".parse::<Percent>().is_err());
        assert!("-5%".parse::<Percent>().is_err());
        assert_eq!("150%".parse::<Deviation>().unwrap().get(), 150.0);
        assert!("0%".parse::<Deviation>().is_err());
        assert!(Fraction::try_from(0.0).is_err());
        assert!(Fraction::try_from(1.01).is_err());
        assert_eq!(Fraction::try_from(0.8).unwrap().get(), 0.8);
    }

    #[test]
    fn env_var_names_never_echo_what_they_reject() {
        assert!("CUTOVER_OLD_TOKEN".parse::<EnvVarName>().is_ok());
        assert!("_X1".parse::<EnvVarName>().is_ok());
        for secret in [
            "abc123secretvalue",
            "sk-live-1234",
            "Cutover_Token",
            "9LIVES",
        ] {
            let message = secret.parse::<EnvVarName>().unwrap_err().to_string();
            assert!(!message.contains(secret), "{message}");
        }
        let looks_secret = "A1B2C3D4E5F6G7H8I9J0K1".parse::<EnvVarName>().unwrap_err();
        assert!(looks_secret.to_string().contains("looks like a secret"));
    }

    #[test]
    fn base_urls_refuse_credentials_and_plain_http() {
        assert!("https://acme.zendesk.com".parse::<BaseUrl>().is_ok());
        assert!("http://127.0.0.1:8080".parse::<BaseUrl>().is_ok());
        assert!("http://acme.zendesk.com".parse::<BaseUrl>().is_err());
        let leaked = "https://me:hunter2@acme.zendesk.com"
            .parse::<BaseUrl>()
            .unwrap_err();
        assert!(!leaked.to_string().contains("hunter2"), "{leaked}");
        assert!("acme.zendesk.com".parse::<BaseUrl>().is_err());
    }

    #[test]
    fn emails_and_targets() {
        assert!("dana@acme.example".parse::<Email>().is_ok());
        for bad in [
            "dana",
            "@acme.example",
            "dana@acme",
            "da na@acme.example",
            "a@b@c.d",
        ] {
            assert!(bad.parse::<Email>().is_err(), "{bad}");
        }
        assert_eq!("drop".parse::<Target>().unwrap(), Target::Drop);
        assert_eq!("open".parse::<Target>().unwrap().value(), Some("open"));
        assert!("".parse::<Target>().is_err());
        let create = "create".parse::<Target>().unwrap();
        assert_eq!(create, Target::Create);
        assert_eq!(create.resolve("Tier 2"), Some("Tier 2"));
        assert_eq!(Target::Drop.resolve("Tier 2"), None);
    }
}
