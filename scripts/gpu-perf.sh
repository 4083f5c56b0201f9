#!/usr/bin/env bash
# Performance batch on a GPU machine (after scripts/gpu-bundle.sh, from the repository root):
#   bash scripts/gpu-perf.sh [world]              Markdown results and the full log in ${OUT:-./gpu-out}
# Every run validates against the Host oracle and, on distinct GPUs, measures the peer-copy ceiling in the same run.
set -uo pipefail
out=${OUT:-./gpu-out}; mkdir -p "$out"
world=${1:-2}
run="bash gpu-bundle/gpu-run.sh"
log="$out/bench.log"
common="--backend cuda --ranks $world --hidden 7168 --topk 8 --experts 256 --validate"
b() { # b <name> <args...>
  echo "=== $1: $*" >> "$log"
  timeout 90 $run bench $common "${@:2}" --markdown "$out/$1-w$world.md" 2>&1 | tee -a "$log" \
    | grep -E "^backend|back-to-back|^\| (dispatch|combine)|validation:|rror"
}
b ll-128 --mode ll --tokens 128
b ll-1 --mode ll --tokens 1
b ht-flat-4096 --mode ht --tokens 4096 --layout flat --iters 20
b ht-em-4096 --mode ht --tokens 4096 --layout expert-major --align 128 --iters 20
b ht-sms-sweep --mode ht --tokens 4096 --layout flat --iters 10 --warmup 3 --sms-sweep default
