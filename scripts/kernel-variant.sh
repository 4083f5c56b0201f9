#!/usr/bin/env bash
# Exports the kernel files of a git ref into kernel-variants/<name>/ (git-ignored), so a GPU batch can run them
# beside the bundled kernels without a second bundle (NCCLEP_KERNEL_SOURCE_DIR; carry "kernel-variants"):
#   bash scripts/kernel-variant.sh combine-latency next/combine-latency
#   VARIANTS=combine-latency bash scripts/gpu-perf.sh 2        (on the GPU machine)
# DEFINE=NAME turns on a compile-time switch of the kernels in the exported copy (#define NAME 1 in ep_common.cuh);
# DEFINE=NAME=VALUE sets it to VALUE; several, space-separated, set each:
#   DEFINE=NCCLEP_BLOCK_TIMELINE bash scripts/kernel-variant.sh timeline HEAD
#   DEFINE=NCCLEP_WARP_JOBS=0 bash scripts/kernel-variant.sh ll-block-jobs HEAD     (low latency's block jobs)
# The ref "worktree" copies the working tree's kernel files (what a bundle built now embeds); DEST=<folder> writes
# there instead of kernel-variants/<name> (scripts/gpu-bundle.sh does both for gpu-bundle/kernels-timeline).
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: kernel-variant.sh <name> <git ref|worktree>}; ref=${2:?usage: kernel-variant.sh <name> <git ref|worktree>}
out=${DEST:-kernel-variants/$name}
rm -rf "$out" && mkdir -p "$out"
if [ "$ref" = worktree ]; then cp -R src/NcclEp/Kernels/. "$out/"
else git archive "$ref" src/NcclEp/Kernels | tar -x -C "$out" --strip-components=3; fi
for word in ${DEFINE:-}; do  # several switches: DEFINE="A=1 B=2"
  define=${word/=/ }; [ "$define" = "$word" ] && define="$word 1"
  sed -i "s/^#pragma once$/#pragma once\n#define $define/" "$out/ep_common.cuh"
  grep -q "^#define $define$" "$out/ep_common.cuh" || { echo "kernel-variant.sh: no '#pragma once' line in $out/ep_common.cuh to put #define $define after" >&2; exit 1; }
done
ls "$out"
