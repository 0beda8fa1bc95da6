//! The log of e-mails a platform would have sent to customers: acknowledgements, public replies,
//! solved notices. Tests read it at `GET /_sim/notifications` to prove that history imports
//! e-mailed nobody.

use serde::Serialize;

/// One e-mail the platform would have sent.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Notification {
    /// Position in the log, from 1.
    pub id: u64,
    /// What caused it, e.g. `ticket_received`, `comment_added`, `ticket_solved`.
    pub kind: String,
    /// The ticket it is about.
    pub ticket_id: Option<u64>,
    /// The recipient's user id.
    pub recipient_id: Option<u64>,
    /// The recipient's address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub body: String,
    /// When it was sent (RFC 3339).
    pub created_at: String,
    /// The rule that sent it, e.g. a trigger's title.
    pub rule: String,
}

/// The notifications sent so far, oldest first.
#[derive(Debug, Default, Clone)]
pub struct NotificationLog {
    items: Vec<Notification>,
}

impl NotificationLog {
    /// Records one notification; its `id` is assigned here.
    pub fn push(&mut self, mut notification: Notification) -> u64 {
        let id = self.items.len() as u64 + 1;
        notification.id = id;
        self.items.push(notification);
        id
    }

    /// All notifications, optionally only those about one ticket.
    pub fn list(&self, ticket_id: Option<u64>) -> Vec<Notification> {
        self.items
            .iter()
            .filter(|n| ticket_id.is_none_or(|t| n.ticket_id == Some(t)))
            .cloned()
            .collect()
    }

    /// How many were sent.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether none was sent.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Forgets them all.
    pub fn clear(&mut self) {
        self.items.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(ticket: u64) -> Notification {
        Notification {
            id: 0,
            kind: "ticket_received".into(),
            ticket_id: Some(ticket),
            recipient_id: Some(1),
            to: "a@example.com".into(),
            subject: "s".into(),
            body: "b".into(),
            created_at: "2024-01-01T00:00:00Z".into(),
            rule: "r".into(),
        }
    }

    #[test]
    fn ids_follow_order_and_filter_by_ticket() {
        let mut log = NotificationLog::default();
        assert_eq!(log.push(sample(5)), 1);
        assert_eq!(log.push(sample(6)), 2);
        assert_eq!(log.list(Some(6)).len(), 1);
        assert_eq!(log.list(None).len(), 2);
        log.clear();
        assert!(log.is_empty());
    }
}
