//! Image configs from registries (OCI distribution API) for `spec.images.inspect`: the effect
//! half of image inspection. The controller and the CLI fetch configs here into an
//! [`ImageConfigs`] that the pure audit reads.
//!
//! Anonymous pulls unless a docker-config file (`{"auths": {...}}`, as `docker login` writes
//! it) is given; Secrets are never read through the API. Each image is fetched at most once
//! per audit, with a timeout and bounded concurrency. Results are cached (see [`fresh`]):
//! configs reached by digest for the life of the process (a digest names immutable content),
//! by tag for 10 minutes, failures for 1 minute, so that change-driven audits neither hammer a
//! registry nor wait for an unreachable one each time.

use crate::audit::images::{ImageConfig, ImageConfigs, ImageRequest};
use base64::Engine;
use futures::StreamExt;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::manifest::OciManifest;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a docker config file: {message}")]
    Parse { path: PathBuf, message: String },
}

/// How registries are reached.
#[derive(Clone, Debug)]
pub struct RegistryOptions {
    /// A docker-config JSON file with credentials for private registries.
    pub auth_file: Option<PathBuf>,
    /// Registries (`host:port`) reached over plain HTTP, such as a local test registry.
    pub plain_http: Vec<String>,
    /// The most time one image may take (manifest, index and config together).
    pub timeout: Duration,
    /// The most images fetched at once.
    pub concurrency: usize,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            auth_file: None,
            plain_http: Vec::new(),
            timeout: Duration::from_secs(20),
            concurrency: 8,
        }
    }
}

/// Fetches image configs; one per process, shared by every audit.
pub struct Inspector {
    client: Client,
    auths: HashMap<String, RegistryAuth>,
    cache: Mutex<HashMap<ImageRequest, (ImageConfig, Instant)>>,
    timeout: Duration,
    concurrency: usize,
}

