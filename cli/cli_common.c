/* cli_common.c: shared runtime options, progress printing and SIGINT for the subcommands. */
#include "cli_common.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/base/alloc.h"

const char sdf_cli_runtime_help[] =
    "runtime options:\n"
    "  --models DIR        a models folder (checkpoints/, loras/, vae/, ...); repeatable;\n"
    "                      default $SDFLOW_MODELS (':'-separated) or ./models\n"
    "  --input DIR         input images (default ./input)\n"
    "  --output DIR        where SaveImage writes (default ./output)\n"
    "  --clip-vocab DIR    folder with vocab.json + merges.txt\n"
    "  --fp32-text-enc     run the text encoder in fp32\n"
    "  --threads N         thread budget for branches and kernels (default: all cores)\n"
    "  --db FILE           run log (default $SDFLOW_DB or ./sdflow-runs.db); --no-db: none\n"
    "  --cache-mb N        in-memory output cache (default 2048)\n"
    "  --cache-dir DIR     disk cache of tensor outputs (default $SDFLOW_CACHE_DIR; off)\n"
    "  --cache-dir-mb N    disk cache budget (default unbounded)\n"
    "  --json              machine-readable output (one JSON event per line)\n";

void sdf_cli_init(sdf_cli *c) {
    memset(c, 0, sizeof *c);
    sdf_builtin_registry(&c->nodes, &c->reg);
    sdf_runtime_params_init(&c->rp);
    c->rp.registry = &c->reg;
    c->rp.events.on_event = sdf_cli_on_event;
    c->rp.events.user = c;
    c->tty = isatty(2);
    const char *m = getenv("SDFLOW_MODELS");
    if (m && m[0]) {
        c->env_models = sdf_strdup(m);
        c->rp.paths.n_models_dirs = 0;
        for (char *s = c->env_models, *tok; s && (tok = strsep(&s, ":"));)
            if (tok[0] && c->rp.paths.n_models_dirs < SDF_MAX_MODEL_DIRS)
                c->rp.paths.models_dirs[c->rp.paths.n_models_dirs++] = tok;
        if (!c->rp.paths.n_models_dirs) sdf_paths_init_defaults(&c->rp.paths);
    }
    const char *db = getenv("SDFLOW_DB");
    if (db && db[0]) c->rp.db_path = db;
    const char *cd = getenv("SDFLOW_CACHE_DIR");
    if (cd && cd[0]) c->rp.cache_dir = cd;
}

void sdf_cli_deinit(sdf_cli *c) { sdf_free(c->env_models); }

const char *sdf_cli_value(int argc, char **argv, int *i, const char *flag) {
    const char *a = argv[*i];
    size_t n = strlen(flag);
    if (!strncmp(a, flag, n) && a[n] == '=') return a + n + 1;
    if (*i + 1 >= argc) {
        fprintf(stderr, "sdflow: %s needs a value\n", flag);
        return NULL;
    }
    return argv[++*i];
}

static bool is_flag(const char *a, const char *flag) {
    size_t n = strlen(flag);
    return !strncmp(a, flag, n) && (a[n] == 0 || a[n] == '=');
}

static int number(const char *v, const char *flag, long lo, long *out) {
    char *end = NULL;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || !*v || *end || x < lo) {
        fprintf(stderr, "sdflow: %s takes a number >= %ld\n", flag, lo);
        return -1;
    }
    *out = x;
    return 1;
}

int sdf_cli_runtime_opt(sdf_cli *c, int argc, char **argv, int *i) {
    const char *a = argv[*i];
    const char *v;
    long x;
    sdf_paths *p = &c->rp.paths;
    if (is_flag(a, "--models")) {
        if (!(v = sdf_cli_value(argc, argv, i, "--models"))) return -1;
        if (!c->models_from_flag) p->n_models_dirs = 0;
        c->models_from_flag = true;
        if (p->n_models_dirs >= SDF_MAX_MODEL_DIRS) {
            fprintf(stderr, "sdflow: at most %d --models folders\n", SDF_MAX_MODEL_DIRS);
            return -1;
        }
        p->models_dirs[p->n_models_dirs++] = v;
        return 1;
    }
    if (is_flag(a, "--input")) return (p->input_dir = sdf_cli_value(argc, argv, i, a)) ? 1 : -1;
    if (is_flag(a, "--output")) return (p->output_dir = sdf_cli_value(argc, argv, i, "--output")) ? 1 : -1;
    if (is_flag(a, "--clip-vocab"))
        return (p->clip_vocab_dir = sdf_cli_value(argc, argv, i, "--clip-vocab")) ? 1 : -1;
    if (!strcmp(a, "--fp32-text-enc")) {
        c->rp.fp32_text_enc = true;
        return 1;
    }
    if (is_flag(a, "--threads")) {
        if (number(sdf_cli_value(argc, argv, i, "--threads"), "--threads", 1, &x) < 0) return -1;
        c->rp.n_threads = (int)x;
        c->threads_set = true;
        return 1;
    }
    if (is_flag(a, "--db")) return (c->rp.db_path = sdf_cli_value(argc, argv, i, "--db")) ? 1 : -1;
    if (!strcmp(a, "--no-db")) {
        c->rp.db_path = NULL;
        return 1;
    }
    if (is_flag(a, "--cache-mb")) {
        if (number(sdf_cli_value(argc, argv, i, "--cache-mb"), "--cache-mb", 0, &x) < 0) return -1;
        c->rp.cache_mb = (size_t)x;
        return 1;
    }
    if (is_flag(a, "--cache-dir-mb")) {
        if (number(sdf_cli_value(argc, argv, i, "--cache-dir-mb"), "--cache-dir-mb", 0, &x) < 0)
            return -1;
        c->rp.cache_dir_mb = (size_t)x;
        return 1;
    }
    if (is_flag(a, "--cache-dir"))
        return (c->rp.cache_dir = sdf_cli_value(argc, argv, i, "--cache-dir")) ? 1 : -1;
    if (!strcmp(a, "--json")) {
        c->json = true;
        return 1;
    }
    return 0;
}

