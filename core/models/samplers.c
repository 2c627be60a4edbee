/* samplers.c: ComfyUI's k-diffusion samplers (comfy/k_diffusion/sampling.py at 3cd7b32f) on
 * float32 buffers. Scalar coefficients are computed the way torch computes them on 0-d float32
 * tensors (float arithmetic, one rounding per operation) so trajectories track ComfyUI's to
 * float32 rounding; timesteps depend only on the sigmas handed to the denoiser. */
#include "samplers.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "../base/alloc.h"
#include "brownian.h"
#include "sampler_names.h"

typedef enum {
    S_EULER, S_EULER_CFG_PP, S_EULER_ANCESTRAL, S_EULER_ANCESTRAL_CFG_PP, S_HEUN, S_HEUNPP2,
    S_EXP_HEUN_2_X0, S_EXP_HEUN_2_X0_SDE, S_DPM_2, S_DPM_2_ANCESTRAL, S_LMS, S_DPM_FAST,
    S_DPM_ADAPTIVE, S_DPMPP_2S_ANCESTRAL, S_DPMPP_2S_ANCESTRAL_CFG_PP, S_DPMPP_SDE,
    S_DPMPP_SDE_GPU, S_DPMPP_2M, S_DPMPP_2M_CFG_PP, S_DPMPP_2M_SDE, S_DPMPP_2M_SDE_GPU,
    S_DPMPP_2M_SDE_HEUN, S_DPMPP_2M_SDE_HEUN_GPU, S_DPMPP_3M_SDE, S_DPMPP_3M_SDE_GPU, S_DDPM,
    S_LCM, S_IPNDM, S_IPNDM_V, S_DEIS, S_RES_MULTISTEP, S_RES_MULTISTEP_CFG_PP,
    S_RES_MULTISTEP_ANCESTRAL, S_RES_MULTISTEP_ANCESTRAL_CFG_PP, S_GRADIENT_ESTIMATION,
    S_GRADIENT_ESTIMATION_CFG_PP, S_ER_SDE, S_SEEDS_2, S_SEEDS_3, S_SA_SOLVER, S_SA_SOLVER_PECE,
    S_DDIM, S_UNI_PC, S_UNI_PC_BH2, S_COUNT_
} sampler_id;

_Static_assert(S_COUNT_ == SDF_N_SAMPLERS, "sampler enum matches the name list");

/* ---- run state ---- */

typedef struct run_state {
    const sdf_sampler_run *r;
    size_t n;
    sdf_rng rng;          /* default noise: seed + 1 */
    bool    rng_ready;
    float  *bufs[10];
    int     n_bufs;
    sdf_brownian *tree;   /* Brownian-tree noise (SDE samplers) */
    bool    tree_empty;   /* t0 == t1: every increment is zero */
} run_state;

static float *scratch(run_state *s, sdf_error *err) {
    if (s->n_bufs >= (int)SDF_COUNTOF(s->bufs)) {
        sdf_fail(err, SDF_ERR_INTERNAL, "sampler: too many scratch buffers");
        return NULL;
    }
    float *b = sdf_malloc_aligned(sizeof(float) * (s->n ? s->n : 1));
    if (!b) {
        sdf_fail(err, SDF_ERR_NOMEM, "sampler: out of memory (%zu floats)", s->n);
        return NULL;
    }
    s->bufs[s->n_bufs++] = b;
    return b;
}

#define SCRATCH(v)                                                                           \
    float *v = scratch(s, err);                                                              \
    if (!v) return err->code

static sdf_status model(run_state *s, const float *x, float sigma, float *den, float *unc,
                        sdf_error *err) {
    return s->r->denoise(s->r->denoise_ctx, x, sigma, den, unc, err);
}

static sdf_status callback(run_state *s, int i, int total, const float *x, const float *den,
                           sdf_error *err) {
    if (!s->r->step) return SDF_OK;
    return s->r->step(s->r->step_user, i, total, x, den, err);
}

static sdf_status noise(run_state *s, float sigma, float sigma_next, float *out,
                        sdf_error *err) {
    if (s->r->noise) return s->r->noise(s->r->noise_ctx, sigma, sigma_next, out, err);
    if (s->tree) return sdf_brownian_noise(s->tree, sigma, sigma_next, out, err);
    if (s->tree_empty) {
        memset(out, 0, s->n * sizeof(float));
        return SDF_OK;
    }
    if (!s->rng_ready) {
        if (s->r->seed == UINT64_MAX)
            return sdf_fail(err, SDF_ERR_INVALID,
                            "seed 18446744073709551615 cannot be used with this sampler: its "
                            "noise generator is seeded with seed + 1, which overflows (ComfyUI "
                            "fails the same way)");
        sdf_rng_seed(&s->rng, s->r->seed + 1);
        s->rng_ready = true;
    }
    sdf_rng_randn_f32(&s->rng, out, s->n);
    return SDF_OK;
}

/* get_ancestral_step(sigma_from, sigma_to, eta) on float32 0-d tensors. */
static void ancestral(float sf, float st, float eta, float *sd, float *su) {
    if (eta == 0.0f) {
        *sd = st;
        *su = 0.0f;
        return;
    }
    float st2 = st * st, sf2 = sf * sf;
    float v = st2 * (sf2 - st2);
    v = v / sf2;
    v = sqrtf(v);
    v = eta * v;
    float up = v < st ? v : st;
    float u2 = up * up;
    *su = up;
    *sd = sqrtf(st2 - u2);
}

static float nan_to_num(float v) {
    if (isnan(v)) return 0.0f;
    if (isinf(v)) return v > 0 ? FLT_MAX : -FLT_MAX;
    return v;
}

static inline float neg_log(float s) { return -logf(s); }
static inline float sig_of(float t) { return expf(-t); }

/* torch.lerp with a python-float weight (float opmath). */
static float lerpf_t(float a, float b, float w) {
    if (fabsf(w) < 0.5f) return a + w * (b - a);
    return b - (b - a) * (1.0f - w);
}

/* ---- samplers ---- */

static sdf_status s_euler(run_state *s, const float *sig, int ns, float *x, sdf_error *err) {
    SCRATCH(den);
    size_t n = s->n;
    sdf_status st;
    for (int i = 0; i < ns - 1; i++) {
        if ((st = model(s, x, sig[i], den, NULL, err))) return st;
        if ((st = callback(s, i, ns - 1, x, den, err))) return st;
        float dt = sig[i + 1] - sig[i];
        for (size_t k = 0; k < n; k++) {
            float d = (x[k] - den[k]) / sig[i];
            x[k] = x[k] + d * dt;
        }
    }
    return SDF_OK;
}

static sdf_status s_euler_ancestral(run_state *s, const float *sig, int ns, float *x,
                                    sdf_error *err) {
    SCRATCH(den);
    SCRATCH(nz);
    size_t n = s->n;
    sdf_status st;
    for (int i = 0; i < ns - 1; i++) {
        if ((st = model(s, x, sig[i], den, NULL, err))) return st;
        float sd, su;
        ancestral(sig[i], sig[i + 1], 1.0f, &sd, &su);
        if ((st = callback(s, i, ns - 1, x, den, err))) return st;
        if (sd == 0.0f) {
            memcpy(x, den, n * sizeof(float));
            continue;
        }
        if ((st = noise(s, sig[i], sig[i + 1], nz, err))) return st;
        float dt = sd - sig[i];
        for (size_t k = 0; k < n; k++) {
            float d = (x[k] - den[k]) / sig[i];
            float a = x[k] + d * dt;
            x[k] = a + (nz[k] * 1.0f) * su;
        }
    }
    return SDF_OK;
}

static sdf_status s_heun(run_state *s, const float *sig, int ns, float *x, sdf_error *err) {
    SCRATCH(den);
    SCRATCH(d);
    SCRATCH(x2);
    size_t n = s->n;
    sdf_status st;
    for (int i = 0; i < ns - 1; i++) {
        if ((st = model(s, x, sig[i], den, NULL, err))) return st;
        for (size_t k = 0; k < n; k++) d[k] = (x[k] - den[k]) / sig[i];
        if ((st = callback(s, i, ns - 1, x, den, err))) return st;
        float dt = sig[i + 1] - sig[i];
        if (sig[i + 1] == 0.0f) {
            for (size_t k = 0; k < n; k++) x[k] = x[k] + d[k] * dt;
            continue;
        }
        for (size_t k = 0; k < n; k++) x2[k] = x[k] + d[k] * dt;
        if ((st = model(s, x2, sig[i + 1], den, NULL, err))) return st;
        for (size_t k = 0; k < n; k++) {
            float d2 = (x2[k] - den[k]) / sig[i + 1];
            float dp = (d[k] + d2) / 2.0f;
            x[k] = x[k] + dp * dt;
        }
    }
    return SDF_OK;
}

static sdf_status s_heunpp2(run_state *s, const float *sig, int ns, float *x, sdf_error *err) {
    SCRATCH(den);
    SCRATCH(d);
    SCRATCH(x2);
    SCRATCH(d2);
    SCRATCH(x3);
    size_t n = s->n;
    sdf_status st;
    float s_end = sig[ns - 1];
    for (int i = 0; i < ns - 1; i++) {
        float sh = sig[i] * 1.0f;
        if ((st = model(s, x, sh, den, NULL, err))) return st;
        for (size_t k = 0; k < n; k++) d[k] = (x[k] - den[k]) / sh;
        if ((st = callback(s, i, ns - 1, x, den, err))) return st;
        float dt = sig[i + 1] - sh;
        if (sig[i + 1] == s_end) {
            for (size_t k = 0; k < n; k++) x[k] = x[k] + d[k] * dt;
        } else if (sig[i + 2] == s_end) {
            for (size_t k = 0; k < n; k++) x2[k] = x[k] + d[k] * dt;
            if ((st = model(s, x2, sig[i + 1], den, NULL, err))) return st;
            float w = 2.0f * sig[0];
            float w2 = sig[i + 1] / w;
            float w1 = 1.0f - w2;
            for (size_t k = 0; k < n; k++) {
                float dd2 = (x2[k] - den[k]) / sig[i + 1];
                float dp = d[k] * w1 + dd2 * w2;
                x[k] = x[k] + dp * dt;
            }
        } else {
            for (size_t k = 0; k < n; k++) x2[k] = x[k] + d[k] * dt;
            if ((st = model(s, x2, sig[i + 1], den, NULL, err))) return st;
            float dt2 = sig[i + 2] - sig[i + 1];
            for (size_t k = 0; k < n; k++) {
                d2[k] = (x2[k] - den[k]) / sig[i + 1];
                x3[k] = x2[k] + d2[k] * dt2;
            }
            if ((st = model(s, x3, sig[i + 2], den, NULL, err))) return st;
            float w = 3.0f * sig[0];
            float w2 = sig[i + 1] / w, w3 = sig[i + 2] / w;
            float w1 = (1.0f - w2) - w3;
            for (size_t k = 0; k < n; k++) {
                float d3 = (x3[k] - den[k]) / sig[i + 2];
                float dp = (w1 * d[k] + w2 * d2[k]) + w3 * d3;
                x[k] = x[k] + dp * dt;
            }
        }
    }
    return SDF_OK;
}

