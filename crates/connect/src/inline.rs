//! Inline images: the pictures a comment's HTML shows from its own attachments.
//!
//! On the platform, an inline image's `src` is the attachment's download address, which differs
//! on every platform and account. In a canonical record it is `cid:{file name}` (the e-mail
//! convention for an image carried with the message), so the same comment reads the same on both
//! sides. Writing puts back the address the target gave the uploaded copy; an image whose copy
//! has no address yet keeps its `cid:` reference, and is never dropped.

use url::Url;

use crate::outbound::UploadRef;

/// The `src` of an inline image in the canonical form.
fn cid(file_name: &str) -> String {
    format!("cid:{file_name}")
}

/// The ways a URL may be spelled inside an HTML attribute.
fn spellings(url: &str) -> [String; 2] {
    [url.to_owned(), url.replace('&', "&amp;")]
}

/// `html` with every image `src` that names one of `attachments` (download address, file name)
/// replaced by its `cid:` reference.
pub(crate) fn to_canonical<'a>(
    html: &str,
    attachments: impl IntoIterator<Item = (&'a Url, &'a str)>,
) -> String {
    let mut html = html.to_owned();
    for (url, file_name) in attachments {
        for spelled in spellings(url.as_str()) {
            for quote in ['"', '\''] {
                let from = format!("src={quote}{spelled}{quote}");
                if html.contains(&from) {
                    html = html.replace(&from, &format!("src={quote}{}{quote}", cid(file_name)));
                }
            }
        }
    }
    html
}

/// `html` with every `cid:` reference to one of `uploads` that has an address on the target
/// replaced by that address.
pub(crate) fn to_target(html: &str, uploads: &[UploadRef]) -> String {
    let addressed = uploads
        .iter()
        .filter_map(|u| u.url.as_ref().map(|url| (u.file_name.as_str(), url)));
    with_addresses(html, addressed)
}

/// `html` with the `cid:` reference of each image, by file name, replaced by its address: the
/// target's copy (see `to_target`), or the old platform's image itself when a plan keeps inline
/// images as links (`copy.inline_images = "link"`).
pub fn with_addresses<'a>(
    html: &str,
    images: impl IntoIterator<Item = (&'a str, &'a Url)>,
) -> String {
    let mut html = html.to_owned();
    for (file_name, url) in images {
        let address = url.as_str().replace('&', "&amp;");
        for quote in ['"', '\''] {
            let from = format!("src={quote}{}{quote}", cid(file_name));
            html = html.replace(&from, &format!("src={quote}{address}{quote}"));
        }
    }
    html
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly on purpose")]

    use super::*;
    use crate::outbound::UploadHandle;

    #[test]
    fn an_inline_image_goes_to_cid_and_to_the_targets_address() {
        let old = Url::parse("https://a.example/attachments/token/g7/?name=s.png&x=1").unwrap();
        let html = "<p><img src=\"https://a.example/attachments/token/g7/?name=s.png&amp;x=1\" alt=\"s\"></p>";
        let canonical = to_canonical(html, [(&old, "s.png")]);
        assert_eq!(canonical, "<p><img src=\"cid:s.png\" alt=\"s\"></p>");
        let upload = UploadRef {
            origin: None,
            file_name: "s.png".into(),
            content_type: "image/png".into(),
            size: 3,
            handle: UploadHandle::Token("t".into()),
            url: Some(Url::parse("https://b.example/attachments/token/u1/?name=s.png").unwrap()),
        };
        assert_eq!(
            to_target(&canonical, &[upload]),
            "<p><img src=\"https://b.example/attachments/token/u1/?name=s.png\" alt=\"s\"></p>"
        );
    }

    #[test]
    fn an_image_from_elsewhere_is_left_alone() {
        let old = Url::parse("https://a.example/attachments/token/g7/?name=s.png").unwrap();
        let html = "<img src=\"https://cdn.example/logo.png\">";
        assert_eq!(to_canonical(html, [(&old, "s.png")]), html);
        assert_eq!(to_target(html, &[]), html);
    }
}
