//! Ad networks' click id parameters (`gclid`, `fbclid`, ...): which source
//! and medium a click with one comes from. Only the parameter's name is
//! ever looked at; its value identifies a person's click and is never kept.

/// A recognised ad/click id query parameter. The value itself is never stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClickId {
    /// The parameter name, as the ad network spells it.
    pub param: &'static str,
    /// The source a click with this id comes from.
    pub source: &'static str,
    /// The medium to store when the page has no `utm_medium`.
    pub medium: &'static str,
}

const fn click(param: &'static str, source: &'static str, medium: &'static str) -> ClickId {
    ClickId {
        param,
        source,
        medium,
    }
}

/// Ad networks' click ids. All but fbclid mark a paid click; GA4 auto-tagging
/// stores those as medium `cpc`.
static CLICK_IDS: [ClickId; 13] = [
    click("gclid", "Google Ads", "cpc"),
    click("gbraid", "Google Ads", "cpc"),
    click("wbraid", "Google Ads", "cpc"),
    // Campaign Manager 360 / Display & Video 360: display ads, GA4's "Display".
    click("dclid", "Google Display", "display"),
    click("msclkid", "Microsoft Ads", "cpc"),
    // Facebook appends fbclid to every outbound link, organic shares included.
    click("fbclid", "Facebook", "social"),
    click("ttclid", "TikTok Ads", "cpc"),
    click("li_fat_id", "LinkedIn Ads", "cpc"),
    click("twclid", "Twitter Ads", "cpc"),
    click("yclid", "Yandex Ads", "cpc"),
    click("epik", "Pinterest Ads", "cpc"),
    click("rdt_cid", "Reddit Ads", "cpc"),
    click("ScCid", "Snapchat Ads", "cpc"),
];

/// Looks up a query parameter name (gclid, gbraid, wbraid, dclid, msclkid,
/// fbclid, ttclid, li_fat_id, twclid, yclid, epik, rdt_cid, ScCid).
/// Case-insensitive, since Snapchat's `ScCid` is also seen as `sccid`.
pub fn click_id(param: &str) -> Option<&'static ClickId> {
    CLICK_IDS
        .iter()
        .find(|c| c.param.eq_ignore_ascii_case(param))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn click_ids_are_looked_up_by_name() {
        assert_eq!(click_id("gclid").map(|c| c.source), Some("Google Ads"));
        assert_eq!(click_id("msclkid").map(|c| c.source), Some("Microsoft Ads"));
        assert_eq!(click_id("sccid").map(|c| c.param), Some("ScCid"));
        assert_eq!(click_id("ScCid").map(|c| c.source), Some("Snapchat Ads"));
        assert_eq!(click_id("fbclid").map(|c| c.medium), Some("social"));
        assert_eq!(click_id("utm_source"), None);
        assert_eq!(click_id(""), None);
    }
}
