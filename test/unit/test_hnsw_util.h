// Shared helpers for the HNSW unit tests: dataset loading, an in-memory
// search over a GraphBuilder's graph, recall.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "vecdb/core/hnsw.h"

namespace hnsw_test {

using namespace vecdb::core::hnsw;

// Reads up to max_values floats (or int32s) from an xz file; empty if absent.
template <class T>
std::vector<T> read_xz(const std::string& path, std::size_t max_values) {
    std::vector<T> out;
    if (FILE* f = std::fopen(path.c_str(), "rb")) {
        std::fclose(f);
    } else {
        return out;
    }
    const std::string cmd = "xz -dc '" + path + "'";
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return out;
    out.resize(max_values);
    const std::size_t got = std::fread(out.data(), sizeof(T), max_values, p);
    out.resize(got);
    // Stop reading early: xz gets SIGPIPE, which is fine.
    pclose(p);
    return out;
}

// VECDB_DATA_DIR (compile time, ../shared/data next to the checkout); the
// environment variable of the same name overrides it (git worktrees).
inline std::string data_dir() {
    const char* env = std::getenv("VECDB_DATA_DIR");
    return env && *env ? std::string(env) : std::string(VECDB_DATA_DIR);
}

inline std::string data_path(const std::string& set, const std::string& file) {
    return data_dir() + "/" + set + "/" + file;
}

struct Dataset {
    std::size_t n = 0, nq = 0, dim = 0;
    std::vector<float> base, query;
    std::vector<int> gt;  // nq x 100, or empty
};

// First `max_rows` base rows; ground truth only when all rows are read.
inline Dataset load(const std::string& set, std::size_t dim, std::size_t rows, std::size_t nq,
                    bool with_gt) {
    Dataset d;
    d.dim = dim;
    d.base = read_xz<float>(data_path(set, "base.f32.xz"), rows * dim);
    d.query = read_xz<float>(data_path(set, "query.f32.xz"), nq * dim);
    d.n = d.base.size() / dim;
    d.nq = d.query.size() / dim;
    if (with_gt) d.gt = read_xz<int>(data_path(set, "gt.i32.xz"), nq * 100);
    return d;
}

inline void normalize_rows(std::vector<float>& v, std::size_t dim) {
    for (std::size_t r = 0; r < v.size() / dim; ++r) normalize(ElemType::F32, v.data() + r * dim, std::uint32_t(dim));
}

// Exact k nearest by brute force (graph distance order).
inline std::vector<int> brute_force(const Dataset& d, Metric m, std::size_t k) {
    DistFn fn = resolve_distance(m, ElemType::F32);
    std::vector<int> gt(d.nq * k);
    std::vector<Candidate> all(d.n);
    for (std::size_t q = 0; q < d.nq; ++q) {
        for (std::size_t i = 0; i < d.n; ++i)
            all[i] = Candidate{fn(d.query.data() + q * d.dim, d.base.data() + i * d.dim, d.dim), NodeId(i)};
        std::partial_sort(all.begin(), all.begin() + long(k), all.end(),
                          [](const Candidate& a, const Candidate& b) { return a.dist < b.dist; });
        for (std::size_t j = 0; j < k; ++j) gt[q * k + j] = int(all[j].id);
    }
    return gt;
}

// Search over the builder's graph with exact float vectors.
class MemorySearch {
public:
    MemorySearch(const GraphBuilder& g, const float* base, std::size_t dim, Metric m)
        : g_(g), base_(base), dim_(dim), fn_(resolve_distance(m, ElemType::F32)) {}

    template <class Emit>
    void expand(NodeId node, int level, VisitedSet& v, Emit&& emit) {
        int n;
        const NodeId* ids = g_.neighbors(node, level, &n);
        for (int i = 0; i < n; ++i)
            if (!v.test_and_set(ids[i])) emit(Candidate{dist(ids[i]), ids[i]});
    }

