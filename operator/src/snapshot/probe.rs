//! What the live anonymous probe of the API server found (API-033): an input of the audit,
//! like the objects, read by the shell ([`super::live::probe_anonymous`]) and judged by
//! `audit::probe`.

/// What the unauthenticated `GET /api` returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeResult {
    pub server: String,
    /// HTTP status; `None` when the request failed before an answer.
    pub status: Option<u16>,
    pub error: Option<String>,
}
