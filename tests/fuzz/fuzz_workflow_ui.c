/* libFuzzer target: UI workflow -> API conversion must never crash, leak or hang; every input
 * gives SDF_OK with valid JSON text, or an error with a message. */
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../core/base/alloc.h"
#include "../../core/io/workflow_ui.h"
#include "../ui_test_defs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static test_registry reg;
    static int init;
    if (!init) {
        test_registry_init(&reg, 0);
        init = 1;
    }
    char *api = NULL;
    sdf_error err;
    sdf_error_clear(&err);
    sdf_status st = sdf_workflow_ui_to_api((const char *)data, size, &reg.reg, NULL, NULL, &api,
                                           &err);
    if (st == SDF_OK) {
        cJSON *j = cJSON_Parse(api); /* the output is always JSON */
        if (!j) __builtin_trap();
        cJSON_Delete(j);
        sdf_free(api);
    } else if (api != NULL || err.msg[0] == 0) {
        __builtin_trap();
    }
    return 0;
}
