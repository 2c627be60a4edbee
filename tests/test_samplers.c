/* test_samplers.c: sampler x scheduler trajectories against the reference (golden/sample_*,
 * img2img*, inpaint_*) with the UNet replaced by the recorded calls, schedules against
 * golden/model_sampling, and self-consistency of the samplers the reference does not cover. */
#include "testing.h"

#include "core/base/alloc.h"
#include "core/io/safetensors.h"
#include "core/models/guidance.h"
#include "core/models/rng.h"
#include "core/models/sampler_names.h"
#include "core/models/samplers.h"
#include "core/models/sampling.h"

#include <stdint.h>

#define LATENT_SCALE 0.18215f

typedef struct golden {
    sdf_st_file *f;
} golden;

static const float *gf(golden *g, const char *name, size_t *n) {
    const sdf_st_entry *e = sdf_st_find(g->f, name);
    if (!e || e->dtype != SDF_DTYPE_F32) return NULL;
    if (n) *n = e->nbytes / 4;
    return sdf_st_data(g->f, e);
}

static const int64_t *gi(golden *g, const char *name, size_t *n) {
    const sdf_st_entry *e = sdf_st_find(g->f, name);
    if (!e || e->dtype != SDF_DTYPE_I64) return NULL;
    if (n) *n = e->nbytes / 8;
    return sdf_st_data(g->f, e);
}

static double max_abs(const float *a, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i]));
    return m;
}

/* ---- the fake model: replays the recorded calls and checks its inputs ---- */
typedef struct replay {
    golden *g;
    const sdf_msampling *ms;
    const float *x_in, *den;
    const int64_t *ts;
    size_t n_calls, per;
    size_t call;
    double max_err_x, max_ref_x;
    int bad_timesteps;
    /* inpaint: the recorded output is post-blend; undo the blend so the wrapper redoes it */
    const float *mask, *latent;
    /* noise replay */
    const float *noises, *noise_args;
    size_t n_noises, noise_i;
    int bad_noise_args;
    /* trajectory */
    const float *traj_x;
    double max_err_traj, max_ref_traj;
    size_t n_traj;
} replay;

static sdf_status fake_denoise(void *ctx, const float *x, float sigma, float *den, float *unc,
                               sdf_error *err) {
    replay *r = ctx;
    (void)unc;
    if (r->call >= r->n_calls)
        return sdf_fail(err, SDF_ERR_INTERNAL, "more model calls than recorded (%zu)", r->n_calls);
    const float *xr = r->x_in + r->call * r->per, *dr = r->den + r->call * r->per;
    for (size_t k = 0; k < r->per; k++) {
        r->max_err_x = fmax(r->max_err_x, fabs((double)x[k] - xr[k]));
        r->max_ref_x = fmax(r->max_ref_x, fabs(xr[k]));
    }
    int t = sdf_ms_timestep(r->ms, sigma);
    int64_t ref_t; /* the file's I64 data may be unaligned */
    memcpy(&ref_t, (const char *)r->ts + r->call * sizeof(int64_t), sizeof ref_t);
    if (t != ref_t) {
        fprintf(stderr, "  call %zu: timestep %d, reference %lld (sigma %.9g)\n", r->call, t,
                (long long)ref_t, sigma);
        r->bad_timesteps++;
    }
    for (size_t k = 0; k < r->per; k++) {
        if (r->mask && r->mask[k] > 0) den[k] = (dr[k] - r->latent[k] * (1.0f - r->mask[k])) / r->mask[k];
        else den[k] = dr[k];
    }
    r->call++;
    return SDF_OK;
}

static sdf_status replay_noise(void *ctx, float s, float sn, float *out, sdf_error *err) {
    replay *r = ctx;
    if (r->noise_i >= r->n_noises)
        return sdf_fail(err, SDF_ERR_INTERNAL, "more noise draws than recorded");
    const float *a = r->noise_args + 2 * r->noise_i;
    if (fabsf(a[0] - s) > 1e-6f * fabsf(a[0]) || fabsf(a[1] - sn) > 1e-6f * fabsf(a[1]) + 1e-12f) {
        fprintf(stderr, "  noise %zu: args (%g, %g), reference (%g, %g)\n", r->noise_i, s, sn,
                a[0], a[1]);
        r->bad_noise_args++;
    }
    memcpy(out, r->noises + r->noise_i * r->per, r->per * sizeof(float));
    r->noise_i++;
    return SDF_OK;
}

static sdf_status traj_cb(void *user, int i, int total, const float *x, const float *den,
                          sdf_error *err) {
    replay *r = user;
    (void)total, (void)den, (void)err;
    if ((size_t)i < r->n_traj) {
        const float *t = r->traj_x + (size_t)i * r->per;
        for (size_t k = 0; k < r->per; k++) {
            r->max_err_traj = fmax(r->max_err_traj, fabs((double)x[k] - t[k]));
            r->max_ref_traj = fmax(r->max_ref_traj, fabs(t[k]));
        }
    }
    return SDF_OK;
}

static double worst_rel = 0;
static char worst_case[128];

static void note_rel(const char *name, double rel) {
    if (rel > worst_rel) {
        worst_rel = rel;
        snprintf(worst_case, sizeof worst_case, "%s", name);
    }
}

