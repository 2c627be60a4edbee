/* sampling.c: ComfyUI ModelSamplingDiscrete, schedulers and KSampler sigma selection. */
#include "sampling.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "../base/alloc.h"
#include "sampler_names.h"

/* torch.linspace CPU kernel as built for AVX2 (Debian torch 1.13): the scalar path and the
 * base of each vector are fused multiply-adds (GCC contracts them in that file); the vector's
 * arange lanes are base + k*step rounded twice. Vectors of V lanes, processed two at a time. */
void sdf_linspace_f32(float a, float b, int n, float *out) {
    if (n <= 0) return;
    if (n == 1) {
        out[0] = a;
        return;
    }
    const int V = 8;
    float step = (b - a) / (float)(n - 1);
    int half = n / 2, i = 0;
    for (; i <= n - 2 * V; i += 2 * V)
        for (int idx = i; idx < i + 2 * V; idx += V) {
            float base = idx < half ? fmaf(step, (float)idx, a)
                                    : fmaf(-step, (float)(n - idx - 1), b);
            out[idx] = base;
            for (int k = 1; k < V; k++) {
                float ks = (float)k * step;
                out[idx + k] = base + ks;
            }
        }
    for (int idx = i; idx < n; idx++)
        out[idx] = idx < half ? fmaf(step, (float)idx, a) : fmaf(-step, (float)(n - idx - 1), b);
}

static void linspace_f64(double a, double b, int n, double *out) {
    if (n == 1) {
        out[0] = a;
        return;
    }
    const int V = 4;
    double step = (b - a) / (double)(n - 1);
    int half = n / 2, i = 0;
    for (; i <= n - 2 * V; i += 2 * V)
        for (int idx = i; idx < i + 2 * V; idx += V) {
            double base = idx < half ? fma(step, (double)idx, a)
                                     : fma(-step, (double)(n - idx - 1), b);
            out[idx] = base;
            for (int k = 1; k < V; k++) {
                double ks = (double)k * step;
                out[idx + k] = base + ks;
            }
        }
    for (int idx = i; idx < n; idx++)
        out[idx] = idx < half ? fma(step, (double)idx, a) : fma(-step, (double)(n - idx - 1), b);
}

void sdf_msampling_init(sdf_msampling *ms, sdf_prediction pred, bool zsnr) {
    double lin[SDF_NUM_TIMESTEPS], sig[SDF_NUM_TIMESTEPS];
    linspace_f64(sqrt(0.00085), sqrt(0.012), SDF_NUM_TIMESTEPS, lin);
    double ac = 1.0;
    for (int i = 0; i < SDF_NUM_TIMESTEPS; i++) {
        double beta = lin[i] * lin[i];
        ac *= 1.0 - beta;
        sig[i] = sqrt((1.0 - ac) / ac);
    }
    if (zsnr) {
        /* rescale_zero_terminal_snr_sigmas, float64 */
        double abs_[SDF_NUM_TIMESTEPS];
        for (int i = 0; i < SDF_NUM_TIMESTEPS; i++) abs_[i] = sqrt(1.0 / (sig[i] * sig[i] + 1.0));
        double a0 = abs_[0], aT = abs_[SDF_NUM_TIMESTEPS - 1];
        double scale = a0 / (a0 - aT);
        for (int i = 0; i < SDF_NUM_TIMESTEPS; i++) {
            double v = (abs_[i] - aT) * scale;
            double ab = v * v;
            if (i == SDF_NUM_TIMESTEPS - 1) ab = 4.8973451890853435e-08;
            sig[i] = sqrt((1.0 - ab) / ab);
        }
    }
    for (int i = 0; i < SDF_NUM_TIMESTEPS; i++) {
        ms->sigmas[i] = (float)sig[i];
        ms->log_sigmas[i] = (float)log(sig[i]);
    }
    ms->pred = pred;
    ms->zsnr = zsnr;
}

int sdf_ms_timestep(const sdf_msampling *ms, float sigma) {
    float ls = logf(sigma);
    int best = 0;
    float bd = INFINITY;
    for (int i = 0; i < SDF_NUM_TIMESTEPS; i++) {
        float d = fabsf(ls - ms->log_sigmas[i]);
        if (d < bd) {
            bd = d;
            best = i;
        }
    }
    return best;
}

float sdf_ms_sigma(const sdf_msampling *ms, float t) {
    if (!(t >= 0.0f)) t = 0.0f;
    if (t > (float)(SDF_NUM_TIMESTEPS - 1)) t = (float)(SDF_NUM_TIMESTEPS - 1);
    int lo = (int)floorf(t), hi = (int)ceilf(t);
    float w = t - truncf(t);
    float a = (1.0f - w) * ms->log_sigmas[lo];
    float b = w * ms->log_sigmas[hi];
    return expf(a + b);
}

