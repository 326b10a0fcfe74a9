#!/usr/bin/env bash
# Checks the JSON:API facade's OpenAPI document: fetches /api/openapi.json
# from a server started on a free port, validates it with swagger-parser,
# generates TypeScript from it with openapi-typescript, and type-checks a
# small client against those types with tsc --strict (all pinned in
# package-lock.json, installed here from npm).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"
npm ci --silent --no-audit --no-fund --loglevel=error >/dev/null
(cd "$root" && cargo build --quiet)
scratch="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$scratch" "$here/generated"' EXIT
DATABASE_URL="sqlite://$scratch/openapi.db?mode=rwc" LISTEN_ADDR=127.0.0.1:0 METRICS_ADDR= \
  RUST_LOG=warn "$root/target/debug/pwreset" >"$scratch/out" 2>"$scratch/err" &
server=$!
for _ in $(seq 1 100); do
  url="$(sed -n 's/^GraphiQL: //p' "$scratch/out" | head -n 1)"
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { echo "the server did not start:"; cat "$scratch/err"; exit 1; }
node -e 'fetch(process.argv[1]).then((r) => r.text()).then((t) => require("fs").writeFileSync(process.argv[2], t))' \
  "${url%/graphql}/api/openapi.json" "$scratch/openapi.json"
node validate.mjs "$scratch/openapi.json"
mkdir -p generated
node_modules/.bin/openapi-typescript "$scratch/openapi.json" -o generated/api.ts --silent
node_modules/.bin/tsc -p tsconfig.json
echo "openapi check: the document validates, and a client typed from it passes tsc --strict"
