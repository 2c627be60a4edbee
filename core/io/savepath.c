/* savepath.c: see savepath.h. */
#include "savepath.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static void replace_all(char *s, size_t cap, const char *key, const char *val) {
    char out[2048];
    size_t k = 0, kl = strlen(key), vl = strlen(val);
    for (const char *p = s; *p && k + 1 < sizeof out;) {
        if (strncmp(p, key, kl) == 0) {
            for (size_t i = 0; i < vl && k + 1 < sizeof out; i++) out[k++] = val[i];
            p += kl;
        } else {
            out[k++] = *p++;
        }
    }
    out[k] = 0;
    snprintf(s, cap, "%s", out);
}

/* os.path.normpath for relative POSIX paths; returns false when it climbs out ("..") or is
 * absolute. */
static bool normpath(const char *in, char *out, size_t cap) {
    if (in[0] == '/') return false;
    char tmp[2048];
    snprintf(tmp, sizeof tmp, "%s", in);
    const char *parts[256];
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(tmp, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
        if (strcmp(tok, ".") == 0 || tok[0] == 0) continue;
        if (strcmp(tok, "..") == 0) {
            if (n == 0) return false;
            n--;
            continue;
        }
        if (n == 256) return false;
        parts[n++] = tok;
    }
    size_t k = 0;
    out[0] = 0;
    for (int i = 0; i < n; i++) {
        int w = snprintf(out + k, cap - k, "%s%s", i ? "/" : "", parts[i]);
        if (w < 0 || (size_t)w >= cap - k) return false;
        k += (size_t)w;
    }
    return true;
}

static int mkdirs(const char *path) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0777) != 0 && errno != EEXIST) return -1;
            *p = '/';
        }
    if (mkdir(tmp, 0777) != 0 && errno != EEXIST) return -1;
    return 0;
}

/* Python int() of s (whitespace, sign, digits); false when it would raise. */
static bool py_int(const char *s, int64_t *v) {
    while (isspace((unsigned char)*s)) s++;
    bool neg = false;
    if (*s == '+' || *s == '-') neg = *s++ == '-';
    if (!isdigit((unsigned char)*s)) return false;
    int64_t x = 0;
    while (isdigit((unsigned char)*s)) {
        if (x < (INT64_MAX - 9) / 10) x = x * 10 + (*s - '0');
        s++;
    }
    while (isspace((unsigned char)*s)) s++;
    if (*s) return false;
    *v = neg ? -x : x;
    return true;
}

sdf_status sdf_save_path_get(const char *output_dir, const char *prefix, int64_t image_width,
                             int64_t image_height, sdf_save_path *out, sdf_error *err) {
    memset(out, 0, sizeof *out);
    char pre[2048];
    snprintf(pre, sizeof pre, "%s", prefix ? prefix : "");
    if (strchr(pre, '%')) {
        char num[32];
        snprintf(num, sizeof num, "%lld", (long long)image_width);
        replace_all(pre, sizeof pre, "%width%", num);
        snprintf(num, sizeof num, "%lld", (long long)image_height);
        replace_all(pre, sizeof pre, "%height%", num);
        time_t now = time(NULL);
        struct tm tmv;
        localtime_r(&now, &tmv);
        snprintf(num, sizeof num, "%d", tmv.tm_year + 1900);
        replace_all(pre, sizeof pre, "%year%", num);
        snprintf(num, sizeof num, "%02d", tmv.tm_mon + 1);
        replace_all(pre, sizeof pre, "%month%", num);
        snprintf(num, sizeof num, "%02d", tmv.tm_mday);
        replace_all(pre, sizeof pre, "%day%", num);
        snprintf(num, sizeof num, "%02d", tmv.tm_hour);
        replace_all(pre, sizeof pre, "%hour%", num);
        snprintf(num, sizeof num, "%02d", tmv.tm_min);
        replace_all(pre, sizeof pre, "%minute%", num);
        snprintf(num, sizeof num, "%02d", tmv.tm_sec);
        replace_all(pre, sizeof pre, "%second%", num);
    }
    char norm[2048];
    if (!normpath(pre, norm, sizeof norm) || !norm[0])
        return sdf_fail(err, SDF_ERR_INVALID,
                        "filename_prefix \"%s\": saving outside the output folder is not allowed",
                        prefix ? prefix : "");
    const char *slash = strrchr(norm, '/');
    if (slash) {
        snprintf(out->subfolder, sizeof out->subfolder, "%.*s", (int)(slash - norm), norm);
        snprintf(out->filename, sizeof out->filename, "%s", slash + 1);
    } else {
        snprintf(out->filename, sizeof out->filename, "%s", norm);
    }
    const char *od = output_dir && output_dir[0] ? output_dir : "output";
    if (out->subfolder[0]) snprintf(out->folder, sizeof out->folder, "%s/%s", od, out->subfolder);
    else snprintf(out->folder, sizeof out->folder, "%s", od);
    /* map_filename uses the length of basename(prefix) before normpath */
    const char *pb = strrchr(pre, '/');
    size_t plen = strlen(pb ? pb + 1 : pre);
    out->counter = 1;
    DIR *d = opendir(out->folder);
    if (!d) {
        if (mkdirs(out->folder) != 0) {
            sdf_fail(err, SDF_ERR_IO, "cannot create the output folder %s", out->folder);
            sdf_error_at_file(err, out->folder);
            return SDF_ERR_IO;
        }
        return SDF_OK;
    }
    bool any = false;
    int64_t best = 0;
    for (struct dirent *e; (e = readdir(d));) {
        const char *f = e->d_name;
        size_t fl = strlen(f);
        /* prefix_part = f[:plen+1]; keep when prefix_part[:-1] == filename and ends in '_' */
        if (fl < plen + 1) continue;
        if (f[plen] != '_' || strlen(out->filename) != plen || strncmp(f, out->filename, plen) != 0)
            continue;
        char rest[512];
        snprintf(rest, sizeof rest, "%s", f + plen + 1);
        char *us = strchr(rest, '_');
        if (us) *us = 0;
        int64_t v = 0;
        if (!py_int(rest, &v)) v = 0;
        if (!any || v > best) best = v;
        any = true;
    }
    closedir(d);
    if (any) out->counter = best + 1;
    return SDF_OK;
}

void sdf_save_path_file(const sdf_save_path *sp, int64_t batch, int64_t counter, const char *ext,
                        char *name, size_t name_cap, char *path, size_t path_cap) {
    char stem[512], num[32];
    snprintf(stem, sizeof stem, "%s", sp->filename);
    snprintf(num, sizeof num, "%lld", (long long)batch);
    replace_all(stem, sizeof stem, "%batch_num%", num);
    snprintf(name, name_cap, "%s_%05lld_.%s", stem, (long long)counter, ext);
    snprintf(path, path_cap, "%s/%s", sp->folder, name);
}
