#!/usr/bin/env bash
# Issue 22's figures in one device call, after scripts/gpu-bundle.sh (carry gpu-bundle), from the repository root:
#   bash scripts/gpu-issue22-figures.sh [world]; bash scripts/gpu-pack.sh        outputs in ${OUT:-./gpu-out}
# The bench parts of scripts/gpu-fp8.sh (bf16 beside fp8: LL expert-major 128, HT flat 4096, with fp8-summary.md) and
# of scripts/gpu-overlap.sh (send/complete hiding with --overlap-work-us, zero-copy receive against the copy), all with
# --validate and --json. Their correctness suites (and the other changed ones) are scripts/gpu-check-changes.sh.
set -uo pipefail
here=$(dirname "$0")
PART=bench bash "$here/gpu-fp8.sh" "${1:-2}"
PART=bench bash "$here/gpu-overlap.sh" "${1:-2}"
