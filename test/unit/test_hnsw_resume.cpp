// Unit tests of ResumableSearch, the beam search that iterative index scans
// continue round after round.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "test_hnsw_util.h"

namespace {

using namespace hnsw_test;

// The builder's graph with a row filter and a scoring counter.
struct CountingGraph {
    const GraphBuilder& g;
    const float* base;
    std::size_t dim;
    DistFn fn;
    const float* query = nullptr;
    std::size_t scored = 0;
    std::vector<char> rejected;  // accept() says no (deleted nodes)

    float dist(NodeId id) const { return fn(query, base + std::size_t(id) * dim, dim); }
    template <class Emit>
    void expand(NodeId node, int level, VisitedSet& v, Emit&& emit) {
        int n;
        const NodeId* ids = g.neighbors(node, level, &n);
        for (int i = 0; i < n; ++i)
            if (!v.test_and_set(ids[i])) {
                ++scored;
                emit(Candidate{dist(ids[i]), ids[i]});
            }
    }
    bool accept(NodeId id) const { return rejected.empty() || !rejected[id]; }
    // Greedy descent to level 1, like the index scan; returns the level-0 entry.
    Candidate descend(VisitedSet& v, std::vector<Candidate>& tmp) {
        const NodeId ep = g.entry_point();
        Candidate cur{dist(ep), ep};
        for (int l = g.max_level(); l > 0; --l) {
            v.reset(g.size());
            v.test_and_set(cur.id);
            search_layer(*this, &cur, 1, l, 1, v, tmp);
            cur = tmp.front();
        }
        v.reset(g.size());
        v.test_and_set(cur.id);
        return cur;
    }
};

struct Fixture {
    Dataset d;
    std::unique_ptr<GraphBuilder> g;
    Fixture(std::size_t n, std::size_t nq) {
        d.dim = 16;
        std::mt19937 rng(7);
        std::uniform_real_distribution<float> u(0.0f, 1.0f);
        d.base.resize(n * d.dim);
        d.query.resize(nq * d.dim);
        for (float& x : d.base) x = u(rng);
        for (float& x : d.query) x = u(rng);
        d.n = n;
        d.nq = nq;
        g = build_graph(d, Metric::L2, BuildStorage::Exact, 1);
    }
    CountingGraph graph() const {
        return CountingGraph{*g, d.base.data(), d.dim, resolve_distance(Metric::L2, ElemType::F32), nullptr, 0, {}};
    }
};

TEST(HnswResume, FirstRoundMatchesSearchLayer) {
    Fixture f(3000, 20);
    for (std::size_t q = 0; q < f.d.nq; ++q) {
        CountingGraph a = f.graph(), b = f.graph();
        a.query = b.query = f.d.query.data() + q * f.d.dim;
        VisitedSet va, vb;
        std::vector<Candidate> tmp, ra, rb;
        Candidate ea = a.descend(va, tmp), eb = b.descend(vb, tmp);
        search_layer(a, &ea, 1, 0, 40, va, ra);
        ResumableSearch rs;
        rs.start(b, &eb, 1);
        rs.next(b, 0, 40, vb, std::size_t(-1), rb);
        ASSERT_EQ(ra.size(), rb.size());
        for (std::size_t i = 0; i < ra.size(); ++i) EXPECT_EQ(ra[i].id, rb[i].id) << "query " << q << " rank " << i;
        EXPECT_EQ(a.scored, b.scored);
    }
}

TEST(HnswResume, RoundsHandOutEveryNodeOnceInOrderWithoutRescoring) {
    Fixture f(2000, 3);
    for (std::size_t q = 0; q < f.d.nq; ++q) {
        CountingGraph gr = f.graph();
        gr.query = f.d.query.data() + q * f.d.dim;
        gr.rejected.assign(f.d.n, 0);
        for (std::size_t i = 0; i < f.d.n; i += 7) gr.rejected[i] = 1;  // "deleted": walked, never handed out
        VisitedSet v;
        std::vector<Candidate> tmp, out;
        Candidate e = gr.descend(v, tmp);
        gr.scored = 0;
        ResumableSearch rs;
        rs.start(gr, &e, 1);
        std::set<NodeId> seen;
        std::size_t rounds = 0, total = 0, out_of_order = 0;
        float last = -1.0f;
        while (!rs.exhausted()) {
            rs.next(gr, 0, 20, v, std::size_t(-1), out);
            ++rounds;
            ASSERT_LT(rounds, 1000u);
            for (std::size_t i = 0; i < out.size(); ++i) {
                if (i > 0) {
                    EXPECT_LE(out[i - 1].dist, out[i].dist);  // nearest first within a round
                }
                EXPECT_TRUE(gr.accept(out[i].id));
                EXPECT_TRUE(seen.insert(out[i].id).second) << "handed out twice: " << out[i].id;
                if (out[i].dist < last) ++out_of_order;
                last = std::max(last, out[i].dist);
            }
            total += out.size();
        }
        // Every accepted node (the graph is connected) exactly once, each node
        // scored at most once (the entry was scored by the descent).
        std::size_t accepted = 0;
        for (std::size_t i = 0; i < f.d.n; ++i) accepted += gr.accept(NodeId(i));
        EXPECT_EQ(total, accepted);
        EXPECT_LE(gr.scored, f.d.n - 1);
        // Later rounds move outward: going back in distance is rare.
        EXPECT_LT(out_of_order, total / 50) << "query " << q;
    }
}

TEST(HnswResume, BudgetStopsExpansionThenDrainsWhatWasScored) {
    Fixture f(3000, 1);
    CountingGraph gr = f.graph();
    gr.query = f.d.query.data();
    VisitedSet v;
    std::vector<Candidate> tmp, out;
    Candidate e = gr.descend(v, tmp);
    gr.scored = 0;
    ResumableSearch rs;
    rs.start(gr, &e, 1);
    const std::size_t m0 = 2 * 16;  // level-0 list: one expansion scores at most this
    std::size_t got = rs.next(gr, 0, 10, v, 100, out);
    EXPECT_EQ(got, gr.scored);
    EXPECT_LT(got, 100 + m0);
    std::size_t handed = out.size();
    // Budget 0: nothing scored, the scored pool is handed out.
    for (int i = 0; i < 100 && !out.empty(); ++i) {
        EXPECT_EQ(rs.next(gr, 0, 10, v, 0, out), 0u);
        handed += out.size();
    }
    EXPECT_EQ(rs.pool_size(), 0u);
    EXPECT_EQ(handed, gr.scored + 1);  // + the entry
    EXPECT_GT(rs.frontier_size(), 0u);
}

// The filtered query the iterative scan serves: 1 % of the rows pass a
// WHERE; hand out rounds until 10 pass. Recall against the exact filtered
// top 10 must be high, and the scoring cost must stay far below the table.
TEST(HnswResume, SelectiveFilterFindsTheFilteredNearest) {
    Fixture f(20000, 30);
    DistFn fn = resolve_distance(Metric::L2, ElemType::F32);
    std::size_t hits = 0, scored = 0;
    for (std::size_t q = 0; q < f.d.nq; ++q) {
        const float* qv = f.d.query.data() + q * f.d.dim;
        std::vector<Candidate> exact;
        for (std::size_t i = 0; i < f.d.n; i += 100) exact.push_back({fn(qv, f.d.base.data() + i * f.d.dim, f.d.dim), NodeId(i)});
        std::sort(exact.begin(), exact.end(), [](auto& a, auto& b) { return a.dist < b.dist; });
        CountingGraph gr = f.graph();
        gr.query = qv;
        VisitedSet v;
        std::vector<Candidate> tmp, out;
        Candidate e = gr.descend(v, tmp);
        ResumableSearch rs;
        rs.start(gr, &e, 1);
        std::vector<NodeId> found;
        while (found.size() < 10 && !rs.exhausted()) {
            rs.next(gr, 0, 40, v, std::size_t(-1), out);
            for (auto& c : out) {
                if (c.id % 100 == 0 && found.size() < 10) found.push_back(c.id);
            }
        }
        ASSERT_EQ(found.size(), 10u);
        for (NodeId id : found) {
            for (int k = 0; k < 10; ++k) hits += exact[k].id == id;
        }
        scored += gr.scored;
    }
    const double recall = double(hits) / double(10 * f.d.nq);
    EXPECT_GE(recall, 0.9);
    EXPECT_LT(double(scored) / double(f.d.nq), 0.5 * double(f.d.n));
}

}  // namespace

