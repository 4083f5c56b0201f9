#!/usr/bin/env bash
# Issue 20 (protocol, masked ranks, memory model) on a GPU machine, after scripts/gpu-bundle.sh, from the repository root:
#   bash scripts/gpu-protocol.sh [world]          logs in ${OUT:-./gpu-out}; each suite ends "N passed, N failed, N skipped"
# 1. --suite protocol: W=2 one-sided routing with six combines in a row and rank 0 held by a spin kernel before each (all
#    four layouts), rank 1 held on the host before its dispatch, random routing back to back with random holds (W=2 and
#    W=world), and a masked rank's late combine (W=3) — every output bit-exact against the Host backend.
# 2. --suite faults: time-outs, masking and recovery (the combine now also waits for every peer's presence).
# 3. the quick grid at W=2 and W=world: every kernel change (presence flags, the masked check) against the Host oracle.
# With at least `world` GPUs the ranks are on distinct GPUs, else co-located on GPU 0. About 4 minutes at world 2.
# Finish the device call with scripts/gpu-pack.sh.
set -uo pipefail
out=${OUT:-./gpu-out}; mkdir -p "$out"
world=${1:-2}
run="bash gpu-bundle/gpu-run.sh"
tests="$out/protocol.log"
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; nvidia-smi topo -m; ls /usr/lib/x86_64-linux-gnu/libnccl.so.2.*; date -u +"%Y-%m-%d %H:%M UTC"; } > "$out/device.txt" 2>&1

suite() { # suite <name for the log> <timeout> <args...>
  echo "=== $1" >> "$tests"
  timeout -k 10 "$2" $run tests "${@:3}" >> "$tests" 2>&1
  echo "$1: $(tail -1 "$tests")"
}
worlds=2; [ "$world" != 2 ] && worlds="2,$world"
suite "protocol, worlds $worlds" 240 --suite protocol --world "$worlds"
suite "faults" 60 --suite faults
suite "quick grid, worlds $worlds" $(( ${QUICK_BUDGET:-150} + 30 )) --suite grid --grid quick --world "$worlds" --budget-seconds ${QUICK_BUDGET:-150} --log "$out/quick-cases.log"
grep -h FAIL "$tests" | head -20