double sdf_ms_percent_to_sigma(const sdf_msampling *ms, double percent) {
    if (percent <= 0.0) return 999999999.9;
    if (percent >= 1.0) return 0.0;
    percent = 1.0 - percent;
    return (double)sdf_ms_sigma(ms, (float)(percent * 999.0));
}

float sdf_ms_c_in(float sigma) {
    float s2 = sigma * sigma;
    return sqrtf(s2 + 1.0f); /* the divisor: input = x / c */
}

void sdf_ms_denoised(const sdf_msampling *ms, float sigma, const float *out, const float *x,
                     float *den, size_t n) {
    if (ms->pred == SDF_PRED_V) {
        float s2p1 = sigma * sigma + 1.0f;
        float sq = sqrtf(s2p1);
        for (size_t i = 0; i < n; i++) {
            float a = (x[i] * 1.0f) / s2p1;
            float b = ((out[i] * sigma) * 1.0f) / sq;
            den[i] = a - b;
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            float m = out[i] * sigma;
            den[i] = x[i] - m;
        }
    }
}

bool sdf_ms_max_denoise(const sdf_msampling *ms, float sigma0) {
    double mx = (double)sdf_ms_sigma_max(ms), s = (double)sigma0;
    double tol = 1e-5 * fmax(fabs(mx), fabs(s));
    return fabs(mx - s) <= tol || s > mx;
}

void sdf_ms_noise_scaling(float sigma, bool max_denoise, const float *noise, const float *latent,
                          float *x, size_t n) {
    float f = sigma;
    if (max_denoise) {
        float s2 = sigma * sigma;
        f = sqrtf(1.0f + s2);
    }
    for (size_t i = 0; i < n; i++) {
        float v = noise[i] * f;
        x[i] = latent ? v + latent[i] : v + 0.0f;
    }
}

/* ---- regularized incomplete beta and its inverse ---- */

/* Continued fraction for I_x(a, b) (modified Lentz). */
static double betacf(double a, double b, double x) {
    const double tiny = 1e-300;
    double qab = a + b, qap = a + 1.0, qam = a - 1.0;
    double c = 1.0, d = 1.0 - qab * x / qap;
    if (fabs(d) < tiny) d = tiny;
    d = 1.0 / d;
    double h = d;
    for (int m = 1; m <= 10000; m++) {
        int m2 = 2 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if (fabs(d) < tiny) d = tiny;
        c = 1.0 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1.0 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if (fabs(d) < tiny) d = tiny;
        c = 1.0 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1.0 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1.0) < 1e-16) break;
    }
    return h;
}

static double betainc(double a, double b, double x) {
    if (x <= 0.0) return 0.0;
    if (x >= 1.0) return 1.0;
    double lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
    if (x < (a + 1.0) / (a + b + 2.0)) return exp(lbt) * betacf(a, b, x) / a;
    return 1.0 - exp(lbt) * betacf(b, a, 1.0 - x) / b;
}

double sdf_betaincinv(double a, double b, double y) {
    if (!(y > 0.0)) return 0.0;
    if (y >= 1.0) return 1.0;
    /* bisection to bracket, then Newton polish with bisection fallback */
    double lo = 0.0, hi = 1.0, x = 0.5;
    double lbeta = lgamma(a) + lgamma(b) - lgamma(a + b);
    for (int it = 0; it < 200; it++) {
        double f = betainc(a, b, x) - y;
        if (f == 0.0) return x;
        if (f < 0) lo = x;
        else hi = x;
        double pdf = exp((a - 1.0) * log(x) + (b - 1.0) * log1p(-x) - lbeta);
        double nx = x - f / pdf;
        if (!(nx > lo && nx < hi) || !isfinite(nx)) nx = 0.5 * (lo + hi);
        if (fabs(nx - x) <= 1e-17 * fmax(1.0, x) || hi - lo <= DBL_EPSILON * x) return nx;
        x = nx;
    }
    return x;
}

/* ---- schedulers ---- */

enum { SCH_SIMPLE, SCH_SGM_UNIFORM, SCH_KARRAS, SCH_EXPONENTIAL, SCH_DDIM_UNIFORM, SCH_BETA,
       SCH_NORMAL, SCH_LINEAR_QUADRATIC, SCH_KL_OPTIMAL };

static sdf_status need(int cap, int n, sdf_error *err) {
    if (n > cap) return sdf_fail(err, SDF_ERR_INTERNAL, "scheduler: sigma buffer too small");
    return SDF_OK;
}

