#!/usr/bin/env bash
# Drives Commerce Layer's SDK (pinned in package-lock.json, installed here
# from npm) against the pwreset server's JSON:API, started on a free port on a
# fresh SQLite file. Fails unless every call answers as check.mjs expects.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"
npm ci --silent --no-audit --no-fund >/dev/null
(cd "$root" && cargo build --quiet)
scratch="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$scratch"' EXIT
DATABASE_URL="sqlite://$scratch/sdk.db?mode=rwc" LISTEN_ADDR=127.0.0.1:0 METRICS_ADDR= \
  WEBHOOK_POLL_INTERVAL_MS=100 TEST_RESET_URL='http://localhost:3000/reset-password?id={id}&token={token}' \
  LOG_FORMAT=human RUST_LOG=warn,pwreset::development_mailer=info \
  "$root/target/debug/pwreset" >"$scratch/out" 2>"$scratch/err" &
server=$!
for _ in $(seq 1 100); do
  url="$(sed -n 's/^GraphiQL: //p' "$scratch/out" | head -n 1)"
  [ -n "$url" ] && grep -q '^  sales_channel' "$scratch/out" && break
  sleep 0.1
done
[ -n "$url" ] || { echo "the server did not start:"; cat "$scratch/err"; exit 1; }
integration="$(sed -n 's/^  integration *\([^ ]*\).*/\1/p' "$scratch/out")"
storefront="$(sed -n 's/^  sales_channel *\([^ ]*\).*/\1/p' "$scratch/out")"
node check.mjs "${url%/graphql}" "$integration" "$storefront" "$scratch/err"
