//! End to end: GA4's BigQuery export as Parquet (`bq extract
//! --destination_format PARQUET`), imported with `schema import ga4` and
//! read back through the Stats API with `include.imports`.
//!
//! The fixture is written here with the `parquet` crate's column writer,
//! as BigQuery lays the export out: STRING as `binary (STRING)`, INT64 as
//! `int64`, FLOAT64 as `double`, a RECORD as an optional group and a
//! REPEATED RECORD (`event_params`, `user_properties`, `items`) as a
//! repeated group; once more with list inference, where a repeated record
//! is a `LIST` whose items sit under `list`/`element`; and once with those
//! three levels but no `LIST` annotation (the wrappers the importer strips
//! itself). The same events are also written as BigQuery's NDJSON (INT64
//! as JSON strings), and all four must store identical daily totals. Every expected number
//! is worked out by hand from the fixture below, not by the importer.
//!
//! # The fixture (2024-04-01 = D1, 2024-04-02 = D2, UTC; one file a day)
//! - Visit A: user U1, D1 10:00-10:04, Germany, desktop Chrome on Windows,
//!   from google.com; pageviews `/` and `/pricing`, a `purchase` event
//!   (with a `value` in `double_value`) that says `session_engaged` = 1 in
//!   `int_value`. Duration 240 s.
//! - Visit B: user U2, D1 12:00, France, mobile Safari on iOS, tagged
//!   utm_source=newsletter, medium email, campaign spring; one pageview
//!   `/`, never engaged: a bounce. Duration 0.
//! - Visit C: user U3, D1 23:58 to D2 00:02 (crosses midnight), United
//!   States, desktop Firefox on Linux, from news.ycombinator.com; pageviews
//!   `/blog` (D1) and `/blog/post` (D2, `session_engaged` = "1" in
//!   `string_value`). Counts as a D1 visit of 240 s.
//! - Visit D: user U1 again, D2 09:00-09:01, Germany, direct; one pageview
//!   `/` and a `user_engagement` (GA4's bookkeeping, 5 s engaged time, a
//!   `float_value` param) without `session_engaged`: a bounce of 60 s.
//!
//! By hand:
//! - D1: visitors U1, U2, U3 = 3; pageviews A 2 + B 1 + C 1 = 4; events
//!   4 + purchase = 5; visits A, B, C = 3; bounces 1 (B); duration
//!   240 + 0 + 240 = 480.
//! - D2: visitors U3 (its `/blog/post`) and U1 (D) = 2; pageviews 2; events
//!   2; visits 1 (D); bounces 1; duration 60.
//! - Both days: visitors 3 + 2 = 5, visits 4, pageviews 6, bounce rate
//!   2/4 = 50 %, visit duration (480 + 60) / 4 = 135 s, events 7.

use chrono::{TimeZone, Utc};
use integration_tests::query_harness::serve;
use integration_tests::*;
use parquet::column::writer::ColumnWriter;
use parquet::data_type::ByteArray;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use parquet::schema::types::Type;
use schema::import::{self, store, Format, ImportError, Options};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

const D1: &str = "20240401";
const D2: &str = "20240402";
/// Where the third layout is imported: a site only its totals are read from.
const UNANNOTATED_SITE: &str = "unannotated.example";
const U1: &str = "1846298733.1711965600";
const U2: &str = "2093846151.1711972800";
const U3: &str = "3311559026.1712015880";