static float log_mid(float a, float b) { return expf(lerpf_t(logf(a), logf(b), 0.5f)); }

static sdf_status s_dpm_2(run_state *s, const float *sig, int ns, float *x, bool anc,
                          sdf_error *err) {
    SCRATCH(den);
    SCRATCH(d);
    SCRATCH(x2);
    SCRATCH(nz);
    size_t n = s->n;
    sdf_status st;
    for (int i = 0; i < ns - 1; i++) {
        if ((st = model(s, x, sig[i], den, NULL, err))) return st;
        float target = sig[i + 1], su = 0.0f;
        if (anc) ancestral(sig[i], sig[i + 1], 1.0f, &target, &su);
        for (size_t k = 0; k < n; k++) d[k] = (x[k] - den[k]) / sig[i];
        if ((st = callback(s, i, ns - 1, x, den, err))) return st;
        if (target == 0.0f) {
            float dt = target - sig[i];
            for (size_t k = 0; k < n; k++) x[k] = x[k] + d[k] * dt;
            continue;
        }
        float sm = log_mid(sig[i], target);
        float dt1 = sm - sig[i], dt2 = target - sig[i];
        for (size_t k = 0; k < n; k++) x2[k] = x[k] + d[k] * dt1;
        if ((st = model(s, x2, sm, den, NULL, err))) return st;
        for (size_t k = 0; k < n; k++) {
            float dd2 = (x2[k] - den[k]) / sm;
            x[k] = x[k] + dd2 * dt2;
        }
        if (anc) {
            if ((st = noise(s, sig[i], sig[i + 1], nz, err))) return st;
            for (size_t k = 0; k < n; k++) x[k] = x[k] + (nz[k] * 1.0f) * su;
        }
    }
    return SDF_OK;
}

/* Integral over [t[i], t[i+1]] of the Lagrange basis polynomial j on t[i], t[i-1], ...
 * (degree < 4): 8-point Gauss-Legendre is exact. */
double sdf_lms_coeff(int order, const double *t, int i, int j) {
    static const double gx[8] = {-0.9602898564975363, -0.7966664774136267, -0.5255324099163290,
                                 -0.1834346424956498, 0.1834346424956498,  0.5255324099163290,
                                 0.7966664774136267,  0.9602898564975363};
    static const double gw[8] = {0.1012285362903763, 0.2223810344533745, 0.3137066458778873,
                                 0.3626837833783620, 0.3626837833783620, 0.3137066458778873,
                                 0.2223810344533745, 0.1012285362903763};
    double a = t[i], b = t[i + 1], half = 0.5 * (b - a), mid = 0.5 * (a + b), sum = 0;
    for (int q = 0; q < 8; q++) {
        double tau = mid + half * gx[q], prod = 1.0;
        for (int k = 0; k < order; k++) {
            if (k == j) continue;
            prod *= (tau - t[i - k]) / (t[i - j] - t[i - k]);
        }
        sum += gw[q] * prod;
    }
    return sum * half;
}

static sdf_status s_lms(run_state *s, const float *sig, int ns, float *x, sdf_error *err) {
    enum { ORDER = 4 };
    SCRATCH(den);
    float *ds[ORDER];
    for (int q = 0; q < ORDER; q++) {
        ds[q] = scratch(s, err);
        if (!ds[q]) return err->code;
    }
    double *t = sdf_malloc(sizeof(double) * (size_t)ns);
    if (!t) return sdf_fail(err, SDF_ERR_NOMEM, "lms: out of memory");
    for (int i = 0; i < ns; i++) t[i] = (double)sig[i];
    size_t n = s->n;
    int have = 0; /* ds[0] newest */
    sdf_status st = SDF_OK;
    for (int i = 0; i < ns - 1; i++) {
        if ((st = model(s, x, sig[i], den, NULL, err))) break;
        float *oldest = ds[ORDER - 1];
        memmove(ds + 1, ds, sizeof(float *) * (ORDER - 1));
        ds[0] = oldest;
        for (size_t k = 0; k < n; k++) ds[0][k] = (x[k] - den[k]) / sig[i];
        if (have < ORDER) have++;
        if ((st = callback(s, i, ns - 1, x, den, err))) break;
        if (sig[i + 1] == 0.0f) {
            memcpy(x, den, n * sizeof(float));
            continue;
        }
        int order = i + 1 < ORDER ? i + 1 : ORDER;
        float c[ORDER];
        for (int j = 0; j < order; j++) c[j] = (float)sdf_lms_coeff(order, t, i, j);
        for (size_t k = 0; k < n; k++) {
            float acc = c[0] * ds[0][k];
            for (int j = 1; j < order; j++) acc = acc + c[j] * ds[j][k];
            x[k] = x[k] + acc;
        }
    }
    sdf_free(t);
    return st;
}

static sdf_status s_dpmpp_2s_ancestral(run_state *s, const float *sig, int ns, float *x,
                                       bool cfg_pp, sdf_error *err) {
    SCRATCH(den);
    SCRATCH(den2);
    SCRATCH(unc);
    SCRATCH(x2);
    SCRATCH(nz);
    size_t n = s->n;
    sdf_status st;
    for (int i = 0; i < ns - 1; i++) {
        if ((st = model(s, x, sig[i], den, cfg_pp ? unc : NULL, err))) return st;
        float sd, su;
        ancestral(sig[i], sig[i + 1], 1.0f, &sd, &su);
        if ((st = callback(s, i, ns - 1, x, den, err))) return st;
        if (sd == 0.0f) {
            if (cfg_pp) {
                for (size_t k = 0; k < n; k++) {
                    float d = (x[k] - unc[k]) / sig[i];
                    x[k] = den[k] + d * sd;
                }
            } else {
                float dt = sd - sig[i];
                for (size_t k = 0; k < n; k++) {
                    float d = (x[k] - den[k]) / sig[i];
                    x[k] = x[k] + d * dt;
                }
            }
        } else {
            float t = neg_log(sig[i]), tn = neg_log(sd);
            float h = tn - t;
            float sx = t + 0.5f * h;
            float a = sig_of(sx) / sig_of(t);
            float b = expm1f(-h * 0.5f);
            for (size_t k = 0; k < n; k++) {
                float xi = cfg_pp ? x[k] + (den[k] - unc[k]) : x[k];
                x2[k] = a * xi - b * den[k];
            }
            /* the CFG++ hook sees the second call's uncond before the final update */
            if ((st = model(s, x2, sig_of(sx), den2, cfg_pp ? unc : NULL, err))) return st;
            float a2 = sig_of(tn) / sig_of(t);
            float b2 = expm1f(-h);
            for (size_t k = 0; k < n; k++) {
                float xi = cfg_pp ? x[k] + (den[k] - unc[k]) : x[k];
                x[k] = a2 * xi - b2 * den2[k];
            }
        }
        if (sig[i + 1] > 0.0f) {
            if ((st = noise(s, sig[i], sig[i + 1], nz, err))) return st;
            for (size_t k = 0; k < n; k++) x[k] = x[k] + (nz[k] * 1.0f) * su;
        }
    }
    return SDF_OK;
}

static sdf_status s_dpmpp_2m(run_state *s, const float *sig, int ns, float *x, sdf_error *err) {
    SCRATCH(den);
    SCRATCH(old);
    size_t n = s->n;
    bool have_old = false;
    sdf_status st;
    for (int i = 0; i < ns - 1; i++) {
        if ((st = model(s, x, sig[i], den, NULL, err))) return st;
        if ((st = callback(s, i, ns - 1, x, den, err))) return st;
        float t = neg_log(sig[i]), tn = neg_log(sig[i + 1]);
        float h = tn - t;
        float a = sig_of(tn) / sig_of(t);
        float b = expm1f(-h);
        if (!have_old || sig[i + 1] == 0.0f) {
            for (size_t k = 0; k < n; k++) x[k] = a * x[k] - b * den[k];
        } else {
            float h_last = t - neg_log(sig[i - 1]);
            float r = h_last / h;
            float c = 1.0f / (2.0f * r);
            float c1 = 1.0f + c;
            for (size_t k = 0; k < n; k++) {
                float dd = c1 * den[k] - c * old[k];
                x[k] = a * x[k] - b * dd;
            }
        }
        float *tmp = old;
        old = den;
        den = tmp;
        have_old = true;
    }
    return SDF_OK;
}

static sdf_status s_dpmpp_2m_cfg_pp(run_state *s, const float *sig, int ns, float *x,
                                    sdf_error *err) {
    SCRATCH(den);
    SCRATCH(unc);
    SCRATCH(old_unc);
    size_t n = s->n;
    bool have_old = false;
    sdf_status st;
    for (int i = 0; i < ns - 1; i++) {
        if ((st = model(s, x, sig[i], den, unc, err))) return st;
        if ((st = callback(s, i, ns - 1, x, den, err))) return st;
        float t = neg_log(sig[i]), tn = neg_log(sig[i + 1]);
        float h = tn - t;
        float e = expf(-h);
        if (!have_old || sig[i + 1] == 0.0f) {
            for (size_t k = 0; k < n; k++) {
                float dm = -e * unc[k];
                x[k] = (den[k] + dm) + e * x[k];
            }
        } else {
            float h_last = t - neg_log(sig[i - 1]);
            float r = h_last / h;
            float c = expm1f(-h) * (1.0f / (2.0f * r));
            for (size_t k = 0; k < n; k++) {
                float dm = -e * unc[k] - c * (den[k] - old_unc[k]);
                x[k] = (den[k] + dm) + e * x[k];
            }
        }
        float *tmp = old_unc;
        old_unc = unc;
        unc = tmp;
        have_old = true;
    }
    return SDF_OK;
}

