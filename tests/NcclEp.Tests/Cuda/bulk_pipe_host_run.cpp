// ep_bulk.cuh's pipe run on the host against bulk_pipe_model.h (BulkPipeHostRunTests). Each trial is one sending block:
// chunks of rows (some chunks empty, rows of any multiple of 16 bytes, each row to one or several destinations, some
// null), copied with bulk_copy_to or through a batch, a chunk flag after each chunk (and at times bulk_flush), then bulk_drain. The copy engine's
// speed changes from trial to trial (loads, reads and writes landing at once, or rarely). Checks: no rule of the model
// broken; every flag released exactly once, with its value, and only once every row of its chunk and of the chunks
// before it is in place; every destination equal to its source at the end; nothing pending after the drain.
// Usage: bulk_pipe_host_run <seed> <trials>; prints "ok <trials>" or what went wrong, and exits 1 on a failure.
#include "cuda_host_shim.h"
#define NCCLEP_BULK_MODEL 1
#include "ep_common.cuh"
#include "bulk_pipe_model.h"
#include "ep_bulk.cuh"
#include <algorithm>
#include <cstdlib>

dim3 threadIdx, blockIdx, blockDim, gridDim;

namespace {
struct Row { std::vector<char*> dst; const char* src; int bytes; int chunk; };
std::vector<Row> rows;
std::vector<u64> flags;
std::vector<int> releases;
int failures;

void fail(const char* what, int chunk) {
    if (failures++ == 0) std::printf("failure: %s (chunk %d)\n", what, chunk);
}

bool in_place(const Row& r) {
    for (char* d : r.dst)
        if (d != nullptr && std::memcmp(d, r.src, r.bytes) != 0) return false;
    return true;
}

void on_release(u64* flag, u64 value) {
    const int chunk = (int)(flag - flags.data());
    releases[chunk]++;
    if ((u32)value != (u32)chunk) fail("a flag released with another chunk's value", chunk);
    for (const Row& r : rows)
        if (r.chunk <= chunk && !in_place(r)) fail("a flag released before every row it publishes was in place", chunk);
}

char* aligned(std::vector<char>& arena, size_t& used, int bytes) {
    char* at = arena.data() + used;
    used += (bytes + 15) / 16 * 16;
    return at;
}
}  // namespace

int main(int argc, char** argv) {
    const unsigned seed = (unsigned)std::atoi(argv[1]);
    const int trials = std::atoi(argv[2]);
    std::mt19937 rng(seed);
    const double speeds[] = {0.02, 0.3, 1.0};
    bulk_model_on_release = on_release;
    for (int trial = 0; trial < trials && failures == 0 && bulk_model_violations == 0; trial++) {
        bulk_model_rng.seed(seed * 7919u + trial);
        bulk_model_p_land = speeds[rng() % 3];
        bulk_model_p_read = speeds[rng() % 3];
        bulk_model_p_write = speeds[rng() % 3];
        const int chunks = 1 + (int)(rng() % 12);
        rows.clear();
        flags.assign(chunks, 0);
        releases.assign(chunks, 0);
        static std::vector<char> sources, destinations;  // new[] storage: 16-byte aligned
        sources.assign(1 << 21, 0);
        destinations.assign(1 << 24, 0);
        size_t usedSources = 0, usedDestinations = 0;
        for (int c = 0; c < chunks; c++) {
            const int count = (int)(rng() % 9);  // 0: a chunk of header-only messages
            for (int k = 0; k < count; k++) {
                Row r;
                r.bytes = 16 * (1 + (int)(rng() % (3 * BULK_STAGE_BYTES / 16 + 3)));
                r.chunk = c;
                char* src = aligned(sources, usedSources, r.bytes);
                for (int b = 0; b < r.bytes; b++) src[b] = (char)(1 + rng() % 255);
                r.src = src;
                const int fan = 1 + (int)(rng() % BULK_FANOUT);
                for (int f = 0; f < fan; f++) r.dst.push_back(rng() % 4 == 0 && fan > 1 ? nullptr : aligned(destinations, usedDestinations, r.bytes));
                rows.push_back(r);
            }
        }
        threadIdx.x = 0;
        bulk_setup();
        for (int c = 0; c < chunks; c++) {
            std::vector<const Row*> chunk;
            for (const Row& r : rows) if (r.chunk == c) chunk.push_back(&r);
            if (rng() % 2 == 0 || chunk.empty() || BULK_FANOUT * chunk.size() > BULK_BATCH) {
                for (const Row* r : chunk) bulk_copy_to(r->dst.data(), (int)r->dst.size(), r->src, r->bytes);
            } else if (chunk[0]->dst.size() == 1 && std::all_of(chunk.begin(), chunk.end(), [&](const Row* r) { return r->bytes == chunk[0]->bytes && r->dst.size() == 1; })) {
                for (size_t k = 0; k < chunk.size(); k++) bulk_batch_put((int)k, chunk[k]->dst[0], chunk[k]->src);
                bulk_batch_copy((int)chunk.size(), chunk[0]->bytes);
            } else {
                // A batch of rows with BULK_FANOUT entries each (fan-out): the rows of one size, as a kernel's are.
                const int bytes = chunk[0]->bytes;
                int n = 0;
                for (const Row* r : chunk) {
                    if (r->bytes != bytes) continue;
                    for (int f = 0; f < BULK_FANOUT; f++) bulk_batch_put(n * BULK_FANOUT + f, f < (int)r->dst.size() ? r->dst[f] : nullptr, r->src);
                    n++;
                }
                bulk_batch_copy(n, bytes, BULK_FANOUT);
                for (const Row* r : chunk) if (r->bytes != bytes) bulk_copy_to(r->dst.data(), (int)r->dst.size(), r->src, r->bytes);
            }
            bulk_release_after(&flags[c], ((u64)trial << 32) | (u32)c);
            if (rng() % 4 == 0) bulk_flush();  // as a receiving pipe does before it waits for a chunk
        }
        bulk_drain();
        for (int c = 0; c < chunks; c++)
            if (releases[c] != 1) fail("a flag not released exactly once", c);
        for (const Row& r : rows)
            if (!in_place(r)) fail("a row not in place after the drain", r.chunk);
        if (!bulk_model_loads.empty() || !bulk_model_stores.empty()) fail("copies still pending after the drain", -1);
    }
    if (failures != 0 || bulk_model_violations != 0) return 1;
    std::printf("ok %d\n", trials);
    return 0;
}
