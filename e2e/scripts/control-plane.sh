#!/usr/bin/env bash
# control-plane.sh - a throwaway, real Kubernetes control plane on loopback for the
# kube-posture e2e tests: etcd + kube-apiserver + kube-controller-manager (1.20.2 by
# default, see k8s-binaries.sh), no kubelet, no scheduler, no Docker.
#
# Usage:
#   control-plane.sh up DIR                  start a control plane whose state lives in DIR
#   control-plane.sh down DIR                stop it (only the PIDs in DIR/pids) and rm DIR
#   control-plane.sh run [--] CMD [ARGS...]  up in a temp dir, run CMD with DIR/env
#                                            exported, always tear down; exit with CMD's status.
#                                            If E2E_KUBECONFIG is already set, just runs CMD.
#                                            If startup fails, the temp DIR (logs) is kept.
#   control-plane.sh status DIR              show the components and whether they run
#   control-plane.sh stop-apiserver DIR [--kill]    | fault injection: stop / restart one
#   control-plane.sh start-apiserver DIR            | component with its original flags.
#   control-plane.sh stop-etcd DIR [--kill]         | stop-*: SIGTERM (SIGKILL with --kill,
#   control-plane.sh start-etcd DIR                 | i.e. a crash), SIGKILL after
#   control-plane.sh stop-controller-manager DIR [--kill]   E2E_STOP_TIMEOUT.
#   control-plane.sh start-controller-manager DIR   | start-* waits until it is healthy
#                                                   | (start-etcd also for the apiserver's
#                                                   | /readyz if the apiserver is running).
#   Note: a graceful stop-apiserver waits for open watches to end (kube-apiserver waits
#   up to 60s); with the controller manager connected it is SIGKILLed after
#   E2E_STOP_TIMEOUT. Use --kill, or stop the controller manager first, to avoid the wait.
#
# Files in DIR after `up`:
#   env                    shell-sourceable exports: E2E_KUBECONFIG, E2E_OPERATOR_KUBECONFIG,
#                          E2E_SERVER, E2E_CONTROL_PLANE_DIR, E2E_ETCD_ENDPOINT, E2E_CA_FILE,
#                          E2E_CONTROLLER_MANAGER (1|0), E2E_CONTROL_PLANE_SCRIPT
#   admin.kubeconfig       user kube-posture-admin, group system:masters (token auth, CA embedded)
#   operator.kubeconfig    user system:serviceaccount:kube-posture-system:kube-posture, groups
#                          system:serviceaccounts, system:serviceaccounts:kube-posture-system,
#                          system:authenticated; default namespace kube-posture-system.
#                          No RBAC is granted to it: the tests create the operator's RBAC.
#   pids                   NAME=PID lines (etcd, apiserver, controller-manager) of what runs
#   cmd/NAME.sh            starts NAME in the background with exactly the flags `up` used,
#                          appends to logs/NAME.log, updates pids, prints the PID
#   cmd/NAME.args          the command line, one argument per line (informational)
#   ports                  NAME=PORT lines (etcd-client, etcd-peer, apiserver, controller-manager)
#   logs/NAME.log          component logs
#   pki/                   ca.{crt,key}, apiserver.{crt,key} (SAN 127.0.0.1, localhost,
#                          kubernetes.default.svc...), admin.{crt,key} (client cert, O=system:masters),
#                          sa.{key,pub}, tokens.csv, admin.token, operator.token
#   etcd/                  etcd data
#
# Environment:
#   E2E_STARTUP_TIMEOUT       seconds to wait for each component to become healthy (60)
#   E2E_STOP_TIMEOUT          seconds between SIGTERM and SIGKILL in down/stop-* (10)
#   E2E_SERVER_HOST           host used in the kubeconfigs' server URL (127.0.0.1; or localhost)
#   E2E_KCM_CONTROLLERS       override kube-controller-manager --controllers
#   E2E_APISERVER_EXTRA_ARGS  extra kube-apiserver flags (whitespace separated)
#   E2E_KCM_EXTRA_ARGS        extra kube-controller-manager flags (whitespace separated)
#   KEEP=1                    down/run: keep DIR (logs, certs) after stopping the processes
#   E2E_KUBECONFIG            run: if set, use that cluster and start nothing
#   KUBEBUILDER_ASSETS, ETCD_BIN, KUBE_APISERVER_BIN, KUBE_CONTROLLER_MANAGER_BIN,
#   KUBE_POSTURE_CACHE        binary selection, see k8s-binaries.sh
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
SELF=$SCRIPT_DIR/$(basename "${BASH_SOURCE[0]}")
MARKER=.kube-posture-control-plane
STARTUP_TIMEOUT=${E2E_STARTUP_TIMEOUT:-60}
STOP_TIMEOUT=${E2E_STOP_TIMEOUT:-10}
SERVER_HOST=${E2E_SERVER_HOST:-127.0.0.1}
SERVICE_CIDR=10.0.0.0/24
SERVICE_IP=10.0.0.1
OPERATOR_NAMESPACE=kube-posture-system
OPERATOR_SA=kube-posture
OPERATOR_USER=system:serviceaccount:$OPERATOR_NAMESPACE:$OPERATOR_SA
ADMIN_USER=kube-posture-admin
DEFAULT_CONTROLLERS=garbagecollector,namespace,serviceaccount,serviceaccount-token,daemonset,replicaset,deployment,statefulset,job,cronjob,replicationcontroller,endpoint,endpointslice,clusterrole-aggregation
# Components in start order; stopped in reverse order.
COMPONENTS=(etcd apiserver controller-manager)