static sdf_status s_dpmpp_sde(run_state *s, const float *sig, int ns, float *x,
                              sdf_error *err) {
    SCRATCH(den);
    SCRATCH(den2);
    SCRATCH(x2);
    SCRATCH(nz);
    size_t n = s->n;
    sdf_status st;
    const float eta = 1.0f;
    for (int i = 0; i < ns - 1; i++) {
        if ((st = model(s, x, sig[i], den, NULL, err))) return st;
        if ((st = callback(s, i, ns - 1, x, den, err))) return st;
        if (sig[i + 1] == 0.0f) {
            memcpy(x, den, n * sizeof(float));
            continue;
        }
        float ls = neg_log(sig[i]), lt = neg_log(sig[i + 1]);
        float h = lt - ls;
        float ls1 = ls + 0.5f * h;
        float ss1 = sig_of(ls1);
        float alpha_s = sig[i] * expf(ls);
        float alpha_s1 = ss1 * expf(ls1);
        float alpha_t = sig[i + 1] * expf(lt);
        float sd, su;
        ancestral(sig_of(ls), sig_of(ls1), eta, &sd, &su);
        float h_ = neg_log(sd) - ls;
        float a = (alpha_s1 / alpha_s) * expf(-h_);
        float b = alpha_s1 * expm1f(-h_);
        if ((st = noise(s, sig[i], ss1, nz, err))) return st;
        for (size_t k = 0; k < n; k++) {
            float v = a * x[k] - b * den[k];
            x2[k] = v + ((alpha_s1 * nz[k]) * 1.0f) * su;
        }
        if ((st = model(s, x2, ss1, den2, NULL, err))) return st;
        ancestral(sig_of(ls), sig_of(lt), eta, &sd, &su);
        h_ = neg_log(sd) - ls;
        float a2 = (alpha_t / alpha_s) * expf(-h_);
        float b2 = alpha_t * expm1f(-h_);
        if ((st = noise(s, sig[i], sig[i + 1], nz, err))) return st;
        for (size_t k = 0; k < n; k++) {
            float dd = 0.0f * den[k] + 1.0f * den2[k];
            float v = a2 * x[k] - b2 * dd;
            x[k] = v + ((alpha_t * nz[k]) * 1.0f) * su;
        }
    }
    return SDF_OK;
}

static sdf_status s_dpmpp_multistep_sde(run_state *s, const float *sig, int ns, float *x,
                                        int variant /* 0 midpoint, 1 heun, 3 = 3M */,
                                        sdf_error *err) {
    SCRATCH(den);
    SCRATCH(d1);
    SCRATCH(d2);
    SCRATCH(nz);
    size_t n = s->n;
    sdf_status st;
    const float eta = 1.0f;
    bool have1 = false, have2 = false;
    float h = 0, h1 = 0, h2 = 0;
    for (int i = 0; i < ns - 1; i++) {
        if ((st = model(s, x, sig[i], den, NULL, err))) return st;
        if ((st = callback(s, i, ns - 1, x, den, err))) return st;
        if (sig[i + 1] == 0.0f) {
            memcpy(x, den, n * sizeof(float));
        } else {
            float ls = neg_log(sig[i]), lt = neg_log(sig[i + 1]);
            h = lt - ls;
            float h_eta = h * (eta + 1.0f);
            float alpha_t = sig[i + 1] * expf(lt);
            float a = (sig[i + 1] / sig[i]) * expf(-h * eta);
            float em = -expm1f(-h_eta);
            float b = alpha_t * em;
            for (size_t k = 0; k < n; k++) x[k] = a * x[k] + b * den[k];
            if (variant == 3 && have2) {
                float r0 = h1 / h, r1 = h2 / h;
                float phi2 = expm1f(-h_eta) / h_eta + 1.0f;
                float phi3 = phi2 / h_eta - 0.5f;
                float c2 = alpha_t * phi2, c3 = alpha_t * phi3;
                float rs = r0 + r1;
                for (size_t k = 0; k < n; k++) {
                    float d10 = (den[k] - d1[k]) / r0;
                    float d11 = (d1[k] - d2[k]) / r1;
                    float dd1 = d10 + ((d10 - d11) * r0) / rs;
                    float dd2 = (d10 - d11) / rs;
                    x[k] = (x[k] + c2 * dd1) - c3 * dd2;
                }
            } else if (variant == 3 && have1) {
                float r = h1 / h;
                float phi2 = expm1f(-h_eta) / h_eta + 1.0f;
                float c2 = alpha_t * phi2;
                for (size_t k = 0; k < n; k++) x[k] = x[k] + c2 * ((den[k] - d1[k]) / r);
            } else if (variant != 3 && have1) {
                float r = h1 / h;
                float c;
                if (variant == 1) c = (alpha_t * (em / -h_eta + 1.0f)) * (1.0f / r);
                else c = ((0.5f * alpha_t) * em) * (1.0f / r);
                for (size_t k = 0; k < n; k++) x[k] = x[k] + c * (den[k] - d1[k]);
            }
            if ((st = noise(s, sig[i], sig[i + 1], nz, err))) return st;
            float q = sqrtf(-expm1f((-2.0f * h) * eta));
            for (size_t k = 0; k < n; k++) x[k] = x[k] + ((nz[k] * sig[i + 1]) * q) * 1.0f;
        }
        /* shift history: d2 <- d1 <- den */
        float *tmp = d2;
        d2 = d1;
        d1 = den;
        den = tmp;
        have2 = have1;
        have1 = true;
        h2 = h1;
        h1 = h;
    }
    return SDF_OK;
}

static sdf_status s_ddpm(run_state *s, const float *sig, int ns, float *x, sdf_error *err) {
    SCRATCH(den);
    SCRATCH(nz);
    size_t n = s->n;
    sdf_status st;
    for (int i = 0; i < ns - 1; i++) {
        float sg = sig[i], sp = sig[i + 1];
        if ((st = model(s, x, sg, den, NULL, err))) return st;
        if ((st = callback(s, i, ns - 1, x, den, err))) return st;
        float scale_in = sqrtf(1.0f + sg * sg);
        float ac = 1.0f / (sg * sg + 1.0f);
        float acp = 1.0f / (sp * sp + 1.0f);
        float alpha = ac / acp;
        float c1 = sqrtf(1.0f / alpha);
        float oma = 1.0f - alpha;
        float sq = sqrtf(1.0f - ac);
        float cn = 0.0f;
        if (sp > 0.0f) {
            cn = sqrtf((oma * (1.0f - acp)) / (1.0f - ac));
            if ((st = noise(s, sg, sp, nz, err))) return st;
        }
        float scale_out = sqrtf(1.0f + sp * sp);
        for (size_t k = 0; k < n; k++) {
            float eps = (x[k] - den[k]) / sg;
            float xs = x[k] / scale_in;
            float mu = c1 * (xs - (oma * eps) / sq);
            if (sp > 0.0f) mu = mu + cn * nz[k];
            if (sp != 0.0f) mu = mu * scale_out;
            x[k] = mu;
        }
    }
    return SDF_OK;
}

static sdf_status s_lcm(run_state *s, const float *sig, int ns, float *x, sdf_error *err) {
    SCRATCH(den);
    SCRATCH(nz);
    size_t n = s->n;
    sdf_status st;
    for (int i = 0; i < ns - 1; i++) {
        if ((st = model(s, x, sig[i], den, NULL, err))) return st;
        if ((st = callback(s, i, ns - 1, x, den, err))) return st;
        memcpy(x, den, n * sizeof(float));
        if (sig[i + 1] > 0.0f) {
            if ((st = noise(s, sig[i], sig[i + 1], nz, err))) return st;
            for (size_t k = 0; k < n; k++) x[k] = nz[k] * sig[i + 1] + x[k];
        }
    }
    return SDF_OK;
}

static sdf_status s_ipndm(run_state *s, const float *sig, int ns, float *x, bool variable,
                          sdf_error *err) {
    SCRATCH(den);
    SCRATCH(b1);
    SCRATCH(b2);
    SCRATCH(b3);
    SCRATCH(dc);
    size_t n = s->n;
    int have = 0; /* history: b1 newest */
    sdf_status st;
    for (int i = 0; i < ns - 1; i++) {
        float tc = sig[i], tn = sig[i + 1];
        if ((st = model(s, x, tc, den, NULL, err))) return st;
        if ((st = callback(s, i, ns - 1, x, den, err))) return st;
        for (size_t k = 0; k < n; k++) dc[k] = (x[k] - den[k]) / tc;
        int order = i + 1 < 4 ? i + 1 : 4;
        float dt = tn - tc;
        if (tn == 0.0f) {
            memcpy(x, den, n * sizeof(float));
        } else if (order == 1) {
            for (size_t k = 0; k < n; k++) x[k] = x[k] + dt * dc[k];
        } else if (!variable) {
            for (size_t k = 0; k < n; k++) {
                float v;
                if (order == 2) v = (3.0f * dc[k] - b1[k]) / 2.0f;
                else if (order == 3) v = ((23.0f * dc[k] - 16.0f * b1[k]) + 5.0f * b2[k]) / 12.0f;
                else
                    v = (((55.0f * dc[k] - 59.0f * b1[k]) + 37.0f * b2[k]) - 9.0f * b3[k]) / 24.0f;
                x[k] = x[k] + dt * v;
            }
        } else {
            float hn = tn - tc, hn1 = tc - sig[i - 1];
            float c1, c2, c3 = 0, c4 = 0;
            if (order == 2) {
                c1 = (2.0f + hn / hn1) / 2.0f;
                c2 = -(hn / hn1) / 2.0f;
            } else {
                float hn2 = sig[i - 1] - sig[i - 2];
                float temp1 = (1.0f - ((hn / (3.0f * (hn + hn1))) * (hn * (hn + hn1))) /
                                          (hn1 * (hn1 + hn2))) /
                              2.0f;
                if (order == 3) {
                    c1 = (2.0f + hn / hn1) / 2.0f + temp1;
                    c2 = -(hn / hn1) / 2.0f - (1.0f + hn1 / hn2) * temp1;
                    c3 = temp1 * hn1 / hn2;
                } else {
                    float hn3 = sig[i - 2] - sig[i - 3];
                    float q = hn1 * (hn1 + hn2) / (hn2 * (hn2 + hn3));
                    float temp2 =
                        ((1.0f - hn / (3.0f * (hn + hn1))) / 2.0f +
                         (1.0f - hn / (2.0f * (hn + hn1))) * hn / (6.0f * (hn + hn1 + hn2))) *
                        (hn * (hn + hn1) * (hn + hn1 + hn2)) /
                        (hn1 * (hn1 + hn2) * (hn1 + hn2 + hn3));
                    c1 = (2.0f + hn / hn1) / 2.0f + temp1 + temp2;
                    c2 = -(hn / hn1) / 2.0f - (1.0f + hn1 / hn2) * temp1 -
                         (1.0f + hn1 / hn2 + q) * temp2;
                    c3 = temp1 * hn1 / hn2 + (hn1 / hn2 + q * (1.0f + hn2 / hn3)) * temp2;
                    c4 = -temp2 * q * hn1 / hn2;
                }
            }
            for (size_t k = 0; k < n; k++) {
                float v = c1 * dc[k] + c2 * b1[k];
                if (order >= 3) v = v + c3 * b2[k];
                if (order >= 4) v = v + c4 * b3[k];
                x[k] = x[k] + dt * v;
            }
        }
        /* push d_cur into the 3-deep history */
        float *t3 = b3;
        b3 = b2;
        b2 = b1;
        b1 = dc;
        dc = t3;
        if (have < 3) have++;
    }
    return SDF_OK;
}

