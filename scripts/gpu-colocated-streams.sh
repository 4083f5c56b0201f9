#!/usr/bin/env bash
# The W=4 co-located HT grid, four ranks on GPU 0, once per way of getting the ranks' streams
# (NCCLEP_COLOCATED_STREAMS, Cuda/ColocatedStreams.cs): plain (unchecked, as before), first-launch (one kernel on
# each new stream, one stream at a time) and check (the default). Logs in ${OUT:-./gpu-out}/w4-colo-ht-<mode>.log.
#   bash scripts/gpu-colocated-streams.sh [seconds per mode, default 95]; bash scripts/gpu-pack.sh
set -uo pipefail
out=${OUT:-./gpu-out}; mkdir -p "$out"
budget=${1:-95}
for mode in plain first-launch check; do
  NCCLEP_COLOCATED_STREAMS=$mode CUDA_VISIBLE_DEVICES=0 timeout -k 10 $((budget + 60)) \
    bash gpu-bundle/gpu-run.sh tests --suite grid --grid ht --world 4 --budget-seconds "$budget" > "$out/w4-colo-ht-$mode.log" 2>&1
  echo "$mode: $(grep -E 'replaced' "$out/w4-colo-ht-$mode.log") $(grep -E '^[0-9]+ passed' "$out/w4-colo-ht-$mode.log" | tail -1)"
done
