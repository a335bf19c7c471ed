// The binary (send/recv) format of vector and halfvec values, as used by
// COPY ... (FORMAT binary) and libpq binary parameters:
//   int16 dim | int16 unused (0) | dim elements
// all in network byte order; elements are float32 bit patterns for vector,
// float16 bit patterns for halfvec. Pure C++, never allocates, never reads
// past the given length: safe to fuzz.
#pragma once
#include <cstddef>
#include <cstdint>

namespace vecdb::core {

enum class BinaryStatus : int {
    Ok = 0,
    Truncated,       // fewer than 4 bytes: no header
    DimTooSmall,     // dim < 1
    DimTooLarge,     // dim > the caller's maximum
    NonZeroUnused,   // the reserved field is not 0
    LengthMismatch,  // payload length disagrees with dim
    NotANumber,      // an element is NaN
    Infinite,        // an element is ±Infinity
};

struct BinaryDecode {
    BinaryStatus status;
    std::size_t dim;    // the header's dim (when it could be read)
    int unused;         // the header's reserved field
    std::size_t index;  // offending element for NotANumber / Infinite
};

const char* binary_status_message(BinaryStatus s) noexcept;

constexpr std::size_t kBinaryHeaderBytes = 4;
constexpr std::size_t vector_binary_size(std::size_t dim) noexcept { return kBinaryHeaderBytes + 4 * dim; }
constexpr std::size_t halfvec_binary_size(std::size_t dim) noexcept { return kBinaryHeaderBytes + 2 * dim; }

// Validate the header of data[0, len) for elements of elem_size bytes: dim in
// [1, max_dim], unused == 0, len == 4 + dim * elem_size exactly.
BinaryDecode read_binary_header(const unsigned char* data, std::size_t len, std::size_t elem_size,
                                std::size_t max_dim) noexcept;

// Full decode: header check (as above with max_dim = capacity), then the
// elements into out[0, dim). Non-finite elements are rejected.
BinaryDecode decode_vector_binary(const unsigned char* data, std::size_t len, float* out,
                                  std::size_t capacity) noexcept;
BinaryDecode decode_halfvec_binary(const unsigned char* data, std::size_t len, std::uint16_t* out,
                                   std::size_t capacity) noexcept;

// Write the full value into out (vector_binary_size(dim) / halfvec_binary_size(dim)
// bytes). dim must fit in int16. Returns the number of bytes written.
std::size_t encode_vector_binary(const float* v, std::size_t dim, unsigned char* out) noexcept;
std::size_t encode_halfvec_binary(const std::uint16_t* v, std::size_t dim, unsigned char* out) noexcept;

}  // namespace vecdb::core
