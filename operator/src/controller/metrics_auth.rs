//! Who may read `/metrics`: the caller's bearer token is authenticated by a TokenReview and
//! the user it names is authorized by a SubjectAccessReview for `get` on the non-resource URL
//! `/metrics`, the way controller-runtime's secure metrics and kube-rbac-proxy do. A scraper
//! needs a ClusterRole with `nonResourceURLs: ["/metrics"], verbs: [get]`
//! (`manifests/metrics.yaml`); the operator needs `create` on `tokenreviews` and
//! `subjectaccessreviews` (`manifests/rbac.yaml`).
//!
//! Decisions are cached by the token's SHA-256 (the token itself is never kept or logged):
//! an allowed one for a minute, a refusal for 30 s, so that a scrape every 15 s costs the API
//! server two reviews a minute. A review the API server could not answer is not cached.
//! At most [`REVIEWS_IN_FLIGHT`] reviews run at once: a flood of made-up tokens cannot turn
//! into a flood of requests to the API server.

use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
use k8s_openapi::api::authorization::v1::{
    NonResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use kube::Client;
use kube::api::{Api, PostParams};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The path and verb a scraper must be allowed.
pub const PATH: &str = "/metrics";
pub const VERB: &str = "get";
/// How long a decision is reused.
pub const ALLOWED_TTL: Duration = Duration::from_secs(60);
pub const DENIED_TTL: Duration = Duration::from_secs(30);
/// At most this many cached decisions (then expired ones go, and if none has, all).
pub const CACHE_ENTRIES: usize = 1024;
pub const REVIEWS_IN_FLIGHT: usize = 4;
/// A TokenReview or SubjectAccessReview that takes longer is answered 503.
pub const REVIEW_TIMEOUT: Duration = Duration::from_secs(5);

/// The answer to one request for `/metrics`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// 200: the user may get `/metrics`.
    Allowed { user: String },
    /// 401: no bearer token, or one the API server does not accept.
    Unauthenticated(String),
    /// 403: a valid token whose user may not get `/metrics`.
    Forbidden { user: String, reason: String },
    /// 503: the API server could not be asked (not cached).
    Unavailable(String),
}

impl Verdict {
    pub fn status(&self) -> u16 {
        match self {
            Verdict::Allowed { .. } => 200,
            Verdict::Unauthenticated(_) => 401,
            Verdict::Forbidden { .. } => 403,
            Verdict::Unavailable(_) => 503,
        }
    }

    fn ttl(&self) -> Option<Duration> {
        match self {
            Verdict::Allowed { .. } => Some(ALLOWED_TTL),
            Verdict::Unauthenticated(_) | Verdict::Forbidden { .. } => Some(DENIED_TTL),
            Verdict::Unavailable(_) => None,
        }
    }
}

