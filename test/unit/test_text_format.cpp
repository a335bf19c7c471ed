// The core text and binary formats of vector / halfvec and the exact
// float16 <-> double conversion: grammar, error statuses and positions,
// bounds, and randomized (for float16: exhaustive) round trips.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <immintrin.h>

#include "vecdb/core/binary_format.h"
#include "vecdb/core/half_exact.h"
#include "vecdb/core/text_format.h"

using namespace vecdb::core;

namespace {

TextParse parse(const std::string& s, std::vector<float>* out, std::size_t capacity = 64) {
    out->assign(capacity, -7.0f);
    TextParse r = parse_vector_text(s.data(), s.size(), out->data(), capacity);
    if (r.status == TextStatus::Ok) out->resize(r.dim);
    return r;
}

std::string format(const std::vector<float>& v) {
    std::string buf(text_capacity(v.size()), '\0');
    const std::size_t n = format_vector_text(v.data(), v.size(), buf.data(), buf.size());
    buf.resize(n);
    return buf;
}

std::string format_h(std::uint16_t h) {
    char buf[kMaxElementChars];
    return std::string(buf, format_half(h, buf));
}

std::uint32_t bits(float f) {
    std::uint32_t b;
    std::memcpy(&b, &f, 4);
    return b;
}

// Significant digits of a decimal literal ("-0.000123e+04" -> 3).
int significant_digits(const std::string& t) {
    std::string digits;
    for (char c : t) {
        if (c == 'e') break;
        if (c >= '0' && c <= '9') digits += c;
    }
    const std::size_t first = digits.find_first_not_of('0');
    if (first == std::string::npos) return 1;
    const std::size_t last = digits.find_last_not_of('0');
    return static_cast<int>(last - first + 1);
}

float from_bits(std::uint32_t b) {
    float f;
    std::memcpy(&f, &b, 4);
    return f;
}

}  // namespace

TEST(TextFormat, ParsesElementsAndWhitespace) {
    std::vector<float> v;
    TextParse r = parse(" \t[ 1 ,-2.5,\n+3e2,.5, 5.,-0 ]\r\n", &v);
    ASSERT_EQ(r.status, TextStatus::Ok);
    ASSERT_EQ(r.dim, 6u);
    EXPECT_EQ(v[0], 1.0f);
    EXPECT_EQ(v[1], -2.5f);
    EXPECT_EQ(v[2], 300.0f);
    EXPECT_EQ(v[3], 0.5f);
    EXPECT_EQ(v[4], 5.0f);
    EXPECT_EQ(bits(v[5]), 0x80000000u);
}

TEST(TextFormat, SyntaxErrorsReportStatusAndPosition) {
    struct Case {
        const char* text;
        TextStatus status;
        std::size_t pos;
    } cases[] = {
        {"", TextStatus::ExpectedOpenBracket, 0},
        {"  1,2]", TextStatus::ExpectedOpenBracket, 2},
        {"[", TextStatus::ExpectedNumber, 1},
        {"[1", TextStatus::ExpectedCommaOrClose, 2},
        {"[1,", TextStatus::ExpectedNumber, 3},
        {"[1,,2]", TextStatus::ExpectedNumber, 3},
        {"[1 2]", TextStatus::ExpectedCommaOrClose, 3},
        {"[1]x", TextStatus::TrailingCharacters, 3},
        {"[1] ]", TextStatus::TrailingCharacters, 4},
        {"[0x10]", TextStatus::ExpectedCommaOrClose, 2},
        {"[1e]", TextStatus::ExpectedCommaOrClose, 2},
        {"[+-1]", TextStatus::ExpectedNumber, 1},
        {"[++1]", TextStatus::ExpectedNumber, 1},
        {"[-]", TextStatus::ExpectedNumber, 1},
        {"[.]", TextStatus::ExpectedNumber, 1},
        {"[1,2,]", TextStatus::ExpectedNumber, 5},
        {"[1;2]", TextStatus::ExpectedCommaOrClose, 2},
        {"[]", TextStatus::Empty, 1},
        {"[  ]", TextStatus::Empty, 3},
        {"[NaN]", TextStatus::NotANumber, 1},
        {"[1,-nan]", TextStatus::NotANumber, 3},
        {"[inf]", TextStatus::Infinite, 1},
        {"[-Infinity]", TextStatus::Infinite, 1},
        {"[1e39]", TextStatus::OutOfRange, 1},
        {"[1,-1e-50]", TextStatus::OutOfRange, 3},
    };
    for (const Case& c : cases) {
        std::vector<float> v;
        const TextParse r = parse(c.text, &v);
        EXPECT_EQ(r.status, c.status) << c.text;
        EXPECT_EQ(r.pos, c.pos) << c.text;
        EXPECT_STRNE(text_status_message(r.status), "") << c.text;
    }
}

