// float16 conversion entry points: scalar ones from half_scalar.h, bulk ones
// through the active path (F16C on the SIMD paths, bit-identical results).
#include "vecdb/core/half.h"

#include "vecdb/core/no_postgres.h"

#include "vecdb/core/distance.h"
#include "vecdb/core/half_scalar.h"

namespace vecdb::core {

float half_to_float(std::uint16_t h) noexcept { return scalar_half::to_float(h); }

std::uint16_t float_to_half(float f) noexcept { return scalar_half::from_float(f); }

void halves_to_floats(const std::uint16_t* in, float* out, std::size_t n) noexcept {
    kernels().halves_to_floats(in, out, n);
}

void floats_to_halves(const float* in, std::uint16_t* out, std::size_t n) noexcept {
    kernels().floats_to_halves(in, out, n);
}

}  // namespace vecdb::core
