#!/usr/bin/env bash
# The fault lab: every scenario (L1-L11) on hosts in network namespaces, as root. Pass --only L1 to
# run one. Writes test/lab/out/lab-report.{md,json} (or to LAB_REPORT_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node dist/test/lab/run.js "$@"