log() { printf '[control-plane %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}
usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$SELF" >&2
}
now_ms() { date +%s%3N; }
since() { # since START_MS -> "12.345"
  local ms=$(($(now_ms) - $1))
  printf '%d.%03d' $((ms / 1000)) $((ms % 1000))
}

# ---------------------------------------------------------------- process bookkeeping

abs_dir() { (cd "$1" && pwd -P); }

# pid_of DIR NAME -> PID recorded in DIR/pids, or nothing
pid_of() {
  [ -f "$1/pids" ] || return 0
  sed -n "s/^$2=\([0-9][0-9]*\)\$/\1/p" "$1/pids" | tail -n1
}

del_pid() { # DIR NAME
  [ -f "$1/pids" ] || return 0
  local tmp
  tmp=$(mktemp "$1/.pids.XXXXXX")
  grep -v "^$2=" "$1/pids" >"$tmp" || true
  mv -f "$tmp" "$1/pids"
}

# is_ours DIR PID: PID is alive (not a zombie) and its command line mentions DIR, i.e.
# it is a process this control plane started (guards against PID reuse).
is_ours() {
  local dir=$1 pid=$2 stat state cmdline
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  state=${stat%% *}
  [ "$state" != Z ] && [ "$state" != X ] || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  case $cmdline in
    *"$dir/"*) return 0 ;;
  esac
  return 1
}

# stop_component DIR NAME [SIGNAL]: send SIGNAL (default TERM) to NAME's recorded PID,
# wait up to STOP_TIMEOUT seconds, then SIGKILL. Only PIDs that is_ours are signalled.
stop_component() {
  local dir=$1 name=$2 sig=${3:-TERM} pid waited=0
  pid=$(pid_of "$dir" "$name")
  [ -n "$pid" ] || return 0
  if ! is_ours "$dir" "$pid"; then
    log "$name (pid $pid) is not running"
    del_pid "$dir" "$name"
    return 0
  fi
  log "stopping $name (pid $pid, SIG$sig)"
  kill -s "$sig" "$pid" 2>/dev/null || true
  while is_ours "$dir" "$pid"; do
    if [ "$waited" -ge $((STOP_TIMEOUT * 10)) ]; then
      log "$name (pid $pid) still running ${STOP_TIMEOUT}s after SIG$sig; SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      waited=0
      sleep 0.2
      is_ours "$dir" "$pid" && log "WARNING: $name (pid $pid) survived SIGKILL"
      break
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  del_pid "$dir" "$name"
}

