/* ui_test_defs.h: node definitions transcribed from spec §2.2 / §10.7 (names, input order, types,
 * defaults) for the classes the shared workflows use, plus two test-only classes. The UI
 * converter tests merge them into the built-in registry for the classes it still lacks
 * (test_registry_init), so they run before and after the node families land. Header-only: each
 * test executable includes it once.
 */
#ifndef SDF_UI_TEST_DEFS_H
#define SDF_UI_TEST_DEFS_H

#include <stdio.h>
#include <string.h>

#include "../core/graph/nodedef.h"
#include "../nodes/nodes.h"

static const char *const td_samplers[] = {
    "euler", "euler_cfg_pp", "euler_ancestral", "euler_ancestral_cfg_pp", "heun", "heunpp2",
    "exp_heun_2_x0", "exp_heun_2_x0_sde", "dpm_2", "dpm_2_ancestral", "lms", "dpm_fast",
    "dpm_adaptive", "dpmpp_2s_ancestral", "dpmpp_2s_ancestral_cfg_pp", "dpmpp_sde",
    "dpmpp_sde_gpu", "dpmpp_2m", "dpmpp_2m_cfg_pp", "dpmpp_2m_sde", "dpmpp_2m_sde_gpu",
    "dpmpp_2m_sde_heun", "dpmpp_2m_sde_heun_gpu", "dpmpp_3m_sde", "dpmpp_3m_sde_gpu", "ddpm",
    "lcm", "ipndm", "ipndm_v", "deis", "res_multistep", "res_multistep_cfg_pp",
    "res_multistep_ancestral", "res_multistep_ancestral_cfg_pp", "gradient_estimation",
    "gradient_estimation_cfg_pp", "er_sde", "seeds_2", "seeds_3", "sa_solver", "sa_solver_pece",
    "ddim", "uni_pc", "uni_pc_bh2"};
static const char *const td_schedulers[] = {"simple", "sgm_uniform", "karras", "exponential",
                                            "ddim_uniform", "beta", "normal", "linear_quadratic",
                                            "kl_optimal"};
static const char *const td_latent_up[] = {"nearest-exact", "bilinear", "area", "bicubic",
                                           "bislerp"};
static const char *const td_image_up[] = {"nearest-exact", "bilinear", "area", "bicubic",
                                          "lanczos"};
static const char *const td_crop[] = {"disabled", "center"};
static const char *const td_enable[] = {"enable", "disable"};
static const char *const td_disable[] = {"disable", "enable"};
static const char *const td_channel[] = {"alpha", "red", "green", "blue"};