static sdf_status normal_sched(const sdf_msampling *ms, int steps, bool sgm, float *out, int cap,
                               int *n_out, sdf_error *err) {
    int start = sdf_ms_timestep(ms, sdf_ms_sigma_max(ms));
    int end = sdf_ms_timestep(ms, sdf_ms_sigma_min(ms));
    bool append_zero = true;
    int nt;
    float *ts = sdf_malloc(sizeof(float) * (size_t)(steps + 2));
    if (!ts) return sdf_fail(err, SDF_ERR_NOMEM, "scheduler: out of memory");
    if (sgm) {
        sdf_linspace_f32((float)start, (float)end, steps + 1, ts);
        nt = steps;
    } else {
        if (fabs((double)sdf_ms_sigma(ms, (float)end)) <= 1e-5) {
            steps += 1;
            append_zero = false;
        }
        sdf_linspace_f32((float)start, (float)end, steps, ts);
        nt = steps;
    }
    sdf_status st = need(cap, nt + (append_zero ? 1 : 0), err);
    if (st == SDF_OK) {
        for (int i = 0; i < nt; i++) out[i] = sdf_ms_sigma(ms, ts[i]);
        if (append_zero) out[nt++] = 0.0f;
        *n_out = nt;
    }
    sdf_free(ts);
    return st;
}