// Patience: a search that stopped early and was resumed ends exactly where a
// plain search_layer ends, and stopping early scores fewer nodes.
TEST(HnswPatience, StopThenResumeMatchesSearchLayer) {
    Fixture f(4000, 30);
    std::size_t stopped_queries = 0, scored_plain = 0, scored_patient = 0;
    for (std::size_t q = 0; q < f.d.nq; ++q) {
        CountingGraph a = f.graph(), b = f.graph();
        a.query = b.query = f.d.query.data() + q * f.d.dim;
        a.rejected.assign(f.d.n, 0);
        for (std::size_t i = 0; i < f.d.n; i += 11) a.rejected[i] = 1;
        b.rejected = a.rejected;
        VisitedSet va, vb;
        std::vector<Candidate> tmp, ra, rb, fa, fb;
        Candidate ea = a.descend(va, tmp), eb = b.descend(vb, tmp);
        a.scored = b.scored = 0;
        search_layer(a, &ea, 1, 0, 120, va, ra, nullptr, fa);
        scored_plain += a.scored;
        const bool stopped = search_layer_patient(b, &eb, 1, 0, 120, vb, rb, fb, Patience{8, 10});
        scored_patient += b.scored;
        for (std::size_t i = 1; i < rb.size(); ++i) EXPECT_LE(rb[i - 1].dist, rb[i].dist);
        for (const Candidate& c : rb) EXPECT_TRUE(b.accept(c.id));
        if (stopped) {
            ++stopped_queries;
            EXPECT_LT(b.scored, a.scored);
            resume_layer(b, 0, 120, vb, rb, fb);
        }
        ASSERT_EQ(ra.size(), rb.size()) << "query " << q;
        for (std::size_t i = 0; i < ra.size(); ++i) {
            EXPECT_EQ(ra[i].id, rb[i].id) << "query " << q << " rank " << i;
            EXPECT_EQ(ra[i].dist, rb[i].dist);
        }
        EXPECT_EQ(a.scored, b.scored) << "resumed search scores what the plain one does";
    }
    EXPECT_GT(stopped_queries, f.d.nq / 2);
}

