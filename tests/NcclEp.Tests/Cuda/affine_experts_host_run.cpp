// Runs the test experts' kernel (affine_experts.cu) on the host, every (block, thread) in turn, for
// ExpertsKernelRunTests. Usage: run DIR rows blockRows inStride0 inStride1 outStride0 outStride1 idsStride
// weightsStride maxTokens world localExperts rank backward grid threads. DIR holds in.bin (the dispatch output), out.bin
// (the expert output as it was; rewritten), total.bin, rankCounts.bin, expertCounts.bin, expertOffsets.bin, ids.bin and
// weights.bin (the handle's state), raw little-endian.
#include "cuda_host_run.h"
#include "affine_experts.cu"
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

template <typename T> static std::vector<T> load(const std::string& path) {
    std::vector<T> data;
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) { std::perror(path.c_str()); std::exit(2); }
    std::fseek(f, 0, SEEK_END);
    long bytes = std::ftell(f);
    std::fseek(f, 0, SEEK_SET);
    data.resize(bytes / sizeof(T) + 1);
    if (std::fread(data.data(), 1, bytes, f) != (size_t)bytes) { std::perror(path.c_str()); std::exit(2); }
    std::fclose(f);
    return data;
}

int main(int argc, char** argv) {
    if (argc != 17) { std::fprintf(stderr, "expected 16 arguments, got %d\n", argc - 1); return 2; }
    const std::string dir = argv[1];
    i64 v[15];
    for (int i = 0; i < 15; i++) v[i] = std::atoll(argv[2 + i]);
    std::vector<elem_t> in = load<elem_t>(dir + "/in.bin"), out = load<elem_t>(dir + "/out.bin");
    std::vector<int> total = load<int>(dir + "/total.bin"), rankCounts = load<int>(dir + "/rankCounts.bin");
    std::vector<int> expertCounts = load<int>(dir + "/expertCounts.bin"), offsets = load<int>(dir + "/expertOffsets.bin");
    std::vector<int> ids = load<int>(dir + "/ids.bin");
    std::vector<float> weights = load<float>(dir + "/weights.bin");
    gridDim.x = (unsigned)v[13];
    blockDim.x = (unsigned)v[14];
    for (unsigned b = 0; b < gridDim.x; b++) {
        for (unsigned t = 0; t < blockDim.x; t++) {
            blockIdx.x = b;
            threadIdx.x = t;
            affine_experts(in.data(), out.data(), v[2], v[3], v[4], v[5], v[1], total.data(), rankCounts.data(),
                           expertCounts.data(), offsets.data(), ids.data(), v[6], weights.data(), v[7], v[0], (int)v[8],
                           (int)v[9], (int)v[10], (int)v[11], (int)v[12]);
        }
    }
    FILE* f = std::fopen((dir + "/out.bin").c_str(), "wb");
    std::fwrite(out.data(), sizeof(elem_t), out.size() - 1, f);
    std::fclose(f);
    return 0;
}
