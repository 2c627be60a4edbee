/* cmd_convert.c: `sdflow convert IN [OUT]`: a UI-format workflow (or a PNG carrying one) to the
 * API format, through the same loader `sdflow run` uses. */
#include <cjson/cJSON.h>
#include <string.h>

#include "../core/base/alloc.h"
#include "../core/io/workflow.h"
#include "cli_common.h"
#include "commands.h"

static void warn(void *user, const char *msg) {
    fprintf(stderr, "%s: warning: %s\n", (const char *)user, msg);
}

int sdf_cmd_convert(int argc, char **argv) {
    if (argc < 2 || argc > 3 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fprintf(argc < 2 ? stderr : stdout,
                "usage: sdflow convert IN [OUT]\n"
                "  IN   UI-format workflow JSON (or a PNG with a workflow); OUT: API JSON\n"
                "       (default: standard output)\n");
        return argc < 2 || argc > 3 ? 2 : 0;
    }
    sdf_cli c;
    sdf_cli_init(&c);
    sdf_workflow_src src;
    sdf_error err;
    sdf_error_clear(&err);
    int rc = 0;
    if (sdf_workflow_load(argv[1], &c.reg, warn, argv[1], &src, &err)) {
        char line[2048];
        sdf_error_format(&err, line, sizeof line);
        fprintf(stderr, "sdflow: %s\n", line);
        sdf_cli_deinit(&c);
        return err.code == SDF_ERR_IO ? 2 : 1;
    }
    cJSON *root = NULL;
    char *text = NULL;
    if (sdf_json_parse(src.api_text, strlen(src.api_text), argv[1], &root, &err) == SDF_OK) {
        sdf_json_exact_ints(root);
        text = cJSON_Print(root);
        cJSON_Delete(root);
    }
    if (!text) {
        fprintf(stderr, "sdflow: %s: conversion produced invalid JSON\n", argv[1]);
        rc = 1;
    } else if (argc == 3) {
        FILE *f = fopen(argv[2], "w");
        if (!f || fprintf(f, "%s\n", text) < 0 || fclose(f) != 0) {
            fprintf(stderr, "sdflow: cannot write %s\n", argv[2]);
            rc = 2;
        }
    } else {
        printf("%s\n", text);
    }
    cJSON_free(text);
    sdf_workflow_src_deinit(&src);
    sdf_cli_deinit(&c);
    return rc;
}
