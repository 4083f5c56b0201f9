// Co-located ranks (EpGroup.CreateStream): does a new stream share a hardware work queue with another rank's stream?
// (Cuda/ColocatedStreams.cs). The waiter runs on the other rank's stream, spinning (bounded) until the flag holds
// `value`; a second kernel after it on that stream must wait for it, and while it waits nothing behind it on the same
// queue can start. The setter then goes on the new stream: on a queue of its own it sets the flag at once, on the
// shared queue it starts only after the waiter gave up, which the waiter records.
#include "ep_common.cuh"

extern "C" __global__ void ncclep_queue_probe_wait(int* flag, int value, i64 timeoutNs, int* timedOut) {
    const u64 start = globaltimer();
    while (*(volatile int*)flag != value) {
        if ((i64)(globaltimer() - start) > timeoutNs) {
            *(volatile int*)timedOut = 1;
            return;
        }
    }
}

extern "C" __global__ void ncclep_queue_probe_set(int* flag, int value) { *(volatile int*)flag = value; }