static sdf_status s_res_multistep(run_state *s, const float *sig, int ns, float *x, float eta,
                                  bool cfg_pp, sdf_error *err) {
    SCRATCH(den);
    SCRATCH(unc);
    SCRATCH(old);
    SCRATCH(nz);
    size_t n = s->n;
    bool have_old = false;
    float old_sd = 0;
    sdf_status st;
    for (int i = 0; i < ns - 1; i++) {
        if ((st = model(s, x, sig[i], den, cfg_pp ? unc : NULL, err))) return st;
        float sd, su;
        ancestral(sig[i], sig[i + 1], eta, &sd, &su);
        if ((st = callback(s, i, ns - 1, x, den, err))) return st;
        if (sd == 0.0f || !have_old) {
            if (cfg_pp) {
                for (size_t k = 0; k < n; k++) {
                    float d = (x[k] - unc[k]) / sig[i];
                    x[k] = den[k] + d * sd;
                }
            } else {
                float dt = sd - sig[i];
                for (size_t k = 0; k < n; k++) {
                    float d = (x[k] - den[k]) / sig[i];
                    x[k] = x[k] + d * dt;
                }
            }
        } else {
            float t = neg_log(sig[i]), t_old = neg_log(old_sd), t_next = neg_log(sd);
            float t_prev = neg_log(sig[i - 1]);
            float h = t_next - t;
            float c2 = (t_prev - t_old) / h;
            float phi1 = expm1f(-h) / -h;
            float phi2 = (phi1 - 1.0f) / -h;
            float bb1 = nan_to_num(phi1 - phi2 / c2);
            float bb2 = nan_to_num(phi2 / c2);
            float e = expf(-h);
            const float *cur = cfg_pp ? unc : den;
            for (size_t k = 0; k < n; k++) {
                float xi = cfg_pp ? x[k] + (den[k] - unc[k]) : x[k];
                x[k] = e * xi + h * (bb1 * cur[k] + bb2 * old[k]);
            }
        }
        if (sig[i + 1] > 0.0f && su != 0.0f) {
            if ((st = noise(s, sig[i], sig[i + 1], nz, err))) return st;
            for (size_t k = 0; k < n; k++) x[k] = x[k] + (nz[k] * 1.0f) * su;
        }
        memcpy(old, cfg_pp ? unc : den, n * sizeof(float));
        have_old = true;
        old_sd = sd;
    }
    return SDF_OK;
}

static sdf_status s_gradient_estimation(run_state *s, const float *sig, int ns, float *x,
                                        bool cfg_pp, sdf_error *err) {
    SCRATCH(den);
    SCRATCH(unc);
    SCRATCH(d);
    SCRATCH(old_d);
    size_t n = s->n;
    sdf_status st;
    for (int i = 0; i < ns - 1; i++) {
        if ((st = model(s, x, sig[i], den, cfg_pp ? unc : NULL, err))) return st;
        const float *ref = cfg_pp ? unc : den;
        for (size_t k = 0; k < n; k++) d[k] = (x[k] - ref[k]) / sig[i];
        if ((st = callback(s, i, ns - 1, x, den, err))) return st;
        float dt = sig[i + 1] - sig[i];
        if (sig[i + 1] == 0.0f) {
            memcpy(x, den, n * sizeof(float));
        } else {
            for (size_t k = 0; k < n; k++) {
                float v = cfg_pp ? den[k] + d[k] * sig[i + 1] : x[k] + d[k] * dt;
                if (i >= 1) v = v + ((2.0f - 1.0f) * (d[k] - old_d[k])) * dt;
                x[k] = v;
            }
        }
        float *tmp = old_d;
        old_d = d;
        d = tmp;
    }
    return SDF_OK;
}

static sdf_status s_euler_ancestral_cfg_pp(run_state *s, const float *sig, int ns, float *x,
                                           float eta, sdf_error *err) {
    SCRATCH(den);
    SCRATCH(unc);
    SCRATCH(nz);
    size_t n = s->n;
    sdf_status st;
    for (int i = 0; i < ns - 1; i++) {
        if ((st = model(s, x, sig[i], den, unc, err))) return st;
        if ((st = callback(s, i, ns - 1, x, den, err))) return st;
        if (sig[i + 1] == 0.0f) {
            memcpy(x, den, n * sizeof(float));
            continue;
        }
        float alpha_s = sig[i] * expf(neg_log(sig[i]));
        float alpha_t = sig[i + 1] * expf(neg_log(sig[i + 1]));
        float sd, su;
        ancestral(sig[i] / alpha_s, sig[i + 1] / alpha_t, eta, &sd, &su);
        sd = alpha_t * sd;
        bool add = eta > 0.0f;
        if (add && (st = noise(s, sig[i], sig[i + 1], nz, err))) return st;
        for (size_t k = 0; k < n; k++) {
            float d = (x[k] - alpha_s * unc[k]) / sig[i];
            float v = alpha_t * den[k] + sd * d;
            if (add) v = v + ((alpha_t * nz[k]) * 1.0f) * su;
            x[k] = v;
        }
    }
    return SDF_OK;
}

/* seeds_2 family (seeds_2: r 0.5 phi_1; exp_heun_2_x0(_sde): r 1 phi_2). */
static sdf_status s_seeds_2(run_state *s, const float *sig, int ns, float *x, float eta,
                            float s_noise, float r, bool phi2, sdf_error *err) {
    SCRATCH(den);
    SCRATCH(den2);
    SCRATCH(x2);
    SCRATCH(sde);
    SCRATCH(nz);
    size_t n = s->n;
    bool inject = eta > 0.0f && s_noise > 0.0f;
    float fac = 1.0f / (2.0f * r);
    sdf_status st;
    for (int i = 0; i < ns - 1; i++) {
        if ((st = model(s, x, sig[i], den, NULL, err))) return st;
        if ((st = callback(s, i, ns - 1, x, den, err))) return st;
        if (sig[i + 1] == 0.0f) {
            memcpy(x, den, n * sizeof(float));
            continue;
        }
        float ls = neg_log(sig[i]), lt = neg_log(sig[i + 1]);
        float h = lt - ls;
        float h_eta = h * (eta + 1.0f);
        float ls1 = lerpf_t(ls, lt, r);
        float ss1 = sig_of(ls1);
        float alpha_s1 = ss1 * expf(ls1);
        float alpha_t = sig[i + 1] * expf(lt);
        float a = (ss1 / sig[i]) * expf((-r * h) * eta);
        float b = alpha_s1 * expm1f(-r * h_eta);
        if (inject) {
            if ((st = noise(s, sig[i], ss1, nz, err))) return st;
            float q = sqrtf(-expm1f(((-2.0f * r) * h) * eta));
            for (size_t k = 0; k < n; k++) sde[k] = q * nz[k];
        }
        for (size_t k = 0; k < n; k++) {
            float v = a * x[k] - b * den[k];
            if (inject) v = v + (sde[k] * ss1) * s_noise;
            x2[k] = v;
        }
        if ((st = model(s, x2, ss1, den2, NULL, err))) return st;
        float a2 = (sig[i + 1] / sig[i]) * expf(-h * eta);
        if (!phi2) {
            float b2 = alpha_t * expm1f(-h_eta);
            for (size_t k = 0; k < n; k++) {
                float dd = lerpf_t(den[k], den2[k], fac);
                x[k] = a2 * x[k] - b2 * dd;
            }
        } else {
            float e = expm1f(-h_eta);
            float p2 = ((e - -h_eta) / -h_eta) / r;
            float p1 = e - p2;
            for (size_t k = 0; k < n; k++)
                x[k] = a2 * x[k] - alpha_t * (p1 * den[k] + p2 * den2[k]);
        }
        if (inject) {
            float sf = ((r - 1.0f) * h) * eta;
            float es = expf(sf), q = sqrtf(-expm1f(sf * 2.0f));
            if ((st = noise(s, ss1, sig[i + 1], nz, err))) return st;
            for (size_t k = 0; k < n; k++) {
                float v = sde[k] * es + q * nz[k];
                x[k] = x[k] + (v * sig[i + 1]) * s_noise;
            }
        }
    }
    return SDF_OK;
}

