//! Closed sets of names a plan chooses from (KPIs, alert actions, channel kinds, …), and the
//! weekly times and time zones of wave windows.
//!
//! Each set is declared once by `named_enum!`, which gives the enum, its accepted names, `FromStr`
//! with a "did you mean", `Display` and serde, so the checker and the typed plan agree.

use std::fmt;
use std::str::FromStr;

use crate::error::ValueError;

macro_rules! named_enum {
    (
        $(#[$meta:meta])* $name:ident, $what:literal {
            $($(#[$variant_meta:meta])* $variant:ident => $text:literal,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize)]
        #[serde(try_from = "String")]
        pub enum $name {
            $($(#[$variant_meta])* $variant,)*
        }

        impl $name {
            /// Every accepted name, in the order the plan reference lists them.
            pub const NAMES: &'static [&'static str] = &[$($text,)*];

            /// The name used in the plan.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }
        }

        impl FromStr for $name {
            type Err = ValueError;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                match text {
                    $($text => Ok($name::$variant),)*
                    other => Err(ValueError::unknown($what, other, Self::NAMES)),
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = ValueError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                value.parse()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named_enum! {
    /// A service KPI, computed the same way on both sides.
    Kpi, "KPI" {
        /// Time from a ticket's creation to the first public reply.
        FirstResponseTime => "first_response_time",
        /// Time from creation to solved.
        ResolutionTime => "resolution_time",
        /// Share of tickets solved with one agent reply.
        FirstContactResolution => "first_contact_resolution",
        /// Time customers wait for a reply, across the open queue.
        WaitTime => "wait_time",
        /// Open tickets.
        Backlog => "backlog",
        /// Share of solved tickets reopened.
        ReopenRate => "reopen_rate",
        /// Tickets escalated to another group or tier.
        Escalations => "escalations",
        /// Customer satisfaction: share of 4–5 ratings.
        Csat => "csat",
        /// Net promoter score.
        Nps => "nps",
        /// Share of time each channel accepts contacts.
        ChannelAvailability => "channel_availability",
        /// How fast each platform's API answers cutover's probes (90th percentile).
        ApiResponseP90 => "api_response_p90",
        /// Share of cutover's probes of each platform's API answered with a 2xx.
        ApiAvailability => "api_availability",
    }
}

impl Kpi {
    /// Whether a higher value is worse (times, backlog) rather than better (CSAT, availability).
    pub fn higher_is_worse(self) -> bool {
        matches!(
            self,
            Kpi::FirstResponseTime
                | Kpi::ResolutionTime
                | Kpi::WaitTime
                | Kpi::Backlog
                | Kpi::ReopenRate
                | Kpi::Escalations
                | Kpi::ApiResponseP90
        )
    }
}

named_enum! {
    /// What an alert does when its KPI stays worse than the baseline.
    AlertAction, "alert action" {
        /// Tell the people named in `notify`.
        Notify => "notify",
        /// Stop the current wave where it is; nothing moves back.
        PauseWave => "pause_wave",
        /// Route the current wave's traffic back to the old side.
        RollbackWave => "rollback_wave",
        /// Switch every channel that has a `backup` to it.
        BackupChannel => "backup_channel",
    }
}

named_enum! {
    /// What an inconclusive alert (too little data to tell) does besides paging.
    OnInconclusive, "on_inconclusive value" {
        /// Page the rule's people, saying it is inconclusive; the wave runs on.
        Page => "page",
        /// Page, and pause the running wave when the rule's action would hold it.
        Pause => "pause",
    }
}

#[expect(
    clippy::derivable_impls,
    reason = "named_enum! declares the enum and derives no Default"
)]
impl Default for OnInconclusive {
    fn default() -> Self {
        OnInconclusive::Page
    }
}

named_enum! {
    /// How the connection to the SMTP relay that pages people is secured.
    SmtpTls, "SMTP TLS mode" {
        /// Plain connection upgraded with STARTTLS (port 587).
        Starttls => "starttls",
        /// TLS from the first byte (port 465).
        Tls => "tls",
        /// No TLS: only for a relay on the same host or a test.
        None => "none",
    }
}

#[expect(
    clippy::derivable_impls,
    reason = "named_enum! declares the enum and derives no Default"
)]
impl Default for SmtpTls {
    fn default() -> Self {
        SmtpTls::Starttls
    }
}

named_enum! {
    /// How contacts reach the organisation.
    ChannelKind, "channel kind" {
        /// Mail to support addresses.
        Email => "email",
        /// A contact form on the website.
        WebForm => "web_form",
        /// Live chat or messaging widget.
        Chat => "chat",
        /// WhatsApp Business.
        Whatsapp => "whatsapp",
        /// Phone calls (a call webhook).
        Voice => "voice",
        /// Text messages.
        Sms => "sms",
        /// Social media messages.
        Social => "social",
        /// Tickets created by other systems through the API.
        Api => "api",
    }
}

named_enum! {
    /// Which way the bridge copies changes while both platforms are live.
    Directions, "sync direction" {
        /// Both ways: the old side stays complete, so a rollback loses nothing.
        Both => "both",
        /// Old to new only: no rollback without loss once the new side takes contacts.
        OldToNew => "old_to_new",
    }
}

named_enum! {
    /// Who wins when a field changed on both sides since the last sync.
    ConflictRule, "conflict rule" {
        /// The side that owns the record in the current wave, else the later writer.
        OwnerThenLatest => "owner_then_latest",
        /// The later writer by the platforms' own update times.
        Latest => "latest",
        /// The old side always.
        OldWins => "old_wins",
        /// The new side always.
        NewWins => "new_wins",
    }
}

named_enum! {
    /// What happens to images embedded in ticket bodies.
    InlineImages, "inline image handling" {
        /// Upload the bytes to the new platform and rewrite the links.
        Rehost => "rehost",
        /// Keep links to the old platform (they break when it is switched off).
        Link => "link",
    }
}

named_enum! {
    /// How an old agent is matched to a new one.
    MatchBy, "agent matching" {
        /// By e-mail address.
        Email => "email",
        /// By full name.
        Name => "name",
    }
}

named_enum! {
    /// What a person may do through cutover's control plane.
    AccessRole, "access role" {
        /// Read dashboards and reports.
        Viewer => "viewer",
        /// Start, pause and roll back waves; sign off gates.
        Operator => "operator",
        /// Everything, including changing the plan and managing tokens.
        Admin => "admin",
    }
}

named_enum! {
    /// Who a notice is for.
    Audience, "audience" {
        /// The organisation's customers.
        Customers => "customers",
        /// The organisation's agents.
        Agents => "agents",
        /// Both.
        Everyone => "everyone",
    }
}

named_enum! {
    /// How a notice reaches people.
    NoticeVia, "notice channel" {
        /// An e-mail.
        Email => "email",
        /// The public status page.
        StatusPage => "status_page",
        /// A message played on the phone line.
        Ivr => "ivr",
        /// A banner in the chat widget.
        ChatBanner => "chat_banner",
        /// A text message.
        Sms => "sms",
    }
}

named_enum! {
    /// A day of the week.
    Weekday, "weekday" {
        /// Monday.
        Mon => "Mon",
        /// Tuesday.
        Tue => "Tue",
        /// Wednesday.
        Wed => "Wed",
        /// Thursday.
        Thu => "Thu",
        /// Friday.
        Fri => "Fri",
        /// Saturday.
        Sat => "Sat",
        /// Sunday.
        Sun => "Sun",
    }
}

/// A time in the week, written `"Tue 20:00"` (24-hour clock, in the window's time zone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct WeekTime {
    /// The day.
    pub day: Weekday,
    /// Minutes after midnight, 0 to 1439.
    pub minute: u16,
}

impl FromStr for WeekTime {
    type Err = ValueError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let malformed = || {
            ValueError(format!(
                "\"{text}\" is not a time in the week: expected e.g. \"Tue 20:00\""
            ))
        };
        let (day, clock) = text.split_once(' ').ok_or_else(malformed)?;
        let day: Weekday = day.parse()?;
        let (hours, minutes) = clock.split_once(':').ok_or_else(malformed)?;
        let two_digits = |part: &str| part.len() == 2 && part.chars().all(|c| c.is_ascii_digit());
        if !two_digits(hours) || !two_digits(minutes) {
            return Err(malformed());
        }
        let (hours, minutes): (u16, u16) = (
            hours.parse().map_err(|_| malformed())?,
            minutes.parse().map_err(|_| malformed())?,
        );
        if hours > 23 || minutes > 59 {
            return Err(malformed());
        }
        Ok(WeekTime {
            day,
            minute: hours * 60 + minutes,
        })
    }
}

impl TryFrom<String> for WeekTime {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl fmt::Display for WeekTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:02}:{:02}",
            self.day,
            self.minute / 60,
            self.minute % 60
        )
    }
}

