#!/usr/bin/env bash
# make cluster / make cluster-down: only the local Kubernetes control plane,
# in the background, with its kubeconfig in $ENVHUB_HOME/cluster/kubeconfig.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
dir="$ENVHUB_HOME/cluster"
case "${1:-up}" in
  up)
    [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null && { say "already running: $dir/kubeconfig"; exit 0; }
    "$(dirname "$0")/k8s-build.sh" >/dev/null
    rm -rf "$dir" && mkdir -p "$dir"
    nohup "$(dirname "$0")/k8s-up.sh" "$dir" >"$dir/up.log" 2>&1 &
    echo $! >"$dir/pid"
    i=0
    until [ -f "$dir/ready" ]; do
      kill -0 "$(cat "$dir/pid")" 2>/dev/null || { cat "$dir/up.log"; die "the control plane failed to start"; }
      i=$((i + 1)); [ "$i" -gt 600 ] && die "the control plane did not become ready (see $dir/logs)"
      sleep 0.2
    done
    say "Kubernetes is up at $(cat "$dir/server")"
    echo "export KUBECONFIG=$dir/kubeconfig"
    ;;
  down)
    [ -f "$dir/pid" ] && kill "$(cat "$dir/pid")" 2>/dev/null && say "stopped" || say "not running"
    rm -f "$dir/pid"
    ;;
  *) die "usage: $0 up|down" ;;
esac
