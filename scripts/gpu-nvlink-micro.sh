#!/usr/bin/env bash
# On a GPU machine with 2 GPUs and nvcc, from the repository root: builds bench/microbench/nvlink_copy.cu and prints
# NVLink copy rates (copy engine, SM push, SM pull, local, push+local split) as a Markdown table in
# ${OUT:-./gpu-out}/nvlink-micro.md.   bash scripts/gpu-nvlink-micro.sh [MB per direction] [repetitions]
set -euo pipefail
out=${OUT:-./gpu-out}; mkdir -p "$out"
export NCCL_NVLS_ENABLE=0
binary=/tmp/ncclep-nvlink-copy
nvcc -O3 -std=c++17 -arch=sm_90 -o "$binary" bench/microbench/nvlink_copy.cu
timeout -k 5 120 "$binary" "${1:-58}" "${2:-20}" | tee "$out/nvlink-micro.md"
