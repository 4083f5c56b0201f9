// The bench's stand-in for the caller's own work between a send and its complete (--overlap-work-us, OverlapProbe.cs):
// every block spins on %globaltimer for `ns` nanoseconds and holds its SM meanwhile, as another micro-batch's attention
// would. One block per SM; nothing is read or written but one word, so the kernel's time is the only thing it adds.

typedef unsigned long long u64;

__device__ __forceinline__ u64 busy_clock() {
    u64 t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    return t;
}

extern "C" __global__ void bench_busy_work(u64 ns, unsigned int* done) {
    const u64 start = busy_clock();
    while (busy_clock() - start < ns) {
    }
    if (blockIdx.x == 0 && threadIdx.x == 0) *done = 1u;
}