/* Runs one golden case end to end (noise -> sigmas -> x_init -> sampler -> final). */
static void run_case(const char *file, const char *sampler, const char *scheduler, int steps,
                     double denoise, uint64_t seed, bool replay_noise_draws, bool inpaint) {
    char path[256];
    snprintf(path, sizeof path, "golden/%s.safetensors", file);
    sdf_error err = {0};
    golden g = {0};
    if (sdf_st_open(test_ref_path(path), &g.f, &err) != SDF_OK) {
        CHECKF(0, "open %s: %s", path, err.msg);
        return;
    }
    sdf_msampling ms;
    sdf_msampling_init(&ms, SDF_PRED_EPS, false);
    size_t n_sig = 0, per = 0, nn = 0;
    const float *ref_sig = gf(&g, "sigmas", &n_sig);
    const float *ref_noise = gf(&g, "initial_noise", &per);
    const float *x_init_ref = gf(&g, "x_init", NULL);
    const float *latent = gf(&g, "latent_image_model", NULL);
    const float *latent_raw = gf(&g, "latent_image_raw", NULL);
    REQUIRE(ref_sig && ref_noise && x_init_ref && latent && latent_raw);

    /* initial noise: bit-exact */
    const int64_t shape[4] = {1, 4, 8, 8};
    sdf_tensor *noise = NULL;
    REQUIRE(sdf_prepare_noise(4, shape, seed, NULL, 0, &noise, &err) == SDF_OK);
    CHECKF(memcmp(sdf_tensor_f32p(noise), ref_noise, per * 4) == 0, "%s: initial noise", file);

    /* latent: zero latents stay zero, others are multiplied by the scale factor */
    float lat[256];
    bool nonzero = false;
    for (size_t k = 0; k < per; k++) nonzero |= latent_raw[k] != 0.0f;
    for (size_t k = 0; k < per; k++) lat[k] = nonzero ? latent_raw[k] * LATENT_SCALE : 0.0f;
    test_compare("latent_image_model", lat, latent, per, -1, 1e-7);

    /* sigmas */
    int si = sdf_sampler_index(sampler), sc = sdf_scheduler_index(scheduler);
    float *sig = NULL;
    int ns = 0;
    REQUIRE(sdf_ksampler_sigmas(&ms, si, sc, steps, denoise, &sig, &ns, &err) == SDF_OK);
    CHECKF((size_t)ns == n_sig, "%s: %d sigmas, reference %zu", file, ns, n_sig);
    double sig_rel = 0;
    for (int i = 0; i < ns && (size_t)i < n_sig; i++)
        if (ref_sig[i] != 0) sig_rel = fmax(sig_rel, fabs(sig[i] - ref_sig[i]) / ref_sig[i]);
        else CHECK(sig[i] == 0.0f);
    CHECKF(sig_rel <= 1e-6, "%s: sigma rel err %.3g", file, sig_rel);

    /* x_init */
    float x[256];
    bool maxd = sdf_ms_max_denoise(&ms, sig[0]);
    sdf_ms_noise_scaling(sig[0], maxd, sdf_tensor_f32p(noise), lat, x, per);
    double xi_err = 0;
    for (size_t k = 0; k < per; k++) xi_err = fmax(xi_err, fabs(x[k] - x_init_ref[k]));
    CHECKF(xi_err <= 1e-6 * max_abs(x_init_ref, per), "%s: x_init err %.3g", file, xi_err);

    /* sampler with the recorded model */
    replay r = {.g = &g, .ms = &ms, .per = per};
    r.x_in = gf(&g, "calls_x_in", &nn);
    r.den = gf(&g, "calls_denoised", NULL);
    r.ts = gi(&g, "calls_timestep", NULL);
    r.n_calls = nn / per;
    r.traj_x = gf(&g, "traj_x", &nn);
    r.n_traj = nn / per;
    REQUIRE(r.x_in && r.den && r.ts && r.traj_x);
    if (replay_noise_draws) {
        r.noises = gf(&g, "step_noises", &nn);
        r.n_noises = nn / per;
        r.noise_args = gf(&g, "step_noise_sigma_args", NULL);
        REQUIRE(r.noises && r.noise_args);
    }
    float mask[256], tmp[256];
    sdf_inpaint_wrap iw = {.inner = fake_denoise, .inner_ctx = &r, .latent = lat,
                           .noise = sdf_tensor_f32p(noise), .n = per, .tmp = tmp};
    if (inpaint) {
        const float *m = gf(&g, "denoise_mask", NULL);
        REQUIRE(m);
        memcpy(mask, m, sizeof(float) * per);
        iw.mask = mask;
        r.mask = mask;
        r.latent = lat;
    }
    sdf_sampler_run run = {.ms = &ms, .n = per, .denoise = sdf_inpaint_denoise,
                           .denoise_ctx = &iw, .seed = seed, .step = traj_cb, .step_user = &r};
    if (replay_noise_draws) {
        run.noise = replay_noise;
        run.noise_ctx = &r;
    }
    sdf_status st = sdf_sample(si, &run, sig, ns, x, &err);
    CHECKF(st == SDF_OK, "%s: %s", file, err.msg);
    CHECKF(r.call == r.n_calls, "%s: %zu model calls, reference %zu", file, r.call, r.n_calls);
    CHECKF(r.bad_timesteps == 0, "%s: %d wrong timesteps", file, r.bad_timesteps);
    CHECKF(r.bad_noise_args == 0, "%s: %d noise intervals differ", file, r.bad_noise_args);
    if (replay_noise_draws)
        CHECKF(r.noise_i == r.n_noises, "%s: %zu noise draws, reference %zu", file, r.noise_i,
               r.n_noises);
    double rel_x = r.max_ref_x > 0 ? r.max_err_x / r.max_ref_x : 0;
    double rel_t = r.max_ref_traj > 0 ? r.max_err_traj / r.max_ref_traj : 0;
    CHECKF(rel_x <= 2e-4, "%s: calls_x_in rel err %.3g", file, rel_x);
    CHECKF(rel_t <= 2e-4, "%s: traj_x rel err %.3g", file, rel_t);
    note_rel(file, rel_x);
    note_rel(file, rel_t);

    /* final: ComfyUI's lms ends with x = denoised (final_latent_comfyui_lms) */
    const float *final_ref = gf(&g, "final_latent_comfyui_lms", NULL);
    float fin[256];
    for (size_t k = 0; k < per; k++) fin[k] = x[k] / LATENT_SCALE;
    char what[160];
    snprintf(what, sizeof what, "%s final_latent", file);
    if (!final_ref) final_ref = gf(&g, "final_latent", NULL);
    REQUIRE(final_ref);
    test_compare(what, fin, final_ref, per, -1, 2e-4);
    double fe = 0;
    for (size_t k = 0; k < per; k++) fe = fmax(fe, fabs(fin[k] - final_ref[k]));
    note_rel(file, fe / max_abs(final_ref, per));
    fprintf(stderr, "  %-40s calls_x_in %.2e traj_x %.2e final %.2e\n", file, rel_x, rel_t,
            fe / max_abs(final_ref, per));
    sdf_free(sig);
    sdf_tensor_release(noise);
    sdf_st_close(g.f);
}

