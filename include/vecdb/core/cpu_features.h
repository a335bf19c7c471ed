// Private: what the CPU *and* the operating system let us run. A feature bit
// in CPUID is not enough: the OS must also save the wider registers on a
// context switch (XCR0), or the first AVX instruction faults.
#pragma once

namespace vecdb::core {

struct CpuFeatures {
    bool avx2_fma_f16c;  // AVX2 + FMA + F16C, OS saves YMM state
    bool avx512;         // AVX-512 F/BW/DQ/VL on top of that, OS saves ZMM/opmask state
};

// Detected on first call, then cached.
const CpuFeatures& cpu_features() noexcept;

}  // namespace vecdb::core
