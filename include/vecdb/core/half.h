// IEEE 754 binary16 <-> binary32 conversion, scalar and bulk.
// Scalar versions are exact (round-to-nearest-even on narrowing); the bulk
// versions use F16C where the active SIMD path has it.
#pragma once
#include <cstddef>
#include <cstdint>

namespace vecdb::core {

float half_to_float(std::uint16_t h) noexcept;
// Round to nearest even. Values beyond the float16 range become ±Inf:
// callers that must reject overflow check the result with half_is_finite().
std::uint16_t float_to_half(float f) noexcept;
inline bool half_is_finite(std::uint16_t h) noexcept { return (h & 0x7c00u) != 0x7c00u; }

constexpr float kHalfMax = 65504.0f;

void halves_to_floats(const std::uint16_t* in, float* out, std::size_t n) noexcept;
void floats_to_halves(const float* in, std::uint16_t* out, std::size_t n) noexcept;

}  // namespace vecdb::core
