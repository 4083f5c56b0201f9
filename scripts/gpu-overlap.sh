#!/usr/bin/env bash
# Issue 22, items 2-4 (send/complete, zero-copy receive, handles in caller memory) on a GPU machine, after
# scripts/gpu-bundle.sh (carry gpu-bundle), from the repository root, in one device call:
#   bash scripts/gpu-overlap.sh [world]; bash scripts/gpu-pack.sh          outputs in ${OUT:-./gpu-out}
# 1. --suite overlap: two micro-batches with every call split into send and complete (a dispatch and a combine in
#    flight together, ranks held at random between send and complete by spin kernels), zero-copy receive (LL
#    rank-major), handles owned / in a caller's buffer / at a caller's pointer: bit-exact against the Host backend
#    running the plain calls. Once as is (NVLink), once with NCCLEP_FORCE_NETWORK=1 (every peer through NCCL send/recv:
#    the exchange in the complete half, zero-copy copying network rows in) when there are 2 GPUs.
# 2. the quick grid and the protocol suite: the kernels' FLAG_ROWS_IN_WINDOW change must leave every plain call as it was.
# 3. the bench, distinct GPUs, bf16, hidden 7168, top-8 of 256 experts, --validate, Markdown and --json beside the log:
#    LL rank-major 128 tokens with --overlap-work-us 50 and --zero-copy; LL expert-major 128 with --overlap-work-us 50;
#    HT flat 4096 with --overlap-work-us 300. "hidden" = (t_comm + t_work - t_send+work+complete) / t_comm.
# With at least `world` GPUs the ranks are on distinct GPUs, else co-located on GPU 0 (then the bench figures mean
# little: the ranks' kernels share one GPU's SMs with the busy-work kernel). Both parts take about 7-8 minutes; to split
# them over two device calls: PART=tests, then PART=bench.
set -uo pipefail
log_name=overlap.log
# shellcheck source=scripts/gpu-lib.sh
source "$(dirname "$0")/gpu-lib.sh"
if [ "$part" != bench ]; then
  suite 150 "overlap suite" --suite overlap --world "$world"
  if [ "$gpus" -ge 2 ]; then
    (export NCCL_P2P_DISABLE=1 NCCL_SHM_DISABLE=1 NCCL_NET=Socket NCCL_IB_DISABLE=1 NCCL_SOCKET_IFNAME=lo NCCLEP_FORCE_NETWORK=1
     suite 150 "overlap suite, forced network" --suite overlap --world 2)
  fi
  suite 120 "protocol suite" --suite protocol --world "$world"
  suite 120 "quick grid" --suite grid --grid quick --world "$world" --budget-seconds 90 --log "$out/overlap-quick-cases.log"
fi
[ "$part" = tests ] && { grep -h "^FAIL" "$log" | head -20; exit 0; }

common=(--backend cuda --ranks "$world" --hidden 7168 --topk 8 --experts 256 --dtype bf16 --iters 50 --warmup 10 --validate)
[ "$gpus" -ge "$world" ] || echo "warning: $gpus GPU(s) for $world ranks: ranks share GPU 0" | tee -a "$log"
bench() { # bench <name> <args...>: one bench run, its Markdown and JSON beside the log
  echo "=== $1: ${*:2}" | tee -a "$log"
  timeout -k 10 150 $run bench "${common[@]}" "${@:2}" --markdown "$out/$1-w$world.md" --json "$out/$1-w$world.json" 2>&1 | tee -a "$log" |
    grep -E "^backend|^\| (phase|dispatch|combine) |overlap \(|zero-copy receive|back-to-back|validation:|rror"
}
bench overlap-ll-rank-major-128 --mode ll --layout rank-major --tokens 128 --overlap-work-us 50 --zero-copy
bench overlap-ll-expert-major-128 --mode ll --layout expert-major --tokens 128 --overlap-work-us 50
bench overlap-ht-flat-4096 --mode ht --layout flat --tokens 4096 --overlap-work-us 300
grep -h "^FAIL" "$log" | head -20
echo "outputs in $out (pack them with scripts/gpu-pack.sh)"