static sdf_status s_seeds_3(run_state *s, const float *sig, int ns, float *x, sdf_error *err) {
    SCRATCH(den);
    SCRATCH(den2);
    SCRATCH(den3);
    SCRATCH(xt);
    SCRATCH(sde);
    SCRATCH(nz);
    size_t n = s->n;
    const float eta = 1.0f, s_noise = 1.0f, r1 = 1.0f / 3.0f, r2 = 2.0f / 3.0f;
    sdf_status st;
    for (int i = 0; i < ns - 1; i++) {
        if ((st = model(s, x, sig[i], den, NULL, err))) return st;
        if ((st = callback(s, i, ns - 1, x, den, err))) return st;
        if (sig[i + 1] == 0.0f) {
            memcpy(x, den, n * sizeof(float));
            continue;
        }
        float ls = neg_log(sig[i]), lt = neg_log(sig[i + 1]);
        float h = lt - ls, h_eta = h * (eta + 1.0f);
        float ls1 = lerpf_t(ls, lt, r1), ls2 = lerpf_t(ls, lt, r2);
        float ss1 = sig_of(ls1), ss2 = sig_of(ls2);
        float al1 = ss1 * expf(ls1), al2 = ss2 * expf(ls2), alt = sig[i + 1] * expf(lt);
        /* step 1 */
        if ((st = noise(s, sig[i], ss1, nz, err))) return st;
        float q = sqrtf(-expm1f(((-2.0f * r1) * h) * eta));
        float a = (ss1 / sig[i]) * expf((-r1 * h) * eta), b = al1 * expm1f(-r1 * h_eta);
        for (size_t k = 0; k < n; k++) {
            sde[k] = q * nz[k];
            xt[k] = (a * x[k] - b * den[k]) + (sde[k] * ss1) * s_noise;
        }
        if ((st = model(s, xt, ss1, den2, NULL, err))) return st;
        /* step 2 */
        float e2 = expm1f(-r2 * h_eta);
        float a32 = (r2 / r1) * ((e2 - -r2 * h_eta) / (-r2 * h_eta));
        float a31 = e2 - a32;
        float a2c = (ss2 / sig[i]) * expf((-r2 * h) * eta);
        float sf = ((r1 - r2) * h) * eta;
        float es = expf(sf), q2 = sqrtf(-expm1f(sf * 2.0f));
        if ((st = noise(s, ss1, ss2, nz, err))) return st;
        for (size_t k = 0; k < n; k++) {
            sde[k] = sde[k] * es + q2 * nz[k];
            float v = a2c * x[k] - al2 * (a31 * den[k] + a32 * den2[k]);
            xt[k] = v + (sde[k] * ss2) * s_noise;
        }
        if ((st = model(s, xt, ss2, den3, NULL, err))) return st;
        /* step 3 */
        float e = expm1f(-h_eta);
        float b3 = ((e - -h_eta) / -h_eta) / r2;
        float b1 = e - b3;
        float a3 = (sig[i + 1] / sig[i]) * expf(-h * eta);
        float sf3 = ((r2 - 1.0f) * h) * eta;
        float es3 = expf(sf3), q3 = sqrtf(-expm1f(sf3 * 2.0f));
        if ((st = noise(s, ss2, sig[i + 1], nz, err))) return st;
        for (size_t k = 0; k < n; k++) {
            float v = a3 * x[k] - alt * (b1 * den[k] + b3 * den3[k]);
            float sn = sde[k] * es3 + q3 * nz[k];
            x[k] = v + (sn * sig[i + 1]) * s_noise;
        }
    }
    return SDF_OK;
}

static float er_scaler(float v) { return v * (expf(powf(v, 0.3f)) + 10.0f); }

static sdf_status s_er_sde(run_state *s, const float *sig, int ns, float *x, sdf_error *err) {
    SCRATCH(den);
    SCRATCH(old);
    SCRATCH(old_dd);
    SCRATCH(dd);
    SCRATCH(nz);
    size_t n = s->n;
    float *erl = sdf_malloc(sizeof(float) * (size_t)ns);
    if (!erl) return sdf_fail(err, SDF_ERR_NOMEM, "er_sde: out of memory");
    for (int i = 0; i < ns; i++) erl[i] = expf(-neg_log(sig[i]));
    sdf_status st = SDF_OK;
    for (int i = 0; i < ns - 1 && st == SDF_OK; i++) {
        if ((st = model(s, x, sig[i], den, NULL, err))) break;
        if ((st = callback(s, i, ns - 1, x, den, err))) break;
        int stage = i + 1 < 3 ? i + 1 : 3;
        if (sig[i + 1] == 0.0f) {
            memcpy(x, den, n * sizeof(float));
        } else {
            float ls_ = erl[i], lt_ = erl[i + 1];
            float alpha_s = sig[i] / ls_, alpha_t = sig[i + 1] / lt_;
            float r_alpha = alpha_t / alpha_s;
            float r = er_scaler(lt_) / er_scaler(ls_);
            float a = r_alpha * r, b = alpha_t * (1.0f - r);
            for (size_t k = 0; k < n; k++) x[k] = a * x[k] + b * den[k];
            if (stage >= 2) {
                float dt = lt_ - ls_;
                float step = -dt / 200.0f;
                double sum1 = 0, sum2 = 0;
                for (int p = 0; p < 200; p++) {
                    float pos = lt_ + (float)p * step;
                    float sp = er_scaler(pos);
                    sum1 += (double)(1.0f / sp);
                    sum2 += (double)((pos - ls_) / sp);
                }
                float s1 = (float)sum1 * step;
                float nt = er_scaler(lt_);
                float c2 = alpha_t * (dt + s1 * nt);
                float denom = ls_ - erl[i - 1];
                for (size_t k = 0; k < n; k++) {
                    dd[k] = (den[k] - old[k]) / denom;
                    x[k] = x[k] + c2 * dd[k];
                }
                if (stage >= 3) {
                    float su = (float)sum2 * step;
                    float c3 = alpha_t * ((dt * dt) / 2.0f + su * nt);
                    float dn = (ls_ - erl[i - 2]) / 2.0f;
                    for (size_t k = 0; k < n; k++) x[k] = x[k] + c3 * ((dd[k] - old_dd[k]) / dn);
                }
                memcpy(old_dd, dd, n * sizeof(float));
            }
            float q = sqrtf(lt_ * lt_ - (ls_ * ls_) * (r * r));
            q = isnan(q) ? 0.0f : q;
            if ((st = noise(s, sig[i], sig[i + 1], nz, err))) break;
            for (size_t k = 0; k < n; k++) x[k] = x[k] + ((alpha_t * nz[k]) * 1.0f) * q;
        }
        memcpy(old, den, n * sizeof(float));
    }
    sdf_free(erl);
    return st;
}


/* ---- UniPC (comfy/extra_samplers/uni_pc.py: multistep, predict_x0, bh1/bh2) ---- */

/* SigmaConvert on float32 sigmas */
static float up_lmc(float s) { return 0.5f * logf(1.0f / ((s * s) + 1.0f)); }
static float up_alpha(float s) { return expf(up_lmc(s)); }
static float up_std(float s) { return sqrtf(1.0f - expf(2.0f * up_lmc(s))); }
static float up_lambda(float s) {
    float l = up_lmc(s);
    return l - 0.5f * logf(1.0f - expf(2.0f * l));
}

typedef struct unipc {
    run_state *s;
    float *xin, *den; /* scratch for the model evaluation */
    int step_i, total;
} unipc;

/* data_prediction_fn(x, t): x0 from the k-diffusion denoiser at sigma t */
static sdf_status up_model(unipc *u, const float *x, float t, float *out, sdf_error *err) {
    run_state *s = u->s;
    float sc = sqrtf(t * t + 1.0f);
    for (size_t k = 0; k < s->n; k++) u->xin[k] = x[k] * sc;
    sdf_status st = model(s, u->xin, t, u->den, NULL, err);
    if (st != SDF_OK) return st;
    float a = up_alpha(t), sd = up_std(t);
    for (size_t k = 0; k < s->n; k++) {
        float eps = (u->xin[k] - u->den[k]) / t;
        out[k] = (x[k] - sd * eps) / a;
    }
    return SDF_OK;
}

/* Solves the n x n system A y = b (n <= 4) in double by Gaussian elimination with partial
 * pivoting; A and b are overwritten. */
static void solve_small(int n, double A[4][4], double *b, double *y) {
    for (int c = 0; c < n; c++) {
        int p = c;
        for (int r = c + 1; r < n; r++)
            if (fabs(A[r][c]) > fabs(A[p][c])) p = r;
        for (int k = 0; k < n; k++) {
            double t = A[c][k];
            A[c][k] = A[p][k];
            A[p][k] = t;
        }
        double t = b[c];
        b[c] = b[p];
        b[p] = t;
        for (int r = c + 1; r < n; r++) {
            double f = A[r][c] / A[c][c];
            for (int k = c; k < n; k++) A[r][k] -= f * A[c][k];
            b[r] -= f * b[c];
        }
    }
    for (int r = n - 1; r >= 0; r--) {
        double acc = b[r];
        for (int k = r + 1; k < n; k++) acc -= A[r][k] * y[k];
        y[r] = acc / A[r][r];
    }
}

/* multistep_uni_pc_bh_update: x (in/out), mpl/tpl hold `have` entries (oldest first). *model_t
 * receives the corrector's evaluation when use_corrector. */
static sdf_status up_update(unipc *u, float *x, float **mpl, const float *tpl, int have, float t,
                            int order, bool use_corrector, bool bh2, float *model_t,
                            float *d1s[2], float *xt_, sdf_error *err) {
    run_state *s = u->s;
    size_t n = s->n;
    float t0 = tpl[have - 1];
    const float *m0 = mpl[have - 1];
    float l0 = up_lambda(t0), lt = up_lambda(t);
    float sig0 = up_std(t0), sigt = up_std(t);
    float alpha_t = expf(up_lmc(t));
    float h = lt - l0;
    float rks[3];
    for (int i = 1; i < order; i++) {
        float li = up_lambda(tpl[have - 1 - i]);
        rks[i - 1] = (li - l0) / h;
        const float *mi = mpl[have - 1 - i];
        for (size_t k = 0; k < n; k++) d1s[i - 1][k] = (mi[k] - m0[k]) / rks[i - 1];
    }
    rks[order - 1] = 1.0f;
    float hh = -h;
    float h_phi_1 = expm1f(hh);
    float h_phi_k = h_phi_1 / hh - 1.0f;
    float fact = 1.0f;
    float B_h = bh2 ? expm1f(hh) : hh;
    double R[3][3], b[3];
    for (int i = 1; i <= order; i++) {
        for (int c = 0; c < order; c++) R[i - 1][c] = (double)powf(rks[c], (float)(i - 1));
        b[i - 1] = (double)((h_phi_k * fact) / B_h);
        fact *= (float)(i + 1);
        h_phi_k = h_phi_k / hh - 1.0f / fact;
    }
    float rhos_p[3] = {0}, rhos_c[3] = {0};
    int nd = order - 1;
    if (nd > 0) {
        if (order == 2) rhos_p[0] = 0.5f;
        else {
            double A[4][4] = {{0}}, bb[4] = {0}, y[4] = {0};
            for (int r = 0; r < nd; r++) {
                for (int c = 0; c < nd; c++) A[r][c] = R[r][c];
                bb[r] = b[r];
            }
            solve_small(nd, A, bb, y);
            for (int r = 0; r < nd; r++) rhos_p[r] = (float)y[r];
        }
    }
    if (use_corrector) {
        if (order == 1) rhos_c[0] = 0.5f;
        else {
            double A[4][4] = {{0}}, bb[4] = {0}, y[4] = {0};
            for (int r = 0; r < order; r++) {
                for (int c = 0; c < order; c++) A[r][c] = R[r][c];
                bb[r] = b[r];
            }
            solve_small(order, A, bb, y);
            for (int r = 0; r < order; r++) rhos_c[r] = (float)y[r];
        }
    }
    float ca = sigt / sig0, cb = alpha_t * h_phi_1, cB = alpha_t * B_h;
    for (size_t k = 0; k < n; k++) {
        xt_[k] = ca * x[k] - cb * m0[k];
        float pr = 0.0f;
        for (int i = 0; i < nd; i++) pr = pr + d1s[i][k] * rhos_p[i];
        x[k] = nd > 0 ? xt_[k] - cB * pr : xt_[k] - cB * 0.0f;
    }
    if (use_corrector) {
        sdf_status st = up_model(u, x, t, model_t, err);
        if (st != SDF_OK) return st;
        for (size_t k = 0; k < n; k++) {
            float cr = 0.0f;
            for (int i = 0; i < nd; i++) cr = cr + d1s[i][k] * rhos_c[i];
            float d1t = model_t[k] - m0[k];
            x[k] = xt_[k] - cB * (cr + rhos_c[order - 1] * d1t);
        }
    }
    return SDF_OK;
}

