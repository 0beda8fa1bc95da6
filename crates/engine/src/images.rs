//! Inline images kept as links (the plan's `copy.inline_images = "link"`): an old comment's
//! inline image is not downloaded nor uploaded again; the copied body points at it where it is
//! on the old platform, and the image itself is counted as left behind.

use std::collections::BTreeMap;

use cutover_connect::{AttachmentSource, Outbound, with_addresses};
use cutover_model::records::Record;
use cutover_model::{Observed, PlatformId, RecordKind, Side};

use crate::apply::{Applier, Outcome, Prepared};
use crate::error::EngineError;

impl Applier {
    /// When `attachment` is an inline image the plan keeps as a link: points `comment`'s body at
    /// it, and returns its outcome (left behind). `None` for any file to carry as usual.
    pub(crate) async fn keep_image_link(
        &self,
        comment: &mut Outbound,
        attachment: &Observed,
        sources: &BTreeMap<PlatformId, AttachmentSource>,
    ) -> Result<Option<Outcome>, EngineError> {
        let Record::Attachment(image) = &attachment.record else {
            return Ok(None);
        };
        let links = self
            .mapping
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .links_inline_images();
        if !links || !image.inline || attachment.side != Side::Old {
            return Ok(None);
        }
        let Some(source) = sources.get(&attachment.id) else {
            return Ok(None);
        };
        let parent = (RecordKind::Comment, comment.origin.id.clone());
        let outcome = match self.prepare_with(attachment, Some(&parent)).await? {
            Prepared::Done(outcome) => outcome,
            Prepared::Ready(_) => return Ok(None),
        };
        if let Record::Comment(c) = &mut comment.record {
            c.html_body = with_addresses(&c.html_body, [(image.file_name.as_str(), &source.url)]);
        }
        Ok(Some(outcome))
    }
}
