#!/usr/bin/env bash
# Publishes the bench of a git ref into gpu-baselines/<name>/ (git-ignored), so a GPU batch can run it beside the
# current bundle when a change is not in the kernel files alone (window layout, launch code), where
# scripts/kernel-variant.sh cannot carry it:
#   bash scripts/baseline-bundle.sh before HEAD~1
#   BASELINES=before bash scripts/gpu-perf.sh 2        (on the GPU machine; carry "gpu-baselines")
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: baseline-bundle.sh <name> <git ref>}; ref=${2:?usage: baseline-bundle.sh <name> <git ref>}
out="$PWD/gpu-baselines/$name"
tree=$(mktemp -d); stage=$(mktemp -d)
trap 'git worktree remove --force "$tree" >/dev/null 2>&1 || true; rm -rf "$stage"' EXIT
git worktree add --detach "$tree" "$ref" >/dev/null
dotnet publish "$tree/bench/NcclEp.Bench/NcclEp.Bench.csproj" -c Release -r linux-x64 --self-contained \
  -p:NcclEpBundle=true -o "$stage/NcclEp.Bench" >/dev/null
rm -rf "$out" && mkdir -p "$out"
tar -C "$stage" -czf "$out/NcclEp.Bench.tar.gz" NcclEp.Bench
cp "$tree/scripts/gpu-run.sh" "$out/"
echo "$(git rev-parse --short "$ref") $ref" > "$out/REF"
du -sh "$out"/*
