#!/usr/bin/env bash
# A node lost in the middle of a step: the bench's --procs N with emulated nodes (as scripts/gpu-network-nodes.sh)
# and --fault-exit-rank R, so rank R kills its process just before its first dispatch. Every other rank is then in
# a dispatch whose NCCL send/recv with R cannot finish, and must fail on its own within its time-out (--timeout-ms,
# the network watchdog aborts the communicator). The parent stops ranks still running 10 s after the first failure
# and says so ("stopped rank(s)"): that line means a rank hung. Run after scripts/gpu-bundle.sh:
#   bash scripts/gpu-network-fault.sh [world, default 4] [GPUs per node, default 1] [failing rank, default 1]
set -uo pipefail
out=${OUT:-./gpu-out}; mkdir -p "$out"
world=${1:-4}; gpus=${2:-1}; victim=${3:-1}; timeout_ms=${FAULT_TIMEOUT_MS:-5000}
export NCCL_NET=Socket NCCL_IB_DISABLE=1 NCCL_SOCKET_IFNAME=lo
log="$out/network-fault-w$world-g$gpus.log"
for c in "--mode ll --tokens 128 --hidden 7168 --topk 8 --experts 256 --layout expert-major" \
         "--mode ht --tokens 512 --hidden 2048 --topk 8 --experts 64 --layout flat"; do
  echo "=== bench $c, world $world, nodes of $gpus GPU(s), rank $victim exits before its first dispatch" >> "$log"
  one=$(mktemp); start=$SECONDS
  timeout -k 10 120 bash gpu-bundle/gpu-run.sh bench --backend cuda --procs "$world" --procs-node-gpus "$gpus" $c \
    --iters 3 --warmup 1 --steady-ops 0 --timeout-ms "$timeout_ms" --fault-exit-rank "$victim" > "$one" 2>&1
  code=$?; took=$((SECONDS - start))
  cat "$one" >> "$log"; echo "exit $code after $took s" >> "$log"
  own=$(grep -c 'error: the run failed: rank .*(exit 3)' "$one"); stopped=$(grep -c 'stopped rank' "$one")
  echo "$c: exit $code after $took s; ranks that failed on their own: $own of $((world - 1)); stopped: $stopped"
  grep -m3 -oE 'rank [0-9]+ \(exit 3\): .{0,160}' "$one"
  rm -f "$one"
done
