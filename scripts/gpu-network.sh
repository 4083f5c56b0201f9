#!/usr/bin/env bash
# The network path on one GPU machine: NCCL sees no peer-to-peer or shared-memory path (its traffic goes over
# loopback sockets) and NcclEp treats every other rank as a network peer, so dispatch/combine run through
# ncclSend/ncclRecv of the staging slices. Run after scripts/gpu-bundle.sh, from the repository root:
#   bash scripts/gpu-network.sh [world]        (results and logs in ${OUT:-./gpu-out})
set -uo pipefail
out=${OUT:-./gpu-out}; mkdir -p "$out"
world=${1:-2}
run="bash gpu-bundle/gpu-run.sh"
export NCCL_P2P_DISABLE=1 NCCL_SHM_DISABLE=1 NCCL_NET=Socket NCCL_IB_DISABLE=1 NCCL_SOCKET_IFNAME=lo NCCLEP_FORCE_NETWORK=1
log="$out/network-tests.log"; bench="$out/network-bench.log"
echo "=== grid quick, world $world, forced network" >> "$log"
timeout -k 10 ${NET_GRID_TIMEOUT:-100} $run tests --suite grid --grid quick --world "$world" --budget-seconds ${NET_GRID_BUDGET:-70} --log "$out/network-grid-cases.log" >> "$log" 2>&1
echo "network tests: $(tail -1 "$log")"
# NET_BENCH=ll skips the HT bench (it moves worst-case slices over sockets: tens of ms per operation).
modes=("--mode ll --tokens 128"); [ "${NET_BENCH:-all}" = ll ] || modes+=("--mode ht --tokens 4096 --layout flat --iters 10")
[ "${NET_BENCH:-all}" = none ] && modes=()
for mode in "${modes[@]}"; do
  echo "=== bench $mode, world $world, forced network" >> "$bench"
  timeout -k 10 90 $run bench --backend cuda --ranks "$world" $mode --hidden 7168 --topk 8 --experts 256 --validate 2>&1 | tee -a "$bench" | grep -E "^backend|back-to-back|^\| (update|dispatch|combine)|validation:|rror"
done
# CUDA Graph capture of the three steps (send half, NCCL group, receive half); NET_GRAPH=0 skips it.
if [ "${NET_GRAPH:-1}" = 1 ]; then
  echo "=== graph suite, forced network" >> "$log"
  # Sockets take milliseconds per step: fewer replays than on NVLink keep it inside the budget.
  timeout -k 10 ${NET_GRAPH_TIMEOUT:-150} $run tests --suite graph --replays ${NET_GRAPH_REPLAYS:-100} >> "$log" 2>&1
  echo "network graph suite: $(tail -1 "$log")"
fi
# A silent network peer: the watchdog aborts the waiting rank's communicator (EpGroupAbortedException, no hang).
echo "=== network-faults suite, forced network" >> "$log"
timeout -k 10 90 $run tests --suite network-faults >> "$log" 2>&1
echo "network faults: $(tail -1 "$log")"
