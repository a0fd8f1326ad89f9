//! The certificate `/metrics` is served with: `tls.crt` and `tls.key` from a directory (a
//! cert-manager Certificate's Secret mounted there, say), reloaded when they change; or,
//! without one, a self-signed certificate made at start (as controller-runtime does), which
//! Prometheus accepts with `insecure_skip_verify` and which still keeps tokens off the wire
//! in clear text.

use axum_server::tls_rustls::RustlsConfig;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// How often a mounted certificate is checked for a change.
pub const RELOAD_EVERY: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: rustls::pki_types::pem::Error,
    },
    #[error("{0} holds no certificate")]
    NoCertificate(PathBuf),
    #[error("certificate or key rejected: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("cannot make a self-signed certificate: {0}")]
    SelfSigned(#[from] rcgen::Error),
}

/// A rustls server config for HTTP/1.1 with the ring provider (the one kube-posture uses
/// everywhere).
fn server_config(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// A self-signed certificate for `localhost` and the given names.
pub fn self_signed(names: &[String]) -> Result<Arc<ServerConfig>, TlsError> {
    let mut sans = vec!["localhost".to_string()];
    sans.extend(names.iter().filter(|n| !n.is_empty()).cloned());
    let ck = rcgen::generate_simple_self_signed(sans)?;
    let key = PrivateKeyDer::Pkcs8(ck.signing_key.serialize_der().into());
    server_config(vec![ck.cert.der().clone()], key)
}

/// `tls.crt` and `tls.key` in `dir`.
pub fn from_dir(dir: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let crt = dir.join("tls.crt");
    let key = dir.join("tls.key");
    let certs = CertificateDer::pem_file_iter(&crt)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|source| TlsError::Read {
            path: crt.clone(),
            source,
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(crt));
    }
    let key = PrivateKeyDer::from_pem_file(&key).map_err(|source| TlsError::Read {
        path: key.clone(),
        source,
    })?;
    server_config(certs, key)
}

fn modified(dir: &Path) -> Option<(SystemTime, SystemTime)> {
    let m = |f: &str| {
        std::fs::metadata(dir.join(f))
            .and_then(|m| m.modified())
            .ok()
    };
    Some((m("tls.crt")?, m("tls.key")?))
}

/// The config to serve with; for a directory, a task reloads it when the files change (a
/// renewed certificate is served without a restart; a broken one is logged and the old one
/// kept).
pub fn config(dir: Option<&Path>, names: &[String]) -> Result<RustlsConfig, TlsError> {
    let Some(dir) = dir else {
        tracing::warn!(
            "serving /metrics with a self-signed certificate; mount one with --metrics-cert-dir"
        );
        return Ok(RustlsConfig::from_config(self_signed(names)?));
    };
    let served = RustlsConfig::from_config(from_dir(dir)?);
    let reloaded = served.clone();
    let dir = dir.to_path_buf();
    tokio::spawn(async move {
        let mut seen = modified(&dir);
        loop {
            tokio::time::sleep(RELOAD_EVERY).await;
            let now = modified(&dir);
            if now == seen {
                continue;
            }
            seen = now;
            match from_dir(&dir) {
                Ok(cfg) => {
                    reloaded.reload_from_config(cfg);
                    tracing::info!(dir = %dir.display(), "metrics certificate reloaded");
                }
                Err(e) => {
                    tracing::warn!(error = %e, "metrics certificate not reloaded; keeping the old one")
                }
            }
        }
    });
    Ok(served)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_and_directory_certificates_load() {
        assert!(self_signed(&["kube-posture-metrics.kube-posture-system.svc".into()]).is_ok());
        let dir = std::env::temp_dir().join(format!("kp-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        std::fs::write(dir.join("tls.crt"), ck.cert.pem()).unwrap();
        std::fs::write(dir.join("tls.key"), ck.signing_key.serialize_pem()).unwrap();
        assert!(from_dir(&dir).is_ok());

        std::fs::write(dir.join("tls.crt"), "not a certificate\n").unwrap();
        let e = from_dir(&dir).unwrap_err().to_string();
        assert!(e.contains("tls.crt"), "{e}");
        std::fs::remove_file(dir.join("tls.key")).unwrap();
        std::fs::write(dir.join("tls.crt"), ck.cert.pem()).unwrap();
        let e = from_dir(&dir).unwrap_err().to_string();
        assert!(e.contains("tls.key"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
