//! Per-event cost of the collector's request path with warm caches: parsing
//! the beacon, the privacy steps (address resolution, truncation, keyed
//! hash), enrichment (user agent, bots, spam, datacenter, source, location)
//! and building the row; and, apart, encoding rows into ClickHouse's
//! RowBinary as the collector's queue does and sending a batch (to the
//! client crate's local mock server, so loopback HTTP is included,
//! amortised over a batch).
//!
//! Run: `cargo bench -p integration-tests --bench pipeline`.

use collector::beacon;
use collector::delivery::batcher::Encoded;
use collector::enrich::Enricher;
use collector::pipeline::{Pipeline, Request};
use collector::privacy::salt::DayHasher;
use collector::privacy::ClientAddress;
use divan::counter::ItemsCount;
use divan::Bencher;
use http::HeaderMap;
use integration_tests::geoip_fixture::{write_city_db, GeoEntry};
use schema::config::{CollectorConfig, SiteConfig};
use schema::{Config, EncodedRows, EventRow};
use std::net::IpAddr;
use std::sync::Arc;

// The same allocator as the collector binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BODY: &[u8] = br#"{"n":"pageview","u":"https://www.example.com/blog/post-17?utm_source=newsletter&utm_campaign=launch","d":"example.com","r":"https://www.google.com/search?q=privacy","w":1440}"#;
const UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const ROWS_PER_BATCH: usize = 1_000;

fn main() {
    divan::main();
}

struct Fixture {
    pipeline: Pipeline,
    collector: CollectorConfig,
    headers: HeaderMap,
    hasher: DayHasher,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let geoip = dir.path().join("city.mmdb");
    let entry = GeoEntry {
        network: "81.2.69.0/24".parse().unwrap(),
        country: "GB",
        subdivision: Some("ENG"),
        city: Some("London"),
    };
    write_city_db(&geoip, &[entry]);
    let mut config = Config::default();
    config.collector.geoip = Some(geoip);
    config.site = vec![SiteConfig::new("example.com")];
    // One visitor sends every beacon here: limits so high they never bite,
    // but still checked, so their cost is in the figures.
    config.collector.visitor_events_per_minute = u32::MAX;
    config.collector.site_events_per_second = u32::MAX;
    let enricher = Enricher::from_config(&config.collector).unwrap();
    let collector = config.collector.clone();
    let pipeline = Pipeline::new(Arc::new(config), enricher).unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("user-agent", UA.parse().unwrap());
    headers.insert("x-forwarded-for", "81.2.69.160".parse().unwrap());
    let fixture = Fixture {
        pipeline,
        collector,
        headers,
        hasher: DayHasher::fixed(20_000, [7; 32]),
        _dir: dir,
    };
    // Warm the user-agent cache, as real traffic does.
    fixture.event();
    fixture
}

impl Fixture {
    fn event(&self) -> Vec<EventRow> {
        self.process(beacon::parse(BODY).unwrap())
    }

    fn process(&self, beacon: beacon::Beacon) -> Vec<EventRow> {
        // The address is resolved from the forwarding header here, as the
        // ingest handler does before the pipeline runs.
        let c = &self.collector;
        let client = ClientAddress::of_request(
            IpAddr::from([127, 0, 0, 1]),
            &self.headers,
            &c.trusted_proxies,
            c.forwarded_header,
        );
        let request = Request {
            beacon,
            headers: &self.headers,
            client,
            user_agent: UA,
            now: 1_764_000_000,
        };
        self.pipeline.process(request, &self.hasher).unwrap()
    }
}

/// Parse, privacy, enrichment and row building for one beacon.
#[divan::bench]
fn whole_event(bencher: Bencher) {
    let fixture = fixture();
    assert_eq!(
        fixture.event()[0].city,
        "London",
        "the fixture must exercise the geo lookup"
    );
    bencher.bench_local(|| fixture.event());
}

