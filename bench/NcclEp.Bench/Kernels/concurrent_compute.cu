// The bench's compute-bound stand-in for the caller's GEMMs (--concurrent-compute, ConcurrentComputeProbe.cs): launched
// on a second stream right before a dispatch or combine, one block per SM that NcclEp leaves free. Every thread runs
// CHAINS independent fp32 FMA chains `iterations` long (x = x * scale + step); nothing is read from memory, so its time
// is the SMs' FMA throughput. With scale = 1 and step = 2^-10 every value stays exact (iterations <= 2^20), so each
// block's sum is known on the host: a kernel that skipped work could not report a throughput it did not deliver.

typedef unsigned long long u64;

#define CHAINS 8
#define THREADS 512

extern "C" __global__ void __launch_bounds__(THREADS) bench_concurrent_compute(unsigned int iterations, float scale, float step, u64* block_units) {
    float acc[CHAINS];
#pragma unroll
    for (int j = 0; j < CHAINS; j++) acc[j] = (float)j;
    for (unsigned int i = 0; i < iterations; i++) {
#pragma unroll
        for (int j = 0; j < CHAINS; j++) acc[j] = fmaf(acc[j], scale, step);
    }
    float sum = 0.0f;
#pragma unroll
    for (int j = 0; j < CHAINS; j++) sum += acc[j];

    // The thread's sum in units of `step` (an integer), added up over the block in shared memory.
    __shared__ u64 partial[THREADS];
    partial[threadIdx.x] = (u64)((double)sum / (double)step);
    __syncthreads();
    for (unsigned int half = THREADS / 2; half > 0; half >>= 1) {
        if (threadIdx.x < half) partial[threadIdx.x] += partial[threadIdx.x + half];
        __syncthreads();
    }
    if (threadIdx.x == 0) block_units[blockIdx.x] = partial[0];
}
