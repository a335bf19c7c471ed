// vecdb.crash_point: see include/vecdb/pg/crash_point.h.
#include <csignal>
#include <cstdlib>
#include <cstring>

#include "vecdb/pg/crash_point.h"
#include "vecdb/pg/pg_includes.h"

extern "C" {
#include "access/xlog.h"
#include "utils/guc.h"
}

namespace vecdb::pg {

char* crash_point_setting = nullptr;

namespace {

constexpr std::size_t kMaxName = 63;
char armed_name[kMaxName + 1];
long armed_count = 1;  // die on this pass
long passes = 0;       // of the armed point since it was set

// "name" or "name:N" (N >= 1); the name is letters, digits and '_'.
bool parse(const char* value, char* name, long* count) {
    const char* colon = std::strchr(value, ':');
    const std::size_t len = colon ? static_cast<std::size_t>(colon - value) : std::strlen(value);
    if (len == 0 || len > kMaxName) return false;
    for (std::size_t i = 0; i < len; ++i) {
        const char c = value[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    }
    long n = 1;
    if (colon) {
        char* end = nullptr;
        n = std::strtol(colon + 1, &end, 10);
        if (end == colon + 1 || *end != '\0' || n < 1) return false;
    }
    std::memcpy(name, value, len);
    name[len] = '\0';
    *count = n;
    return true;
}

bool check_crash_point(char** newval, void** /*extra*/, GucSource /*source*/) {
    if (*newval == nullptr || (*newval)[0] == '\0') return true;
    char name[kMaxName + 1];
    long n;
    if (parse(*newval, name, &n)) return true;
    GUC_check_errdetail("Expected a point name (lower-case letters, digits, '_'), optionally followed by ':N'.");
    return false;
}

void assign_crash_point(const char* newval, void* /*extra*/) {
    armed_name[0] = '\0';
    armed_count = 1;
    passes = 0;
    if (newval != nullptr && newval[0] != '\0') parse(newval, armed_name, &armed_count);
}

}  // namespace

void crash_point_passed(const char* name) {
    if (std::strcmp(name, armed_name) != 0 || ++passes < armed_count) return;
    // What was logged so far is durable, and nothing after this: recovery
    // sees the index exactly as this point left it.
    XLogFlush(XactLastRecEnd);  // (the insert position may be past a page header nothing has filled yet)
    ereport(LOG, (errmsg("vecdb: crash point \"%s\" reached (pass %ld): terminating the server process", name,
                         passes)));
    // SIGKILL, as the OOM killer or a power cut would: no cleanup runs, and
    // the postmaster resets shared memory and replays WAL.
    kill(MyProcPid, SIGKILL);
    std::abort();  // not reached
}

void define_crash_point_setting() {
    DefineCustomStringVariable("vecdb.crash_point",
                               "Testing only: the crash point at which this backend dies (name or name:N).",
                               "Crashes the whole server (every backend restarts, WAL is replayed). Point names are "
                               "listed in docs/reliability.md.",
                               &crash_point_setting, "", PGC_SUSET,
                               GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE, check_crash_point,
                               assign_crash_point, nullptr);
}

}  // namespace vecdb::pg
