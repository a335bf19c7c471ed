// Builds an HNSW graph with GraphBuilder over one of the shared datasets and
// reports build time and recall@10 of an in-memory search (search_layer over
// the builder's lists, exact float distances). Compare with
// bench/hnsw/hnswlib_build.py on the same data.
//
//   build/hnsw_build_driver /work/shared/data/glove-100-angular cosine
//       [--threads 1] [--m 16] [--efc 64] [--storage exact|half|int8] [--rows N]
//       [--ef 10,20,40,80,160]
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "vecdb/core/distance.h"
#include "vecdb/core/hnsw.h"

using namespace vecdb::core::hnsw;
using Clock = std::chrono::steady_clock;

namespace {

template <class T>
std::vector<T> read_xz(const std::string& path) {
    std::vector<T> out;
    FILE* p = popen(("xz -dc '" + path + "'").c_str(), "r");
    if (!p) return out;
    std::vector<char> buf(1 << 20);
    std::vector<char> bytes;
    std::size_t got;
    while ((got = std::fread(buf.data(), 1, buf.size(), p)) > 0) bytes.insert(bytes.end(), buf.data(), buf.data() + got);
    pclose(p);
    out.resize(bytes.size() / sizeof(T));
    std::memcpy(out.data(), bytes.data(), out.size() * sizeof(T));
    return out;
}

double secs(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

struct Search {
    const GraphBuilder& g;
    const float* base;
    std::size_t dim;
    DistFn fn;
    const float* q = nullptr;
    VisitedSet visited;
    std::vector<Candidate> res, frontier;

    template <class Emit>
    void expand(NodeId node, int level, VisitedSet& v, Emit&& emit) {
        int n;
        const NodeId* ids = g.neighbors(node, level, &n);
        for (int i = 0; i < n; ++i) {
            if (i + 1 < n) __builtin_prefetch(base + std::size_t(ids[i + 1]) * dim);
            if (!v.test_and_set(ids[i])) emit(Candidate{fn(q, base + std::size_t(ids[i]) * dim, dim), ids[i]});
        }
    }
    void run(const float* query, std::size_t ef) {
        q = query;
        Candidate cur{fn(q, base + std::size_t(g.entry_point()) * dim, dim), g.entry_point()};
        for (int l = g.max_level(); l > 0; --l) {
            visited.reset(g.size());
            visited.test_and_set(cur.id);
            search_layer(*this, &cur, 1, l, 1, visited, res, nullptr, frontier);
            cur = res.front();
        }
        visited.reset(g.size());
        visited.test_and_set(cur.id);
        search_layer(*this, &cur, 1, 0, ef, visited, res, nullptr, frontier);
    }
};

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s DATASET_DIR l2|cosine|ip [--threads N] [--m M] [--efc EF] "
                             "[--storage exact|half|int8] [--rows N] [--ef a,b,c]\n", argv[0]);
        return 2;
    }
    const std::string dir = argv[1], metric_name = argv[2];
    int threads = 1;
    BuildParams params;
    BuildStorage storage = BuildStorage::Exact;
    std::size_t rows = 0;
    std::vector<std::size_t> efs = {10, 20, 40, 80, 160};
    for (int i = 3; i + 1 < argc; i += 2) {
        const std::string k = argv[i], v = argv[i + 1];
        if (k == "--threads") threads = std::atoi(v.c_str());
        else if (k == "--m") params.m = std::atoi(v.c_str());
        else if (k == "--efc") params.ef_construction = std::atoi(v.c_str());
        else if (k == "--rows") rows = std::strtoull(v.c_str(), nullptr, 10);
        else if (k == "--storage") storage = v == "half" ? BuildStorage::Half : v == "int8" ? BuildStorage::Int8 : BuildStorage::Exact;
        else if (k == "--ef") {
            efs.clear();
            for (const char* p = v.c_str(); *p;) {
                char* end;
                efs.push_back(std::strtoull(p, &end, 10));
                p = *end ? end + 1 : end;
            }
        }
    }
    const Metric metric = metric_name == "l2" ? Metric::L2 : metric_name == "ip" ? Metric::InnerProduct : Metric::Cosine;

    const std::vector<float> base_all = read_xz<float>(dir + "/base.f32.xz");
    std::vector<float> query = read_xz<float>(dir + "/query.f32.xz");
    const std::vector<int> gt = read_xz<int>(dir + "/gt.i32.xz");
    // dim from meta.json
    std::size_t dim = 0;
    if (FILE* f = std::fopen((dir + "/meta.json").c_str(), "r")) {
        char buf[4096];
        const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
        buf[n] = 0;
        std::fclose(f);
        if (const char* d = std::strstr(buf, "\"d\"")) dim = std::strtoull(std::strchr(d, ':') + 1, nullptr, 10);
    }
    if (dim == 0 || base_all.empty()) {
        std::fprintf(stderr, "cannot read %s\n", dir.c_str());
        return 1;
    }
    std::size_t n = base_all.size() / dim;
    const bool full = rows == 0 || rows >= n;
    if (!full) n = rows;
    std::vector<float> base(base_all.begin(), base_all.begin() + long(n * dim));
    const std::size_t nq = query.size() / dim;
    if (metric == Metric::Cosine) {
        for (std::size_t i = 0; i < n; ++i) normalize(ElemType::F32, base.data() + i * dim, std::uint32_t(dim));
        for (std::size_t i = 0; i < nq; ++i) normalize(ElemType::F32, query.data() + i * dim, std::uint32_t(dim));
    }

    Space space{metric, ElemType::F32, std::uint32_t(dim)};
    std::printf("simd path %s, n=%zu dim=%zu m=%d efc=%d threads=%d storage=%d\n",
                vecdb::core::simd_path_name(vecdb::core::kernels().path), n, dim, params.m,
                params.ef_construction, threads, int(storage));
    const auto t0 = Clock::now();
    GraphBuilder g(space, params, storage, n);
    for (std::size_t i = 0; i < n; ++i) g.add(base.data() + i * dim);
    const auto t1 = Clock::now();
    const std::clock_t c1 = std::clock();  // CPU time of all threads: robust on a loaded machine
    g.build(threads, nullptr, nullptr);
    const std::clock_t c2 = std::clock();
    const auto t2 = Clock::now();
    std::printf("add %.2f s, build %.2f s (CPU %.2f s), memory %.1f MB (estimate %.1f MB), max level %d\n", secs(t0, t1),
                secs(t1, t2), double(c2 - c1) / CLOCKS_PER_SEC, g.memory_bytes() / 1e6,
                GraphBuilder::estimate_bytes(space, params, storage, n, threads) / 1e6, g.max_level());
    std::size_t links = 0;
    for (NodeId id = 0; id < n; ++id) {
        int c;
        g.neighbors(id, 0, &c);
        links += std::size_t(c);
    }
    std::printf("mean level-0 degree %.2f\n", double(links) / double(n));

    if (!full) return 0;  // ground truth is for the full set
    Search s{g, base.data(), dim, resolve_distance(metric, ElemType::F32), nullptr, {}, {}, {}};
    const std::size_t k = 10;
    for (std::size_t ef : efs) {
        std::size_t hits = 0;
        const auto a = Clock::now();
        for (std::size_t q = 0; q < nq; ++q) {
            s.run(query.data() + q * dim, std::max(ef, k));
            for (std::size_t i = 0; i < k && i < s.res.size(); ++i)
                for (std::size_t j = 0; j < k; ++j)
                    if (gt[q * 100 + j] == int(s.res[i].id)) {
                        ++hits;
                        break;
                    }
        }
        const auto b = Clock::now();
        std::printf("ef %4zu  recall@10 %.4f  %.0f QPS (1 thread)\n", ef, double(hits) / double(nq * k),
                    double(nq) / secs(a, b));
    }
    return 0;
}
