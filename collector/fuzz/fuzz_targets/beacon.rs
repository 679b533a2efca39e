//! Any body: `beacon::parse` returns a beacon or field errors, never panics,
//! and what it keeps of the page URL is normalised.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    if let Ok(beacon) = collector::beacon::parse(body) {
        let page = beacon.page;
        assert!(page.pathname.starts_with('/'));
        assert!(!page.hostname.starts_with("www."));
        let route = page.pathname.split_once('#').map_or("", |(_, r)| r);
        assert!(!route.contains('?') && !route.contains('='));
    }
});
