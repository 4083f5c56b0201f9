#!/usr/bin/env bash
# Issue 19, item 2 (launches sized to the work, warp jobs): LL dispatch and combine time against the grid, in one
# device call. Before it, here (no GPU needed):
#   bash scripts/gpu-bundle.sh; DEFINE=NCCLEP_WARP_JOBS=0 bash scripts/kernel-variant.sh ll-block-jobs HEAD
#   DEFINE=LL_TEAM_WARPS=1 bash scripts/kernel-variant.sh ll-team-1 HEAD
# then on the GPU machine (carry gpu-bundle and kernel-variants), from the repository root:
#   PART=1 bash scripts/gpu-ll-sizing.sh [world]; bash scripts/gpu-pack.sh        outputs in ${OUT:-./gpu-out}
#   (then PART=2 in a second call)
# Four kernels × grids, at 1 and 128 tokens per rank (expert-major, per-slot and per-rank combine), hidden 7168, top-8
# of 256, bf16, --validate, with the link bound, numSms swept 4…132 (the most blocks a launch takes):
#   sized       the default: warp jobs, grids sized to the call's work (Cuda/LaunchSizing.cs, docs/kernels.md)
#   full        warp jobs, every launch the whole grid (NCCLEP_LL_FULL_GRID=1)
#   team-1      sized grids, warp jobs with teams of one warp instead of four (-DLL_TEAM_WARPS=1)
#   block-jobs  the kernels before warp jobs (-DNCCLEP_WARP_JOBS=0: chunks of 4 messages, a block barrier each), whole grid
# The smallest grid that keeps each phase at its best is what the sizing should pick; if "full" beats "sized" at 1
# token, LaunchSizing's two blocks per job is too few; if "block-jobs" beats "full" at 128, warp jobs lost.
# Then an uneven decode batch, sized and full: rank 0 has 128 tokens, every other rank none (--tokens-per-rank 128,0,…;
# those ranks still receive and send back rank 0's rows, and launch the whole grid, LaunchSizing.cs), per-slot combine.
set -uo pipefail
log_name=ll-sizing.log
# shellcheck source=scripts/gpu-lib.sh
source "$(dirname "$0")/gpu-lib.sh"
[ "$gpus" -ge "$world" ] || echo "warning: $gpus GPU(s) for $world ranks: ranks share GPU 0" | tee -a "$log"
common=(--backend cuda --ranks "$world" --mode ll --layout expert-major --hidden 7168 --topk 8 --experts 256 --iters 50
        --warmup 10 --steady-ops 0 --validate --sms-sweep 4,8,16,32,66,132)
bench() { # bench <name> <env...> -- <args...>: one bench run, its Markdown and JSON beside the log
  local name=$1; shift; local env=(); while [ "$1" != "--" ]; do env+=("$1"); shift; done; shift
  echo "=== $name: ${env[*]} $*" | tee -a "$log"
  env "${env[@]}" timeout -k 10 150 $run bench "${common[@]}" "$@" --markdown "$out/$name-w$world.md" --json "$out/$name-w$world.json" 2>&1 |
    tee -a "$log" | grep -E "^backend|^\| |validation:|rror"
}
kernels=(sized full)
[ -d kernel-variants/ll-team-1 ] && kernels+=(team-1) || echo "no kernel-variants/ll-team-1: teams of one warp not timed" | tee -a "$log"
[ -d kernel-variants/ll-block-jobs ] && kernels+=(block-jobs) || echo "no kernel-variants/ll-block-jobs: block jobs not timed" | tee -a "$log"
# PART=1: 1 token, PART=2: 128 tokens and the uneven batch (two calls inside the 10-minute limit); no PART: both.
case $part in 1) sizes=(1) ;; 2) sizes=(128) ;; *) sizes=(1 128) ;; esac
for tokens in "${sizes[@]}"; do
  for combine in per-slot per-rank; do
    for k in "${kernels[@]}"; do
      case $k in
        sized) env=(NCCLEP_LL_FULL_GRID=0) ;;
        full) env=(NCCLEP_LL_FULL_GRID=1) ;;
        team-1) env=(NCCLEP_LL_FULL_GRID=0 NCCLEP_KERNEL_SOURCE_DIR="$PWD/kernel-variants/ll-team-1") ;;
        block-jobs) env=(NCCLEP_LL_FULL_GRID=1 NCCLEP_KERNEL_SOURCE_DIR="$PWD/kernel-variants/ll-block-jobs") ;;
      esac
      bench "ll-sizing-$tokens-$combine-$k" "${env[@]}" -- --tokens "$tokens" --combine "$combine"
    done
  done
done
uneven=128$(printf ',0%.0s' $(seq 2 "$world"))
[ "$part" = 1 ] || for k in sized full; do
  case $k in sized) env=(NCCLEP_LL_FULL_GRID=0) ;; full) env=(NCCLEP_LL_FULL_GRID=1) ;; esac
  bench "ll-sizing-uneven-$k" "${env[@]}" -- --tokens-per-rank "$uneven" --combine per-slot
done
echo "outputs in $out (pack them with scripts/gpu-pack.sh)"
