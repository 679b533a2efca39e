//! A steady load of beacons for the fault tests (outages, restarts): many
//! clients sending as fast as they can, every answer counted under the
//! phase of the test it came back in.

use super::*;

/// What a steady load got back in one phase of a test.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    /// 202 without a drop header: the collector promised to store it.
    pub acknowledged: u64,
    /// 503 with `Retry-After`: back-pressure (a full queue or spool, a
    /// collector stopping), which a tracker retries or gives up on.
    pub back_pressure: u64,
    /// Requests that got no answer (connection refused or reset, timeout).
    pub no_answer: u64,
    /// Any other answer, by status (and drop reason for a 202): never right
    /// for these beacons.
    pub unexpected: BTreeMap<String, u64>,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.acknowledged += other.acknowledged;
        self.back_pressure += other.back_pressure;
        self.no_answer += other.no_answer;
        for (what, n) in &other.unexpected {
            *self.unexpected.entry(what.clone()).or_default() += n;
        }
    }
}

/// Counters shared by the workers of a [`SteadyLoad`].
struct LoadState {
    running: AtomicBool,
    next: AtomicU64,
    /// Index into `phases` of the phase now running.
    phase: AtomicUsize,
    phases: Mutex<Vec<(String, Tally)>>,
    /// Answers to requests sent in one phase and answered in another: they
    /// count in the totals, but prove nothing about either phase.
    straddling: Mutex<Tally>,
}

impl LoadState {
    /// Counts an answer under the phase it was sent and answered in.
    fn record(&self, sent_in: usize, count: impl FnOnce(&mut Tally)) {
        if self.phase.load(Ordering::SeqCst) == sent_in {
            count(&mut self.phases.lock().unwrap()[sent_in].1);
        } else {
            count(&mut self.straddling.lock().unwrap());
        }
    }
}

/// Beacons sent to a collector's `/api/event` as fast as `workers` clients
/// can, each to its own page (so every stored row is traceable to one
/// request), with every answer counted under the phase of the test it came
/// in (say "before the outage", "during", "after").
pub struct SteadyLoad {
    state: Arc<LoadState>,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

/// Everything a [`SteadyLoad`] got back, by phase.
#[derive(Debug)]
pub struct LoadReport {
    pub phases: Vec<(String, Tally)>,
    pub straddling: Tally,
}

impl SteadyLoad {
    /// Starts the load, counting answers under the phase `first_phase`.
    pub fn start(url: String, workers: usize, first_phase: &str) -> Self {
        let state = Arc::new(LoadState {
            running: AtomicBool::new(true),
            next: AtomicU64::new(0),
            phase: AtomicUsize::new(0),
            phases: Mutex::new(vec![(first_phase.to_owned(), Tally::default())]),
            straddling: Mutex::new(Tally::default()),
        });
        let workers = (0..workers)
            .map(|w| tokio::spawn(load_worker(url.clone(), w, state.clone())))
            .collect();
        Self { state, workers }
    }

    /// Counts answers from now on under a new phase.
    pub fn next_phase(&self, name: &str) {
        let mut phases = self.state.phases.lock().unwrap();
        phases.push((name.to_owned(), Tally::default()));
        self.state.phase.store(phases.len() - 1, Ordering::SeqCst);
    }

    /// The counts of the phase now running, so far.
    pub fn current(&self) -> Tally {
        let phases = self.state.phases.lock().unwrap();
        phases[self.state.phase.load(Ordering::SeqCst)].1.clone()
    }

    /// Waits until the counts of the running phase satisfy `condition`
    /// (described by `what`); fails naming the phase and its counts if they
    /// do not within `deadline`.
    pub async fn wait_for(
        &self,
        what: &str,
        deadline: Duration,
        condition: impl Fn(&Tally) -> bool,
    ) {
        let reached = wait_until(deadline, || {
            let met = condition(&self.current());
            async move { met }
        })
        .await;
        // Cloned out, so a failure does not poison the lock the workers use.
        let (name, tally) =
            self.state.phases.lock().unwrap()[self.state.phase.load(Ordering::SeqCst)].clone();
        assert!(
            reached,
            "phase `{name}`: not {what} within {deadline:?}; counts {tally:?}"
        );
    }

    /// Stops the load once every request in flight is answered.
    pub async fn stop(self) -> LoadReport {
        self.state.running.store(false, Ordering::SeqCst);
        for worker in self.workers {
            worker.await.expect("load worker");
        }
        let phases = self.state.phases.lock().unwrap().clone();
        let straddling = self.state.straddling.lock().unwrap().clone();
        LoadReport { phases, straddling }
    }
}

impl LoadReport {
    /// Every phase and the requests between them together.
    pub fn total(&self) -> Tally {
        let mut total = self.straddling.clone();
        for (_, tally) in &self.phases {
            total.add(tally);
        }
        total
    }

    /// Fails unless each phase had at least `n` beacons acknowledged.
    pub fn assert_each_phase_acknowledged(&self, n: u64) {
        for (name, tally) in &self.phases {
            assert!(
                tally.acknowledged >= n,
                "phase `{name}` acknowledged {} beacons, fewer than {n}: {self:#?}",
                tally.acknowledged
            );
        }
    }

    /// Fails if any answer was neither an acknowledgement nor back-pressure.
    pub fn assert_nothing_unexpected(&self) {
        let total = self.total();
        assert!(
            total.unexpected.is_empty(),
            "answers a beacon must never get: {:?}\n{self:#?}",
            total.unexpected
        );
    }
}

/// One client of a [`SteadyLoad`]: pages under `/w{worker}/`, from an
/// address of its own.
async fn load_worker(url: String, worker: usize, state: Arc<LoadState>) {
    let client = reqwest::Client::new();
    let target = {
        let url = url::Url::parse(&url).expect("a collector URL");
        let host = url.host_str().expect("a host").to_owned();
        format!("{host}:{}", url.port_or_known_default().expect("a port"))
    };
    while state.running.load(Ordering::SeqCst) {
        let n = state.next.fetch_add(1, Ordering::Relaxed);
        let body = pageview(SITE, &format!("https://example.com/w{worker}/{n}"));
        let sent_in = state.phase.load(Ordering::SeqCst);
        let response = client
            .post(&url)
            .header("user-agent", BROWSER_UA)
            .header("x-forwarded-for", format!("198.51.{worker}.1"))
            .body(body.to_string())
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        let Ok(response) = response else {
            state.record(sent_in, |t| t.no_answer += 1);
            // The collector is gone (restarting): try again once its port
            // accepts connections, instead of spinning on refusals.
            wait_until(Duration::from_secs(5), || async {
                !state.running.load(Ordering::SeqCst)
                    || tokio::net::TcpStream::connect(target.as_str())
                        .await
                        .is_ok()
            })
            .await;
            continue;
        };
        let status = response.status().as_u16();
        let dropped = response.headers().get("x-analytics-dropped").cloned();
        let retry_after = response.headers().contains_key("retry-after");
        state.record(sent_in, |t| match (status, dropped) {
            (202, None) => t.acknowledged += 1,
            (503, None) if retry_after => t.back_pressure += 1,
            (status, dropped) => {
                let what = match dropped {
                    Some(reason) => format!("{status} dropped as {reason:?}"),
                    None if status == 503 => "503 without Retry-After".to_owned(),
                    None => status.to_string(),
                };
                *t.unexpected.entry(what).or_default() += 1;
            }
        });
    }
}
