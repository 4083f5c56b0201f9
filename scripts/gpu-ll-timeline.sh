#!/usr/bin/env bash
# Issue 19: where the time of one LL operation goes. The bench's --timeline with the kernels built with
# NCCLEP_BLOCK_TIMELINE (scripts/gpu-bundle.sh puts them in gpu-bundle/kernels-timeline; nothing is built here, the
# GPU machine has no .NET), in one device call, after scripts/gpu-bundle.sh (carry gpu-bundle), from the repository root:
#   bash scripts/gpu-ll-timeline.sh [world]; bash scripts/gpu-pack.sh        outputs in ${OUT:-./gpu-out}
# Each run times the usual loop (median of 50 after 10 warm-ups, --validate), then queues one update + dispatch +
# combine back to back and prints per rank and kernel (update, offsets, dispatch, combine) and role (both, send,
# receive) when the blocks started and ended, the median and slowest block (its SM) and the gaps between consecutive
# kernels, in µs after that rank's update started; the same under "timeline" in the --json file (docs/benchmarks.md).
# Setting: issue 19's, hidden 7168, top-8 of 256 experts, bf16, 1 and 128 tokens per rank, rank-major and expert-major.
set -uo pipefail
log_name=ll-timeline.log
# shellcheck source=scripts/gpu-lib.sh
source "$(dirname "$0")/gpu-lib.sh"
kernels="$PWD/gpu-bundle/kernels-timeline"
[ -f "$kernels/ep_common.cuh" ] || { echo "no $kernels: run scripts/gpu-bundle.sh (here) and carry gpu-bundle" | tee -a "$log"; exit 1; }
[ "$gpus" -ge "$world" ] || echo "warning: $gpus GPU(s) for $world ranks: ranks share GPU 0" | tee -a "$log"
common=(--backend cuda --ranks "$world" --mode ll --hidden 7168 --topk 8 --experts 256 --iters 50 --warmup 10 --validate --timeline)
bench() { # bench <name> <args...>: one bench run with the timeline kernels, its Markdown and JSON beside the log
  echo "=== $1: ${*:2}" | tee -a "$log"
  NCCLEP_KERNEL_SOURCE_DIR="$kernels" timeout -k 10 150 $run bench "${common[@]}" "${@:2}" \
    --markdown "$out/$1-w$world.md" --json "$out/$1-w$world.json" 2>&1 | tee -a "$log" |
    grep -E "^backend|^\| (phase|update|dispatch|combine|tokens/rank|[0-9]+ +\|)|^timeline|back-to-back|validation:|rror"
}
for layout in rank-major expert-major; do
  for tokens in 1 128; do bench "ll-timeline-$layout-$tokens" --layout "$layout" --tokens "$tokens"; done
done
echo "outputs in $out (pack them with scripts/gpu-pack.sh)"
