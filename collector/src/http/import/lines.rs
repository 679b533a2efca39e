//! Splitting a streamed NDJSON body into numbered lines without holding more
//! than one line: chunks arrive as the client sends them, complete lines are
//! handed out as they end, and a line past the cap is reported as too long
//! (its bytes are skipped, not kept) instead of failing the whole upload.

use bytes::{Bytes, BytesMut};

/// One line of the body, numbered from 1. Empty lines are numbered too, so
/// numbers match what an editor shows.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// The line's bytes, without the `\n` (nor a `\r` before it).
    Text { number: u64, bytes: Bytes },
    /// Longer than the cap.
    TooLong { number: u64 },
}

#[derive(Debug)]
pub struct LineSplitter {
    max_line: usize,
    /// The start of a line whose end has not arrived yet.
    partial: BytesMut,
    /// The current line has passed the cap: skip to its end.
    overlong: bool,
    number: u64,
}

impl LineSplitter {
    pub fn new(max_line: usize) -> Self {
        Self {
            max_line,
            partial: BytesMut::new(),
            overlong: false,
            number: 0,
        }
    }

    /// Appends the lines `chunk` completes to `out`; the rest waits for the
    /// next chunk. Lines inside one chunk are slices of it, not copies.
    pub fn push(&mut self, chunk: Bytes, out: &mut Vec<Line>) {
        let mut start = 0;
        while let Some(offset) = chunk[start..].iter().position(|&b| b == b'\n') {
            let end = start + offset;
            let line = if self.partial.is_empty() && !self.overlong {
                chunk.slice(start..end)
            } else {
                self.keep(&chunk[start..end]);
                std::mem::take(&mut self.partial).freeze()
            };
            out.push(self.emit(line));
            start = end + 1;
        }
        self.keep(&chunk[start..]);
    }

    /// The last line, when the body does not end with a newline.
    pub fn finish(&mut self, out: &mut Vec<Line>) {
        if !self.partial.is_empty() || self.overlong {
            let line = std::mem::take(&mut self.partial).freeze();
            out.push(self.emit(line));
        }
    }

    /// Adds to the unfinished line, or drops it once it is too long.
    fn keep(&mut self, bytes: &[u8]) {
        if self.overlong || bytes.is_empty() {
            return;
        }
        if self.partial.len() + bytes.len() > self.max_line {
            self.overlong = true;
            self.partial = BytesMut::new();
        } else {
            self.partial.extend_from_slice(bytes);
        }
    }

    fn emit(&mut self, mut line: Bytes) -> Line {
        self.number += 1;
        let number = self.number;
        if std::mem::take(&mut self.overlong) || line.len() > self.max_line {
            return Line::TooLong { number };
        }
        if line.last() == Some(&b'\r') {
            line.truncate(line.len() - 1);
        }
        Line::Text {
            number,
            bytes: line,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&str], max_line: usize) -> Vec<Line> {
        let mut splitter = LineSplitter::new(max_line);
        let mut out = Vec::new();
        for chunk in chunks {
            splitter.push(Bytes::copy_from_slice(chunk.as_bytes()), &mut out);
        }
        splitter.finish(&mut out);
        out
    }

    fn text(number: u64, s: &str) -> Line {
        Line::Text {
            number,
            bytes: Bytes::copy_from_slice(s.as_bytes()),
        }
    }

    #[test]
    fn lines_are_numbered_across_chunks() {
        let got = split(&["a\nb", "c\r\n\nd", "e"], 100);
        assert_eq!(
            got,
            vec![text(1, "a"), text(2, "bc"), text(3, ""), text(4, "de")]
        );
    }

    #[test]
    fn a_trailing_newline_adds_no_line() {
        assert_eq!(
            split(&["a\n", "b\n"], 100),
            vec![text(1, "a"), text(2, "b")]
        );
        assert_eq!(split(&[], 100), vec![]);
    }

    #[test]
    fn a_long_line_is_reported_and_skipped_without_being_kept() {
        let got = split(&["ok\n12345", "6789\nfine\n0123456789abc"], 8);
        assert_eq!(
            got,
            vec![
                text(1, "ok"),
                Line::TooLong { number: 2 },
                text(3, "fine"),
                Line::TooLong { number: 4 }
            ]
        );
        // Inside one chunk too, and exactly at the cap is fine.
        let got = split(&["123456789\n12345678\n"], 8);
        assert_eq!(got, vec![Line::TooLong { number: 1 }, text(2, "12345678")]);
    }

    #[test]
    fn an_overlong_line_holds_no_memory() {
        let mut splitter = LineSplitter::new(4);
        let mut out = Vec::new();
        for _ in 0..100 {
            splitter.push(Bytes::from_static(b"xxxxxxxx"), &mut out);
        }
        assert!(out.is_empty());
        assert!(splitter.partial.capacity() <= 8);
        splitter.push(Bytes::from_static(b"\n"), &mut out);
        assert_eq!(out, vec![Line::TooLong { number: 1 }]);
    }
}
