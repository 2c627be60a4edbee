/* cmd_make_model.c: `sdflow make-model` writes a random-weight checkpoint (core/models/make_model.h).
 *   sdflow make-model --arch sd15|sd15-inpaint|sd21|sd21-v|tiny [--seed N] [--dtype f16|f32] OUT
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/base/error.h"
#include "../core/models/make_model.h"

int sdf_cmd_make_model(int argc, char **argv);

static void mm_usage(FILE *f) {
    fprintf(f, "usage: sdflow make-model --arch sd15|sd15-inpaint|sd21|sd21-v|tiny [--seed N] "
               "[--dtype f16|f32] OUT.safetensors\n");
}

int sdf_cmd_make_model(int argc, char **argv) {
    const char *arch = NULL, *out = NULL, *dtype = "f16";
    unsigned long long seed = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { mm_usage(stdout); return 0; }
        if ((!strcmp(a, "--arch") || !strcmp(a, "--seed") || !strcmp(a, "--dtype")) && i + 1 >= argc) {
            fprintf(stderr, "sdflow make-model: %s needs a value\n", a);
            return 2;
        }
        if (!strcmp(a, "--arch")) arch = argv[++i];
        else if (!strcmp(a, "--dtype")) dtype = argv[++i];
        else if (!strcmp(a, "--seed")) {
            char *end;
            errno = 0;
            seed = strtoull(argv[++i], &end, 10);
            if (errno || *end || argv[i][0] == '-') {
                fprintf(stderr, "sdflow make-model: bad --seed '%s'\n", argv[i]);
                return 2;
            }
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "sdflow make-model: unknown option '%s'\n", a);
            mm_usage(stderr);
            return 2;
        } else if (!out) out = a;
        else {
            fprintf(stderr, "sdflow make-model: more than one output file\n");
            return 2;
        }
    }
    if (!arch || !out) { mm_usage(stderr); return 2; }
    int ai = sdf_mm_arch_from_name(arch);
    if (ai < 0) {
        fprintf(stderr, "sdflow make-model: unknown --arch '%s' (sd15, sd15-inpaint, sd21, "
                        "sd21-v, tiny)\n", arch);
        return 2;
    }
    sdf_dtype dt;
    if (!strcmp(dtype, "f16")) dt = SDF_DTYPE_F16;
    else if (!strcmp(dtype, "f32")) dt = SDF_DTYPE_F32;
    else {
        fprintf(stderr, "sdflow make-model: --dtype must be f16 or f32\n");
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    sdf_error err;
    sdf_error_clear(&err);
    if (sdf_make_model((sdf_mm_arch)ai, seed, dt, out, &err) != SDF_OK) {
        char buf[2048];
        sdf_error_format(&err, buf, sizeof buf);
        fprintf(stderr, "sdflow make-model: %s\n", buf);
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    fprintf(stderr, "wrote %s (%s, seed %llu, %s) in %.1f s\n", out, arch, seed, dtype,
            (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    return 0;
}