/// The token of an `Authorization: Bearer <token>` header (the scheme is case-insensitive, as
/// RFC 7235 says); `None` for no header, another scheme or an empty token.
pub fn bearer_token(authorization: Option<&str>) -> Option<&str> {
    let value = authorization?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The user a TokenReview authenticated, or why it did not.
pub fn authenticated(
    review: &TokenReview,
) -> Result<k8s_openapi::api::authentication::v1::UserInfo, Verdict> {
    let status = review.status.as_ref();
    let user = status
        .filter(|s| s.authenticated == Some(true))
        .and_then(|s| s.user.clone())
        .filter(|u| u.username.as_deref().is_some_and(|n| !n.is_empty()));
    user.ok_or_else(|| {
        Verdict::Unauthenticated(
            status
                .and_then(|s| s.error.clone())
                .filter(|e| !e.is_empty())
                .unwrap_or_else(|| "the token is not valid".to_string()),
        )
    })
}

/// The SubjectAccessReview asking whether `user` may get `/metrics`.
pub fn access_review(user: &k8s_openapi::api::authentication::v1::UserInfo) -> SubjectAccessReview {
    SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: user.username.clone(),
            groups: user.groups.clone(),
            uid: user.uid.clone(),
            extra: user.extra.clone(),
            non_resource_attributes: Some(NonResourceAttributes {
                path: Some(PATH.to_string()),
                verb: Some(VERB.to_string()),
            }),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// The verdict of a SubjectAccessReview's answer for `user`.
pub fn authorized(user: &str, review: &SubjectAccessReview) -> Verdict {
    match &review.status {
        Some(s) if s.allowed && s.denied != Some(true) => Verdict::Allowed {
            user: user.to_string(),
        },
        s => Verdict::Forbidden {
            user: user.to_string(),
            reason: s
                .as_ref()
                .and_then(|s| s.reason.clone().or_else(|| s.evaluation_error.clone()))
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| format!("no rule allows {VERB} {PATH}")),
        },
    }
}

type Key = [u8; 32];

/// Decisions by token hash, each until its expiry; bounded.
#[derive(Default)]
pub struct Cache {
    entries: HashMap<Key, (Verdict, Instant)>,
}

impl Cache {
    pub fn key(token: &str) -> Key {
        Sha256::digest(token.as_bytes()).into()
    }

    pub fn get(&mut self, key: &Key, now: Instant) -> Option<Verdict> {
        match self.entries.get(key) {
            Some((v, until)) if *until > now => Some(v.clone()),
            Some(_) => {
                self.entries.remove(key);
                None
            }
            None => None,
        }
    }

    pub fn put(&mut self, key: Key, verdict: &Verdict, now: Instant) {
        let Some(ttl) = verdict.ttl() else { return };
        if self.entries.len() >= CACHE_ENTRIES {
            self.entries.retain(|_, (_, until)| *until > now);
            if self.entries.len() >= CACHE_ENTRIES {
                self.entries.clear();
            }
        }
        self.entries.insert(key, (verdict.clone(), now + ttl));
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Asks the API server (TokenReview, then SubjectAccessReview), with a cache.
pub struct MetricsAuth {
    client: Client,
    cache: Mutex<Cache>,
    reviews: tokio::sync::Semaphore,
}

impl MetricsAuth {
    pub fn new(client: Client) -> Self {
        MetricsAuth {
            client,
            cache: Mutex::new(Cache::default()),
            reviews: tokio::sync::Semaphore::new(REVIEWS_IN_FLIGHT),
        }
    }

    /// The verdict for a request with this `Authorization` header value.
    pub async fn check(&self, authorization: Option<&str>) -> Verdict {
        let Some(token) = bearer_token(authorization) else {
            return Verdict::Unauthenticated("no bearer token".to_string());
        };
        let key = Cache::key(token);
        if let Some(v) = self.lock().get(&key, Instant::now()) {
            return v;
        }
        let verdict = match self.reviews.acquire().await {
            Ok(_permit) => self.review(token).await,
            Err(_) => Verdict::Unavailable("shutting down".to_string()),
        };
        self.lock().put(key, &verdict, Instant::now());
        verdict
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn review(&self, token: &str) -> Verdict {
        let tokens: Api<TokenReview> = Api::all(self.client.clone());
        let request = TokenReview {
            spec: TokenReviewSpec {
                token: token.to_string(),
                audiences: None,
            },
            ..Default::default()
        };
        let review = match timed(tokens.create(&PostParams::default(), &request)).await {
            Ok(r) => r,
            Err(e) => return Verdict::Unavailable(format!("TokenReview failed: {e}")),
        };
        let user = match authenticated(&review) {
            Ok(u) => u,
            Err(v) => return v,
        };
        let name = user.username.clone().unwrap_or_default();
        let access: Api<SubjectAccessReview> = Api::all(self.client.clone());
        match timed(access.create(&PostParams::default(), &access_review(&user))).await {
            Ok(r) => authorized(&name, &r),
            Err(e) => Verdict::Unavailable(format!("SubjectAccessReview failed: {e}")),
        }
    }
}

async fn timed<T>(
    f: impl std::future::Future<Output = Result<T, kube::Error>>,
) -> Result<T, String> {
    match tokio::time::timeout(REVIEW_TIMEOUT, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {}s", REVIEW_TIMEOUT.as_secs())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::authentication::v1::{TokenReviewStatus, UserInfo};
    use k8s_openapi::api::authorization::v1::SubjectAccessReviewStatus;

    #[test]
    fn bearer_tokens() {
        assert_eq!(bearer_token(Some("Bearer abc")), Some("abc"));
        assert_eq!(bearer_token(Some("bearer  abc ")), Some("abc"));
        assert_eq!(bearer_token(Some("BEARER abc")), Some("abc"));
        assert_eq!(bearer_token(None), None);
        assert_eq!(bearer_token(Some("Bearer")), None);
        assert_eq!(bearer_token(Some("Bearer ")), None);
        assert_eq!(bearer_token(Some("Basic YWRtaW46YWRtaW4=")), None);
        assert_eq!(bearer_token(Some("abc")), None);
    }

    fn token_review(
        authenticated: Option<bool>,
        user: Option<&str>,
        error: Option<&str>,
    ) -> TokenReview {
        TokenReview {
            status: Some(TokenReviewStatus {
                authenticated,
                error: error.map(str::to_string),
                user: user.map(|u| UserInfo {
                    username: Some(u.to_string()),
                    groups: Some(vec!["system:serviceaccounts".into()]),
                    uid: Some("42".into()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn only_an_authenticated_named_user_passes_the_token_review() {
        let ok = authenticated(&token_review(
            Some(true),
            Some("system:serviceaccount:mon:prom"),
            None,
        ))
        .unwrap();
        assert_eq!(
            ok.username.as_deref(),
            Some("system:serviceaccount:mon:prom")
        );
        let sar = access_review(&ok);
        assert_eq!(sar.spec.user, ok.username);
        assert_eq!(sar.spec.groups, ok.groups);
        assert_eq!(sar.spec.uid.as_deref(), Some("42"));
        let nra = sar.spec.non_resource_attributes.unwrap();
        assert_eq!(
            (nra.path.as_deref(), nra.verb.as_deref()),
            (Some("/metrics"), Some("get"))
        );
        assert!(sar.spec.resource_attributes.is_none());

        for (review, message) in [
            (
                token_review(Some(false), None, Some("token expired")),
                "token expired",
            ),
            (token_review(None, None, None), "the token is not valid"),
            (
                token_review(Some(true), None, None),
                "the token is not valid",
            ),
            (
                token_review(Some(true), Some(""), None),
                "the token is not valid",
            ),
            (TokenReview::default(), "the token is not valid"),
        ] {
            assert_eq!(
                authenticated(&review).unwrap_err(),
                Verdict::Unauthenticated(message.into())
            );
        }
    }

    fn sar(allowed: bool, denied: Option<bool>, reason: Option<&str>) -> SubjectAccessReview {
        SubjectAccessReview {
            status: Some(SubjectAccessReviewStatus {
                allowed,
                denied,
                reason: reason.map(str::to_string),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn access_needs_allowed_and_not_denied() {
        assert_eq!(authorized("u", &sar(true, None, None)).status(), 200);
        assert_eq!(authorized("u", &sar(true, Some(false), None)).status(), 200);
        assert_eq!(authorized("u", &sar(true, Some(true), None)).status(), 403);
        assert_eq!(
            authorized("u", &sar(false, None, None)),
            Verdict::Forbidden {
                user: "u".into(),
                reason: "no rule allows get /metrics".into()
            }
        );
        assert_eq!(
            authorized("u", &sar(false, None, Some("RBAC: nope"))),
            Verdict::Forbidden {
                user: "u".into(),
                reason: "RBAC: nope".into()
            }
        );
        assert_eq!(
            authorized("u", &SubjectAccessReview::default()).status(),
            403
        );
    }

    #[test]
    fn cache_expires_skips_unavailable_and_stays_bounded() {
        let mut c = Cache::default();
        let t0 = Instant::now();
        let allowed = Verdict::Allowed { user: "u".into() };
        let denied = Verdict::Unauthenticated("x".into());
        c.put(Cache::key("a"), &allowed, t0);
        c.put(Cache::key("b"), &denied, t0);
        c.put(Cache::key("c"), &Verdict::Unavailable("down".into()), t0);
        assert_eq!(c.len(), 2, "an unanswered review is asked again next time");
        assert_eq!(
            c.get(&Cache::key("a"), t0 + Duration::from_secs(59)),
            Some(allowed.clone())
        );
        assert_eq!(
            c.get(&Cache::key("b"), t0 + Duration::from_secs(29)),
            Some(denied)
        );
        assert_eq!(
            c.get(&Cache::key("b"), t0 + DENIED_TTL),
            None,
            "a refusal is reconsidered after 30 s"
        );
        assert_eq!(
            c.get(&Cache::key("a"), t0 + ALLOWED_TTL),
            None,
            "an allowance is reconsidered after 60 s"
        );
        assert!(c.is_empty(), "expired entries are dropped when read");
        assert_ne!(Cache::key("a"), Cache::key("b"));

        for i in 0..(CACHE_ENTRIES * 3) {
            c.put(Cache::key(&i.to_string()), &allowed, t0);
            assert!(c.len() <= CACHE_ENTRIES);
        }
    }
}
