#!/usr/bin/env bash
# The whole test suite on a fresh machine: npm dependencies, the local stack (installed on first
# use), static checks (lint, format, types, generated code), then every test against the stack.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# Node 24 LTS first on PATH (fetched into the cache when the machine's node is older).
source scripts/node.sh

started=$(date +%s)
step() { printf '\n== %s (%ss)\n' "$1" "$(($(date +%s) - started))"; }

step "npm dependencies"
npm ci --no-audit --no-fund

step "local stack"
scripts/stack.sh up
eval "$(scripts/stack.sh env)"

step "static checks"
npm run --silent lint
npm run --silent format:check
npm run --silent typecheck
npm run --silent codegen -- --check
npm run --silent catalog:schema -- --check
npm run --silent knip
scripts/check-deploy.sh

step "tests"
npx vitest run "$@"

step "done"
