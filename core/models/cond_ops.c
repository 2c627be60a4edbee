/* cond_ops.c: ComfyUI's conditioning list operations. */
#include "cond_ops.h"

#include <string.h>

static sdf_status nomem(sdf_error *err) {
    return sdf_fail(err, SDF_ERR_NOMEM, "conditioning");
}

static sdf_status copy_of(const sdf_conditioning *c, int extra, sdf_value **out, sdf_error *err) {
    *out = sdf_value_conditioning_copy(c, extra);
    return *out ? SDF_OK : nomem(err);
}

static void replace(sdf_tensor **slot, sdf_tensor *t) {
    sdf_tensor_release(*slot);
    *slot = t;
}

static sdf_status check_cond(const sdf_tensor *t, const char *what, sdf_error *err) {
    if (!t || t->ndim != 3 || t->dtype != SDF_DTYPE_F32)
        return sdf_fail(err, SDF_ERR_SHAPE, "%s: conditioning tensor must be f32 [B, tokens, dim]",
                        what);
    return SDF_OK;
}

sdf_status sdf_cond_combine(const sdf_conditioning *a, const sdf_conditioning *b, sdf_value **out,
                            sdf_error *err) {
    sdf_status st = copy_of(a, b->n, out, err);
    if (st != SDF_OK)
        return st;
    for (int i = 0; i < b->n; i++) {
        sdf_cond_entry *d = &(*out)->u.cond.e[a->n + i];
        *d = b->e[i];
        sdf_tensor_retain(d->cond);
        sdf_tensor_retain(d->pooled);
        sdf_tensor_retain(d->mask);
    }
    return SDF_OK;
}

sdf_status sdf_cond_average(const sdf_conditioning *to, const sdf_conditioning *from,
                            double to_strength, sdf_value **out, int *n_ignored, sdf_error *err) {
    *out = NULL;
    *n_ignored = from->n > 1 ? from->n - 1 : 0;
    if (from->n < 1)
        return sdf_fail(err, SDF_ERR_INVALID, "ConditioningAverage: conditioning_from is empty");
    const sdf_tensor *cf = from->e[0].cond;
    sdf_tensor       *pf = from->e[0].pooled;
    sdf_status        st = check_cond(cf, "conditioning_from", err);
    if (st != SDF_OK)
        return st;
    st = copy_of(to, 0, out, err);
    if (st != SDF_OK)
        return st;
    const float s = (float)to_strength, r = (float)(1.0 - to_strength);
    for (int i = 0; i < to->n && st == SDF_OK; i++) {
        sdf_cond_entry   *d = &(*out)->u.cond.e[i];
        const sdf_tensor *t1 = to->e[i].cond;
        if ((st = check_cond(t1, "conditioning_to", err)) != SDF_OK)
            break;
        int64_t B1 = t1->shape[0], L1 = t1->shape[1], D = t1->shape[2];
        int64_t B0 = cf->shape[0], L0 = cf->shape[1];
        if (cf->shape[2] != D || (B0 != B1 && B0 != 1 && B1 != 1) || (L0 < L1 && B0 != 1)) {
            st = sdf_fail(err, SDF_ERR_SHAPE,
                          "ConditioningAverage: shapes [%lld,%lld,%lld] and [%lld,%lld,%lld] do "
                          "not combine",
                          (long long)B1, (long long)L1, (long long)D, (long long)B0, (long long)L0,
                          (long long)cf->shape[2]);
            break;
        }
        int64_t     B = B1 > B0 ? B1 : B0;
        sdf_tensor *tw = sdf_tensor_f32(err, 3, B, L1, D);
        if (!tw) {
            st = nomem(err);
            break;
        }
        float       *o = sdf_tensor_f32p(tw);
        const float *a = sdf_tensor_f32p(t1), *b = sdf_tensor_f32p(cf);
        for (int64_t bb = 0; bb < B; bb++)
            for (int64_t l = 0; l < L1; l++)
                for (int64_t k = 0; k < D; k++) {
                    float x1 = a[((B1 == 1 ? 0 : bb) * L1 + l) * D + k];
                    float x0 = l < L0 ? b[((B0 == 1 ? 0 : bb) * L0 + l) * D + k] : 0.0f;
                    o[(bb * L1 + l) * D + k] = x1 * s + x0 * r;
                }
        replace(&d->cond, tw);
        sdf_tensor *pt = to->e[i].pooled ? to->e[i].pooled : pf;
        if (pf && pt) {
            if (sdf_tensor_numel(pf) != sdf_tensor_numel(pt) || pf->dtype != SDF_DTYPE_F32 ||
                pt->dtype != SDF_DTYPE_F32) {
                st = sdf_fail(err, SDF_ERR_SHAPE,
                              "ConditioningAverage: pooled outputs differ in size");
                break;
            }
            sdf_tensor *p = sdf_tensor_clone(pt, err);
            if (!p) {
                st = nomem(err);
                break;
            }
            float       *po = sdf_tensor_f32p(p);
            const float *pa = sdf_tensor_f32p(pt), *pb = sdf_tensor_f32p(pf);
            for (int64_t k = 0; k < sdf_tensor_numel(p); k++)
                po[k] = pa[k] * s + pb[k] * r;
            replace(&d->pooled, p);
        } else if (pf) {
            replace(&d->pooled, sdf_tensor_retain(pf));
        }
    }
    if (st != SDF_OK) {
        sdf_value_release(*out);
        *out = NULL;
    }
    return st;
}

