//! The statement as a web page: the Markdown rendered by pulldown-cmark, so
//! both forms say the same words. Raw HTML in the Markdown is shown as text,
//! never passed through, whatever a config value holds.

use pulldown_cmark::{Event, Options, Parser};

/// The page's policy: its own inline stylesheet and nothing else; no
/// script, no forms, no other resources. Framing is allowed, so a publisher
/// can embed the statement in their own policy page.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

pub fn render(markdown: &str, domain: &str) -> String {
    let events = Parser::new_ext(markdown, Options::ENABLE_TABLES).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        other => other,
    });
    let mut body = String::new();
    pulldown_cmark::html::push_html(&mut body, events);
    // The domain passed config validation, but the title is escaped anyway.
    let title = domain
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    PAGE.replace("{title}", &title).replace("{body}", &body)
}

const PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Privacy statement: analytics on {title}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}</style>
</head><body>
{body}</body></html>
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_the_markdown_is_shown_not_run() {
        let page = render("Hi <script>alert(1)</script> *there*\n", "a.example");
        assert!(
            page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{page}"
        );
        assert!(page.contains("<em>there</em>"), "{page}");
        assert!(!page.contains("<script>"));
    }
}
