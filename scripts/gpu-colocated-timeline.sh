#!/usr/bin/env bash
# The W=4 co-located HT time-outs (bench/results/history-failure-handling.md, "Co-located ranks: the W=4 HT time-outs"): the HT grid, four ranks on GPU 0, with the
# NCCLEP_BLOCK_TIMELINE kernels. Every FAIL line then ends with the block timeline: per rank and kernel, the blocks of
# each role, when they started and ended, and which started late (tests/NcclEp.GpuTests/BlockTimeline.cs).
# With a second GPU, the same cases with the normal kernels run there at the same time (the failure rate without it).
# The time-outs this found (streams on a shared hardware queue) are fixed: EpGroup.CreateStream gives each co-located
# rank a stream on a queue of its own.
# Before (here): DEFINE=NCCLEP_BLOCK_TIMELINE bash scripts/kernel-variant.sh timeline HEAD; bash scripts/gpu-bundle.sh
#   and carry gpu-bundle and kernel-variants. Then on the GPU machine: bash scripts/gpu-colocated-timeline.sh; bash scripts/gpu-pack.sh
set -uo pipefail
out=${OUT:-./gpu-out}; mkdir -p "$out"
budget=${BUDGET:-150}
grid() { # grid <gpu> <log> <kernel source dir or -> [args...]
  local source=(); [ "$3" != - ] && source=(NCCLEP_KERNEL_SOURCE_DIR="$3")
  env "${source[@]}" CUDA_VISIBLE_DEVICES="$1" NCCLEP_UNPACK_DIR="/tmp/ncclep-$1" timeout -k 10 $((budget + 60)) \
    bash gpu-bundle/gpu-run.sh tests --suite grid --grid ht --world 4 --budget-seconds "$budget" "${@:4}" > "$out/$2" 2>&1
  echo "$2: $(grep -E '^[0-9]+ passed' "$out/$2" | tail -1)"
}
grid 0 colocated-timeline.log kernel-variants/timeline "$@" &
[ "$(nvidia-smi -L | wc -l)" -ge 2 ] && grid 1 colocated-normal.log - "$@" &
wait
grep -h "^FAIL" "$out"/colocated-*.log | cut -c1-200 | head -6
