//! The rows of GA4's BigQuery export (`events_YYYYMMDD`), with only the
//! fields the import reads, as Google documents their schema; and the
//! `event_params` the import reads, picked out of their key-value list.

use serde::Deserialize;

/// One exported event, with only the fields the import reads.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Event {
    pub event_date: Option<String>,
    pub event_timestamp: Option<Num>,
    pub event_name: Option<String>,
    pub event_params: Option<Vec<Param>>,
    pub user_pseudo_id: Option<String>,
    pub device: Option<Device>,
    pub geo: Option<Geo>,
    pub traffic_source: Option<TrafficSource>,
    pub collected_traffic_source: Option<CollectedTrafficSource>,
}

/// BigQuery writes INT64 as a JSON string; other tools write a number.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Num {
    Int(i64),
    Float(f64),
    Text(String),
}

impl Num {
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Num::Int(n) => Some(*n),
            Num::Float(f) => f.is_finite().then_some(*f as i64),
            Num::Text(s) => s.trim().parse().ok(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Param {
    pub key: String,
    pub value: ParamValue,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ParamValue {
    pub string_value: Option<String>,
    pub int_value: Option<Num>,
    pub float_value: Option<Num>,
    pub double_value: Option<Num>,
}

impl ParamValue {
    fn text(&self) -> Option<String> {
        if let Some(s) = &self.string_value {
            return Some(s.clone());
        }
        self.int_value
            .as_ref()
            .and_then(Num::as_i64)
            .map(|n| n.to_string())
    }

    fn int(&self) -> Option<i64> {
        self.int_value
            .as_ref()
            .and_then(Num::as_i64)
            .or_else(|| self.string_value.as_deref()?.trim().parse().ok())
            .or_else(|| self.double_value.as_ref().and_then(Num::as_i64))
            .or_else(|| self.float_value.as_ref().and_then(Num::as_i64))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Device {
    pub category: Option<String>,
    pub operating_system: Option<String>,
    pub operating_system_version: Option<String>,
    pub browser: Option<String>,
    pub browser_version: Option<String>,
    pub web_info: Option<WebInfo>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WebInfo {
    pub browser: Option<String>,
    pub browser_version: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Geo {
    pub country: Option<String>,
    pub region: Option<String>,
    pub city: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TrafficSource {
    pub name: Option<String>,
    pub medium: Option<String>,
    pub source: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CollectedTrafficSource {
    pub manual_source: Option<String>,
    pub manual_medium: Option<String>,
    pub manual_campaign_name: Option<String>,
    pub manual_content: Option<String>,
    pub manual_term: Option<String>,
}

/// An event's page, referrer and the other parameters the import reads.
#[derive(Default)]
pub struct Params {
    pub page_location: Option<String>,
    pub page_referrer: Option<String>,
    pub session_id: Option<String>,
    pub session_number: Option<i64>,
    pub engagement_ms: i64,
    pub engaged: bool,
}

pub fn params(list: &[Param]) -> Params {
    let mut p = Params::default();
    for param in list {
        match param.key.as_str() {
            "page_location" => p.page_location = param.value.text(),
            "page_referrer" => p.page_referrer = param.value.text(),
            "ga_session_id" => p.session_id = param.value.text(),
            "ga_session_number" => p.session_number = param.value.int(),
            "engagement_time_msec" => p.engagement_ms = param.value.int().unwrap_or(0).max(0),
            "session_engaged" => p.engaged = param.value.int() == Some(1),
            _ => {}
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int64_as_text_or_number() {
        let e: Event = serde_json::from_str(
            r#"{"event_timestamp":"1704067200000000","event_params":[{"key":"ga_session_id","value":{"int_value":"17"}}]}"#,
        )
        .unwrap();
        assert_eq!(
            e.event_timestamp.unwrap().as_i64(),
            Some(1_704_067_200_000_000)
        );
        let p = params(e.event_params.as_deref().unwrap());
        assert_eq!(p.session_id.as_deref(), Some("17"));
    }
}
