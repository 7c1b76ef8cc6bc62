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
  trap 'kill $DDB_PID 2>/dev/null || true; wait $DDB_PID 2>/dev/null || true; rm -f "$DDB_LOG" "$DDB_LOG".*' EXIT
  wait_http "http://127.0.0.1:$port" 60 || { cat "$DDB_LOG"; die "DynamoDB Local did not start"; }
  export DYNAMODB_ENDPOINT="http://127.0.0.1:$port"
}
