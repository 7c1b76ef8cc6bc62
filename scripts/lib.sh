# Shared shell helpers for envhub's scripts. Source it; do not run it.
ENVHUB_HOME=${ENVHUB_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/envhub}
export ENVHUB_HOME
say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# free_port prints a TCP port nothing listens on (loopback).
free_port() {
  python3 - <<'PY' 2>/dev/null || node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

# wait_http URL SECONDS: wait until URL answers at all (any HTTP status).
wait_http() {
  local url=$1 secs=${2:-60} i=0
  while ! curl -s -o /dev/null --max-time 2 "$url"; do
    i=$((i + 1))
    [ "$i" -ge "$((secs * 5))" ] && return 1
    sleep 0.2
  done
}

# start_dynamodb_local: install and start an in-memory DynamoDB Local on a
# free port, stop it on exit, and export DYNAMODB_ENDPOINT.
start_dynamodb_local() {
  local dir; dir=$(dirname "${BASH_SOURCE[0]}")
  "$dir/dynamodb-local.sh" install >/dev/null
  local port; port=$(free_port)
  DDB_LOG=$(mktemp)
  say "starting DynamoDB Local on 127.0.0.1:$port"
  "$dir/dynamodb-local.sh" start "$port" >"$DDB_LOG" 2>&1 &
  DDB_PID=$!
  on_exit 'kill $DDB_PID 2>/dev/null; wait $DDB_PID 2>/dev/null; rm -f "$DDB_LOG" "$DDB_LOG".*' 
  wait_http "http://127.0.0.1:$port" 60 || { cat "$DDB_LOG"; die "DynamoDB Local did not start"; }
  export DYNAMODB_ENDPOINT="http://127.0.0.1:$port"
}

# on_exit CMD: run CMD when the script exits (last registered runs first).
_cleanups=()
on_exit() {
  _cleanups+=("$1")
  trap '_run_cleanups' EXIT
}
_run_cleanups() {
  local i
  trap '' INT TERM # a second signal must not cut the cleanup short
  for ((i = ${#_cleanups[@]} - 1; i >= 0; i--)); do eval "${_cleanups[i]}" || true; done
}

# start_local_cluster: build (cached) and start the local Kubernetes control
# plane in the background, stop it on exit, and export ENVHUB_K8S_DIR.
start_local_cluster() {
  local dir; dir=$(dirname "${BASH_SOURCE[0]}")
  say "building the local Kubernetes control plane (first time about 6 minutes, then cached)"
  "$dir/k8s-build.sh" >/dev/null
  ENVHUB_K8S_DIR=$(mktemp -d)
  "$dir/k8s-up.sh" "$ENVHUB_K8S_DIR" >"$ENVHUB_K8S_DIR/up.log" 2>&1 &
  K8S_PID=$!
  on_exit 'kill $K8S_PID 2>/dev/null; wait $K8S_PID 2>/dev/null; rm -rf "$ENVHUB_K8S_DIR"'
  local i=0
  until [ -f "$ENVHUB_K8S_DIR/ready" ]; do
    kill -0 "$K8S_PID" 2>/dev/null || { cat "$ENVHUB_K8S_DIR/up.log"; die "the local control plane failed to start"; }
    i=$((i + 1)); [ "$i" -gt 600 ] && { cat "$ENVHUB_K8S_DIR/up.log"; die "the local control plane did not become ready"; }
    sleep 0.2
  done
  say "local Kubernetes ready at $(cat "$ENVHUB_K8S_DIR/server")"
  export ENVHUB_K8S_DIR
}

# install_sfn: the Node packages that run and validate state machine
# definitions locally (aws-local-stepfunctions, asl-validator), pinned by
# scripts/sfn/package-lock.json.
install_sfn() {
  local dir; dir="$(dirname "${BASH_SOURCE[0]}")/sfn"
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    say "installing aws-local-stepfunctions and asl-validator (npm)"
    (cd "$dir" && npm ci --no-audit --no-fund --silent) || die "npm ci in $dir failed"
  fi
}
