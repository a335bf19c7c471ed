// GraphBuilder: storage, memory accounting and the public accessors.
// Insertion (the parallel part) lives in hnsw_insert.cpp.
#include "vecdb/core/no_postgres.h"

#include <algorithm>

#include "hnsw_builder_impl.h"
#include "vecdb/core/half.h"

namespace vecdb::core::hnsw {

namespace {
// Rows of float kept to train the Int8 codec before anything is encoded:
// 1/32 of the expected rows, at least 1024 (ranges need a fair sample), at
// most 8192 (the sample is held next to the whole graph).
std::size_t int8_train_rows(std::size_t expected) noexcept {
    if (expected == 0) return 1024;  // unknown
    return std::max<std::size_t>(1, std::min(expected, std::min<std::size_t>(8192, std::max<std::size_t>(1024, expected / 32))));
}
}  // namespace

std::size_t GraphBuilder::Impl::stride_for(const Space& s, BuildStorage st) noexcept {
    std::size_t bytes;
    switch (st) {
        case BuildStorage::Int8: bytes = s.dim; break;
        case BuildStorage::Half: bytes = std::size_t(s.dim) * 2; break;
        case BuildStorage::Exact:
        default: bytes = s.vector_bytes(); break;
    }
    // 16-byte rows keep SIMD loads from splitting more cache lines than needed.
    return (bytes + 15) & ~std::size_t(15);
}

GraphBuilder::Impl::Impl(const Space& s, const BuildParams& p, BuildStorage st, std::size_t expected)
    : space(s), params(p), storage(st), rng(p.seed) {
    if (params.m < 2) params.m = 2;
    if (params.ef_construction < 1) params.ef_construction = 1;
    m = params.m;
    m0 = 2 * params.m;
    stride = stride_for(space, storage);
    l0_words = 1 + std::size_t(m0);
    up_words = 1 + std::size_t(m);
    if (storage == BuildStorage::Half && space.type == ElemType::F16) storage = BuildStorage::Exact;
    if (storage != BuildStorage::Int8) {
        const ElemType t = storage == BuildStorage::Half ? ElemType::F16 : space.type;
        dist_fn = resolve_distance(space.metric, t);
    } else {
        train_rows = int8_train_rows(expected);
        staging.reserve(train_rows * space.dim);
    }
    reserve(expected);
}

void GraphBuilder::Impl::reserve(std::size_t nodes) {
    if (nodes <= capacity) return;
    vectors.grow(nodes * stride);
    links0.grow(nodes * l0_words * 4);
    levels.reserve(nodes);
    upper_off.reserve(nodes);
    if (storage == BuildStorage::Int8) code_bias.reserve(nodes);
    if (nodes > locks_n) {
        locks.reset(new detail::SpinLock[nodes]);
        locks_n = nodes;
    }
    capacity = nodes;
}

void GraphBuilder::Impl::train_codec() {
    const std::size_t rows = staging.size() / space.dim;
    codec.train(staging.data(), rows, space.dim);
    code_bias.resize(rows);
    for (std::size_t r = 0; r < rows; ++r)
        code_bias[r] = codec.encode(staging.data() + r * space.dim, space.dim,
                                    vectors.data() + r * stride);
    std::vector<float>().swap(staging);
    trained = true;
}

void GraphBuilder::Impl::store(NodeId id, const void* v) {
    unsigned char* dst = vectors.data() + std::size_t(id) * stride;
    const std::uint32_t dim = space.dim;
    switch (storage) {
        case BuildStorage::Exact:
            std::memcpy(dst, v, space.vector_bytes());
            return;
        case BuildStorage::Half: {  // space is F32 here
            const float* x = static_cast<const float*>(v);
            std::uint16_t* h = reinterpret_cast<std::uint16_t*>(dst);
            for (std::uint32_t i = 0; i < dim; ++i) h[i] = float_to_half(x[i]);
            return;
        }
        case BuildStorage::Int8: {
            float* row;
            if (!trained) {
                staging.resize(staging.size() + dim);
                row = staging.data() + staging.size() - dim;
            } else {
                row_buf.resize(dim);
                row = row_buf.data();
            }
            if (space.type == ElemType::F32) {
                std::memcpy(row, v, std::size_t(dim) * 4);
            } else {
                const std::uint16_t* h = static_cast<const std::uint16_t*>(v);
                for (std::uint32_t i = 0; i < dim; ++i) row[i] = half_to_float(h[i]);
            }
            if (trained) {
                code_bias.push_back(codec.encode(row, dim, dst));
            } else if (staging.size() / dim >= train_rows) {
                train_codec();
            }
            return;
        }
    }
}

// Size the link arrays for every node added so far (also after a build, if
// more nodes were added since).
void GraphBuilder::Impl::prepare_links() {
    reserve(n);
    for (std::size_t id = upper_off.size(); id < n; ++id) {
        upper_off.push_back(std::uint32_t(upper_pool.size()));
        const int lv = levels[id];
        if (lv > 0) upper_pool.resize(upper_pool.size() + std::size_t(lv) * up_words, 0u);
    }
    if (storage == BuildStorage::Int8 && !trained) train_codec();
}

std::size_t GraphBuilder::Impl::bytes() const noexcept {
    std::size_t b = sizeof(Impl) + vectors.size() + links0.size();
    b += levels.capacity() + upper_off.capacity() * 4 + upper_pool.capacity() * 4;
    b += locks_n * sizeof(detail::SpinLock);
    b += code_bias.capacity() * 4 + staging.capacity() * 4 + row_buf.capacity() * 4;
    b += (codec.lo.capacity() + codec.step.capacity() + codec.step_sq.capacity()) * 4;
    b += scratch_bytes.load(std::memory_order_relaxed);
    return b;
}

GraphBuilder::GraphBuilder(const Space& space, const BuildParams& params, BuildStorage storage,
                           std::size_t expected_nodes)
    : impl_(new Impl(space, params, storage, expected_nodes)) {}

GraphBuilder::~GraphBuilder() = default;

NodeId GraphBuilder::add(const void* vec) {
    Impl& g = *impl_;
    if (g.n >= std::size_t(kNoNode)) throw std::bad_alloc();
    if (g.n == g.capacity) g.reserve(std::max<std::size_t>(16, g.capacity + g.capacity / 2));
    const NodeId id = NodeId(g.n);
    g.levels.push_back(std::uint8_t(random_level(g.rng, g.m)));
    g.store(id, vec);
    ++g.n;
    return id;
}

std::size_t GraphBuilder::size() const noexcept { return impl_->n; }
NodeId GraphBuilder::entry_point() const noexcept { return impl_->entry; }
int GraphBuilder::max_level() const noexcept { return impl_->max_level; }
int GraphBuilder::level(NodeId id) const noexcept { return impl_->levels[id]; }

const NodeId* GraphBuilder::neighbors(NodeId id, int level, int* n) const noexcept {
    const Impl& g = *impl_;
    if (id >= g.upper_off.size() || level < 0 || level > g.levels[id]) {
        *n = 0;
        return nullptr;
    }
    const std::uint32_t* l = g.list(id, level);
    *n = int(l[0]);
    return l + 1;
}

std::size_t GraphBuilder::memory_bytes() const noexcept { return impl_->bytes(); }

std::size_t GraphBuilder::estimate_bytes(const Space& space, const BuildParams& params,
                                         BuildStorage storage, std::size_t n) noexcept {
    return estimate_bytes(space, params, storage, n, 1);
}

std::size_t GraphBuilder::estimate_bytes(const Space& space, const BuildParams& params,
                                         BuildStorage storage, std::size_t n, int threads) noexcept {
    const std::size_t m = std::size_t(std::max(params.m, 2));
    if (storage == BuildStorage::Half && space.type == ElemType::F16) storage = BuildStorage::Exact;
    const std::size_t stride = Impl::stride_for(space, storage);
    std::size_t b = sizeof(Impl) + 128;
    b += n * stride + n * (1 + 2 * m) * 4;  // vectors, level 0
    b += n * (1 + 4 + 1);                   // level, upper offset, lock
    // Expected upper-level slots: sum over l >= 1 of n / m^l lists.
    b += std::size_t(double(n) / double(m - 1) * double(1 + m) * 4);
    if (storage == BuildStorage::Int8) {
        b += n * 4 + std::size_t(space.dim) * 12;
        b += int8_train_rows(n) * space.dim * 4;  // training rows (freed early)
    }
    // Per build thread: visited marks plus small heaps.
    const std::size_t per_thread = n * 4 + std::size_t(std::max(params.ef_construction, 1)) * 64 + 4096;
    b += std::size_t(std::max(threads, 1)) * per_thread;
    return b;
}

}  // namespace vecdb::core::hnsw
