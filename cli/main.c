/* main.c: the sdflow command line: a table of subcommands (commands.h) over the library. */
#include <stdio.h>
#include <string.h>

#include "../core/kernels/kernels.h"
#include "../core/sdflow.h"
#include "commands.h"

typedef struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
} command;

#define SDF_CLI_ROW_(name, fn, help) {name, fn, help},
static const command commands[] = {SDF_CLI_COMMANDS(SDF_CLI_ROW_)};
#undef SDF_CLI_ROW_

int sdf_cmd_version(int argc, char **argv) {
    (void)argc;
    (void)argv;
    printf("sdflow %s (%s)\n", sdf_version(), sdf_git_rev());
    return 0;
}

static void usage(FILE *f) {
    fprintf(f, "usage: sdflow <command> [options]   (sdflow <command> --help for its options)\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) return sdf_cmd_version(0, NULL);
    /* Before any thread exists: if OPENBLAS_CORETYPE forces weaker kernels than this CPU has,
     * re-execute with it corrected (or say why not). */
    char blas_msg[512] = "";
    if (sdf_blas_fix_coretype(argc, argv, blas_msg, sizeof blas_msg) != SDF_BLAS_OK && blas_msg[0])
        fprintf(stderr, "sdflow: %s\n", blas_msg);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "sdflow: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