// Off (0 expansions) is the plain search; a patient search keeps most of the
// plain search's 10 nearest.
TEST(HnswPatience, OffIsPlainAndOnKeepsTheNearest) {
    Fixture f(4000, 30);
    std::size_t common = 0;
    for (std::size_t q = 0; q < f.d.nq; ++q) {
        CountingGraph a = f.graph(), b = f.graph(), c = f.graph();
        a.query = b.query = c.query = f.d.query.data() + q * f.d.dim;
        VisitedSet va, vb, vc;
        std::vector<Candidate> tmp, ra, rb, rc, fa, fb, fc;
        Candidate ea = a.descend(va, tmp), eb = b.descend(vb, tmp), ec = c.descend(vc, tmp);
        search_layer(a, &ea, 1, 0, 100, va, ra, nullptr, fa);
        EXPECT_FALSE(search_layer_patient(b, &eb, 1, 0, 100, vb, rb, fb, Patience{0, 10}));
        ASSERT_EQ(ra.size(), rb.size());
        for (std::size_t i = 0; i < ra.size(); ++i) EXPECT_EQ(ra[i].id, rb[i].id);
        search_layer_patient(c, &ec, 1, 0, 100, vc, rc, fc, Patience{30, 10});
        ASSERT_GE(rc.size(), 10u);
        std::set<NodeId> top;
        for (std::size_t i = 0; i < 10; ++i) top.insert(rc[i].id);
        for (std::size_t i = 0; i < 10; ++i) common += top.count(ra[i].id);
    }
    EXPECT_GE(common, 10 * f.d.nq * 9 / 10);
}
