#!/usr/bin/env bash
# The fault lab, as root: every scenario (L1-L12) on hosts in network namespaces, then a short
# nemesis (NEMESIS_FAULTS random faults, default 20, from seed NEMESIS_SEED, default 1). Pass
# --only L1 to run one scenario (and no nemesis). Writes test/lab/out/lab-report.{md,json} and
# nemesis-report.{md,json} (or to LAB_REPORT_DIR). Prints one closing line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --tests || exit 1

out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
node dist/test/lab/run.js "$@" | tee "$out" || status=1
lines=$(tail -n 1 "$out")
if [ $# -eq 0 ]; then
  node dist/test/lab/nemesis.js --faults "${NEMESIS_FAULTS:-20}" --seed "${NEMESIS_SEED:-1}" | tee "$out" || status=1
  lines="$lines"$'\n'$(tail -n 1 "$out")
fi
p=$(grep -oE '^[0-9]+ passed' <<<"$lines" | awk '{s+=$1} END {print s+0}')
f=$(grep -oE '[0-9]+ failed$' <<<"$lines" | awk '{s+=$1} END {print s+0}')
[ "$status" -ne 0 ] && [ "$f" -eq 0 ] && f=1
echo "${p} passed, ${f} failed"
[ "$f" -eq 0 ]
