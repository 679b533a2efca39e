//! The one TOML config file every binary reads (`--config FILE`), its
//! defaults, environment overrides and start-up validation.
//!
//! Unknown keys are rejected so that a typo never silently falls back to a
//! default; every error names the key it is about. Each section lives in a
//! file of its own with its defaults and its validation: `clickhouse`,
//! `collector`, `query`, `site`, `editor` and `privacy`.

mod clickhouse;
mod collector;
mod editor;
pub mod goal;
mod privacy;
mod query;
mod site;

pub use clickhouse::ClickHouseConfig;
pub use collector::{CollectorConfig, Durability, ForwardedHeader, MAX_BATCH_ROWS, MAX_QUEUE_ROWS};
pub use editor::{EditorConfig, Role};
pub use goal::{Goal, GoalConfig, GoalKind, BUILTIN_GOALS};
pub use privacy::{ContactKind, PrivacyConfig};
pub use query::{QueryConfig, MIN_SESSION_SECRET_LEN};
pub use site::{SiteConfig, DEFAULT_RETENTION_DAYS, MAX_RETENTION_DAYS};

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Environment variables that override the file, for containers and tests.
pub const ENV_CLICKHOUSE_URL: &str = "CLICKHOUSE_URL";
pub const ENV_CLICKHOUSE_DATABASE: &str = "CLICKHOUSE_DATABASE";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid config: `{key}`: {message}")]
    Invalid { key: String, message: String },
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub clickhouse: ClickHouseConfig,
    #[serde(default)]
    pub collector: CollectorConfig,
    #[serde(default)]
    pub query: QueryConfig,
    #[serde(default)]
    pub site: Vec<SiteConfig>,
    #[serde(default)]
    pub editor: Vec<EditorConfig>,
    /// Who runs the analytics: what the privacy statement names.
    #[serde(default)]
    pub privacy: Option<PrivacyConfig>,
}

impl Config {
    /// Reads, applies environment overrides and validates.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let config = Self::load_unchecked(path)?;
        config.validate()?;
        Ok(config)
    }

    /// Reads and applies environment overrides, without validation (see
    /// [`Config::problems`]).
    pub fn load_unchecked(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut config = Self::parse(&text).map_err(|e| match e {
            ConfigError::Parse { message, .. } => ConfigError::Parse {
                path: path.to_owned(),
                message,
            },
            other => other,
        })?;
        config.apply_env(|name| std::env::var(name).ok());
        Ok(config)
    }

    /// Parses TOML text without environment overrides or validation.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: PathBuf::new(),
            message: e.to_string(),
        })
    }

    /// `CLICKHOUSE_URL` and `CLICKHOUSE_DATABASE` win over the file.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) {
        if let Some(url) = var(ENV_CLICKHOUSE_URL).filter(|v| !v.is_empty()) {
            self.clickhouse.url = url;
        }
        if let Some(db) = var(ENV_CLICKHOUSE_DATABASE).filter(|v| !v.is_empty()) {
            self.clickhouse.database = db;
        }
    }

    /// The first invalid value, if any: what a service refuses to start on.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.problems().into_iter().next().map_or(Ok(()), Err)
    }

    /// Every invalid value, each naming its key, in the file's section
    /// order: what `schema config check` reports all at once.
    pub fn problems(&self) -> Vec<ConfigError> {
        let mut p = Problems::default();
        self.clickhouse.validate(&mut p);
        self.collector.validate(&mut p);
        site::validate_sites(&self.site, &mut p);
        self.query.validate(&mut p);
        editor::validate_editors(&self.editor, &self.site, &mut p);
        if let Some(privacy) = &self.privacy {
            privacy.validate(&mut p);
        }
        p.0
    }

    pub fn site(&self, domain: &str) -> Option<&SiteConfig> {
        self.site.iter().find(|s| s.domain == domain)
    }
}

/// The invalid values found so far, each naming its key.
#[derive(Debug, Default)]
struct Problems(Vec<ConfigError>);

impl Problems {
    fn add(&mut self, key: &str, message: &str) {
        self.0.push(ConfigError::Invalid {
            key: key.into(),
            message: message.into(),
        });
    }
}

/// A ClickHouse identifier we can splice into SQL without quoting.
pub fn is_identifier(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A lowercase host name such as `example.com`: what a `[[site]] domain` may be.
pub fn is_domain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && !s.starts_with('.')
        && !s.ends_with('.')
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub const SAMPLE: &str = r#"
[clickhouse]
url = "http://127.0.0.1:8123"
database = "analytics"

[collector]
listen = "127.0.0.1:8080"
trusted_proxies = ["127.0.0.1/32", "::1/128"]
optout_cookie = "analytics_optout"

[query]
listen = "127.0.0.1:8081"

[[site]]
domain = "example.com"
respect_dnt = true
respect_gpc = true

[[site]]
domain = "blog.example.org"
respect_dnt = false
retention_days = 30
min_visitors = 5

[[editor]]
name = "alice"
token_sha256 = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
role = "viewer"
sites = ["example.com"]
"#;

    /// Each config text parses but fails validation with an error that
    /// names its key.
    pub fn assert_invalid(cases: &[(&str, &str)]) {
        for (text, key) in cases {
            let err = Config::parse(text).unwrap().validate().unwrap_err();
            assert!(err.to_string().contains(key), "{text}: {err}");
        }
    }

    #[test]
    fn sample_from_the_docs_parses_with_defaults() {
        let c = Config::parse(SAMPLE).unwrap();
        c.validate().unwrap();
        assert_eq!(c.site.len(), 2);
        assert!(c.site("example.com").unwrap().respect_gpc);
        assert!(!c.site("blog.example.org").unwrap().respect_dnt);
        assert!(c.site("blog.example.org").unwrap().respect_gpc);
        assert_eq!(c.site("example.com").unwrap().retention_days, 790);
        assert_eq!(c.site("blog.example.org").unwrap().retention_days, 30);
        assert_eq!(c.site("example.com").unwrap().min_visitors, None);
        assert_eq!(c.site("blog.example.org").unwrap().min_visitors, Some(5));
        assert_eq!(c.editor[0].role, Role::Viewer);
        assert_eq!(c.collector.batch_max_rows, 10_000);
    }

    #[test]
    fn every_invalid_value_is_named_at_once() {
        let text = "[collector]\nbatch_max_age_ms = 0\nmax_connections = 0\n[query]\nsession_hours = 0\n[[site]]\ndomain = \"Bad\"\n";
        let keys: Vec<String> = Config::parse(text)
            .unwrap()
            .problems()
            .iter()
            .map(|e| match e {
                ConfigError::Invalid { key, .. } => key.clone(),
                other => panic!("{other}"),
            })
            .collect();
        assert_eq!(
            keys,
            [
                "collector.batch_max_age_ms",
                "collector.max_connections",
                "site[0].domain",
                "query.session_hours"
            ]
        );
    }

    #[test]
    fn unknown_key_is_named() {
        let err = Config::parse("[collector]\nlisten_addr = \"x\"\n").unwrap_err();
        assert!(err.to_string().contains("listen_addr"), "{err}");
    }

    #[test]
    fn environment_overrides_the_file() {
        let mut c = Config::parse(SAMPLE).unwrap();
        c.apply_env(|name| match name {
            ENV_CLICKHOUSE_URL => Some("http://127.0.0.1:9999".into()),
            ENV_CLICKHOUSE_DATABASE => Some("other".into()),
            _ => None,
        });
        assert_eq!(c.clickhouse.url, "http://127.0.0.1:9999");
        assert_eq!(c.clickhouse.database, "other");
    }
}
