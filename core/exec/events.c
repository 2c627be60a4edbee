/* events.c: event names (ComfyUI's websocket spelling). */
#include "events.h"

static const char *const names[] = {"execution_start",       "execution_cached",
                                    "executing",             "progress",
                                    "executed",              "execution_error",
                                    "execution_interrupted", "execution_success",
                                    "warning"};
_Static_assert(sizeof names / sizeof names[0] == SDF_EV_COUNT, "event names drift");

const char *sdf_event_name(sdf_event_kind k) {
    return (unsigned)k < SDF_EV_COUNT ? names[k] : "?";
}