/// GA4's export columns in BigQuery's order (a subset: the ones the import
/// reads and a few beside them, so that unread columns, nulls and empty
/// repeated records are in the file too). `{params}` and `{items}` are
/// the repeated records, laid out by [`Layout`].
const SCHEMA: &str = "
message schema {
  optional binary event_date (STRING);
  optional int64 event_timestamp;
  optional binary event_name (STRING);
  {params}
  optional int64 event_previous_timestamp;
  optional double event_value_in_usd;
  optional binary user_id (STRING);
  optional binary user_pseudo_id (STRING);
  {user_properties}
  optional int64 user_first_touch_timestamp;
  optional group device {
    optional binary category (STRING);
    optional binary mobile_brand_name (STRING);
    optional binary operating_system (STRING);
    optional binary operating_system_version (STRING);
    optional binary language (STRING);
    optional group web_info {
      optional binary browser (STRING);
      optional binary browser_version (STRING);
      optional binary hostname (STRING);
    }
  }
  optional group geo {
    optional binary city (STRING);
    optional binary country (STRING);
    optional binary continent (STRING);
    optional binary region (STRING);
  }
  optional group traffic_source {
    optional binary name (STRING);
    optional binary medium (STRING);
    optional binary source (STRING);
  }
  optional binary stream_id (STRING);
  optional binary platform (STRING);
  {items}
  optional group collected_traffic_source {
    optional binary manual_campaign_id (STRING);
    optional binary manual_campaign_name (STRING);
    optional binary manual_source (STRING);
    optional binary manual_medium (STRING);
    optional binary manual_term (STRING);
    optional binary manual_content (STRING);
    optional binary gclid (STRING);
  }
}";

/// A key/value record, as `event_params` and `user_properties` hold.
const PARAM: &str = "
    optional binary key (STRING);
    optional group value {
      optional binary string_value (STRING);
      optional int64 int_value;
      optional double float_value;
      optional double double_value;
    }";

const ITEM: &str = "
    optional binary item_id (STRING);
    optional binary item_name (STRING);
    optional double price;
    optional int64 quantity;";

/// How a REPEATED RECORD is written.
#[derive(Debug, Clone, Copy)]
enum Layout {
    /// BigQuery's default: a bare repeated group.
    Repeated,
    /// With list inference: `optional group x (LIST) { repeated group
    /// list { optional group element { ... } } }`.
    List,
    /// The same three levels without the `LIST` annotation, as a writer
    /// that drops it leaves them: the reader then sees the `list` and
    /// `element` wrappers as plain records.
    ListUnannotated,
}

impl Layout {
    fn schema(self) -> Type {
        let record = |name: &str, fields: &str| match self {
            Layout::Repeated => format!("repeated group {name} {{{fields}\n  }}"),
            Layout::List | Layout::ListUnannotated => format!(
                "optional group {name} {annotation}{{ repeated group list {{ \
                 optional group element {{{fields}\n  }} }} }}",
                annotation = if matches!(self, Layout::List) {
                    "(LIST) "
                } else {
                    ""
                }
            ),
        };
        let text = SCHEMA
            .replace("{params}", &record("event_params", PARAM))
            .replace("{user_properties}", &record("user_properties", PARAM))
            .replace("{items}", &record("items", ITEM));
        parse_message_type(&text).expect("the fixture's schema parses")
    }

    /// The records of a row as this layout nests them.
    fn records(self, items: Vec<Value>) -> Value {
        match self {
            Layout::Repeated => Value::Array(items),
            Layout::List | Layout::ListUnannotated => json!({
                "list": items.into_iter().map(|e| json!({"element": e})).collect::<Vec<_>>()
            }),
        }
    }
}

/// A parameter's value in the column BigQuery puts it in.
#[derive(Debug, Clone)]
enum Val {
    Str(String),
    Int(i64),
    Float(f64),
    Double(f64),
}