static const char *const ref_samplers[] = {"euler", "euler_ancestral", "heun", "dpm_2",
                                           "dpmpp_2m", "dpmpp_2s_ancestral", "dpmpp_sde", "lms"};
static const char *const ref_schedulers[] = {"normal", "karras", "exponential"};

static void test_golden_txt2img(void) {
    NEED_REFERENCE();
    for (size_t a = 0; a < SDF_COUNTOF(ref_samplers); a++)
        for (size_t b = 0; b < SDF_COUNTOF(ref_schedulers); b++) {
            char file[96];
            snprintf(file, sizeof file, "sample_%s_%s", ref_samplers[a], ref_schedulers[b]);
            int steps = strcmp(ref_samplers[a], "dpm_2") == 0 ? 7 : 8;
            bool sde = strcmp(ref_samplers[a], "dpmpp_sde") == 0;
            run_case(file, ref_samplers[a], ref_schedulers[b], steps, 1.0, 42, sde, false);
        }
}

/* ddim is euler with random inpaint noise: without a mask it reproduces the euler files. */
static void test_golden_ddim_is_euler(void) {
    NEED_REFERENCE();
    for (size_t b = 0; b < SDF_COUNTOF(ref_schedulers); b++) {
        char file[96];
        snprintf(file, sizeof file, "sample_euler_%s", ref_schedulers[b]);
        run_case(file, "ddim", ref_schedulers[b], 8, 1.0, 42, false, false);
    }
}

static void test_golden_img2img_inpaint(void) {
    NEED_REFERENCE();
    run_case("img2img_dpmpp_2m_karras_d0.6", "dpmpp_2m", "karras", 6, 0.6, 7, false, false);
    run_case("img2img2_euler_ancestral_normal_d0.5", "euler_ancestral", "normal", 5, 0.5, 8,
             false, false);
    run_case("inpaint_euler_ancestral_normal", "euler_ancestral", "normal", 8, 1.0, 9, false,
             true);
    fprintf(stderr, "  worst relative error over the golden cases: %.3g (%s)\n", worst_rel,
            worst_case);
}

/* The default per-step noise is torch.randn from a generator seeded with seed + 1, one draw per
 * call in order: the recorded step_noises of the ancestral cases are those draws. */
static void test_golden_step_noise_stream(void) {
    NEED_REFERENCE();
    static const char *files[] = {"sample_euler_ancestral_normal", "sample_dpmpp_2s_ancestral_karras",
                                  "inpaint_euler_ancestral_normal"};
    static const uint64_t seeds[] = {42, 42, 9};
    for (size_t f = 0; f < SDF_COUNTOF(files); f++) {
        char path[128];
        snprintf(path, sizeof path, "golden/%s.safetensors", files[f]);
        golden g = {0};
        sdf_error err = {0};
        REQUIRE(sdf_st_open(test_ref_path(path), &g.f, &err) == SDF_OK);
        size_t nn = 0;
        const float *sn = gf(&g, "step_noises", &nn);
        REQUIRE(sn);
        sdf_rng rng;
        sdf_rng_seed(&rng, seeds[f] + 1);
        float buf[256];
        for (size_t i = 0; i < nn / 256; i++) {
            sdf_rng_randn_f32(&rng, buf, 256);
            CHECKF(memcmp(buf, sn + i * 256, sizeof buf) == 0, "%s noise %zu", files[f], i);
        }
        sdf_st_close(g.f);
    }
}

static void test_model_sampling_table(void) {
    NEED_REFERENCE();
    golden g = {0};
    sdf_error err = {0};
    REQUIRE(sdf_st_open(test_ref_path("golden/model_sampling.safetensors"), &g.f, &err) == SDF_OK);
    sdf_msampling ms;
    sdf_msampling_init(&ms, SDF_PRED_EPS, false);
    const float *s = gf(&g, "sigmas", NULL), *ls = gf(&g, "log_sigmas", NULL);
    REQUIRE(s && ls);
    size_t bad_s = 0, bad_l = 0;
    for (int i = 0; i < SDF_NUM_TIMESTEPS; i++) {
        bad_s += ms.sigmas[i] != s[i];
        bad_l += ms.log_sigmas[i] != ls[i];
    }
    CHECKF(bad_s == 0 && bad_l == 0, "%zu sigmas, %zu log_sigmas differ", bad_s, bad_l);
    /* spec §3.1 test values */
    CHECK_NEAR(ms.sigmas[0], 0.0291672, 1e-7);
    CHECK_NEAR(ms.sigmas[1], 0.0413144, 1e-7);
    CHECK_NEAR(ms.sigmas[499], 1.6128862, 1e-6);
    CHECK_NEAR(ms.sigmas[998], 14.5262756, 1e-5);
    CHECK_NEAR(ms.sigmas[999], 14.6146412, 1e-5);
    CHECK(sdf_ms_timestep(&ms, ms.sigmas[999]) == 999);
    CHECK(sdf_ms_timestep(&ms, ms.sigmas[0]) == 0);
    CHECK(sdf_ms_timestep(&ms, ms.sigmas[500]) == 500);
    CHECK_NEAR(sdf_ms_percent_to_sigma(&ms, 0.5), 1.61558, 1e-5);
    CHECK(sdf_ms_percent_to_sigma(&ms, 0.0) == 999999999.9);
    CHECK(sdf_ms_percent_to_sigma(&ms, 1.0) == 0.0);
    sdf_st_close(g.f);
}