# stop_components DIR NAME... : stop them one after the other, in the given order.
# (Sequential on purpose: kube-apiserver's graceful shutdown waits, up to its
# --request-timeout of 60s, for open watch connections such as the controller
# manager's, so the controller manager must be gone first for a fast shutdown.)
stop_components() {
  local dir=$1 name
  shift
  for name in "$@"; do stop_component "$dir" "$name"; done
}

# ---------------------------------------------------------------- health checks

tail_log() { # DIR NAME
  local f=$1/logs/$2.log
  [ -f "$f" ] || return 0
  log "---- last 40 lines of $f ----"
  tail -n 40 "$f" >&2 || true
  log "---- end of $2 log ----"
}

port_of() { sed -n "s/^$2=//p" "$1/ports"; }

# wait_healthy DIR NAME : poll NAME's health endpoint until OK, the process dies, or timeout.
wait_healthy() {
  local dir=$1 name=$2 start url pid next_note=5 elapsed_s
  local -a curl_args=()
  case $name in
    etcd) url="http://127.0.0.1:$(port_of "$dir" etcd-client)/health" ;;
    apiserver)
      url="https://127.0.0.1:$(port_of "$dir" apiserver)/readyz"
      curl_args+=(--cacert "$dir/pki/ca.crt" -H "Authorization: Bearer $(cat "$dir/pki/admin.token")")
      ;;
    controller-manager)
      url="https://127.0.0.1:$(port_of "$dir" controller-manager)/healthz"
      curl_args+=(--cacert "$dir/pki/ca.crt")
      ;;
    *) die "unknown component $name" ;;
  esac
  start=$(now_ms)
  while :; do
    if curl -fsS --max-time 2 -o /dev/null "${curl_args[@]}" "$url" 2>/dev/null; then
      log "$name healthy after $(since "$start")s ($url)"
      return 0
    fi
    pid=$(pid_of "$dir" "$name")
    if ! is_ours "$dir" "$pid"; then
      log "$name (pid ${pid:-?}) exited while starting"
      tail_log "$dir" "$name"
      return 1
    fi
    elapsed_s=$((($(now_ms) - start) / 1000))
    if [ "$elapsed_s" -ge "$STARTUP_TIMEOUT" ]; then
      log "$name not healthy after ${STARTUP_TIMEOUT}s ($url)"
      if [ "$name" = apiserver ]; then
        curl -sS --max-time 5 "${curl_args[@]}" "$url?verbose" >&2 || true
      fi
      tail_log "$dir" "$name"
      return 1
    fi
    if [ "$elapsed_s" -ge "$next_note" ]; then
      log "waiting for $name (${elapsed_s}s / ${STARTUP_TIMEOUT}s)..."
      next_note=$((next_note + 5))
    fi
    sleep 0.25
  done
}

start_component() { # DIR NAME
  local dir=$1 name=$2 pid
  [ -x "$dir/cmd/$name.sh" ] || die "$dir/cmd/$name.sh missing (was this DIR created by 'up'?)"
  pid=$("$dir/cmd/$name.sh")
  log "started $name (pid $pid), log: $dir/logs/$name.log"
}

# ---------------------------------------------------------------- up helpers

# pick_ports N: print N distinct free loopback TCP ports (space separated), random in
# 20000-31999 (below Linux's default ephemeral range) and absent from /proc/net/tcp{,6}
# in any state. (A port can still be taken between picking and binding; unlikely.)
pick_ports() {
  local n=$1 used=" " picked=" " out=() local_addr port tries=0
  while read -r _ local_addr _; do
    case $local_addr in
      *:[0-9A-Fa-f]*) used+="$((16#${local_addr##*:})) " ;;
    esac
  done < <(cat /proc/net/tcp /proc/net/tcp6 2>/dev/null || true)
  while [ ${#out[@]} -lt "$n" ]; do
    port=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
    case "$used$picked" in
      *" $port "*) ;;
      *)
        picked+="$port "
        out+=("$port")
        ;;
    esac
    tries=$((tries + 1))
    [ "$tries" -lt 10000 ] || die "could not find $n free ports"
  done
  echo "${out[*]}"
}

