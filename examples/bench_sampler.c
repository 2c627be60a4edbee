/* bench_sampler.c: seconds per sampling step of KSampler on a checkpoint (UNet only; cond and
 * uncond batched in one call), e.g. a full-size random-weight SD1.5 from `sdflow make-model`:
 *   build/example_bench_sampler model.safetensors [size=512] [threads=2] [steps=3] [samplers...]
 * Prints the time of each step after the first (the first includes weight preparation). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/base/threadpool.h"
#include "core/kernels/kernels.h"
#include "core/models/checkpoint.h"
#include "core/models/ksampler.h"
#include "core/models/sampler_names.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct timing {
    double last, sum;
    int n;
} timing;

static sdf_status on_step(void *user, int i, int total, const float *x, const float *den,
                          sdf_error *err) {
    timing *t = user;
    (void)x, (void)den, (void)err;
    double now = now_s();
    if (i > 0) {
        printf("    step %d/%d: %.2f s\n", i, total, now - t->last);
        t->sum += now - t->last;
        t->n++;
    }
    t->last = now;
    fflush(stdout);
    return SDF_OK;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s model.safetensors [size] [threads] [steps] [samplers...]\n",
                argv[0]);
        return 2;
    }
    int size = argc > 2 ? atoi(argv[2]) : 512, threads = argc > 3 ? atoi(argv[3]) : 2;
    int steps = argc > 4 ? atoi(argv[4]) : 3;
    sdf_blas_setup();
    sdf_k_ftz();
    sdf_error err = {0};
    sdf_model *m = NULL;
    sdf_checkpoint_opts opts = {0};
    if (sdf_checkpoint_load(argv[1], &opts, &m, NULL, NULL, &err) != SDF_OK) {
        fprintf(stderr, "load: %s\n", err.msg);
        return 1;
    }
    sdf_pool *pool = NULL;
    sdf_pool_new(threads, &pool, &err);
    int64_t T = 77, D = m->unet.context_dim;
    sdf_tensor *ctx = sdf_tensor_f32(&err, 3, (int64_t)1, T, D);
    for (int64_t i = 0; i < T * D; i++) sdf_tensor_f32p(ctx)[i] = (float)((i * 37) % 101) / 101.0f - 0.5f;
    sdf_value *pos = sdf_value_conditioning(1), *neg = sdf_value_conditioning(1);
    pos->u.cond.e[0].cond = sdf_tensor_retain(ctx);
    neg->u.cond.e[0].cond = sdf_tensor_retain(ctx);
    sdf_tensor *lat = sdf_tensor_f32(&err, 4, (int64_t)1, (int64_t)4, (int64_t)(size / 8),
                                     (int64_t)(size / 8));
    sdf_latent l = {.samples = lat};
    const char *defaults[] = {"euler", "dpmpp_2m"};
    int ns = argc > 5 ? argc - 5 : 2;
    for (int s = 0; s < ns; s++) {
        const char *name = argc > 5 ? argv[5 + s] : defaults[s];
        timing t = {0};
        sdf_ksampler_opts o = {.seed = 1, .steps = steps, .cfg = 7.0,
                               .sampler = sdf_sampler_index(name),
                               .scheduler = sdf_scheduler_index("karras"), .denoise = 1.0,
                               .start_step = -1, .last_step = -1, .pool = pool,
                               .step = on_step, .step_user = &t};
        printf("%s, %dx%d, %d threads:\n", name, size, size, threads);
        t.last = now_s();
        sdf_tensor *out = NULL;
        if (sdf_ksample(m, &l, &pos->u.cond, &neg->u.cond, &o, &out, &err) != SDF_OK) {
            fprintf(stderr, "sample: %s\n", err.msg);
            return 1;
        }
        if (t.n) printf("  %s: %.2f s/step (mean of %d)\n", name, t.sum / t.n, t.n);
        sdf_tensor_release(out);
    }
    sdf_tensor_release(lat);
    sdf_tensor_release(ctx);
    sdf_value_release(pos);
    sdf_value_release(neg);
    sdf_pool_free(pool);
    sdf_model_release(m);
    return 0;
}