sdf_status sdf_cond_concat(const sdf_conditioning *to, const sdf_conditioning *from,
                           sdf_value **out, int *n_ignored, sdf_error *err) {
    *out = NULL;
    *n_ignored = from->n > 1 ? from->n - 1 : 0;
    if (from->n < 1)
        return sdf_fail(err, SDF_ERR_INVALID, "ConditioningConcat: conditioning_from is empty");
    const sdf_tensor *cf = from->e[0].cond;
    sdf_status        st = check_cond(cf, "conditioning_from", err);
    if (st != SDF_OK)
        return st;
    st = copy_of(to, 0, out, err);
    for (int i = 0; i < to->n && st == SDF_OK; i++) {
        const sdf_tensor *t1 = to->e[i].cond;
        if ((st = check_cond(t1, "conditioning_to", err)) != SDF_OK)
            break;
        int64_t B = t1->shape[0], L1 = t1->shape[1], L0 = cf->shape[1], D = t1->shape[2];
        if (cf->shape[0] != B || cf->shape[2] != D) {
            st = sdf_fail(err, SDF_ERR_SHAPE,
                          "ConditioningConcat: [%lld,%lld,%lld] and [%lld,%lld,%lld] cannot be "
                          "concatenated along tokens",
                          (long long)B, (long long)L1, (long long)D, (long long)cf->shape[0],
                          (long long)L0, (long long)cf->shape[2]);
            break;
        }
        sdf_tensor *c = sdf_tensor_f32(err, 3, B, L1 + L0, D);
        if (!c) {
            st = nomem(err);
            break;
        }
        for (int64_t b = 0; b < B; b++) {
            float *o = sdf_tensor_f32p(c) + b * (L1 + L0) * D;
            memcpy(o, sdf_tensor_f32p(t1) + b * L1 * D, (size_t)(L1 * D) * sizeof(float));
            memcpy(o + L1 * D, sdf_tensor_f32p(cf) + b * L0 * D, (size_t)(L0 * D) * sizeof(float));
        }
        replace(&(*out)->u.cond.e[i].cond, c);
    }
    if (st != SDF_OK) {
        sdf_value_release(*out);
        *out = NULL;
    }
    return st;
}

static sdf_tensor *zeros_like(const sdf_tensor *t, sdf_error *err) {
    return sdf_tensor_zeros(t->dtype, t->ndim, t->shape, err);
}

sdf_status sdf_cond_zero_out(const sdf_conditioning *c, sdf_value **out, sdf_error *err) {
    sdf_status st = copy_of(c, 0, out, err);
    for (int i = 0; i < c->n && st == SDF_OK; i++) {
        sdf_cond_entry *d = &(*out)->u.cond.e[i];
        sdf_tensor     *z = d->cond ? zeros_like(d->cond, err) : NULL;
        sdf_tensor     *zp = d->pooled ? zeros_like(d->pooled, err) : NULL;
        if ((d->cond && !z) || (d->pooled && !zp)) {
            sdf_tensor_release(z);
            sdf_tensor_release(zp);
            st = nomem(err);
            break;
        }
        if (z)
            replace(&d->cond, z);
        if (zp)
            replace(&d->pooled, zp);
    }
    if (st != SDF_OK && *out) {
        sdf_value_release(*out);
        *out = NULL;
    }
    return st;
}

