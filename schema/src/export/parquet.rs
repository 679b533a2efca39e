//! Parquet export with typed columns. ClickHouse 18.16 cannot write
//! Parquet, so rows are read as `RowBinary`, decoded as they stream in, and
//! written with the `parquet` crate one row group at a time.
//!
//! Types: unsigned and signed integers keep their width (Parquet INT32 or
//! INT64 with an integer annotation), `DateTime` becomes a UTC timestamp in
//! milliseconds, `Date` a date, `String` a UTF-8 string, `Array(String)` a
//! list of strings. Any other column type is exported as its text
//! (`toString`), so a future column never stops the export.

use super::{io_error, next_chunk, stream, Column, ExportError};
use crate::client::Db;
use parquet::basic::{LogicalType, Repetition, TimeUnit, Type as Physical};
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, FloatType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::{SerializedFileWriter, SerializedRowGroupWriter};
use parquet::schema::types::Type;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

/// Rows buffered before a row group is written: bounds memory for any site.
pub const ROW_GROUP_ROWS: usize = 50_000;

/// How a column is read from RowBinary and written to Parquet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    UInt(u8),
    Int(u8),
    Float32,
    Float64,
    DateTime,
    Date,
    Text,
    TextList,
}

impl Kind {
    /// The kind of a ClickHouse type, and the SQL that selects the column
    /// in that kind (text for types without a typed mapping).
    fn of(column: &Column) -> (Self, String) {
        let name = &column.name;
        let plain = |kind| (kind, name.clone());
        match column.ty.as_str() {
            "UInt8" => plain(Kind::UInt(8)),
            "UInt16" => plain(Kind::UInt(16)),
            "UInt32" => plain(Kind::UInt(32)),
            "UInt64" => plain(Kind::UInt(64)),
            "Int8" => plain(Kind::Int(8)),
            "Int16" => plain(Kind::Int(16)),
            "Int32" => plain(Kind::Int(32)),
            "Int64" => plain(Kind::Int(64)),
            "Float32" => plain(Kind::Float32),
            "Float64" => plain(Kind::Float64),
            "Date" => plain(Kind::Date),
            "String" | "LowCardinality(String)" => plain(Kind::Text),
            "Array(String)" => plain(Kind::TextList),
            ty if ty == "DateTime" || ty.starts_with("DateTime(") => plain(Kind::DateTime),
            ty if ty.starts_with("Array(") => (
                Kind::TextList,
                format!("arrayMap(x -> toString(x), {name})"),
            ),
            _ => (Kind::Text, format!("ifNull(toString({name}), '')")),
        }
    }

    /// Bytes of a fixed-width value in RowBinary.
    fn width(self) -> Option<usize> {
        match self {
            Kind::UInt(bits) | Kind::Int(bits) => Some(usize::from(bits / 8)),
            Kind::Float32 | Kind::DateTime => Some(4),
            Kind::Float64 => Some(8),
            Kind::Date => Some(2),
            Kind::Text | Kind::TextList => None,
        }
    }

    fn parquet_type(self, name: &str) -> parquet::errors::Result<Type> {
        let primitive = |physical, logical| {
            Type::primitive_type_builder(name, physical)
                .with_repetition(Repetition::REQUIRED)
                .with_logical_type(logical)
                .build()
        };
        match self {
            Kind::UInt(bits) | Kind::Int(bits) => {
                let physical = if bits == 64 {
                    Physical::INT64
                } else {
                    Physical::INT32
                };
                let logical = LogicalType::integer(bits as i8, matches!(self, Kind::Int(_)));
                primitive(physical, Some(logical))
            }
            Kind::Float32 => primitive(Physical::FLOAT, None),
            Kind::Float64 => primitive(Physical::DOUBLE, None),
            Kind::DateTime => primitive(
                Physical::INT64,
                Some(LogicalType::timestamp(true, TimeUnit::MILLIS)),
            ),
            Kind::Date => primitive(Physical::INT32, Some(LogicalType::Date)),
            Kind::Text => primitive(Physical::BYTE_ARRAY, Some(LogicalType::String)),
            Kind::TextList => {
                let element = Type::primitive_type_builder("element", Physical::BYTE_ARRAY)
                    .with_repetition(Repetition::REQUIRED)
                    .with_logical_type(Some(LogicalType::String))
                    .build()?;
                let list = Type::group_type_builder("list")
                    .with_repetition(Repetition::REPEATED)
                    .with_fields(vec![Arc::new(element)])
                    .build()?;
                Type::group_type_builder(name)
                    .with_repetition(Repetition::REQUIRED)
                    .with_logical_type(Some(LogicalType::List))
                    .with_fields(vec![Arc::new(list)])
                    .build()
            }
        }
    }
}

