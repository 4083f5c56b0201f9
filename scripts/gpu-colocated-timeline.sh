#!/usr/bin/env bash
# The W=4 co-located HT time-outs (docs/failure-handling.md, "Open"): on a 2-GPU machine, at the same time,
#   GPU 0: the HT grid with the block-timeline kernels (every block prints its start, end and SM);
#   GPU 1: the same cases with at most NUM_SMS blocks per launch (default 16 instead of 33), leaving SMs free.
# Before (here): DEFINE=NCCLEP_BLOCK_TIMELINE bash scripts/kernel-variant.sh timeline HEAD; bash scripts/gpu-bundle.sh
#   and carry gpu-bundle and kernel-variants. Then on the GPU machine: bash scripts/gpu-colocated-timeline.sh; bash scripts/gpu-pack.sh
# After (here): python3 scripts/block-timeline.py <raw run>/colocated-timeline.log
set -uo pipefail
out=${OUT:-./gpu-out}; mkdir -p "$out"
budget=${BUDGET:-150}
grid() { # grid <gpu> <log> <kernel source dir or -> [args...]
  local source=(); [ "$3" != - ] && source=(NCCLEP_KERNEL_SOURCE_DIR="$3")
  env "${source[@]}" CUDA_VISIBLE_DEVICES="$1" NCCLEP_UNPACK_DIR="/tmp/ncclep-$1" timeout -k 10 $((budget + 40)) \
    bash gpu-bundle/gpu-run.sh tests --suite grid --grid ht --world 4 --budget-seconds "$budget" "${@:4}" > "$out/$2" 2>&1
  echo "$2: $(grep -E '^[0-9]+ passed' "$out/$2" | tail -1)"
}
grid 0 colocated-timeline.log kernel-variants/timeline &
grid 1 colocated-sms${NUM_SMS:-16}.log - --num-sms "${NUM_SMS:-16}" &
wait
grep -h "^FAIL" "$out"/colocated-*.log | sed 's/: rank 0:.*kernels:/: kernels:/' | cut -c1-300 | head -6
