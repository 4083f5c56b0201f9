#!/usr/bin/env bash
# Publishes the GPU test program and the bench self-contained for linux-x64 (the GPU machines have no
# .NET) into gpu-bundle/ (git-ignored), compressed so both travel with the tree (< 50 MiB), and beside them the
# same kernel files built with NCCLEP_BLOCK_TIMELINE in gpu-bundle/kernels-timeline (for NCCLEP_KERNEL_SOURCE_DIR:
# the bench's --timeline, scripts/gpu-ll-timeline.sh; the bundled programs run the normal kernels unless it is set).
# Then, on the GPU machine: bash gpu-bundle/gpu-run.sh <tests|bench> [args...]
set -euo pipefail
cd "$(dirname "$0")/.."
out=gpu-bundle
stage=$(mktemp -d)
rm -rf "$out" && mkdir -p "$out"
for project in tests/NcclEp.GpuTests/NcclEp.GpuTests.csproj bench/NcclEp.Bench/NcclEp.Bench.csproj; do
  name=$(basename "$project" .csproj)
  dotnet publish "$project" -c Release -r linux-x64 --self-contained \
    -p:NcclEpBundle=true -o "$stage/$name" >/dev/null
  tar -C "$stage" -czf "$out/$name.tar.gz" "$name"
done
cp scripts/gpu-run.sh "$out/"
DEFINE=NCCLEP_BLOCK_TIMELINE DEST="$out/kernels-timeline" bash scripts/kernel-variant.sh timeline worktree >/dev/null
rm -rf "$stage"
du -sh "$out"/*
