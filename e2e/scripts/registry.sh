#!/usr/bin/env bash
# registry.sh - a throwaway OCI registry on loopback for the image-inspection e2e tests:
# Debian's docker-registry (distribution 2.8) with a temp config and storage, plain HTTP,
# no auth, listening on 127.0.0.1 only.
#
# Usage:
#   registry.sh start DIR PORT   write DIR/config.yml, start the registry on 127.0.0.1:PORT
#                                (storage in DIR/data, log in DIR/registry.log, PID in
#                                DIR/pid) and wait until /v2/ answers; fails (and stops it)
#                                if it does not within 20 s
#   registry.sh stop DIR         stop the registry whose PID is in DIR/pid, then rm -rf DIR
set -euo pipefail

die() { echo "registry.sh: $*" >&2; exit 1; }

start() {
  local dir=$1 port=$2
  command -v docker-registry >/dev/null || die "docker-registry not found (apt-get install docker-registry)"
  mkdir -p "$dir/data"
  cat >"$dir/config.yml" <<YAML
version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: $dir/data}
  delete: {enabled: true}
http:
  addr: 127.0.0.1:$port
YAML
  docker-registry serve "$dir/config.yml" >>"$dir/registry.log" 2>&1 &
  echo $! >"$dir/pid"
  local i
  for i in $(seq 1 100); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$port/v2/"; then
      echo "registry.sh: registry on 127.0.0.1:$port (pid $(cat "$dir/pid"))" >&2
      return 0
    fi
    kill -0 "$(cat "$dir/pid")" 2>/dev/null || { cat "$dir/registry.log" >&2; die "registry exited"; }
    sleep 0.2
  done
  cat "$dir/registry.log" >&2
  stop "$dir" || true
  die "registry on 127.0.0.1:$port did not answer within 20 s"
}

stop() {
  local dir=$1 pid i
  [ -f "$dir/pid" ] || die "$dir/pid: no registry started there"
  pid=$(cat "$dir/pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) [ $# -eq 3 ] || die "usage: registry.sh start DIR PORT"; start "$2" "$3" ;;
  stop) [ $# -eq 2 ] || die "usage: registry.sh stop DIR"; stop "$2" ;;
  *) die "usage: registry.sh start DIR PORT | stop DIR" ;;
esac
