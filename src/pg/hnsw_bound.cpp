// The ORDER BY values an ordered hnsw scan reports: exact distances, or, for
// an index with storage = float16 (float16 copies of float32 rows in its
// pages), lower bounds of the distances PostgreSQL computes from the heap
// rows. With lower bounds the scan sets xs_recheckorderby: the executor
// computes each row's exact distance, holds rows in a queue and releases one
// only when no later row of the index can be nearer, i.e. when its exact
// distance is at most the bound the index reported last. So the bound must
// never exceed that exact distance (else the executor raises "index returned
// tuples in wrong order"), and must not decrease along the index's stream.
//
// Notation: q the query (float32; normalised under cosine), x a row as
// stored in the heap, c its float16 copy, e = round_err_max (the metric's
// norm of x - c, largest over all rows; cosine: of the normalised row),
// N = copy_norm_max (largest |c|), n the dimension, u = 2^-24. The kernels'
// accuracy (include/vecdb/core/distance.h): a float32 sum of terms t_i is
// within (n + 3) u sum|t_i| + n 2^-148 of the exact sum; a cosine within
// 2 (n + 5) u. Let g = (n + 3) u.
//
//  L2 (d = computed |q - c|^2). |q - c|^2 >= (d - n 2^-148) / (1 + g), and
//     |q - x| >= |q - c| - e (triangle inequality); PostgreSQL computes
//     sqrt(l2sq) with l2sq >= |q - x|^2 (1 - g) - n 2^-148.
//  L1 (d = computed |q - c|_1): likewise with the 1-norm, no square roots.
//  Inner product (d = -q.c computed): |q.x - q.c| <= |q| e; each computed
//     dot product is within g |q| |vector| + n 2^-148 of the exact one, and
//     |x| <= N + e.
//  Cosine (d = 1 - q.c computed, q and x normalised in double, rounded to float:
//     each within u of the true unit vector): the true cosine distances of
//     x and c differ by at most e (1 + u) + 2u; the computed d is within
//     g (1 + u) N + n 2^-148 + 4u of 1 - q.c; PostgreSQL's cosine is within
//     2 (n + 5) u of the truth.
// Each bound then gives up a further 1e-12 relative for double rounding.
// An L2 or L1 sum that overflowed (d = +inf) has nonnegative terms, so its
// exact value is at least FLT_MAX: d is taken as FLT_MAX. Where a float32
// sum in PostgreSQL's own distance could overflow or underflow and its error
// bound fail — an inner-product query with |q| (N + e) near FLT_MAX, a cosine
// query whose sum of squares leaves [2^-100, 2^120] (rows outside it are
// refused at insert) — the report is unbounded: every row reports the least
// value that metric's SQL distance takes (-inf; cosine 0), which is always
// valid and never decreases; the executor then sorts what the scan returns.
#include <cfloat>
#include <cmath>
#include <limits>

#include "vecdb/pg/hnsw.h"

namespace vecdb::pg::hnsw {
namespace {

constexpr double kU = 1.0 / 16777216.0;       // 2^-24
constexpr double kTiny = 0x1p-148;  // float underflow allowance per term
constexpr double kDoubleSlack = 1e-12;

double shrink(double v) { return v - std::fabs(v) * kDoubleSlack; }
// g of the header: the relative error of a float32 sum of n terms.
double gamma_of(std::uint32_t n) { return (n + 3.0) * kU; }

}  // namespace

void distance_report_for(const Geometry& g, const MetaPage& meta, const void* query, double query_sumsq,
                         DistanceReport* out) {
    *out = DistanceReport{};
    out->metric = g.metric;
    out->dim = g.dim;
    out->lower_bound = g.float16_storage;
    if (!out->lower_bound) return;
    out->err = meta.round_err_max;
    out->norm = meta.copy_norm_max;
    if (g.metric == core::Metric::InnerProduct && query != nullptr) {
        out->query_norm = std::sqrt(query_sumsq) * (1 + kDoubleSlack);
        // Below this, |q.x| <= |q| (N + e) keeps every float32 partial sum of
        // both dot products finite (Cauchy-Schwarz), in the index and in SQL.
        if (!(out->query_norm * (out->norm + out->err) * (1 + gamma_of(g.dim)) < FLT_MAX / 2)) out->unbounded = true;
    }
    // Rows are refused outside the range (prepare_vector); a query outside
    // it can make PostgreSQL's cosine overflow or underflow.
    if (g.metric == core::Metric::Cosine && query_sumsq != 0 &&
        !(query_sumsq >= kCosineSumsqMin && query_sumsq <= kCosineSumsqMax))
        out->unbounded = true;
}

double report_distance(const DistanceReport& r, float d) {
    if (!r.lower_bound) {
        if (r.metric == core::Metric::L2) return std::sqrt(static_cast<double>(std::max(d, 0.0f)));
        return static_cast<double>(d);
    }
    if (r.unbounded)  // the least each metric's SQL distance can be
        return r.metric == core::Metric::Cosine ? 0.0 : -std::numeric_limits<double>::infinity();
    const double n = r.dim;
    const double g = gamma_of(r.dim);
    const double tiny = n * kTiny;
    const double dd = d;
    switch (r.metric) {
        case core::Metric::L2: {
            const double sum = std::min(dd, static_cast<double>(FLT_MAX));
            const double near = std::sqrt(std::max(0.0, (sum - tiny) / (1 + g)));  // <= |q - c|
            const double t = std::max(0.0, near - r.err);                          // <= |q - x|
            return shrink(std::sqrt(std::max(0.0, t * t * (1 - g) - tiny)));
        }
        case core::Metric::L1: {
            const double sum = std::min(dd, static_cast<double>(FLT_MAX));
            const double t = std::max(0.0, (sum - tiny) / (1 + g) - r.err);
            return shrink(std::max(0.0, t * (1 - g) - tiny));
        }
        case core::Metric::InnerProduct: {
            if (!std::isfinite(dd)) return -std::numeric_limits<double>::infinity();
            const double qn = r.query_norm;
            return shrink(dd - qn * r.err - g * qn * r.norm - g * qn * (r.norm + r.err) - 2 * tiny);
        }
        case core::Metric::Cosine: {
            if (!std::isfinite(dd)) return -std::numeric_limits<double>::infinity();
            // + 8u: a straddling slot's two partial distances, summed
            // (slot_distance); + n 2^-52: the double normalisations.
            const double loss = r.err * (1 + kU) + 2 * kU + g * (1 + kU) * r.norm + tiny + 4 * kU +
                                2 * (n + 5) * kU + 8 * kU + n * 0x1p-52;
            return shrink(dd - loss);
        }
    }
    return -std::numeric_limits<double>::infinity();
}

}  // namespace vecdb::pg::hnsw
