// Exact float16 <-> double conversion for the text format and the casts.
//
// half.h (the kernels' API) converts float <-> half; parsing needs
// double -> half with a single rounding: decimal -> float -> half rounds twice
// and can land on the wrong half next to a tie. Pure C++, no Postgres.
#pragma once
#include <cstdint>

namespace vecdb::core {

// Every half value is exactly representable as a double.
double half_bits_to_double(std::uint16_t h) noexcept;

// Round to nearest, ties to even. Magnitudes that round beyond 65504 give
// ±Inf, NaN gives a quiet NaN: callers that must reject those check the
// result with half_bits_finite().
std::uint16_t double_to_half_bits(double d) noexcept;

inline bool half_bits_finite(std::uint16_t h) noexcept { return (h & 0x7c00u) != 0x7c00u; }

}  // namespace vecdb::core
