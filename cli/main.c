/* main.c: the sdflow command line: a table of subcommands over the library. */
#include <stdio.h>
#include <string.h>

typedef struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
} command;

static int cmd_version(int argc, char **argv) {
    (void)argc;
    (void)argv;
    printf("sdflow %s (%s)\n", SDF_VERSION, SDF_GIT_REV);
    return 0;
}

static const command commands[] = {
    {"version", cmd_version, "print the version"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: sdflow <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "sdflow: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
