/* demo_cli.h: runs the `sdflow` CLI from the semantic end-to-end tests of the demo model
 * (tests/test_demo_*.c) and reads the PNGs it writes. Nothing here touches sdflow's library
 * except the PNG reader: the pictures are made only by the CLI, as a user would make them.
 *
 * Owns:      the models folder (the repository's models/, or $SDF_DEMO_MODELS), a scratch
 *            folder under the build directory (removed at the end unless SDF_DEMO_KEEP=1), one
 *            child process per CLI call (fork + execv, stdout/stderr into a log file in the
 *            scratch folder, printed when the call fails), and timing (wall clock, and the CPU
 *            time of each call from wait4, which load on a shared machine does not inflate).
 * Ownership: demo_png_rgb returns an sdf_malloc'd buffer the caller frees with sdf_free.
 * Threads:   single-threaded test code; functions keep their state in the demo_env they get.
 */
#ifndef SDF_DEMO_CLI_H
#define SDF_DEMO_CLI_H

#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../core/base/alloc.h"
#include "../core/io/png.h"

#ifndef SDF_BINARY_DIR
#define SDF_BINARY_DIR "."
#endif

#define DEMO_MODEL_FILE "sdflow-demo-v1.safetensors"
#define DEMO_LORA_FILE "sdflow-demo-teal.safetensors"

/* Sanitizer builds (the sdflow binary beside this test is built the same way) run far slower. */
#if defined(__SANITIZE_ADDRESS__)
#define DEMO_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DEMO_SANITIZED 1
#endif
#endif
#ifndef DEMO_SANITIZED
#define DEMO_SANITIZED 0
#endif

typedef struct demo_env {
    char sdflow[4096];   /* the CLI binary */
    char models[4096];   /* the repository's models/ folder */
    char work[4096];     /* scratch: input/, out/, logs */
    int n_calls;
    double last_cpu;     /* CPU seconds (user + system) of the last CLI call */
} demo_env;

static inline double demo_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static inline int demo_file_exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* Fills env; returns 0 when the demo model and the CLI are there, else prints why and returns
 * 77 (skip). The scratch folder is made here. */
static inline int demo_env_init(demo_env *e, const char *tag) {
    memset(e, 0, sizeof *e);
    snprintf(e->sdflow, sizeof e->sdflow, "%s/sdflow", SDF_BINARY_DIR);
    const char *alt = getenv("SDF_DEMO_MODELS"); /* e.g. to judge a candidate checkpoint */
    if (alt && alt[0]) snprintf(e->models, sizeof e->models, "%s", alt);
    else snprintf(e->models, sizeof e->models, "%s/models", SDF_SOURCE_DIR);
    char ckpt[4200];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoints/" DEMO_MODEL_FILE, e->models);
    if (!demo_file_exists(ckpt)) {
        fprintf(stderr, "SKIP: the demo model %s is absent (it is committed under models/; a "
                        "checkout without it cannot run the semantic tests)\n", ckpt);
        return 77;
    }
    if (access(e->sdflow, X_OK) != 0) {
        fprintf(stderr, "FAIL: the sdflow binary %s is missing (build the sdflow_cli target)\n",
                e->sdflow);
        return 1;
    }
    snprintf(e->work, sizeof e->work, "%s/demo_%s_XXXXXX", SDF_BINARY_DIR, tag);
    if (!mkdtemp(e->work)) {
        perror("mkdtemp");
        return 1;
    }
    char d[4200];
    snprintf(d, sizeof d, "%s/input", e->work);
    mkdir(d, 0755);
    return 0;
}

static inline void demo_env_done(demo_env *e) {
    const char *keep = getenv("SDF_DEMO_KEEP");
    if (keep && keep[0] == '1') {
        fprintf(stderr, "kept %s\n", e->work);
        return;
    }
    if (!e->work[0]) return;
    pid_t pid = fork();
    if (pid == 0) {
        execlp("rm", "rm", "-rf", "--", e->work, (char *)NULL);
        _exit(127);
    }
    int st;
    if (pid > 0) waitpid(pid, &st, 0);
}

/* Runs `sdflow run <args...>` with the common options appended (models folder, input/output in
 * the scratch folder, no run log, 2 threads). args (any number) ends with NULL. out_sub names the output
 * subfolder. Returns the exit status (or -1); on failure prints the log's tail. */