    std::vector<Candidate> search(const float* q, std::size_t k, std::size_t ef) {
        query_ = q;
        const NodeId ep = g_.entry_point();
        Candidate cur{dist(ep), ep};
        for (int l = g_.max_level(); l > 0; --l) {
            visited_.reset(g_.size());
            visited_.test_and_set(cur.id);
            search_layer(*this, &cur, 1, l, 1, visited_, result_);
            cur = result_.front();
        }
        visited_.reset(g_.size());
        visited_.test_and_set(cur.id);
        search_layer(*this, &cur, 1, 0, std::max(ef, k), visited_, result_);
        if (result_.size() > k) result_.resize(k);
        return result_;
    }

private:
    float dist(NodeId id) const noexcept { return fn_(query_, base_ + std::size_t(id) * dim_, dim_); }
    const GraphBuilder& g_;
    const float* base_;
    std::size_t dim_;
    DistFn fn_;
    const float* query_ = nullptr;
    VisitedSet visited_;
    std::vector<Candidate> result_;
};

// recall@k against gt rows of width gt_width; a result counts when its
// distance is no larger than the k-th true neighbour's (ties).
inline double recall(const GraphBuilder& g, const Dataset& d, Metric m, const std::vector<int>& gt,
                     std::size_t gt_width, std::size_t k, std::size_t ef) {
    MemorySearch s(g, d.base.data(), d.dim, m);
    DistFn fn = resolve_distance(m, ElemType::F32);
    std::size_t hits = 0;
    for (std::size_t q = 0; q < d.nq; ++q) {
        const float* qv = d.query.data() + q * d.dim;
        const float kth = fn(qv, d.base.data() + std::size_t(gt[q * gt_width + k - 1]) * d.dim, d.dim);
        auto res = s.search(qv, k, ef);
        for (const Candidate& c : res)
            if (c.dist <= kth) ++hits;
    }
    return double(hits) / double(d.nq * k);
}

inline std::unique_ptr<GraphBuilder> build_graph(const Dataset& d, Metric m, BuildStorage st, int threads,
                                                 BuildParams p = BuildParams()) {
    Space sp{m, ElemType::F32, std::uint32_t(d.dim)};
    auto g = std::make_unique<GraphBuilder>(sp, p, st, d.n);
    for (std::size_t i = 0; i < d.n; ++i) g->add(d.base.data() + i * d.dim);
    g->build(threads, nullptr, nullptr);
    return g;
}

// Synthetic: `clusters` tight Gaussian blobs whose centres are far apart.
inline std::vector<float> clustered(std::size_t clusters, std::size_t per, std::size_t dim, float spread,
                                    float sigma, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::vector<float> centres(clusters * dim);
    for (float& c : centres) c = nd(rng) * spread;
    std::vector<float> out;
    out.reserve(clusters * per * dim);
    for (std::size_t i = 0; i < clusters * per; ++i) {
        const std::size_t c = i % clusters;  // interleaved, as rows arrive in a table
        for (std::size_t j = 0; j < dim; ++j) out.push_back(centres[c * dim + j] + nd(rng) * sigma);
    }
    return out;
}

// Level-0 breadth-first walk from the entry point: seen[id] != 0 for every
// node a search can reach at the bottom level.
inline std::vector<char> reached_from_entry(const GraphBuilder& g) {
    std::vector<char> seen(g.size(), 0);
    std::vector<NodeId> q{g.entry_point()};
    seen[g.entry_point()] = 1;
    for (std::size_t h = 0; h < q.size(); ++h) {
        int cnt;
        const NodeId* nb = g.neighbors(q[h], 0, &cnt);
        for (int i = 0; i < cnt; ++i)
            if (!seen[nb[i]]) {
                seen[nb[i]] = 1;
                q.push_back(nb[i]);
            }
    }
    return seen;
}

}  // namespace hnsw_test