impl Inspector {
    pub fn new(opts: &RegistryOptions) -> Result<Inspector, RegistryError> {
        // kube's TLS stack is rustls with ring; the registry client uses the same (no second
        // provider): install it as the process default, which the client looks up.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let auths = match &opts.auth_file {
            Some(path) => read_docker_config(path)?,
            None => HashMap::new(),
        };
        let protocol = if opts.plain_http.is_empty() {
            ClientProtocol::Https
        } else {
            ClientProtocol::HttpsExcept(opts.plain_http.clone())
        };
        let client = Client::new(ClientConfig {
            protocol,
            connect_timeout: Some(opts.timeout.min(Duration::from_secs(10))),
            read_timeout: Some(opts.timeout),
            ..Default::default()
        });
        Ok(Inspector {
            client,
            auths,
            cache: Mutex::new(HashMap::new()),
            timeout: opts.timeout,
            concurrency: opts.concurrency.max(1),
        })
    }

    /// The config of every requested image (or why it could not be read).
    pub async fn inspect(&self, requests: &[ImageRequest]) -> ImageConfigs {
        let configs = futures::stream::iter(requests.iter().cloned())
            .map(|r| async move {
                let config = self.config_of(&r).await;
                (r, config)
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        ImageConfigs { configs }
    }

    async fn config_of(&self, r: &ImageRequest) -> ImageConfig {
        let now = Instant::now();
        if let Some(hit) = self.cached(r, now) {
            return hit;
        }
        let config = match tokio::time::timeout(self.timeout, self.fetch_user(r)).await {
            Ok(Ok(user)) => ImageConfig::User(user),
            Ok(Err(why)) => ImageConfig::Unavailable(why),
            Err(_) => ImageConfig::Unavailable(format!(
                "registry did not answer within {}",
                humantime::format_duration(self.timeout)
            )),
        };
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(r.clone(), (config.clone(), now));
        config
    }

    fn cached(&self, r: &ImageRequest, now: Instant) -> Option<ImageConfig> {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        match cache.get(r) {
            Some((c, at)) if fresh(r.is_digest(), c, now.saturating_duration_since(*at)) => {
                Some(c.clone())
            }
            Some(_) => {
                cache.remove(r);
                None
            }
            None => None,
        }
    }

    /// Manifest (or index, resolved for the request's platform), then the config blob's
    /// `config.User`.
    async fn fetch_user(&self, r: &ImageRequest) -> Result<String, String> {
        let reference: Reference = r
            .reference
            .parse()
            .map_err(|e| format!("not an image reference: {e}"))?;
        let auth = self.auth_for(&reference);
        let (manifest, _) = self
            .client
            .pull_manifest(&reference, &auth)
            .await
            .map_err(|e| format!("cannot read the manifest: {e}"))?;
        let (image_ref, manifest) = match manifest {
            OciManifest::Image(m) => (reference, m),
            OciManifest::ImageIndex(index) => {
                let entry = index
                    .manifests
                    .iter()
                    .find(|e| {
                        e.platform.as_ref().is_some_and(|p| {
                            p.os.to_string() == r.os && p.architecture.to_string() == r.architecture
                        })
                    })
                    .ok_or_else(|| {
                        format!(
                            "the image index has no manifest for {}/{}",
                            r.os, r.architecture
                        )
                    })?;
                let platform_ref = Reference::with_digest(
                    reference.registry().to_string(),
                    reference.repository().to_string(),
                    entry.digest.clone(),
                );
                let (m, _) = self
                    .client
                    .pull_image_manifest(&platform_ref, &auth)
                    .await
                    .map_err(|e| {
                        format!("cannot read the {}/{} manifest: {e}", r.os, r.architecture)
                    })?;
                (platform_ref, m)
            }
        };
        let mut blob = Vec::new();
        self.client
            .pull_blob(&image_ref, &manifest.config, &mut blob)
            .await
            .map_err(|e| format!("cannot read the image config: {e}"))?;
        user_of_config(&blob)
    }

    fn auth_for(&self, reference: &Reference) -> RegistryAuth {
        [reference.registry(), reference.resolve_registry()]
            .iter()
            .find_map(|r| self.auths.get(*r))
            .cloned()
            .unwrap_or(RegistryAuth::Anonymous)
    }
}

/// Whether a cached result of this `age` may still be used: a config reached by digest
/// always, by tag for 10 minutes (the tag may move), a failure for 1 minute.
fn fresh(by_digest: bool, config: &ImageConfig, age: Duration) -> bool {
    match config {
        ImageConfig::User(_) if by_digest => true,
        ImageConfig::User(_) => age < Duration::from_secs(600),
        ImageConfig::Unavailable(_) => age < Duration::from_secs(60),
    }
}

/// `config.User` of an image config blob (empty when unset).
fn user_of_config(blob: &[u8]) -> Result<String, String> {
    let config: serde_json::Value =
        serde_json::from_slice(blob).map_err(|e| format!("the image config is not JSON: {e}"))?;
    Ok(config
        .pointer("/config/User")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("")
        .to_string())
}

/// Credentials by registry host from a docker-config file: `auth` (base64 `user:password`),
/// `username`/`password`, or `identitytoken`/`registrytoken` (bearer).
fn read_docker_config(path: &Path) -> Result<HashMap<String, RegistryAuth>, RegistryError> {
    let text = std::fs::read_to_string(path).map_err(|source| RegistryError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_docker_config(&text).map_err(|message| RegistryError::Parse {
        path: path.to_path_buf(),
        message,
    })
}

fn parse_docker_config(text: &str) -> Result<HashMap<String, RegistryAuth>, String> {
    #[derive(serde::Deserialize)]
    struct File {
        #[serde(default)]
        auths: HashMap<String, Entry>,
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        auth: Option<String>,
        username: Option<String>,
        password: Option<String>,
        identitytoken: Option<String>,
        registrytoken: Option<String>,
    }
    let file: File = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut out = HashMap::new();
    for (key, e) in file.auths {
        let auth = if let Some(token) = e.registrytoken.or(e.identitytoken) {
            RegistryAuth::Bearer(token)
        } else if let (Some(u), Some(p)) = (e.username, e.password) {
            RegistryAuth::Basic(u, p)
        } else if let Some(b64) = e.auth {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|_| format!("auths.{key}.auth is not base64"))?;
            let decoded =
                String::from_utf8(decoded).map_err(|_| format!("auths.{key}.auth is not UTF-8"))?;
            let (u, p) = decoded
                .split_once(':')
                .ok_or_else(|| format!("auths.{key}.auth is not user:password"))?;
            RegistryAuth::Basic(u.to_string(), p.to_string())
        } else {
            continue;
        };
        for host in registry_hosts(&key) {
            out.insert(host, auth.clone());
        }
    }
    Ok(out)
}

/// The hosts a docker-config key stands for: `https://index.docker.io/v1/` is Docker Hub.
fn registry_hosts(key: &str) -> Vec<String> {
    let host = key
        .split_once("://")
        .map_or(key, |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or("")
        .to_string();
    if matches!(
        host.as_str(),
        "index.docker.io" | "docker.io" | "registry-1.docker.io"
    ) {
        vec!["docker.io".into(), "index.docker.io".into()]
    } else {
        vec![host]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_config_credentials() {
        let text = r#"{"auths": {
            "https://index.docker.io/v1/": {"auth": "dXNlcjpwYXNz"},
            "registry.example:5000": {"username": "u", "password": "p"},
            "ghcr.io": {"identitytoken": "t"},
            "empty.example": {}
        }}"#;
        let auths = parse_docker_config(text).unwrap();
        assert!(
            matches!(&auths["docker.io"], RegistryAuth::Basic(u, p) if u == "user" && p == "pass")
        );
        assert!(matches!(&auths["index.docker.io"], RegistryAuth::Basic(..)));
        assert!(matches!(&auths["registry.example:5000"], RegistryAuth::Basic(u, _) if u == "u"));
        assert!(matches!(&auths["ghcr.io"], RegistryAuth::Bearer(t) if t == "t"));
        assert!(!auths.contains_key("empty.example"));
        assert!(parse_docker_config(r#"{"auths": {"x": {"auth": "!!"}}}"#).is_err());
    }

    #[test]
    fn cache_lifetimes() {
        let user = ImageConfig::User("1000".into());
        let failed = ImageConfig::Unavailable("refused".into());
        let day = Duration::from_secs(86_400);
        assert!(fresh(true, &user, day));
        assert!(fresh(false, &user, Duration::from_secs(599)));
        assert!(!fresh(false, &user, Duration::from_secs(600)));
        assert!(fresh(true, &failed, Duration::from_secs(59)));
        assert!(!fresh(true, &failed, Duration::from_secs(60)));
    }

    #[test]
    fn config_user() {
        assert_eq!(
            user_of_config(br#"{"config": {"User": "1000"}}"#).unwrap(),
            "1000"
        );
        assert_eq!(user_of_config(br#"{"config": {}}"#).unwrap(), "");
        assert_eq!(user_of_config(br#"{"architecture": "amd64"}"#).unwrap(), "");
        assert!(user_of_config(b"nope").is_err());
    }
}
