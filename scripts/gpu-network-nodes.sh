#!/usr/bin/env bash
# Several nodes on one machine: the bench's --procs N with emulated nodes of G ranks (--procs-node-gpus G; G=1 is
# --procs-one-gpu). Rank r runs on GPU r % G with NCCL_HOSTID=ncclep-node-(r / G), so NCCL reaches the ranks of
# another node through its socket transport on loopback and those of its own node through its own transports
# (P2P over NVLink; with symmetric memory, NcclEp's LSA path). With G=1 the processes' kernels take turns on GPU 0,
# so only validation counts there (counts, every received row bit for bit with its source info and order,
# combine = x * sum of weights); the back-to-back runs are left out (--steady-ops 0): they only cost time.
# Run after scripts/gpu-bundle.sh, from the repository root (logs in ${OUT:-./gpu-out}):
#   bash scripts/gpu-network-nodes.sh [world, default 4] [GPUs per node, default 1]
# NET_FORCE=1 also sets NCCLEP_FORCE_NETWORK=1: every peer a network peer by fiat. NET_HIER=1 sets
# NCCLEP_HIERARCHICAL=1 and runs the HT cases only (with G=1 the rail peer is the destination itself; with G>=2 the
# rail peer forwards to its node's other ranks, which needs NCCL symmetric memory across nodes: NCCL >= 2.28.7).
# NET_MORE=1 adds an fp32 LL case and an HT expert-major case with rows padded to 8 per expert.
# NET_NCCL=PATH (or auto: the first libnccl.so.2 of a Python environment) loads that NCCL (NCCLEP_NCCL_PATH).
# NCCLEP_FORCE_NETWORK and NCCLEP_HIERARCHICAL are read by the bench (TopologyEnvironment.cs), not by the library.
set -uo pipefail
out=${OUT:-./gpu-out}; mkdir -p "$out"
world=${1:-4}; gpus=${2:-1}
export NCCL_NET=Socket NCCL_IB_DISABLE=1 NCCL_SOCKET_IFNAME=lo
tag=""; [ "${NET_FORCE:-0}" = 1 ] && { export NCCLEP_FORCE_NETWORK=1; tag="-forced"; }
if [ -n "${NET_NCCL:-}" ]; then
  nccl=$NET_NCCL
  [ "$nccl" = auto ] && nccl=$(find / -path '*/nvidia/nccl/lib/libnccl.so.2' 2>/dev/null | head -1)
  [ -f "$nccl" ] || { echo "NET_NCCL: no libnccl.so.2 found ($NET_NCCL)"; exit 1; }
  export NCCLEP_NCCL_PATH=$nccl; tag="$tag-nccl"; echo "NCCL: $nccl"
fi
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
log="$out/network-nodes-w$world-g$gpus$tag.log"
for c in "${cases[@]}"; do
  echo "=== bench $c, world $world, emulated nodes of $gpus GPU(s)" >> "$log"
  one=$(mktemp)
  timeout -k 10 ${NET_CASE_TIMEOUT:-150} bash gpu-bundle/gpu-run.sh bench --backend cuda --procs "$world" --procs-node-gpus "$gpus" $c \
    --iters 3 --warmup 1 --steady-ops 0 --validate --timeout-ms 30000 > "$one" 2>&1
  code=$?
  cat "$one" >> "$log"
  echo "$c: exit $code $(grep -E '^validation' "$one" | tail -1) $(grep -m1 -o 'through NCCL [0-9.]*: .*' "$one" | cut -c1-200)"
  rm -f "$one"
done
