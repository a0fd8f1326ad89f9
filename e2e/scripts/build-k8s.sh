#!/usr/bin/env bash
# build-k8s.sh - build kube-apiserver and kube-controller-manager v1.20.2 for the
# kube-posture e2e control plane, from Debian's `kubernetes` source package.
#
# Usage: e2e/scripts/build-k8s.sh [--dry-run] [--force] [--keep-workdir]
#        e2e/scripts/build-k8s.sh --install-from DIR
#
#   (no option)         build unless the cache already holds both binaries (idempotent)
#   --force             rebuild even if the cache is populated
#   --dry-run           do everything (apt, source download, patching) up to `make`,
#                       print the make command, and stop (nothing is installed)
#   --keep-workdir      do not delete the temporary build directory
#   --install-from DIR  copy DIR/kube-apiserver and DIR/kube-controller-manager
#                       (already built, v1.20.2) into the cache instead of building
#
# Environment:
#   KUBE_POSTURE_CACHE  cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/kube-posture);
#                       binaries go to $KUBE_POSTURE_CACHE/k8s-1.20.2/bin
#   TMPDIR              where the temporary build directory is created (default /tmp);
#                       a build needs roughly 3 GB free there
#
# Only Debian/Ubuntu hosts are supported (apt + Debian source package; tested on
# Debian 12 bookworm, Go 1.19). Elsewhere it exits with instructions for providing
# the binaries yourself.
#
# What it does, step by step (the same recipe that was validated by hand):
#   1. apt-get install golang-go rsync jq etcd-server golang-github-modern-go-reflect2-dev
#      dpkg-dev openssl make xz-utils (only the missing ones)
#   2. add a bookworm deb-src entry (/etc/apt/sources.list.d/kube-posture-src.sources)
#      if no kubernetes 1.20.2 source package is visible, then apt-get update
#   3. in a mktemp dir: apt-get source kubernetes (1.20.5+really1.20.2, Debian patches applied)
#   4. replace vendor/github.com/modern-go/reflect2 (1.0.1 crashes under Go >= 1.18 with
#      "fatal error: fault" in mapiterinit) by Debian's reflect2 1.0.2
#   5. GOPATH symlink .go/src/k8s.io/kubernetes -> source root (as debian/rules does)
#   6. make WHAT="cmd/kube-apiserver cmd/kube-controller-manager" with CGO_ENABLED=0
#   7. install both binaries into the cache, check `--version`, delete the build dir
set -euo pipefail

K8S_VERSION=1.20.2
REFLECT2_SRC=/usr/share/gocode/src/github.com/modern-go/reflect2
SRC_LIST=/etc/apt/sources.list.d/kube-posture-src.sources
APT_PACKAGES=(golang-go rsync jq etcd-server golang-github-modern-go-reflect2-dev dpkg-dev openssl make xz-utils ca-certificates)

CACHE_ROOT=${KUBE_POSTURE_CACHE:-${XDG_CACHE_HOME:-${HOME:?HOME is not set}/.cache}/kube-posture}
VERSION_DIR=$CACHE_ROOT/k8s-$K8S_VERSION
# Which recipe built the cached binaries: a cache from an older recipe is rebuilt.
BUILD_ID="k8s-$K8S_VERSION reflect2-1.0.2 openapi-nil-fix-2"
BIN_DIR=$VERSION_DIR/bin
BINARIES=(kube-apiserver kube-controller-manager)

DRY_RUN=0
FORCE=0
KEEP_WORKDIR=0
INSTALL_FROM=

log() { printf '[build-k8s %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
}