/// An IANA time zone name such as `"Europe/London"`, or `"UTC"`. Only its form is checked here;
/// whether the zone exists is checked where times are computed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct TimeZoneName(String);

impl TimeZoneName {
    /// The zone's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for TimeZoneName {
    type Err = ValueError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let part_ok = |part: &str| {
            part.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_+-".contains(c))
        };
        let valid = text == "UTC" || (text.contains('/') && text.split('/').all(part_ok));
        if valid {
            Ok(TimeZoneName(text.to_owned()))
        } else {
            Err(ValueError(format!(
                "\"{text}\" is not a time zone: expected an IANA name such as \"Europe/London\" \
                 or \"UTC\""
            )))
        }
    }
}

impl TryFrom<String> for TimeZoneName {
    type Error = ValueError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_with_a_hint() {
        assert_eq!(
            "pause_wave".parse::<AlertAction>(),
            Ok(AlertAction::PauseWave)
        );
        let err = "pause".parse::<AlertAction>().unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown alert action \"pause\": expected \"notify\", \"pause_wave\", \"rollback_wave\" or \"backup_channel\""
        );
        let err = "wait_tme".parse::<Kpi>().unwrap_err().to_string();
        assert!(err.contains("did you mean \"wait_time\""), "{err}");
    }

    #[test]
    fn week_times() {
        let time: WeekTime = "Tue 20:05".parse().unwrap();
        assert_eq!((time.day, time.minute), (Weekday::Tue, 20 * 60 + 5));
        assert_eq!(time.to_string(), "Tue 20:05");
        for bad in ["Tue", "Tue 24:00", "Tue 8:00", "Tuesday 20:00", "Tue 20:60"] {
            assert!(bad.parse::<WeekTime>().is_err(), "{bad}");
        }
    }

    #[test]
    fn time_zones() {
        for good in [
            "UTC",
            "Europe/London",
            "America/Argentina/Buenos_Aires",
            "Etc/GMT+1",
        ] {
            assert!(good.parse::<TimeZoneName>().is_ok(), "{good}");
        }
        for bad in ["", "London", "Europe/", "Europe London"] {
            assert!(bad.parse::<TimeZoneName>().is_err(), "{bad}");
        }
    }
}