/// What differs between the fixture's events; everything else is fixed.
#[derive(Clone)]
struct Ev {
    day: &'static str,
    us: i64,
    name: &'static str,
    user: &'static str,
    session: i64,
    page: &'static str,
    referrer: &'static str,
    extra: Vec<(&'static str, Val)>,
    device: (&'static str, &'static str, &'static str),
    country: &'static str,
    tags: Option<(&'static str, &'static str, &'static str)>,
}

const DESKTOP_CHROME: (&str, &str, &str) = ("desktop", "Chrome", "Windows");
const MOBILE_SAFARI: (&str, &str, &str) = ("mobile", "Safari", "iOS");
const DESKTOP_FIREFOX: (&str, &str, &str) = ("desktop", "Firefox", "Linux");

/// Microseconds of `day` (D1 or D2) at `h:m`.
fn at(day: &str, h: u32, m: u32) -> i64 {
    let d = if day == D1 { 1 } else { 2 };
    Utc.with_ymd_and_hms(2024, 4, d, h, m, 0)
        .unwrap()
        .timestamp()
        * 1_000_000
}

fn ev(day: &'static str, us: i64, name: &'static str, user: &'static str, session: i64) -> Ev {
    Ev {
        day,
        us,
        name,
        user,
        session,
        page: "/",
        referrer: "",
        extra: Vec::new(),
        device: DESKTOP_CHROME,
        country: "Germany",
        tags: None,
    }
}

fn day1() -> Vec<Ev> {
    let google = "https://www.google.com/";
    let hn = "https://news.ycombinator.com/item?id=1";
    let a = |us, name, page| Ev {
        page,
        referrer: google,
        ..ev(D1, us, name, U1, 1_711_965_600)
    };
    let b = |us, name| Ev {
        device: MOBILE_SAFARI,
        country: "France",
        tags: Some(("newsletter", "email", "spring")),
        ..ev(D1, us, name, U2, 1_711_972_800)
    };
    let c = |us, name| Ev {
        page: "/blog",
        referrer: hn,
        device: DESKTOP_FIREFOX,
        country: "United States",
        ..ev(D1, us, name, U3, 1_712_015_880)
    };
    let purchase = Ev {
        extra: vec![
            ("session_engaged", Val::Int(1)),
            ("value", Val::Double(9.99)),
            ("currency", Val::Str("EUR".into())),
        ],
        ..a(at(D1, 10, 4), "purchase", "/pricing")
    };
    vec![
        a(at(D1, 10, 0), "session_start", "/"),
        a(at(D1, 10, 0), "page_view", "/"),
        a(at(D1, 10, 2), "page_view", "/pricing"),
        purchase,
        b(at(D1, 12, 0), "session_start"),
        b(at(D1, 12, 0), "page_view"),
        c(at(D1, 23, 58), "session_start"),
        c(at(D1, 23, 58), "page_view"),
    ]
}

fn day2() -> Vec<Ev> {
    let c = Ev {
        page: "/blog/post",
        device: DESKTOP_FIREFOX,
        country: "United States",
        extra: vec![("session_engaged", Val::Str("1".into()))],
        ..ev(D2, at(D2, 0, 2), "page_view", U3, 1_712_015_880)
    };
    let d = |us, name| ev(D2, us, name, U1, 1_712_048_400);
    let engagement = Ev {
        extra: vec![
            ("engagement_time_msec", Val::Int(5_000)),
            ("percent_scrolled", Val::Float(0.5)),
        ],
        ..d(at(D2, 9, 1), "user_engagement")
    };
    vec![
        c,
        d(at(D2, 9, 0), "session_start"),
        d(at(D2, 9, 0), "page_view"),
        engagement,
    ]
}

/// How INT64 is written: a number in Parquet, a string in BigQuery's JSON.
type Int64 = fn(i64) -> Value;

fn param(key: &str, v: Val, int64: Int64) -> Value {
    let value = match v {
        Val::Str(s) => json!({"string_value": s}),
        Val::Int(n) => json!({"int_value": int64(n)}),
        Val::Float(f) => json!({"float_value": f}),
        Val::Double(f) => json!({"double_value": f}),
    };
    json!({"key": key, "value": value})
}

/// One event as a row of the export.
fn row(e: &Ev, int64: Int64, layout: Layout) -> Value {
    let mut params = vec![
        ("ga_session_id", Val::Int(e.session)),
        ("ga_session_number", Val::Int(1)),
        ("page_title", Val::Str("Example".into())),
        (
            "page_location",
            Val::Str(format!("https://example.com{}", e.page)),
        ),
    ];
    if !e.referrer.is_empty() {
        params.push(("page_referrer", Val::Str(e.referrer.into())));
    }
    params.extend(e.extra.iter().cloned());
    let params = params
        .into_iter()
        .map(|(k, v)| param(k, v, int64))
        .collect();
    let (category, browser, os) = e.device;
    let mut row = json!({
        "event_date": e.day,
        "event_timestamp": int64(e.us),
        "event_name": e.name,
        "event_params": layout.records(params),
        "event_previous_timestamp": null,
        "event_value_in_usd": null,
        "user_id": null,
        "user_pseudo_id": e.user,
        "user_properties": layout.records(vec![]),
        "user_first_touch_timestamp": int64(e.us),
        "device": {"category": category, "mobile_brand_name": null, "operating_system": os,
                   "operating_system_version": null, "language": "en-us",
                   "web_info": {"browser": browser, "browser_version": "1.0",
                                "hostname": "example.com"}},
        "geo": {"city": "", "country": e.country, "continent": "", "region": ""},
        "traffic_source": {"name": "(direct)", "medium": "(none)", "source": "(direct)"},
        "stream_id": "4242",
        "platform": "WEB",
        "items": layout.records(vec![]),
        "collected_traffic_source": null,
    });
    if e.name == "purchase" {
        row["items"] = layout.records(vec![json!({
            "item_id": "plan-pro", "item_name": "Pro", "price": 9.99, "quantity": int64(1)
        })]);
    }
    if let Some((source, medium, campaign)) = e.tags {
        row["collected_traffic_source"] = json!({
            "manual_campaign_name": campaign, "manual_source": source, "manual_medium": medium,
        });
    }
    row
}

/// One leaf column's values and levels, as Parquet stores a column.
#[derive(Default)]
struct Column {
    values: Vec<Value>,
    defs: Vec<i16>,
    reps: Vec<i16>,
}

/// Where a value sits: the repetition level its first leaf value takes,
/// the definition level reached so far, and how many repeated fields
/// enclose it.
#[derive(Clone, Copy)]
struct Levels {
    rep: i16,
    def: i16,
    depth: i16,
}

/// Splits one row into its leaf columns (Dremel's record shredding).
/// `next` is the index of the next leaf column.
fn shred(field: &Type, value: Option<&Value>, at: Levels, cols: &mut [Column], next: &mut usize) {
    use parquet::basic::Repetition;
    let value = value.filter(|v| !v.is_null());
    match field.get_basic_info().repetition() {
        Repetition::REQUIRED => present(field, value.expect("a required value"), at, cols, next),
        Repetition::OPTIONAL => match value {
            Some(v) => present(
                field,
                v,
                Levels {
                    def: at.def + 1,
                    ..at
                },
                cols,
                next,
            ),
            None => absent(field, at, cols, next),
        },
        Repetition::REPEATED => {
            let items = value.and_then(Value::as_array).filter(|a| !a.is_empty());
            let Some(items) = items else {
                return absent(field, at, cols, next);
            };
            let start = *next;
            for (i, item) in items.iter().enumerate() {
                *next = start;
                let rep = if i == 0 { at.rep } else { at.depth + 1 };
                let inner = Levels {
                    rep,
                    def: at.def + 1,
                    depth: at.depth + 1,
                };
                present(field, item, inner, cols, next);
            }
        }
    }
}

fn present(field: &Type, value: &Value, at: Levels, cols: &mut [Column], next: &mut usize) {
    if field.is_group() {
        for child in field.get_fields() {
            shred(child, value.get(child.name()), at, cols, next);
        }
        return;
    }
    let col = &mut cols[*next];
    col.values.push(value.clone());
    col.defs.push(at.def);
    col.reps.push(at.rep);
    *next += 1;
}

/// A null (or empty list) at `field`: every leaf under it gets the levels
/// reached so far and no value.
fn absent(field: &Type, at: Levels, cols: &mut [Column], next: &mut usize) {
    if field.is_group() {
        for child in field.get_fields() {
            absent(child, at, cols, next);
        }
        return;
    }
    let col = &mut cols[*next];
    col.defs.push(at.def);
    col.reps.push(at.rep);
    *next += 1;
}

/// Writes `rows` to `path` as Parquet in `layout`, snappy-compressed as
/// BigQuery writes it, `per_group` rows to a row group.
fn write_parquet(path: &Path, rows: &[Value], layout: Layout, per_group: usize) {
    let schema = Arc::new(layout.schema());
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(parquet::basic::Compression::SNAPPY)
            .build(),
    );
    let file = std::fs::File::create(path).unwrap();
    let mut writer = SerializedFileWriter::new(file, schema.clone(), props).unwrap();
    let leaves = writer.schema_descr().num_columns();
    for group in rows.chunks(per_group) {
        let mut cols: Vec<Column> = (0..leaves).map(|_| Column::default()).collect();
        for row in group {
            let mut next = 0;
            let top = Levels {
                rep: 0,
                def: 0,
                depth: 0,
            };
            for field in schema.get_fields() {
                shred(field, row.get(field.name()), top, &mut cols, &mut next);
            }
            assert_eq!(next, leaves, "every leaf column written once");
        }
        let mut rg = writer.next_row_group().unwrap();
        for col in &cols {
            let mut w = rg.next_column().unwrap().expect("a column per leaf");
            write_column(w.untyped(), col);
            w.close().unwrap();
        }
        rg.close().unwrap();
    }
    writer.close().unwrap();
}

fn write_column(w: &mut ColumnWriter<'_>, col: &Column) {
    let levels = (Some(col.defs.as_slice()), Some(col.reps.as_slice()));
    match w {
        ColumnWriter::ByteArrayColumnWriter(w) => {
            let v: Vec<ByteArray> = col
                .values
                .iter()
                .map(|v| ByteArray::from(v.as_str().expect("a string")))
                .collect();
            w.write_batch(&v, levels.0, levels.1).unwrap();
        }
        ColumnWriter::Int64ColumnWriter(w) => {
            let v: Vec<i64> = col
                .values
                .iter()
                .map(|v| v.as_i64().expect("an integer"))
                .collect();
            w.write_batch(&v, levels.0, levels.1).unwrap();
        }
        ColumnWriter::DoubleColumnWriter(w) => {
            let v: Vec<f64> = col
                .values
                .iter()
                .map(|v| v.as_f64().expect("a number"))
                .collect();
            w.write_batch(&v, levels.0, levels.1).unwrap();
        }
        _ => unreachable!("the fixture has strings, integers and doubles only"),
    }
}

fn int64_as_number(n: i64) -> Value {
    json!(n)
}

/// BigQuery's JSON export writes INT64 as a string.
fn int64_as_text(n: i64) -> Value {
    json!(n.to_string())
}

/// The two days as Parquet in `layout`, one file a day, under `dir`.
fn write_days_parquet(dir: &Path, layout: Layout) -> Vec<PathBuf> {
    [(D1, day1()), (D2, day2())]
        .into_iter()
        .map(|(day, events)| {
            let rows: Vec<Value> = events
                .iter()
                .map(|e| row(e, int64_as_number, layout))
                .collect();
            let path = dir.join(format!("events_{day}_{layout:?}.parquet"));
            // Three rows to a row group: D1's file has three groups.
            write_parquet(&path, &rows, layout, 3);
            path
        })
        .collect()
}

/// The two days as BigQuery's newline-delimited JSON.
fn write_days_ndjson(dir: &Path) -> Vec<PathBuf> {
    [(D1, day1()), (D2, day2())]
        .into_iter()
        .map(|(day, events)| {
            let text: String = events
                .iter()
                .map(|e| format!("{}\n", row(e, int64_as_text, Layout::Repeated)))
                .collect();
            let path = dir.join(format!("events_{day}.json"));
            std::fs::write(&path, text).unwrap();
            path
        })
        .collect()
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 4, 10, 12, 0, 0).unwrap()
}

fn query(site: &str, extra: Value) -> Value {
    let mut body = json!({
        "site_id": site,
        "metrics": ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration", "events"],
        "date_range": ["2024-04-01", "2024-04-03"],
        "include": {"imports": true},
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

/// `dimension value -> first metric`, sorted by value.
fn breakdown(answer: &Value) -> Vec<(String, u64)> {
    let mut rows: Vec<(String, u64)> = answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["dimensions"][0].as_str().unwrap().to_owned(),
                r["metrics"][0].as_u64().unwrap(),
            )
        })
        .collect();
    rows.sort();
    rows
}

fn strs(rows: &[(&str, u64)]) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = rows.iter().map(|(s, n)| (s.to_string(), *n)).collect();
    v.sort();
    v
}

