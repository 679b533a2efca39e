//! The statement as Markdown: paragraphs a publisher can paste into their
//! own privacy policy, then a table of the recorded fields.
//!
//! Values from the config pass through [`escape`], so a controller named
//! `*Acme* <b>` reads as written and cannot add formatting or markup.

use super::facts::{Facts, LocationDetail, IPV4_PREFIX_BITS, IPV6_PREFIX_BITS, SALT_LIFETIME_DAYS};
use crate::config::ContactKind;
use crate::event::MIDNIGHT_STITCH_SECONDS;
use crate::event_docs::{ColumnDoc, EVENT_COLUMN_DOCS};
use std::fmt::Write;

pub fn render(f: &Facts) -> String {
    let controller = escape(&f.privacy.controller);
    let domain = escape(&f.domain);
    let mut out = format!("# Privacy statement: analytics on {domain}\n\n");
    let mut para = |title: &str, text: String| {
        let _ = write!(out, "**{title}** {text}\n\n");
    };
    para("Analytics.", overview(f, &domain, &controller));
    para("What is never recorded.", never_recorded(f));
    para("How visitors are counted.", counting());
    para("Location.", location(f.location));
    para("How long data is kept.", retention(f));
    if let Some(k) = f.min_visitors {
        para("Small numbers.", small_numbers(k));
    }
    para("Do Not Track and Global Privacy Control.", signals(f));
    para("How to opt out.", opt_out(f));
    para("Who processes the data.", processor(f, &controller));
    para("Requests for your data.", requests(f, &controller));
    out.push_str("## What is recorded per page view\n\n");
    out.push_str(&table(f.location));
    out
}

fn overview(f: &Facts, domain: &str, controller: &str) -> String {
    format!(
        "{domain} measures how it is used with a privacy-preserving analytics service run by \
         {controller}. It records page views and a few events without identifying you: it sets \
         no tracking cookie, keeps no IP address, and shares nothing with third parties. The \
         sections below say exactly what is recorded and for how long{}.",
        if f.respect_dnt || f.respect_gpc {
            ", and which browser signals turn it off"
        } else {
            ""
        }
    )
}

fn never_recorded(f: &Facts) -> String {
    format!(
        "Your IP address; your browser's user agent; any cookie or local storage, other than \
         the opt-out cookie ({}), which holds only your choice; any identifier that follows \
         you from one site to another or from one day to the next. Visitor numbers change at \
         midnight UTC; only events in the first {} minutes after it also carry the previous \
         day's number, so that a visit crossing midnight counts once.",
        escape(&f.optout_cookie),
        MIDNIGHT_STITCH_SECONDS / 60
    )
}

fn counting() -> String {
    format!(
        "Your network address is first shortened to its first {IPV4_PREFIX_BITS} bits (IPv4) \
         or {IPV6_PREFIX_BITS} bits (IPv6), which a whole network shares. The shortened address \
         and your browser's user agent are combined into a keyed hash, under a random key that \
         changes every day at midnight UTC and is erased after at most {SALT_LIFETIME_DAYS} days. \
         The hash tells that two page views of one day came from the same browser on the same \
         network; neither the \
         address nor the user agent is kept. Once the day's key is erased, no one can compute \
         the hash again, so one person cannot be followed from one day to the next."
    )
}

fn location(detail: LocationDetail) -> String {
    match detail {
        LocationDetail::Off => {
            "No location is recorded: no location database is configured.".to_owned()
        }
        LocationDetail::Country => "Only the country is recorded, looked up from the shortened \
             address; region and city are not."
            .to_owned(),
        LocationDetail::City => "The country, region and city are recorded, looked up from the \
             shortened address: they say where your network is registered, not where you are."
            .to_owned(),
    }
}

fn retention(f: &Facts) -> String {
    let months = match f.retention_months() {
        0 => "less than a month".to_owned(),
        1 => "about 1 month".to_owned(),
        m => format!("about {m} months"),
    };
    let days = f.retention_days;
    let unit = if days == 1 { "day" } else { "days" };
    format!(
        "Page views and events are kept for {days} {unit} ({months}) after the day they \
         happen, then erased automatically."
    )
}