sdf_status sdf_scheduler_sigmas(const sdf_msampling *ms, int scheduler, int steps, float *out,
                                int cap, int *n_out, sdf_error *err) {
    *n_out = 0;
    if (steps < 1) return sdf_fail(err, SDF_ERR_INVALID, "scheduler: steps must be >= 1");
    const float *S = ms->sigmas;
    const int N = SDF_NUM_TIMESTEPS;
    double smin = (double)S[0], smax = (double)S[N - 1];
    sdf_status st;
    switch (scheduler) {
    case SCH_SIMPLE: {
        if ((st = need(cap, steps + 1, err)) != SDF_OK) return st;
        double ss = (double)N / (double)steps;
        for (int x = 0; x < steps; x++) out[x] = S[N - 1 - (int)((double)x * ss)];
        out[steps] = 0.0f;
        *n_out = steps + 1;
        return SDF_OK;
    }
    case SCH_SGM_UNIFORM:
        return normal_sched(ms, steps, true, out, cap, n_out, err);
    case SCH_NORMAL:
        return normal_sched(ms, steps, false, out, cap, n_out, err);
    case SCH_KARRAS: {
        if ((st = need(cap, steps + 1, err)) != SDF_OK) return st;
        const double rho = 7.0;
        double min_inv = pow(smin, 1.0 / rho), max_inv = pow(smax, 1.0 / rho);
        float c = (float)(min_inv - max_inv), mx = (float)max_inv;
        sdf_linspace_f32(0.0f, 1.0f, steps, out);
        for (int i = 0; i < steps; i++) {
            float v = out[i] * c;
            v = mx + v;
            out[i] = (float)pow((double)v, rho);
        }
        out[steps] = 0.0f;
        *n_out = steps + 1;
        return SDF_OK;
    }
    case SCH_EXPONENTIAL: {
        if ((st = need(cap, steps + 1, err)) != SDF_OK) return st;
        sdf_linspace_f32((float)log(smax), (float)log(smin), steps, out);
        for (int i = 0; i < steps; i++) out[i] = expf(out[i]);
        out[steps] = 0.0f;
        *n_out = steps + 1;
        return SDF_OK;
    }
    case SCH_DDIM_UNIFORM: {
        int x = 1, n = 0;
        int count_max = N + 2;
        float *tmp = sdf_malloc(sizeof(float) * (size_t)count_max);
        if (!tmp) return sdf_fail(err, SDF_ERR_NOMEM, "scheduler: out of memory");
        if (fabs((double)S[1]) <= 1e-5) steps += 1;
        else tmp[n++] = 0.0f;
        int ss = N / steps;
        if (ss < 1) ss = 1;
        while (x < N) {
            tmp[n++] = S[x];
            x += ss;
        }
        st = need(cap, n, err);
        if (st == SDF_OK) {
            for (int i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
            *n_out = n;
        }
        sdf_free(tmp);
        return st;
    }
    case SCH_BETA: {
        if ((st = need(cap, steps + 1, err)) != SDF_OK) return st;
        double step = 1.0 / (double)steps;
        double last = -1;
        int n = 0;
        for (int i = 0; i < steps; i++) {
            double t = 1.0 - ((double)i * step + 0.0);
            double v = rint(sdf_betaincinv(0.6, 0.6, t) * (double)(N - 1));
            if (v != last) out[n++] = S[(int)v];
            last = v;
        }
        out[n++] = 0.0f;
        *n_out = n;
        return SDF_OK;
    }
    case SCH_LINEAR_QUADRATIC: {
        if ((st = need(cap, steps + 1, err)) != SDF_OK) return st;
        float mx = S[N - 1];
        if (steps == 1) {
            out[0] = 1.0f * mx;
            out[1] = 0.0f * mx;
            *n_out = 2;
            return SDF_OK;
        }
        const double thr = 0.025;
        int L = steps / 2;
        double diff = (double)L - thr * (double)steps;
        int Q = steps - L;
        double qc = diff / ((double)L * (double)Q * (double)Q);
        double lc = thr / (double)L - 2.0 * diff / ((double)Q * (double)Q);
        double cst = qc * ((double)L * (double)L);
        int n = 0;
        for (int i = 0; i < L; i++) out[n++] = (float)(1.0 - (double)i * thr / (double)L) * mx;
        for (int i = L; i < steps; i++) {
            double v = qc * ((double)i * (double)i) + lc * (double)i + cst;
            out[n++] = (float)(1.0 - v) * mx;
        }
        out[n++] = (float)(1.0 - 1.0) * mx;
        *n_out = n;
        return SDF_OK;
    }
    case SCH_KL_OPTIMAL: {
        if ((st = need(cap, steps + 1, err)) != SDF_OK) return st;
        float amin = (float)atan(smin), amax = (float)atan(smax);
        for (int i = 0; i < steps; i++) {
            float a = steps > 1 ? (float)i / (float)(steps - 1) : (float)i / 0.0f;
            float p = a * amin;
            float q = (1.0f - a) * amax;
            out[i] = tanf(p + q);
        }
        out[steps] = 0.0f;
        *n_out = steps + 1;
        return SDF_OK;
    }
    default:
        return sdf_fail(err, SDF_ERR_INVALID, "unknown scheduler index %d", scheduler);
    }
}

static bool discards_penultimate(int sampler) {
    const char *n = sampler >= 0 && sampler < SDF_N_SAMPLERS ? sdf_sampler_names[sampler] : "";
    return strcmp(n, "dpm_2") == 0 || strcmp(n, "dpm_2_ancestral") == 0 ||
           strcmp(n, "uni_pc") == 0 || strcmp(n, "uni_pc_bh2") == 0;
}

static sdf_status calc_sigmas(const sdf_msampling *ms, int sampler, int scheduler, int steps,
                              float **out, int *n_out, sdf_error *err) {
    bool discard = discards_penultimate(sampler);
    if (discard) steps += 1;
    int cap = steps + SDF_NUM_TIMESTEPS + 4;
    float *s = sdf_malloc(sizeof(float) * (size_t)cap);
    if (!s) return sdf_fail(err, SDF_ERR_NOMEM, "scheduler: out of memory");
    int n = 0;
    sdf_status st = sdf_scheduler_sigmas(ms, scheduler, steps, s, cap, &n, err);
    if (st != SDF_OK) {
        sdf_free(s);
        return st;
    }
    if (discard && n >= 2) {
        s[n - 2] = s[n - 1];
        n -= 1;
    }
    *out = s;
    *n_out = n;
    return SDF_OK;
}

sdf_status sdf_ksampler_sigmas(const sdf_msampling *ms, int sampler, int scheduler, int steps,
                               double denoise, float **out, int *n_out, sdf_error *err) {
    *out = NULL;
    *n_out = 0;
    if (steps < 1 || steps > 100000)
        return sdf_fail(err, SDF_ERR_INVALID, "steps %d out of range", steps);
    if (denoise > 0.9999) return calc_sigmas(ms, sampler, scheduler, steps, out, n_out, err);
    if (!(denoise > 0.0)) {
        *out = sdf_malloc(sizeof(float));
        if (!*out) return sdf_fail(err, SDF_ERR_NOMEM, "out of memory");
        return SDF_OK;
    }
    double ns = trunc((double)steps / denoise);
    if (ns > 1e6) return sdf_fail(err, SDF_ERR_INVALID, "denoise %g is too small", denoise);
    float *s = NULL;
    int n = 0;
    sdf_status st = calc_sigmas(ms, sampler, scheduler, (int)ns, &s, &n, err);
    if (st != SDF_OK) return st;
    int keep = steps + 1 < n ? steps + 1 : n;
    memmove(s, s + (n - keep), sizeof(float) * (size_t)keep);
    *out = s;
    *n_out = keep;
    return SDF_OK;
}

bool sdf_sigmas_truncate(float *sigmas, int *n, int start_step, int last_step,
                         bool force_full_denoise) {
    if (last_step >= 0 && last_step < *n - 1) {
        *n = last_step + 1;
        if (force_full_denoise) sigmas[*n - 1] = 0.0f;
    }
    if (start_step >= 0) {
        if (start_step < *n - 1) {
            memmove(sigmas, sigmas + start_step, sizeof(float) * (size_t)(*n - start_step));
            *n -= start_step;
        } else {
            return false;
        }
    }
    return true;
}
