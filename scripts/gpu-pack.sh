#!/usr/bin/env bash
# Last step of a device call: the device returns only a few files from $OUT, so pack everything the batch wrote
# there (logs, Markdown results, case lists) into one archive and keep only that:
#   bash scripts/gpu-validate.sh 2; bash scripts/gpu-perf.sh 2; bash scripts/gpu-pack.sh
# Back here: mkdir -p bench/results/raw/<run> && tar -xzf <files_at>/results.tgz -C bench/results/raw/<run>
set -euo pipefail
out=${OUT:-./gpu-out}
cd "$out"
files=$(find . -maxdepth 1 -type f ! -name results.tgz -printf '%f\n')
[ -n "$files" ] || { echo "nothing to pack in $out"; exit 0; }
tar -czf results.tgz $files
rm -f $files
echo "packed $(echo "$files" | wc -l) files into $out/results.tgz"
