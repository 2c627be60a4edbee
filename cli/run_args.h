/* run_args.h: the options of `sdflow run` (also used by `validate` and `runs replay`).
 *
 * Owns:      sdf_run_args: arrays point into argv except `only` (split copies) and the arrays
 *            themselves, freed by sdf_run_args_free.
 */
#ifndef SDF_CLI_RUN_ARGS_H
#define SDF_CLI_RUN_ARGS_H

#include "cli_common.h"

typedef struct sdf_run_args {
    const char **files;   int n_files;
    const char **sets;    int n_sets;
    const char **sweeps;  int n_sweeps;
    char       **only;    int n_only;
    const char **tags;    int n_tags;
    const char  *note;
    const char  *intermediates;
    bool         strict;
    bool         verify;  /* runs replay --verify */
} sdf_run_args;

/* Parses argv[1..] (argv[0] is the command). Returns -1 to go on, or an exit code to return
 * (0 after --help, 2 on a usage error). Runtime options go to c. */
int  sdf_run_args_parse(sdf_run_args *a, sdf_cli *c, int argc, char **argv, const char *usage);
void sdf_run_args_free(sdf_run_args *a);

/* Runs one workflow (file, or API text with its UI text) and prints its summary; returns the
 * exit code. res must be deinitialised by the caller. */
int sdf_run_one(sdf_runtime *rt, sdf_cli *c, const sdf_run_args *a, const char *file,
                const char *text, const char *ui_text, const char *const *overrides,
                int n_overrides, const char *sweep_id, sdf_run_result *res);

#endif