static void test_schedules_spec_values(void) {
    sdf_msampling ms;
    sdf_msampling_init(&ms, SDF_PRED_EPS, false);
    float out[64];
    int n = 0;
    sdf_error err = {0};
    /* spec §3.3 / §10.2 reference values (10 steps), 1e-6 relative */
    static const double normal[] = {14.614641, 7.839883, 4.609174, 2.918307, 1.950161, 1.344928,
                                    0.932358,  0.624977, 0.368658, 0.029167, 0};
    static const double karras[] = {14.614643, 9.102929, 5.478392, 3.168605, 1.749418, 0.914073,
                                    0.446918,  0.201398, 0.081910, 0.029167, 0};
    static const double simple[] = {14.614641, 8.302803, 5.087763, 3.321083, 2.276463, 1.612886,
                                    1.160578,  0.829860, 0.569285, 0.341674, 0};
    const double *tabs[3] = {normal, karras, simple};
    const char *names[3] = {"normal", "karras", "simple"};
    for (int t = 0; t < 3; t++) {
        REQUIRE(sdf_scheduler_sigmas(&ms, sdf_scheduler_index(names[t]), 10, out, 64, &n, &err) ==
                SDF_OK);
        CHECK(n == 11);
        for (int i = 0; i < 11; i++)
            CHECKF(fabs(out[i] - tabs[t][i]) <= 1.5e-6 * fmax(tabs[t][i], 1.0), "%s[%d] %.7f vs %.7f",
                   names[t], i, out[i], tabs[t][i]);
    }
    /* ddim_uniform 10 steps: [S[901], S[801], ..., S[1], 0] */
    REQUIRE(sdf_scheduler_sigmas(&ms, sdf_scheduler_index("ddim_uniform"), 10, out, 64, &n, &err) ==
            SDF_OK);
    CHECK(n == 11);
    for (int i = 0; i < 10; i++) CHECK(out[i] == ms.sigmas[901 - 100 * i]);
    CHECK(out[10] == 0.0f);
    /* simple with steps 7: C integer semantics of int(x * 1000/7) (S[147] at x = 6) */
    REQUIRE(sdf_scheduler_sigmas(&ms, sdf_scheduler_index("simple"), 7, out, 64, &n, &err) == SDF_OK);
    CHECK(out[6] == ms.sigmas[999 - 857]);
    /* linear_quadratic: first sigma is sigma_max, last 0; kl_optimal endpoints */
    REQUIRE(sdf_scheduler_sigmas(&ms, sdf_scheduler_index("linear_quadratic"), 10, out, 64, &n,
                                 &err) == SDF_OK);
    CHECK(n == 11 && out[0] == ms.sigmas[999] && out[10] == 0.0f);
    CHECK_NEAR(out[1], (1.0 - 0.025 / 5) * ms.sigmas[999], 1e-5);
    REQUIRE(sdf_scheduler_sigmas(&ms, sdf_scheduler_index("kl_optimal"), 10, out, 64, &n, &err) ==
            SDF_OK);
    CHECK_NEAR(out[0], ms.sigmas[999], 2e-6 * 15);
    CHECK_NEAR(out[9], ms.sigmas[0], 1e-7);
    /* sgm_uniform: linspace(999, 0, steps + 1) without its last point */
    REQUIRE(sdf_scheduler_sigmas(&ms, sdf_scheduler_index("sgm_uniform"), 4, out, 64, &n, &err) ==
            SDF_OK);
    CHECK(n == 5);
    CHECK(out[0] == sdf_ms_sigma(&ms, 999.0f) && out[2] == sdf_ms_sigma(&ms, 499.5f));
}

/* torch.linspace bit patterns (measured with torch 1.13's AVX2 build). */
static void test_linspace_torch(void) {
    float o[20];
    sdf_linspace_f32(999.0f, 0.0f, 12, o);
    /* torch.linspace(999, 0, 12)[3] = 726.5454711914062 (fused multiply-add), naive gives
     * 726.5454406738281 */
    CHECK(o[3] == 726.5454711914062f);
    sdf_linspace_f32(999.0f, 0.0f, 16, o);
    CHECK(o[0] == 999.0f && o[15] == 0.0f);
}

