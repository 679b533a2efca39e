//! The tracker script at `GET /js/script.js`: embedded in the binary,
//! prepared once at start-up (comments and indentation dropped, the
//! configured opt-out cookie name put in, gzipped) and served with
//! `ETag`/`304` and a day of caching.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use flate2::write::GzEncoder;
use flate2::Compression;
use http::{header, HeaderMap, HeaderValue, StatusCode};
use std::io::Write;
use std::sync::Arc;

use crate::state::AppState;

/// The readable source; see docs/tracker.md.
const SOURCE: &str = include_str!("../../assets/script.js");

/// The cookie name the source carries, replaced by the configured one.
const DEFAULT_OPTOUT: &str = "\"analytics_optout\"";

/// A day; the `ETag` makes revalidation after that cheap.
static CACHE_CONTROL: HeaderValue =
    HeaderValue::from_static("public, max-age=86400, must-revalidate");
static JAVASCRIPT: HeaderValue = HeaderValue::from_static("application/javascript; charset=utf-8");
static GZIP: HeaderValue = HeaderValue::from_static("gzip");
static NOSNIFF: HeaderValue = HeaderValue::from_static("nosniff");

/// The served script in both encodings, each with its own `ETag`.
#[derive(Debug)]
pub struct TrackerScript {
    plain: Bytes,
    gzipped: Bytes,
    plain_etag: HeaderValue,
    gzipped_etag: HeaderValue,
}

impl TrackerScript {
    /// The script for a collector whose opt-out cookie is `optout_cookie`
    /// (already validated as a cookie name, so it needs no escaping in a
    /// JavaScript string, but is quoted as JSON anyway).
    pub fn new(optout_cookie: &str) -> Self {
        let cookie = serde_json::to_string(optout_cookie).expect("a string serializes");
        let plain = compact(SOURCE).replacen(DEFAULT_OPTOUT, &cookie, 1);
        let gzipped = gzip(plain.as_bytes());
        let tag = blake3::hash(plain.as_bytes()).to_hex();
        let tag = &tag[..16];
        Self {
            plain_etag: etag(&format!("\"{tag}\"")),
            gzipped_etag: etag(&format!("\"{tag}-gz\"")),
            plain: Bytes::from(plain),
            gzipped: Bytes::from(gzipped),
        }
    }

    /// The bytes as served to a client that does not take gzip.
    pub fn plain(&self) -> &[u8] {
        &self.plain
    }

    /// `304` when the client has this version, else the script, gzipped
    /// when the client accepts that.
    pub fn respond(&self, request: &HeaderMap) -> Response {
        let gzip = accepts_gzip(request);
        let (body, tag) = if gzip {
            (&self.gzipped, &self.gzipped_etag)
        } else {
            (&self.plain, &self.plain_etag)
        };
        let fresh = [&self.plain_etag, &self.gzipped_etag]
            .iter()
            .any(|t| if_none_match(request, t));
        let mut response = if fresh {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            body.clone().into_response()
        };
        let headers = response.headers_mut();
        headers.insert(header::ETAG, tag.clone());
        headers.insert(header::CACHE_CONTROL, CACHE_CONTROL.clone());
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        if !fresh {
            headers.insert(header::CONTENT_TYPE, JAVASCRIPT.clone());
            headers.insert(header::X_CONTENT_TYPE_OPTIONS, NOSNIFF.clone());
            if gzip {
                headers.insert(header::CONTENT_ENCODING, GZIP.clone());
            }
        }
        response
    }
}

/// `GET /js/script.js`.
pub async fn serve(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    state.tracker.respond(&headers)
}

