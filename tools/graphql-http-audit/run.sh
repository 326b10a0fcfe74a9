#!/usr/bin/env bash
# Runs the graphql-http server audit (pinned in package-lock.json, installed
# here from npm) against the pwreset server, started on a free port on a fresh
# SQLite file. Fails unless every audit passes, warnings included.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"
npm ci --silent --no-audit --no-fund >/dev/null
(cd "$root" && cargo build --quiet)
scratch="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$scratch"' EXIT
DATABASE_URL="sqlite://$scratch/audit.db?mode=rwc" LISTEN_ADDR=127.0.0.1:0 METRICS_ADDR= \
  RUST_LOG=warn "$root/target/debug/pwreset" >"$scratch/out" 2>"$scratch/err" &
server=$!
for _ in $(seq 1 100); do
  url="$(sed -n 's/^GraphiQL: //p' "$scratch/out" | head -n 1)"
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { echo "the server did not start:"; cat "$scratch/err"; exit 1; }
node audit.mjs "$url"
