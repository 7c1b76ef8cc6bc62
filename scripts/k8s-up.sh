#!/usr/bin/env bash
# Starts the local Kubernetes control plane on loopback (etcd, kube-apiserver
# with token auth, kube-controller-manager, kube-scheduler, and kwok with one
# fake node whose pods reach Running and serve logs), in the foreground. Like a
# real cluster it allows privileged pods: Pod Security Admission labels decide.
#   scripts/k8s-up.sh DIR   writes DIR/kubeconfig, DIR/token (system:masters),
#                           DIR/viewer-token (no rights), DIR/ca.crt, DIR/server,
#                           and DIR/ready once usable. Ctrl-C or TERM stops it all.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
BIN=$("$(dirname "$0")/k8s-build.sh")
DIR=${1:?usage: k8s-up.sh DIR}
mkdir -p "$DIR/pki" "$DIR/logs"
rm -f "$DIR/ready"

pids=()
# stop PID: TERM, then KILL after 3 s. The data is throwaway, and
# kube-apiserver's graceful shutdown can take a minute.
stop() {
  kill "$1" 2>/dev/null || return 0
  for _ in $(seq 30); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
}
cleanup() {
  local i
  trap '' INT TERM # a second signal must not cut the cleanup short
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stop "${pids[i]}"; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

etcd_port=$(free_port) peer_port=$(free_port) api_port=$(free_port) kwok_port=$(free_port)
token=$(openssl rand -hex 24)
viewer=$(openssl rand -hex 24)
printf '%s,envhub-admin,envhub-admin,system:masters\n%s,envhub-viewer,envhub-viewer\n' "$token" "$viewer" >"$DIR/tokens.csv"
printf '%s' "$token" >"$DIR/token"
printf '%s' "$viewer" >"$DIR/viewer-token"
openssl genrsa -out "$DIR/pki/sa.key" 2048 2>/dev/null
openssl rsa -in "$DIR/pki/sa.key" -pubout -out "$DIR/pki/sa.pub" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=kwok -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$DIR/pki/kwok.key" -out "$DIR/pki/kwok.crt" 2>/dev/null

say "starting etcd on 127.0.0.1:$etcd_port"
"$BIN/etcd" --name envhub --data-dir "$DIR/etcd" \
  --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-cluster "envhub=http://127.0.0.1:$peer_port" --log-level warn >"$DIR/logs/etcd.log" 2>&1 &
pids+=($!)

say "starting kube-apiserver on 127.0.0.1:$api_port"
"$BIN/kube-apiserver" --etcd-servers "http://127.0.0.1:$etcd_port" \
  --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" --cert-dir "$DIR/pki" \
  --token-auth-file "$DIR/tokens.csv" --authorization-mode RBAC --endpoint-reconciler-type none --allow-privileged=true \
  --service-cluster-ip-range 10.96.0.0/16 --service-account-issuer https://kubernetes.default.svc \
  --service-account-key-file "$DIR/pki/sa.pub" --service-account-signing-key-file "$DIR/pki/sa.key" \
  >"$DIR/logs/kube-apiserver.log" 2>&1 &
pids+=($!)
server="https://127.0.0.1:$api_port"
i=0
until [ -s "$DIR/pki/apiserver.crt" ] && curl -sf --cacert "$DIR/pki/apiserver.crt" -H "Authorization: Bearer $token" "$server/readyz" >/dev/null 2>&1; do
  i=$((i + 1)); [ "$i" -gt 300 ] && { tail -20 "$DIR/logs/kube-apiserver.log"; die "kube-apiserver did not become ready"; }
  sleep 0.2
done
cp "$DIR/pki/apiserver.crt" "$DIR/ca.crt"
printf '%s' "$server" >"$DIR/server"
cat >"$DIR/kubeconfig" <<KC
apiVersion: v1
kind: Config
current-context: envhub-local
clusters:
- name: envhub-local
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 "$DIR/ca.crt")
users:
- name: envhub-admin
  user:
    token: $token
contexts:
- name: envhub-local
  context: {cluster: envhub-local, user: envhub-admin}
KC

say "starting kube-controller-manager and kube-scheduler"
"$BIN/kube-controller-manager" --kubeconfig "$DIR/kubeconfig" --controllers '*,-nodeipam' --leader-elect=false \
  --service-account-private-key-file "$DIR/pki/sa.key" --root-ca-file "$DIR/ca.crt" \
  --bind-address 127.0.0.1 --secure-port 0 >"$DIR/logs/kube-controller-manager.log" 2>&1 &
pids+=($!)
"$BIN/kube-scheduler" --kubeconfig "$DIR/kubeconfig" --leader-elect=false \
  --bind-address 127.0.0.1 --secure-port 0 >"$DIR/logs/kube-scheduler.log" 2>&1 &
pids+=($!)

say "starting kwok with a fake node (kubelet API on 127.0.0.1:$kwok_port)"
: >"$DIR/pod.log"
cat >"$DIR/kwok-logs.yaml" <<LOGS
kind: ClusterLogs
apiVersion: kwok.x-k8s.io/v1alpha1
metadata:
  name: envhub-logs
spec:
  logs:
  - logsFile: $DIR/pod.log
    follow: true
LOGS
configs=()
for f in "$BIN"/kwok-stages/*.yaml "$(dirname "$0")"/kwok/*.yaml "$DIR/kwok-logs.yaml"; do configs+=(--config "$f"); done
"$BIN/kwok" --kubeconfig "$DIR/kubeconfig" "${configs[@]}" \
  --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
  --server-address "127.0.0.1:$kwok_port" --node-ip 127.0.0.1 --node-port "$kwok_port" \
  --tls-cert-file "$DIR/pki/kwok.crt" --tls-private-key-file "$DIR/pki/kwok.key" >"$DIR/logs/kwok.log" 2>&1 &
pids+=($!)

node='{"apiVersion":"v1","kind":"Node","metadata":{"name":"kwok-node-0","annotations":{"kwok.x-k8s.io/node":"fake","node.alpha.kubernetes.io/ttl":"0"},"labels":{"type":"kwok","kubernetes.io/hostname":"kwok-node-0","kubernetes.io/os":"linux","kubernetes.io/arch":"amd64"}},"status":{"allocatable":{"cpu":"64","memory":"256Gi","pods":"500"},"capacity":{"cpu":"64","memory":"256Gi","pods":"500"}}}'
curl -sf --cacert "$DIR/ca.crt" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -X POST "$server/api/v1/nodes" -d "$node" >/dev/null || die "could not create the fake node"
i=0
until curl -sf --cacert "$DIR/ca.crt" -H "Authorization: Bearer $token" "$server/api/v1/namespaces/default/serviceaccounts/default" >/dev/null 2>&1 &&
  curl -sf --cacert "$DIR/ca.crt" -H "Authorization: Bearer $token" "$server/api/v1/nodes/kwok-node-0" | grep -q 'KubeletReady'; do
  i=$((i + 1)); [ "$i" -gt 300 ] && die "the control plane did not settle (see $DIR/logs)"
  sleep 0.2
done
touch "$DIR/ready"
say "Kubernetes is up: $server (kubeconfig $DIR/kubeconfig)"
wait -n "${pids[@]}"
die "a control plane process exited (see $DIR/logs)"
