#!/usr/bin/env bash
# Builds the local Kubernetes control plane from pinned sources through the Go
# module proxy, into a cache outside the repo keyed by version; prints its bin dir.
# First build takes ~6 minutes on 2 cores; later runs reuse it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

K8S=v1.37.2 STAGING=v0.37.2 ETCD=v3.6.16 KWOK=v0.8.0
OUT="$ENVHUB_HOME/tools/k8s-$K8S-etcd-$ETCD-kwok-$KWOK"
BINS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

have_all() { for b in "${BINS[@]}"; do [ -x "$OUT/$b" ] || return 1; done; }
if have_all; then echo "$OUT"; exit 0; fi
mkdir -p "$OUT"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0

if [ ! -x "$OUT/etcd" ]; then
  say "building etcd $ETCD"
  mkdir -p "$work/etcd" && cd "$work/etcd"
  go mod init envhub.local/etcd >/dev/null 2>&1
  go get "go.etcd.io/etcd/server/v3@$ETCD" >/dev/null 2>&1 || die "go get etcd $ETCD failed"
  go build -o "$OUT/etcd" go.etcd.io/etcd/server/v3
fi

if [ ! -x "$OUT/kube-apiserver" ] || [ ! -x "$OUT/kube-controller-manager" ] || [ ! -x "$OUT/kube-scheduler" ]; then
  say "building kube-apiserver, kube-controller-manager, kube-scheduler $K8S (the long part)"
  mkdir -p "$work/k8s" && cd "$work/k8s"
  gomod=$(go mod download -json "k8s.io/kubernetes@$K8S" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  [ -f "$gomod" ] || die "cannot download k8s.io/kubernetes@$K8S"
  {
    echo "module envhub.local/k8s"
    echo "go $(sed -n 's/^go \(.*\)/\1/p' "$gomod")"
    echo "require k8s.io/kubernetes $K8S"
    # k8s.io/kubernetes replaces its staging modules with ./staging paths; use their releases.
    sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#replace \1 => \1 '"$STAGING"'#p' "$gomod"
  } > go.mod
  grep -q '^replace' go.mod || die "no staging replaces found in k8s.io/kubernetes go.mod"
  go mod tidy >/dev/null 2>&1 || true
  for c in kube-apiserver kube-controller-manager kube-scheduler; do
    go get "k8s.io/kubernetes/cmd/$c@$K8S" >/dev/null 2>&1 || true
  done
  v=k8s.io/component-base/version
  go build -ldflags "-X $v.gitVersion=$K8S -X $v.gitMajor=$(echo "${K8S#v}" | cut -d. -f1) -X $v.gitMinor=$(echo "$K8S" | cut -d. -f2) -X $v.gitTreeState=clean" \
    -o "$OUT/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler
fi

if [ ! -x "$OUT/kwok" ]; then
  say "building kwok $KWOK"
  GOBIN="$OUT" go install "sigs.k8s.io/kwok/cmd/kwok@$KWOK"
  # kwok's own stage configs, kept beside the binary.
  src=$(go mod download -json "sigs.k8s.io/kwok@$KWOK" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  mkdir -p "$OUT/kwok-stages"
  cp "$src/kustomize/stage/node/fast/node-initialize.yaml" "$src/kustomize/stage/node/heartbeat/node-heartbeat.yaml" "$src"/kustomize/stage/pod/fast/pod-*.yaml "$OUT/kwok-stages/"
fi
have_all || die "build incomplete in $OUT"
say "control plane binaries in $OUT"
echo "$OUT"