/* beta scheduler: scipy.stats.beta.ppf(q, 0.6, 0.6) values (scipy 1.x) and schedule shape. */
static void test_beta(void) {
    CHECK_NEAR(sdf_betaincinv(0.6, 0.6, 0.5), 0.5, 1e-14);
    CHECK_NEAR(sdf_betaincinv(0.6, 0.6, 1.0), 1.0, 0);
    CHECK_NEAR(sdf_betaincinv(0.6, 0.6, 0.0), 0.0, 0);
    /* symmetry: I_x(a,a) = 1 - I_{1-x}(a,a) */
    for (double q = 0.05; q < 1.0; q += 0.1)
        CHECK_NEAR(sdf_betaincinv(0.6, 0.6, q) + sdf_betaincinv(0.6, 0.6, 1.0 - q), 1.0, 1e-12);
    /* a = b = 1 is the uniform distribution */
    CHECK_NEAR(sdf_betaincinv(1.0, 1.0, 0.3), 0.3, 1e-13);
    /* a = 2, b = 1: F(x) = x^2 */
    CHECK_NEAR(sdf_betaincinv(2.0, 1.0, 0.25), 0.5, 1e-13);
    sdf_msampling ms;
    sdf_msampling_init(&ms, SDF_PRED_EPS, false);
    float out[64];
    int n = 0;
    sdf_error err = {0};
    REQUIRE(sdf_scheduler_sigmas(&ms, sdf_scheduler_index("beta"), 10, out, 64, &n, &err) == SDF_OK);
    CHECK(n == 11 && out[0] == ms.sigmas[999] && out[n - 1] == 0.0f);
    for (int i = 1; i < n; i++) CHECK(out[i] < out[i - 1]);
}

static void test_denoise_and_truncation(void) {
    sdf_msampling ms;
    sdf_msampling_init(&ms, SDF_PRED_EPS, false);
    sdf_error err = {0};
    float *s = NULL, full[64];
    int n = 0, nf = 0;
    int normal = sdf_scheduler_index("normal"), euler = sdf_sampler_index("euler");
    /* 7 / 0.07 -> 99 steps in double (a float denoise would give 100) */
    REQUIRE(sdf_ksampler_sigmas(&ms, euler, normal, 7, 0.07, &s, &n, &err) == SDF_OK);
    CHECK(n == 8);
    float *s99 = NULL;
    int n99 = 0;
    REQUIRE(sdf_ksampler_sigmas(&ms, euler, normal, 99, 1.0, &s99, &n99, &err) == SDF_OK);
    CHECK(n99 == 100 && memcmp(s, s99 + 92, 8 * sizeof(float)) == 0);
    sdf_free(s);
    sdf_free(s99);
    /* denoise 0: nothing to do */
    REQUIRE(sdf_ksampler_sigmas(&ms, euler, normal, 10, 0.0, &s, &n, &err) == SDF_OK);
    CHECK(n == 0);
    sdf_free(s);
    /* dpm_2 computes steps + 1 and drops the penultimate sigma */
    REQUIRE(sdf_ksampler_sigmas(&ms, sdf_sampler_index("dpm_2"), normal, 7, 1.0, &s, &n, &err) ==
            SDF_OK);
    REQUIRE(sdf_scheduler_sigmas(&ms, normal, 8, full, 64, &nf, &err) == SDF_OK);
    CHECK(n == 8 && memcmp(s, full, 7 * sizeof(float)) == 0 && s[7] == 0.0f);
    sdf_free(s);
    /* KSamplerAdvanced truncation */
    float t[11];
    REQUIRE(sdf_scheduler_sigmas(&ms, normal, 10, full, 64, &nf, &err) == SDF_OK);
    memcpy(t, full, sizeof t);
    int nt = 11;
    CHECK(sdf_sigmas_truncate(t, &nt, 3, 6, false));
    CHECK(nt == 4 && t[0] == full[3] && t[3] == full[6]);
    memcpy(t, full, sizeof t);
    nt = 11;
    CHECK(sdf_sigmas_truncate(t, &nt, 0, 6, true));
    CHECK(nt == 7 && t[6] == 0.0f && t[5] == full[5]);
    memcpy(t, full, sizeof t);
    nt = 11;
    CHECK(!sdf_sigmas_truncate(t, &nt, 10, 10000, true));
}

/* ---- self-consistency for samplers without reference data ---- */

/* A synthetic denoiser: the exact x0 prediction for a data point z (a delta distribution):
 * D(x, sigma) = z. Every consistent ODE sampler then reaches z exactly at sigma = 0, and the
 * ancestral ones do too since their last step returns D. */
typedef struct delta_model {
    const float *z;
    size_t n;
    int calls;
    bool want_unc_seen;
} delta_model;

static sdf_status delta_denoise(void *ctx, const float *x, float sigma, float *den, float *unc,
                                sdf_error *err) {
    delta_model *m = ctx;
    (void)x, (void)sigma, (void)err;
    for (size_t k = 0; k < m->n; k++) den[k] = m->z[k];
    if (unc) {
        m->want_unc_seen = true;
        for (size_t k = 0; k < m->n; k++) unc[k] = m->z[k];
    }
    m->calls++;
    return SDF_OK;
}

