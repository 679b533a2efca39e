//! `loadtest`: sends a bounded number of page-view beacons to a collector and
//! reports how they were answered. A first, sequential instrument; the full
//! load generator replaces it.

use clap::Parser;
use std::collections::BTreeMap;
use std::time::Instant;

#[derive(Parser)]
#[command(version, about = "Send page-view beacons to a collector")]
struct Args {
    /// The collector's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    target: String,
    /// The site's domain, as configured in [[site]].
    #[arg(long, default_value = "example.com")]
    domain: String,
    /// How many beacons to send.
    #[arg(long, default_value_t = 1000)]
    count: u64,
    /// Allow a target that is not on loopback.
    #[arg(long)]
    allow_remote: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let url = reqwest::Url::parse(&args.target)?;
    let host = url.host_str().unwrap_or_default();
    let loopback = host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    anyhow::ensure!(
        loopback || args.allow_remote,
        "{host} is not a loopback address; pass --allow-remote to load it"
    );
    let client = reqwest::Client::new();
    let endpoint = url.join("/api/event")?;
    let mut outcomes: BTreeMap<String, u64> = BTreeMap::new();
    let started = Instant::now();
    for i in 0..args.count {
        let body = serde_json::json!({
            "n": "pageview",
            "u": format!("https://{}/page/{}", args.domain, i % 50),
            "d": args.domain,
        });
        let outcome = match client
            .post(endpoint.clone())
            .header("user-agent", "Mozilla/5.0 (X11; Linux x86_64) loadtest")
            .body(body.to_string())
            .send()
            .await
        {
            Ok(r) => match r.headers().get("x-analytics-dropped") {
                Some(reason) => format!("dropped:{}", reason.to_str().unwrap_or("?")),
                None => r.status().as_u16().to_string(),
            },
            Err(e) => format!("error:{}", if e.is_connect() { "connect" } else { "other" }),
        };
        *outcomes.entry(outcome).or_default() += 1;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "sent {} beacons in {seconds:.2} s ({:.0}/s)",
        args.count,
        args.count as f64 / seconds
    );
    for (outcome, n) in outcomes {
        println!("  {outcome:>20}  {n}");
    }
    Ok(())
}
