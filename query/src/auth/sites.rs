//! Which configured sites an editor may read. Every handler that names a
//! site asks here, so the rule (the editor's `sites` list, and refusals
//! that do not reveal which sites exist) lives in one place.

use crate::error::ApiError;
use schema::config::{EditorConfig, SiteConfig};
use schema::Config;

/// The site, if this editor may read it. Unknown sites are refused like
/// forbidden ones unless the editor may read every site, so a token cannot
/// probe which sites exist.
pub fn readable_site<'a>(
    config: &'a Config,
    editor: &EditorConfig,
    domain: &str,
) -> Result<&'a SiteConfig, ApiError> {
    if !editor.may_read(domain) {
        return Err(ApiError::Forbidden(domain.into()));
    }
    config
        .site(domain)
        .ok_or_else(|| ApiError::BadQuery(format!("`site_id`: no site `{domain}` is configured")))
}