static void test_all_samplers_delta(void) {
    sdf_msampling ms;
    sdf_msampling_init(&ms, SDF_PRED_EPS, false);
    enum { N = 64 };
    float z[N], x[N];
    for (int k = 0; k < N; k++) z[k] = sinf((float)k) * 2.0f;
    sdf_error err = {0};
    for (int s = 0; s < SDF_N_SAMPLERS; s++) {
        for (int sch = 0; sch < SDF_N_SCHEDULERS; sch++) {
            float *sg = NULL;
            int ns = 0;
            REQUIRE(sdf_ksampler_sigmas(&ms, s, sch, 6, 1.0, &sg, &ns, &err) == SDF_OK);
            sdf_rng g;
            sdf_rng_seed(&g, 3);
            sdf_rng_randn_f32(&g, x, N);
            for (int k = 0; k < N; k++) x[k] = x[k] * sg[0] + z[k];
            /* dpm_fast stops at the last non-zero sigma, UniPC at 0.001: with D = z the exact
             * solution there is z + (x_init - z) * sigma_end / sigma_0 */
            float xi[N];
            memcpy(xi, x, sizeof xi);
            double s_end = 0;
            const char *nm = sdf_sampler_names[s];
            if (strcmp(nm, "dpm_fast") == 0 || strcmp(nm, "dpm_adaptive") == 0) s_end = sg[ns - 1] == 0 ? sg[ns - 2] : sg[ns - 1];
            if (strncmp(nm, "uni_pc", 6) == 0) s_end = 0.001;
            delta_model m = {.z = z, .n = N};
            sdf_sampler_run run = {.ms = &ms, .n = N, .denoise = delta_denoise, .denoise_ctx = &m,
                                   .seed = 5};
            sdf_status st = sdf_sample(s, &run, sg, ns, x, &err);
            CHECKF(st == SDF_OK, "%s/%s: %s", sdf_sampler_names[s], sdf_scheduler_names[sch],
                   err.msg);
            double e = 0;
            for (int k = 0; k < N; k++)
                e = fmax(e, fabs(x[k] - (z[k] + (xi[k] - z[k]) * s_end / sg[0])));
            /* dpm_adaptive's error control only promises its tolerance (atol 0.0078) */
            double tol = strcmp(nm, "dpm_adaptive") == 0 ? 0.02 : 2e-4;
            CHECKF(e <= tol, "%s/%s: final off the data point by %.3g", sdf_sampler_names[s],
                   sdf_scheduler_names[sch], e);
            CHECKF(m.calls >= ns - 1, "%s: %d calls for %d steps", sdf_sampler_names[s], m.calls,
                   ns - 1);
            bool cfgpp = strstr(sdf_sampler_names[s], "cfg_pp") != NULL;
            CHECKF(m.want_unc_seen == cfgpp, "%s: uncond requested %d", sdf_sampler_names[s],
                   m.want_unc_seen);
            sdf_free(sg);
        }
    }
}

/* A linear Gaussian model: data ~ N(0, c^2) so D(x, s) = x * c^2 / (c^2 + s^2) exactly.
 * The probability-flow ODE solution is x(s) = x(s0) * sqrt((c^2+s^2)/(c^2+s0^2)); compare every
 * deterministic sampler with it in float64 (a re-derivation independent of the sampler code). */
typedef struct gauss_model {
    double c2;
    size_t n;
} gauss_model;

static sdf_status gauss_denoise(void *ctx, const float *x, float sigma, float *den, float *unc,
                                sdf_error *err) {
    gauss_model *m = ctx;
    (void)err;
    double f = m->c2 / (m->c2 + (double)sigma * sigma);
    for (size_t k = 0; k < m->n; k++) {
        den[k] = (float)(x[k] * f);
        if (unc) unc[k] = den[k];
    }
    return SDF_OK;
}

static void test_deterministic_ode_accuracy(void) {
    sdf_msampling ms;
    sdf_msampling_init(&ms, SDF_PRED_EPS, false);
    static const char *det[] = {"euler", "heun", "heunpp2", "dpm_2", "lms", "dpmpp_2m",
                                "ipndm", "ipndm_v", "exp_heun_2_x0", "gradient_estimation",
                                "res_multistep", "euler_cfg_pp", "dpmpp_2m_cfg_pp", "ddim"};
    /* first-order samplers get a looser bound */
    static const double tol[] = {0.08, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.05,
                                 0.01, 0.08, 0.01, 0.08};
    sdf_error err = {0};
    for (size_t i = 0; i < SDF_COUNTOF(det); i++) {
        int s = sdf_sampler_index(det[i]);
        float *sg = NULL;
        int ns = 0;
        REQUIRE(sdf_ksampler_sigmas(&ms, s, sdf_scheduler_index("karras"), 30, 0.5, &sg, &ns,
                                    &err) == SDF_OK);
        /* stop before sigma 0: compare at the last non-zero sigma of a truncated schedule */
        ns -= 1;
        float x[4] = {1.0f, -2.0f, 0.5f, 3.0f};
        float x0[4];
        memcpy(x0, x, sizeof x);
        gauss_model m = {.c2 = 1.0, .n = 4};
        sdf_sampler_run run = {.ms = &ms, .n = 4, .denoise = gauss_denoise, .denoise_ctx = &m,
                               .seed = 1};
        REQUIRE(sdf_sample(s, &run, sg, ns, x, &err) == SDF_OK);
        double s0 = sg[0], s1 = sg[ns - 1];
        double f = sqrt((1.0 + s1 * s1) / (1.0 + s0 * s0));
        double e = 0;
        for (int k = 0; k < 4; k++) e = fmax(e, fabs(x[k] - x0[k] * f) / (fabs(x0[k] * f)));
        CHECKF(e <= tol[i], "%s: relative error %.3g vs the exact ODE solution", det[i], e);
        sdf_free(sg);
    }
}

static void test_lms_coefficients(void) {
    /* order 1: the integral of 1 over [t_i, t_{i+1}] */
    double t[5] = {10, 6, 3, 1, 0.5};
    CHECK_NEAR(sdf_lms_coeff(1, t, 0, 0), -4.0, 1e-12);
    /* the coefficients of any order sum to t_{i+1} - t_i (the basis sums to 1) */
    double sum = 0;
    for (int j = 0; j < 4; j++) sum += sdf_lms_coeff(4, t, 3, j);
    CHECK_NEAR(sum, -0.5, 1e-12);
    /* order 2 on nodes 6 (i) and 10 (i-1) over [6, 3]: the basis of node i is
     * (tau - 10)/(6 - 10), integral from 6 to 3 = -(1/-4)*[(tau-10)^2/2]... = -5.625 */
    CHECK_NEAR(sdf_lms_coeff(2, t, 1, 0), -(((3 - 10) * (3 - 10) - (6 - 10) * (6 - 10)) / 2.0) / 4.0,
               1e-12);
}

