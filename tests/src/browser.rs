//! A real, headless Chromium for browser tests, driven over WebDriver.
//!
//! [`Browser::start`] runs Debian's `chromedriver` on a free loopback port
//! and opens one browser session with a fresh profile. The helpers cover
//! what the tests need: open a page, evaluate JavaScript, click, set a
//! cookie, wait for a condition with a deadline, save a screenshot under
//! `target/test-artifacts/`. [`Browser::client`] gives the full
//! `fantoccini` client for anything else.
//!
//! ```no_run
//! # async fn demo() {
//! use integration_tests::browser::{Browser, BrowserOptions};
//! let browser = Browser::start(BrowserOptions::default()).await;
//! browser.open("http://127.0.0.1:8080/").await;
//! assert!(browser.wait_for_js("return document.readyState == 'complete'").await);
//! let title = browser.eval("return document.title").await;
//! browser.click("a#next").await;
//! browser.screenshot("dashboard").await;
//! browser.close().await;
//! # }
//! ```
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian's
//! `chromium` and `chromium-driver`, installed by `scripts/install-deps`);
//! a test fails, not skips, without them. Override the paths with
//! `CHROMIUM` and `CHROMEDRIVER`.
//!
//! # Processes
//! chromedriver gets its own process group, and the browser it launches
//! joins it. [`Browser::close`] ends the session; dropping a `Browser`
//! (also on panic) kills that group by its id, so no Chromium outlives the
//! test. chromedriver also dies with the thread that started it
//! (`PR_SET_PDEATHSIG`), as the private ClickHouse does.

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A desktop Chrome user agent: headless Chromium names itself
/// `HeadlessChrome`, which the collector drops as a bot.
pub const DESKTOP_UA: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36";

/// How long [`Browser::wait_for_js`] and start-up wait.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// How the browser presents itself.
#[derive(Debug, Clone)]
pub struct BrowserOptions {
    pub user_agent: String,
    /// Chromium's own "Send a Do Not Track request" setting: the `DNT: 1`
    /// header and `navigator.doNotTrack == "1"`.
    pub do_not_track: bool,
    /// Global Privacy Control: `navigator.globalPrivacyControl` (injected
    /// before any page script runs) and the `Sec-GPC: 1` header.
    pub global_privacy_control: bool,
    pub window_size: (u32, u32),
}

impl Default for BrowserOptions {
    fn default() -> Self {
        Self {
            user_agent: DESKTOP_UA.into(),
            do_not_track: false,
            global_privacy_control: false,
            window_size: (1280, 900),
        }
    }
}

/// One chromedriver process with one browser session.
pub struct Browser {
    client: Client,
    /// Taken when stopped, so its id is never signalled after it was reaped.
    driver: Option<Child>,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a browser; panics with the reason if either
    /// is missing or does not come up within [`DEADLINE`].
    pub async fn start(options: BrowserOptions) -> Self {
        let profile = tempfile::Builder::new()
            .prefix("analytics-chromium-")
            .tempdir()
            .expect("a temporary profile directory");
        let (driver, url) = start_driver().await;
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities(&options, &profile.path().to_string_lossy()))
            .connect(&url)
            .await;
        let mut browser = match client {
            Ok(client) => Self {
                client,
                driver: Some(driver),
                _profile: profile,
            },
            Err(e) => {
                kill_group(driver);
                panic!("chromium did not start through chromedriver: {e}");
            }
        };
        if options.global_privacy_control {
            browser.enable_gpc().await;
        }
        let (width, height) = options.window_size;
        browser.client.set_window_size(width, height).await.unwrap();
        browser.driver_alive();
        browser
    }

    /// The WebDriver client, for what the helpers do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Navigates and waits for the page's load event.
    pub async fn open(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
    }

    /// Runs `script` (a function body: `return ...`) in the page.
    pub async fn eval(&self, script: &str) -> Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Clicks the first element matching a CSS selector.
    pub async fn click(&self, css: &str) {
        let element = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"));
        element
            .click()
            .await
            .unwrap_or_else(|e| panic!("cannot click {css}: {e}"));
    }

    /// Sets a cookie (`Path=/`) for the site of the page that is open now,
    /// as the page itself would. (WebDriver's cookie command refuses IP
    /// address hosts such as 127.0.0.1, where test sites live.)
    pub async fn set_cookie(&self, name: &str, value: &str) {
        let script = "document.cookie = arguments[0] + '=' + arguments[1] + '; path=/'; \
                      return document.cookie";
        let args = vec![json!(name), json!(value)];
        let cookies = self
            .client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("cannot set cookie {name}: {e}"));
        let pair = format!("{name}={value}");
        let set = cookies
            .as_str()
            .is_some_and(|c| c.split("; ").any(|p| p == pair));
        assert!(set, "cookie {pair} not set: {cookies}");
    }

    /// Polls `script` until it returns `true`, for at most [`DEADLINE`].
    pub async fn wait_for_js(&self, script: &str) -> bool {
        crate::wait_until(DEADLINE, || async {
            self.eval(script).await == Value::Bool(true)
        })
        .await
    }

    /// Saves a PNG of the viewport as `target/test-artifacts/{name}.png`
    /// and returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.unwrap();
        let dir = artifacts_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// Runs a Chrome DevTools Protocol command on the current page target
    /// (chromedriver's `goog/cdp/execute`).
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        let command = CdpCommand {
            body: json!({ "cmd": cmd, "params": params }),
        };
        self.client
            .issue_cmd(command)
            .await
            .unwrap_or_else(|e| panic!("CDP {cmd} failed: {e}"))
    }

    /// Ends the session (the browser quits), then chromedriver.
    pub async fn close(mut self) {
        let client = self.client.clone();
        let _ = client.close().await;
        self.stop_driver();
    }

    /// A script run before every page's own, plus the request header.
    async fn enable_gpc(&mut self) {
        let source = "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', \
                      { get: () => true, configurable: true });";
        self.cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": source }),
        )
        .await;
        self.cdp("Network.enable", json!({})).await;
        self.cdp(
            "Network.setExtraHTTPHeaders",
            json!({ "headers": { "Sec-GPC": "1" } }),
        )
        .await;
    }

    fn driver_alive(&mut self) {
        if let Some(Ok(Some(status))) = self.driver.as_mut().map(Child::try_wait) {
            panic!("chromedriver exited: {status}");
        }
    }

    fn stop_driver(&mut self) {
        if let Some(driver) = self.driver.take() {
            kill_group(driver);
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.stop_driver();
    }
}