/// One column's values of the row group being built.
#[derive(Debug)]
enum Buffer {
    Int32(Vec<i32>),
    Int64(Vec<i64>),
    Float(Vec<f32>),
    Double(Vec<f64>),
    Bytes(Vec<ByteArray>),
    /// A list's elements with Parquet's definition and repetition levels:
    /// an empty list is one level pair (0, 0) without a value.
    List {
        values: Vec<ByteArray>,
        def: Vec<i16>,
        rep: Vec<i16>,
    },
}

impl Buffer {
    fn for_kind(kind: Kind) -> Self {
        match kind {
            Kind::UInt(64) | Kind::Int(64) | Kind::DateTime => Buffer::Int64(Vec::new()),
            Kind::UInt(_) | Kind::Int(_) | Kind::Date => Buffer::Int32(Vec::new()),
            Kind::Float32 => Buffer::Float(Vec::new()),
            Kind::Float64 => Buffer::Double(Vec::new()),
            Kind::Text => Buffer::Bytes(Vec::new()),
            Kind::TextList => Buffer::List {
                values: Vec::new(),
                def: Vec::new(),
                rep: Vec::new(),
            },
        }
    }
}

pub(super) async fn write(
    db: &Db,
    domain: &str,
    columns: &[Column],
    out: &Path,
) -> Result<u64, ExportError> {
    let (kinds, selects): (Vec<Kind>, Vec<String>) = columns.iter().map(Kind::of).unzip();
    let parquet_error = |e: parquet::errors::ParquetError| ExportError::Parquet {
        path: out.to_owned(),
        message: e.to_string(),
    };
    let fields = columns
        .iter()
        .zip(&kinds)
        .map(|(c, k)| k.parquet_type(&c.name).map(Arc::new))
        .collect::<Result<Vec<_>, _>>()
        .map_err(parquet_error)?;
    let schema = Type::group_type_builder("event")
        .with_fields(fields)
        .build()
        .map_err(parquet_error)?;
    let file = File::create(out).map_err(io_error(out))?;
    let properties = Arc::new(WriterProperties::builder().build());
    let mut writer =
        SerializedFileWriter::new(file, Arc::new(schema), properties).map_err(parquet_error)?;

    let mut cursor = stream(db, &selects.join(", "), domain, "RowBinary")?;
    let mut rows = Rows::new(&kinds);
    let mut total = 0u64;
    while let Some(chunk) = next_chunk(&mut cursor).await? {
        rows.receive(&chunk);
        while rows.take_row()? {
            total += 1;
            if rows.count == ROW_GROUP_ROWS {
                rows.write_group(writer.next_row_group().map_err(parquet_error)?)
                    .map_err(parquet_error)?;
            }
        }
    }
    if rows.undecoded() > 0 {
        return Err(ExportError::Decode(format!(
            "{} bytes after the last complete row",
            rows.undecoded()
        )));
    }
    if rows.count > 0 {
        rows.write_group(writer.next_row_group().map_err(parquet_error)?)
            .map_err(parquet_error)?;
    }
    writer
        .into_inner()
        .map_err(parquet_error)?
        .sync_all()
        .map_err(io_error(out))?;
    Ok(total)
}

/// Undecoded bytes and the decoded columns of the current row group.
struct Rows {
    kinds: Vec<Kind>,
    buffers: Vec<Buffer>,
    /// Bytes received; those before `start` are decoded.
    pending: Vec<u8>,
    start: usize,
    count: usize,
}

impl Rows {
    fn new(kinds: &[Kind]) -> Self {
        Self {
            kinds: kinds.to_vec(),
            buffers: kinds.iter().map(|k| Buffer::for_kind(*k)).collect(),
            pending: Vec::new(),
            start: 0,
            count: 0,
        }
    }

    /// Appends a chunk received from the server, first dropping the bytes
    /// already decoded (once per chunk, not per row).
    fn receive(&mut self, chunk: &[u8]) {
        self.pending.drain(..self.start);
        self.start = 0;
        self.pending.extend_from_slice(chunk);
    }

