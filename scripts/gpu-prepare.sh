#!/usr/bin/env bash
# Everything a GPU session's batches carry, made here (no GPU needed), in one command: the self-contained bundle
# (scripts/gpu-bundle.sh: test program, bench, the block-timeline kernels) and the kernel variants the scripts time
# beside the shipped kernels (kernel-variants/, git-ignored; scripts/kernel-variant.sh):
#   ll-block-jobs        -DNCCLEP_WARP_JOBS=0        low latency's block jobs            scripts/gpu-ll-sizing.sh
#   ll-team-1            -DLL_TEAM_WARPS=1           warp jobs, teams of one warp        scripts/gpu-ll-sizing.sh
#   split-D-C            DISPATCH/COMBINE_SENDERS_PER_8 = D/C of 8 blocks send          scripts/gpu-ht-few-sms.sh
#   unroll-8             -DCOPY_UNROLL=8             8 loads in flight per lane          scripts/gpu-ht-few-sms.sh
#   bulk-S               -DNCCLEP_HT_BULK=S          HT rows by cp.async.bulk (ep_bulk.cuh), sides S: 1 dispatch
#                                                    send, 2 dispatch receive, 4 combine send   scripts/gpu-ht-few-sms.sh
#   bulk-7-8x16k         ... with 8 stages of 16 KiB, 128 KiB in flight (default 8 of 4 KiB)  scripts/gpu-ht-few-sms.sh
#   bulk-7-split-6-4     ... with 6 (dispatch) and 4 (combine) of 8 blocks sending             scripts/gpu-ht-few-sms.sh
# Then carry "gpu-bundle" and "kernel-variants" in the device calls (CONTRIBUTING.md, "GPU work").
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/gpu-bundle.sh
rm -rf kernel-variants
DEFINE=NCCLEP_WARP_JOBS=0 bash scripts/kernel-variant.sh ll-block-jobs worktree >/dev/null
DEFINE=LL_TEAM_WARPS=1 bash scripts/kernel-variant.sh ll-team-1 worktree >/dev/null
for d in 4 6; do
  for c in 2 4; do
    DEFINE="DISPATCH_SENDERS_PER_8=$d COMBINE_SENDERS_PER_8=$c" bash scripts/kernel-variant.sh "split-$d-$c" worktree >/dev/null
  done
done
DEFINE=COPY_UNROLL=8 bash scripts/kernel-variant.sh unroll-8 worktree >/dev/null
for sides in 1 2 5 7; do DEFINE=NCCLEP_HT_BULK=$sides bash scripts/kernel-variant.sh "bulk-$sides" worktree >/dev/null; done
DEFINE="NCCLEP_HT_BULK=7 BULK_STAGES=8 BULK_STAGE_BYTES=16384" bash scripts/kernel-variant.sh bulk-7-8x16k worktree >/dev/null
DEFINE="NCCLEP_HT_BULK=7 DISPATCH_SENDERS_PER_8=6 COMBINE_SENDERS_PER_8=4" bash scripts/kernel-variant.sh bulk-7-split-6-4 worktree >/dev/null
du -sh gpu-bundle kernel-variants
