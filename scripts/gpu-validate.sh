#!/usr/bin/env bash
# One batch on a GPU machine: the GPU suites and the LL/HT benchmarks, with logs and result files in
# ${OUT:-./gpu-out}. Run after scripts/gpu-bundle.sh, from the repository root:  bash scripts/gpu-validate.sh
# Most important first; budgets (seconds) keep the batch inside one command. Each suite ends with
# "N passed, N failed, N skipped". Scale with GRID_BUDGET, SOAK_TRIPS, SOAK_BUDGET.
set -uo pipefail
out=${OUT:-./gpu-out}; mkdir -p "$out"
run="bash gpu-bundle/gpu-run.sh"
tests="$out/tests.log"; bench="$out/bench.log"
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; ls /usr/lib/x86_64-linux-gnu/libnccl.so.2.*; date -u +"%Y-%m-%d %H:%M UTC"; } > "$out/device.txt" 2>&1

suite() { echo "=== tests $*" >> "$tests"; timeout "$1" $run tests "${@:2}" >> "$tests" 2>&1; echo "tests ${*:2}: $(tail -1 "$tests")"; }
b() { echo "=== bench $*" >> "$bench"; timeout 90 $run bench --backend cuda "$@" 2>&1 | tee -a "$bench" | grep -E "back-to-back|baseline|^\| (update|dispatch|combine)|validation:|rror"; }
common="--hidden 7168 --topk 8 --experts 256 --validate"

suite $(( ${GRID_BUDGET:-150} + 30 )) --suite grid --grid ll --world 2 --budget-seconds ${GRID_BUDGET:-150}
b --mode ll --ranks 1 --tokens 128 $common --markdown "$out/ll-w1.md"
b --mode ll --ranks 2 --tokens 128 $common --markdown "$out/ll-w2.md"
b --mode ll --ranks 2 --tokens 1 $common
suite 60 --suite graph
suite 60 --suite faults
suite $(( ${SOAK_BUDGET:-50} + 30 )) --suite soak --round-trips ${SOAK_TRIPS:-1000000} --budget-seconds ${SOAK_BUDGET:-50}
suite 70 --suite grid --grid quick --world 4 --budget-seconds 40
suite 60 --suite grid --grid ht --world 2 --budget-seconds 30
b --mode ht --ranks 2 --tokens 4096 --layout flat --iters 20 $common