    /// Bytes received but not decoded.
    fn undecoded(&self) -> usize {
        self.pending.len() - self.start
    }

    /// Decodes the next row if all of it has arrived.
    fn take_row(&mut self) -> Result<bool, ExportError> {
        let rest = &self.pending[self.start..];
        let Some(len) = row_len(rest, &self.kinds) else {
            return Ok(false);
        };
        let mut at = 0;
        for (kind, buffer) in self.kinds.iter().zip(&mut self.buffers) {
            at += decode(&rest[at..], *kind, buffer)?;
        }
        debug_assert_eq!(at, len);
        self.start += len;
        self.count += 1;
        Ok(true)
    }

    fn write_group(
        &mut self,
        mut group: SerializedRowGroupWriter<'_, File>,
    ) -> parquet::errors::Result<()> {
        for buffer in &mut self.buffers {
            let mut column = group
                .next_column()?
                .ok_or_else(|| parquet::errors::ParquetError::General("too few columns".into()))?;
            match buffer {
                Buffer::Int32(v) => column.typed::<Int32Type>().write_batch(v, None, None)?,
                Buffer::Int64(v) => column.typed::<Int64Type>().write_batch(v, None, None)?,
                Buffer::Float(v) => column.typed::<FloatType>().write_batch(v, None, None)?,
                Buffer::Double(v) => column.typed::<DoubleType>().write_batch(v, None, None)?,
                Buffer::Bytes(v) => column.typed::<ByteArrayType>().write_batch(v, None, None)?,
                Buffer::List { values, def, rep } => {
                    column
                        .typed::<ByteArrayType>()
                        .write_batch(values, Some(def), Some(rep))?
                }
            };
            column.close()?;
            buffer.clear();
        }
        group.close()?;
        self.count = 0;
        Ok(())
    }
}

impl Buffer {
    /// Empties the buffer, keeping its capacity for the next row group.
    fn clear(&mut self) {
        match self {
            Buffer::Int32(v) => v.clear(),
            Buffer::Int64(v) => v.clear(),
            Buffer::Float(v) => v.clear(),
            Buffer::Double(v) => v.clear(),
            Buffer::Bytes(v) => v.clear(),
            Buffer::List { values, def, rep } => {
                values.clear();
                def.clear();
                rep.clear();
            }
        }
    }
}