/// A site's stored daily totals, without the site and import id.
async fn stored(db: &schema::Db, site: &str) -> String {
    db.fetch_tsv(&format!(
        "SELECT day, dim, value, visitors, visits, pageviews, events, bounces, duration, \
         visit_pageviews, time_on_page FROM imported_stats WHERE site = '{site}' \
         ORDER BY dim, day, value"
    ))
    .await
    .unwrap()
}

#[tokio::test]
async fn a_parquet_export_gives_the_totals_worked_out_by_hand_and_those_of_ndjson() {
    let (service, db, _config) = serve(|_| {}, now()).await;
    let dir = tempfile::tempdir().unwrap();
    let repeated = write_days_parquet(dir.path(), Layout::Repeated);
    let listed = write_days_parquet(dir.path(), Layout::List);
    let unannotated = write_days_parquet(dir.path(), Layout::ListUnannotated);
    let ndjson = write_days_ndjson(dir.path());

    // Strict: a Parquet file with no bad row imports as it would leniently.
    let strict = Options {
        strict: true,
        progress: false,
    };
    let summary = import::import(&db, SITE, Format::Ga4, &repeated, strict)
        .await
        .unwrap();
    // 8 rows in D1's file, 4 in D2's; none skipped.
    assert_eq!(summary.rows_read, 12);
    assert_eq!(summary.skipped.values().sum::<u64>(), 0, "{summary}");
    assert_eq!(summary.days.len(), 2);
    for (site, files) in [
        (OTHER_SITE, &listed),
        (UNANNOTATED_SITE, &unannotated),
        (NO_DNT_SITE, &ndjson),
    ] {
        let summary = import::import(&db, site, Format::Ga4, files, strict)
            .await
            .unwrap();
        let skipped = summary.skipped.values().sum::<u64>();
        assert_eq!((summary.rows_read, skipped), (12, 0), "{site}");
    }

    // The cross-check: both Parquet layouts store exactly what the NDJSON
    // export stores, row for row.
    let from_ndjson = stored(&db, NO_DNT_SITE).await;
    assert!(from_ndjson.lines().count() > 20, "{from_ndjson}");
    assert_eq!(stored(&db, SITE).await, from_ndjson, "bare repeated groups");
    assert_eq!(stored(&db, OTHER_SITE).await, from_ndjson, "LIST layout");
    assert_eq!(
        stored(&db, UNANNOTATED_SITE).await,
        from_ndjson,
        "list/element without LIST"
    );

    // The day totals themselves (dim '' is the day's totals): visitors,
    // visits, pageviews, events, bounces, duration, visit pageviews as in
    // the module doc (A 2 + B 1 + C 2 = 5 on D1, D 1 on D2).
    let totals = db
        .fetch_tsv(&format!(
            "SELECT day, visitors, visits, pageviews, events, bounces, duration, visit_pageviews \
             FROM imported_stats WHERE site = '{SITE}' AND dim = '' ORDER BY day"
        ))
        .await
        .unwrap();
    assert_eq!(
        totals,
        "2024-04-01\t3\t3\t4\t5\t1\t480\t5\n2024-04-02\t2\t1\t2\t2\t1\t60\t1\n"
    );

    for site in [SITE, OTHER_SITE] {
        let answer = service.ok(&query(site, json!({}))).await;
        assert_eq!(
            answer["results"][0]["metrics"],
            json!([5, 4, 6, 50, 135, 7]),
            "{site}: {answer}"
        );
        assert_eq!(answer["meta"]["imports_included"], json!(true), "{site}");

        // Visits per source: one each; D's is direct.
        let sources = service
            .ok(&query(
                site,
                json!({"metrics": ["visits"], "dimensions": ["visit:source"]}),
            ))
            .await;
        assert_eq!(
            breakdown(&sources),
            strs(&[
                ("Google", 1),
                ("newsletter", 1),
                ("Hacker News", 1),
                ("Direct / None", 1)
            ]),
            "{site}"
        );

        // Pageviews per page: `/` by A, B (D1) and D (D2).
        let pages = service
            .ok(&query(
                site,
                json!({"metrics": ["pageviews"], "dimensions": ["event:page"]}),
            ))
            .await;
        assert_eq!(
            breakdown(&pages),
            strs(&[("/", 3), ("/pricing", 1), ("/blog", 1), ("/blog/post", 1)]),
            "{site}"
        );

        // Visitors per country, per day summed: DE U1 on D1 (A) and on D2
        // (D), FR U2, US U3 (C counts on D1 only).
        let countries = service
            .ok(&query(
                site,
                json!({"metrics": ["visitors"], "dimensions": ["visit:country"]}),
            ))
            .await;
        assert_eq!(
            breakdown(&countries),
            strs(&[("DE", 2), ("FR", 1), ("US", 1)]),
            "{site}"
        );

        // The custom event, once; GA4's bookkeeping events are not events.
        let events = service
            .ok(&query(
                site,
                json!({"metrics": ["events"], "dimensions": ["event:name"]}),
            ))
            .await;
        assert_eq!(
            breakdown(&events),
            strs(&[("pageview", 6), ("purchase", 1)]),
            "{site}"
        );
    }

    // Nothing that identifies a visitor is stored.
    for id in [U1, U2, U3, "1711965600", "1712015880"] {
        assert_eq!(
            tables_containing(&db, id.as_bytes()).await,
            Vec::<String>::new(),
            "{id}"
        );
    }
    let imported = store::list(&db, SITE).await.unwrap();
    assert_eq!(
        imported[0].files,
        vec![
            format!("events_{D1}_Repeated.parquet"),
            format!("events_{D2}_Repeated.parquet")
        ]
    );
    service.stop().await;
}