/// Drops whole-line comments, indentation and blank lines: the source keeps
/// its comments, the wire does not pay for them. Only lines that start
/// with `//` are comments in the source (none is inside a string).
fn compact(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    for line in source.lines().map(str::trim) {
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(bytes).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}

fn etag(quoted: &str) -> HeaderValue {
    HeaderValue::from_str(quoted).expect("hex digits in quotes")
}

/// Whether `Accept-Encoding` lists gzip (or `*`) with a non-zero quality.
fn accepts_gzip(request: &HeaderMap) -> bool {
    header_items(request, header::ACCEPT_ENCODING).any(|item| {
        let mut parts = item.split(';').map(str::trim);
        let coding = parts.next().unwrap_or_default();
        let refused = parts.any(|p| {
            p.strip_prefix("q=")
                .and_then(|q| q.parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
    })
}

/// Whether `If-None-Match` names `tag` (weakly, as RFC 9110 says for GET) or `*`.
fn if_none_match(request: &HeaderMap, tag: &HeaderValue) -> bool {
    let tag = tag.to_str().unwrap_or_default();
    header_items(request, header::IF_NONE_MATCH)
        .any(|item| item == "*" || item.strip_prefix("W/").unwrap_or(item) == tag)
}

/// The comma-separated items of every `name` header.
fn header_items(request: &HeaderMap, name: header::HeaderName) -> impl Iterator<Item = &str> + '_ {
    request
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::GzDecoder;
    use http_body_util::BodyExt;
    use std::io::Read;

    fn request(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, value.parse().unwrap());
        }
        headers
    }

    async fn body(response: Response) -> Vec<u8> {
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec()
    }

    fn gunzip(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        GzDecoder::new(bytes).read_to_end(&mut out).unwrap();
        out
    }

    #[tokio::test]
    async fn served_script_is_at_most_two_kilobytes_gzipped() {
        let script = TrackerScript::new("analytics_optout");
        let response = script.respond(&request(&[("accept-encoding", "gzip, br")]));
        assert_eq!(response.headers()[header::CONTENT_ENCODING], "gzip");
        let served = body(response).await;
        assert_eq!(gunzip(&served), script.plain());
        // Compressed again here, at the default level, not the server's.
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(script.plain()).unwrap();
        let size = encoder.finish().unwrap().len();
        eprintln!("script.js: {} bytes, {size} gzipped", script.plain().len());
        // Issue #21's budget, engagement included (Plausible's: about 2.5 KB).
        assert!(size <= 2048, "{size} bytes gzipped");
        assert!(served.len() <= 2048, "{} bytes served", served.len());
    }

    #[tokio::test]
    async fn plain_unless_gzip_is_accepted() {
        let script = TrackerScript::new("analytics_optout");
        for accept in [None, Some("identity"), Some("gzip;q=0, br"), Some("br")] {
            let headers =
                accept.map_or_else(HeaderMap::new, |a| request(&[("accept-encoding", a)]));
            let response = script.respond(&headers);
            assert_eq!(response.status(), StatusCode::OK);
            assert!(response.headers().get(header::CONTENT_ENCODING).is_none());
            let h = response.headers();
            assert_eq!(
                h[header::CONTENT_TYPE],
                "application/javascript; charset=utf-8"
            );
            assert!(h[header::CACHE_CONTROL]
                .to_str()
                .unwrap()
                .contains("max-age=86400"));
            let text = String::from_utf8(body(response).await).unwrap();
            assert!(text.contains("sendBeacon"), "{accept:?}");
        }
    }

    #[tokio::test]
    async fn not_modified_for_either_etag() {
        let script = TrackerScript::new("analytics_optout");
        let first = script.respond(&request(&[("accept-encoding", "gzip")]));
        let gz_tag = first.headers()[header::ETAG].to_str().unwrap().to_owned();
        let plain = script.respond(&HeaderMap::new());
        let plain_tag = plain.headers()[header::ETAG].to_str().unwrap().to_owned();
        assert_ne!(gz_tag, plain_tag);
        for sent in [
            gz_tag.clone(),
            plain_tag,
            format!("W/{gz_tag}"),
            format!("\"x\", {gz_tag}"),
        ] {
            let again = script.respond(&request(&[
                ("if-none-match", &sent),
                ("accept-encoding", "gzip"),
            ]));
            assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{sent}");
            assert_eq!(again.headers()[header::ETAG], gz_tag.as_str());
            assert!(body(again).await.is_empty());
        }
        let stale = script.respond(&request(&[("if-none-match", "\"0123\"")]));
        assert_eq!(stale.status(), StatusCode::OK);
    }

    #[test]
    fn comments_and_indentation_are_not_served() {
        let served = compact(SOURCE);
        assert!(served.len() < SOURCE.len());
        assert!(served
            .lines()
            .all(|l| !l.starts_with("//") && !l.starts_with(' ')));
        // Every code line of the source is still there.
        let code = SOURCE
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("//"));
        assert!(code.eq(served.lines()));
    }

    #[test]
    fn the_configured_optout_cookie_is_the_one_checked() {
        assert_eq!(SOURCE.matches(DEFAULT_OPTOUT).count(), 1);
        let script = TrackerScript::new("site_no_count");
        let text = std::str::from_utf8(script.plain()).unwrap();
        assert!(text.contains("\"site_no_count\""));
        assert!(!text.contains("analytics_optout"));
    }
}
