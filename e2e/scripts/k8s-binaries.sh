#!/usr/bin/env bash
# k8s-binaries.sh - locate etcd, kube-apiserver and kube-controller-manager for the
# kube-posture e2e control plane (building them on Debian/Ubuntu if needed).
#
# Usage: e2e/scripts/k8s-binaries.sh [--env | --lines] [--no-build]
#
# Output on stdout (diagnostics go to stderr):
#   --env (default)  shell assignments, for eval "$(e2e/scripts/k8s-binaries.sh)":
#                      ETCD_BIN=/usr/bin/etcd
#                      KUBE_APISERVER_BIN=...
#                      KUBE_CONTROLLER_MANAGER_BIN=...   (empty: run without controllers)
#                      K8S_BINARIES_SOURCE=env|kubebuilder-assets|path|cache|built
#   --lines          exactly three lines: etcd, kube-apiserver, kube-controller-manager
#                    (the third line is empty when there is no controller manager)
#   --no-build       fail instead of calling build-k8s.sh
#
# Search order (the first that provides etcd + kube-apiserver wins):
#   0. ETCD_BIN + KUBE_APISERVER_BIN (+ KUBE_CONTROLLER_MANAGER_BIN) already in the env
#   1. $KUBEBUILDER_ASSETS/{etcd,kube-apiserver,kube-controller-manager} (envtest layout;
#      envtest assets usually have no kube-controller-manager: then it is left empty and
#      the control plane runs without it)
#   2. PATH
#   3. the cache: ${KUBE_POSTURE_CACHE:-~/.cache/kube-posture}/k8s-1.20.2/bin
#      (etcd from there or from PATH - Debian's etcd-server package)
#   4. e2e/scripts/build-k8s.sh (Debian/Ubuntu only), then the cache again
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
K8S_VERSION=1.20.2
CACHE_ROOT=${KUBE_POSTURE_CACHE:-${XDG_CACHE_HOME:-${HOME:?HOME is not set}/.cache}/kube-posture}
BIN_DIR=$CACHE_ROOT/k8s-$K8S_VERSION/bin

MODE="env"
BUILD=1
while [ $# -gt 0 ]; do
  case $1 in
    --env) MODE="env" ;;
    --lines) MODE=lines ;;
    --no-build) BUILD=0 ;;
    -h | --help)
      sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
      exit 0
      ;;
    *)
      echo "k8s-binaries.sh: unknown argument: $1" >&2
      exit 2
      ;;
  esac
  shift
done

log() { printf '[k8s-binaries] %s\n' "$*" >&2; }

exe() { [ -n "$1" ] && [ -f "$1" ] && [ -x "$1" ]; }

emit() { # etcd apiserver kcm source
  local etcd=$1 apiserver=$2 kcm=$3 source=$4
  log "using ($source): etcd=$etcd"
  log "                  kube-apiserver=$apiserver ($("$apiserver" --version 2>/dev/null | head -n1 || echo '?'))"
  if [ -n "$kcm" ]; then
    log "                  kube-controller-manager=$kcm"
  else
    log "WARNING: no kube-controller-manager: the control plane will run WITHOUT controllers"
    log "         (no default ServiceAccounts/tokens, no garbage collection, no namespace"
    log "         deletion, no DaemonSet/ReplicaSet pods)."
  fi
  if [ "$MODE" = lines ]; then
    printf '%s\n%s\n%s\n' "$etcd" "$apiserver" "$kcm"
  else
    printf 'ETCD_BIN=%q\nKUBE_APISERVER_BIN=%q\nKUBE_CONTROLLER_MANAGER_BIN=%q\nK8S_BINARIES_SOURCE=%q\n' \
      "$etcd" "$apiserver" "$kcm" "$source"
  fi
  exit 0
}

# 0. explicit overrides
if [ -n "${KUBE_APISERVER_BIN:-}" ] || [ -n "${ETCD_BIN:-}" ]; then
  exe "${ETCD_BIN:-}" || { log "ERROR: ETCD_BIN='${ETCD_BIN:-}' is not an executable file"; exit 1; }
  exe "${KUBE_APISERVER_BIN:-}" || { log "ERROR: KUBE_APISERVER_BIN='${KUBE_APISERVER_BIN:-}' is not an executable file"; exit 1; }
  kcm=${KUBE_CONTROLLER_MANAGER_BIN:-}
  if [ -n "$kcm" ] && ! exe "$kcm"; then
    log "ERROR: KUBE_CONTROLLER_MANAGER_BIN='$kcm' is not an executable file"
    exit 1
  fi
  emit "$ETCD_BIN" "$KUBE_APISERVER_BIN" "$kcm" env
fi

# 1. envtest assets
if [ -n "${KUBEBUILDER_ASSETS:-}" ]; then
  a=${KUBEBUILDER_ASSETS%/}
  for b in etcd kube-apiserver; do
    exe "$a/$b" || {
      log "ERROR: KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS has no executable $b"
      exit 1
    }
  done
  kcm=
  exe "$a/kube-controller-manager" && kcm=$a/kube-controller-manager
  emit "$a/etcd" "$a/kube-apiserver" "$kcm" kubebuilder-assets
fi

# 2. PATH
path_apiserver=$(command -v kube-apiserver 2>/dev/null || true)
path_etcd=$(command -v etcd 2>/dev/null || true)
if [ -n "$path_apiserver" ] && [ -n "$path_etcd" ]; then
  emit "$path_etcd" "$path_apiserver" "$(command -v kube-controller-manager 2>/dev/null || true)" path
fi

# 3. cache
from_cache() {
  local etcd=
  if exe "$BIN_DIR/etcd"; then
    etcd=$BIN_DIR/etcd
  else
    etcd=$(command -v etcd 2>/dev/null || true)
  fi
  # A cache built by an older recipe (see BUILD_ID in build-k8s.sh) is rebuilt.
  local want
  want=$(sed -n 's/^BUILD_ID="\(.*\)"$/\1/p' "$SCRIPT_DIR/build-k8s.sh" | sed "s/\$K8S_VERSION/$K8S_VERSION/")
  if [ "$(cat "$BIN_DIR/BUILD_ID" 2>/dev/null)" != "$want" ]; then
    [ -x "$BIN_DIR/kube-apiserver" ] && log "cached binaries in $BIN_DIR come from an older build recipe; rebuilding"
    return 0
  fi
  if exe "$BIN_DIR/kube-apiserver" && exe "$BIN_DIR/kube-controller-manager" && [ -n "$etcd" ]; then
    emit "$etcd" "$BIN_DIR/kube-apiserver" "$BIN_DIR/kube-controller-manager" "$1"
  fi
}
from_cache cache

# 4. build
if [ "$BUILD" -eq 1 ]; then
  log "no binaries found (KUBEBUILDER_ASSETS unset, none on PATH, cache $BIN_DIR empty); building"
  "$SCRIPT_DIR/build-k8s.sh" >&2 || {
    log "ERROR: build-k8s.sh failed"
    exit 1
  }
  from_cache built
  log "ERROR: build finished but $BIN_DIR and PATH still lack etcd/kube-apiserver/kube-controller-manager"
  exit 1
fi

log "ERROR: no etcd + kube-apiserver found (KUBEBUILDER_ASSETS, PATH, $BIN_DIR) and --no-build given"
log "       run e2e/scripts/build-k8s.sh (Debian/Ubuntu), or set KUBEBUILDER_ASSETS, or E2E_KUBECONFIG"
exit 1
