#!/usr/bin/env bash
# make bench: the figures of BENCHMARKS.md on this machine, printed and saved to
# target/bench/results-<date>.md.
#   BENCH_M=1            also the offline audit at M (5k nodes, 150k pods; ~1.5 GB of snapshots)
#   BENCH_SKIP_CHECKOV=1 no checkov comparison (otherwise installed into a cached venv)
#   BENCH_CHANGES=N      change-to-Finding samples in the controller benchmark (100)
#   BENCH_SKIP_CONTROLLER=1  no controller benchmark (it starts a local control plane)
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
CACHE=${KUBE_POSTURE_CACHE:-$HOME/.cache/kube-posture}
$CARGO build --release -q -p kube-posture -p kube-posture-bench
target_dir=$($CARGO metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
BENCH=$target_dir/release/kube-posture-bench
export KUBE_POSTURE_BIN=$target_dir/release/kube-posture
mkdir -p "$target_dir/bench"
out=$target_dir/bench/results-$(date -u +%Y%m%dT%H%M%SZ).md
log() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }

{
  echo "# kube-posture benchmarks, $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
  echo
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), $(. /etc/os-release && echo "$PRETTY_NAME")"
  echo
} | tee "$out"

log "offline audit at S"
"$BENCH" offline --size small | tee -a "$out"
echo | tee -a "$out"
log "bytes held per object by the model (what the operator caches)"
"$BENCH" sizes --size small | tee -a "$out"
echo | tee -a "$out"
log "what one change costs the incremental audit at S"
"$BENCH" changes --size small | tee -a "$out"
echo | tee -a "$out"
if [ "${BENCH_M:-0}" = 1 ]; then
  log "offline audit at M (generating 1.5 GB of snapshots the first time)"
  "$BENCH" offline --size medium | tee -a "$out"
  echo | tee -a "$out"
  log "what one change costs the incremental audit at M"
  "$BENCH" changes --size medium --per-kind 5 | tee -a "$out"
  echo | tee -a "$out"
fi

if [ "${BENCH_SKIP_CHECKOV:-0}" != 1 ]; then
  if [ -z "${CHECKOV:-}" ] && ! command -v checkov >/dev/null; then
    venv=$CACHE/checkov-venv
    if [ ! -x "$venv/bin/checkov" ]; then
      log "installing checkov 3.3.30 into $venv"
      python3 -m venv "$venv"
      "$venv/bin/pip" install -q checkov==3.3.30
    fi
    export CHECKOV=$venv/bin/checkov
  fi
  log "kube-posture and checkov on the same ~10,000-object snapshot (checkov takes minutes)"
  "$BENCH" checkov | tee -a "$out"
  echo | tee -a "$out"
fi

if [ "${BENCH_SKIP_CONTROLLER:-0}" != 1 ]; then
  log "controller on the insecure sample cluster (release build)"
  e2e/scripts/control-plane.sh run -- "$BENCH" controller --changes 20 | tee -a "$out"
  echo | tee -a "$out"
  log "controller at S against a local control plane (loading 66k objects takes ~5-8 min), then /healthz and Lease renewals under 1 CPU with audits back to back (needs root for the cgroup)"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  # Only the namespace and serviceaccount controllers: no garbage collector, node lifecycle or
  # workload controllers rewriting the synthetic cluster. No ServiceAccount admission: the
  # synthetic Pods name ServiceAccounts without token Secrets. The audit log counts the
  # operator's requests.
  E2E_KCM_CONTROLLERS=namespace,serviceaccount \
  E2E_APISERVER_EXTRA_ARGS="--disable-admission-plugins=ServiceAccount --audit-policy-file=$PWD/bench/audit-policy.yaml --audit-log-path=$tmp/audit.log --max-requests-inflight=800 --max-mutating-requests-inflight=400" \
  BENCH_AUDIT_LOG=$tmp/audit.log \
    e2e/scripts/control-plane.sh run -- sh -c '
      "$0" controller --size small --changes "$1" && echo &&
      "$0" runtime --skip-load --seconds 60 --cpu-limit 1' "$BENCH" "${BENCH_CHANGES:-100}" | tee -a "$out"
fi
log "results in $out"
