//! Keeps the documentation's links true: every relative link and every
//! `#anchor` in README.md, BENCHMARKS.md and docs/*.md must resolve. The file
//! must exist (relative to the linking file) and the anchor must name a
//! heading of the target under GitHub's slug rules.
//!
//! Markdown is parsed with pulldown-cmark, so a link inside a code block or a
//! code span is text, not a link. Absolute URLs (`http:`, `https:`,
//! `mailto:`) are not checked. Needs no ClickHouse.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};

/// GitHub's anchor for a heading's text: lowercase; letters, digits, `-`
/// and `_` kept; each space becomes `-`; every other character dropped.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a document's headings, in order: a repeated heading gets
/// `-1`, `-2`... after its slug, as on GitHub.
fn anchors<'a>(headings: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut used: HashSet<String> = HashSet::new();
    let mut repeats: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    for heading in headings {
        let base = slug(heading);
        let mut anchor = base.clone();
        while used.contains(&anchor) {
            let n = repeats.entry(base.clone()).or_insert(0);
            *n += 1;
            anchor = format!("{base}-{n}");
        }
        used.insert(anchor.clone());
        out.push(anchor);
    }
    out
}

fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES
}

/// A link or image target, with the line it is on.
#[derive(Debug, PartialEq)]
struct Link {
    line: usize,
    target: String,
}

/// The plain text of every heading (code spans without their backticks)
/// and every link and image target, outside code blocks and code spans.
fn parse(markdown: &str) -> (Vec<String>, Vec<Link>) {
    let mut headings = Vec::new();
    let mut links = Vec::new();
    let mut heading: Option<String> = None;
    for (event, range) in Parser::new_ext(markdown, options()).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { .. }) => heading = Some(String::new()),
            Event::End(TagEnd::Heading(_)) => headings.extend(heading.take()),
            Event::Text(text) | Event::Code(text) => {
                if let Some(h) = heading.as_mut() {
                    h.push_str(&text);
                }
            }
            Event::SoftBreak | Event::HardBreak => {
                if let Some(h) = heading.as_mut() {
                    h.push(' ');
                }
            }
            Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) => {
                let line = markdown[..range.start].matches('\n').count() + 1;
                links.push(Link {
                    line,
                    target: dest_url.to_string(),
                });
            }
            _ => {}
        }
    }
    (headings, links)
}

fn is_absolute(target: &str) -> bool {
    let lower = target.to_ascii_lowercase();
    ["http:", "https:", "mailto:"]
        .iter()
        .any(|scheme| lower.starts_with(scheme))
}

/// `%20` and friends, as a browser would read them; anything malformed is
/// left as it is.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((high * 16 + low) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `a/./b/../c` as `a/c`, without touching the file system.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Checks one document's links; returns one line per problem. `root` is
/// the repository's top, for links that start with `/`.
fn check(root: &Path, file: &Path, cache: &mut HashMap<PathBuf, Vec<String>>) -> Vec<String> {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) => return vec![format!("{}: cannot read: {e}", file.display())],
    };
    let (headings, links) = parse(&text);
    let own = anchors(headings.iter().map(String::as_str));
    let dir = file.parent().unwrap_or(root);
    let shown = file
        .strip_prefix(root)
        .unwrap_or(file)
        .display()
        .to_string();
    let mut problems = Vec::new();
    for Link { line, target } in links {
        if is_absolute(&target) {
            continue;
        }
        let (path, anchor) = match target.split_once('#') {
            Some((path, anchor)) => (path, Some(percent_decode(anchor))),
            None => (target.as_str(), None),
        };
        let path = path.split('?').next().unwrap_or_default();
        let at = format!("{shown}:{line}: `{target}`");
        if path.is_empty() {
            match anchor {
                Some(anchor) if !own.contains(&anchor) => {
                    problems.push(format!("{at}: no heading `#{anchor}` in this file"));
                }
                Some(_) => {}
                None => problems.push(format!("{at}: empty link")),
            }
            continue;
        }
        let path = percent_decode(path);
        let resolved = match path.strip_prefix('/') {
            Some(from_root) => root.join(from_root),
            None => dir.join(&path),
        };
        let resolved = normalise(&resolved);
        if !resolved.exists() {
            problems.push(format!("{at}: {} does not exist", resolved.display()));
            continue;
        }
        let Some(anchor) = anchor else { continue };
        if resolved.extension().and_then(|e| e.to_str()) != Some("md") {
            problems.push(format!(
                "{at}: an anchor into a file that is not Markdown cannot be checked"
            ));
            continue;
        }
        let targets = cache.entry(resolved.clone()).or_insert_with(|| {
            let text = std::fs::read_to_string(&resolved).unwrap_or_default();
            let (headings, _) = parse(&text);
            anchors(headings.iter().map(String::as_str))
        });
        if !targets.contains(&anchor) {
            problems.push(format!(
                "{at}: no heading `#{anchor}` in {}",
                resolved.strip_prefix(root).unwrap_or(&resolved).display()
            ));
        }
    }
    problems
}

