// The C++/Postgres boundary. Code that may throw (anything in the core, any
// std:: container) runs inside vecdb::pg::guarded(); an exception becomes an
// ereport(ERROR) raised *after* the catch block has been left, so no C++
// unwinding and no longjmp ever cross each other.
//
// Rule for the lambda: pure C++ only. It must not call a Postgres function
// that can ereport (palloc, ReadBuffer, …): an ERROR would longjmp through it.
#pragma once
#include <exception>
#include <new>
#include <type_traits>
#include <utility>

namespace vecdb::pg {

enum class FailureKind : int { None = 0, OutOfMemory, Exception, Unknown };

// Raises ERROR; defined in guard.cpp (Postgres side). Never returns.
[[noreturn]] void raise_failure(FailureKind kind, const char* message) noexcept;

template <typename F>
decltype(auto) guarded(F&& body) noexcept {
    FailureKind kind = FailureKind::None;
    char message[256];
    message[0] = '\0';
    try {
        return std::forward<F>(body)();
    } catch (const std::bad_alloc&) {
        kind = FailureKind::OutOfMemory;
    } catch (const std::exception& e) {
        kind = FailureKind::Exception;
        const char* w = e.what();
        std::size_t i = 0;
        for (; w && w[i] && i + 1 < sizeof message; ++i) message[i] = w[i];
        message[i] = '\0';
    } catch (...) {
        kind = FailureKind::Unknown;
    }
    raise_failure(kind, message);
}

}  // namespace vecdb::pg