static sdf_status s_unipc(run_state *s, const float *sig_in, int ns, float *x, bool bh2,
                          sdf_error *err) {
    SCRATCH(xin);
    SCRATCH(den);
    SCRATCH(m0);
    SCRATCH(m1);
    SCRATCH(m2);
    SCRATCH(mt);
    SCRATCH(d10);
    SCRATCH(d11);
    SCRATCH(xt_);
    size_t n = s->n;
    float ts[1024];
    if (ns > 1024) return sdf_fail(err, SDF_ERR_INVALID, "uni_pc: too many steps");
    memcpy(ts, sig_in, sizeof(float) * (size_t)ns);
    if (ts[ns - 1] == 0.0f) ts[ns - 1] = 0.001f;
    float sc0 = sqrtf(1.0f + ts[0] * ts[0]);
    for (size_t k = 0; k < n; k++) x[k] = x[k] / sc0;
    int steps = ns - 1;
    int order = ns - 2 < 3 ? ns - 2 : 3;
    unipc u = {.s = s, .xin = xin, .den = den, .total = steps};
    float *mpl[3] = {m0, m1, m2};
    float tpl[3];
    int have = 0;
    float *d1s[2] = {d10, d11};
    sdf_status st;
    for (int si = 0; si < steps; si++) {
        if (si == 0) {
            if ((st = up_model(&u, x, ts[0], mpl[0], err))) return st;
            tpl[0] = ts[0];
            have = 1;
        } else if (si < order) {
            float vt = ts[si];
            if ((st = up_update(&u, x, mpl, tpl, have, vt, si, true, bh2, mt, d1s, xt_, err)))
                return st;
            memcpy(mpl[have], mt, n * sizeof(float));
            tpl[have] = vt;
            have++;
        } else {
            int extra = si == steps - 1 ? 1 : 0;
            for (int step = si; step <= si + extra; step++) {
                float vt = ts[step];
                int so = order < steps + 1 - step ? order : steps + 1 - step;
                bool corr = step != steps;
                if ((st = up_update(&u, x, mpl, tpl, have, vt, so, corr, bh2, mt, d1s, xt_, err)))
                    return st;
                /* shift the history by one and put the new entry last */
                float *first = mpl[0];
                for (int i = 0; i < order - 1; i++) {
                    tpl[i] = tpl[i + 1];
                    mpl[i] = mpl[i + 1];
                }
                mpl[order - 1] = first;
                tpl[have - 1] = vt;
                if (step < steps) memcpy(mpl[have - 1], mt, n * sizeof(float));
            }
        }
        if ((st = callback(s, si, steps, x, mpl[have - 1], err))) return st;
    }
    float a = up_alpha(ts[ns - 1]);
    for (size_t k = 0; k < n; k++) x[k] = x[k] / a;
    return SDF_OK;
}

/* ---- DEIS (tab mode, max_order 3) ---- */

static sdf_status s_deis(run_state *s, const float *sig, int ns, float *x, sdf_error *err) {
    enum { MAXO = 3, NI = 10000 };
    SCRATCH(den);
    SCRATCH(dc);
    SCRATCH(b1);
    SCRATCH(b2);
    size_t n = s->n;
    /* edm2t with the EDM constants, float32 */
    const float eps_s = 1e-3f, smin = 0.002f, smax = 80.0f;
    float lmin = logf(smin * smin + 1.0f), lmax = logf(smax * smax + 1.0f);
    float beta_d = 2.0f * (lmin / eps_s - lmax) / (eps_s - 1.0f);
    float beta_min = lmax - 0.5f * beta_d;
    float beta1 = beta_d + beta_min;
    float *t = sdf_malloc(sizeof(float) * (size_t)ns);
    float *taus = sdf_malloc(sizeof(float) * NI);
    float (*coef)[MAXO] = sdf_calloc((size_t)ns, sizeof *coef);
    if (!t || !taus || !coef) {
        sdf_free(t);
        sdf_free(taus);
        sdf_free(coef);
        return sdf_fail(err, SDF_ERR_NOMEM, "deis: out of memory");
    }
    for (int i = 0; i < ns; i++) {
        float l = logf(sig[i] * sig[i] + 1.0f);
        t[i] = (sqrtf(beta_min * beta_min + 2.0f * beta_d * l) - beta_min) / beta_d;
    }
    for (int i = 0; i < ns - 1; i++) {
        int order = i + 1 < MAXO ? i + 1 : MAXO;
        if (order == 1) continue;
        sdf_linspace_f32(t[i], t[i + 1], NI, taus);
        float dtau = (t[i + 1] - t[i]) / (float)NI;
        for (int j = 0; j < order; j++) {
            double acc = 0;
            for (int q = 0; q < NI; q++) {
                double tau = taus[q];
                double alpha = exp(-0.5 * tau * tau * ((double)beta1 - beta_min) - tau * beta_min);
                double dlog = -tau * ((double)beta1 - beta_min) - beta_min;
                double integrand = -0.5 * dlog / sqrt(alpha * (1.0 - alpha));
                double poly = 1.0;
                for (int k = 0; k < order; k++) {
                    if (k == j) continue;
                    poly *= (tau - t[i - k]) / ((double)t[i - j] - t[i - k]);
                }
                acc += integrand * poly;
            }
            coef[i][j] = (float)acc * dtau;
        }
    }
    sdf_free(taus);
    sdf_status st = SDF_OK;
    int have = 0;
    for (int i = 0; i < ns - 1; i++) {
        float tc = sig[i], tn = sig[i + 1];
        if ((st = model(s, x, tc, den, NULL, err))) break;
        if ((st = callback(s, i, ns - 1, x, den, err))) break;
        for (size_t k = 0; k < n; k++) dc[k] = (x[k] - den[k]) / tc;
        int order = i + 1 < MAXO ? i + 1 : MAXO;
        if (tn <= 0.0f) order = 1;
        if (order == 1) {
            float dt = tn - tc;
            for (size_t k = 0; k < n; k++) x[k] = x[k] + dt * dc[k];
        } else if (order == 2) {
            for (size_t k = 0; k < n; k++) x[k] = (x[k] + coef[i][0] * dc[k]) + coef[i][1] * b1[k];
        } else {
            for (size_t k = 0; k < n; k++)
                x[k] = ((x[k] + coef[i][0] * dc[k]) + coef[i][1] * b1[k]) + coef[i][2] * b2[k];
        }
        /* history: b1 newest, b2 older (max_order - 1 = 2 entries) */
        float *tmp = b2;
        b2 = b1;
        b1 = dc;
        dc = tmp;
        if (have < 2) have++;
    }
    sdf_free(t);
    sdf_free(coef);
    return st;
}

/* ---- DPM-Solver fast (eta 0) ---- */

typedef struct dpms {
    run_state *s;
    float *tmp;
} dpms;

static sdf_status dpms_eps(dpms *d, const float *x, float t, float *eps, sdf_error *err) {
    float sg = sig_of(t);
    sdf_status st = model(d->s, x, sg, d->tmp, NULL, err);
    if (st != SDF_OK) return st;
    for (size_t k = 0; k < d->s->n; k++) eps[k] = (x[k] - d->tmp[k]) / sg;
    return SDF_OK;
}

