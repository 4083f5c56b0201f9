#!/usr/bin/env bash
# Issue 20 (protocol, masked ranks, memory model) on a GPU machine, after scripts/gpu-bundle.sh, from the repository root:
#   bash scripts/gpu-protocol.sh [world]          logs in ${OUT:-./gpu-out}/protocol.log; each suite ends "N passed, N failed, N skipped"
# 1. --suite protocol: W=2 one-sided routing with six combines in a row and rank 0 held by a spin kernel before each (all
#    four layouts), rank 1 held on the host before its dispatch, random routing back to back with random holds (W=2 and
#    W=world), and a masked rank's late combine (W=3) — every output bit-exact against the Host backend.
# 2. --suite faults: time-outs, masking and recovery (the combine now also waits for every peer's presence).
# 3. the quick grid at W=2 and W=world: every kernel change (presence flags, the masked check) against the Host oracle.
# With at least `world` GPUs the ranks are on distinct GPUs, else co-located on GPU 0. Finish with scripts/gpu-pack.sh.
set -uo pipefail
out=${OUT:-./gpu-out}; mkdir -p "$out"
worlds=2; [ "${1:-2}" != 2 ] && worlds="2,$1"
log="$out/protocol.log"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > "$out/device.txt" 2>&1
date -u +"%Y-%m-%d %H:%M UTC" >> "$out/device.txt"
while read -r seconds args; do
  echo "=== $args" >> "$log"
  # shellcheck disable=SC2086  # the arguments are split on purpose
  timeout -k 10 "$seconds" bash gpu-bundle/gpu-run.sh tests $args >> "$log" 2>&1
  echo "$args: $(tail -1 "$log")"
done <<SUITES
240 --suite protocol --world $worlds
60 --suite faults
180 --suite grid --grid quick --world $worlds --budget-seconds 150 --log $out/quick-cases.log
SUITES
grep -h FAIL "$log" | head -20
