//! What a person does on the dashboard page, for the browser tests: sign
//! in through the form, wait until the reports for the current view are
//! in, pick from a select, press a key, read a headline number.

use crate::browser::Browser;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::Locator;
use serde_json::Value;

/// Types `token` into the sign-in form and submits it.
pub async fn sign_in(browser: &Browser, token: &str) {
    let input = browser.client().find(Locator::Css("#token")).await.unwrap();
    input.clear().await.unwrap();
    input.send_keys(token).await.unwrap();
    browser.click("#login-form button[type=submit]").await;
}

/// Waits until the dashboard has loaded every report for the current view.
pub async fn wait_ready(browser: &Browser) {
    let ready = browser
        .wait_for_js("return document.body.dataset.state === 'ready'")
        .await;
    let status = browser
        .eval("return document.body.dataset.state + ': ' + document.getElementById('status').textContent")
        .await;
    assert!(ready, "the dashboard did not finish loading ({status})");
}

/// Waits until the URL's query string holds `part`, then for the reports.
pub async fn wait_for_url(browser: &Browser, part: &str) {
    let script = format!("return location.search.includes({part:?})");
    let search = browser.eval("return location.search").await;
    assert!(
        browser.wait_for_js(&script).await,
        "the URL never held {part}: {search}"
    );
    wait_ready(browser).await;
}

/// Picks the option with `value` in the select `css`, as a click would.
pub async fn select(browser: &Browser, css: &str, value: &str) {
    let element = browser.client().find(Locator::Css(css)).await.unwrap();
    element
        .select_by_value(value)
        .await
        .unwrap_or_else(|e| panic!("cannot pick {value} in {css}: {e}"));
}

/// Presses and releases `key` with the focus on the page itself (a key
/// typed into a field is that field's).
pub async fn press(browser: &Browser, key: char) {
    browser
        .eval("document.activeElement?.blur(); return true")
        .await;
    let keys = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: key })
        .then(KeyAction::Up { value: key });
    browser
        .client()
        .perform_actions(keys)
        .await
        .unwrap_or_else(|e| panic!("cannot press {key}: {e}"));
}

/// The text of the first element matching `css` ("" if there is none).
pub async fn text(browser: &Browser, css: &str) -> String {
    let script = format!("return document.querySelector({css:?})?.textContent ?? ''");
    match browser.eval(&script).await {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

/// A headline number as the page shows it.
pub async fn headline(browser: &Browser, metric: &str) -> String {
    text(
        browser,
        &format!("#headline .stat[data-metric={metric}] .value"),
    )
    .await
}
