#!/usr/bin/env bash
# Issue 19, item 2 (launches sized to the work): how LL dispatch and combine time depends on the grid, in one device
# call, after scripts/gpu-bundle.sh (carry gpu-bundle), from the repository root:
#   bash scripts/gpu-ll-sizing.sh [world]; bash scripts/gpu-pack.sh        outputs in ${OUT:-./gpu-out}
# Today every LL launch is the whole GPU (numSms 0 = all SMs) whatever the tokens. This sweeps numSms 4…132 at 1 and
# 128 tokens per rank (expert-major, per-slot and per-rank combine), hidden 7168, top-8 of 256, bf16, --validate, with
# the link bound: the smallest grid that keeps each phase at its best is what a sized launch should pick (then make it
# the default for numSms 0 and say so in docs/kernels.md).
set -uo pipefail
log_name=ll-sizing.log
# shellcheck source=scripts/gpu-lib.sh
source "$(dirname "$0")/gpu-lib.sh"
[ "$gpus" -ge "$world" ] || echo "warning: $gpus GPU(s) for $world ranks: ranks share GPU 0" | tee -a "$log"
common=(--backend cuda --ranks "$world" --mode ll --layout expert-major --hidden 7168 --topk 8 --experts 256 --iters 50
        --warmup 10 --steady-ops 0 --validate --sms-sweep 4,8,16,32,66,132)
bench() { # bench <name> <args...>: one bench run, its Markdown and JSON beside the log
  echo "=== $1: ${*:2}" | tee -a "$log"
  timeout -k 10 150 $run bench "${common[@]}" "${@:2}" --markdown "$out/$1-w$world.md" --json "$out/$1-w$world.json" 2>&1 |
    tee -a "$log" | grep -E "^backend|^\| |validation:|rror"
}
for tokens in 1 128; do
  bench "ll-sizing-$tokens" --tokens "$tokens"
  bench "ll-sizing-$tokens-per-rank" --tokens "$tokens" --combine per-rank
done
echo "outputs in $out (pack them with scripts/gpu-pack.sh)"
