#!/usr/bin/env bash
# Issue 21 (HT on 16-32 SMs): how the split of a launch's blocks between sending and receiving (reducing) blocks
# bounds HT at few SMs. At 24 SMs today's HT Flat dispatch sends from 12 blocks (4 of 8) and its combine from 6
# (2 of 8): 380 / 640 µs on 2x H200 (run 22), about 13 GB/s per sending SM, where the link wants ~14 GB/s from
# every one of 24 SMs for the 85 % target. This times the split side by side at numSms 16, 24, 32 and 132.
# Before it, here (no GPU needed):
#   bash scripts/gpu-bundle.sh
#   for d in 4 6; do for c in 2 4; do DEFINE="DISPATCH_SENDERS_PER_8=$d COMBINE_SENDERS_PER_8=$c" \
#     bash scripts/kernel-variant.sh "split-$d-$c" HEAD; done; done
#   DEFINE=COPY_UNROLL=8 bash scripts/kernel-variant.sh unroll-8 HEAD
# (unroll-8: 8 loads in flight per lane instead of 4: HT Flat's dispatch does not spill with it, expert-major's does,
# scripts/kernel-resources.py -DCOPY_UNROLL=8), and the bulk-copy builds (bulk-*: rows by cp.async.bulk through shared
# memory, ep_bulk.cuh). scripts/gpu-prepare.sh makes them all. VARIANTS="bulk-*" (globs) times only those, so the
# variants can be split over device calls of 10 minutes each.
# then on the GPU machine (carry gpu-bundle and kernel-variants), from the repository root:
#   bash scripts/gpu-ht-few-sms.sh [world]; bash scripts/gpu-pack.sh        outputs in ${OUT:-./gpu-out}
# Each run: --mode ht, 4096 tokens per rank, hidden 7168, top-8 of 256, bf16, --validate, link bound and % of link.
# The bundled kernels are split-4-2 for Flat (dispatch 3 of 8 for expert-major); "bundled" runs them as a reference.
set -uo pipefail
log_name=ht-few-sms.log
# shellcheck source=scripts/gpu-lib.sh
source "$(dirname "$0")/gpu-lib.sh"
[ "$gpus" -ge "$world" ] || echo "warning: $gpus GPU(s) for $world ranks: ranks share GPU 0, times mean nothing" | tee -a "$log"
common=(--backend cuda --ranks "$world" --mode ht --tokens 4096 --hidden 7168 --topk 8 --experts 256 --iters 20 --warmup 5
        --steady-ops 0 --validate --sms-sweep 16,24,32,132)
bench() { # bench <name> <kernel dir or ""> <args...>
  local name=$1 dir=$2; shift 2
  echo "=== $name: ${dir:-bundled} $*" | tee -a "$log"
  NCCLEP_KERNEL_SOURCE_DIR=${dir:+$PWD/$dir} timeout -k 10 100 $run bench "${common[@]}" "$@" \
    --markdown "$out/$name-w$world.md" --json "$out/$name-w$world.json" 2>&1 | tee -a "$log" | grep -E "^\| |validation:|rror"
}
# LAYOUTS picks the configurations (default all three): expert-major-per-rank is issue 21's expert-major combine with
# one partial per (token, rank) (item 2), whose remote bytes the % of link is taken against.
for config in ${LAYOUTS:-flat expert-major expert-major-per-rank}; do
  case $config in
    flat) args=(--layout flat) ;;
    expert-major) args=(--layout expert-major --align 128) ;;
    expert-major-per-rank) args=(--layout expert-major --align 128 --combine per-rank) ;;
    *) echo "unknown configuration $config (flat, expert-major, expert-major-per-rank)" | tee -a "$log"; continue ;;
  esac
  bench "ht-$config-bundled" "" "${args[@]}"
  for pattern in ${VARIANTS:-split-* unroll-* bulk-*}; do for variant in kernel-variants/$pattern; do
    [ -d "$variant" ] && bench "ht-$config-$(basename "$variant")" "$variant" "${args[@]}"
  done; done
done
echo "outputs in $out (pack them with scripts/gpu-pack.sh)"