/// A LEB128 length and the bytes it took, if complete.
fn varint(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut value = 0usize;
    for (i, b) in bytes.iter().enumerate().take(10) {
        value |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// A string's total bytes (length prefix included), if complete.
fn string_len(bytes: &[u8]) -> Option<usize> {
    let (len, prefix) = varint(bytes)?;
    (bytes.len() >= prefix + len).then_some(prefix + len)
}

/// The bytes of the first row, if all of it is there.
fn row_len(bytes: &[u8], kinds: &[Kind]) -> Option<usize> {
    let mut at = 0;
    for kind in kinds {
        let rest = bytes.get(at..)?;
        at += match (kind.width(), kind) {
            (Some(w), _) => (rest.len() >= w).then_some(w)?,
            (None, Kind::Text) => string_len(rest)?,
            (None, _) => {
                let (n, mut len) = varint(rest)?;
                for _ in 0..n {
                    len += string_len(rest.get(len..)?)?;
                }
                len
            }
        };
    }
    Some(at)
}

/// Appends one value of a complete row to its buffer; returns its bytes.
fn decode(bytes: &[u8], kind: Kind, buffer: &mut Buffer) -> Result<usize, ExportError> {
    let mismatch = || ExportError::Decode(format!("a {kind:?} value in the wrong buffer"));
    let fixed = |n: usize| -> [u8; 8] {
        let mut out = [0u8; 8];
        out[..n].copy_from_slice(&bytes[..n]);
        out
    };
    match (kind, buffer) {
        (Kind::UInt(64) | Kind::Int(64), Buffer::Int64(v)) => {
            v.push(i64::from_le_bytes(fixed(8)));
            Ok(8)
        }
        (Kind::DateTime, Buffer::Int64(v)) => {
            let seconds = u32::from_le_bytes(fixed(4)[..4].try_into().expect("4 bytes"));
            v.push(i64::from(seconds) * 1000);
            Ok(4)
        }
        (Kind::UInt(bits), Buffer::Int32(v)) => {
            let n = usize::from(bits / 8);
            // Read as unsigned and stored as the same bits (the annotation
            // says unsigned).
            v.push(u32::try_from(u64::from_le_bytes(fixed(n))).unwrap_or(u32::MAX) as i32);
            Ok(n)
        }
        (Kind::Int(bits), Buffer::Int32(v)) => {
            let n = usize::from(bits / 8);
            let shift = 64 - u32::from(bits);
            v.push(((i64::from_le_bytes(fixed(n)) << shift) >> shift) as i32);
            Ok(n)
        }
        (Kind::Date, Buffer::Int32(v)) => {
            v.push(i32::from(u16::from_le_bytes([bytes[0], bytes[1]])));
            Ok(2)
        }
        (Kind::Float32, Buffer::Float(v)) => {
            v.push(f32::from_le_bytes(
                fixed(4)[..4].try_into().expect("4 bytes"),
            ));
            Ok(4)
        }
        (Kind::Float64, Buffer::Double(v)) => {
            v.push(f64::from_le_bytes(fixed(8)));
            Ok(8)
        }
        (Kind::Text, Buffer::Bytes(v)) => {
            let (text, len) = string(bytes)?;
            v.push(text);
            Ok(len)
        }
        (Kind::TextList, Buffer::List { values, def, rep }) => {
            let (n, mut len) = varint(bytes).ok_or_else(mismatch)?;
            if n == 0 {
                def.push(0);
                rep.push(0);
            }
            for i in 0..n {
                let (text, used) = string(&bytes[len..])?;
                values.push(text);
                def.push(1);
                rep.push(i16::from(i > 0));
                len += used;
            }
            Ok(len)
        }
        _ => Err(mismatch()),
    }
}

fn string(bytes: &[u8]) -> Result<(ByteArray, usize), ExportError> {
    let (len, prefix) =
        varint(bytes).ok_or_else(|| ExportError::Decode("a cut string length".into()))?;
    let text = bytes[prefix..prefix + len].to_vec();
    Ok((ByteArray::from(text), prefix + len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, ty: &str) -> Column {
        Column {
            name: name.into(),
            ty: ty.into(),
        }
    }

    #[test]
    fn types_map_to_kinds_and_text_for_the_rest() {
        assert_eq!(
            Kind::of(&column("t", "DateTime('UTC')")),
            (Kind::DateTime, "t".into())
        );
        assert_eq!(
            Kind::of(&column("a", "Array(UInt8)")),
            (Kind::TextList, "arrayMap(x -> toString(x), a)".into())
        );
        assert_eq!(
            Kind::of(&column("d", "Decimal(9, 2)")),
            (Kind::Text, "ifNull(toString(d), '')".into())
        );
    }

    #[test]
    fn a_row_is_taken_only_when_complete() {
        let kinds = [Kind::UInt(16), Kind::Text, Kind::TextList];
        // 0x0102, "ab", ["x", ""]
        let row = [2u8, 1, 2, b'a', b'b', 2, 1, b'x', 0];
        for cut in 0..row.len() {
            assert_eq!(row_len(&row[..cut], &kinds), None, "cut at {cut}");
        }
        assert_eq!(row_len(&row, &kinds), Some(row.len()));
        let mut rows = Rows::new(&kinds);
        rows.receive(&row);
        rows.receive(&[9, 0, 5, b'a']);
        assert!(rows.take_row().unwrap());
        assert!(!rows.take_row().unwrap());
        assert_eq!(rows.undecoded(), 4);
        match (&rows.buffers[0], &rows.buffers[2]) {
            (Buffer::Int32(n), Buffer::List { values, def, rep }) => {
                assert_eq!(n, &[0x0102]);
                assert_eq!(values.len(), 2);
                assert_eq!((def.as_slice(), rep.as_slice()), (&[1, 1][..], &[0, 1][..]));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn signed_values_keep_their_sign() {
        let mut buffer = Buffer::for_kind(Kind::Int(8));
        decode(&[0xff], Kind::Int(8), &mut buffer).unwrap();
        decode(&[0xfe, 0xff], Kind::Int(16), &mut buffer).unwrap();
        match buffer {
            Buffer::Int32(v) => assert_eq!(v, [-1, -2]),
            other => panic!("{other:?}"),
        }
    }
}