while [ $# -gt 0 ]; do
  case $1 in
    --dry-run) DRY_RUN=1 ;;
    --force) FORCE=1 ;;
    --keep-workdir) KEEP_WORKDIR=1 ;;
    --install-from)
      [ $# -ge 2 ] || die "--install-from needs a directory"
      INSTALL_FROM=$2
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      usage
      die "unknown argument: $1"
      ;;
  esac
  shift
done

no_binaries_help() {
  cat >&2 <<EOF
build-k8s.sh can only build Kubernetes $K8S_VERSION on Debian/Ubuntu (it uses apt and
Debian's kubernetes source package). On this host, provide the binaries yourself, in
one of these ways (checked in this order by e2e/scripts/k8s-binaries.sh):
  1. KUBEBUILDER_ASSETS=/dir containing etcd, kube-apiserver and (optionally)
     kube-controller-manager - e.g. the envtest layout from
     'setup-envtest use 1.20.2 -p path'. Without kube-controller-manager the control
     plane runs without controllers (no ServiceAccounts, GC, DaemonSet pods...).
  2. etcd, kube-apiserver and kube-controller-manager on PATH.
  3. the binaries copied into $BIN_DIR/
     (etcd may also live there), e.g. with: $0 --install-from DIR
  4. an existing cluster: export E2E_KUBECONFIG=/path/to/admin-kubeconfig (and
     E2E_OPERATOR_KUBECONFIG for the operator's identity); control-plane.sh run then
     starts nothing.
EOF
}

OS_RELEASE=${OS_RELEASE_FILE:-/etc/os-release} # override only for testing this script

is_debian_like() {
  [ -r "$OS_RELEASE" ] || return 1
  local id id_like
  # shellcheck disable=SC1090
  id=$(. "$OS_RELEASE" && printf '%s' "${ID:-}")
  # shellcheck disable=SC1090
  id_like=$(. "$OS_RELEASE" && printf '%s' "${ID_LIKE:-}")
  case " $id $id_like " in
    *" debian "* | *" ubuntu "*) return 0 ;;
  esac
  return 1
}

# shellcheck disable=SC1090
os_id() { (. "$OS_RELEASE" && printf '%s' "${ID:-}"); }

# Prints "Kubernetes vX.Y.Z" for a binary, or nothing.
bin_version() { "$1" --version 2>/dev/null | head -n1 || true; }

cache_ok() {
  local b
  [ "$(cat "$BIN_DIR/BUILD_ID" 2>/dev/null)" = "$BUILD_ID" ] || return 1
  for b in "${BINARIES[@]}"; do
    [ -x "$BIN_DIR/$b" ] || return 1
    [ "$(bin_version "$BIN_DIR/$b")" = "Kubernetes v$K8S_VERSION" ] || return 1
  done
}

install_binaries_from() {
  local from=$1 b
  for b in "${BINARIES[@]}"; do
    [ -x "$from/$b" ] || die "$from/$b is missing or not executable"
    local v
    v=$(bin_version "$from/$b")
    [ "$v" = "Kubernetes v$K8S_VERSION" ] || die "$from/$b reports '$v', expected 'Kubernetes v$K8S_VERSION'"
  done
  mkdir -p "$BIN_DIR"
  for b in "${BINARIES[@]}"; do
    install -m 0755 "$from/$b" "$BIN_DIR/.$b.tmp.$$"
    mv -f "$BIN_DIR/.$b.tmp.$$" "$BIN_DIR/$b"
    log "installed $BIN_DIR/$b ($(bin_version "$BIN_DIR/$b"))"
  done
}

SUDO=()
need_root() {
  if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
  elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    die "need root (or sudo) to run: $*"
  fi
}

APT_UPDATED=0
apt_update() {
  [ "$APT_UPDATED" -eq 1 ] && return 0
  need_root apt-get update
  log "apt-get update"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  APT_UPDATED=1
}

pkg_installed() {
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = installed ]
}

ensure_packages() {
  local missing=() p
  for p in "$@"; do
    pkg_installed "$p" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    log "apt packages present: $*"
    return 0
  fi
  need_root apt-get install "${missing[@]}"
  apt_update
  log "apt-get install ${missing[*]}"
  local out
  out=$(mktemp)
  if ! "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$out" 2>&1; then
    cat "$out" >&2
    rm -f "$out"
    die "apt-get install ${missing[*]} failed"
  fi
  rm -f "$out"
}

k8s_source_visible() {
  apt-cache showsrc kubernetes 2>/dev/null | grep -q "^Version: .*really$K8S_VERSION"
}

ensure_deb_src() {
  if k8s_source_visible; then
    log "kubernetes $K8S_VERSION source package visible to apt"
    return 0
  fi
  if [ ! -e "$SRC_LIST" ]; then
    need_root "write $SRC_LIST"
    log "adding deb-src entry $SRC_LIST (Debian bookworm main)"
    printf '%s\n' \
      'Types: deb-src' \
      'URIs: http://deb.debian.org/debian' \
      'Suites: bookworm' \
      'Components: main' \
      'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' |
      "${SUDO[@]}" tee "$SRC_LIST" >/dev/null
  fi
  APT_UPDATED=0
  apt_update
  k8s_source_visible || die "apt still sees no kubernetes source package with version *really$K8S_VERSION (check $SRC_LIST and 'apt-cache showsrc kubernetes')"
}

# --------------------------------------------------------------------------------------

T0=$(date +%s)

if [ -n "$INSTALL_FROM" ]; then
  install_binaries_from "$INSTALL_FROM"
  # Binaries installed by hand are trusted to be built with this recipe.
  printf '%s\n' "$BUILD_ID" >"$BIN_DIR/BUILD_ID"
  exit 0
fi

if [ "$FORCE" -eq 0 ] && [ "$DRY_RUN" -eq 0 ] && cache_ok; then
  log "cached: $BIN_DIR/{kube-apiserver,kube-controller-manager} are v$K8S_VERSION; nothing to do"
  exit 0
fi

if ! is_debian_like; then
  log "ERROR: not a Debian/Ubuntu host (see $OS_RELEASE); cannot build Kubernetes $K8S_VERSION here."
  no_binaries_help
  exit 2
fi

mkdir -p "$VERSION_DIR"
# Serialise concurrent builds sharing the cache (e.g. two CI jobs on one machine).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$VERSION_DIR/.build.lock"
  if ! flock -n 9; then
    log "another build holds $VERSION_DIR/.build.lock; waiting for it"
    flock 9
    if [ "$FORCE" -eq 0 ] && [ "$DRY_RUN" -eq 0 ] && cache_ok; then
      log "the other build populated the cache; nothing to do"
      exit 0
    fi
  fi
fi

log "step 1/6: apt packages"
pkgs=("${APT_PACKAGES[@]}")
[ "$(os_id)" = debian ] || pkgs+=(debian-archive-keyring)
ensure_packages "${pkgs[@]}"

GO_BIN=/usr/lib/go/bin/go
[ -x "$GO_BIN" ] || GO_BIN=$(command -v go || true)
[ -n "$GO_BIN" ] || die "no go toolchain found after installing golang-go"
go_version=$("$GO_BIN" version | awk '{print $3}')
case $go_version in
  go1.19 | go1.19.*) log "using $go_version ($GO_BIN)" ;;
  *) log "WARNING: using $go_version; this recipe was validated with Go 1.19 (Debian bookworm). Kubernetes $K8S_VERSION may not build with it." ;;
