#!/usr/bin/env bash
# Issue 19's low-latency targets, measured in two device calls (PART=1, PART=2) on a machine with 2 (or more) H200s, after
# scripts/gpu-bundle.sh (carry gpu-bundle), from the repository root:
#   PART=1 bash scripts/gpu-ll-targets.sh [world]; bash scripts/gpu-pack.sh      (then the same with PART=2)
# Setting: distinct GPUs, --mode ll, hidden 7168, top-8 of 256 experts, bf16 (and the per-rank and fp8 variants); median of 50 iterations after 10 warm-ups,
# slowest rank, every operation timed with CUDA events (as ep_bench does), results checked bit for bit against the
# Host oracle (--validate). Each run prints and writes (Markdown and --json) per phase: median µs, ep_bench GB/s per
# rank, the link bound (busiest rank's remote bytes / one 1 GiB peer copy measured in the same run), % of link and the
# NCCL all-to-all baseline of the same routing (docs/benchmarks.md says what each column is).
# Targets (issue 19): 128 tokens/rank: dispatch (with whatever routing it needs: LL runs the dispatch that routes itself,
# one launch, the bench's default --routing fused; the -separate runs time update and dispatch apart) <= 12 µs,
# combine <= 15 µs; 1 token/rank: <= 8 µs each; a captured graph step (routing, dispatch, experts, combine) at 128
# tokens <= 30 µs per replay.
set -uo pipefail
out=${OUT:-./gpu-out}; mkdir -p "$out"
world=${1:-2}
log="$out/ll-targets.log"
run="bash gpu-bundle/gpu-run.sh"
common=(--backend cuda --ranks "$world" --mode ll --hidden 7168 --topk 8 --experts 256 --iters 50 --warmup 10 --validate)
{ date -u; nvidia-smi --query-gpu=index,name,driver_version,memory.total --format=csv 2>&1; nvidia-smi topo -m 2>&1; } >> "$log"
gpus=$(nvidia-smi -L 2>/dev/null | wc -l)
[ "$gpus" -ge "$world" ] || echo "warning: $gpus GPU(s) for $world ranks: ranks share GPU 0, no link bound, no baseline" | tee -a "$log"

bench() { # bench <name> <args...>: one bench run, its Markdown and JSON beside the log
  echo "=== $1: ${*:2}" | tee -a "$log"
  timeout -k 10 240 $run bench "${common[@]}" "${@:2}" --markdown "$out/$1-w$world.md" --json "$out/$1-w$world.json" 2>&1 | tee -a "$log" |
    grep -E "^backend|^\| (phase|update|dispatch|combine) |^link|^baseline|back-to-back|validation:|rror"
}
# Two device calls (together they pass the 10-minute limit): PART=1 the targets and the levers side by side, PART=2 the
# dependent launch, the graph step, the sweep and the graph suite; no PART runs both (a machine without the limit).
part=${PART:-all}
if [ "$part" != 2 ]; then
for layout in expert-major rank-major; do
  bench "ll-$layout-128" --layout "$layout" --tokens 128
  bench "ll-$layout-1" --layout "$layout" --tokens 1
done
# Routing as its own launch before the dispatch (what a decode step cost before the fused call), beside the above.
bench ll-expert-major-128-separate --layout expert-major --tokens 128 --routing separate
bench ll-expert-major-1-separate --layout expert-major --tokens 1 --routing separate
# The levers already built, side by side with the default above: per-rank combine partials (about a quarter of the
# combine rows at W=2, top-8) and FP8 dispatch (half the dispatch bytes).
bench ll-expert-major-128-per-rank --layout expert-major --tokens 128 --combine per-rank
bench ll-expert-major-1-per-rank --layout expert-major --tokens 1 --combine per-rank
bench ll-expert-major-128-fp8 --layout expert-major --tokens 128 --dtype fp8
bench ll-expert-major-128-fp8-per-rank --layout expert-major --tokens 128 --dtype fp8 --combine per-rank
fi
[ "$part" = 1 ] && { echo "outputs in $out (pack them with scripts/gpu-pack.sh)"; exit 0; }
# Programmatic dependent launch (NCCLEP_PDL=1: each kernel's launch under the previous one's tail), beside the default.
for layout in expert-major rank-major; do
  NCCLEP_PDL=1 bench "ll-$layout-128-pdl" --layout "$layout" --tokens 128
  NCCLEP_PDL=1 bench "ll-$layout-1-pdl" --layout "$layout" --tokens 1
done
# The captured graph step at the shape (target: <= 30 µs per replay at 128 tokens): each rank captures routing
# (fused), dispatch, the GPU experts and combine into one EpGraph after the timed loop and replays it 50 times after 10
# (CUDA events around each replay, ranks lined up before each), then 50 back to back; the last replay is checked bit for bit.
for layout in expert-major rank-major; do
  bench "ll-$layout-128-graph" --layout "$layout" --tokens 128 --graph-step
done
# The whole LL range with its chart (link bound dashed).
bench ll-sweep --layout expert-major --sweep ll --chart "$out/ll-sweep-w$world.svg" --no-terminal-chart

# The graph suite: capture/replay at its own small shapes, every replay against the Host oracle (the 128-token target
# is the --graph-step runs above).
echo "=== graph suite" | tee -a "$log"
timeout -k 10 180 $run tests --suite graph --replays 300 2>&1 | tee -a "$log" | grep -E "^\||passed|rror"
echo "outputs in $out (pack them with scripts/gpu-pack.sh)"