/// Runs the real `schema` command line, built from this checkout, as
/// operator_tools.rs does.
fn schema_cli(args: &[&str]) -> std::process::Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    Command::new("cargo")
        .args(["run", "--quiet", "-p", "schema", "--bin", "schema", "--"])
        .args(args)
        .current_dir(root)
        .env_remove("CLICKHOUSE_URL")
        .env_remove("CLICKHOUSE_DATABASE")
        .output()
        .expect("cargo run")
}

#[tokio::test]
async fn a_corrupt_parquet_file_stops_the_import_naming_the_file() {
    let (service, db, config) = serve(|_| {}, now()).await;
    let dir = tempfile::tempdir().unwrap();
    let good = write_days_parquet(dir.path(), Layout::Repeated);
    let bytes = std::fs::read(&good[0]).unwrap();

    // Cut short: the magic bytes say Parquet, the footer is gone.
    let truncated = dir.path().join("events_truncated.parquet");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    // Whole, with its footer, but its column chunks overwritten.
    let scrambled = dir.path().join("events_scrambled.parquet");
    let mut garbage = bytes.clone();
    let footer = footer_start(&bytes);
    for (i, b) in garbage[4..footer].iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(31) ^ 0x5a;
    }
    std::fs::write(&scrambled, &garbage).unwrap();

    for bad in [&truncated, &scrambled] {
        // The good D2 file first: the bad one still stops the whole import.
        let files = vec![good[1].clone(), bad.clone()];
        let err = import::import(&db, SITE, Format::Ga4, &files, Options::default())
            .await
            .unwrap_err();
        assert!(
            matches!(err, ImportError::Unreadable { .. }),
            "{}: {err:?}",
            bad.display()
        );
        assert!(
            err.to_string()
                .starts_with(&format!("reading {}: ", bad.display())),
            "{err}"
        );
    }
    assert_eq!(store::list(&db, SITE).await.unwrap(), vec![]);

    // As an operator runs it: a non-zero exit, the file named on stderr.
    let config_path = dir.path().join("analytics.toml");
    std::fs::write(
        &config_path,
        format!(
            "[clickhouse]\nurl = \"{}\"\ndatabase = \"{}\"\n\n[[site]]\ndomain = \"{SITE}\"\nretention_days = 800\n",
            config.clickhouse.url, config.clickhouse.database
        ),
    )
    .unwrap();
    let output = schema_cli(&[
        "import",
        "ga4",
        SITE,
        good[1].to_str().unwrap(),
        truncated.to_str().unwrap(),
        "--config",
        config_path.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{output:?}");
    assert!(
        stderr.contains(&format!("reading {}: ", truncated.display())),
        "{stderr}"
    );
    assert_eq!(store::list(&db, SITE).await.unwrap(), vec![]);
    service.stop().await;
}

/// Where a Parquet file's footer (its metadata) starts: its length sits in
/// the four bytes before the closing magic.
fn footer_start(bytes: &[u8]) -> usize {
    let n = bytes.len();
    let len = u32::from_le_bytes(bytes[n - 8..n - 4].try_into().unwrap()) as usize;
    n - 8 - len
}