/* ---- events ------------------------------------------------------------------------------- */

static void print_json_event(const sdf_event *ev) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", sdf_event_name(ev->kind));
    cJSON *d = cJSON_AddObjectToObject(o, "data");
    switch (ev->kind) {
    case SDF_EV_EXECUTION_START:
    case SDF_EV_EXECUTION_SUCCESS:
        cJSON_AddStringToObject(d, "prompt_id", ev->prompt_id);
        cJSON_AddNumberToObject(d, "timestamp", ev->timestamp_ms);
        break;
    case SDF_EV_EXECUTION_CACHED: {
        cJSON *a = cJSON_AddArrayToObject(d, "nodes");
        for (int i = 0; i < ev->n_nodes; i++) cJSON_AddItemToArray(a, cJSON_CreateString(ev->nodes[i]));
        cJSON_AddStringToObject(d, "prompt_id", ev->prompt_id);
        cJSON_AddNumberToObject(d, "timestamp", ev->timestamp_ms);
        break;
    }
    case SDF_EV_EXECUTING:
        cJSON_AddStringToObject(d, "node", ev->node_id);
        cJSON_AddStringToObject(d, "display_node", ev->node_id);
        cJSON_AddStringToObject(d, "prompt_id", ev->prompt_id);
        break;
    case SDF_EV_PROGRESS:
        cJSON_AddNumberToObject(d, "value", (double)ev->value);
        cJSON_AddNumberToObject(d, "max", (double)ev->max);
        cJSON_AddStringToObject(d, "prompt_id", ev->prompt_id);
        cJSON_AddStringToObject(d, "node", ev->node_id);
        break;
    case SDF_EV_EXECUTED: {
        cJSON_AddStringToObject(d, "node", ev->node_id);
        cJSON_AddStringToObject(d, "display_node", ev->node_id);
        if (ev->n_files) {
            cJSON *out = cJSON_AddObjectToObject(d, "output");
            cJSON *imgs = cJSON_AddArrayToObject(out, "images");
            for (int i = 0; i < ev->n_files; i++) {
                const char *slash = strrchr(ev->files[i], '/');
                cJSON *im = cJSON_CreateObject();
                cJSON_AddStringToObject(im, "filename", slash ? slash + 1 : ev->files[i]);
                cJSON_AddStringToObject(im, "subfolder", "");
                cJSON_AddStringToObject(im, "type", "output");
                cJSON_AddStringToObject(im, "path", ev->files[i]);
                cJSON_AddItemToArray(imgs, im);
            }
        } else {
            cJSON_AddNullToObject(d, "output");
        }
        cJSON_AddStringToObject(d, "prompt_id", ev->prompt_id);
        break;
    }
    case SDF_EV_EXECUTION_ERROR:
    case SDF_EV_EXECUTION_INTERRUPTED: {
        cJSON_AddStringToObject(d, "prompt_id", ev->prompt_id);
        if (ev->node_id) cJSON_AddStringToObject(d, "node_id", ev->node_id);
        else cJSON_AddNullToObject(d, "node_id");
        if (ev->class_type) cJSON_AddStringToObject(d, "node_type", ev->class_type);
        else cJSON_AddNullToObject(d, "node_type");
        cJSON *a = cJSON_AddArrayToObject(d, "executed");
        for (int i = 0; i < ev->n_nodes; i++) cJSON_AddItemToArray(a, cJSON_CreateString(ev->nodes[i]));
        if (ev->kind == SDF_EV_EXECUTION_ERROR && ev->error) {
            char msg[1200];
            snprintf(msg, sizeof msg, "%s\n", ev->error->msg); /* ComfyUI ends it with \n */
            cJSON_AddStringToObject(d, "exception_message", msg);
            cJSON_AddStringToObject(d, "exception_type", sdf_status_name(ev->error->code));
            cJSON_AddArrayToObject(d, "traceback");
            cJSON *ci = cJSON_AddObjectToObject(d, "current_inputs");
            (void)ci;
            cJSON_AddArrayToObject(d, "current_outputs");
        }
        cJSON_AddNumberToObject(d, "timestamp", ev->timestamp_ms);
        break;
    }
    case SDF_EV_WARNING:
        if (ev->node_id) cJSON_AddStringToObject(d, "node", ev->node_id);
        cJSON_AddStringToObject(d, "message", ev->message ? ev->message : "");
        cJSON_AddStringToObject(d, "prompt_id", ev->prompt_id);
        break;
    default: break;
    }
    char *s = cJSON_PrintUnformatted(o);
    if (s) {
        printf("%s\n", s);
        fflush(stdout);
        cJSON_free(s);
    }
    cJSON_Delete(o);
}