fn repository_root() -> PathBuf {
    normalise(&Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
}

/// README.md, BENCHMARKS.md and every docs/*.md, in a stable order.
fn documents(root: &Path) -> Vec<PathBuf> {
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/ exists")
        .map(|entry| entry.expect("readable docs/ entry").path())
        .filter(|path| path.extension().and_then(|e| e.to_str()) == Some("md"))
        .collect();
    docs.sort();
    let mut all = vec![root.join("README.md"), root.join("BENCHMARKS.md")];
    all.extend(docs);
    all
}

#[test]
fn every_link_and_anchor_in_the_docs_resolves() {
    let root = repository_root();
    let documents = documents(&root);
    assert!(
        documents.len() > 10,
        "expected README.md, BENCHMARKS.md and the docs/ pages, found {documents:?}"
    );
    let mut cache = HashMap::new();
    let mut problems = Vec::new();
    let mut checked = 0;
    for document in &documents {
        let text = std::fs::read_to_string(document).expect("readable document");
        checked += parse(&text).1.len();
        problems.extend(check(&root, document, &mut cache));
    }
    assert!(
        checked > 50,
        "only {checked} links found: is parsing broken?"
    );
    assert!(
        problems.is_empty(),
        "{} broken link(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn slugs_follow_githubs_rules() {
    // Expected values written by hand from GitHub's rules: lowercase, drop
    // punctuation but `-` and `_`, each space to `-` (so a dropped
    // character between two spaces leaves `--`).
    let cases = [
        ("Delivery guarantee", "delivery-guarantee"),
        (
            "Importing events (`POST /api/import`)",
            "importing-events-post-apiimport",
        ),
        (
            "`durability = \"spool\"`: survives `kill -9`",
            "durability--spool-survives-kill--9",
        ),
        (
            "Retention, deletion and export",
            "retention-deletion-and-export",
        ),
        ("Metrics & health", "metrics--health"),
        ("Salts / upgrades", "salts--upgrades"),
        ("`[[site]]` keys", "site-keys"),
        ("`batch_max_rows`", "batch_max_rows"),
        ("What's stored?", "whats-stored"),
        ("Größe und Ü", "größe-und-ü"),
        ("  Trimmed  ", "trimmed"),
    ];
    for (heading, expected) in cases {
        let markdown = format!("## {heading}\n");
        let (headings, _) = parse(&markdown);
        assert_eq!(headings.len(), 1, "{heading}");
        assert_eq!(slug(&headings[0]), expected, "{heading}");
    }
}

#[test]
fn repeated_headings_get_numbered_anchors() {
    let markdown = "# Intro\n## Example\n## Example\n### Example\n## Example 1\n## Example-1\n";
    let (headings, _) = parse(markdown);
    let got = anchors(headings.iter().map(String::as_str));
    // The fourth heading's own slug `example-1` is taken by the second
    // `Example`, so it becomes `example-1-1`, and the fifth is the next one.
    assert_eq!(
        got,
        [
            "intro",
            "example",
            "example-1",
            "example-2",
            "example-1-1",
            "example-1-2"
        ]
    );
}

#[test]
fn links_in_code_are_not_links() {
    let markdown = "See [a](a.md).\n\n```md\n[b](b.md)\n```\n\nAnd `[c](c.md)`, ![d](d.svg).\n";
    let (_, links) = parse(markdown);
    let targets: Vec<&str> = links.iter().map(|l| l.target.as_str()).collect();
    assert_eq!(targets, ["a.md", "d.svg"]);
    assert_eq!(links[1].line, 7);
}

#[test]
fn a_broken_link_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir(root.join("docs")).unwrap();
    std::fs::write(
        root.join("docs/target.md"),
        "# Target\n## The `spool` & the queue\n## Again\n## Again\n",
    )
    .unwrap();
    let source = root.join("docs/source.md");
    std::fs::write(
        &source,
        "# Source\n\
         [fine](target.md#the-spool--the-queue)\n\
         [fine too](target.md#again-1)\n\
         [here](#source)\n\
         [up](../docs/target.md)\n\
         [web](https://example.com/missing.md)\n\
         [missing file](nowhere.md)\n\
         [missing anchor](target.md#the-spool-the-queue)\n\
         [missing own anchor](#nope)\n\
         [third again](target.md#again-2)\n\
         \n    [indented code](ignored.md)\n",
    )
    .unwrap();
    let problems = check(root, &source, &mut HashMap::new());
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(
        problems[0].contains("source.md:7: `nowhere.md`"),
        "{problems:#?}"
    );
    assert!(problems[0].contains("does not exist"), "{problems:#?}");
    assert!(
        problems[1].contains("no heading `#the-spool-the-queue` in docs/target.md"),
        "{problems:#?}"
    );
    assert!(
        problems[2].contains("no heading `#nope` in this file"),
        "{problems:#?}"
    );
    assert!(problems[3].contains("`#again-2`"), "{problems:#?}");
}