#define TD_R 16384
#define TD_DEF(var, cls, disp, flags_)                                                        \
    static const sdf_node_def var = {.class_type = cls, .display_name = disp,               \
                                     .inputs = var##_in, .n_inputs = (int)SDF_COUNTOF(var##_in), \
                                     .outputs = var##_out,                                  \
                                     .n_outputs = (int)SDF_COUNTOF(var##_out), .flags = flags_}

static const sdf_input_def td_ckpt_in[] = {SDF_IN_FILE("ckpt_name", SDF_FILE_CHECKPOINTS)};
static const sdf_output_def td_ckpt_out[] = {{"MODEL", SDF_VT_MODEL}, {"CLIP", SDF_VT_CLIP},
                                             {"VAE", SDF_VT_VAE}};
TD_DEF(td_ckpt, "CheckpointLoaderSimple", "Load Checkpoint", 0);

static const sdf_input_def td_vael_in[] = {SDF_IN_FILE("vae_name", SDF_FILE_VAE)};
static const sdf_output_def td_vael_out[] = {{"VAE", SDF_VT_VAE}};
TD_DEF(td_vael, "VAELoader", "Load VAE", 0);

static const sdf_input_def td_lora_in[] = {
    SDF_IN_LINK("model", SDF_VT_MODEL), SDF_IN_LINK("clip", SDF_VT_CLIP),
    SDF_IN_FILE("lora_name", SDF_FILE_LORAS),
    SDF_IN_FLOAT("strength_model", 1.0, -100, 100, 0.01),
    SDF_IN_FLOAT("strength_clip", 1.0, -100, 100, 0.01)};
static const sdf_output_def td_lora_out[] = {{"MODEL", SDF_VT_MODEL}, {"CLIP", SDF_VT_CLIP}};
TD_DEF(td_lora, "LoraLoader", "Load LoRA", 0);

static const sdf_input_def td_upl_in[] = {SDF_IN_FILE("model_name", SDF_FILE_UPSCALE_MODELS)};
static const sdf_output_def td_upl_out[] = {{"UPSCALE_MODEL", SDF_VT_UPSCALE_MODEL}};
TD_DEF(td_upl, "UpscaleModelLoader", "Load Upscale Model", 0);

static const sdf_input_def td_upw_in[] = {SDF_IN_LINK("upscale_model", SDF_VT_UPSCALE_MODEL),
                                          SDF_IN_LINK("image", SDF_VT_IMAGE)};
static const sdf_output_def td_upw_out[] = {{"IMAGE", SDF_VT_IMAGE}};
TD_DEF(td_upw, "ImageUpscaleWithModel", "Upscale Image (using Model)", 0);

static const sdf_input_def td_cte_in[] = {SDF_IN_STRING("text", NULL, true),
                                          SDF_IN_LINK("clip", SDF_VT_CLIP)};
static const sdf_output_def td_cte_out[] = {{"CONDITIONING", SDF_VT_CONDITIONING}};
TD_DEF(td_cte, "CLIPTextEncode", "CLIP Text Encode (Prompt)", 0);

static const sdf_input_def td_csl_in[] = {SDF_IN_LINK("clip", SDF_VT_CLIP),
                                          SDF_IN_INT("stop_at_clip_layer", -1, -24, -1, 1)};
static const sdf_output_def td_csl_out[] = {{"CLIP", SDF_VT_CLIP}};
TD_DEF(td_csl, "CLIPSetLastLayer", "CLIP Set Last Layer", 0);

static const sdf_input_def td_ccomb_in[] = {SDF_IN_LINK("conditioning_1", SDF_VT_CONDITIONING),
                                            SDF_IN_LINK("conditioning_2", SDF_VT_CONDITIONING)};
static const sdf_output_def td_ccomb_out[] = {{"CONDITIONING", SDF_VT_CONDITIONING}};
TD_DEF(td_ccomb, "ConditioningCombine", "Conditioning (Combine)", 0);

static const sdf_input_def td_carea_in[] = {
    SDF_IN_LINK("conditioning", SDF_VT_CONDITIONING), SDF_IN_INT("width", 64, 64, TD_R, 8),
    SDF_IN_INT("height", 64, 64, TD_R, 8), SDF_IN_INT("x", 0, 0, TD_R, 8),
    SDF_IN_INT("y", 0, 0, TD_R, 8), SDF_IN_FLOAT("strength", 1.0, 0, 10, 0.01)};
static const sdf_output_def td_carea_out[] = {{"CONDITIONING", SDF_VT_CONDITIONING}};
TD_DEF(td_carea, "ConditioningSetArea", "Conditioning (Set Area)", 0);

static const sdf_input_def td_czero_in[] = {SDF_IN_LINK("conditioning", SDF_VT_CONDITIONING)};
static const sdf_output_def td_czero_out[] = {{"CONDITIONING", SDF_VT_CONDITIONING}};
TD_DEF(td_czero, "ConditioningZeroOut", "ConditioningZeroOut", 0);

static const sdf_input_def td_empty_in[] = {SDF_IN_INT("width", 512, 16, TD_R, 8),
                                            SDF_IN_INT("height", 512, 16, TD_R, 8),
                                            SDF_IN_INT("batch_size", 1, 1, 4096, 1)};
static const sdf_output_def td_empty_out[] = {{"LATENT", SDF_VT_LATENT}};
TD_DEF(td_empty, "EmptyLatentImage", "Empty Latent Image", 0);

static const sdf_input_def td_lup_in[] = {
    SDF_IN_LINK("samples", SDF_VT_LATENT), SDF_IN_COMBO("upscale_method", td_latent_up, NULL),
    SDF_IN_INT("width", 512, 0, TD_R, 8), SDF_IN_INT("height", 512, 0, TD_R, 8),
    SDF_IN_COMBO("crop", td_crop, NULL)};
static const sdf_output_def td_lup_out[] = {{"LATENT", SDF_VT_LATENT}};
TD_DEF(td_lup, "LatentUpscale", "Upscale Latent", 0);

static const sdf_input_def td_lupby_in[] = {SDF_IN_LINK("samples", SDF_VT_LATENT),
                                            SDF_IN_COMBO("upscale_method", td_latent_up, NULL),
                                            SDF_IN_FLOAT("scale_by", 1.5, 0.01, 8.0, 0.01)};
static const sdf_output_def td_lupby_out[] = {{"LATENT", SDF_VT_LATENT}};
TD_DEF(td_lupby, "LatentUpscaleBy", "Upscale Latent By", 0);

static const sdf_input_def td_rep_in[] = {SDF_IN_LINK("samples", SDF_VT_LATENT),
                                          SDF_IN_INT("amount", 1, 1, 64, 1)};
static const sdf_output_def td_rep_out[] = {{"LATENT", SDF_VT_LATENT}};
TD_DEF(td_rep, "RepeatLatentBatch", "Repeat Latent Batch", 0);

static const sdf_input_def td_lcomp_in[] = {
    SDF_IN_LINK("samples_to", SDF_VT_LATENT), SDF_IN_LINK("samples_from", SDF_VT_LATENT),
    SDF_IN_INT("x", 0, 0, TD_R, 8), SDF_IN_INT("y", 0, 0, TD_R, 8),
    SDF_IN_INT("feather", 0, 0, TD_R, 8)};
static const sdf_output_def td_lcomp_out[] = {{"LATENT", SDF_VT_LATENT}};
TD_DEF(td_lcomp, "LatentComposite", "Latent Composite", 0);

static const sdf_input_def td_ks_in[] = {
    SDF_IN_LINK("model", SDF_VT_MODEL), SDF_IN_SEED("seed"),
    SDF_IN_INT("steps", 20, 1, 10000, 1), SDF_IN_FLOAT("cfg", 8.0, 0, 100, 0.1),
    SDF_IN_COMBO("sampler_name", td_samplers, NULL), SDF_IN_COMBO("scheduler", td_schedulers, NULL),
    SDF_IN_LINK("positive", SDF_VT_CONDITIONING), SDF_IN_LINK("negative", SDF_VT_CONDITIONING),
    SDF_IN_LINK("latent_image", SDF_VT_LATENT), SDF_IN_FLOAT("denoise", 1.0, 0, 1, 0.01)};
static const sdf_output_def td_ks_out[] = {{"LATENT", SDF_VT_LATENT}};
TD_DEF(td_ks, "KSampler", "KSampler", 0);

static const sdf_input_def td_ksa_in[] = {
    SDF_IN_LINK("model", SDF_VT_MODEL), SDF_IN_COMBO("add_noise", td_enable, NULL),
    SDF_IN_SEED("noise_seed"), SDF_IN_INT("steps", 20, 1, 10000, 1),
    SDF_IN_FLOAT("cfg", 8.0, 0, 100, 0.1), SDF_IN_COMBO("sampler_name", td_samplers, NULL),
    SDF_IN_COMBO("scheduler", td_schedulers, NULL), SDF_IN_LINK("positive", SDF_VT_CONDITIONING),
    SDF_IN_LINK("negative", SDF_VT_CONDITIONING), SDF_IN_LINK("latent_image", SDF_VT_LATENT),
    SDF_IN_INT("start_at_step", 0, 0, 10000, 1), SDF_IN_INT("end_at_step", 10000, 0, 10000, 1),
    SDF_IN_COMBO("return_with_leftover_noise", td_disable, NULL)};
static const sdf_output_def td_ksa_out[] = {{"LATENT", SDF_VT_LATENT}};
TD_DEF(td_ksa, "KSamplerAdvanced", "KSampler (Advanced)", 0);

static const sdf_input_def td_vdec_in[] = {SDF_IN_LINK("samples", SDF_VT_LATENT),
                                           SDF_IN_LINK("vae", SDF_VT_VAE)};
static const sdf_output_def td_vdec_out[] = {{"IMAGE", SDF_VT_IMAGE}};
TD_DEF(td_vdec, "VAEDecode", "VAE Decode", 0);

static const sdf_input_def td_venc_in[] = {SDF_IN_LINK("pixels", SDF_VT_IMAGE),
                                           SDF_IN_LINK("vae", SDF_VT_VAE)};
static const sdf_output_def td_venc_out[] = {{"LATENT", SDF_VT_LATENT}};
TD_DEF(td_venc, "VAEEncode", "VAE Encode", 0);

static const sdf_input_def td_vinp_in[] = {
    SDF_IN_LINK("pixels", SDF_VT_IMAGE), SDF_IN_LINK("vae", SDF_VT_VAE),
    SDF_IN_LINK("mask", SDF_VT_MASK), SDF_IN_INT("grow_mask_by", 6, 0, 64, 1)};
static const sdf_output_def td_vinp_out[] = {{"LATENT", SDF_VT_LATENT}};
TD_DEF(td_vinp, "VAEEncodeForInpaint", "VAE Encode (for Inpainting)", 0);

static const sdf_input_def td_save_in[] = {SDF_IN_LINK("images", SDF_VT_IMAGE),
                                           SDF_IN_STRING("filename_prefix", "ComfyUI", false)};
static const sdf_output_def td_save_out[] = {{"IMAGE", SDF_VT_IMAGE}}; /* unused: n_outputs 0 */
static const sdf_node_def td_save = {.class_type = "SaveImage", .display_name = "Save Image",
                                     .inputs = td_save_in, .n_inputs = 2, .outputs = td_save_out,
                                     .n_outputs = 0, .flags = SDF_NODE_OUTPUT};

static const sdf_input_def td_ckps_in[] = {
    SDF_IN_LINK("model", SDF_VT_MODEL), SDF_IN_LINK("clip", SDF_VT_CLIP),
    SDF_IN_LINK("vae", SDF_VT_VAE), SDF_IN_STRING("filename_prefix", "checkpoints/ComfyUI", false)};
static const sdf_node_def td_ckps = {.class_type = "CheckpointSave",
                                     .display_name = "Save Checkpoint", .inputs = td_ckps_in,
                                     .n_inputs = 4, .flags = SDF_NODE_OUTPUT};

static const sdf_input_def td_load_in[] = {SDF_IN_FILE("image", SDF_FILE_INPUT)};
static const sdf_output_def td_load_out[] = {{"IMAGE", SDF_VT_IMAGE}, {"MASK", SDF_VT_MASK}};
TD_DEF(td_load, "LoadImage", "Load Image", 0);

static const sdf_input_def td_loadm_in[] = {SDF_IN_FILE("image", SDF_FILE_INPUT),
                                            SDF_IN_COMBO("channel", td_channel, NULL)};
static const sdf_output_def td_loadm_out[] = {{"MASK", SDF_VT_MASK}};
TD_DEF(td_loadm, "LoadImageMask", "Load Image (as Mask)", 0);

static const sdf_input_def td_iscale_in[] = {
    SDF_IN_LINK("image", SDF_VT_IMAGE), SDF_IN_COMBO("upscale_method", td_image_up, NULL),
    SDF_IN_INT("width", 512, 0, TD_R, 1), SDF_IN_INT("height", 512, 0, TD_R, 1),
    SDF_IN_COMBO("crop", td_crop, NULL)};
static const sdf_output_def td_iscale_out[] = {{"IMAGE", SDF_VT_IMAGE}};
TD_DEF(td_iscale, "ImageScale", "Upscale Image", 0);

static const sdf_input_def td_pad_in[] = {
    SDF_IN_LINK("image", SDF_VT_IMAGE), SDF_IN_INT("left", 0, 0, TD_R, 8),
    SDF_IN_INT("top", 0, 0, TD_R, 8), SDF_IN_INT("right", 0, 0, TD_R, 8),
    SDF_IN_INT("bottom", 0, 0, TD_R, 8), SDF_IN_INT("feathering", 40, 0, TD_R, 1)};
static const sdf_output_def td_pad_out[] = {{"IMAGE", SDF_VT_IMAGE}, {"MASK", SDF_VT_MASK}};
TD_DEF(td_pad, "ImagePadForOutpaint", "Pad Image for Outpainting", 0);

static const sdf_input_def td_mms_in[] = {SDF_IN_LINK("model1", SDF_VT_MODEL),
                                          SDF_IN_LINK("model2", SDF_VT_MODEL),
                                          SDF_IN_FLOAT("ratio", 1.0, 0, 1, 0.01)};
static const sdf_output_def td_mms_out[] = {{"MODEL", SDF_VT_MODEL}};
TD_DEF(td_mms, "ModelMergeSimple", "ModelMergeSimple", 0);

static const sdf_input_def td_mmsub_in[] = {SDF_IN_LINK("model1", SDF_VT_MODEL),
                                            SDF_IN_LINK("model2", SDF_VT_MODEL),
                                            SDF_IN_FLOAT("multiplier", 1.0, -10, 10, 0.01)};
static const sdf_output_def td_mmsub_out[] = {{"MODEL", SDF_VT_MODEL}};
TD_DEF(td_mmsub, "ModelMergeSubtract", "ModelMergeSubtract", 0);

static const sdf_input_def td_mmadd_in[] = {SDF_IN_LINK("model1", SDF_VT_MODEL),
                                            SDF_IN_LINK("model2", SDF_VT_MODEL)};
static const sdf_output_def td_mmadd_out[] = {{"MODEL", SDF_VT_MODEL}};
TD_DEF(td_mmadd, "ModelMergeAdd", "ModelMergeAdd", 0);

/* Test-only classes (not ComfyUI nodes): a forceInput STRING before a widget, and a COMBO with
 * control_after_generate (two extra widget values: control + filter). */
static const sdf_input_def td_forced_in[] = {
    {.name = "text", .type = SDF_VT_STRING, .link_only = true},
    SDF_IN_INT("count", 3, 0, 100, 1), SDF_IN_FLOAT("scale", 0.5, 0, 1, 0.01)};
static const sdf_output_def td_forced_out[] = {{"STRING", SDF_VT_STRING}};
TD_DEF(td_forced, "TestForceInput", "Test ForceInput", 0);

static const char *const td_colors[] = {"red", "green", "blue"};
static const sdf_input_def td_cctl_in[] = {
    {.name = "color", .type = SDF_VT_COMBO, .choices = td_colors, .n_choices = 3,
     .control_after_generate = true},
    SDF_IN_BOOL("flag", true),
    {.name = "note", .type = SDF_VT_STRING, .optional = true, .def_s = "opt"}};
static const sdf_output_def td_cctl_out[] = {{"STRING", SDF_VT_STRING}};
TD_DEF(td_cctl, "TestComboControl", "Test Combo Control", 0);

static const sdf_node_def *const td_all[] = {
    &td_ckpt,  &td_vael,  &td_lora,  &td_upl,   &td_upw,   &td_cte,    &td_csl,  &td_ccomb,
    &td_carea, &td_czero, &td_empty, &td_lup,   &td_lupby, &td_rep,    &td_lcomp, &td_ks,
    &td_ksa,   &td_vdec,  &td_venc,  &td_vinp,  &td_save,  &td_ckps,   &td_load, &td_loadm,
    &td_iscale, &td_pad,  &td_mms,   &td_mmsub, &td_mmadd, &td_forced, &td_cctl};

typedef struct test_registry {
    sdf_builtin_storage builtin;
    const sdf_node_def *defs[SDF_MAX_BUILTIN_NODES + SDF_COUNTOF(td_all)];
    sdf_registry        reg;
    int                 n_local; /* classes taken from the transcribed table */
} test_registry;

/* Built-in registry plus the transcribed definitions of the classes it lacks (listed on stderr
 * once when verbose, so the missing classes are visible in the test log). */
static inline void test_registry_init(test_registry *t, int verbose) {
    sdf_registry b;
    sdf_builtin_registry(&t->builtin, &b);
    size_t n = 0;
    for (size_t i = 0; i < b.n_defs; i++) t->defs[n++] = b.defs[i];
    t->n_local = 0;
    for (size_t i = 0; i < SDF_COUNTOF(td_all); i++) {
        if (sdf_registry_find(&b, td_all[i]->class_type)) continue;
        t->defs[n++] = td_all[i];
        t->n_local++;
        if (verbose && strncmp(td_all[i]->class_type, "Test", 4) != 0)
            fprintf(stderr, "  (built-in registry lacks %s: using the spec transcription)\n",
                    td_all[i]->class_type);
    }
    t->reg.defs = t->defs;
    t->reg.n_defs = n;
    t->reg.aliases = b.aliases;
    t->reg.n_aliases = b.n_aliases;
}

#endif
