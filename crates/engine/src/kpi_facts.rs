//! What the backfill and the bridge record of each ticket they read, for the continuity
//! monitor's KPIs (see `cutover_runtime::kpi`): one upsert per ticket, from the canonical ticket
//! and, when they were read with it, its comments. Copies cutover made are left out: each side's
//! facts are of the tickets its customers opened there. And each group's name as read, which is
//! how a wave names its groups.

use cutover_model::Observed;
use cutover_model::records::{Comment, Record, Ticket};
use cutover_store::TicketReading;

use crate::apply::Applier;
use crate::error::EngineError;

impl Applier {
    /// Records the facts of `ticket` (read from the source), with `comments` when they were
    /// read (any other children among them are ignored). Nothing in a dry run, nothing for a
    /// copy cutover made.
    pub(crate) async fn record_facts(
        &self,
        ticket: &Observed,
        comments: Option<&[Observed]>,
    ) -> Result<(), EngineError> {
        if self.dry_run || ticket.origin.is_some() {
            return Ok(());
        }
        let Some(reading) = reading(ticket, comments) else {
            return Ok(());
        };
        self.store.record_ticket(&reading).await?;
        Ok(())
    }

    /// Records a customer's rating (read from the source) beside its ticket's facts.
    pub(crate) async fn record_rating(&self, rating: &Observed) -> Result<(), EngineError> {
        if self.dry_run || rating.origin.is_some() {
            return Ok(());
        }
        if let Record::SatisfactionRating(r) = &rating.record {
            self.store
                .record_satisfaction(rating.side, &r.ticket, r.score.get())
                .await?;
        }
        Ok(())
    }
}

impl Applier {
    /// Keeps a group's name (read from either side, a copy cutover made too: a wave names its
    /// groups by either platform's name), so the KPIs of a wave find its groups' ids without
    /// asking a platform. Nothing in a dry run.
    pub(crate) async fn record_group_name(&self, group: &Observed) -> Result<(), EngineError> {
        if self.dry_run {
            return Ok(());
        }
        if let Record::Group(g) = &group.record {
            self.store
                .record_group(group.side, &group.id, &g.name)
                .await?;
        }
        Ok(())
    }
}

/// The rank of a priority as platforms name it: 1 low, 2 normal (Freshdesk's medium), 3 high,
/// 4 urgent; `None` for a name of a platform's own.
pub fn priority_rank(priority: &str) -> Option<i64> {
    match priority.to_ascii_lowercase().as_str() {
        "low" => Some(1),
        "normal" | "medium" => Some(2),
        "high" => Some(3),
        "urgent" => Some(4),
        _ => None,
    }
}

/// What a reading of a ticket tells: `None` when it is not a ticket.
pub fn reading(ticket: &Observed, comments: Option<&[Observed]>) -> Option<TicketReading> {
    let Record::Ticket(t) = &ticket.record else {
        return None;
    };
    let replies: Option<Vec<&Comment>> = comments.map(|items| {
        items
            .iter()
            .filter_map(|item| match &item.record {
                Record::Comment(c) if is_agent_reply(t, c) => Some(c),
                _ => None,
            })
            .collect()
    });
    Some(TicketReading {
        side: ticket.side,
        ticket: ticket.id.clone(),
        channel: t.channel.as_str().to_owned(),
        group: t.group.as_ref().map(ToString::to_string),
        assignee: t.assignee.as_ref().map(ToString::to_string),
        priority_rank: t.priority.as_deref().and_then(priority_rank),
        created_at: t.created_at,
        first_reply_at: replies
            .as_ref()
            .and_then(|r| r.iter().map(|c| c.created_at).min()),
        agent_replies: replies
            .as_ref()
            .map(|r| i64::try_from(r.len()).unwrap_or(i64::MAX)),
        solved_at: t.solved_at,
    })
}

/// A public reply by someone other than the requester, written after the ticket was opened:
/// the canonical records do not say whether an author is an agent, a customer's own follow-ups
/// are by the requester, and the opening message is written with the ticket (by the agent who
/// opened it on the customer's behalf on Zendesk: a logged call, or a ticket made by API).
fn is_agent_reply(ticket: &Ticket, comment: &Comment) -> bool {
    comment.public && comment.author != ticket.requester && comment.created_at > ticket.created_at
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use cutover_model::records::{Channel, Comment, Record, Ticket};
    use cutover_model::{Observed, PlatformId, Side};

    use super::{priority_rank, reading};

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(s, 0).unwrap()
    }

    fn observed(id: u64, record: Record) -> Observed {
        Observed {
            side: Side::Old,
            id: PlatformId::from(id),
            updated_at: None,
            record,
            origin: None,
        }
    }

    fn comment(author: u64, public: bool, time: i64) -> Observed {
        observed(
            100 + u64::try_from(time).unwrap(),
            Record::Comment(Comment {
                ticket: PlatformId::from(1),
                author: PlatformId::from(author),
                public,
                html_body: String::new(),
                created_at: at(time),
            }),
        )
    }

    #[test]
    fn the_first_reply_is_the_first_public_comment_not_by_the_requester() {
        let ticket = observed(
            1,
            Record::Ticket(Ticket {
                subject: "s".into(),
                status: "open".into(),
                priority: Some("Medium".into()),
                ticket_type: None,
                brand: None,
                channel: Channel::Chat,
                requester: PlatformId::from(9),
                assignee: None,
                group: Some(PlatformId::from(4)),
                organization: None,
                tags: Default::default(),
                custom_fields: Default::default(),
                created_at: at(0),
                solved_at: None,
                merged_into: None,
            }),
        );
        let comments = [
            comment(5, true, 0),   // the opening message, by the agent who opened it
            comment(9, true, 10),  // the customer
            comment(5, false, 20), // a private note
            comment(5, true, 30),
            comment(6, true, 40),
        ];
        let r = reading(&ticket, Some(&comments)).unwrap();
        assert_eq!(r.first_reply_at, Some(at(30)));
        assert_eq!(r.agent_replies, Some(2));
        assert_eq!(
            (r.channel.as_str(), r.group.as_deref()),
            ("chat", Some("4"))
        );
        assert_eq!(r.priority_rank, Some(2));
        let unread = reading(&ticket, None).unwrap();
        assert_eq!((unread.first_reply_at, unread.agent_replies), (None, None));
        assert!(reading(&comments[1], None).is_none());
    }

    #[test]
    fn priorities_rank_across_platforms() {
        assert_eq!(priority_rank("urgent"), Some(4));
        assert_eq!(priority_rank("normal"), priority_rank("medium"));
        assert_eq!(priority_rank("P1"), None);
    }
}
