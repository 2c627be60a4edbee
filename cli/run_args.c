/* run_args.c: parsing the options of `sdflow run`. */
#include "run_args.h"

#include <string.h>

#include "../core/base/alloc.h"

static bool push(const char ***v, int *n, const char *s) {
    const char **nv = sdf_realloc((void *)*v, ((size_t)*n + 1) * sizeof *nv);
    if (!nv) return false;
    nv[(*n)++] = s;
    *v = nv;
    return true;
}

int sdf_run_args_parse(sdf_run_args *a, sdf_cli *c, int argc, char **argv, const char *usage) {
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        const char *v;
        if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            printf("%s\n%s", usage, sdf_cli_runtime_help);
            return 0;
        }
        int r = sdf_cli_runtime_opt(c, argc, argv, &i);
        if (r < 0) return 2;
        if (r > 0) continue;
        if (!strncmp(s, "--set", 5) && (s[5] == 0 || s[5] == '=')) {
            if (!(v = sdf_cli_value(argc, argv, &i, "--set"))) return 2;
            push(&a->sets, &a->n_sets, v);
        } else if (!strncmp(s, "--sweep", 7) && (s[7] == 0 || s[7] == '=')) {
            if (!(v = sdf_cli_value(argc, argv, &i, "--sweep"))) return 2;
            push(&a->sweeps, &a->n_sweeps, v);
        } else if (!strncmp(s, "--only", 6) && (s[6] == 0 || s[6] == '=')) {
            if (!(v = sdf_cli_value(argc, argv, &i, "--only"))) return 2;
            char *copy = sdf_strdup(v);
            for (char *p = copy, *tok; p && (tok = strsep(&p, ","));) {
                if (!tok[0]) continue;
                char **nv = sdf_realloc(a->only, ((size_t)a->n_only + 1) * sizeof *nv);
                if (!nv) break;
                a->only = nv;
                a->only[a->n_only++] = sdf_strdup(tok);
            }
            sdf_free(copy);
        } else if (!strncmp(s, "--tag", 5) && (s[5] == 0 || s[5] == '=')) {
            if (!(v = sdf_cli_value(argc, argv, &i, "--tag"))) return 2;
            push(&a->tags, &a->n_tags, v);
        } else if (!strncmp(s, "--note", 6) && (s[6] == 0 || s[6] == '=')) {
            if (!(a->note = sdf_cli_value(argc, argv, &i, "--note"))) return 2;
        } else if (!strncmp(s, "--save-intermediates", 20) && (s[20] == 0 || s[20] == '=')) {
            if (!(a->intermediates = sdf_cli_value(argc, argv, &i, "--save-intermediates")))
                return 2;
        } else if (!strcmp(s, "--strict")) {
            a->strict = true;
        } else if (!strcmp(s, "--verify")) {
            a->verify = true;
        } else if (s[0] == '-' && s[1]) {
            fprintf(stderr, "sdflow %s: unknown option '%s'\n%s", argv[0], s, usage);
            return 2;
        } else {
            push(&a->files, &a->n_files, s);
        }
    }
    return -1;
}

void sdf_run_args_free(sdf_run_args *a) {
    sdf_free((void *)a->files);
    sdf_free((void *)a->sets);
    sdf_free((void *)a->sweeps);
    for (int i = 0; i < a->n_only; i++) sdf_free(a->only[i]);
    sdf_free(a->only);
    sdf_free((void *)a->tags);
    memset(a, 0, sizeof *a);
}
