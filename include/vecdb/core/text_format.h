// The text format of vector and halfvec values: "[1,2.5,-3e-07]".
//
// Grammar: ws* '[' ws* number (ws* ',' ws* number)* ws* ']' ws*
// where ws is one of " \t\n\r\v\f" and number is an optional sign followed by
// a decimal floating-point literal (no hex, no thousands separators). Parsing
// is locale-independent (std::from_chars), never allocates and never reads
// past the given length (the input need not be NUL-terminated), so the
// functions are safe to fuzz.
//
// Output is the shortest text that reads back to the same element: the
// shortest round-trip float for vector, the shortest decimal that rounds to
// the same float16 for halfvec.
#pragma once
#include <cstddef>
#include <cstdint>

namespace vecdb::core {

enum class TextStatus : int {
    Ok = 0,
    ExpectedOpenBracket,   // the value does not start with '['
    ExpectedNumber,        // an element is missing or is not a number
    ExpectedCommaOrClose,  // something other than ',' or ']' follows an element
    TrailingCharacters,    // something other than whitespace follows ']'
    Empty,                 // "[]": a vector has at least one element
    TooManyElements,       // more elements than the caller's capacity
    NotANumber,            // NaN is not a valid element
    Infinite,              // neither is ±Infinity
    OutOfRange,            // a finite literal the element type cannot hold
};

struct TextParse {
    TextStatus status;
    std::size_t pos;        // byte offset of the problem (of the element for value errors)
    std::size_t token_len;  // length of the offending number, for value errors
    std::size_t dim;        // elements stored (on Ok: the dimension)
};

// A human-readable description of a status ("expected \",\" or \"]\"").
const char* text_status_message(TextStatus s) noexcept;

// An upper bound on the number of elements in s (commas + 1): lets a caller
// size the output buffer before parsing. Never less than 1.
std::size_t text_element_bound(const char* s, std::size_t n) noexcept;

// Parse s[0, n) into out[0, capacity). Syntax errors are reported before
// TooManyElements only when they occur before the (capacity+1)-th element.
TextParse parse_vector_text(const char* s, std::size_t n, float* out, std::size_t capacity) noexcept;
// Elements are rounded (once, to nearest even) to float16 bit patterns; finite
// literals that round beyond ±65504 are OutOfRange.
TextParse parse_halfvec_text(const char* s, std::size_t n, std::uint16_t* out,
                             std::size_t capacity) noexcept;

// Longest text of one element ("-1.17549435e-38" has 15 characters).
constexpr std::size_t kMaxElementChars = 16;
// Buffer size that always suffices for format_*_text of dim elements,
// including the terminating NUL.
constexpr std::size_t text_capacity(std::size_t dim) noexcept {
    return 2 + dim * (kMaxElementChars + 1) + 1;
}

// Write "[e1,e2,...]" plus a NUL into out[0, capacity). Returns the length
// without the NUL, or 0 when capacity is too small (nothing useful written).
std::size_t format_vector_text(const float* v, std::size_t dim, char* out, std::size_t capacity) noexcept;
std::size_t format_halfvec_text(const std::uint16_t* v, std::size_t dim, char* out,
                                std::size_t capacity) noexcept;

// One element, no NUL; out must hold kMaxElementChars. Returns the length.
std::size_t format_float(float f, char* out) noexcept;
std::size_t format_half(std::uint16_t h, char* out) noexcept;

}  // namespace vecdb::core
