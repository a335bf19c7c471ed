// CPU and OS feature detection for kernel dispatch. xsimd 8.1's own detection
// is wrong on the AMD hardware we run on and never consults XCR0, so this uses
// the compiler's CPUID cache plus XGETBV.
#include "vecdb/core/cpu_features.h"

#include "vecdb/core/no_postgres.h"

#include <cpuid.h>

#include <cstdint>

namespace vecdb::core {
namespace {

// XCR0 bits: 1 SSE (XMM), 2 AVX (upper YMM), 5 opmask, 6 ZMM0-15 upper, 7 ZMM16-31.
constexpr std::uint64_t kXcr0Avx = (1u << 1) | (1u << 2);
constexpr std::uint64_t kXcr0Avx512 = kXcr0Avx | (1u << 5) | (1u << 6) | (1u << 7);

std::uint64_t read_xcr0() noexcept {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    if (!(ecx & bit_OSXSAVE)) return 0;  // XGETBV itself would fault
    std::uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (static_cast<std::uint64_t>(hi) << 32) | lo;
}

// clang 14 has no "f16c" for __builtin_cpu_supports: read CPUID.1:ECX directly.
bool has_f16c() noexcept {
    unsigned eax, ebx, ecx, edx;
    return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C) != 0;
}

CpuFeatures detect() noexcept {
    __builtin_cpu_init();  // we may run from a static initializer, before libgcc's
    const std::uint64_t xcr0 = read_xcr0();
    CpuFeatures f{};
    f.avx2_fma_f16c = (xcr0 & kXcr0Avx) == kXcr0Avx && __builtin_cpu_supports("avx") &&
                      __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && has_f16c();
    f.avx512 = f.avx2_fma_f16c && (xcr0 & kXcr0Avx512) == kXcr0Avx512 && __builtin_cpu_supports("avx512f") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512vl");
    return f;
}

}  // namespace

const CpuFeatures& cpu_features() noexcept {
    static const CpuFeatures features = detect();
    return features;
}

}  // namespace vecdb::core
