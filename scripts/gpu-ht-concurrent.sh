#!/usr/bin/env bash
# Issue 21, item 3: the concurrent-compute figure of HT on a GPU machine, after scripts/gpu-bundle.sh (carry
# gpu-bundle), from the repository root, in one device call (about 5-8 minutes):
#   bash scripts/gpu-ht-concurrent.sh [world]; bash scripts/gpu-pack.sh      outputs in ${OUT:-./gpu-out}
# HT Flat and HT ExpertMajor (padded to 128), 4096 tokens per rank, hidden 7168, top-8 of 256 experts, bf16, --validate,
# at numSms 16, 24 and 32 (--sms-sweep), each with --concurrent-compute: an fp32 FMA kernel of the bench on the SMs
# NcclEp leaves free (the GPU's SMs − NcclEp's blocks), launched on a second stream right before each dispatch and
# combine. Per numSms and phase: the phase alone and beside the kernel (µs, ratio), the kernel's TFLOP/s alone and beside
# the phase, and the part kept (docs/benchmarks.md). Markdown and --json beside the log. The back-to-back runs are left
# out (--steady-ops 0) to keep the call short. With fewer GPUs than ranks the ranks share GPU 0 (then the SMs left are
# each rank's share less its blocks, and the figures say little about a prefill node).
set -uo pipefail
log_name=ht-concurrent.log
# shellcheck source=scripts/gpu-lib.sh
source "$(dirname "$0")/gpu-lib.sh"
[ "$gpus" -ge "$world" ] || echo "warning: $gpus GPU(s) for $world ranks: ranks share GPU 0" | tee -a "$log"

common=(--backend cuda --ranks "$world" --mode ht --tokens 4096 --hidden 7168 --topk 8 --experts 256 --dtype bf16
        --iters 50 --warmup 10 --steady-ops 0 --validate --sms-sweep 16,24,32 --concurrent-compute)
bench() { # bench <name> <args...>: one bench run, its Markdown and JSON beside the log
  echo "=== $1: ${*:2}" | tee -a "$log"
  timeout -k 10 240 $run bench "${common[@]}" "${@:2}" --markdown "$out/$1-w$world.md" --json "$out/$1-w$world.json" 2>&1 |
    tee -a "$log" | grep -E "^backend|concurrent compute|^\| (tokens/rank|4096) |validation:|rror"
}
bench ht-concurrent-flat-4096 --layout flat
bench ht-concurrent-em-4096 --layout expert-major --align 128
echo "outputs in $out (pack them with scripts/gpu-pack.sh)"