TEST(TextFormat, OutOfRangeReportsTheToken) {
    std::vector<float> v;
    const std::string s = "[1, 2e40 ,3]";
    const TextParse r = parse(s, &v);
    ASSERT_EQ(r.status, TextStatus::OutOfRange);
    EXPECT_EQ(s.substr(r.pos, r.token_len), "2e40");
    EXPECT_EQ(r.dim, 1u);
}

TEST(TextFormat, NeverReadsPastTheLength) {
    // The buffer continues with "]" but the length stops before it.
    const char text[] = "[1,2]";
    float out[4];
    TextParse r = parse_vector_text(text, 4, out, 4);
    EXPECT_EQ(r.status, TextStatus::ExpectedCommaOrClose);
    EXPECT_EQ(r.pos, 4u);
    // A number cut by the length: "[1,2" + "5]" must not be read as 25.
    const char cut[] = "[1,25]";
    r = parse_vector_text(cut, 5, out, 4);
    EXPECT_EQ(r.status, TextStatus::ExpectedCommaOrClose);
    r = parse_vector_text(cut, 0, out, 4);
    EXPECT_EQ(r.status, TextStatus::ExpectedOpenBracket);
}

TEST(TextFormat, CapacityIsRespected) {
    float out[3] = {0, 0, 0};
    TextParse r = parse_vector_text("[1,2,3]", 7, out, 3);
    EXPECT_EQ(r.status, TextStatus::Ok);
    r = parse_vector_text("[1,2,3,4]", 9, out, 3);
    EXPECT_EQ(r.status, TextStatus::TooManyElements);
    EXPECT_EQ(r.dim, 3u);
    r = parse_vector_text("[1]", 3, out, 0);
    EXPECT_EQ(r.status, TextStatus::TooManyElements);
    EXPECT_EQ(text_element_bound("[1,2,3]", 7), 3u);
    EXPECT_EQ(text_element_bound("", 0), 1u);
}

TEST(TextFormat, FormatsShortestRoundTrip) {
    EXPECT_EQ(format({1, 2, 3}), "[1,2,3]");
    EXPECT_EQ(format({0.1f, -0.0f, 1e20f, 123456789.0f}), "[0.1,-0,1e+20,123456792]");
    EXPECT_EQ(format({3.4028235e38f, 1e-45f}), "[3.4028235e+38,1e-45]");
    // Too small a buffer: 0, nothing claimed.
    char small[4];
    const float v[] = {1, 2, 3};
    EXPECT_EQ(format_vector_text(v, 3, small, sizeof small), 0u);
}

TEST(TextFormat, RandomFloatsRoundTripBitExactly) {
    std::mt19937 rng(12345);
    std::size_t longest = 0;
    for (int iter = 0; iter < 2000; ++iter) {
        std::vector<float> v(1 + rng() % 200);
        for (float& x : v) {
            do x = from_bits(static_cast<std::uint32_t>(rng()));
            while (!std::isfinite(x));
        }
        const std::string text = format(v);
        ASSERT_FALSE(text.empty());
        std::vector<float> back;
        const TextParse r = parse(text, &back, v.size());
        ASSERT_EQ(r.status, TextStatus::Ok) << text;
        ASSERT_EQ(back.size(), v.size());
        for (std::size_t i = 0; i < v.size(); ++i) ASSERT_EQ(bits(back[i]), bits(v[i])) << text;
        for (float x : v) {
            char buf[kMaxElementChars];
            longest = std::max(longest, format_float(x, buf));
        }
    }
    EXPECT_LT(longest, kMaxElementChars);
}

TEST(HalfExact, AgreesWithHardwareConversionOnFloats) {
    if (!__builtin_cpu_supports("f16c")) GTEST_SKIP() << "no F16C";
    std::mt19937 rng(7);
    auto hw = [](float f) __attribute__((target("f16c"))) {
        return static_cast<std::uint16_t>(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT));
    };
    for (int i = 0; i < 2000000; ++i) {
        const float f = from_bits(static_cast<std::uint32_t>(rng()));
        if (std::isnan(f)) continue;
        ASSERT_EQ(double_to_half_bits(f), hw(f)) << f;
    }
    // Ties, the largest finite value, the overflow edge, subnormals.
    for (float f : {65504.0f, 65519.0f, 65520.0f, 1.00048828125f, 2049.0f, 2051.0f, 5.9604645e-8f,
                    2.9802322e-8f, 2.9802326e-8f, 6.1035156e-5f, 6.097555e-5f})
        ASSERT_EQ(double_to_half_bits(f), hw(f)) << f;
}

