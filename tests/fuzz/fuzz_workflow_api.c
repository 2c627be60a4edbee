/* libFuzzer target: reading a workflow from JSON text (API format parsed exactly, UI format
 * converted) must give API text or an error with a message; never a crash or leak. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../core/base/alloc.h"
#include "../../core/io/workflow.h"
#include "../../nodes/nodes.h"
#include <cjson/cJSON.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static sdf_builtin_storage storage;
    static sdf_registry reg;
    static int init;
    if (!init) {
        sdf_builtin_registry(&storage, &reg);
        init = 1;
    }
    sdf_workflow_src src;
    memset(&src, 0, sizeof src);
    sdf_error err;
    sdf_error_clear(&err);
    if (sdf_workflow_from_text((const char *)data, size, "fuzz.json", &reg, NULL, NULL, &src,
                               &err) == SDF_OK) {
        if (!src.api_text) __builtin_trap();
        cJSON *j = NULL;
        sdf_error e2;
        if (sdf_json_parse(src.api_text, strlen(src.api_text), "api", &j, &e2) != SDF_OK)
            __builtin_trap(); /* what it produced must read back */
        cJSON_Delete(j);
        sdf_workflow_src_deinit(&src);
    } else if (err.msg[0] == 0 || src.api_text) {
        __builtin_trap();
    }
    return 0;
}
