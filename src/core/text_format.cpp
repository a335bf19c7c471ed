#include "vecdb/core/text_format.h"
#include "vecdb/core/half_exact.h"
#include "vecdb/core/no_postgres.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <system_error>

namespace vecdb::core {
namespace {

bool is_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::size_t skip_space(const char* s, std::size_t n, std::size_t i) noexcept {
    while (i < n && is_space(s[i])) ++i;
    return i;
}

enum class NumberKind { Finite, NaN, Infinite, OutOfRange, NotANumber };

struct Number {
    NumberKind kind;
    std::size_t end;
};

// One literal at s[i, n). from_chars takes no leading '+', so a single one is
// skipped here (strtof-based parsers accept it and clients send it).
template <typename T>
Number read_number(const char* s, std::size_t n, std::size_t i, T* value) noexcept {
    std::size_t start = i;
    if (start < n && s[start] == '+') {
        ++start;
        if (start < n && (s[start] == '+' || s[start] == '-')) return {NumberKind::NotANumber, i};
    }
    const std::from_chars_result r = std::from_chars(s + start, s + n, *value, std::chars_format::general);
    const std::size_t end = static_cast<std::size_t>(r.ptr - s);
    if (r.ec == std::errc::invalid_argument) return {NumberKind::NotANumber, i};
    if (r.ec == std::errc::result_out_of_range) return {NumberKind::OutOfRange, end};
    if (std::isnan(*value)) return {NumberKind::NaN, end};
    if (std::isinf(*value)) return {NumberKind::Infinite, end};
    return {NumberKind::Finite, end};
}

TextParse fail(TextStatus st, std::size_t pos, std::size_t dim, std::size_t token_len = 0) noexcept {
    return TextParse{st, pos, token_len, dim};
}

// The shared grammar; Element converts one literal at s[i, n) and stores it.
template <typename Store>
TextParse parse_text(const char* s, std::size_t n, std::size_t capacity, Store store) noexcept {
    std::size_t i = skip_space(s, n, 0);
    if (i >= n || s[i] != '[') return fail(TextStatus::ExpectedOpenBracket, i, 0);
    i = skip_space(s, n, i + 1);
    if (i < n && s[i] == ']') return fail(TextStatus::Empty, i, 0);

    std::size_t dim = 0;
    for (;;) {
        if (dim == capacity) return fail(TextStatus::TooManyElements, i, dim);
        Number num{NumberKind::NotANumber, i};
        const TextStatus st = store(s, n, i, dim, &num);
        if (st != TextStatus::Ok) {
            const std::size_t len = num.end > i ? num.end - i : 0;
            return fail(st, i, dim, len);
        }
        ++dim;
        i = skip_space(s, n, num.end);
        if (i < n && s[i] == ',') {
            i = skip_space(s, n, i + 1);
            continue;
        }
        if (i < n && s[i] == ']') break;
        return fail(TextStatus::ExpectedCommaOrClose, i, dim);
    }
    i = skip_space(s, n, i + 1);
    if (i != n) return fail(TextStatus::TrailingCharacters, i, dim);
    return TextParse{TextStatus::Ok, n, 0, dim};
}

TextStatus status_of(NumberKind k) noexcept {
    switch (k) {
        case NumberKind::Finite: return TextStatus::Ok;
        case NumberKind::NaN: return TextStatus::NotANumber;
        case NumberKind::Infinite: return TextStatus::Infinite;
        case NumberKind::OutOfRange: return TextStatus::OutOfRange;
        case NumberKind::NotANumber: break;
    }
    return TextStatus::ExpectedNumber;
}


template <typename T, typename Format>
std::size_t format_text(const T* v, std::size_t dim, char* out, std::size_t capacity, Format fmt) noexcept {
    if (capacity == 0) return 0;
    std::size_t pos = 0;
    out[pos++] = '[';
    for (std::size_t i = 0; i < dim; ++i) {
        if (pos + kMaxElementChars + 3 > capacity) return 0;  // element, ',' or ']', NUL
        if (i > 0) out[pos++] = ',';
        pos += fmt(v[i], out + pos);
    }
    if (pos + 2 > capacity) return 0;
    out[pos++] = ']';
    out[pos] = '\0';
    return pos;
}

// Decimal candidate m * 10^exp10 as a double (correctly rounded by from_chars).
bool decimal_to_double(long long m, int exp10, double* out) noexcept {
    char buf[48];
    std::to_chars_result r = std::to_chars(buf, buf + 40, m);
    *r.ptr++ = 'e';
    r = std::to_chars(r.ptr, buf + sizeof buf, exp10);
    return std::from_chars(buf, r.ptr, *out).ec == std::errc();
}

}  // namespace

const char* text_status_message(TextStatus s) noexcept {
    switch (s) {
        case TextStatus::Ok: return "ok";
        case TextStatus::ExpectedOpenBracket: return "expected \"[\"";
        case TextStatus::ExpectedNumber: return "expected a number";
        case TextStatus::ExpectedCommaOrClose: return "expected \",\" or \"]\"";
        case TextStatus::TrailingCharacters: return "unexpected characters after \"]\"";
        case TextStatus::Empty: return "a vector must have at least 1 dimension";
        case TextStatus::TooManyElements: return "too many elements";
        case TextStatus::NotANumber: return "NaN is not allowed";
        case TextStatus::Infinite: return "infinite values are not allowed";
        case TextStatus::OutOfRange: return "value out of range";
    }
    return "unknown status";
}

std::size_t text_element_bound(const char* s, std::size_t n) noexcept {
    std::size_t commas = 0;
    for (std::size_t i = 0; i < n; ++i) commas += s[i] == ',';
    return commas + 1;
}

TextParse parse_vector_text(const char* s, std::size_t n, float* out, std::size_t capacity) noexcept {
    return parse_text(s, n, capacity,
                      [out](const char* str, std::size_t len, std::size_t at, std::size_t k, Number* num) noexcept {
                          float f = 0;
                          *num = read_number(str, len, at, &f);
                          if (num->kind == NumberKind::Finite) out[k] = f;
                          return status_of(num->kind);
                      });
}

TextParse parse_halfvec_text(const char* s, std::size_t n, std::uint16_t* out, std::size_t capacity) noexcept {
    return parse_text(s, n, capacity,
                      [out](const char* str, std::size_t len, std::size_t at, std::size_t k, Number* num) noexcept {
                          double d = 0;
                          *num = read_number(str, len, at, &d);
                          if (num->kind != NumberKind::Finite) return status_of(num->kind);
                          const std::uint16_t h = double_to_half_bits(d);
                          if (!half_bits_finite(h)) return TextStatus::OutOfRange;
                          out[k] = h;
                          return TextStatus::Ok;
                      });
}

std::size_t format_float(float f, char* out) noexcept {
    const std::to_chars_result r = std::to_chars(out, out + kMaxElementChars, f);
    return r.ec == std::errc() ? static_cast<std::size_t>(r.ptr - out) : 0;
}

// Shortest decimal that reads back (decimal -> double -> half, as the parser
// does) to h. Half has 11 significant bits, so 5 digits always suffice. At
// each precision the correctly rounded digits and their neighbours are
// tried: near a power of two the rounding interval is lopsided and the
// nearest short decimal may fall outside it while the next one is inside.
std::size_t format_half(std::uint16_t h, char* out) noexcept {
    const double v = half_bits_to_double(h);
    if (v == 0 || !half_bits_finite(h)) {
        const std::to_chars_result r = std::to_chars(out, out + kMaxElementChars, v);
        return static_cast<std::size_t>(r.ptr - out);
    }
    for (int precision = 1; precision <= 5; ++precision) {
        char buf[32];
        const std::to_chars_result r =
            std::to_chars(buf, buf + sizeof buf, std::fabs(v), std::chars_format::scientific, precision - 1);
        // buf = "d.ddde[+-]xx": collect the digits and the exponent.
        long long digits = 0;
        const char* p = buf;
        for (; p < r.ptr && *p != 'e'; ++p)
            if (*p >= '0' && *p <= '9') digits = digits * 10 + (*p - '0');
        int exp10 = 0;
        if (p < r.ptr) {
            ++p;
            if (*p == '+') ++p;
            std::from_chars(p, r.ptr, exp10);
        }
        exp10 -= precision - 1;

        double best = 0;
        double best_err = INFINITY;
        for (long long candidate : {digits, digits - 1, digits + 1}) {
            double c;
            if (candidate <= 0 || !decimal_to_double(candidate, exp10, &c)) continue;
            if (v < 0) c = -c;
            if (double_to_half_bits(c) != h) continue;
            const double err = std::fabs(c - v);
            if (err < best_err) {
                best = c;
                best_err = err;
            }
        }
        if (best_err != INFINITY) {
            const std::to_chars_result w = std::to_chars(out, out + kMaxElementChars, best);
            return static_cast<std::size_t>(w.ptr - out);
        }
    }
    // Unreachable for finite halves (5 digits always identify one).
    const std::to_chars_result r =
        std::to_chars(out, out + kMaxElementChars, v, std::chars_format::scientific, 4);
    return static_cast<std::size_t>(r.ptr - out);
}

std::size_t format_vector_text(const float* v, std::size_t dim, char* out, std::size_t capacity) noexcept {
    return format_text(v, dim, out, capacity, format_float);
}

std::size_t format_halfvec_text(const std::uint16_t* v, std::size_t dim, char* out, std::size_t capacity) noexcept {
    return format_text(v, dim, out, capacity, format_half);
}

}  // namespace vecdb::core
