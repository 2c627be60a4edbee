/* test_blas_coretype.c: the OPENBLAS_CORETYPE trap. On an AVX-512 CPU this test forces
 * OPENBLAS_CORETYPE=Haswell (first run), calls sdf_blas_fix_coretype(), which must re-execute
 * the test with an AVX-512 core; the second run checks OpenBLAS now reports that core and that
 * the loop guard stops a second re-exec. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/kernels/kernels.h"
#include "testing.h"

static int g_argc;
static char **g_argv;

static void test_coretype(void) {
    __builtin_cpu_init();
    bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                  __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    const char *again = getenv("SDF_BLAS_REEXEC");
    char msg[256];
    sdf_blas_fix ret = sdf_blas_fix_coretype(g_argc, g_argv, msg, sizeof msg);
    const char *core = sdf_blas_corename();
    fprintf(stderr, "  OpenBLAS core %s, OPENBLAS_CORETYPE=%s, re-executed=%s\n", core,
            getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "", again ? again : "no");
    if (!avx512) {
        CHECK(ret == SDF_BLAS_OK);
        return;
    }
    /* here only after a re-exec (or when the first load already picked an AVX-512 core) */
    CHECK(ret == SDF_BLAS_OK);
    CHECKF(strcasecmp(core, "haswell") != 0, "still on %s: %s", core, msg);
}

int main(int argc, char **argv) {
    g_argc = argc;
    g_argv = argv;
    /* first run: force the trap (OpenBLAS has already loaded with the inherited value, so set it
     * and re-exec ourselves once to start under Haswell) */
    if (!getenv("SDF_TEST_CORETYPE_STAGE")) {
        setenv("SDF_TEST_CORETYPE_STAGE", "1", 1);
        setenv("OPENBLAS_CORETYPE", "Haswell", 1);
        unsetenv("SDF_BLAS_REEXEC");
        unsetenv("SDF_KEEP_BLAS_CORETYPE");
        execv("/proc/self/exe", argv);
        return 1;
    }
    RUN(test_coretype);
    return test_summary();
}
