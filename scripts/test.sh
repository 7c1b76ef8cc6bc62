#!/usr/bin/env bash
# make test: installs what the tests need (Go modules, DynamoDB Local, the local
# Kubernetes binaries), starts both, runs vet, every test, and each fuzz target briefly.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."

say "downloading Go modules"
go mod download
start_dynamodb_local
start_local_cluster

say "go vet"
go vet ./...
say "go test"
out=$(mktemp)
set +e
go test -count=1 -v ./... >"$out" 2>&1
status=$?
set -e
grep -E '^(ok|FAIL|panic:)|--- FAIL' "$out" || true
[ "$status" = 0 ] || { grep -E -B2 -A20 -- '--- FAIL|panic:' "$out" | head -200; rm -f "$out"; exit "$status"; }
passed=$(grep -c -- '--- PASS' "$out" || true)
failed=$(grep -c -- '--- FAIL' "$out" || true)
rm -f "$out"

say "fuzzing each request decoder for ${FUZZTIME:=5s}"
{ grep -rl --include='*_test.go' '^func Fuzz' . || true; } | sort | while read -r file; do
  pkg=./$(dirname "${file#./}")
  for fn in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$file"); do
    go test -run='^$' -fuzz="^$fn\$" -fuzztime="$FUZZTIME" "$pkg" >"$DDB_LOG.fuzz" 2>&1 || { cat "$DDB_LOG.fuzz"; die "fuzz $pkg $fn failed"; }
    echo "fuzz $pkg $fn ok"
  done
done
echo "tests: $passed passed, $failed failed"
