#!/usr/bin/env bash
# make demo: a local control plane, the CRDs, the insecure sample cluster, a SecurityPolicy and
# the operator; then what a platform team would look at. Cleans up on exit.
# DEMO_KEEP=1 keeps everything running until Ctrl-C, to explore with kubectl.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$REPO"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "building kube-posture"
cargo build -q -p kube-posture
BIN=$REPO/target/debug/kube-posture

DIR=$(mktemp -d "${TMPDIR:-/tmp}/kube-posture-demo.XXXXXX")
OPERATOR_PID=
cleanup() {
  [ -n "$OPERATOR_PID" ] && kill "$OPERATOR_PID" 2>/dev/null && wait "$OPERATOR_PID" 2>/dev/null
  if [ -f "$DIR/cp/pids" ]; then
    e2e/scripts/control-plane.sh down "$DIR/cp" >/dev/null 2>&1 || true
  fi
  rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "starting a local control plane (etcd + kube-apiserver + kube-controller-manager)"
e2e/scripts/control-plane.sh up "$DIR/cp" >"$DIR/control-plane.log" 2>&1 || {
  cat "$DIR/control-plane.log" >&2
  exit 1
}
# shellcheck disable=SC1091
. "$DIR/cp/env"
export KUBECONFIG=$E2E_KUBECONFIG
k() { kubectl "$@" 2> >(grep -v "version skew" >&2); }

say "installing the CRDs and the operator's RBAC (manifests/)"
k apply -f crds/crds.yaml -f manifests/namespace.yaml -f manifests/rbac.yaml -f manifests/leader-election.yaml >/dev/null

say "applying the insecure sample cluster (e2e/fixtures/insecure-cluster)"
for f in e2e/fixtures/insecure-cluster/{00,10,20,30,40,41}-*.yaml; do
  k apply -f "$f" >/dev/null
done
k get ns --no-headers | wc -l | xargs printf '%s namespaces, '
k get clusterrolebindings --no-headers | wc -l | xargs printf '%s cluster role bindings, '
k get deployments,daemonsets,statefulsets,cronjobs -A --no-headers 2>/dev/null | wc -l | xargs printf '%s workloads\n'

say "creating a SecurityPolicy (every default check)"
cat <<'YAML' | k apply -f -
apiVersion: kubeposture.io/v1alpha1
kind: SecurityPolicy
metadata:
  name: cluster-baseline
spec:
  failureThreshold: high
  exceptions:
  - check: RBAC-002
    resource: {kind: ClusterRoleBinding, name: public-dashboard}
    reason: read-only status page, reviewed by the platform team
    expires: "2027-06-30T00:00:00Z"
YAML

say "running the operator as its own ServiceAccount identity"
"$BIN" --kubeconfig "$E2E_OPERATOR_KUBECONFIG" run --metrics-addr 127.0.0.1:0 --health-addr 127.0.0.1:0 >"$DIR/operator.log" 2>&1 &
OPERATOR_PID=$!
for _ in $(seq 1 120); do
  ready=$(k get secpol cluster-baseline -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null || true)
  [ "$ready" = True ] && break
  sleep 0.5
done
[ "$ready" = True ] || { echo "the operator did not reconcile; its log:" >&2; tail -20 "$DIR/operator.log" >&2; exit 1; }

say "kubectl get securitypolicies"
k get secpol
# (Output is captured before it is cut: `| head` would kill kubectl with SIGPIPE under pipefail.)
all=$(k get findings)
critical=$(k get findings --no-headers -l kubeposture.io/severity=critical)
say "kubectl get findings -l kubeposture.io/severity=critical ($(wc -l <<<"$critical") of $(($(wc -l <<<"$all") - 1)) findings)"
head -1 <<<"$all"
head -15 <<<"$critical"
say "why: kubectl get finding … -o yaml (status)"
names=$(k get findings -l kubeposture.io/check=RBAC-030 -o name)
name=$(head -1 <<<"$names")
k get "$name" -o jsonpath='{.status.message}{"\n"}{range .status.evidence[*]}  · {@}{"\n"}{end}fix: {.status.remediation}{"\n"}'
say "remediation Events (kubectl get events -n kube-system --field-selector type=Warning)"
events=$(k get events -n kube-system --field-selector type=Warning --no-headers 2>/dev/null)
head -5 <<<"$events" | cut -c1-180
say "policy status"
k get secpol cluster-baseline -o jsonpath='{range .status.conditions[*]}{.type}={.status} ({.reason}): {.message}{"\n"}{end}summary: {.status.summary}{"\n"}score: {.status.score}{"\n"}'

if [ "${DEMO_KEEP:-0}" = 1 ]; then
  say "still running; in another shell: export KUBECONFIG=$KUBECONFIG"
  echo "Ctrl-C stops the operator and the control plane."
  wait "$OPERATOR_PID"
fi