/// Only with a threshold: without one, reports may show a group of one.
fn small_numbers(k: u32) -> String {
    format!(
        "The reports never show a count of fewer than {k} visitors: a smaller group (one page, \
         one city, one day) is merged into an \"(other)\" row or shown as \"fewer than {k}\", \
         so that no one reading the reports can single out a handful of visitors."
    )
}

fn signals(f: &Facts) -> String {
    const DNT: &str = "Do Not Track (`DNT: 1`)";
    const GPC: &str = "Global Privacy Control (`Sec-GPC: 1`)";
    match (f.respect_dnt, f.respect_gpc) {
        (true, true) => {
            format!("If your browser sends {DNT} or {GPC}, your visits are not recorded at all.")
        }
        (true, false) => format!(
            "If your browser sends {DNT}, your visits are not recorded at all. {GPC} is not \
             acted on for this site: visits that send it are recorded as described here."
        ),
        (false, true) => format!(
            "If your browser sends {GPC}, your visits are not recorded at all. {DNT} is not \
             acted on for this site: visits that send it are recorded as described here."
        ),
        (false, false) => format!(
            "This site records visits as described here whether or not your browser sends \
             {DNT} or {GPC}."
        ),
    }
}

fn opt_out(f: &Facts) -> String {
    format!(
        "On [the opt-out page]({}), one button stops this browser's visits to this site from \
         being recorded. It sets \
         the opt-out cookie, which says only \"do not count me\"; clearing your cookies undoes \
         it.",
        f.optout_url
    )
}

fn processor(f: &Facts, controller: &str) -> String {
    let stored = match &f.privacy.hosting_location {
        Some(place) => format!(" The data is stored in {}.", escape(place)),
        None => String::new(),
    };
    format!(
        "{controller} runs the analytics service and decides what the data is used for \
         (contact: {}). No third party receives it: it is not shared, sold or sent \
         elsewhere.{stored}",
        contact(f)
    )
}

fn requests(f: &Facts, controller: &str) -> String {
    format!(
        "{controller} cannot find the records of a particular visitor: nothing stored names \
         you, and the key behind each day's visitor numbers is erased after at most \
         {SALT_LIFETIME_DAYS} days, after which nothing links a record to anyone. Requests to \
         access, correct or erase your analytics data therefore cannot be matched to any \
         records. Article 11 \
         of the GDPR provides that a controller who cannot identify a person need not keep or \
         obtain extra information only to do so, and that the rights of access, rectification, \
         erasure, restriction and portability (Articles 15 to 20) then apply only if the person \
         provides information that makes identification possible. This describes how the \
         service works, not legal advice. Questions are welcome at {}.",
        contact(f)
    )
}

fn contact(f: &Facts) -> String {
    let c = &f.privacy.contact;
    match f.contact_kind {
        // Validation keeps anything that could end a link out of both.
        ContactKind::Email => format!("[{}](mailto:{c})", escape(c)),
        ContactKind::Url => format!("<{c}>"),
    }
}

fn table(location: LocationDetail) -> String {
    let mut out = String::from("| Field | What it holds |\n|---|---|\n");
    for doc in EVENT_COLUMN_DOCS {
        let _ = writeln!(out, "| `{}` | {} |", doc.column, describe(doc, location));
    }
    out
}

fn describe(doc: &ColumnDoc, location: LocationDetail) -> String {
    match doc.needs_location {
        Some(needed) if location < needed => format!(
            "{} Always empty on this site: {}.",
            doc.description,
            match location {
                LocationDetail::Off => "no location database is configured",
                _ => "the location database holds countries only",
            }
        ),
        _ => doc.description.to_owned(),
    }
}

/// Backslash-escapes what Markdown would read as formatting, links, tables
/// or markup: config text then renders exactly as written.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if "\\`*_[]<>|&!#~".contains(ch) {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}
