// Recall of graphs built by GraphBuilder on the shared ANN datasets, searched
// in memory with search_layer. Skipped when ../shared/data is absent.
#include <gtest/gtest.h>

#include "test_hnsw_util.h"

namespace {
using namespace hnsw_test;

const Dataset& sift() {
    static const Dataset d = load("siftsmall-128-euclidean", 128, 10000, 100, true);
    return d;
}

// First 20k GloVe rows, normalised; ground truth by brute force.
struct Glove {
    Dataset d;
    std::vector<int> gt;
};
const Glove& glove() {
    static const Glove g = [] {
        Glove x;
        x.d = load("glove-100-angular", 100, 20000, 300, false);
        if (x.d.n == 0) return x;
        normalize_rows(x.d.base, 100);
        normalize_rows(x.d.query, 100);
        x.gt = brute_force(x.d, Metric::Cosine, 10);
        return x;
    }();
    return g;
}

#define NEED(d) \
    if ((d).n == 0 || (d).nq == 0) GTEST_SKIP() << "dataset not found under " << data_dir()

TEST(HnswRecall, SiftSmallL2) {
    NEED(sift());
    ASSERT_EQ(sift().n, 10000u);
    auto g = build_graph(sift(), Metric::L2, BuildStorage::Exact, 1);
    const double r = recall(*g, sift(), Metric::L2, sift().gt, 100, 10, 64);
    RecordProperty("recall_at_ef64", std::to_string(r));
    EXPECT_GE(r, 0.95);
}

TEST(HnswRecall, GloveCosine) {
    NEED(glove().d);
    auto g = build_graph(glove().d, Metric::Cosine, BuildStorage::Exact, 1);
    const double r = recall(*g, glove().d, Metric::Cosine, glove().gt, 10, 10, 100);
    RecordProperty("recall_at_ef100", std::to_string(r));
    EXPECT_GE(r, 0.95);
}

TEST(HnswRecall, MultiThreadedMatchesSingle) {
    NEED(glove().d);
    // A low ef, where graph quality shows.
    const std::size_t ef = 24;
    auto one = build_graph(glove().d, Metric::Cosine, BuildStorage::Exact, 1);
    const double r1 = recall(*one, glove().d, Metric::Cosine, glove().gt, 10, 10, ef);
    for (int threads : {2, 4}) {
        auto g = build_graph(glove().d, Metric::Cosine, BuildStorage::Exact, threads);
        const double r = recall(*g, glove().d, Metric::Cosine, glove().gt, 10, 10, ef);
        EXPECT_NEAR(r, r1, 0.01) << threads << " threads";
    }
}

TEST(HnswRecall, CompactStorageCloseToExact) {
    NEED(sift());
    NEED(glove().d);
    const std::size_t ef = 32;
    struct Case {
        const Dataset* d;
        const std::vector<int>* gt;
        std::size_t w;
        Metric m;
    } cases[] = {{&sift(), &sift().gt, 100, Metric::L2},
                 {&glove().d, &glove().gt, 10, Metric::Cosine},
                 {&glove().d, &glove().gt, 10, Metric::InnerProduct}};
    for (const Case& c : cases) {
        auto exact = build_graph(*c.d, c.m, BuildStorage::Exact, 2);
        const double re = recall(*exact, *c.d, c.m, *c.gt, c.w, 10, ef);
        for (BuildStorage st : {BuildStorage::Half, BuildStorage::Int8}) {
            auto g = build_graph(*c.d, c.m, st, 2);
            const double r = recall(*g, *c.d, c.m, *c.gt, c.w, 10, ef);
            EXPECT_GE(r, re - 0.02) << "metric " << int(c.m) << " storage " << int(st) << " exact " << re;
        }
    }
}

}  // namespace
