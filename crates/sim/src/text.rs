//! Text helpers both emulators need: the plain-text twin of an HTML body (Zendesk's `body` from
//! `html_body`, Freshdesk's `description_text` and `body_text`), and names made from labels.

/// A label in snake case, as both platforms make names from labels (Freshdesk's field names,
/// Zendesk's option tags and field keys): lower case, every run of other characters one `_`,
/// none at either end (`Billing question` → `billing_question`).
pub fn snake_case(label: &str) -> String {
    let mut snake = String::new();
    for c in label.trim().chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            snake.push(c);
        } else if !snake.ends_with('_') {
            snake.push('_');
        }
    }
    snake.trim_matches('_').to_owned()
}

/// Text of an HTML fragment: tags dropped, the common entities (`&lt;`, `&gt;`, `&quot;`,
/// `&amp;`) decoded, surrounding white space trimmed.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::html_to_text;

    #[test]
    fn drops_tags_and_decodes_entities() {
        assert_eq!(html_to_text("<p>Hi &amp; <b>bye</b></p>"), "Hi & bye");
        assert_eq!(html_to_text("  a &lt;b&gt; &quot;c&quot; "), "a <b> \"c\"");
    }
}
