//! GA4's BigQuery export as Parquet (`bq extract --destination_format
//! PARQUET`): each row is turned into the same JSON shape the NDJSON
//! export has and read by [`super::ga4`], so both formats count alike.
//! Rows are read one at a time; a row group is the most held at once.
//!
//! BigQuery writes a repeated field (`event_params`) either as a bare
//! repeated group or, with list inference, as a `LIST` whose items sit
//! under `list`/`element`; both arrive here as a JSON array of items, the
//! latter unwrapped by [`unwrap_lists`].

use super::ga4::{Event, Ga4};
use super::{ImportError, Problem, Reading};
use parquet::file::reader::{FileReader, SerializedFileReader};
use serde_json::Value;

pub fn read(file: std::fs::File, ga4: &mut Ga4, reading: &mut Reading) -> Result<(), ImportError> {
    let reader = SerializedFileReader::new(file).map_err(|e| reading.unreadable(e))?;
    let rows = reader
        .get_row_iter(None)
        .map_err(|e| reading.unreadable(e))?;
    for (i, row) in rows.enumerate() {
        reading.line = i as u64 + 1;
        reading.row();
        let row = row.map_err(|e| reading.unreadable(e))?;
        let mut value = row.to_json_value();
        unwrap_lists(&mut value);
        let outcome = match serde_json::from_value::<Event>(value) {
            Ok(event) => ga4.add(&event),
            Err(_) => Err(Problem::field(
                "(row)",
                "not a row of the GA4 export schema",
            )),
        };
        if let Err(p) = outcome {
            reading.problem(p)?;
        }
    }
    Ok(())
}

/// `{"list": [{"element": x}, ...]}` (or `{"list": [{"item": x}]}`)
/// becomes `[x, ...]`, at any depth.
fn unwrap_lists(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.len() == 1 {
                if let Some(Value::Array(items)) = map.get_mut("list") {
                    let unwrapped: Vec<Value> = items
                        .drain(..)
                        .map(|item| match item {
                            Value::Object(mut m) if m.len() == 1 => m
                                .remove("element")
                                .or_else(|| m.remove("item"))
                                .unwrap_or(Value::Object(m)),
                            other => other,
                        })
                        .collect();
                    *value = Value::Array(unwrapped);
                    unwrap_lists(value);
                    return;
                }
            }
            map.values_mut().for_each(unwrap_lists);
        }
        Value::Array(items) => items.iter_mut().for_each(unwrap_lists),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_wrappers_are_unwrapped() {
        let mut v = serde_json::json!({"event_params": {"list": [{"element": {"key": "a"}}]}});
        unwrap_lists(&mut v);
        assert_eq!(v, serde_json::json!({"event_params": [{"key": "a"}]}));
    }
}
