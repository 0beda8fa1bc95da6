//! Contacts the inbound gateway delivers: a message from a customer that opens a ticket, or
//! follows up on the customer's open one. The gateway's worker (`cutover_runtime::gateway`)
//! marks each ticket it opens with the contact ([`InboundMessage::mark`]), so a create whose
//! answer was lost is found ([`crate::Connector::find_inbound`]) rather than made twice.

use cutover_model::PlatformId;

use crate::outbound::FileUpload;

/// The prefix of the mark of a ticket the gateway opened: `cutover-contact-{id}`.
pub const CONTACT_MARK_PREFIX: &str = "cutover-contact-";

/// Who wrote: what a platform needs to find or make the requester.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Requester {
    /// A name to show, when the channel gives one.
    pub name: Option<String>,
    /// The e-mail address (e-mail and web-form channels).
    pub email: Option<String>,
    /// Another handle: a phone number (WhatsApp, voice) or a chat user id, kept as the
    /// requester's external id where the platform has one (Freshdesk's `unique_external_id`).
    pub handle: Option<String>,
}

impl Requester {
    /// The name to give a new requester: the one given, else the e-mail's local part, else the
    /// handle.
    pub fn display_name(&self) -> String {
        self.name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .or_else(|| {
                self.email
                    .as_deref()
                    .and_then(|e| e.split('@').next())
                    .map(str::to_owned)
            })
            .or_else(|| self.handle.clone())
            .unwrap_or_else(|| "customer".to_owned())
    }
}

/// One message of a customer, as the gateway delivers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMessage {
    /// The contact's mark (`cutover-contact-17`): written on a ticket it opens (Zendesk's
    /// `external_id`, a tag on Freshdesk), looked up before a create is tried again.
    pub mark: String,
    /// Who wrote.
    pub requester: Requester,
    /// The subject of a ticket it opens.
    pub subject: String,
    /// The message as plain text.
    pub text: String,
    /// The message as HTML, when the channel sent it so.
    pub html: Option<String>,
    /// Tags for a ticket it opens (the channel's kind and name).
    pub tags: Vec<String>,
    /// The files the customer sent with it (an e-mail's attachments), attached to the ticket
    /// it opens or the reply it adds: uploaded first on Zendesk (`uploads` tokens), sent in
    /// the same multipart request on Freshdesk (`attachments[]`).
    pub attachments: Vec<FileUpload>,
    /// An earlier attempt to add it may have gone through with its answer lost: a follow-up
    /// first looks for it among the ticket's comments (same text), and adds nothing if found.
    pub may_exist: bool,
}

impl InboundMessage {
    /// The mark of contact `id`.
    pub fn mark_of(id: i64) -> String {
        format!("{CONTACT_MARK_PREFIX}{id}")
    }

    /// The body as HTML: the HTML given, else the text escaped, its lines kept.
    pub fn html_body(&self) -> String {
        match &self.html {
            Some(html) if !html.trim().is_empty() => html.clone(),
            _ => {
                let escaped = self
                    .text
                    .replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;");
                format!("<p>{}</p>", escaped.replace('\n', "<br>"))
            }
        }
    }
}

/// `text` with its markup dropped and its white space collapsed: how a message is matched to a
/// comment a platform holds (which may keep it as HTML, text, or both).
pub(crate) fn comparable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl InboundMessage {
    /// Whether a comment whose body reads `body` (text or HTML) is this message.
    pub(crate) fn is_in(&self, body: &str) -> bool {
        let collapse = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
        let wanted = comparable(&self.html_body());
        let plain = collapse(&self.text);
        (!wanted.is_empty() && comparable(body) == wanted)
            || (!plain.is_empty() && collapse(body) == plain)
    }
}

/// What a follow-up came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowUp {
    /// Added to the ticket as the customer's reply.
    Added,
    /// The ticket is closed (or merged away): the message opens a new one.
    Closed,
    /// The ticket is gone (deleted): the message opens a new one.
    Gone,
}

/// The ticket a follow-up was meant for, as the platform holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TicketState {
    /// Closed for replies.
    pub(crate) closed: bool,
    /// Its requester.
    pub(crate) requester: Option<PlatformId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(text: &str) -> InboundMessage {
        InboundMessage {
            mark: InboundMessage::mark_of(7),
            requester: Requester::default(),
            subject: String::new(),
            text: text.to_owned(),
            html: None,
            tags: Vec::new(),
            attachments: Vec::new(),
            may_exist: true,
        }
    }

    #[test]
    fn a_message_is_found_in_its_comment_as_text_or_html() {
        let m = message("Any news on <order> 1234?\nThanks");
        assert!(m.is_in("Any news on <order> 1234? Thanks"));
        assert!(m.is_in("<p>Any news on &lt;order&gt; 1234?<br>Thanks</p>"));
        assert!(!m.is_in("Any news on order 1234?"));
        assert!(!message("").is_in(""));
    }
}
