//! API-033 from a live probe's result: the audit stays pure, the shell does the request.

use super::{Finding, ObjectRef, Sink};
use crate::catalog::Category;
use crate::catalog::CheckId;
use crate::snapshot::{ObjectKind, ProbeResult};

pub fn audit(probe: Option<&ProbeResult>, enabled: bool, sink: &mut Sink) {
    let Some(p) = probe.filter(|_| enabled) else {
        return;
    };
    match p.status {
        Some(200) => sink.push(
            Finding::new(
                CheckId::Api033,
                ObjectRef::new(ObjectKind::Service, Some("default"), "kubernetes"),
                format!("an unauthenticated GET {}/api succeeded: anyone who reaches the API server can use it anonymously", p.server.trim_end_matches('/')),
            )
            .evidence([format!("GET {}/api without credentials: HTTP 200", p.server.trim_end_matches('/'))]),
        ),
        Some(_) => {}
        None => sink.not_assessed(
            Category::Apiserver,
            format!("API-033: the anonymous probe of {} failed: {}", p.server, p.error.as_deref().unwrap_or("no answer")),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(status: Option<u16>) -> Sink {
        let mut sink = Sink::default();
        let p = ProbeResult {
            server: "https://10.0.0.1:6443/".into(),
            status,
            error: status.is_none().then(|| "connection refused".into()),
        };
        audit(Some(&p), true, &mut sink);
        sink
    }

    #[test]
    fn only_a_successful_anonymous_request_fires() {
        let s = run(Some(200));
        assert_eq!(s.findings.len(), 1);
        assert_eq!(s.findings[0].resource.name, "kubernetes");
        assert!(s.findings[0].message.contains("https://10.0.0.1:6443/api"));
        assert!(run(Some(401)).findings.is_empty());
        assert!(
            run(Some(403)).findings.is_empty(),
            "anonymous but not authorised: not a success"
        );
        let s = run(None);
        assert!(s.findings.is_empty() && s.gaps.as_ref().unwrap().not_assessed.len() == 1);
    }
}
