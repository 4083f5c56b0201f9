#!/usr/bin/env bash
# The correctness suites that the protocol, distinct-experts and overlap work changed, in one device call, after
# scripts/gpu-bundle.sh (carry gpu-bundle), from the repository root:
#   bash scripts/gpu-check-changes.sh [world]; bash scripts/gpu-pack.sh        logs in ${OUT:-./gpu-out}/checks.log
# protocol (presence flags, ranks out of step, masked rank), overlap (send/complete, zero-copy, caller handle memory),
# graph (captured steps with the distinct experts) and the quick grid, each bit for bit against the Host backend; then
# the bench's --validate (distinct experts, bit-exact) for LL expert-major 128 and HT flat 4096, bf16, hidden 7168,
# top-8 of 256. With fewer GPUs than ranks the ranks share GPU 0: the suites still prove correctness, the bench's
# times then mean nothing. BENCH=0 skips the bench part. Each suite ends "N passed, N failed, N skipped".
set -uo pipefail
out=${OUT:-./gpu-out}; mkdir -p "$out"
world=${1:-2}
run="bash gpu-bundle/gpu-run.sh"
log="$out/checks.log"
{ nvidia-smi --query-gpu=index,name,driver_version,memory.total --format=csv,noheader; date -u +"%Y-%m-%d %H:%M UTC"; } > "$out/device.txt" 2>&1
suite() { # suite <seconds> <args...>
  echo "=== ${*:2}" >> "$log"
  timeout -k 10 "$1" $run tests "${@:2}" >> "$log" 2>&1
  echo "${*:2}: $(tail -1 "$log")"
}
suite 170 --suite protocol --world "$world"
suite 120 --suite overlap --world "$world"
suite 60 --suite graph
suite 100 --suite grid --grid quick --world "$world" --budget-seconds 70 --log "$out/quick-cases.log"
if [ "${BENCH:-1}" != 0 ]; then
  common=(--backend cuda --ranks "$world" --hidden 7168 --topk 8 --experts 256 --dtype bf16 --iters 20 --warmup 5 --validate)
  for point in "ll expert-major 128" "ht flat 4096"; do
    read -r mode layout tokens <<< "$point"
    name="validate-$mode-$layout-$tokens-w$world"
    echo "=== bench $point" >> "$log"
    timeout -k 10 90 $run bench "${common[@]}" --mode "$mode" --layout "$layout" --tokens "$tokens" \
      --markdown "$out/$name.md" --json "$out/$name.json" >> "$log" 2>&1
    echo "bench $point: $(grep -E 'validation' "$log" | tail -1)"
  done
fi
grep -h "^FAIL" "$log" | head -20
