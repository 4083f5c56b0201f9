#!/usr/bin/env bash
# Correctness batch on a GPU machine (after scripts/gpu-bundle.sh, from the repository root):
#   bash scripts/gpu-validate.sh [world]          logs in ${OUT:-./gpu-out}; each suite ends "N passed, N failed, N skipped"
# With at least `world` GPUs the ranks are on distinct GPUs (NCCL windows over NVLink); with fewer, co-located on
# GPU 0. Budgets in seconds keep it inside one 10-minute device call: QUICK_BUDGET, HT_BUDGET, SOAK_BUDGET. The
# HT grid at W=2 takes about 5 minutes: HT_SHARD=0/2 and HT_SHARD=1/2 split it over two calls.
# NCCLEP_GPU_TRACE=1 adds a timestamped line per step of every rank (set up, launched, synchronised), for a run
# that hangs or times out (W=4 co-located on GPU 0: see bench/results/ht-h200-x2-2026-11-24-runs19-25.md).
# NCCLEP_GPU_ORACLE=after runs each case's Host oracle after the Cuda run instead of beside it. A failed case's line
# ends with the GC pause time during the case. Finish a call with scripts/gpu-pack.sh.
# Performance: scripts/gpu-perf.sh. Network path: scripts/gpu-network.sh.
set -uo pipefail
out=${OUT:-./gpu-out}; mkdir -p "$out"
world=${1:-2}
run="bash gpu-bundle/gpu-run.sh"
tests="$out/tests.log"
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; nvidia-smi topo -m; ls /usr/lib/x86_64-linux-gnu/libnccl.so.2.*; date -u +"%Y-%m-%d %H:%M UTC"; } > "$out/device.txt" 2>&1

suite() { # suite <name for the log> <timeout> <args...>
  echo "=== $1" >> "$tests"
  timeout -k 10 "$2" $run tests "${@:3}" >> "$tests" 2>&1
  echo "$1: $(tail -1 "$tests")"
}
suite "quick grid, world $world" $(( ${QUICK_BUDGET:-90} + 30 )) --suite grid --grid quick --world "$world" --budget-seconds ${QUICK_BUDGET:-90} --log "$out/quick-cases.log"
shard=(); [ -n "${HT_SHARD:-}" ] && shard=(--shard "$HT_SHARD")
suite "HT grid, world $world${HT_SHARD:+, shard $HT_SHARD}" $(( ${HT_BUDGET:-200} + 30 )) --suite grid --grid ht --world "$world" --budget-seconds ${HT_BUDGET:-200} --log "$out/ht-cases.log" "${shard[@]}"
suite "graph" 60 --suite graph
suite "faults" 60 --suite faults
suite "soak" $(( ${SOAK_BUDGET:-40} + 30 )) --suite soak --round-trips ${SOAK_TRIPS:-300000} --budget-seconds ${SOAK_BUDGET:-40}
grep -h FAIL "$tests" | head -20
