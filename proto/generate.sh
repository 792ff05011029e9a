#!/usr/bin/env bash
# Generate proto/gen/ from proto/*.proto with buf + ts-proto (both from npm, offline).
# With --check, fail when the committed generated code differs from what the .proto files give.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "--check" ]]; then
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  sed "s#out: proto/gen#out: $tmp#" proto/buf.gen.yaml > "$tmp/buf.gen.yaml"
  npx --no-install buf generate --template "$tmp/buf.gen.yaml" proto >/dev/null
  if ! diff -r "$tmp" proto/gen --exclude buf.gen.yaml >/dev/null; then
    echo "proto/gen is out of date with proto/*.proto: run 'npm run build:proto' and commit" >&2
    exit 1
  fi
  echo "proto/gen matches proto/*.proto"
  exit 0
fi
rm -rf proto/gen
npx --no-install buf generate --template proto/buf.gen.yaml proto
