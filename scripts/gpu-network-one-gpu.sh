#!/usr/bin/env bash
# The network path at more ranks than GPUs: the bench's --procs N --procs-one-gpu runs N processes on GPU 0, each with
# its own NCCL_HOSTID, so NCCL sees N nodes and every peer goes through its socket transport on loopback (NcclEp's
# staging slices and ncclSend/ncclRecv). The processes' kernels take turns on the GPU, so only validation counts
# (counts, every received row bit for bit with its source info and order, combine = x * sum of weights); times don't.
# The back-to-back runs are left out (--steady-ops 0): with N processes taking turns they only cost time.
# Run after scripts/gpu-bundle.sh, from the repository root (logs in ${OUT:-./gpu-out}):
#   bash scripts/gpu-network-one-gpu.sh [world, default 4]
# NET_FORCE=1 also sets NCCLEP_FORCE_NETWORK=1: no window registration with NCCL, every peer a network peer by fiat
# (by default NCCL's LSA team, one rank per "node" here, decides the same). NET_HIER=1 sets NCCLEP_HIERARCHICAL=1 and
# runs the HT cases only (a node is one rank here, so the rail peer is the destination itself).
# NET_MORE=1 adds an fp32 LL case and an HT expert-major case with rows padded to 8 per expert.
set -uo pipefail
out=${OUT:-./gpu-out}; mkdir -p "$out"
world=${1:-4}
export NCCL_NET=Socket NCCL_IB_DISABLE=1 NCCL_SOCKET_IFNAME=lo
tag=""; [ "${NET_FORCE:-0}" = 1 ] && { export NCCLEP_FORCE_NETWORK=1; tag="-forced"; }
cases=()
if [ "${NET_HIER:-0}" = 1 ]; then
  export NCCLEP_HIERARCHICAL=1; tag="$tag-hier"
else
  cases+=("--mode ll --tokens 128 --hidden 7168 --topk 8 --experts 256 --layout expert-major"
          "--mode ll --tokens 64 --hidden 2048 --topk 4 --experts 64 --layout rank-major")
fi
cases+=("--mode ht --tokens 512 --hidden 2048 --topk 8 --experts 64 --layout flat"
        "--mode ht --tokens 512 --hidden 2048 --topk 8 --experts 64 --layout expert-major")
if [ "${NET_MORE:-0}" = 1 ]; then
  [ "${NET_HIER:-0}" = 1 ] || cases+=("--mode ll --tokens 32 --hidden 1024 --topk 6 --experts 96 --layout expert-major --dtype fp32")
  cases+=("--mode ht --tokens 1024 --hidden 4096 --topk 8 --experts 128 --layout expert-major --align 8")
fi
log="$out/network-one-gpu-w$world$tag.log"
for c in "${cases[@]}"; do
  echo "=== bench $c, world $world, one GPU, a node per process" >> "$log"
  timeout -k 10 ${NET_CASE_TIMEOUT:-150} bash gpu-bundle/gpu-run.sh bench --backend cuda --procs "$world" --procs-one-gpu $c \
    --iters 3 --warmup 1 --steady-ops 0 --validate --timeout-ms 30000 >> "$log" 2>&1
  echo "$c: exit $? $(grep -E 'validation' "$log" | tail -1)"
done
