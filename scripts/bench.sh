#!/usr/bin/env bash
# make bench: benchmarks on a fresh in-memory DynamoDB Local. Each prints its
# figures and the ratios against direct SDK / client-go calls of the same run.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."

start_dynamodb_local
start_local_cluster
install_sfn

benches=(
  "./functions/runtimeenv BenchmarkDescribeRuntimeEnvs"
  "./shared/cluster BenchmarkApply20Services"
  "./functions/environment BenchmarkCreate20Services"
  "./functions/environment BenchmarkUpdate20Services"
  "./functions/environment BenchmarkServiceDetail10Pods"
  "./functions/environment BenchmarkAdd10Services"
  "./functions/workload BenchmarkImageUpdate"
  "./functions/workload BenchmarkListEvents"
  "./functions/logs BenchmarkLogsFollow"
  "./shared/render BenchmarkRender20Services"
)
for b in "${benches[@]}"; do
  read -r pkg name <<<"$b"
  say "$name ($pkg)"
  go test -run '^$' -bench "^$name\$" -benchtime=1x -count=1 -timeout 30m "$pkg"
done
