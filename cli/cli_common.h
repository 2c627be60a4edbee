/* cli_common.h: what the sdflow subcommands share: runtime options (folders, threads, caches,
 * run log), the built-in node registry, progress printing (TTY, plain, --json) and SIGINT.
 *
 * Owns:      sdf_cli, one per command invocation (strings point into argv/environment or are
 *            kept in the struct until sdf_cli_deinit).
 * Threads:   the event printer is called with the runtime's event lock held.
 */
#ifndef SDF_CLI_COMMON_H
#define SDF_CLI_COMMON_H

#include <stdbool.h>
#include <stdio.h>

#include "../core/sdflow.h"
#include "../nodes/nodes.h"

typedef struct sdf_cli {
    sdf_builtin_storage nodes;
    sdf_registry        reg;
    sdf_runtime_params  rp;
    char               *env_models; /* copy of SDFLOW_MODELS split in place */
    bool                models_from_flag;
    bool                json;       /* --json: machine-readable output */
    bool                tty;        /* stderr is a terminal: progress bars */
    bool                threads_set;
    /* progress state */
    char                bar_node[64];
    double              bar_start_ms;
    bool                bar_open;
} sdf_cli;

/* Defaults plus SDFLOW_MODELS (':'-separated), SDFLOW_DB, SDFLOW_CACHE_DIR. */
void sdf_cli_init(sdf_cli *c);
void sdf_cli_deinit(sdf_cli *c);

/* Consumes a runtime option at argv[*i] (advancing *i past its value). Returns 1 when consumed,
 * 0 when argv[*i] is not one of them, -1 on a usage error (message printed). */
int sdf_cli_runtime_opt(sdf_cli *c, int argc, char **argv, int *i);
extern const char sdf_cli_runtime_help[];

/* The event sink the CLI installs (user = the sdf_cli). */
void sdf_cli_on_event(void *user, const sdf_event *ev);

/* SIGINT: the first asks rt to stop at the next safe point; a second exits at once (130). */
void sdf_cli_catch_sigint(sdf_runtime *rt);
void sdf_cli_release_sigint(void);

/* Prints every diagnostic, one line each ("error: ..." / "warning: ..."). */
void sdf_cli_print_diags(const sdf_diags *d, const char *file, FILE *f);

/* Reads a value of a --flag=V or --flag V option. */
const char *sdf_cli_value(int argc, char **argv, int *i, const char *flag);

#endif
