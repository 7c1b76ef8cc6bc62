#!/usr/bin/env bash
# make run: DynamoDB Local, the local Kubernetes control plane (registered as
# runtime env "local") and every function on one local HTTP API. Ctrl-C stops all.
#   PERSIST=1 keeps DynamoDB data in $ENVHUB_HOME/state/dynamodb; PORT sets the API port.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
trap 'exit 130' INT TERM

scripts/dynamodb-local.sh install >/dev/null
install_sfn
ddb_port=$(free_port)
data=""
[ "${PERSIST:-0}" = 1 ] && data="$ENVHUB_HOME/state/dynamodb"
say "starting DynamoDB Local on 127.0.0.1:$ddb_port (${data:-in memory})"
scripts/dynamodb-local.sh start "$ddb_port" $data >"$ENVHUB_HOME/dynamodb-local.log" 2>&1 &
ddb=$!
on_exit 'kill $ddb 2>/dev/null; wait $ddb 2>/dev/null'
wait_http "http://127.0.0.1:$ddb_port" 60 || die "DynamoDB Local did not start: see $ENVHUB_HOME/dynamodb-local.log"

start_local_cluster

say "building the local server"
mkdir -p "$ENVHUB_HOME/bin"
go build -o "$ENVHUB_HOME/bin/envhub-local" ./infra/local/cmd/envhub-local
"$ENVHUB_HOME/bin/envhub-local" serve -addr "127.0.0.1:${PORT:-8080}" -dynamodb "http://127.0.0.1:$ddb_port" \
  -state "$ENVHUB_HOME/state" -cluster "$ENVHUB_K8S_DIR" &
srv=$!
on_exit 'kill $srv 2>/dev/null; wait $srv 2>/dev/null'
wait -n "$ddb" "$K8S_PID" "$srv"