static void close_bar(sdf_cli *c) {
    if (c->bar_open) fprintf(stderr, "\n");
    c->bar_open = false;
}

void sdf_cli_on_event(void *user, const sdf_event *ev) {
    sdf_cli *c = user;
    if (c->json) {
        print_json_event(ev);
        return;
    }
    switch (ev->kind) {
    case SDF_EV_EXECUTION_CACHED:
        if (ev->n_nodes) {
            fprintf(stderr, "cached: ");
            for (int i = 0; i < ev->n_nodes; i++) fprintf(stderr, "%s%s", i ? " " : "", ev->nodes[i]);
            fprintf(stderr, "\n");
        }
        break;
    case SDF_EV_EXECUTING:
        if (!c->tty) fprintf(stderr, "executing node %s (%s)\n", ev->node_id, ev->class_type);
        break;
    case SDF_EV_PROGRESS:
        if (c->tty && ev->max > 0) {
            if (strcmp(c->bar_node, ev->node_id) || ev->value <= 0 || !c->bar_open) {
                snprintf(c->bar_node, sizeof c->bar_node, "%s", ev->node_id);
                c->bar_start_ms = ev->timestamp_ms;
            }
            int w = 30, filled = (int)((double)w * (double)ev->value / (double)ev->max);
            double el = (ev->timestamp_ms - c->bar_start_ms) / 1000.0;
            double eta = ev->value > 0 ? el * (double)(ev->max - ev->value) / (double)ev->value : 0;
            fprintf(stderr, "\r  node %s [%.*s%*s] %lld/%lld  %.1fs, ETA %.1fs ", ev->node_id,
                    filled, "##############################", w - filled, "",
                    (long long)ev->value, (long long)ev->max, el, eta);
            c->bar_open = true;
        } else if (!c->tty && ev->max > 0 &&
                   (ev->value == ev->max || ev->value % (ev->max / 10 > 0 ? ev->max / 10 : 1) == 0)) {
            fprintf(stderr, "progress node %s: %lld/%lld\n", ev->node_id, (long long)ev->value,
                    (long long)ev->max);
        }
        break;
    case SDF_EV_EXECUTED:
        close_bar(c);
        fprintf(stderr, "%s node %s (%s) %.2f s\n", c->tty ? "  done" : "executed", ev->node_id,
                ev->class_type, ev->duration_ms / 1000.0);
        for (int i = 0; i < ev->n_files; i++) fprintf(stderr, "    wrote %s\n", ev->files[i]);
        break;
    case SDF_EV_EXECUTION_ERROR: {
        close_bar(c);
        char line[2048];
        sdf_error_format(ev->error, line, sizeof line);
        fprintf(stderr, "error: %s\n", line);
        break;
    }
    case SDF_EV_EXECUTION_INTERRUPTED:
        close_bar(c);
        fprintf(stderr, "interrupted%s%s\n", ev->node_id ? " in node " : "",
                ev->node_id ? ev->node_id : "");
        break;
    case SDF_EV_WARNING:
        close_bar(c);
        fprintf(stderr, "warning: node %s: %s\n", ev->node_id ? ev->node_id : "?",
                ev->message ? ev->message : "");
        break;
    default: break;
    }
}

/* ---- SIGINT ------------------------------------------------------------------------------- */

static sdf_runtime *volatile sigint_rt; /* the one process-wide hook the CLI needs */
static volatile sig_atomic_t sigint_count;

static void on_sigint(int sig) {
    (void)sig;
    if (++sigint_count >= 2) {
        static const char msg[] = "\nsdflow: second interrupt, exiting now\n";
        ssize_t w = write(2, msg, sizeof msg - 1);
        (void)w;
        _exit(130);
    }
    static const char msg[] = "\nsdflow: interrupt: stopping at the next safe point "
                              "(press Ctrl-C again to quit now)\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    if (sigint_rt) sdf_runtime_cancel(sigint_rt);
}

void sdf_cli_catch_sigint(sdf_runtime *rt) {
    sigint_rt = rt;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
}

void sdf_cli_release_sigint(void) {
    signal(SIGINT, SIG_DFL);
    sigint_rt = NULL;
}

void sdf_cli_print_diags(const sdf_diags *d, const char *file, FILE *f) {
    for (int i = 0; i < d->n; i++) {
        char line[4096];
        sdf_diag_format(&d->v[i], line, sizeof line);
        if (d->v[i].level == SDF_DIAG_ERROR)
            fprintf(f, "%s: error: %s\n", file ? file : "workflow", line);
        else fprintf(f, "%s: %s\n", file ? file : "workflow", line);
    }
}
