#include "alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Every block carries a 64-byte header holding its size (and the offset back to the raw
 * pointer), so sdf_free can account without malloc_usable_size and aligned blocks work. */
#define HDR 64

static atomic_size_t g_live;
static atomic_size_t g_peak;
static atomic_long   g_fail_after = -1;

static bool should_fail(void) {
    long v = atomic_load(&g_fail_after);
    while (v >= 0) {
        if (atomic_compare_exchange_weak(&g_fail_after, &v, v - 1)) return v == 0;
    }
    return false;
}

static void account(size_t add) {
    size_t live = atomic_fetch_add(&g_live, add) + add;
    size_t peak = atomic_load(&g_peak);
    while (live > peak && !atomic_compare_exchange_weak(&g_peak, &peak, live)) {
    }
}

static void *finish(unsigned char *raw, size_t n) {
    if (!raw) return NULL;
    unsigned char *p = (unsigned char *)(((uintptr_t)raw + HDR + 63) & ~(uintptr_t)63);
    size_t off = (size_t)(p - raw);
    memcpy(p - 16, &n, sizeof n);
    memcpy(p - 8, &off, sizeof off);
    account(n);
    return p;
}

/* Big blocks (weights, activations) ask for transparent huge pages: a 3 GB model converted to
 * f32 otherwise takes ~800k page faults on first touch (a third of a first run's time). */
static void advise_huge(void *raw, size_t total) {
#ifdef MADV_HUGEPAGE
    enum { HUGE = 2u << 20 };
    if (!raw || total < 4 * (size_t)HUGE) return;
    uintptr_t b = ((uintptr_t)raw + HUGE - 1) & ~(uintptr_t)(HUGE - 1);
    uintptr_t e = ((uintptr_t)raw + total) & ~(uintptr_t)(HUGE - 1);
    if (e > b) madvise((void *)b, e - b, MADV_HUGEPAGE); /* advice only: failure is harmless */
#else
    (void)raw;
    (void)total;
#endif
}

void *sdf_malloc_aligned(size_t n) {
    size_t total;
    if (should_fail() || !sdf_add_size(n, HDR + 64, &total)) return NULL;
    unsigned char *raw = malloc(total);
    advise_huge(raw, total);
    return finish(raw, n);
}

void *sdf_malloc(size_t n) { return sdf_malloc_aligned(n); }

void *sdf_calloc(size_t count, size_t size) {
    size_t n;
    if (!sdf_mul_size(count, size, &n)) return NULL;
    void *p = sdf_malloc(n);
    if (p) memset(p, 0, n);
    return p;
}

static size_t block_size(const void *p) {
    size_t n;
    memcpy(&n, (const unsigned char *)p - 16, sizeof n);
    return n;
}

void sdf_free(void *p) {
    if (!p) return;
    size_t off;
    memcpy(&off, (unsigned char *)p - 8, sizeof off);
    atomic_fetch_sub(&g_live, block_size(p));
    free((unsigned char *)p - off);
}

void *sdf_realloc(void *p, size_t n) {
    if (!p) return sdf_malloc(n);
    void *q = sdf_malloc(n);
    if (!q) return NULL;
    size_t old = block_size(p);
    memcpy(q, p, old < n ? old : n);
    sdf_free(p);
    return q;
}

char *sdf_strdup(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = sdf_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

size_t sdf_alloc_live_bytes(void) { return atomic_load(&g_live); }
size_t sdf_alloc_peak_bytes(void) { return atomic_load(&g_peak); }
void   sdf_alloc_reset_peak(void) { atomic_store(&g_peak, atomic_load(&g_live)); }
void   sdf_alloc_fail_after(long n) { atomic_store(&g_fail_after, n); }

bool sdf_mul_size(size_t a, size_t b, size_t *out) {
    size_t r;
    if (__builtin_mul_overflow(a, b, &r)) return false;
    *out = r;
    return true;
}

bool sdf_add_size(size_t a, size_t b, size_t *out) {
    size_t r;
    if (__builtin_add_overflow(a, b, &r)) return false;
    *out = r;
    return true;
}
