//! What each `events` column holds, in words a site's visitor understands.
//!
//! The privacy statement ([`crate::privacy_statement`]) lists what is
//! recorded per page view from this table, not from a copy kept by hand. A
//! test reads the columns the migrations create, so a column added without a
//! description here fails the build's tests instead of going unmentioned.

use crate::privacy_statement::LocationDetail;

/// One stored column and what it tells about a visit.
#[derive(Debug, Clone, Copy)]
pub struct ColumnDoc {
    pub column: &'static str,
    pub description: &'static str,
    /// For location columns: the lookup detail at which the column is filled
    /// at all. Below it the column stays empty, and the statement says so.
    pub needs_location: Option<LocationDetail>,
}

const fn doc(column: &'static str, description: &'static str) -> ColumnDoc {
    ColumnDoc {
        column,
        description,
        needs_location: None,
    }
}

const fn located(
    column: &'static str,
    description: &'static str,
    detail: LocationDetail,
) -> ColumnDoc {
    ColumnDoc {
        column,
        description,
        needs_location: Some(detail),
    }
}

/// Every `events` column, in table order.
pub const EVENT_COLUMN_DOCS: &[ColumnDoc] = &[
    doc("timestamp", "The date and time of the page view or event, in UTC, to the second."),
    doc("site", "Which website the event belongs to (this site's domain)."),
    doc("name", "What happened: a page view, time spent on a page (an engagement event), or an event the site defines, such as a sign-up."),
    doc("hostname", "The host name of the page, such as blog.example.com, without www."),
    doc("pathname", "The path of the page, such as /pricing. The rest of the address (query parameters, fragments) is not kept, except the campaign tags below."),
    doc("visitor_id", "A number that groups one day's events of one browser on one network. It is a keyed hash that changes every day; it cannot be turned back into an address or a browser."),
    doc("referrer", "The page that linked here (host and path), when the browser sends one; empty for links within the site."),
    doc("utm_source", "The campaign tag utm_source of the page's address, if any."),
    doc("utm_medium", "The campaign tag utm_medium of the page's address, if any."),
    doc("utm_campaign", "The campaign tag utm_campaign of the page's address, if any."),
    doc("utm_content", "The campaign tag utm_content of the page's address, if any."),
    doc("utm_term", "The campaign tag utm_term of the page's address, if any."),
    doc("props_keys", "The names of custom properties the site attaches to an event, such as the plan chosen on a pricing page."),
    doc("props_values", "The values of those custom properties."),
    doc("interactive", "Whether the event came from an action on the page (1) or happened in the background (0)."),
    doc("screen_width", "The width of the browser window in pixels, as the page reports it."),
    doc("scroll_depth", "For time spent on a page: how far down it was scrolled, in percent (255 when the page did not say)."),
    doc("engagement_ms", "How long the page was in the foreground, in milliseconds."),
    doc("revenue_amount", "An amount of money the site attaches to an event (a purchase), if any."),
    doc("revenue_currency", "The currency of that amount."),
    doc("browser", "The browser's name, such as Firefox, read from the user agent; the user agent itself is not kept."),
    doc("browser_version", "The browser's major and minor version."),
    doc("os", "The operating system's name, such as Android."),
    doc("os_version", "The operating system's major and minor version."),
    doc("device", "The kind of device: desktop, mobile or tablet."),
    doc("screen_size", "A screen-size class (mobile, tablet, laptop or desktop), from the window width."),
    doc("source", "Where the visit came from, such as a search engine, a newsletter or Direct / None, from the referrer or the campaign tags."),
    doc("medium", "The kind of source, such as organic search, social or email."),
    doc("click_id_param", "The name of an advertising click-id parameter in the page's address, such as gclid; its value is never kept."),
    located("country", "The country of the visitor's network, looked up from the shortened address.", LocationDetail::Country),
    located("region", "The region (state or province) of the visitor's network, looked up from the shortened address.", LocationDetail::City),
    located("city", "The city of the visitor's network, looked up from the shortened address.", LocationDetail::City),
    doc("batch_id", "An internal number of the delivery batch that wrote the row, so that a batch is never stored twice; shared by many visitors' events."),
    doc("prev_visitor_id", "Only for events in the first 30 minutes after midnight UTC: the previous day's visitor number of the same browser, so that a visit crossing midnight counts once; 0 at any other time."),
    doc("inserted_at", "When the row was stored, by the database's clock, so that reports can tell which rows are new since they last looked."),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventRow, TableRow};
    use crate::migrate::MIGRATIONS;

    /// The `events` columns the migrations create, in order: the columns of
    /// its `CREATE TABLE` and every `ALTER TABLE events ADD COLUMN`.
    fn migrated_columns() -> Vec<String> {
        let mut columns = Vec::new();
        for migration in MIGRATIONS {
            let sql: String = migration
                .sql
                .lines()
                .filter(|line| !line.trim_start().starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n");
            for statement in sql.split(';') {
                let words: Vec<&str> = statement.split_whitespace().collect();
                columns.extend(created_columns(&words, statement));
                if let ["ALTER", "TABLE", "events", "ADD", "COLUMN", name, ..] = words[..] {
                    columns.push(name.to_owned());
                }
            }
        }
        columns
    }

    /// The column names of `CREATE TABLE [IF NOT EXISTS] events (...)`.
    fn created_columns(words: &[&str], statement: &str) -> Vec<String> {
        let creates_events = matches!(
            words,
            ["CREATE", "TABLE", "events", ..]
                | ["CREATE", "TABLE", "IF", "NOT", "EXISTS", "events", ..]
        );
        if !creates_events {
            return Vec::new();
        }
        let body = &statement[statement.find('(').expect("a column list") + 1..];
        let body = &body[..body.find(") ENGINE").expect("the list's end")];
        body.split(",\n")
            .filter_map(|line| line.split_whitespace().next())
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn every_migrated_events_column_has_a_description() {
        let documented: Vec<&str> = EVENT_COLUMN_DOCS.iter().map(|d| d.column).collect();
        let migrated = migrated_columns();
        assert_eq!(documented, migrated, "describe each new events column here");
        // The collector writes these; the server fills the rest by default.
        for (name, _) in EventRow::COLUMNS {
            assert!(documented.contains(name), "{name}");
        }
    }

    #[test]
    fn the_stitch_window_is_stated_as_the_code_has_it() {
        let minutes = crate::event::MIDNIGHT_STITCH_SECONDS / 60;
        let doc = EVENT_COLUMN_DOCS
            .iter()
            .find(|d| d.column == "prev_visitor_id")
            .unwrap();
        assert!(doc
            .description
            .contains(&format!("first {minutes} minutes")));
    }

    #[test]
    fn descriptions_are_sentences() {
        for d in EVENT_COLUMN_DOCS {
            assert!(d.description.len() > 20, "{}", d.column);
            assert!(d.description.ends_with('.'), "{}", d.column);
        }
    }
}