static void test_seed_overflow_rejected(void) {
    sdf_msampling ms;
    sdf_msampling_init(&ms, SDF_PRED_EPS, false);
    float z[4] = {0}, x[4] = {1, 2, 3, 4};
    delta_model m = {.z = z, .n = 4};
    sdf_sampler_run run = {.ms = &ms, .n = 4, .denoise = delta_denoise, .denoise_ctx = &m,
                           .seed = UINT64_MAX};
    float sg[3] = {2.0f, 1.0f, 0.0f};
    sdf_error err = {0};
    CHECK(sdf_sample(sdf_sampler_index("euler_ancestral"), &run, sg, 3, x, &err) ==
          SDF_ERR_INVALID);
    CHECK(strstr(err.msg, "18446744073709551615") != NULL);
    sdf_error_clear(&err);
    CHECK(sdf_sample(sdf_sampler_index("euler"), &run, sg, 3, x, &err) == SDF_OK);
}


/* ---- parity with ComfyUI's own sampler code (comfy/k_diffusion/sampling.py, uni_pc.py,
 * deis.py at 3cd7b32f, run under torch 1.13 CPU with torchsde eb3a00e) on a synthetic denoiser
 * D(x, s) = x / (1 + s^2) + 0.1 (uncond: 0.9 x / (1 + s^2) - 0.05), x_init = randn(seed 3) * s0,
 * seed 42, sigmas = normal schedule with 6 steps. Recorded: model calls, the first 4 outputs,
 * the sum of all 64. */
static const struct comfy_ref { const char *name; int calls; double v[4]; double sum; } comfy_refs[] = {
    {"euler", 6, {0.2186855673789978, 0.5423550009727478, -0.3043249547481537, 0.32855021953582764}, 25.26532320678234},
    {"euler_cfg_pp", 6, {0.33335012197494507, 0.6701046228408813, -0.2108040750026703, 0.4476562738418579}, 33.05944472178817},
    {"euler_ancestral", 6, {-0.7859651446342468, 0.008558034896850586, -0.5547336339950562, 0.008071750402450562}, 16.775683276355267},
    {"euler_ancestral_cfg_pp", 6, {-0.7490554451942444, 0.047760311514139175, -0.5258774757385254, 0.03967815265059471}, 19.244531475007534},
    {"heun", 11, {1.2912582159042358, 1.7683262825012207, 0.5203740000724792, 1.4531913995742798}, 99.25095624476671},
    {"heunpp2", 15, {0.22269302606582642, 0.5576239824295044, -0.31851452589035034, 0.3363802433013916}, 25.913900144398212},
    {"exp_heun_2_x0", 11, {0.2926095426082611, 0.6585682034492493, -0.2987350523471832, 0.41682857275009155}, 31.46887180954218},
    {"exp_heun_2_x0_sde", 11, {0.7502533793449402, 1.2298556566238403, 1.4182029962539673, 1.0447137355804443}, 28.104726415127516},
    {"dpm_2", 11, {0.5914092659950256, 1.0942800045013428, -0.2211684286594391, 0.7621010541915894}, 55.35902865231037},
    {"dpm_2_ancestral", 11, {1.137252688407898, 2.171482563018799, 0.9377864003181458, 1.8534542322158813}, 163.9722962975502},
    {"lms", 6, {0.24179592728614807, 0.6329943537712097, -0.390333354473114, 0.37458229064941406}, 29.095596972852945},
    {"dpm_fast", 6, {0.2372555136680603, 0.7911653518676758, -0.6577953100204468, 0.42527180910110474}, 34.470253583043814},
    {"dpmpp_2s_ancestral", 11, {-0.666201114654541, 0.12075790017843246, -0.5925047993659973, 0.013444662094116211}, 24.543489903211594},
    {"dpmpp_2s_ancestral_cfg_pp", 11, {-0.6171655654907227, 0.19301491975784302, -0.5089791417121887, 0.09757748246192932}, 28.939218878746033},
    {"dpmpp_sde", 11, {-0.4478761851787567, 0.18348285555839539, 0.30129560828208923, 1.1014832258224487}, 27.898864157497883},
    {"dpmpp_2m", 6, {0.28461596369743347, 0.8479799628257751, -0.6257114410400391, 0.475841224193573}, 37.83049599826336},
    {"dpmpp_2m_cfg_pp", 6, {0.9809547662734985, 1.6335545778274536, -0.07356659322977066, 1.2024697065353394}, 85.50316499918699},
    {"dpmpp_2m_sde", 6, {-1.207951307296753, 0.6965696811676025, 0.6287459135055542, 1.7696171998977661}, 26.03558675199747},
    {"dpmpp_2m_sde_heun", 6, {-1.7150993347167969, 0.9480138421058655, 0.8642626404762268, 2.3832969665527344}, 32.15574275702238},
    {"dpmpp_3m_sde", 6, {-2.6657984256744385, 2.072561740875244, 3.4197278022766113, 3.1213910579681396}, 46.10129216313362},
    {"ddpm", 6, {-0.7859678268432617, 0.008555703796446323, -0.5547369718551636, 0.008069592528045177}, 16.775541288778186},
    {"lcm", 6, {-1.027675986289978, 0.03459358960390091, -0.3526228666305542, 0.2321801781654358}, 18.22591694816947},
    {"ipndm", 6, {0.2569729685783386, 0.6790006756782532, -0.42497244477272034, 0.4002237915992737}, 31.140327744185925},
    {"ipndm_v", 6, {0.24949464201927185, 0.6681423187255859, -0.4269891679286957, 0.3915981650352478}, 30.544032346457243},
    {"deis", 6, {0.25457054376602173, 0.6788513660430908, -0.43101534247398376, 0.3985861539840698}, 31.06501992046833},
    {"res_multistep", 6, {0.3146764039993286, 0.9855248928070068, -0.7693329453468323, 0.5423856377601624}, 43.496734485030174},
    {"res_multistep_cfg_pp", 6, {0.1483135223388672, 0.7410185933113098, -0.8094256520271301, 0.3494982421398163}, 30.128733918070793},
    {"res_multistep_ancestral", 6, {-4.161785125732422, -0.6971760392189026, -2.0430474281311035, 0.2767426371574402}, 31.004386141896248},
    {"res_multistep_ancestral_cfg_pp", 6, {-4.037850856781006, -1.0938080549240112, -2.0981671810150146, -0.07294600456953049}, 0.8792813085019588},
    {"gradient_estimation", 6, {0.2502540349960327, 0.6926442384719849, -0.46459463238716125, 0.40041667222976685}, 31.41929406300187},
    {"gradient_estimation_cfg_pp", 6, {0.20962658524513245, 0.6310914754867554, -0.47140923142433167, 0.35268640518188477}, 28.09056420624256},
    {"er_sde", 6, {-0.17091894149780273, 0.1253725290298462, -0.38959914445877075, 0.12551209330558777}, 23.445192359387875},
    {"seeds_2", 11, {0.8383417725563049, 0.7339720726013184, 1.0503007173538208, 1.406146764755249}, 28.4948945119977},
    {"seeds_3", 16, {0.9698794484138489, 1.3002742528915405, 0.8489029407501221, 2.9187450408935547}, 34.0143321454525},
    {"uni_pc", 6, {0.44931352138519287, 1.5933030843734741, -1.399235486984253, 0.837623655796051}, 68.58724063559202},
    {"sa_solver", 6, {0.3791523575782776, 0.21733054518699646, -0.5898909568786621, -0.3902880549430847}, 15.29293143749237},
    {"sa_solver_pece", 11, {0.10153830051422119, 0.4466821551322937, -0.5562871098518372, -0.28118741512298584}, 22.172338761389256},
    {"dpm_adaptive", 21, {0.3582799732685089, 0.8076015710830688, -0.36776870489120483, 0.5107952356338501}, 38.57428302243352},
    {"uni_pc_bh2", 6, {0.29033857583999634, 0.9005577564239502, -0.695701539516449, 0.4974682033061981}, 39.82813740731217},
};

