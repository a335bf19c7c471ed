#include "vecdb/core/binary_format.h"
#include "vecdb/core/no_postgres.h"

#include <cstring>

namespace vecdb::core {
namespace {

std::uint16_t load_be16(const unsigned char* p) noexcept {
    return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
std::uint32_t load_be32(const unsigned char* p) noexcept {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}
void store_be16(unsigned char* p, std::uint16_t v) noexcept {
    p[0] = static_cast<unsigned char>(v >> 8);
    p[1] = static_cast<unsigned char>(v);
}
void store_be32(unsigned char* p, std::uint32_t v) noexcept {
    p[0] = static_cast<unsigned char>(v >> 24);
    p[1] = static_cast<unsigned char>(v >> 16);
    p[2] = static_cast<unsigned char>(v >> 8);
    p[3] = static_cast<unsigned char>(v);
}

std::size_t write_header(std::size_t dim, unsigned char* out) noexcept {
    store_be16(out, static_cast<std::uint16_t>(dim));
    store_be16(out + 2, 0);
    return kBinaryHeaderBytes;
}

}  // namespace

const char* binary_status_message(BinaryStatus s) noexcept {
    switch (s) {
        case BinaryStatus::Ok: return "ok";
        case BinaryStatus::Truncated: return "value shorter than its 4-byte header";
        case BinaryStatus::DimTooSmall: return "dimension must be at least 1";
        case BinaryStatus::DimTooLarge: return "too many dimensions";
        case BinaryStatus::NonZeroUnused: return "reserved field must be 0";
        case BinaryStatus::LengthMismatch: return "payload length does not match the dimension";
        case BinaryStatus::NotANumber: return "NaN is not allowed";
        case BinaryStatus::Infinite: return "infinite values are not allowed";
    }
    return "unknown status";
}

BinaryDecode read_binary_header(const unsigned char* data, std::size_t len, std::size_t elem_size,
                                std::size_t max_dim) noexcept {
    BinaryDecode d{BinaryStatus::Ok, 0, 0, 0};
    if (len < kBinaryHeaderBytes) {
        d.status = BinaryStatus::Truncated;
        return d;
    }
    const auto dim = static_cast<std::int16_t>(load_be16(data));
    d.unused = static_cast<std::int16_t>(load_be16(data + 2));
    if (dim < 1) {
        d.status = BinaryStatus::DimTooSmall;
        return d;
    }
    d.dim = static_cast<std::size_t>(dim);
    if (d.dim > max_dim)
        d.status = BinaryStatus::DimTooLarge;
    else if (d.unused != 0)
        d.status = BinaryStatus::NonZeroUnused;
    else if (len - kBinaryHeaderBytes != d.dim * elem_size)
        d.status = BinaryStatus::LengthMismatch;
    return d;
}

BinaryDecode decode_vector_binary(const unsigned char* data, std::size_t len, float* out,
                                  std::size_t capacity) noexcept {
    BinaryDecode d = read_binary_header(data, len, 4, capacity);
    if (d.status != BinaryStatus::Ok) return d;
    const unsigned char* p = data + kBinaryHeaderBytes;
    for (std::size_t i = 0; i < d.dim; ++i, p += 4) {
        const std::uint32_t bits = load_be32(p);
        if ((bits & 0x7f800000u) == 0x7f800000u) {
            d.status = (bits & 0x007fffffu) ? BinaryStatus::NotANumber : BinaryStatus::Infinite;
            d.index = i;
            return d;
        }
        std::memcpy(&out[i], &bits, 4);
    }
    return d;
}

BinaryDecode decode_halfvec_binary(const unsigned char* data, std::size_t len, std::uint16_t* out,
                                   std::size_t capacity) noexcept {
    BinaryDecode d = read_binary_header(data, len, 2, capacity);
    if (d.status != BinaryStatus::Ok) return d;
    const unsigned char* p = data + kBinaryHeaderBytes;
    for (std::size_t i = 0; i < d.dim; ++i, p += 2) {
        const std::uint16_t bits = load_be16(p);
        if ((bits & 0x7c00u) == 0x7c00u) {
            d.status = (bits & 0x03ffu) ? BinaryStatus::NotANumber : BinaryStatus::Infinite;
            d.index = i;
            return d;
        }
        out[i] = bits;
    }
    return d;
}

std::size_t encode_vector_binary(const float* v, std::size_t dim, unsigned char* out) noexcept {
    unsigned char* p = out + write_header(dim, out);
    for (std::size_t i = 0; i < dim; ++i, p += 4) {
        std::uint32_t bits;
        std::memcpy(&bits, &v[i], 4);
        store_be32(p, bits);
    }
    return vector_binary_size(dim);
}

std::size_t encode_halfvec_binary(const std::uint16_t* v, std::size_t dim, unsigned char* out) noexcept {
    unsigned char* p = out + write_header(dim, out);
    for (std::size_t i = 0; i < dim; ++i, p += 2) store_be16(p, v[i]);
    return halfvec_binary_size(dim);
}

}  // namespace vecdb::core
