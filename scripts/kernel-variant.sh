#!/usr/bin/env bash
# Exports the kernel files of a git ref into kernel-variants/<name>/ (git-ignored), so a GPU batch can run them
# beside the bundled kernels without a second bundle (NCCLEP_KERNEL_SOURCE_DIR; carry "kernel-variants"):
#   bash scripts/kernel-variant.sh combine-latency next/combine-latency
#   VARIANTS=combine-latency bash scripts/gpu-perf.sh 2        (on the GPU machine)
# DEFINE=NAME turns on a compile-time switch of the kernels in the exported copy (#define NAME 1 in ep_common.cuh);
# DEFINE=NAME=VALUE sets it to VALUE:
#   DEFINE=NCCLEP_BLOCK_TIMELINE bash scripts/kernel-variant.sh timeline HEAD
#   DEFINE=NCCLEP_WARP_JOBS=0 bash scripts/kernel-variant.sh ll-block-jobs HEAD     (low latency's block jobs)
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: kernel-variant.sh <name> <git ref>}; ref=${2:?usage: kernel-variant.sh <name> <git ref>}
out="kernel-variants/$name"
rm -rf "$out" && mkdir -p "$out"
git archive "$ref" src/NcclEp/Kernels | tar -x -C "$out" --strip-components=3
if [ -n "${DEFINE:-}" ]; then
  name_value=${DEFINE/=/ }; [ "$name_value" = "$DEFINE" ] && name_value="$DEFINE 1"
  sed -i "s/^#pragma once$/#pragma once\n#define $name_value/" "$out/ep_common.cuh"
fi
ls "$out"
