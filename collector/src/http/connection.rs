//! Each public connection's hyper service: `POST /api/event`, the
//! collector's hottest path, goes straight to the beacon handler; every
//! other request, `OPTIONS /api/event` included, goes through the router.
//!
//! Why: on the beacon path the router's matching, its response layer and
//! axum's request and body wrapping cost about as much as parsing the
//! beacon (see `scripts/callgrind-ingest` and the ingest notes). The beacon
//! handler is the same function either way, its refusals are counted the
//! same way, and the ingest and conformance tests go through this service,
//! so the two paths cannot answer differently.

use super::{ingest, routes};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use http::{Method, Request, Response};
use hyper::body::Incoming;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use tower::ServiceExt;

/// One connection's service.
#[derive(Clone)]
pub struct Connection {
    state: Arc<AppState>,
    router: Router,
    peer: SocketAddr,
}

impl Connection {
    /// `router` serves everything but beacons.
    pub fn new(state: Arc<AppState>, router: Router, peer: SocketAddr) -> Self {
        Self {
            state,
            router,
            peer,
        }
    }
}

type Answer = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

impl hyper::service::Service<Request<Incoming>> for Connection {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Answer;

    fn call(&self, request: Request<Incoming>) -> Answer {
        if request.method() == Method::POST && request.uri().path() == ingest::PATH {
            let state = self.state.clone();
            let peer = self.peer;
            return Box::pin(async move {
                let response = ingest::beacon(&state, peer, request).await;
                routes::count_refusals(&state.metrics, &response);
                Ok(response)
            });
        }
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(ConnectInfo(self.peer));
        let router = self.router.clone();
        Box::pin(router.oneshot(request))
    }
}