gen_pki() { # PKI_DIR
  local p=$1
  mkdir -p "$p"
  chmod 700 "$p"
  cat >"$p/openssl.cnf" <<EOF
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash
[ v3_server ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = IP:127.0.0.1, DNS:localhost, IP:$SERVICE_IP, DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc, DNS:kubernetes.default.svc.cluster.local
[ v3_client ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
  local o=(openssl)
  "${o[@]}" req -x509 -new -nodes -newkey rsa:2048 -sha256 -days 3650 \
    -config "$p/openssl.cnf" -extensions v3_ca -subj "/CN=kube-posture-e2e-ca" \
    -keyout "$p/ca.key" -out "$p/ca.crt" 2>/dev/null
  sign() { # NAME SUBJECT EXTENSIONS
    "${o[@]}" req -new -nodes -newkey rsa:2048 -config "$p/openssl.cnf" -subj "$2" \
      -keyout "$p/$1.key" -out "$p/$1.csr" 2>/dev/null
    "${o[@]}" x509 -req -sha256 -days 3650 -in "$p/$1.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" \
      -set_serial "0x$(openssl rand -hex 12)" -extfile "$p/openssl.cnf" -extensions "$3" \
      -out "$p/$1.crt" 2>/dev/null
    rm -f "$p/$1.csr"
  }
  sign apiserver "/CN=kube-apiserver" v3_server
  sign admin "/O=system:masters/CN=$ADMIN_USER" v3_client
  "${o[@]}" genrsa -out "$p/sa.key" 2048 2>/dev/null
  "${o[@]}" rsa -in "$p/sa.key" -pubout -out "$p/sa.pub" 2>/dev/null
  openssl rand -hex 32 >"$p/admin.token"
  openssl rand -hex 32 >"$p/operator.token"
  {
    printf '%s,%s,%s,"%s"\n' "$(cat "$p/admin.token")" "$ADMIN_USER" "$ADMIN_USER" system:masters
    printf '%s,%s,%s,"%s"\n' "$(cat "$p/operator.token")" "$OPERATOR_USER" \
      "kube-posture-e2e-operator" \
      "system:serviceaccounts,system:serviceaccounts:$OPERATOR_NAMESPACE,system:authenticated"
  } >"$p/tokens.csv"
  chmod 600 "$p"/*.key "$p"/*.token "$p/tokens.csv"
}

write_kubeconfig() { # FILE SERVER CA_FILE USER TOKEN NAMESPACE
  local ca_data
  ca_data=$(base64 -w0 <"$3")
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: kube-posture-e2e
  cluster:
    server: $2
    certificate-authority-data: $ca_data
users:
- name: $4
  user:
    token: $5
contexts:
- name: kube-posture-e2e
  context:
    cluster: kube-posture-e2e
    user: $4
    namespace: $6
current-context: kube-posture-e2e
preferences: {}
EOF
  chmod 600 "$1"
}

# write_cmd DIR NAME ARGV... : DIR/cmd/NAME.sh (re)starts NAME detached with these args.
write_cmd() {
  local dir=$1 name=$2
  shift 2
  local argv setsid_cmd=
  argv=$(printf ' %q' "$@")
  command -v setsid >/dev/null 2>&1 && setsid_cmd=setsid
  printf '%s\n' "$@" >"$dir/cmd/$name.args"
  cat >"$dir/cmd/$name.sh" <<EOF
#!/usr/bin/env bash
# Generated by kube-posture e2e/scripts/control-plane.sh up.
# Starts $name in the background (own session, detached from the terminal) with exactly
# the flags 'up' used, appends to logs/$name.log, records NAME=PID in pids, prints the PID.
# Refuses to start a second copy.
set -euo pipefail
dir=$(printf '%q' "$dir")
name=$name
cmd=($argv)
old=\$(sed -n "s/^\$name=\\([0-9][0-9]*\\)\\\$/\\1/p" "\$dir/pids" 2>/dev/null | tail -n1 || true)
if [ -n "\$old" ] && [ -r "/proc/\$old/cmdline" ] && tr '\\0' ' ' <"/proc/\$old/cmdline" | grep -qF "\$dir/" &&
  ! grep -q '^State:[[:space:]]*Z' "/proc/\$old/status" 2>/dev/null; then
  echo "\$name is already running (pid \$old)" >&2
  exit 1
fi
mkdir -p "\$dir/logs"
printf '==== %s: starting %s ====\\n' "\$(date -u +%Y-%m-%dT%H:%M:%SZ)" "\$name" >>"\$dir/logs/\$name.log"
$setsid_cmd "\${cmd[@]}" >>"\$dir/logs/\$name.log" 2>&1 </dev/null &
pid=\$!
tmp=\$(mktemp "\$dir/.pids.XXXXXX")
{ grep -v "^\$name=" "\$dir/pids" 2>/dev/null || true; echo "\$name=\$pid"; } >"\$tmp"
mv -f "\$tmp" "\$dir/pids"
echo "\$pid"
EOF
  chmod 755 "$dir/cmd/$name.sh"
}

# minor version of a kube binary ("Kubernetes v1.20.2" -> 20), 0 if unknown
kube_minor() {
  local v
  v=$("$1" --version 2>/dev/null | head -n1 || true)
  v=${v#*v1.}
  v=${v%%.*}
  case $v in
    '' | *[!0-9]*) echo 0 ;;
    *) echo "$v" ;;
  esac
}

# ---------------------------------------------------------------- subcommands

cmd_up() {
  [ $# -eq 1 ] || die "usage: control-plane.sh up DIR"
  local t0 dir
  t0=$(now_ms)
  mkdir -p "$1"
  dir=$(abs_dir "$1")
  case $dir in
    *[[:space:]]*) die "DIR must not contain whitespace: '$dir'" ;;
  esac
  local n
  for n in "${COMPONENTS[@]}"; do
    if is_ours "$dir" "$(pid_of "$dir" "$n")"; then
      die "$dir already has a running control plane ($n pid $(pid_of "$dir" "$n")); run 'down' first"
    fi
  done
  if [ -n "$(ls -A "$dir")" ]; then
    [ -f "$dir/$MARKER" ] || die "$dir is not empty and was not created by control-plane.sh; refusing to use it"
    log "reusing $dir: wiping previous state"
    rm -rf "${dir:?}/"{etcd,pki,logs,cmd,env,pids,ports,admin.kubeconfig,operator.kubeconfig}
  fi
  touch "$dir/$MARKER"
  mkdir -p "$dir/logs" "$dir/cmd"
  : >"$dir/pids"

  local bins
  # (before the locals below: ETCD_BIN etc. from the environment are overrides for it)
  bins=$("$SCRIPT_DIR/k8s-binaries.sh") || die "could not locate/build the Kubernetes binaries"
  local ETCD_BIN KUBE_APISERVER_BIN KUBE_CONTROLLER_MANAGER_BIN K8S_BINARIES_SOURCE
  eval "$bins"
  log "binaries from: $K8S_BINARIES_SOURCE"
  local kcm=$KUBE_CONTROLLER_MANAGER_BIN
  command -v openssl >/dev/null || die "openssl is required"
  command -v curl >/dev/null || die "curl is required"

  log "generating certificates and tokens in $dir/pki"
  gen_pki "$dir/pki"

  local p_etcd p_peer p_api p_kcm
  read -r p_etcd p_peer p_api p_kcm < <(pick_ports 4)
  printf 'etcd-client=%s\netcd-peer=%s\napiserver=%s\ncontroller-manager=%s\n' \
    "$p_etcd" "$p_peer" "$p_api" "$p_kcm" >"$dir/ports"
  local server="https://$SERVER_HOST:$p_api" etcd_url="http://127.0.0.1:$p_etcd"
  local pki=$dir/pki

  write_kubeconfig "$dir/admin.kubeconfig" "$server" "$pki/ca.crt" "$ADMIN_USER" "$(cat "$pki/admin.token")" default
  write_kubeconfig "$dir/operator.kubeconfig" "$server" "$pki/ca.crt" "$OPERATOR_SA" "$(cat "$pki/operator.token")" "$OPERATOR_NAMESPACE"
  # controller-manager talks to the apiserver by IP regardless of E2E_SERVER_HOST
  write_kubeconfig "$pki/controller-manager.kubeconfig" "https://127.0.0.1:$p_api" "$pki/ca.crt" "$ADMIN_USER" "$(cat "$pki/admin.token")" kube-system

  local -a etcd_args=("$ETCD_BIN"
    --name=kube-posture-e2e
    --data-dir="$dir/etcd"
    --listen-client-urls="$etcd_url"
    --advertise-client-urls="$etcd_url"
    --listen-peer-urls="http://127.0.0.1:$p_peer"
    --initial-advertise-peer-urls="http://127.0.0.1:$p_peer"
    --initial-cluster="kube-posture-e2e=http://127.0.0.1:$p_peer"
    --initial-cluster-state=new
    --logger=zap
    --log-outputs=stderr)

  local api_minor
  api_minor=$(kube_minor "$KUBE_APISERVER_BIN")
  # shellcheck disable=SC2054 # commas inside flag values
  local -a api_args=("$KUBE_APISERVER_BIN"
    --etcd-servers="$etcd_url"
    --bind-address=127.0.0.1
    --advertise-address=127.0.0.1
    --secure-port="$p_api"
    --cert-dir="$pki"
    --tls-cert-file="$pki/apiserver.crt"
    --tls-private-key-file="$pki/apiserver.key"
    --client-ca-file="$pki/ca.crt"
    --token-auth-file="$pki/tokens.csv"
    --authorization-mode=Node,RBAC
    --service-account-key-file="$pki/sa.pub"
    --service-account-signing-key-file="$pki/sa.key"
    --service-account-issuer=https://kubernetes.default.svc.cluster.local
    --service-cluster-ip-range="$SERVICE_CIDR"
    --allow-privileged=true
    --disable-admission-plugins=TaintNodesByCondition
    --endpoint-reconciler-type=none
    --profiling=false)
  # About --endpoint-reconciler-type=none: the apiserver cannot publish its address in the
  # "kubernetes" Endpoints anyway (validation rejects loopback IPs: 'may not be in the
  # loopback range'); the default reconciler only logs that error every 10s.
  # About TaintNodesByCondition: there is no kubelet and no node-lifecycle controller, so
  # with that admission plugin every Node a test creates would keep the
  # node.kubernetes.io/not-ready:NoSchedule taint forever and DaemonSets would never get
  # Pods for it.
  # 1.20 still serves an unauthenticated insecure port (8080) by default; the flag is
  # gone in 1.24+.
  if [ "$api_minor" -gt 0 ] && [ "$api_minor" -lt 24 ]; then api_args+=(--insecure-port=0); fi
  # shellcheck disable=SC2206 # intentional word splitting of the extra args
  [ -z "${E2E_APISERVER_EXTRA_ARGS:-}" ] || api_args+=(${E2E_APISERVER_EXTRA_ARGS})

  write_cmd "$dir" etcd "${etcd_args[@]}"
  write_cmd "$dir" apiserver "${api_args[@]}"

  if [ -n "$kcm" ]; then
    local kcm_minor
    kcm_minor=$(kube_minor "$kcm")
    local -a kcm_args=("$kcm"
      --kubeconfig="$pki/controller-manager.kubeconfig"
      --authentication-kubeconfig="$pki/controller-manager.kubeconfig"
      --authorization-kubeconfig="$pki/controller-manager.kubeconfig"
      --controllers="${E2E_KCM_CONTROLLERS:-$DEFAULT_CONTROLLERS}"
      --leader-elect=false
      --bind-address=127.0.0.1
      --secure-port="$p_kcm"
      --tls-cert-file="$pki/apiserver.crt"
      --tls-private-key-file="$pki/apiserver.key"
      --service-account-private-key-file="$pki/sa.key"
      --root-ca-file="$pki/ca.crt"
      --use-service-account-credentials=false
      --profiling=false)
    # 1.20 also has an insecure healthz/metrics port (10252) by default.
    if [ "$kcm_minor" -gt 0 ] && [ "$kcm_minor" -lt 24 ]; then kcm_args+=(--port=0); fi
    # shellcheck disable=SC2206
    [ -z "${E2E_KCM_EXTRA_ARGS:-}" ] || kcm_args+=(${E2E_KCM_EXTRA_ARGS})
    write_cmd "$dir" controller-manager "${kcm_args[@]}"
  fi

  # On failure: stop whatever started, keep DIR for the logs.
  # shellcheck disable=SC2064 # expand dir now
  trap "log 'up failed; stopping started components (state kept in $dir)'; stop_components '$dir' controller-manager apiserver etcd" EXIT

  local t_ready
  start_component "$dir" etcd
  wait_healthy "$dir" etcd
  start_component "$dir" apiserver
  wait_healthy "$dir" apiserver
  t_ready=$(since "$t0")
  if [ -n "$kcm" ]; then
    start_component "$dir" controller-manager
    wait_healthy "$dir" controller-manager
  fi

  {
    printf '# kube-posture e2e control plane; source this file (. %s/env)\n' "$dir"
    printf 'export E2E_KUBECONFIG=%q\n' "$dir/admin.kubeconfig"
    printf 'export E2E_OPERATOR_KUBECONFIG=%q\n' "$dir/operator.kubeconfig"
    printf 'export E2E_SERVER=%q\n' "$server"
    printf 'export E2E_CONTROL_PLANE_DIR=%q\n' "$dir"
    printf 'export E2E_ETCD_ENDPOINT=%q\n' "$etcd_url"
    printf 'export E2E_CA_FILE=%q\n' "$pki/ca.crt"
    printf 'export E2E_CONTROLLER_MANAGER=%q\n' "$([ -n "$kcm" ] && echo 1 || echo 0)"
    printf 'export E2E_CONTROL_PLANE_SCRIPT=%q\n' "$SELF"
  } >"$dir/env"
  trap - EXIT

  log "control plane up: apiserver /readyz after ${t_ready}s, all components after $(since "$t0")s"
  log "  server:  $server   (kube-apiserver $("$KUBE_APISERVER_BIN" --version 2>/dev/null | head -n1))"
  log "  admin:   kubectl --kubeconfig $dir/admin.kubeconfig get ns"
  log "  env:     . $dir/env"
  log "  down:    $SELF down $dir"
  [ -n "$kcm" ] || log "  NOTE: running without kube-controller-manager"
}

cmd_down() {
  [ $# -eq 1 ] || die "usage: control-plane.sh down DIR"
  [ -d "$1" ] || {
    log "$1 does not exist; nothing to do"
    return 0
  }
  local dir
  dir=$(abs_dir "$1")
  if [ ! -f "$dir/$MARKER" ]; then
    die "$dir was not created by control-plane.sh (no $MARKER); not touching it"
  fi
  stop_components "$dir" controller-manager apiserver etcd
  if [ "${KEEP:-0}" = 1 ]; then
    log "KEEP=1: leaving $dir"
  else
    rm -rf "$dir"
    log "removed $dir"
  fi
}

cmd_status() {
  [ $# -eq 1 ] || die "usage: control-plane.sh status DIR"
  local dir n pid rc=0
  dir=$(abs_dir "$1")
  for n in "${COMPONENTS[@]}"; do
    pid=$(pid_of "$dir" "$n")
    if is_ours "$dir" "$pid"; then
      printf '%-20s running  pid %s\n' "$n" "$pid"
    elif [ -e "$dir/cmd/$n.sh" ]; then
      printf '%-20s stopped\n' "$n"
      rc=3
    fi
  done
  return "$rc"
}

cmd_stop() { # NAME DIR [--kill]
  local name=$1 sig=TERM
  shift
  case "$#:${2:-}" in
    1:) ;;
    2:--kill) sig=KILL ;;
    *) die "usage: control-plane.sh stop-$name DIR [--kill]" ;;
  esac
  local dir
  dir=$(abs_dir "$1")
  [ -f "$dir/$MARKER" ] || die "$dir is not a control-plane dir"
  stop_component "$dir" "$name" "$sig"
}

cmd_start() { # NAME DIR
  [ $# -eq 2 ] || die "usage: control-plane.sh start-$1 DIR"
  local dir t0
  dir=$(abs_dir "$2")
  [ -f "$dir/$MARKER" ] || die "$dir is not a control-plane dir"
  t0=$(now_ms)
  start_component "$dir" "$1"
  wait_healthy "$dir" "$1"
  if [ "$1" = etcd ] && is_ours "$dir" "$(pid_of "$dir" apiserver)"; then
    wait_healthy "$dir" apiserver
  fi
  log "$1 restarted in $(since "$t0")s"
}

RUN_DIR=
RUN_CHILD=
run_teardown() {
  trap - EXIT INT TERM HUP
  [ -n "$RUN_DIR" ] || return 0
  log "tearing down $RUN_DIR"
  "$SELF" down "$RUN_DIR" || log "WARNING: teardown of $RUN_DIR failed"
}
run_signal() { # SIGNAME EXIT_CODE
  log "received SIG$1"
  if [ -n "$RUN_CHILD" ] && kill -0 "$RUN_CHILD" 2>/dev/null; then
    kill -s "$1" "$RUN_CHILD" 2>/dev/null || true
    # give it STOP_TIMEOUT seconds to exit, then SIGKILL
    local timer
    (
      sleep "$STOP_TIMEOUT"
      echo "[control-plane] command (pid $RUN_CHILD) still running after ${STOP_TIMEOUT}s; SIGKILL" >&2
      kill -KILL "$RUN_CHILD" 2>/dev/null
    ) &
    timer=$!
    wait "$RUN_CHILD" 2>/dev/null || true
    kill "$timer" 2>/dev/null || true
    wait "$timer" 2>/dev/null || true
  fi
  exit "$2"
}

cmd_run() {
  [ "${1:-}" != -- ] || shift
  [ $# -gt 0 ] || die "usage: control-plane.sh run [--] CMD [ARGS...]"
  if [ -n "${E2E_KUBECONFIG:-}" ]; then
    log "E2E_KUBECONFIG=$E2E_KUBECONFIG is set: using that cluster, not starting one"
    exec "$@"
  fi
  trap run_teardown EXIT
  trap 'run_signal INT 130' INT
  trap 'run_signal TERM 143' TERM
  trap 'run_signal HUP 129' HUP
  RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/kube-posture-e2e.XXXXXX")
  local t0 status
  t0=$(now_ms)
  "$SELF" up "$RUN_DIR" || {
    status=$?
    log "control plane failed to start (exit $status)"
    KEEP=1 # keep the logs for diagnosis
    export KEEP
    exit "$status"
  }
  log "control plane startup took $(since "$t0")s; running: $*"
  set -a
  # shellcheck disable=SC1091
  . "$RUN_DIR/env"
  set +a
  # Run CMD as a background job so that signals sent to this script alone (CI timeouts)
  # are handled immediately; restore default SIGINT/SIGQUIT (bash ignores them in
  # background jobs) and keep our stdin (or /dev/null if stdin is closed).
  { exec 3<&0; } 2>/dev/null || exec 3</dev/null
  (
    trap - INT QUIT
    exec "$@"
  ) <&3 3<&- &
  RUN_CHILD=$!
  status=0
  wait "$RUN_CHILD" || status=$?
  RUN_CHILD=
  log "command exited with status $status after $(since "$t0")s (including startup)"
  exit "$status"
}

main() {
  [ $# -ge 1 ] || {
    usage
    exit 2
  }
  local sub=$1
  shift
  case $sub in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    run) cmd_run "$@" ;;
    status) cmd_status "$@" ;;
    stop-etcd | stop-apiserver | stop-controller-manager) cmd_stop "${sub#stop-}" "$@" ;;
    start-etcd | start-apiserver | start-controller-manager) cmd_start "${sub#start-}" "$@" ;;
    -h | --help | help) usage ;;
    *)
      usage
      die "unknown subcommand: $sub"
      ;;
  esac
}

main "$@"