static int64_t floordiv8(int64_t v) {
    return v >= 0 ? v / 8 : -((-v + 7) / 8);
}

sdf_status sdf_cond_set_area(const sdf_conditioning *c, int64_t width, int64_t height, int64_t x,
                             int64_t y, double strength, sdf_value **out, sdf_error *err) {
    sdf_status st = copy_of(c, 0, out, err);
    if (st != SDF_OK)
        return st;
    for (int i = 0; i < c->n; i++) {
        sdf_cond_entry *d = &(*out)->u.cond.e[i];
        d->has_area = true;
        d->area_percentage = false;
        d->area[0] = (double)floordiv8(height);
        d->area[1] = (double)floordiv8(width);
        d->area[2] = (double)floordiv8(y);
        d->area[3] = (double)floordiv8(x);
        d->has_strength = true;
        d->strength = strength;
        d->set_area_to_bounds = false;
    }
    return SDF_OK;
}

sdf_status sdf_cond_set_area_pct(const sdf_conditioning *c, double width, double height, double x,
                                 double y, double strength, sdf_value **out, sdf_error *err) {
    sdf_status st = copy_of(c, 0, out, err);
    if (st != SDF_OK)
        return st;
    for (int i = 0; i < c->n; i++) {
        sdf_cond_entry *d = &(*out)->u.cond.e[i];
        d->has_area = true;
        d->area_percentage = true;
        d->area[0] = height;
        d->area[1] = width;
        d->area[2] = y;
        d->area[3] = x;
        d->has_strength = true;
        d->strength = strength;
        d->set_area_to_bounds = false;
    }
    return SDF_OK;
}

sdf_status sdf_cond_set_strength(const sdf_conditioning *c, double strength, sdf_value **out,
                                 sdf_error *err) {
    sdf_status st = copy_of(c, 0, out, err);
    if (st != SDF_OK)
        return st;
    for (int i = 0; i < c->n; i++) {
        (*out)->u.cond.e[i].has_strength = true;
        (*out)->u.cond.e[i].strength = strength;
    }
    return SDF_OK;
}

sdf_status sdf_cond_set_mask(const sdf_conditioning *c, sdf_tensor *mask, double strength,
                             bool set_area_to_bounds, sdf_value **out, sdf_error *err) {
    *out = NULL;
    if (!mask || mask->ndim < 2 || mask->ndim > 3)
        return sdf_fail(err, SDF_ERR_SHAPE, "ConditioningSetMask: mask must be [H,W] or [B,H,W]");
    sdf_tensor *m;
    if (mask->ndim == 2) {
        int64_t shape[3] = {1, mask->shape[0], mask->shape[1]};
        m = sdf_tensor_reshape(mask, 3, shape, err);
        if (!m)
            return err ? err->code : SDF_ERR_SHAPE;
    } else {
        m = sdf_tensor_retain(mask);
    }
    sdf_status st = copy_of(c, 0, out, err);
    if (st != SDF_OK) {
        sdf_tensor_release(m);
        return st;
    }
    for (int i = 0; i < c->n; i++) {
        sdf_cond_entry *d = &(*out)->u.cond.e[i];
        replace(&d->mask, sdf_tensor_retain(m));
        d->set_area_to_bounds = set_area_to_bounds;
        d->mask_strength = strength;
    }
    sdf_tensor_release(m);
    return SDF_OK;
}

sdf_status sdf_cond_set_timestep_range(const sdf_conditioning *c, double start, double end,
                                       sdf_value **out, sdf_error *err) {
    sdf_status st = copy_of(c, 0, out, err);
    if (st != SDF_OK)
        return st;
    for (int i = 0; i < c->n; i++) {
        sdf_cond_entry *d = &(*out)->u.cond.e[i];
        d->has_timestep_range = true;
        d->start_percent = start;
        d->end_percent = end;
    }
    return SDF_OK;
}