esac
[ -f "$REFLECT2_SRC/go_above_118.go" ] ||
  die "$REFLECT2_SRC does not look like reflect2 >= 1.0.2 (no go_above_118.go); the vendored 1.0.1 crashes with Go >= 1.18"

log "step 2/6: deb-src entry"
ensure_deb_src

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kube-posture-k8s-build.XXXXXX")
cleanup() {
  if [ "$KEEP_WORKDIR" -eq 1 ]; then
    log "keeping build directory $WORK"
  else
    chmod -R u+w "$WORK" 2>/dev/null || true
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

log "step 3/6: apt-get source kubernetes (into $WORK)"
(cd "$WORK" && apt-get source -qq kubernetes >"$WORK/apt-source.log" 2>&1) || {
  cat "$WORK/apt-source.log" >&2
  die "apt-get source kubernetes failed"
}
SRC=
for d in "$WORK"/kubernetes-*really"$K8S_VERSION"; do
  [ -d "$d" ] && SRC=$d
done
[ -n "$SRC" ] || die "no $WORK/kubernetes-*really$K8S_VERSION directory after apt-get source"
grep -q "tag: v$K8S_VERSION'" "$SRC/hack/lib/version.sh" ||
  die "$SRC/hack/lib/version.sh does not pin tag v$K8S_VERSION; unexpected source package"
log "source tree: $SRC"

log "step 4/6: vendor reflect2 1.0.1 -> Debian's $REFLECT2_SRC"
rm -rf "$SRC/vendor/github.com/modern-go/reflect2"
cp -a "$REFLECT2_SRC" "$SRC/vendor/github.com/modern-go/reflect2"

# go-openapi's type validator tests "zero value" with reflect.DeepEqual on two reflect.Value
# headers. Built with Go 1.15 (as 1.20.2 was released) that was only true for nil; with
# Go 1.19 it is true for "" too, so custom resources with an empty string field are refused
# ("in body must be of type string: null") or have it read as null. Restore the original
# behaviour.
log "step 4b/6: go-openapi type validator: treat only nil as null (Go 1.19 reflect.Value compare)"
# Both copies: kube-openapi's fork (what apiextensions validates custom resources with) and
# go-openapi's.
for OPENAPI_TYPE_GO in "$SRC/vendor/k8s.io/kube-openapi/pkg/validation/validate/type.go" \
  "$SRC/vendor/github.com/go-openapi/validate/type.go"; do
  sed -i 's/if data == nil || reflect.DeepEqual(reflect.Zero(reflect.TypeOf(data)), reflect.ValueOf(data)) {/if data == nil {/' "$OPENAPI_TYPE_GO"
  grep -q 'if data == nil {' "$OPENAPI_TYPE_GO" || die "could not patch $OPENAPI_TYPE_GO"
done

log "step 5/6: GOPATH layout"
mkdir -p "$SRC/.go/src/k8s.io" "$WORK/home"
ln -sfn ../../.. "$SRC/.go/src/k8s.io/kubernetes"

make_cmd=(env GOPATH="$SRC/.go" CGO_ENABLED=0 HOME="$WORK/home" PATH="/usr/lib/go/bin:$PATH"
  make WHAT="cmd/kube-apiserver cmd/kube-controller-manager")
if [ "$DRY_RUN" -eq 1 ]; then
  log "dry run: would now run in $SRC:"
  printf '  %q' "${make_cmd[@]}" >&2
  printf '\n' >&2
  log "dry run complete after $(($(date +%s) - T0))s; nothing installed"
  exit 0
fi

log "step 6/6: make (kube-apiserver, kube-controller-manager); ~10-20 min on 2 cores"
mkdir -p "$VERSION_DIR"
(cd "$SRC" && "${make_cmd[@]}") 2>&1 | tee "$VERSION_DIR/build.log" >&2 ||
  die "make failed; log in $VERSION_DIR/build.log"

install_binaries_from "$SRC/_output/bin"
printf '%s\n' "$BUILD_ID" >"$BIN_DIR/BUILD_ID"
log "done in $(($(date +%s) - T0))s: $BIN_DIR"
