#!/usr/bin/env bash
# The network path on one GPU machine: NCCL sees no peer-to-peer or shared-memory path (its traffic goes over
# loopback sockets) and NcclEp treats every other rank as a network peer, so dispatch/combine run through
# ncclSend/ncclRecv of the staging slices. Run after scripts/gpu-bundle.sh, from the repository root:
#   bash scripts/gpu-network.sh [world]        (results and logs in ${OUT:-./gpu-out})
#   NET_NODE_SIZE=2 bash scripts/gpu-network.sh 4
#       emulated nodes instead (NCCLEP_NODE_SIZE): runs of 2 ranks keep their NVLink windows, the other ranks are
#       network peers whose NCCL send/recv still travels over NVLink: the mixed routes of a real multi-node job.
# The NCCLEP_* topology variables set here are read by the GPU test program and the bench, which turn them into group
# options (tests/NcclEp.Testing/Topology/TopologyEnvironment.cs); the library itself reads none of them.
set -uo pipefail
out=${OUT:-./gpu-out}; mkdir -p "$out"
world=${1:-2}
run="bash gpu-bundle/gpu-run.sh"
# NET_HIER=1: hierarchical HT dispatch (NCCLEP_HIERARCHICAL=1): a token crosses to another node once, to its rail
# peer, which forwards it over NVLink. With NET_NODE_SIZE=1 on 2 GPUs the rail peer is the destination itself.
if [ "${NET_HIER:-0}" = 1 ]; then export NCCLEP_HIERARCHICAL=1; fi
if [ -n "${NET_NODE_SIZE:-}" ]; then
  export NCCLEP_NODE_SIZE=$NET_NODE_SIZE; how="nodes of $NET_NODE_SIZE"; tag="-nodes$NET_NODE_SIZE"
else
  export NCCL_P2P_DISABLE=1 NCCL_SHM_DISABLE=1 NCCL_NET=Socket NCCL_IB_DISABLE=1 NCCL_SOCKET_IFNAME=lo NCCLEP_FORCE_NETWORK=1
  how="forced network"; tag=""
fi
[ "${NET_HIER:-0}" = 1 ] && { how="$how, hierarchical dispatch"; tag="$tag-hier"; }
log="$out/network-tests$tag.log"; bench="$out/network-bench$tag.log"
echo "=== grid quick, world $world, $how" >> "$log"
timeout -k 10 ${NET_GRID_TIMEOUT:-100} $run tests --suite grid --grid quick --world "$world" --budget-seconds ${NET_GRID_BUDGET:-70} --log "$out/network-grid-cases$tag.log" >> "$log" 2>&1
echo "network tests: $(tail -1 "$log")"
# NET_BENCH=ll skips the HT bench (it moves worst-case slices over sockets: tens of ms per operation).
modes=("--mode ll --tokens 128"); [ "${NET_BENCH:-all}" = ll ] || modes+=("--mode ht --tokens 4096 --layout flat --iters 10")
[ "${NET_BENCH:-all}" = none ] && modes=()
for mode in "${modes[@]}"; do
  echo "=== bench $mode, world $world, $how" >> "$bench"
  timeout -k 10 90 $run bench --backend cuda --ranks "$world" $mode --hidden 7168 --topk 8 --experts 256 --validate 2>&1 | tee -a "$bench" | grep -E "^backend|back-to-back|^\| (update|dispatch|combine)|validation:|rror"
done
# CUDA Graph capture of the three steps (send half, NCCL group, receive half); NET_GRAPH=0 skips it.
if [ "${NET_GRAPH:-1}" = 1 ]; then
  echo "=== graph suite, $how" >> "$log"
  # Sockets take milliseconds per step: fewer replays than on NVLink keep it inside the budget.
  timeout -k 10 ${NET_GRAPH_TIMEOUT:-150} $run tests --suite graph --replays ${NET_GRAPH_REPLAYS:-100} >> "$log" 2>&1
  echo "network graph suite: $(tail -1 "$log")"
fi
# A silent network peer: the watchdog aborts the waiting rank's communicator (EpGroupAbortedException, no hang).
echo "=== network-faults suite, $how" >> "$log"
timeout -k 10 90 $run tests --suite network-faults >> "$log" 2>&1
echo "network faults: $(tail -1 "$log")"
