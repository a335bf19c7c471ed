/*
 * Preloaded right after the ASan runtime by .ci/asan (never linked into vecdb).
 *
 * Why: a program that is not linked with ASan gets its runtime through
 * LD_PRELOAD, and the runtime then initialises lazily, on the first malloc.
 * In Postgres that malloc happens inside a library constructor that holds a
 * glibc locale lock for writing (p11-kit calls newlocale(), libgpg-error
 * calls bindtextdomain()). ASan's initialisation looks up "swift_demangle"
 * with dlsym(), which fails, and then calls dlerror(); dlerror() translates
 * its message with dcgettext(), which read-locks the same lock. glibc
 * refuses a read lock held for writing by the same thread (EDEADLK) but
 * dcgettext() unlocks it anyway, the reader count underflows, and the next
 * setlocale()/bindtextdomain() waits forever. Every Postgres program hung
 * that way (glibc 2.36; compare llvm/llvm-project#49223).
 *
 * Defining swift_demangle makes the lookup succeed, so dlerror() has nothing
 * to translate and the lock stays sound. ASan calls it only to demangle
 * Swift names in reports; returning NULL means "not a Swift name".
 */
#include <stddef.h>
#include <stdint.h>

char *swift_demangle(const char *mangled, size_t mangled_len, char *out, size_t *out_len, uint32_t flags);

char *swift_demangle(const char *mangled, size_t mangled_len, char *out, size_t *out_len, uint32_t flags)
{
    (void) mangled;
    (void) mangled_len;
    (void) out;
    (void) out_len;
    (void) flags;
    return NULL;
}

/*
 * UBSan's options. Postgres reuses the memory of its environment for the
 * process title (ps display), and the sanitizer runtimes read their options
 * from /proc/self/environ, which then shows that title instead. ASan reads
 * its options when the postmaster starts, before that, and backends inherit
 * them; the UBSan runtime (libubsan, loaded with vecdb.so) reads them at its
 * first report, in a backend, and would find none: no log file, no stack,
 * no halt. So the options are copied at process start and handed over
 * through the runtime's default-options hook.
 */
static char ubsan_options[2048];

const char *__ubsan_default_options(void);

const char *__ubsan_default_options(void)
{
    return ubsan_options;
}

__attribute__((constructor)) static void save_ubsan_options(void)
{
    extern char **environ;
    static const char name[] = "UBSAN_OPTIONS=";
    for (char **e = environ; e && *e; e++) {
        size_t i = 0;
        while (name[i] && (*e)[i] == name[i])
            i++;
        if (name[i] != '\0')
            continue;
        const char *v = *e + i;
        size_t n = 0;
        while (v[n] && n + 1 < sizeof ubsan_options) {
            ubsan_options[n] = v[n];
            n++;
        }
        ubsan_options[n] = '\0';
        return;
    }
}
