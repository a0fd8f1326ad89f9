//! The operator's HTTP endpoints. `/healthz` (the main loop is alive) and `/readyz` (caches
//! synced) on a plain port of their own, for the kubelet's probes; `/metrics` (Prometheus
//! text) on another, over HTTPS and only for callers the API server authorizes
//! ([`super::metrics_auth`]), unless started with `--metrics-secure=false`.

use super::metrics::Metrics;
use super::metrics_auth::{MetricsAuth, Verdict};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long the main loop may go without a heartbeat before /healthz fails.
pub const STALL: Duration = Duration::from_secs(120);

#[derive(Default)]
pub struct Health {
    pub ready: AtomicBool,
    /// Seconds since the epoch of the main loop's last turn.
    pub heartbeat: AtomicU64,
}

impl Health {
    pub fn beat(&self) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        self.heartbeat.store(now, Ordering::Relaxed);
    }

    fn alive(&self) -> bool {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        now.saturating_sub(self.heartbeat.load(Ordering::Relaxed)) < STALL.as_secs()
    }
}

async fn healthz(State(h): State<Arc<Health>>) -> impl IntoResponse {
    if h.alive() {
        (StatusCode::OK, "ok\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "main loop stalled\n")
    }
}

async fn readyz(State(h): State<Arc<Health>>) -> impl IntoResponse {
    if h.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ok\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "caches not synced yet\n")
    }
}

fn bind(
    addr: std::net::SocketAddr,
) -> std::io::Result<(std::net::TcpListener, std::net::SocketAddr)> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let bound = listener.local_addr()?;
    Ok((listener, bound))
}

/// Serve `/healthz` and `/readyz` on `addr`; returns the bound address (port 0 picks a free
/// one).
pub async fn serve_health(
    addr: std::net::SocketAddr,
    health: Arc<Health>,
) -> std::io::Result<std::net::SocketAddr> {
    let (listener, bound) = bind(addr)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(health);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "health endpoint stopped");
        }
    });
    Ok(bound)
}

/// How `/metrics` is served.
pub enum MetricsAccess {
    /// Plain HTTP, to anyone who can connect (`--metrics-secure=false`).
    Open,
    /// HTTPS, and only for callers whose token the API server authenticates and authorizes for
    /// `get /metrics`.
    Secured {
        tls: axum_server::tls_rustls::RustlsConfig,
        auth: Arc<MetricsAuth>,
    },
}

#[derive(Clone)]
struct MetricsState {
    metrics: Arc<Metrics>,
    auth: Option<Arc<MetricsAuth>>,
}

fn exposition(metrics: &Metrics) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.encode(),
    )
        .into_response()
}

async fn metrics_handler(State(s): State<MetricsState>, headers: HeaderMap) -> Response {
    let Some(auth) = &s.auth else {
        return exposition(&s.metrics);
    };
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let verdict = auth.check(authorization).await;
    s.metrics.metrics_request(verdict.status());
    match verdict {
        Verdict::Allowed { .. } => exposition(&s.metrics),
        Verdict::Unauthenticated(why) => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer realm=\"kube-posture\"")],
            format!("Unauthorized: {why}\n"),
        )
            .into_response(),
        Verdict::Forbidden { user, reason } => {
            tracing::debug!(%user, %reason, "metrics request refused");
            (
                StatusCode::FORBIDDEN,
                format!("Forbidden: user {user:?} may not get /metrics ({reason})\n"),
            )
                .into_response()
        }
        Verdict::Unavailable(why) => {
            tracing::warn!(reason = %why, "cannot check a metrics request");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("cannot check the caller's token now: {why}\n"),
            )
                .into_response()
        }
    }
}

/// Serve `/metrics` on `addr`; returns the bound address (port 0 picks a free one).
pub async fn serve_metrics(
    addr: std::net::SocketAddr,
    metrics: Arc<Metrics>,
    access: MetricsAccess,
) -> std::io::Result<std::net::SocketAddr> {
    let (listener, bound) = bind(addr)?;
    let (auth, tls) = match access {
        MetricsAccess::Open => (None, None),
        MetricsAccess::Secured { tls, auth } => (Some(auth), Some(tls)),
    };
    let app = Router::new()
        .route("/metrics", get(metrics_handler))
        .with_state(MetricsState { metrics, auth });
    match tls {
        None => {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, app).await {
                    tracing::error!(error = %e, "metrics endpoint stopped");
                }
            });
        }
        Some(tls) => {
            let server = axum_server::from_tcp_rustls(listener, tls)?;
            tokio::spawn(async move {
                if let Err(e) = server.serve(app.into_make_service()).await {
                    tracing::error!(error = %e, "metrics endpoint stopped");
                }
            });
        }
    }
    Ok(bound)
}
