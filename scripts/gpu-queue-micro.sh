#!/usr/bin/env bash
# On a GPU machine with nvcc, from the repository root: builds bench/microbench/queue_sharing.cu and shows, for
# several CUDA_DEVICE_MAX_CONNECTIONS, which streams share a hardware work queue (a waiting kernel on one stream
# blocks the kernel it waits for on the other). Markdown tables in ${OUT:-./gpu-out}/queue-micro.md.
#   bash scripts/gpu-queue-micro.sh [max streams between] [time-out ms]
set -euo pipefail
out=${OUT:-./gpu-out}; mkdir -p "$out"
binary=/tmp/ncclep-queue-sharing
nvcc -O2 -std=c++17 -arch=sm_90 -o "$binary" bench/microbench/queue_sharing.cu
: > "$out/queue-micro.md"
for connections in "" 4 1 32; do
  if [ -n "$connections" ]; then export CUDA_DEVICE_MAX_CONNECTIONS=$connections; else unset CUDA_DEVICE_MAX_CONNECTIONS; fi
  timeout -k 5 60 "$binary" "${1:-34}" "${2:-200}" | tee -a "$out/queue-micro.md"
  echo >> "$out/queue-micro.md"
done
