#!/usr/bin/env bash
# Checks that a TypeScript client can be generated from this server's schema:
# runs GraphQL Code Generator (pinned in package-lock.json, installed here from
# npm) with docs/typescript.md's codegen.ts on the committed schema.graphql and
# every GraphQL operation in the docs, then type-checks the generated code and
# the docs' client example with tsc --strict. Fails on any error.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"
npm ci --silent --no-audit --no-fund --loglevel=error >/dev/null
work="$here/.work"
rm -rf "$work"
mkdir -p "$work/src"
trap 'rm -rf "$work"' EXIT
cp "$root/schema.graphql" "$work/schema.graphql"
node extract.mjs "$root" "$work"
cd "$work"
"$here/node_modules/.bin/graphql-codegen" --config codegen.ts --silent
"$here/node_modules/.bin/tsc" -p "$here/tsconfig.json"
echo "codegen check: $(ls src/gql | wc -l) generated files and the docs' client type-check under tsc --strict"
