#!/usr/bin/env bash
# Issue 22, item 1 (FP8 E4M3 dispatch) on a GPU machine, after scripts/gpu-bundle.sh (carry gpu-bundle), from the
# repository root, in one device call:
#   bash scripts/gpu-fp8.sh [world]; bash scripts/gpu-pack.sh          outputs in ${OUT:-./gpu-out}
# 1. --suite fp8: the Cuda backend's FP8 dispatch (FP8 rows, every scale, counts, source info) and the combine and
#    backward passes after it, bit-exact against the Host backend, every layout of both modes, every recipe (fp32,
#    power-of-two, UE8M0 scales), bf16 and fp32 rows with zeros, NaN, subnormals, infinities, ties and saturation; plus
#    the FP8 dispatch and combine split into send + complete. With 2 GPUs the send/complete cases once more with
#    NCCLEP_FORCE_NETWORK=1 (every peer through NCCL send/recv: the FP8 payload in the staging slices).
# 2. the bench side by side, bf16 then fp8 (fp32 scales), distinct GPUs, hidden 7168, top-8 of 256 experts,
#    --validate (fp8: rows and scales bit-exact against the library's rule, the combine bit-exact against the reference
#    of the dequantized rows), Markdown and --json beside the log: LL expert-major 128 tokens, HT flat 4096 tokens;
#    then a summary table of the dispatch figures (fp8-summary.md).
# With at least `world` GPUs the ranks are on distinct GPUs, else co-located on GPU 0 (then the bench figures mean
# little). Both parts take about 8 minutes; to split them over two device calls: PART=tests, then PART=bench.
set -uo pipefail
log_name=fp8.log
# shellcheck source=scripts/gpu-lib.sh
source "$(dirname "$0")/gpu-lib.sh"
if [ "$part" != bench ]; then
  suite 270 "fp8 suite" --suite fp8 --world "$world" --budget-seconds 240
  if [ "$gpus" -ge 2 ]; then
    (export NCCL_P2P_DISABLE=1 NCCL_SHM_DISABLE=1 NCCL_NET=Socket NCCL_IB_DISABLE=1 NCCL_SOCKET_IFNAME=lo NCCLEP_FORCE_NETWORK=1
     suite 90 "fp8 suite send/complete, forced network" --suite fp8 --world 2 --filter send/complete --budget-seconds 75)
  fi
fi
[ "$part" = tests ] && { grep -h "^FAIL" "$log" | head -20; exit 0; }

common=(--backend cuda --ranks "$world" --hidden 7168 --topk 8 --experts 256 --iters 50 --warmup 10 --validate)
[ "$gpus" -ge "$world" ] || echo "warning: $gpus GPU(s) for $world ranks: ranks share GPU 0" | tee -a "$log"
bench() { # bench <name> <args...>: one bench run, its Markdown and JSON beside the log
  echo "=== $1: ${*:2}" | tee -a "$log"
  timeout -k 10 150 $run bench "${common[@]}" "${@:2}" --markdown "$out/$1-w$world.md" --json "$out/$1-w$world.json" 2>&1 | tee -a "$log" |
    grep -E "^backend|^\| (phase|dispatch|combine) |dispatch bytes =|validation:|rror"
}
for dtype in bf16 fp8; do
  bench "fp8-ll-expert-major-128-$dtype" --mode ll --layout expert-major --tokens 128 --dtype "$dtype"
  bench "fp8-ht-flat-4096-$dtype" --mode ht --layout flat --tokens 4096 --dtype "$dtype"
done

# bf16 beside fp8: dispatch median, its bytes and GB/s, combine median, validation (from the --json files).
python3 - "$out" "$world" <<'PY' | tee "$out/fp8-summary.md" | tee -a "$log"
import json, os, sys
out, world = sys.argv[1], sys.argv[2]
print("| run | dtype | dispatch µs | dispatch bytes | dispatch GB/s (ep_bench) | combine µs | validation |")
print("|---|---|---:|---:|---:|---:|---|")
for run in ("fp8-ll-expert-major-128", "fp8-ht-flat-4096"):
    for dtype in ("bf16", "fp8"):
        path = os.path.join(out, f"{run}-{dtype}-w{world}.json")
        if not os.path.exists(path):
            print(f"| {run} | {dtype} | (no result) | | | | |"); continue
        r = json.load(open(path))["results"][0]
        d, c = r["dispatch"], r["combine"]
        print(f"| {run} | {dtype} | {d['median_us']:.1f} | {d['bytes']} | {d.get('gbps_ep_bench_per_rank', float('nan')):.1f} | "
              f"{c['median_us']:.1f} | {r['validation']['result']} |")
PY
grep -h "^FAIL" "$log" | head -20
echo "outputs in $out (pack them with scripts/gpu-pack.sh)"