/// Where tests put screenshots and other artifacts: `test-artifacts/` in
/// the cargo target directory.
pub fn artifacts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")));
    target.join("test-artifacts")
}

fn capabilities(options: &BrowserOptions, profile: &str) -> serde_json::Map<String, Value> {
    let binary = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    // The network here is closed: without the background-networking flags
    // Chromium stalls on its own update and sync requests.
    let args = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        &format!("--user-data-dir={profile}"),
        &format!("--user-agent={}", options.user_agent),
    ];
    let chrome = json!({
        "binary": binary,
        "args": args,
        "prefs": { "enable_do_not_track": options.do_not_track },
    });
    let caps = json!({ "browserName": "chrome", "goog:chromeOptions": chrome });
    match caps {
        Value::Object(map) => map,
        _ => unreachable!("a JSON object literal"),
    }
}

/// Starts chromedriver on a free loopback port and waits until it answers.
async fn start_driver() -> (Child, String) {
    let path = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    let port = free_port();
    let mut command = Command::new(&path);
    command
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // The browser it launches joins this group, so one signal ends both.
        .process_group(0);
    schema::local_server::die_with_spawning_thread(&mut command);
    let mut driver = command.spawn().unwrap_or_else(|e| {
        panic!("cannot run {path}: {e} (install chromium-driver: scripts/install-deps)")
    });
    let url = format!("http://127.0.0.1:{port}");
    let status = format!("{url}/status");
    let ready = crate::wait_until(DEADLINE, || async {
        reqwest::get(&status).await.is_ok_and(|r| r.status() == 200)
    })
    .await;
    if !ready {
        let exited = driver.try_wait().ok().flatten();
        kill_group(driver);
        panic!("chromedriver did not answer on {url} (exit status {exited:?})");
    }
    (driver, url)
}

/// A port the kernel just handed out; chromedriver binds it right after.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn kill_group(mut driver: Child) {
    signal_group(&driver);
    let _ = driver.wait();
}

/// SIGKILL to the process group led by `driver` (its id is the group's).
fn signal_group(driver: &Child) {
    let Ok(group) = libc::pid_t::try_from(driver.id()) else {
        return;
    };
    #[allow(unsafe_code)]
    // SAFETY: kill(2) with a negative pid signals exactly the group we
    // created for this chromedriver; it touches no memory of ours.
    unsafe {
        libc::kill(-group, libc::SIGKILL);
    }
}

/// `POST /session/{id}/goog/cdp/execute`, chromedriver's CDP passthrough.
#[derive(Debug)]
struct CdpCommand {
    body: Value,
}

impl WebDriverCompatibleCommand for CdpCommand {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.to_string()))
    }
}
