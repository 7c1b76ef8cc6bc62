#!/usr/bin/env bash
# make bench: benchmarks on a fresh in-memory DynamoDB Local. Each prints its
# figures and the ratios against direct SDK / client-go calls of the same run.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."

scripts/dynamodb-local.sh install >/dev/null
port=$(free_port)
log=$(mktemp)
say "starting DynamoDB Local on 127.0.0.1:$port"
scripts/dynamodb-local.sh start "$port" >"$log" 2>&1 &
ddb=$!
trap 'kill $ddb 2>/dev/null || true; wait $ddb 2>/dev/null || true; rm -f "$log"' EXIT
wait_http "http://127.0.0.1:$port" 60 || { cat "$log"; die "DynamoDB Local did not start"; }
export DYNAMODB_ENDPOINT="http://127.0.0.1:$port"

benches=(
  "./functions/runtimeenv BenchmarkDescribeRuntimeEnvs"
)
for b in "${benches[@]}"; do
  read -r pkg name <<<"$b"
  say "$name ($pkg)"
  go test -run '^$' -bench "^$name\$" -benchtime=1x -count=1 -timeout 30m "$pkg"
done
