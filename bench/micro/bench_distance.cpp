// Distance-kernel micro-benchmarks: one distance per iteration between two
// vectors resident in L1, for every path this CPU runs.
//   build/vecdb_micro_bench --benchmark_filter='^dist/'
// Reported per benchmark: Time = ns per distance; elem_per_cycle = dimensions
// processed per core clock cycle; cycles_per_dist.
//
// Core cycles are not read from a performance counter (none in this VM):
// cycles = thread CPU time x core clock, the clock measured once at start-up
// by timing a chain of dependent integer adds (1 cycle each on every x86 core
// of the last decade) in thread CPU time. CPU time rather than wall time keeps
// both figures honest when other processes share the core. The context lines
// show core_GHz and, for reference, the TSC rate (tsc_GHz).
#include <benchmark/benchmark.h>
#include <time.h>
#include <x86intrin.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "vecdb/core/distance.h"
#include "vecdb/core/half.h"

using namespace vecdb::core;

namespace {

double thread_cpu_ns() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

// Core clock in GHz: 10 dependent adds per loop trip, 1 cycle each, timed in
// thread CPU time (so being preempted on the shared machine does not lower
// it); the best of 5 tries.
double measure_core_ghz() {
    constexpr std::uint64_t kTrips = 20'000'000;
    double best = 0;
    for (int rep = 0; rep < 5; ++rep) {
        std::uint64_t x = 0, c = kTrips;
        const double t0 = thread_cpu_ns();
        __asm__ volatile(
            "1:\n\t"
            "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
            "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
            "dec %1\n\tjnz 1b\n\t"
            : "+r"(x), "+r"(c));
        best = std::max(best, 10.0 * kTrips / (thread_cpu_ns() - t0));
    }
    return best;
}

double measure_tsc_ghz() {
    using clock = std::chrono::steady_clock;
    const auto c0 = clock::now();
    const std::uint64_t t0 = __rdtsc();
    while (clock::now() - c0 < std::chrono::milliseconds(100)) {
    }
    const std::uint64_t t1 = __rdtsc();
    const double ns = std::chrono::duration<double, std::nano>(clock::now() - c0).count();
    return static_cast<double>(t1 - t0) / ns;
}

double core_ghz() {
    static const double ghz = [] {
        const double core = measure_core_ghz();
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.3f", measure_tsc_ghz());
        benchmark::AddCustomContext("tsc_GHz", buf);
        std::snprintf(buf, sizeof buf, "%.3f", core);
        benchmark::AddCustomContext("core_GHz", buf);
        return core;
    }();
    return ghz;
}


enum class Op { L2, Dot, Cosine, L1 };
enum class Type { F32, F16, Mixed };

const char* op_name(Op op) {
    switch (op) {
        case Op::L2: return "l2sq";
        case Op::Dot: return "dot";
        case Op::Cosine: return "cosine";
        case Op::L1: return "l1";
    }
    return "?";
}
const char* type_name(Type t) { return t == Type::F32 ? "f32" : t == Type::F16 ? "f16" : "f32xf16"; }

using F32Fn = float (*)(const float*, const float*, std::size_t) noexcept;
using F16Fn = float (*)(const half_bits*, const half_bits*, std::size_t) noexcept;
using MixFn = float (*)(const float*, const half_bits*, std::size_t) noexcept;

F32Fn f32_fn(const Kernels& k, Op op) {
    return op == Op::L2 ? k.l2sq_f32 : op == Op::Dot ? k.dot_f32 : op == Op::Cosine ? k.cosine_f32 : k.l1_f32;
}
F16Fn f16_fn(const Kernels& k, Op op) {
    return op == Op::L2 ? k.l2sq_f16 : op == Op::Dot ? k.dot_f16 : op == Op::Cosine ? k.cosine_f16 : k.l1_f16;
}
MixFn mix_fn(const Kernels& k, Op op) {
    return op == Op::L2 ? k.l2sq_f32_f16
           : op == Op::Dot ? k.dot_f32_f16
           : op == Op::Cosine ? k.cosine_f32_f16
                              : k.l1_f32_f16;
}

// Two vectors in one 64-byte-aligned block (well inside a 32 KiB+ L1D even
// at d = 1536 f32: 12 KiB). `misalign` bytes shift both starts, e.g. 8 for a
// vector that sits behind a varlena header in a Postgres tuple.
struct Data {
    alignas(64) static inline float f32[2][1536 + 64];
    alignas(64) static inline half_bits f16[2][1536 + 64];
    static void fill() {
        static bool done = false;
        if (done) return;
        std::mt19937 rng(5);
        std::uniform_real_distribution<float> u(-1.0f, 1.0f);
        for (auto& v : f32)
            for (float& x : v) x = u(rng);
        for (int i = 0; i < 2; ++i)
            for (std::size_t j = 0; j < std::size(f16[i]); ++j) f16[i][j] = float_to_half(f32[i][j]);
        done = true;
    }
};

void run(benchmark::State& state, const Kernels* k, Op op, Type type, std::size_t d, std::size_t misalign) {
    Data::fill();
    const double ghz = core_ghz();
    const float* a = reinterpret_cast<const float*>(reinterpret_cast<const char*>(Data::f32[0]) + misalign);
    const float* b = reinterpret_cast<const float*>(reinterpret_cast<const char*>(Data::f32[1]) + misalign);
    const half_bits* ha =
        reinterpret_cast<const half_bits*>(reinterpret_cast<const char*>(Data::f16[0]) + misalign);
    const half_bits* hb =
        reinterpret_cast<const half_bits*>(reinterpret_cast<const char*>(Data::f16[1]) + misalign);
    const F32Fn f = f32_fn(*k, op);
    const F16Fn h = f16_fn(*k, op);
    const MixFn m = mix_fn(*k, op);
    const double t0 = thread_cpu_ns();
    switch (type) {
        case Type::F32:
            for (auto _ : state) benchmark::DoNotOptimize(f(a, b, d));
            break;
        case Type::F16:
            for (auto _ : state) benchmark::DoNotOptimize(h(ha, hb, d));
            break;
        case Type::Mixed:
            for (auto _ : state) benchmark::DoNotOptimize(m(a, hb, d));
            break;
    }
    const double cycles = (thread_cpu_ns() - t0) * ghz;
    const double iters = static_cast<double>(state.iterations());
    state.counters["elem_per_cycle"] = static_cast<double>(d) * iters / cycles;
    state.counters["cycles_per_dist"] = cycles / iters;
}

// Registered at load time for every path this CPU runs.
const bool kRegistered = [] {
    core_ghz();  // measured before the run, so the header shows it
    for (SimdPath p : {SimdPath::Scalar, SimdPath::Avx2, SimdPath::Avx512}) {
        const Kernels* k = kernels_for(p);
        if (k == nullptr) continue;
        for (Type t : {Type::F32, Type::F16, Type::Mixed}) {
            for (Op op : {Op::L2, Op::Dot, Op::Cosine, Op::L1}) {
                for (std::size_t d : {96, 128, 768, 1536}) {
                    const std::string name = std::string("dist/") + op_name(op) + "/" + type_name(t) + "/" +
                                             simd_path_name(p) + "/" + std::to_string(d);
                    benchmark::RegisterBenchmark(name.c_str(), run, k, op, t, d, std::size_t{0});
                }
            }
        }
        // Vector data behind an 8-byte varlena header: not 64-byte aligned.
        for (std::size_t d : {96, 768})
            benchmark::RegisterBenchmark(
                (std::string("dist/l2sq/f32/") + simd_path_name(p) + "/" + std::to_string(d) + "/misaligned8")
                    .c_str(),
                run, k, Op::L2, Type::F32, d, std::size_t{8});
    }
    return true;
}();

}  // namespace
