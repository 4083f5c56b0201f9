#!/usr/bin/env bash
# The correctness suites that the protocol, distinct-experts, overlap, FP8 and per-rank-partials work changed, in one
# device call, after scripts/gpu-bundle.sh (carry gpu-bundle), from the repository root:
#   bash scripts/gpu-check-changes.sh [world]; bash scripts/gpu-pack.sh        logs in ${OUT:-./gpu-out}/checks.log
# protocol (presence flags, ranks out of step, masked rank), overlap (send/complete, zero-copy, caller handle memory),
# fp8 (every layout and recipe, a time budget: cases past it are reported "not run"; routed FP8 cases included), the
# quick grid's routed cases first (the dispatch that routes itself, one launch up to 128 tokens, against the Host's Update
# then Dispatch: issue 19), then the whole quick grid (per-slot and per-rank-partials combines) and graph (captured steps
# with the distinct experts, one of them routed), each bit for bit against the Host backend; then (BENCH=1) the bench's --validate for LL expert-major 128 (bf16 per-slot, per-rank, fp8) and HT flat
# 4096, hidden 7168, top-8 of 256. With fewer GPUs than ranks the ranks share GPU 0: the suites still prove
# correctness, the bench's times then mean nothing. Each suite ends "N passed, N failed, N skipped".
# PDL=1 runs, instead of the above (a second call: together they pass the 10-minute limit), the quick grid, graph and
# protocol suites with programmatic dependent launch (NCCLEP_PDL=1, Cuda/DependentLaunch.cs).
# KERNELS=<name> runs everything on kernel-variants/<name> (scripts/gpu-prepare.sh) instead of the bundled kernels: the
# variants the bench times must pass the same suites (KERNELS=bulk-7 PART=2: the HT bulk copies, issue 21).
set -uo pipefail
out=${OUT:-./gpu-out}; mkdir -p "$out"
if [ -n "${KERNELS:-}" ]; then
  [ -d "kernel-variants/$KERNELS" ] || { echo "no kernel-variants/$KERNELS: run scripts/gpu-prepare.sh here first and carry kernel-variants"; exit 2; }
  export NCCLEP_KERNEL_SOURCE_DIR=$PWD/kernel-variants/$KERNELS
fi
world=${1:-2}
run="bash gpu-bundle/gpu-run.sh"
log="$out/checks.log"
{ nvidia-smi --query-gpu=index,name,driver_version,memory.total --format=csv,noheader; date -u +"%Y-%m-%d %H:%M UTC"; } > "$out/device.txt" 2>&1
suite() { # suite <seconds> <args...>
  echo "=== ${*:2}" >> "$log"
  timeout -k 10 "$1" $run tests "${@:2}" >> "$log" 2>&1
  echo "${*:2}: $(tail -1 "$log")"
}
if [ "${PDL:-0}" = 1 ]; then
  export NCCLEP_PDL=1
  suite 150 --suite protocol --world "$world"
  suite 110 --suite grid --grid quick --world "$world" --budget-seconds 90 --log "$out/quick-cases-pdl.log"
  suite 50 --suite graph
  grep -h "^FAIL" "$log" | head -20
  exit 0
fi
# The suites' time-outs add up to about the 10-minute limit of one device call: PART=1 runs the first three, PART=2 the
# rest, so two calls can never be cut short; no PART runs all (they usually finish well inside their budgets).
# PART=ht runs the high-throughput grid alone, bit for bit (issue 21's "HT grid bit-exact with the final kernels"), with
# KERNELS=<variant> for a variant's: one call.
part=${PART:-all}
if [ "$part" = ht ]; then
  suite 520 --suite grid --grid ht --world "$world" --budget-seconds "${HT_BUDGET:-480}" --log "$out/ht-cases.log"
  grep -h "^FAIL" "$log" | head -20
  exit 0
fi
if [ "$part" != 2 ]; then
  suite 150 --suite protocol --world "$world"
  suite 100 --suite overlap --world "$world"
  suite "$(( ${FP8_BUDGET:-110} + 20 ))" --suite fp8 --world "$world" --budget-seconds "${FP8_BUDGET:-110}"
fi
if [ "$part" != 1 ]; then
  suite 70 --suite grid --grid quick --filter routed --world "$world" --budget-seconds 55 --log "$out/routed-cases.log"
  suite 110 --suite grid --grid quick --world "$world" --budget-seconds 90 --log "$out/quick-cases.log"
  suite 50 --suite graph
fi
if [ "${BENCH:-0}" != 0 ]; then
  common=(--backend cuda --ranks "$world" --hidden 7168 --topk 8 --experts 256 --iters 20 --warmup 5 --validate)
  for point in "ll expert-major 128 --combine per-slot" "ll expert-major 128 --combine per-rank" \
               "ll expert-major 128 --dtype fp8" "ht flat 4096"; do
    read -r mode layout tokens extra <<< "$point"
    name="validate-$mode-$layout-$tokens${extra:+-$(echo "$extra" | tr -d ' -')}-w$world"
    echo "=== bench $point" >> "$log"
    # shellcheck disable=SC2086  # extra holds option words
    timeout -k 10 90 $run bench "${common[@]}" --mode "$mode" --layout "$layout" --tokens "$tokens" $extra \
      --markdown "$out/$name.md" --json "$out/$name.json" >> "$log" 2>&1
    echo "bench $point: $(grep -E 'validation' "$log" | tail -1)"
  done
fi
grep -h "^FAIL" "$log" | head -20
