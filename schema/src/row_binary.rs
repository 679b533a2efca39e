//! `events` rows in ClickHouse's RowBinary format, the bytes an `INSERT ...
//! FORMAT RowBinary` carries: the collector queues rows this way because a
//! row takes about a quarter of the memory of an [`EventRow`] (whose 25
//! strings are 24 bytes each before any text).
//!
//! The format, per column in [`EventRow::COLUMNS`] order: integers and
//! `DateTime` little-endian at their width; a `String` as its length in
//! LEB128 then its bytes; an `Array(String)` as its length in LEB128 then
//! each string.

use crate::event::{EventRow, TableRow};

/// Rows encoded one after another, and how many there are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncodedRows {
    pub bytes: Vec<u8>,
    pub rows: usize,
}

impl EncodedRows {
    pub fn with_capacity(bytes: usize) -> Self {
        Self {
            bytes: Vec::with_capacity(bytes),
            rows: 0,
        }
    }

    pub fn of(rows: &[EventRow]) -> Self {
        let mut encoded = Self::default();
        for row in rows {
            encoded.push(row);
        }
        encoded
    }

    pub fn push(&mut self, row: &EventRow) {
        encode(row, &mut self.bytes);
        self.rows += 1;
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The rows back, for the rare path that needs them as values (a batch
    /// ClickHouse refused, kept as JSON lines).
    pub fn decode(&self) -> Result<Vec<EventRow>, DecodeError> {
        let mut input = self.bytes.as_slice();
        let mut rows = Vec::with_capacity(self.rows);
        while !input.is_empty() {
            rows.push(decode_one(&mut input)?);
        }
        Ok(rows)
    }
}

/// The `INSERT` these bytes go with: the columns named, in encoding order.
pub fn insert_sql() -> String {
    let columns: Vec<&str> = EventRow::COLUMNS.iter().map(|(name, _)| *name).collect();
    format!(
        "INSERT INTO {} ({}) FORMAT RowBinary",
        EventRow::TABLE,
        columns.join(", ")
    )
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("RowBinary input ends inside a row")]
    Truncated,
    #[error("RowBinary string is not UTF-8")]
    NotUtf8,
}

/// Appends one row. Destructured so that a new field fails to compile here
/// until it is encoded; the order is `EventRow::COLUMNS`.
pub fn encode(row: &EventRow, out: &mut Vec<u8>) {
    let EventRow {
        timestamp,
        site,
        name,
        hostname,
        pathname,
        visitor_id,
        referrer,
        utm_source,
        utm_medium,
        utm_campaign,
        utm_content,
        utm_term,
        props_keys,
        props_values,
        interactive,
        screen_width,
        scroll_depth,
        engagement_ms,
        revenue_amount,
        revenue_currency,
        browser,
        browser_version,
        os,
        os_version,
        device,
        screen_size,
        source,
        medium,
        click_id_param,
        country,
        region,
        city,
        batch_id,
        prev_visitor_id,
    } = row;
    out.extend_from_slice(&timestamp.to_le_bytes());
    for text in [site, name, hostname, pathname] {
        put_str(out, text);
    }
    out.extend_from_slice(&visitor_id.to_le_bytes());
    for text in [
        referrer,
        utm_source,
        utm_medium,
        utm_campaign,
        utm_content,
        utm_term,
    ] {
        put_str(out, text);
    }
    for list in [props_keys, props_values] {
        put_len(out, list.len());
        for text in list {
            put_str(out, text);
        }
    }
    out.push(*interactive);
    out.extend_from_slice(&screen_width.to_le_bytes());
    out.push(*scroll_depth);
    out.extend_from_slice(&engagement_ms.to_le_bytes());
    for text in [
        revenue_amount,
        revenue_currency,
        browser,
        browser_version,
        os,
        os_version,
        device,
        screen_size,
        source,
        medium,
        click_id_param,
        country,
        region,
        city,
    ] {
        put_str(out, text);
    }
    out.extend_from_slice(&batch_id.to_le_bytes());
    out.extend_from_slice(&prev_visitor_id.to_le_bytes());
}

fn put_len(out: &mut Vec<u8>, mut len: usize) {
    loop {
        let low = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

fn put_str(out: &mut Vec<u8>, text: &str) {
    put_len(out, text.len());
    out.extend_from_slice(text.as_bytes());
}

/// Reads one row off the front of `input`. Field initialisers run in the
/// order written, which is the encoding order.
fn decode_one(input: &mut &[u8]) -> Result<EventRow, DecodeError> {
    Ok(EventRow {
        timestamp: u32::from_le_bytes(take(input)?),
        site: take_str(input)?,
        name: take_str(input)?,
        hostname: take_str(input)?,
        pathname: take_str(input)?,
        visitor_id: u64::from_le_bytes(take(input)?),
        referrer: take_str(input)?,
        utm_source: take_str(input)?,
        utm_medium: take_str(input)?,
        utm_campaign: take_str(input)?,
        utm_content: take_str(input)?,
        utm_term: take_str(input)?,
        props_keys: take_strings(input)?,
        props_values: take_strings(input)?,
        interactive: u8::from_le_bytes(take(input)?),
        screen_width: u16::from_le_bytes(take(input)?),
        scroll_depth: u8::from_le_bytes(take(input)?),
        engagement_ms: u32::from_le_bytes(take(input)?),
        revenue_amount: take_str(input)?,
        revenue_currency: take_str(input)?,
        browser: take_str(input)?,
        browser_version: take_str(input)?,
        os: take_str(input)?,
        os_version: take_str(input)?,
        device: take_str(input)?,
        screen_size: take_str(input)?,
        source: take_str(input)?,
        medium: take_str(input)?,
        click_id_param: take_str(input)?,
        country: take_str(input)?,
        region: take_str(input)?,
        city: take_str(input)?,
        batch_id: u64::from_le_bytes(take(input)?),
        prev_visitor_id: u64::from_le_bytes(take(input)?),
    })
}

fn take<const N: usize>(input: &mut &[u8]) -> Result<[u8; N], DecodeError> {
    let (head, rest) = input
        .split_first_chunk::<N>()
        .ok_or(DecodeError::Truncated)?;
    *input = rest;
    Ok(*head)
}

fn take_len(input: &mut &[u8]) -> Result<usize, DecodeError> {
    let mut len = 0usize;
    for shift in (0..64).step_by(7) {
        let [byte] = take::<1>(input)?;
        len |= usize::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(len);
        }
    }
    Err(DecodeError::Truncated)
}

fn take_str<T: for<'a> From<&'a str>>(input: &mut &[u8]) -> Result<T, DecodeError> {
    let len = take_len(input)?;
    if input.len() < len {
        return Err(DecodeError::Truncated);
    }
    let (text, rest) = input.split_at(len);
    *input = rest;
    std::str::from_utf8(text)
        .map(T::from)
        .map_err(|_| DecodeError::NotUtf8)
}

fn take_strings(input: &mut &[u8]) -> Result<Vec<String>, DecodeError> {
    let len = take_len(input)?;
    (0..len).map(|_| take_str(input)).collect()
}

/// A row with every column set, each to a value no other column holds, so
/// that a column written in the wrong place shows (for tests here and in
/// the integration tests).
#[doc(hidden)]
pub fn every_column_example() -> EventRow {
    EventRow {
        timestamp: 1_764_633_600,
        site: "site.example".into(),
        name: "signup".into(),
        hostname: "www.site.example".into(),
        pathname: format!("/{}", "segment/".repeat(40)).into(),
        visitor_id: 0x0102_0304_0506_0708,
        referrer: "news.ycombinator.com/item".into(),
        utm_source: "source-tag".into(),
        utm_medium: "medium-tag".into(),
        utm_campaign: "campaign-tag".into(),
        utm_content: "content-tag".into(),
        utm_term: "term-tag".into(),
        props_keys: vec!["plan".into(), "späť".into()],
        props_values: vec!["pro".into(), String::new()],
        interactive: 1,
        screen_width: 1440,
        scroll_depth: 73,
        engagement_ms: 12_345,
        revenue_amount: "19.99".into(),
        revenue_currency: "EUR".into(),
        browser: "Firefox".into(),
        browser_version: "133.0".into(),
        os: "Linux".into(),
        os_version: "6.1".into(),
        device: "Desktop".into(),
        screen_size: "Laptop".into(),
        source: "Hacker News".into(),
        medium: "referral".into(),
        click_id_param: "gclid".into(),
        country: "SK".into(),
        region: "SK-BL".into(),
        city: "Bratislava".into(),
        batch_id: 77,
        prev_visitor_id: 99,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_back_as_they_went_in() {
        let mut encoded = EncodedRows::default();
        let rows = vec![
            every_column_example(),
            EventRow::default(),
            every_column_example(),
        ];
        for row in &rows {
            encoded.push(row);
        }
        assert_eq!(encoded.rows, 3);
        assert_eq!(encoded.decode().unwrap(), rows);
    }

    #[test]
    fn the_encoding_is_clickhouse_row_binary() {
        // Worked by hand from the format: the fixed-width fields and an
        // empty string (length 0) for every text column.
        let row = EventRow {
            timestamp: 0x0403_0201,
            pathname: "/ab".into(),
            visitor_id: 5,
            props_keys: vec!["k".into()],
            props_values: vec!["v".into()],
            screen_width: 0x0201,
            ..EventRow::default()
        };
        let mut out = Vec::new();
        encode(&row, &mut out);
        let mut expected = vec![1, 2, 3, 4];
        expected.extend([0, 0, 0, 3, b'/', b'a', b'b']); // site, name, hostname, pathname
        expected.extend([5, 0, 0, 0, 0, 0, 0, 0]); // visitor_id
        expected.extend([0; 6]); // referrer and the five utm_*
        expected.extend([1, 1, b'k', 1, 1, b'v']); // props_keys, props_values
        expected.extend([0, 1, 2, 0, 0, 0, 0, 0]); // interactive .. engagement_ms
        expected.extend([0; 14]); // revenue_amount .. city
        expected.extend([0; 16]); // batch_id, prev_visitor_id
        assert_eq!(out, expected);
    }

    #[test]
    fn lengths_past_127_take_more_bytes() {
        let mut out = Vec::new();
        put_len(&mut out, 300);
        assert_eq!(out, [0xac, 0x02]);
        assert_eq!(take_len(&mut out.as_slice()).unwrap(), 300);
    }

    #[test]
    fn a_cut_row_is_an_error() {
        let mut encoded = EncodedRows::default();
        encoded.push(&every_column_example());
        for cut in [1, 10, encoded.bytes.len() - 1] {
            let short = EncodedRows {
                bytes: encoded.bytes[..cut].to_vec(),
                rows: 1,
            };
            assert_eq!(short.decode(), Err(DecodeError::Truncated), "cut at {cut}");
        }
    }

    #[test]
    fn a_row_is_far_smaller_than_its_struct() {
        let mut out = Vec::new();
        encode(&every_column_example(), &mut out);
        assert!(out.len() < std::mem::size_of::<EventRow>(), "{}", out.len());
    }

    #[test]
    fn the_insert_names_every_column_in_order() {
        let sql = insert_sql();
        assert!(sql.starts_with(
            "INSERT INTO events (timestamp, site, name, hostname, pathname, visitor_id,"
        ));
        assert!(sql.ends_with("batch_id, prev_visitor_id) FORMAT RowBinary"));
    }
}
