#!/usr/bin/env bash
# Performance batch on a GPU machine (after scripts/gpu-bundle.sh, from the repository root):
#   bash scripts/gpu-perf.sh [world]              Markdown results and the full log in ${OUT:-./gpu-out}
#   VARIANTS="a b" bash scripts/gpu-perf.sh 2     also runs each bench with kernel-variants/<name> (made by
#                                                 scripts/kernel-variant.sh; carry "kernel-variants"), right after
#                                                 the bundled kernels, so the figures compare side by side.
#   BASELINES="before" bash scripts/gpu-perf.sh 2 first runs each bench with gpu-baselines/<name> (made by
#                                                 scripts/baseline-bundle.sh; carry "gpu-baselines"): another
#                                                 ref's whole bench, for changes outside the kernel files.
#   BENCHES="ll-128 ht-flat-4096" ...             only those benches (default: all below).
# Every run validates against the Host oracle and, on distinct GPUs, measures in the same run the link (one 1 GiB peer
# copy: link bound and % of link per phase) and, for HT, the peer-copy ceiling. LL targets: scripts/gpu-ll-targets.sh.
set -uo pipefail
out=${OUT:-./gpu-out}; mkdir -p "$out"
world=${1:-2}
run="bash gpu-bundle/gpu-run.sh"
log="$out/bench.log"
common="--backend cuda --ranks $world --hidden 7168 --topk 8 --experts 256 --validate"
b() { # b <name> <args...>: every baseline, the bundled kernels, then every variant
  case " ${BENCHES:-$1} " in *" $1 "*) ;; *) return ;; esac
  local runs=(); for base in ${BASELINES:-}; do runs+=("baseline:$base"); done
  runs+=(bundled); for variant in ${VARIANTS:-}; do runs+=("variant:$variant"); done
  for what in "${runs[@]}"; do
    local dir="" tag="" bench="$run" unpack=${NCCLEP_UNPACK_DIR:-/tmp/ncclep}
    case "$what" in
      variant:*) dir="kernel-variants/${what#variant:}"; tag="-${what#variant:}" ;;
      baseline:*) bench="bash gpu-baselines/${what#baseline:}/gpu-run.sh"; tag="-${what#baseline:}"
                  unpack="/tmp/ncclep-baseline-${what#baseline:}" ;;
    esac
    echo "=== $1 [$what]: ${*:2}" | tee -a "$log"
    NCCLEP_UNPACK_DIR=$unpack NCCLEP_KERNEL_SOURCE_DIR=$dir timeout -k 10 90 $bench bench $common "${@:2}" \
      --markdown "$out/$1$tag-w$world.md" 2>&1 | tee -a "$log" | grep -E "^backend|back-to-back|^\| (dispatch|combine)|validation:|rror"
  done
}
b ll-128 --mode ll --tokens 128
b ll-1 --mode ll --tokens 1
b ht-flat-4096 --mode ht --tokens 4096 --layout flat
b ht-em-4096 --mode ht --tokens 4096 --layout expert-major --align 128
# The same flat run with the experts step on the host (the GPUs idle for milliseconds before each timed combine).
b ht-flat-4096-host-experts --mode ht --tokens 4096 --layout flat --host-experts --iters 20
b ht-sms-sweep --mode ht --tokens 4096 --layout flat --iters 10 --warmup 3 --sms-sweep default
