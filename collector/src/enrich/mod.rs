//! Enrichment: what an accepted event gains beyond the beacon itself —
//! browser, OS and device, bot verdicts, acquisition source, location — and
//! the lists behind them, loaded once at start-up.

pub mod bots;
pub mod datacenter;
pub mod geo;
pub use schema::source;
pub mod spam;
pub mod ua;

use crate::privacy::TruncatedIp;
use anyhow::Context;
use datacenter::Datacenters;
use geo::Geo;
use schema::config::CollectorConfig;
use source::Sources;
use spam::SpamList;
use std::sync::Arc;
use ua::UserAgents;

/// The enrichment data of one collector.
pub struct Enricher {
    user_agents: &'static UserAgents,
    sources: &'static Sources,
    spam: SpamList,
    geo: Arc<Geo>,
    datacenters: Option<Datacenters>,
}

impl Enricher {
    /// Loads what `[collector]` names; a file that cannot be used stops
    /// start-up with an error naming its key.
    pub fn from_config(c: &CollectorConfig) -> anyhow::Result<Self> {
        let spam = match &c.referrer_spam_file {
            Some(path) => SpamList::from_file(path)
                .with_context(|| format!("collector.referrer_spam_file: {}", path.display()))?,
            None => SpamList::vendored(),
        };
        let geo = match &c.geoip {
            Some(path) => Geo::open(path).context("collector.geoip")?,
            None => Geo::disabled(),
        };
        let datacenters = c
            .datacenter_ranges_file
            .as_deref()
            .map(Datacenters::from_file)
            .transpose()
            .context("collector.datacenter_ranges_file")?;
        Ok(Self {
            user_agents: UserAgents::shared(),
            sources: Sources::shared(),
            spam,
            geo,
            datacenters,
        })
    }

    pub fn user_agents(&self) -> &UserAgents {
        self.user_agents
    }

    pub fn sources(&self) -> &Sources {
        self.sources
    }

    pub fn spam(&self) -> &SpamList {
        &self.spam
    }

    pub fn geo(&self) -> &Arc<Geo> {
        &self.geo
    }

    /// Takes the truncated address, like every lookup after truncation.
    pub fn is_datacenter(&self, truncated_ip: TruncatedIp) -> bool {
        self.datacenters
            .as_ref()
            .is_some_and(|d| d.contains(truncated_ip))
    }
}