static inline int demo_run(demo_env *e, const char *out_sub, const char *const *args) {
    int n_args = 0;
    while (args[n_args]) n_args++;
    const char **argv = sdf_calloc((size_t)n_args + 16, sizeof *argv);
    if (!argv) return -1;
    int n = 0;
    char models[4200], input[4200], output[4200], log[4200];
    snprintf(models, sizeof models, "%s", e->models);
    snprintf(input, sizeof input, "%s/input", e->work);
    snprintf(output, sizeof output, "%s/%s", e->work, out_sub);
    snprintf(log, sizeof log, "%s/call%02d.log", e->work, e->n_calls++);
    argv[n++] = e->sdflow;
    argv[n++] = "run";
    for (int i = 0; i < n_args; i++) argv[n++] = args[i];
    argv[n++] = "--models";
    argv[n++] = models;
    argv[n++] = "--input";
    argv[n++] = input;
    argv[n++] = "--output";
    argv[n++] = output;
    argv[n++] = "--no-db";
    argv[n++] = "--threads";
    argv[n++] = "2";
    argv[n] = NULL;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        sdf_free(argv);
        return -1;
    }
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        unsetenv("SDFLOW_CACHE_DIR"); /* every picture is computed, none read from a disk cache */
        unsetenv("SDFLOW_MODELS");
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    if (wait4(pid, &st, 0, &ru) < 0) {
        sdf_free(argv);
        return -1;
    }
    e->last_cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec +
                  ru.ru_stime.tv_usec * 1e-6;
    int rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    if (rc != 0) {
        fprintf(stderr, "  sdflow exited with %d; command:", rc);
        for (int i = 0; argv[i]; i++) fprintf(stderr, " '%s'", argv[i]);
        fprintf(stderr, "\n  last lines of %s:\n", log);
        FILE *f = fopen(log, "rb");
        if (f) {
            fseek(f, 0, SEEK_END);
            long sz = ftell(f);
            fseek(f, sz > 3000 ? sz - 3000 : 0, SEEK_SET);
            char buf[3001];
            size_t k = fread(buf, 1, 3000, f);
            buf[k] = 0;
            fprintf(stderr, "%s\n", buf);
            fclose(f);
        }
    }
    sdf_free(argv);
    return rc;
}

/* Path of the i-th (1-based) image SaveImage wrote with prefix under out_sub. */
static inline void demo_out_path(const demo_env *e, const char *out_sub, const char *prefix,
                                 int i, char *buf, size_t n) {
    snprintf(buf, n, "%s/%s/%s_%05d_.png", e->work, out_sub, prefix, i);
}

/* Reads a PNG into tightly packed RGB (w*h*3, sdf_malloc'd); NULL (after a message) on error.
 * When text_key is not NULL, *text gets a sdf_malloc'd copy of that text chunk (NULL if absent). */
static inline uint8_t *demo_png_rgb_text(const char *path, int *w, int *h, const char *text_key,
                                         char **text) {
    sdf_png_pixels p;
    sdf_error err;
    memset(&p, 0, sizeof p);
    if (sdf_png_read(path, NULL, &p, &err) != SDF_OK) {
        char line[1024];
        sdf_error_format(&err, line, sizeof line);
        fprintf(stderr, "  cannot read %s: %s\n", path, line);
        return NULL;
    }
    uint8_t *rgb = sdf_malloc((size_t)p.width * p.height * 3);
    if (rgb)
        for (size_t i = 0; i < (size_t)p.width * p.height; i++) memcpy(rgb + i * 3, p.rgba + i * 4, 3);
    *w = (int)p.width;
    *h = (int)p.height;
    if (text_key && text) {
        *text = NULL;
        for (size_t i = 0; i < p.n_texts && !*text; i++) {
            if (strcmp(p.texts[i].key, text_key)) continue;
            size_t n = strlen(p.texts[i].value) + 1;
            if ((*text = sdf_malloc(n))) memcpy(*text, p.texts[i].value, n);
        }
    }
    sdf_png_pixels_free(&p);
    return rgb;
}

static inline uint8_t *demo_png_rgb(const char *path, int *w, int *h) {
    return demo_png_rgb_text(path, w, h, NULL, NULL);
}

/* Writes text to <work>/<name>; returns the path in buf. */
static inline int demo_write_file(const demo_env *e, const char *name, const char *text,
                                  char *buf, size_t n) {
    snprintf(buf, n, "%s/%s", e->work, name);
    FILE *f = fopen(buf, "wb");
    if (!f) return -1;
    size_t len = strlen(text);
    int ok = fwrite(text, 1, len, f) == len;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* Writes an RGB or RGBA image as <work>/input/<name>. */
static inline int demo_write_input_png(const demo_env *e, const char *name, const uint8_t *pix,
                                       int w, int h, int channels) {
    char path[4300];
    snprintf(path, sizeof path, "%s/input/%s", e->work, name);
    sdf_error err;
    return sdf_png_write(path, pix, (uint32_t)w, (uint32_t)h, channels, NULL, &err) == SDF_OK ? 0
                                                                                             : -1;
}

static inline int demo_env_flag(const char *name) {
    const char *v = getenv(name);
    return v && v[0] && strcmp(v, "0") != 0;
}

#endif