/// The per-event pipeline as issue #3 defines it: parse, privacy,
/// enrichment and the rows encoded into RowBinary by the same step the
/// ingest path runs before it takes the queue's lock (a fresh buffer per
/// request; the copy into the queue's batch is not included).
#[divan::bench]
fn event_encoded(bencher: Bencher) {
    let fixture = fixture();
    bencher.bench_local(|| Encoded::new(&fixture.event()).bytes().len());
}

/// Just the JSON parsing and validation.
#[divan::bench]
fn parse_only() -> beacon::Beacon {
    beacon::parse(divan::black_box(BODY)).unwrap()
}

/// RowBinary encoding of a batch, per row, as the collector does it when it
/// queues rows, and the batch's insert (to the crate's mock server, which
/// decodes the rows again with the crate's own RowBinary reader).
#[divan::bench]
fn encode_rows(bencher: Bencher) {
    let runtime = mock_runtime();
    let row = fixture().event().remove(0);
    let rows = vec![row; ROWS_PER_BATCH];
    let mock = runtime.block_on(async { clickhouse::test::Mock::new() });
    let client = insert_client(&mock);
    bencher
        .counter(ItemsCount::new(ROWS_PER_BATCH))
        .bench_local(|| {
            runtime.block_on(async {
                let recording = mock.add(clickhouse::test::handlers::record::<EventRow>());
                let batch = EncodedRows::of(&rows);
                collector::delivery::sink::send_rows(&client, &batch)
                    .await
                    .unwrap();
                drop(recording);
            })
        });
}

/// The pipeline alone, on an already parsed beacon (cloned per run, as the
/// pipeline consumes it).
#[divan::bench]
fn process_only(bencher: Bencher) {
    let fixture = fixture();
    let beacon = beacon::parse(BODY).unwrap();
    bencher
        .with_inputs(|| beacon.clone())
        .bench_local_values(|beacon| fixture.process(beacon));
}

/// Parts of the work, to see where the time goes.
#[divan::bench]
fn part_url_parse() -> url::Url {
    url::Url::parse(divan::black_box(
        "https://www.example.com/blog/post-17?utm_source=newsletter&utm_campaign=launch",
    ))
    .unwrap()
}

#[divan::bench]
fn part_ua_cached(bencher: Bencher) {
    let agents = collector::enrich::ua::UserAgents::shared();
    agents.classify(UA);
    bencher.bench_local(|| agents.classify(divan::black_box(UA)));
}

#[divan::bench]
fn part_visitor_hash() -> u64 {
    collector::privacy::visitor::visitor_id(
        &[7; 32],
        "example.com",
        collector::privacy::truncate(IpAddr::from([81, 2, 69, 0])),
        divan::black_box(UA),
    )
}

/// All of it per event: 1,000 beacons parsed, checked, enriched, turned
/// into rows and encoded into a batch, then sent as one batch insert.
#[divan::bench]
fn end_to_end(bencher: Bencher) {
    let runtime = mock_runtime();
    let fixture = fixture();
    let mock = runtime.block_on(async { clickhouse::test::Mock::new() });
    let client = insert_client(&mock);
    bencher
        .counter(ItemsCount::new(ROWS_PER_BATCH))
        .bench_local(|| {
            runtime.block_on(async {
                let recording = mock.add(clickhouse::test::handlers::record::<EventRow>());
                let mut batch = EncodedRows::default();
                for _ in 0..ROWS_PER_BATCH {
                    for row in fixture.event() {
                        batch.push(&row);
                    }
                }
                collector::delivery::sink::send_rows(&client, &batch)
                    .await
                    .unwrap();
                drop(recording);
            })
        });
}

/// A client set up as the collector's writer sets up its own for this
/// address (the mock is on loopback: no LZ4, see `compression_for`).
fn insert_client(mock: &clickhouse::test::Mock) -> clickhouse::Client {
    clickhouse::Client::default()
        .with_url(mock.url())
        .with_compression(collector::delivery::sink::compression_for(mock.url()))
}

/// The mock server gets a thread of its own, so that what is timed is the
/// encoding and sending, not ClickHouse's side of the exchange.
fn mock_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}