TEST(HalfExact, EveryHalfConvertsExactly) {
    for (std::uint32_t h = 0; h < 65536; ++h) {
        const double d = half_bits_to_double(static_cast<std::uint16_t>(h));
        if (!half_bits_finite(static_cast<std::uint16_t>(h))) {
            EXPECT_TRUE(std::isnan(d) || std::isinf(d));
            continue;
        }
        ASSERT_EQ(double_to_half_bits(d), h);
    }
}

TEST(HalfText, EveryFiniteHalfRoundTripsThroughItsShortestText) {
    for (std::uint32_t h = 0; h < 65536; ++h) {
        const auto bits16 = static_cast<std::uint16_t>(h);
        if (!half_bits_finite(bits16)) continue;
        const std::string t = "[" + format_h(bits16) + "]";
        std::uint16_t back = 0;
        const TextParse r = parse_halfvec_text(t.data(), t.size(), &back, 1);
        ASSERT_EQ(r.status, TextStatus::Ok) << t;
        ASSERT_EQ(back, bits16) << t;
        const int k = significant_digits(t);
        ASSERT_LE(k, 5) << t;
        // Shortest: no decimal with fewer significant digits reads back to h.
        // The nearest (k-1)-digit decimals on either side of the value are
        // the only candidates that matter (the rounding interval is convex).
        if (k > 1) {
            const double v = std::fabs(half_bits_to_double(bits16));
            const int q = static_cast<int>(std::floor(std::log10(v))) - (k - 2);
            const long long m = static_cast<long long>(std::floor(v / std::pow(10.0, q)));
            for (long long c = m - 1; c <= m + 2; ++c) {
                if (c <= 0) continue;
                const std::string shorter = "[" + std::string(bits16 & 0x8000 ? "-" : "") + std::to_string(c) +
                                            "e" + std::to_string(q) + "]";
                std::uint16_t other = 0;
                const TextParse rr = parse_halfvec_text(shorter.data(), shorter.size(), &other, 1);
                ASSERT_FALSE(rr.status == TextStatus::Ok && other == bits16) << t << " vs " << shorter;
            }
        }
    }
}

TEST(HalfText, KnownShortestForms) {
    EXPECT_EQ(format_h(double_to_half_bits(0.1)), "0.1");
    EXPECT_EQ(format_h(double_to_half_bits(3.14159)), "3.14");
    EXPECT_EQ(format_h(double_to_half_bits(65504)), "65500");
    EXPECT_EQ(format_h(double_to_half_bits(-2.5)), "-2.5");
    EXPECT_EQ(format_h(0x8000), "-0");
    EXPECT_EQ(format_h(0x0001), "6e-08");   // smallest subnormal, 5.96e-8
    EXPECT_EQ(format_h(0x0400), "6.104e-05");  // smallest normal
}

TEST(HalfText, RangeAndRounding) {
    std::uint16_t out[4];
    const auto p = [&](const char* s) { return parse_halfvec_text(s, std::strlen(s), out, 4); };
    EXPECT_EQ(p("[65519.99]").status, TextStatus::Ok);
    EXPECT_EQ(out[0], 0x7bffu);
    EXPECT_EQ(p("[65520]").status, TextStatus::OutOfRange);
    EXPECT_EQ(p("[-1e5]").status, TextStatus::OutOfRange);
    EXPECT_EQ(p("[1e400]").status, TextStatus::OutOfRange);
    EXPECT_EQ(p("[1e-8]").status, TextStatus::Ok);  // rounds to zero, as float16 does
    EXPECT_EQ(out[0], 0u);
    EXPECT_EQ(p("[NaN]").status, TextStatus::NotANumber);
    EXPECT_EQ(p("[-inf]").status, TextStatus::Infinite);
    // One rounding decimal -> double -> half: just above the tie between 1
    // and 1+2^-10, but within float precision of it (via float it would
    // become the tie and round to even, 1).
    EXPECT_EQ(p("[1.000488281251]").status, TextStatus::Ok);
    EXPECT_EQ(out[0], 0x3c01u);
}

