# Sourced by the scripts/gpu-*.sh batches after they set `log_name` (their log file in the output folder): the output folder, the world size,
# the bundle runner, the device header in the log, the GPU count, and `suite`, one test-program run per call.
out=${OUT:-./gpu-out}; mkdir -p "$out"
world=${1:-2}
run="bash gpu-bundle/gpu-run.sh"
log="$out/${log_name:?set log_name before sourcing gpu-lib.sh}"
{ date -u; nvidia-smi --query-gpu=index,name,driver_version,memory.total --format=csv 2>&1; nvidia-smi topo -m 2>&1; } >> "$log"
gpus=$(nvidia-smi -L 2>/dev/null | wc -l)
part=${PART:-all}

suite() { # suite <seconds> <label> <args...>: one test-program run, its last line on the console
  echo "=== $2: ${*:3}" >> "$log"
  timeout -k 10 "$1" $run tests "${@:3}" >> "$log" 2>&1
  echo "$2: $(tail -1 "$log")"
}
