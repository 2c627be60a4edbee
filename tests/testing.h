/* testing.h: the test harness every tests/test_*.c uses (header-only).
 *
 * Owns:      CHECK/REQUIRE macros that record failures and keep going, a runner that prints
 *            "N passed, N failed" per file, reference-data lookup, and tensor comparison.
 * Reference: ../shared beside the source tree, or $SDF_SHARED. When absent a test that needs it
 *            skips (exit 77, which ctest reports as skipped) with a message, except under CI=true,
 *            where a missing reference is a failure.
 */
#ifndef SDF_TESTING_H
#define SDF_TESTING_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef SDF_SOURCE_DIR
#define SDF_SOURCE_DIR "."
#endif

typedef struct test_state {
    int n_pass, n_fail, cur_failed, skipped;
    const char *cur;
} test_state;

static test_state test_g; /* per test executable */

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "  FAIL %s:%d in %s: %s\n", __FILE__, __LINE__, test_g.cur, #cond); \
            test_g.cur_failed = 1;                                                           \
        }                                                                                    \
    } while (0)

#define CHECKF(cond, ...)                                                                    \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "  FAIL %s:%d in %s: %s: ", __FILE__, __LINE__, test_g.cur, #cond); \
            fprintf(stderr, __VA_ARGS__);                                                    \
            fprintf(stderr, "\n");                                                           \
            test_g.cur_failed = 1;                                                           \
        }                                                                                    \
    } while (0)

#define REQUIRE(cond)                                                                        \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "  FAIL %s:%d in %s: %s (stopping this test)\n", __FILE__,       \
                    __LINE__, test_g.cur, #cond);                                            \
            test_g.cur_failed = 1;                                                           \
            return;                                                                          \
        }                                                                                    \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                                \
    do {                                                                                     \
        double a_ = (double)(a), b_ = (double)(b);                                           \
        CHECKF(fabs(a_ - b_) <= (tol), "%.9g vs %.9g (tol %.3g)", a_, b_, (double)(tol));    \
    } while (0)

#define CHECK_STR(a, b)                                                                      \
    do {                                                                                     \
        const char *a_ = (a), *b_ = (b);                                                     \
        CHECKF(a_ && b_ && strcmp(a_, b_) == 0, "\"%s\" vs \"%s\"", a_ ? a_ : "(null)",      \
               b_ ? b_ : "(null)");                                                          \
    } while (0)

#define RUN(fn)                                                                              \
    do {                                                                                     \
        test_g.cur = #fn;                                                                    \
        test_g.cur_failed = 0;                                                               \
        fn();                                                                                \
        if (test_g.cur_failed) test_g.n_fail++;                                              \
        else test_g.n_pass++;                                                                \
        fprintf(stderr, "%s %s\n", test_g.cur_failed ? "not ok" : "ok", #fn);                \
    } while (0)

static inline int test_summary(void) {
    printf("%d passed, %d failed\n", test_g.n_pass, test_g.n_fail);
    if (test_g.n_fail) return 1;
    if (test_g.skipped && test_g.n_pass == 0) return 77;
    return 0;
}

static inline int test_is_ci(void) {
    const char *ci = getenv("CI");
    return ci && ci[0] && strcmp(ci, "0") != 0 && strcmp(ci, "false") != 0;
}

/* Directory of the shared reference material, or NULL (after reporting) when absent. */
static inline const char *test_shared_dir(void) {
    static char buf[4096];
    const char *env = getenv("SDF_SHARED");
    struct stat sb;
    snprintf(buf, sizeof buf, "%s", env && env[0] ? env : SDF_SOURCE_DIR "/../shared");
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/reference/README.md", buf);
    if (stat(probe, &sb) == 0) return buf;
    return NULL;
}

/* Path of a file under shared/reference, e.g. test_ref_path("golden/clip.safetensors"). */
static inline const char *test_ref_path(const char *rel) {
    static char buf[4][4096];
    static int k;
    const char *s = test_shared_dir();
    if (!s) return NULL;
    char *b = buf[k++ & 3];
    snprintf(b, 4096, "%s/reference/%s", s, rel);
    return b;
}

/* Use at the top of a test that needs the reference: skips (or fails under CI). */
#define NEED_REFERENCE()                                                                     \
    do {                                                                                     \
        if (!test_shared_dir()) {                                                            \
            if (test_is_ci()) {                                                              \
                fprintf(stderr, "  FAIL %s: reference data not found (set SDF_SHARED or "    \
                                "put shared/ beside the source tree); required under CI\n",  \
                        test_g.cur);                                                         \
                test_g.cur_failed = 1;                                                       \
            } else {                                                                         \
                fprintf(stderr, "  SKIP %s: reference data not found (set SDF_SHARED)\n",    \
                        test_g.cur);                                                         \
                test_g.skipped = 1;                                                          \
            }                                                                                \
            return;                                                                          \
        }                                                                                    \
    } while (0)

/* Compares n floats: passes when max|got-ref| <= abs_tol AND <= rel_of_max * max|ref|
 * (either bound may be disabled with a negative value). Prints the errors either way. */
static inline int test_compare(const char *what, const float *got, const float *ref, size_t n,
                               double abs_tol, double rel_of_max) {
    double max_err = 0, max_ref = 0;
    size_t worst = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - (double)ref[i]);
        if (!(e <= max_err)) { max_err = e; worst = i; } /* NaN counts as worst */
        if (fabs(ref[i]) > max_ref) max_ref = fabs(ref[i]);
    }
    int ok = 1;
    if (abs_tol >= 0 && !(max_err <= abs_tol)) ok = 0;
    if (rel_of_max >= 0 && !(max_err <= rel_of_max * max_ref)) ok = 0;
    fprintf(stderr, "  %s %s: max abs err %.3g (at %zu: %.7g vs %.7g), max|ref| %.4g, rel %.3g\n",
            ok ? "   " : "BAD", what, max_err, worst, n ? got[worst] : 0.0, n ? ref[worst] : 0.0,
            max_ref, max_ref > 0 ? max_err / max_ref : 0.0);
    if (!ok) test_g.cur_failed = 1;
    return ok;
}

#endif