TEST(BinaryFormat, RandomVectorsRoundTrip) {
    std::mt19937 rng(99);
    for (int iter = 0; iter < 2000; ++iter) {
        const std::size_t dim = 1 + rng() % 300;
        std::vector<float> v(dim);
        std::vector<std::uint16_t> h(dim);
        for (std::size_t i = 0; i < dim; ++i) {
            do v[i] = from_bits(static_cast<std::uint32_t>(rng()));
            while (!std::isfinite(v[i]));
            do h[i] = static_cast<std::uint16_t>(rng());
            while (!half_bits_finite(h[i]));
        }
        std::vector<unsigned char> buf(vector_binary_size(dim));
        ASSERT_EQ(encode_vector_binary(v.data(), dim, buf.data()), buf.size());
        EXPECT_EQ(buf[0] * 256 + buf[1], static_cast<int>(dim));
        std::vector<float> back(dim);
        BinaryDecode d = decode_vector_binary(buf.data(), buf.size(), back.data(), 16000);
        ASSERT_EQ(d.status, BinaryStatus::Ok);
        ASSERT_EQ(d.dim, dim);
        ASSERT_EQ(std::memcmp(back.data(), v.data(), 4 * dim), 0);

        std::vector<unsigned char> hbuf(halfvec_binary_size(dim));
        ASSERT_EQ(encode_halfvec_binary(h.data(), dim, hbuf.data()), hbuf.size());
        std::vector<std::uint16_t> hback(dim);
        d = decode_halfvec_binary(hbuf.data(), hbuf.size(), hback.data(), 16000);
        ASSERT_EQ(d.status, BinaryStatus::Ok);
        ASSERT_EQ(hback, h);
    }
}

TEST(BinaryFormat, NetworkByteOrder) {
    const float v[] = {1.0f, -2.0f};
    unsigned char buf[12];
    encode_vector_binary(v, 2, buf);
    const unsigned char expected[] = {0, 2, 0, 0, 0x3f, 0x80, 0, 0, 0xc0, 0, 0, 0};
    EXPECT_EQ(std::memcmp(buf, expected, sizeof buf), 0);
}

TEST(BinaryFormat, RejectsHostileInput) {
    float out[4];
    std::uint16_t hout[4];
    const auto dv = [&](std::vector<unsigned char> b) { return decode_vector_binary(b.data(), b.size(), out, 4); };
    const auto dh = [&](std::vector<unsigned char> b) { return decode_halfvec_binary(b.data(), b.size(), hout, 4); };
    EXPECT_EQ(dv({}).status, BinaryStatus::Truncated);
    EXPECT_EQ(dv({0, 1, 0}).status, BinaryStatus::Truncated);
    EXPECT_EQ(dv({0, 0, 0, 0}).status, BinaryStatus::DimTooSmall);
    EXPECT_EQ(dv({0xff, 0xff, 0, 0, 0x3f, 0x80, 0, 0}).status, BinaryStatus::DimTooSmall);
    EXPECT_EQ(dv({0, 5, 0, 0, 0x3f, 0x80, 0, 0}).status, BinaryStatus::DimTooLarge);  // capacity 4
    EXPECT_EQ(dv({0, 1, 0, 1, 0x3f, 0x80, 0, 0}).status, BinaryStatus::NonZeroUnused);
    EXPECT_EQ(dv({0, 2, 0, 0, 0x3f, 0x80, 0, 0}).status, BinaryStatus::LengthMismatch);
    EXPECT_EQ(dv({0, 1, 0, 0, 0x3f, 0x80, 0, 0, 0}).status, BinaryStatus::LengthMismatch);
    BinaryDecode d = dv({0, 2, 0, 0, 0x3f, 0x80, 0, 0, 0x7f, 0xc0, 0, 1});
    EXPECT_EQ(d.status, BinaryStatus::NotANumber);
    EXPECT_EQ(d.index, 1u);
    EXPECT_EQ(dv({0, 1, 0, 0, 0xff, 0x80, 0, 0}).status, BinaryStatus::Infinite);
    EXPECT_EQ(dh({0, 1, 0, 0, 0x7e, 0}).status, BinaryStatus::NotANumber);
    EXPECT_EQ(dh({0, 1, 0, 0, 0xfc, 0}).status, BinaryStatus::Infinite);
    EXPECT_EQ(dh({0, 2, 0, 0, 0x3c, 0}).status, BinaryStatus::LengthMismatch);
    EXPECT_EQ(dh({0, 1, 0, 0, 0x3c, 0}).status, BinaryStatus::Ok);
    const unsigned char header_only[] = {0, 1, 0, 0};
    EXPECT_EQ(read_binary_header(header_only, 4, 4, 16000).status, BinaryStatus::LengthMismatch);
    EXPECT_STRNE(binary_status_message(BinaryStatus::LengthMismatch), "");
}