static sdf_status s_dpm_fast(run_state *s, const float *sig, int ns, float *x, sdf_error *err) {
    SCRATCH(tmp);
    SCRATCH(eps);
    SCRATCH(e1);
    SCRATCH(e2);
    SCRATCH(u);
    SCRATCH(den);
    size_t n = s->n;
    dpms d = {s, tmp};
    float smin = sig[ns - 1] == 0.0f ? sig[ns - 2] : sig[ns - 1];
    float smax = sig[0];
    int nfe = ns - 1;
    if (!(smin > 0.0f) || !(smax > 0.0f))
        return sdf_fail(err, SDF_ERR_INVALID, "dpm_fast: sigma_min and sigma_max must not be 0");
    float t_start = neg_log(smax), t_end = neg_log(smin);
    int m = nfe / 3 + 1;
    float *ts = sdf_malloc(sizeof(float) * (size_t)(m + 1));
    int *orders = sdf_malloc(sizeof(int) * (size_t)(m + 1));
    if (!ts || !orders) {
        sdf_free(ts);
        sdf_free(orders);
        return sdf_fail(err, SDF_ERR_NOMEM, "dpm_fast: out of memory");
    }
    sdf_linspace_f32(t_start, t_end, m + 1, ts);
    int no = 0;
    if (nfe % 3 == 0) {
        for (int i = 0; i < m - 2; i++) orders[no++] = 3;
        orders[no++] = 2;
        orders[no++] = 1;
    } else {
        for (int i = 0; i < m - 1; i++) orders[no++] = 3;
        orders[no++] = nfe % 3;
    }
    sdf_status st = SDF_OK;
    for (int i = 0; i < no && st == SDF_OK; i++) {
        float t = ts[i], tn = ts[i + 1];
        float h = tn - t;
        if ((st = dpms_eps(&d, x, t, eps, err))) break;
        float sg = sig_of(t);
        for (size_t k = 0; k < n; k++) den[k] = x[k] - sg * eps[k];
        if ((st = callback(s, i, no, x, den, err))) break;
        float sn = sig_of(tn), em = expm1f(h);
        if (orders[i] == 1) {
            for (size_t k = 0; k < n; k++) x[k] = x[k] - (sn * em) * eps[k];
        } else if (orders[i] == 2) {
            const float r1 = 0.5f;
            float s1 = t + r1 * h;
            float c1 = sig_of(s1) * expm1f(r1 * h);
            for (size_t k = 0; k < n; k++) u[k] = x[k] - c1 * eps[k];
            if ((st = dpms_eps(&d, u, s1, e1, err))) break;
            float c2 = (sn / (2.0f * r1)) * em;
            for (size_t k = 0; k < n; k++)
                x[k] = (x[k] - (sn * em) * eps[k]) - c2 * (e1[k] - eps[k]);
        } else {
            const float r1 = 1.0f / 3.0f, r2 = 2.0f / 3.0f;
            float s1 = t + r1 * h, s2 = t + r2 * h;
            float c1 = sig_of(s1) * expm1f(r1 * h);
            for (size_t k = 0; k < n; k++) u[k] = x[k] - c1 * eps[k];
            if ((st = dpms_eps(&d, u, s1, e1, err))) break;
            float er2 = expm1f(r2 * h);
            float ca = sig_of(s2) * er2;
            float cb = (sig_of(s2) * (r2 / r1)) * (er2 / (r2 * h) - 1.0f);
            for (size_t k = 0; k < n; k++) u[k] = (x[k] - ca * eps[k]) - cb * (e1[k] - eps[k]);
            if ((st = dpms_eps(&d, u, s2, e2, err))) break;
            float cc = (sn / r2) * (em / h - 1.0f);
            for (size_t k = 0; k < n; k++)
                x[k] = (x[k] - (sn * em) * eps[k]) - cc * (e2[k] - eps[k]);
        }
    }
    sdf_free(ts);
    sdf_free(orders);
    return st;
}


/* ---- SA-Solver (predictor 3, corrector 4, tau 1 on percent 0.2..0.8) ---- */

/* b coefficients: alpha_t * solve(V^T, exponential integral coefficients) */
static void sa_b_coeffs(float sigma_next, const float *lams, int k, float lam_s, float lam_t,
                        float tau, float *b) {
    double tau_mul = 1.0 + (double)tau * tau;
    double hs = (double)lam_t - lam_s;
    double ptf[4], ec[4];
    for (int p = 0; p < k; p++)
        ptf[p] = pow((double)lam_t, p) - pow((double)lam_s, p) * exp(-tau_mul * hs);
    for (int i = 0; i < k; i++) {
        double acc = 0;
        for (int j = 0; j <= i; j++) {
            double lc = lgamma((double)i + 1) - lgamma((double)j + 1);
            if (tau > 0) lc -= (double)(i - j) * log(tau_mul);
            double c = exp(lc) * (((i - j) % 2 == 0) ? 1.0 : -1.0);
            acc += c * ptf[j];
        }
        ec[i] = acc;
    }
    double A4[4][4] = {{0}}, rhs[4] = {0}, y[4] = {0};
    for (int r = 0; r < k; r++)
        for (int c = 0; c < k; c++) A4[r][c] = pow((double)lams[c], r);
    for (int r = 0; r < k; r++) rhs[r] = ec[r];
    solve_small(k, A4, rhs, y);
    float alpha_t = sigma_next * expf(lam_t);
    for (int i = 0; i < k; i++) b[i] = alpha_t * (float)y[i];
}

static sdf_status s_sa_solver(run_state *s, const float *sig, int ns, float *x_out, bool pece,
                              sdf_error *err) {
    enum { PO = 3, CO = 4, MAXO = 4 };
    SCRATCH(x);
    SCRATCH(nzv);
    SCRATCH(p0);
    SCRATCH(p1);
    SCRATCH(p2);
    SCRATCH(p3);
    size_t n = s->n;
    float *preds[MAXO] = {p0, p1, p2, p3}; /* preds[0] oldest of n_pred */
    int n_pred = 0;
    float *lam = sdf_malloc(sizeof(float) * (size_t)ns);
    if (!lam) return sdf_fail(err, SDF_ERR_NOMEM, "sa_solver: out of memory");
    for (int i = 0; i < ns; i++) lam[i] = neg_log(sig[i]);
    double start_sigma = sdf_ms_percent_to_sigma(s->r->ms, 0.2);
    double end_sigma = sdf_ms_percent_to_sigma(s->r->ms, 0.8);
    float *x_pred = x_out; /* x_pred lives in the caller's buffer */
    float h = 0.0f, tau_t = 0.0f;
    bool have_noise = false;
    bool lower_to_end = sig[ns - 1] == 0.0f;
    sdf_status st = SDF_OK;
    for (int i = 0; i < ns - 1 && st == SDF_OK; i++) {
        /* evaluation into a fresh slot */
        float *slot;
        if (n_pred == MAXO) {
            slot = preds[0];
            memmove(preds, preds + 1, sizeof(float *) * (MAXO - 1));
            preds[MAXO - 1] = slot;
        } else {
            slot = preds[n_pred++];
        }
        if ((st = model(s, x_pred, sig[i], slot, NULL, err))) break;
        if ((st = callback(s, i, ns - 1, x_pred, slot, err))) break;
        int pou = PO < n_pred ? PO : n_pred;
        int cou = (i == 0 || (sig[i + 1] == 0.0f && !pece)) ? 0 : (CO < n_pred ? CO : n_pred);
        if (lower_to_end) {
            if (pou > ns - 2 - i) pou = ns - 2 - i;
            if (cou > ns - 1 - i) cou = ns - 1 - i;
        }
        if (cou == 0) {
            memcpy(x, x_pred, n * sizeof(float));
        } else {
            float b[4];
            sa_b_coeffs(sig[i], lam + i - cou + 1, cou, lam[i - 1], lam[i], tau_t, b);
            float a = (sig[i] / sig[i - 1]) * expf(-(tau_t * tau_t) * h);
            for (size_t k = 0; k < n; k++) {
                float cr = 0.0f;
                for (int q = 0; q < cou; q++) cr = cr + preds[n_pred - cou + q][k] * b[q];
                float v = a * x[k] + cr;
                if (tau_t > 0 && have_noise) v = v + nzv[k];
                x[k] = v;
            }
            if (pece) {
                if ((st = model(s, x, sig[i], preds[n_pred - 1], NULL, err))) break;
            }
        }
        if (sig[i + 1] == 0.0f) {
            memcpy(x_pred, preds[n_pred - 1], n * sizeof(float));
        } else {
            double sn = (double)sig[i + 1];
            tau_t = (start_sigma >= sn && sn >= end_sigma) ? 1.0f : 0.0f;
            float b[4];
            sa_b_coeffs(sig[i + 1], lam + i - pou + 1, pou, lam[i], lam[i + 1], tau_t, b);
            h = lam[i + 1] - lam[i];
            float a = (sig[i + 1] / sig[i]) * expf(-(tau_t * tau_t) * h);
            for (size_t k = 0; k < n; k++) {
                float pr = 0.0f;
                for (int q = 0; q < pou; q++) pr = pr + preds[n_pred - pou + q][k] * b[q];
                x_pred[k] = a * x[k] + pr;
            }
            if (tau_t > 0) {
                if ((st = noise(s, sig[i], sig[i + 1], nzv, err))) break;
                float q = sqrtf(-expm1f((-2.0f * (tau_t * tau_t)) * h));
                for (size_t k = 0; k < n; k++) {
                    nzv[k] = ((nzv[k] * sig[i + 1]) * q) * 1.0f;
                    x_pred[k] = x_pred[k] + nzv[k];
                }
                have_noise = true;
            }
        }
    }
    sdf_free(lam);
    return st;
}

/* ---- DPM-Solver adaptive (order 3, rtol 0.05, atol 0.0078, h_init 0.05, PID i=1) ---- */

static void dpms_2_step(dpms *d, const float *x, float t, float tn, float r1, const float *eps,
                        const float *e1, float *out) {
    float h = tn - t, sn = sig_of(tn), em = expm1f(h);
    float c2 = (sn / (2.0f * r1)) * em;
    for (size_t k = 0; k < d->s->n; k++) out[k] = (x[k] - (sn * em) * eps[k]) - c2 * (e1[k] - eps[k]);
}

