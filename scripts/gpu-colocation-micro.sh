#!/usr/bin/env bash
# On a GPU machine with nvcc, from the repository root: the two ways a launch on one stream could wait for a kernel on
# another stream of the same context, which is what co-located ranks must avoid (docs/failure-handling.md):
#   - bench/microbench/queue_sharing.cu: streams sharing a hardware work queue, for several CUDA_DEVICE_MAX_CONNECTIONS;
#   - bench/microbench/stack_growth.cu: a launch that makes the driver grow the per-thread stack.
# Markdown tables in ${OUT:-./gpu-out}/queue-micro.md and stack-micro.md.
#   bash scripts/gpu-colocation-micro.sh [max streams between] [time-out ms]
set -euo pipefail
out=${OUT:-./gpu-out}; mkdir -p "$out"
nvcc -O2 -std=c++17 -arch=sm_90 -o /tmp/ncclep-stack-growth bench/microbench/stack_growth.cu
export CUDA_MODULE_LOADING=EAGER
timeout -k 5 60 /tmp/ncclep-stack-growth "${2:-200}" | tee "$out/stack-micro.md"
nvcc -O2 -std=c++17 -arch=sm_90 -Xcompiler -pthread -o /tmp/ncclep-queue-sharing bench/microbench/queue_sharing.cu
: > "$out/queue-micro.md"
for connections in "" 4 1 32; do
  if [ -n "$connections" ]; then export CUDA_DEVICE_MAX_CONNECTIONS=$connections; else unset CUDA_DEVICE_MAX_CONNECTIONS; fi
  timeout -k 5 60 /tmp/ncclep-queue-sharing "${1:-34}" "${2:-200}" "${3:-50}" | tee -a "$out/queue-micro.md"
  echo >> "$out/queue-micro.md"
done
