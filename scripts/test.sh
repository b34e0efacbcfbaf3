#!/usr/bin/env bash
# The test command: installs what the tests need, then runs unit, store-contract and integration
# tests (real PostgreSQL 15 and a real etcd on loopback). Prints one closing line "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --tests

status=0
echo "== lint (ESLint with the import table, Prettier)"
npm run --silent lint || status=1

out=$(mktemp)
trap 'rm -f "$out"' EXIT
run() {
  echo "== $1"
  shift
  if ! node --test --test-reporter=spec "$@" 2>&1 | tee -a "$out"; then status=1; fi
}
run "unit and store contract" dist/test/unit/ dist/test/contract/
# --test-force-exit: a file whose tests are done ends even if a socket or timer of a stopped
# cluster lingers (seen twice under heavy load), rather than holding CI until its limit.
run "integration (real PostgreSQL, memory and etcd stores)" --test-concurrency=1 --test-force-exit dist/test/integration/

p=$(grep -E '^ℹ pass ' "$out" | awk '{s+=$3} END {print s+0}')
f=$(grep -E '^ℹ fail ' "$out" | awk '{s+=$3} END {print s+0}')
echo "${p} passed, ${f} failed"
[ "$f" -eq 0 ] && [ "$status" -eq 0 ]
