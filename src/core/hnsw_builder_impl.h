// GraphBuilder's state, shared by the builder's translation units
// (construction, parallel insertion, locality order).
//
// Layout, chosen for cache behaviour like an in-memory HNSW library:
//  * vectors: one 64-byte aligned array, `stride` bytes per node, in the
//    storage format (f32, f16 or u8 codes);
//  * level 0: one flat array of (1 + 2m) words per node: count, then ids;
//  * levels >= 1: only for the nodes that have them, (1 + m) words per level,
//    carved from one pool at build() (levels are drawn in add(), so the pool
//    size is known before any thread starts);
//  * one spin-lock byte per node guards that node's lists on every level.
#pragma once
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#include "vecdb/core/hnsw.h"

namespace vecdb::core::hnsw::detail {

// Raw 64-byte aligned storage that can grow (contents kept).
class AlignedBytes {
public:
    AlignedBytes() = default;
    AlignedBytes(const AlignedBytes&) = delete;
    AlignedBytes& operator=(const AlignedBytes&) = delete;
    ~AlignedBytes() { std::free(p_); }
    void grow(std::size_t bytes) {
        if (bytes <= size_) return;
        const std::size_t rounded = (bytes + 63) & ~std::size_t(63);
        void* q = std::aligned_alloc(64, rounded);
        if (!q) throw std::bad_alloc();
        if (size_) std::memcpy(q, p_, size_);
        std::memset(static_cast<char*>(q) + size_, 0, rounded - size_);
        std::free(p_);
        p_ = static_cast<unsigned char*>(q);
        size_ = rounded;
    }
    void release() noexcept {
        std::free(p_);
        p_ = nullptr;
        size_ = 0;
    }
    unsigned char* data() const noexcept { return p_; }
    std::size_t size() const noexcept { return size_; }

private:
    unsigned char* p_ = nullptr;
    std::size_t size_ = 0;
};

// Per-dimension 8-bit scalar quantiser: x ~= lo[i] + step[i] * code.
// Trained on the first vectors added (see hnsw_int8.cpp).
struct Int8Codec {
    std::vector<float> lo, step, step_sq;
    float lo_sq_sum = 0;  // sum of lo[i]^2, for dot products
    void train(const float* rows, std::size_t n, std::uint32_t dim);
    // Writes dim codes, returns sum(lo[i] * step[i] * code[i]).
    float encode(const float* x, std::uint32_t dim, std::uint8_t* codes) const noexcept;
};

// Weighted kernels over u8 codes, one set per SIMD path.
struct Int8Kernels {
    float (*wl2)(const std::uint8_t* a, const std::uint8_t* b, const float* w, std::size_t n) noexcept;
    float (*wdot)(const std::uint8_t* a, const std::uint8_t* b, const float* w, std::size_t n) noexcept;
    float (*wl1)(const std::uint8_t* a, const std::uint8_t* b, const float* w, std::size_t n) noexcept;
};
const Int8Kernels& int8_kernels() noexcept;  // for the active SIMD path

class SpinLock {
public:
    // Critical sections are a few list writes; if the holder was preempted
    // (a shared machine), spinning on would burn the waiter's time slice, so
    // it yields after a while.
    void lock() noexcept {
        while (flag_.exchange(1, std::memory_order_acquire)) {
            int spins = 0;
            while (flag_.load(std::memory_order_relaxed)) {
                if (++spins > 256) {
                    std::this_thread::yield();
                    spins = 0;
                }
#if defined(__x86_64__) || defined(__i386__)
                __builtin_ia32_pause();
#endif
            }
        }
    }
    void unlock() noexcept { flag_.store(0, std::memory_order_release); }

private:
    std::atomic<std::uint8_t> flag_{0};
};

}  // namespace vecdb::core::hnsw::detail

namespace vecdb::core::hnsw {

struct GraphBuilder::Impl {
    Space space;
    BuildParams params;
    BuildStorage storage;
    int m;            // upper-level cap
    int m0;           // level-0 cap (2m)
    std::size_t stride;      // bytes per stored vector
    std::size_t l0_words;    // 1 + m0
    std::size_t up_words;    // 1 + m
    std::size_t capacity = 0;
    std::size_t n = 0;

    detail::AlignedBytes vectors;
    detail::AlignedBytes links0;
    std::vector<std::uint8_t> levels;
    std::vector<std::uint32_t> upper_off;  // word offset into upper_pool, levels >= 1 only
    std::vector<std::uint32_t> upper_pool;
    std::unique_ptr<detail::SpinLock[]> locks;
    std::size_t locks_n = 0;

    // Int8 only.
    detail::Int8Codec codec;
    std::vector<float> code_bias;  // per node: sum(lo * step * code)
    std::vector<float> staging;    // float rows kept until the codec is trained
    std::vector<float> row_buf;    // one decoded row, after training
    std::size_t train_rows = 0;
    bool trained = false;

    DistFn dist_fn = nullptr;  // Exact / Half
    std::uint64_t rng;

    std::mutex entry_mutex;
    NodeId entry = kNoNode;
    int max_level = -1;
    std::size_t inserted = 0;  // nodes [0, inserted) are linked

    std::atomic<std::size_t> scratch_bytes{0};  // per-thread buffers during build()

    Impl(const Space& s, const BuildParams& p, BuildStorage st, std::size_t expected);

    std::uint32_t* list0(NodeId id) const noexcept {
        return reinterpret_cast<std::uint32_t*>(links0.data()) + std::size_t(id) * l0_words;
    }
    std::uint32_t* list(NodeId id, int level) noexcept {
        if (level == 0) return list0(id);
        return upper_pool.data() + upper_off[id] + std::size_t(level - 1) * up_words;
    }
    const std::uint32_t* list(NodeId id, int level) const noexcept {
        return const_cast<Impl*>(this)->list(id, level);
    }
    const unsigned char* vec(NodeId id) const noexcept { return vectors.data() + std::size_t(id) * stride; }

    void reserve(std::size_t nodes);
    void train_codec();
    void store(NodeId id, const void* v);
    void prepare_links();
    std::size_t bytes() const noexcept;
    static std::size_t stride_for(const Space& s, BuildStorage st) noexcept;
};

}  // namespace vecdb::core::hnsw