static sdf_status s_dpm_adaptive(run_state *s, const float *sig, int ns, float *x,
                                 sdf_error *err) {
    SCRATCH(tmp);
    SCRATCH(eps);
    SCRATCH(e1);
    SCRATCH(e2);
    SCRATCH(u);
    SCRATCH(den);
    SCRATCH(xlow);
    SCRATCH(xhigh);
    SCRATCH(xprev);
    size_t n = s->n;
    dpms d = {s, tmp};
    float smin = sig[ns - 1] == 0.0f ? sig[ns - 2] : sig[ns - 1];
    float smax = sig[0];
    if (!(smin > 0.0f) || !(smax > 0.0f))
        return sdf_fail(err, SDF_ERR_INVALID, "dpm_adaptive: sigma_min and sigma_max must not be 0");
    float t_start = neg_log(smax), t_end = neg_log(smin);
    const float atol = 0.0078f, rtol = 0.05f;
    double hstep = 0.05;
    const double b1 = 1.0 / 3.0, b2 = -0.0, b3 = 0.0;
    double errs[3] = {0};
    bool have_errs = false;
    float sx = t_start;
    memcpy(xprev, x, n * sizeof(float));
    int steps = 0;
    sdf_status st = SDF_OK;
    while (sx < t_end - 1e-5f) {
        if (steps > 100000) return sdf_fail(err, SDF_ERR_INTERNAL, "dpm_adaptive: no progress");
        float tt = sx + (float)hstep;
        if (t_end < tt) tt = t_end;
        if ((st = dpms_eps(&d, x, sx, eps, err))) return st;
        float sg = sig_of(sx);
        for (size_t k = 0; k < n; k++) den[k] = x[k] - sg * eps[k];
        float h = tt - sx;
        /* eps_r1 at s + h/3 serves both the 2-step (r1 = 1/3) and the 3-step */
        const float r1 = 1.0f / 3.0f, r2 = 2.0f / 3.0f;
        float s1 = sx + r1 * h, s2 = sx + r2 * h;
        float c1 = sig_of(s1) * expm1f(r1 * h);
        for (size_t k = 0; k < n; k++) u[k] = x[k] - c1 * eps[k];
        if ((st = dpms_eps(&d, u, s1, e1, err))) return st;
        dpms_2_step(&d, x, sx, tt, r1, eps, e1, xlow);
        float er2 = expm1f(r2 * h);
        float ca = sig_of(s2) * er2;
        float cb = (sig_of(s2) * (r2 / r1)) * (er2 / (r2 * h) - 1.0f);
        for (size_t k = 0; k < n; k++) u[k] = (x[k] - ca * eps[k]) - cb * (e1[k] - eps[k]);
        if ((st = dpms_eps(&d, u, s2, e2, err))) return st;
        float sn = sig_of(tt), em = expm1f(h);
        float cc = (sn / r2) * (em / h - 1.0f);
        for (size_t k = 0; k < n; k++)
            xhigh[k] = (x[k] - (sn * em) * eps[k]) - cc * (e2[k] - eps[k]);
        double sq = 0;
        for (size_t k = 0; k < n; k++) {
            float mx = fabsf(xlow[k]) > fabsf(xprev[k]) ? fabsf(xlow[k]) : fabsf(xprev[k]);
            float delta = rtol * mx;
            if (delta < atol) delta = atol;
            float q = (xlow[k] - xhigh[k]) / delta;
            sq += (double)q * q;
        }
        float error = (float)sqrt(sq) / (float)sqrt((double)n);
        double inv = 1.0 / ((double)error + 1e-8);
        if (!have_errs) {
            errs[0] = errs[1] = errs[2] = inv;
            have_errs = true;
        }
        errs[0] = inv;
        double factor = pow(errs[0], b1) * pow(errs[1], b2) * pow(errs[2], b3);
        factor = 1.0 + atan(factor - 1.0);
        bool accept = factor >= 0.81;
        if (accept) {
            errs[2] = errs[1];
            errs[1] = errs[0];
        }
        hstep *= factor;
        if (accept) {
            memcpy(xprev, xlow, n * sizeof(float));
            memcpy(x, xhigh, n * sizeof(float));
            sx = tt;
        }
        steps++;
        if ((st = callback(s, steps - 1, steps + 1, x, den, err))) return st;
    }
    return SDF_OK;
}

/* ---- dispatch ---- */

bool sdf_sampler_uses_default_noise(int sampler) {
    switch (sampler) {
    case S_EULER_CFG_PP: case S_EULER_ANCESTRAL: case S_EULER_ANCESTRAL_CFG_PP:
    case S_DPM_2_ANCESTRAL: case S_DPMPP_2S_ANCESTRAL: case S_DPMPP_2S_ANCESTRAL_CFG_PP:
    case S_DDPM: case S_LCM: case S_RES_MULTISTEP: case S_RES_MULTISTEP_CFG_PP:
    case S_RES_MULTISTEP_ANCESTRAL: case S_RES_MULTISTEP_ANCESTRAL_CFG_PP: case S_ER_SDE:
    case S_SEEDS_2: case S_SEEDS_3: case S_EXP_HEUN_2_X0: case S_EXP_HEUN_2_X0_SDE:
    case S_SA_SOLVER: case S_SA_SOLVER_PECE: case S_DPM_FAST: case S_DPM_ADAPTIVE:
        return true;
    default:
        return false;
    }
}

bool sdf_sampler_uses_brownian(int sampler) {
    switch (sampler) {
    case S_DPMPP_SDE: case S_DPMPP_SDE_GPU: case S_DPMPP_2M_SDE: case S_DPMPP_2M_SDE_GPU:
    case S_DPMPP_2M_SDE_HEUN: case S_DPMPP_2M_SDE_HEUN_GPU: case S_DPMPP_3M_SDE:
    case S_DPMPP_3M_SDE_GPU:
        return true;
    default:
        return false;
    }
}

sdf_status sdf_sample(int sampler, const sdf_sampler_run *r, const float *sig, int ns, float *x,
                      sdf_error *err) {
    if (sampler < 0 || sampler >= S_COUNT_)
        return sdf_fail(err, SDF_ERR_INVALID, "unknown sampler index %d", sampler);
    if (ns <= 1) return SDF_OK;
    if (sdf_sampler_uses_default_noise(sampler) && !r->noise && r->seed == UINT64_MAX)
        return sdf_fail(err, SDF_ERR_INVALID,
                        "seed 18446744073709551615 cannot be used with sampler '%s': its noise "
                        "generator is seeded with seed + 1 (ComfyUI fails the same way)",
                        sdf_sampler_names[sampler]);
    run_state s = {.r = r, .n = r->n};
    sdf_status st;
    if (sdf_sampler_uses_brownian(sampler) && !r->noise) {
        /* BrownianTreeNoiseSampler(x, min(sigmas > 0), max(sigmas), seed) */
        float lo = INFINITY, hi = -INFINITY;
        for (int i = 0; i < ns; i++) {
            if (sig[i] > 0 && sig[i] < lo) lo = sig[i];
            if (sig[i] > hi) hi = sig[i];
        }
        if (lo < hi) {
            st = sdf_brownian_new(lo, hi, r->seed, r->n, &s.tree, err);
            if (st != SDF_OK) return st;
        } else {
            s.tree_empty = true;
        }
    }
    switch (sampler) {
    case S_EULER: case S_DDIM: st = s_euler(&s, sig, ns, x, err); break;
    case S_EULER_ANCESTRAL: st = s_euler_ancestral(&s, sig, ns, x, err); break;
    case S_EULER_CFG_PP: st = s_euler_ancestral_cfg_pp(&s, sig, ns, x, 0.0f, err); break;
    case S_EULER_ANCESTRAL_CFG_PP: st = s_euler_ancestral_cfg_pp(&s, sig, ns, x, 1.0f, err); break;
    case S_HEUN: st = s_heun(&s, sig, ns, x, err); break;
    case S_HEUNPP2: st = s_heunpp2(&s, sig, ns, x, err); break;
    case S_EXP_HEUN_2_X0: st = s_seeds_2(&s, sig, ns, x, 0.0f, 0.0f, 1.0f, true, err); break;
    case S_EXP_HEUN_2_X0_SDE: st = s_seeds_2(&s, sig, ns, x, 1.0f, 1.0f, 1.0f, true, err); break;
    case S_SEEDS_2: st = s_seeds_2(&s, sig, ns, x, 1.0f, 1.0f, 0.5f, false, err); break;
    case S_SEEDS_3: st = s_seeds_3(&s, sig, ns, x, err); break;
    case S_DPM_2: st = s_dpm_2(&s, sig, ns, x, false, err); break;
    case S_DPM_2_ANCESTRAL: st = s_dpm_2(&s, sig, ns, x, true, err); break;
    case S_LMS: st = s_lms(&s, sig, ns, x, err); break;
    case S_DPMPP_2S_ANCESTRAL: st = s_dpmpp_2s_ancestral(&s, sig, ns, x, false, err); break;
    case S_DPMPP_2S_ANCESTRAL_CFG_PP: st = s_dpmpp_2s_ancestral(&s, sig, ns, x, true, err); break;
    case S_DPMPP_SDE: case S_DPMPP_SDE_GPU: st = s_dpmpp_sde(&s, sig, ns, x, err); break;
    case S_DPMPP_2M: st = s_dpmpp_2m(&s, sig, ns, x, err); break;
    case S_DPMPP_2M_CFG_PP: st = s_dpmpp_2m_cfg_pp(&s, sig, ns, x, err); break;
    case S_DPMPP_2M_SDE: case S_DPMPP_2M_SDE_GPU:
        st = s_dpmpp_multistep_sde(&s, sig, ns, x, 0, err);
        break;
    case S_DPMPP_2M_SDE_HEUN: case S_DPMPP_2M_SDE_HEUN_GPU:
        st = s_dpmpp_multistep_sde(&s, sig, ns, x, 1, err);
        break;
    case S_DPMPP_3M_SDE: case S_DPMPP_3M_SDE_GPU:
        st = s_dpmpp_multistep_sde(&s, sig, ns, x, 3, err);
        break;
    case S_DDPM: st = s_ddpm(&s, sig, ns, x, err); break;
    case S_LCM: st = s_lcm(&s, sig, ns, x, err); break;
    case S_IPNDM: st = s_ipndm(&s, sig, ns, x, false, err); break;
    case S_IPNDM_V: st = s_ipndm(&s, sig, ns, x, true, err); break;
    case S_RES_MULTISTEP: st = s_res_multistep(&s, sig, ns, x, 0.0f, false, err); break;
    case S_RES_MULTISTEP_CFG_PP: st = s_res_multistep(&s, sig, ns, x, 0.0f, true, err); break;
    case S_RES_MULTISTEP_ANCESTRAL: st = s_res_multistep(&s, sig, ns, x, 1.0f, false, err); break;
    case S_RES_MULTISTEP_ANCESTRAL_CFG_PP:
        st = s_res_multistep(&s, sig, ns, x, 1.0f, true, err);
        break;
    case S_GRADIENT_ESTIMATION: st = s_gradient_estimation(&s, sig, ns, x, false, err); break;
    case S_GRADIENT_ESTIMATION_CFG_PP: st = s_gradient_estimation(&s, sig, ns, x, true, err); break;
    case S_ER_SDE: st = s_er_sde(&s, sig, ns, x, err); break;
    case S_UNI_PC: st = s_unipc(&s, sig, ns, x, false, err); break;
    case S_UNI_PC_BH2: st = s_unipc(&s, sig, ns, x, true, err); break;
    case S_DEIS: st = s_deis(&s, sig, ns, x, err); break;
    case S_DPM_FAST: st = s_dpm_fast(&s, sig, ns, x, err); break;
    case S_DPM_ADAPTIVE: st = s_dpm_adaptive(&s, sig, ns, x, err); break;
    case S_SA_SOLVER: st = s_sa_solver(&s, sig, ns, x, false, err); break;
    case S_SA_SOLVER_PECE: st = s_sa_solver(&s, sig, ns, x, true, err); break;
    default: /* every index below S_COUNT_ has a case above */
        st = sdf_fail(err, SDF_ERR_INTERNAL, "no code for sampler '%s'", sdf_sampler_names[sampler]);
    }
    for (int i = 0; i < s.n_bufs; i++) sdf_free(s.bufs[i]);
    sdf_brownian_free(s.tree);
    return st;
}