typedef struct synth_model {
    int calls;
} synth_model;

static sdf_status synth_denoise(void *ctx, const float *x, float s, float *d, float *u,
                                sdf_error *err) {
    synth_model *m = ctx;
    (void)err;
    m->calls++;
    float a = 1.0f / (1.0f + s * s);
    for (int k = 0; k < 64; k++) {
        d[k] = x[k] * a + 0.1f;
        if (u) u[k] = x[k] * (a * 0.9f) - 0.05f;
    }
    return SDF_OK;
}

static void test_comfy_code_parity(void) {
    sdf_msampling ms;
    sdf_msampling_init(&ms, SDF_PRED_EPS, false);
    static const float sig[7] = {14.6146402f, 6.10785961f, 2.92304873f, 1.46062183f,
                                 0.671478271f, 0.0291671604f, 0.0f};
    double worst = 0;
    for (size_t i = 0; i < SDF_COUNTOF(comfy_refs); i++) {
        const struct comfy_ref *r = &comfy_refs[i];
        float x[64];
        sdf_rng g;
        sdf_rng_seed(&g, 3);
        sdf_rng_randn_f32(&g, x, 64);
        for (int k = 0; k < 64; k++) x[k] = x[k] * sig[0];
        synth_model m = {0};
        sdf_sampler_run run = {.ms = &ms, .n = 64, .denoise = synth_denoise, .denoise_ctx = &m,
                               .seed = 42};
        sdf_error err = {0};
        sdf_status st = sdf_sample(sdf_sampler_index(r->name), &run, sig, 7, x, &err);
        CHECKF(st == SDF_OK, "%s: %s", r->name, err.msg);
        CHECKF(m.calls == r->calls, "%s: %d model calls, ComfyUI %d", r->name, m.calls, r->calls);
        double sum = 0;
        for (int k = 0; k < 64; k++) sum += x[k];
        for (int k = 0; k < 4; k++) {
            double e = fabs(x[k] - r->v[k]) / fmax(1.0, fabs(r->v[k]));
            worst = fmax(worst, e);
            CHECKF(e <= 1e-5, "%s[%d]: %.9g vs ComfyUI %.9g", r->name, k, x[k], r->v[k]);
        }
        CHECKF(fabs(sum - r->sum) <= 1e-4 * 64, "%s: sum %.9g vs ComfyUI %.9g", r->name, sum,
               r->sum);
    }
    fprintf(stderr, "  %zu samplers vs ComfyUI's code: worst relative difference %.3g\n",
            SDF_COUNTOF(comfy_refs), worst);
}

int main(void) {
    RUN(test_model_sampling_table);
    RUN(test_schedules_spec_values);
    RUN(test_linspace_torch);
    RUN(test_beta);
    RUN(test_denoise_and_truncation);
    RUN(test_golden_txt2img);
    RUN(test_golden_ddim_is_euler);
    RUN(test_golden_img2img_inpaint);
    RUN(test_golden_step_noise_stream);
    RUN(test_all_samplers_delta);
    RUN(test_deterministic_ode_accuracy);
    RUN(test_lms_coefficients);
    RUN(test_seed_overflow_rejected);
    RUN(test_comfy_code_parity);
    return test_summary();
}
