#!/usr/bin/env bash
# Runs on the GPU machine: unpacks the self-contained programs once and runs one of them.
#   bash gpu-bundle/gpu-run.sh tests [--grid quick|ll|ht|full] [--world 2,4]
#   bash gpu-bundle/gpu-run.sh bench [bench options]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=${NCCLEP_UNPACK_DIR:-/tmp/ncclep}
mkdir -p "$root"
for archive in "$here"/*.tar.gz; do
  name=$(basename "$archive" .tar.gz)
  [ -x "$root/$name/$name" ] || tar -C "$root" -xzf "$archive"
done
# NVLink multicast stays off on shared machines (it can take a host's GPUs out of service).
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
# Load every kernel at module load: a lazily loaded kernel may wait for the context while a co-located
# peer's kernel spins waiting for it.
export CUDA_MODULE_LOADING=EAGER
export NCCLEP_CACHE_DIR=${NCCLEP_CACHE_DIR:-/tmp/ncclep-kernels}
what=$1; shift
case "$what" in
  tests) exec "$root/NcclEp.GpuTests/NcclEp.GpuTests" "$@" ;;
  bench) exec "$root/NcclEp.Bench/NcclEp.Bench" "$@" ;;
  *) echo "usage: gpu-run.sh tests|bench [args]" >&2; exit 2 ;;
esac
