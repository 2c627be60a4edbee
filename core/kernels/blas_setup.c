/* blas_setup.c: OpenBLAS process set-up, the OPENBLAS_CORETYPE trap, FTZ/DAZ. */
#include <cblas.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xmmintrin.h>

#include "kernels.h"

void sdf_k_ftz(void) {
    /* FTZ (bit 15) and DAZ (bit 6) */
    _mm_setcsr(_mm_getcsr() | 0x8040u);
}

const char *sdf_blas_corename(void) {
    const char *n = openblas_get_corename();
    return n ? n : "unknown";
}

void sdf_blas_setup(void) {
    if (openblas_get_num_threads() != 1) openblas_set_num_threads(1);
    /* Layer buffers (tens of MB) are freed and re-allocated every layer; with glibc's default
     * mmap threshold each one is a fresh mapping whose pages fault in again (expensive in this
     * VM). Keep them in the heap instead; idempotent. */
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
}

static bool core_is_avx512(const char *name) {
    static const char *const good[] = {"skylakex", "cooperlake", "sapphirerapids", "zen4",
                                       "zen5"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (strcasecmp(name, good[i]) == 0) return true;
    return false;
}

sdf_blas_fix sdf_blas_fix_coretype(int argc, char **argv, char *msg, size_t msg_cap) {
    (void)argc;
    if (msg && msg_cap) msg[0] = 0;
    __builtin_cpu_init();
    bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                  __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    if (!avx512) return SDF_BLAS_OK;
    const char *core = sdf_blas_corename();
    if (core_is_avx512(core)) return SDF_BLAS_OK;
    const char *want = __builtin_cpu_supports("avx512bf16") ? "Cooperlake" : "SkylakeX";
    const char *keep = getenv("SDF_KEEP_BLAS_CORETYPE");
    const char *again = getenv("SDF_BLAS_REEXEC");
    if ((keep && strcmp(keep, "1") == 0) || (again && strcmp(again, "1") == 0) || !argv) {
        if (msg)
            snprintf(msg, msg_cap,
                     "warning: OpenBLAS runs its %s kernels on a CPU with AVX-512 (%s would be "
                     "about 2x faster); OPENBLAS_CORETYPE=%s",
                     core, want, getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "");
        return SDF_BLAS_SUBOPTIMAL;
    }
    if (setenv("OPENBLAS_CORETYPE", want, 1) != 0 || setenv("SDF_BLAS_REEXEC", "1", 1) != 0)
        goto failed;
    execv("/proc/self/exe", argv);
failed:
    if (msg)
        snprintf(msg, msg_cap,
                 "warning: OpenBLAS runs its %s kernels on an AVX-512 CPU and re-executing with "
                 "OPENBLAS_CORETYPE=%s failed; running at reduced speed",
                 core, want);
    return SDF_BLAS_REEXEC_FAILED;
}
