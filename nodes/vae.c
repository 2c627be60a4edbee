/* vae.c: the "vae" node family: VAEDecode, VAEEncode, VAEDecodeTiled, VAEEncodeTiled.
 * Definitions only call into core/models/vae.h (ComfyUI nodes.py semantics, spec §2.2). */
#include "../core/models/model.h"
#include "../core/models/vae.h"
#include "nodes.h"

/* ---- VAEDecode ---------------------------------------------------------------------------- */

enum { DEC_SAMPLES, DEC_VAE };
static const sdf_input_def dec_in[] = {
    [DEC_SAMPLES] = {.name = "samples", .type = SDF_VT_LATENT, .tooltip = "The latent to be decoded."},
    [DEC_VAE] = {.name = "vae", .type = SDF_VT_VAE,
                 .tooltip = "The VAE model used for decoding the latent."},
};
static const sdf_output_def image_out[] = {{"IMAGE", SDF_VT_IMAGE}};
static const sdf_output_def latent_out[] = {{"LATENT", SDF_VT_LATENT}};

static sdf_status set_image(sdf_node_call *c, sdf_tensor *img, sdf_error *err) {
    sdf_value *v = sdf_value_tensor(SDF_VT_IMAGE, img);
    sdf_tensor_release(img);
    if (!v) return sdf_fail(err, SDF_ERR_NOMEM, "out of memory");
    return sdf_out_set(c, 0, v, err);
}

static sdf_status set_latent(sdf_node_call *c, sdf_tensor *lat, sdf_error *err) {
    sdf_value *v = sdf_value_latent(lat, NULL, NULL, 0);
    sdf_tensor_release(lat);
    if (!v) return sdf_fail(err, SDF_ERR_NOMEM, "out of memory");
    return sdf_out_set(c, 0, v, err);
}

static sdf_status run_decode(sdf_node_call *c, sdf_error *err) {
    const sdf_latent *lat = sdf_arg_latent(c, DEC_SAMPLES);
    sdf_vae *vae = sdf_arg_handle(c, DEC_VAE);
    sdf_tensor *img = NULL;
    sdf_status st = sdf_vae_decode(vae, lat->samples, sdf_call_pool(c), &img, err);
    if (st != SDF_OK) return st;
    return set_image(c, img, err);
}

static const sdf_node_def vae_decode = {
    .class_type = "VAEDecode",
    .display_name = "VAE Decode",
    .category = "latent",
    .description = "Decodes latent images back into pixel space images.",
    .inputs = dec_in, .n_inputs = SDF_COUNTOF(dec_in),
    .outputs = image_out, .n_outputs = 1,
    .run = run_decode,
};

/* ---- VAEEncode ---------------------------------------------------------------------------- */

enum { ENC_PIXELS, ENC_VAE };
static const sdf_input_def enc_in[] = {
    [ENC_PIXELS] = SDF_IN_LINK("pixels", SDF_VT_IMAGE),
    [ENC_VAE] = SDF_IN_LINK("vae", SDF_VT_VAE),
};

static sdf_status run_encode(sdf_node_call *c, sdf_error *err) {
    sdf_tensor *pixels = sdf_arg_tensor(c, ENC_PIXELS);
    sdf_vae *vae = sdf_arg_handle(c, ENC_VAE);
    sdf_tensor *lat = NULL;
    sdf_status st = sdf_vae_encode(vae, pixels, sdf_call_pool(c), &lat, err);
    if (st != SDF_OK) return st;
    return set_latent(c, lat, err);
}

static const sdf_node_def vae_encode = {
    .class_type = "VAEEncode",
    .display_name = "VAE Encode",
    .category = "latent",
    .inputs = enc_in, .n_inputs = SDF_COUNTOF(enc_in),
    .outputs = latent_out, .n_outputs = 1,
    .run = run_encode,
};

/* ---- VAEDecodeTiled ----------------------------------------------------------------------- */

enum { DT_SAMPLES, DT_VAE, DT_TILE, DT_OVERLAP, DT_TSIZE, DT_TOVERLAP };
static const sdf_input_def dect_in[] = {
    [DT_SAMPLES] = SDF_IN_LINK("samples", SDF_VT_LATENT),
    [DT_VAE] = SDF_IN_LINK("vae", SDF_VT_VAE),
    [DT_TILE] = SDF_IN_INT("tile_size", 512, 64, 4096, 32),
    [DT_OVERLAP] = SDF_IN_INT("overlap", 64, 0, 4096, 32),
    [DT_TSIZE] = {.name = "temporal_size", .type = SDF_VT_INT, .def_i = 64, .min_i = 8,
                  .max_i = 4096, .step_f = 4,
                  .tooltip = "Only used for video VAEs: Amount of frames to decode at a time."},
    [DT_TOVERLAP] = {.name = "temporal_overlap", .type = SDF_VT_INT, .def_i = 8, .min_i = 4,
                     .max_i = 4096, .step_f = 4,
                     .tooltip = "Only used for video VAEs: Amount of frames to overlap."},
};

static sdf_status run_decode_tiled(sdf_node_call *c, sdf_error *err) {
    const sdf_latent *lat = sdf_arg_latent(c, DT_SAMPLES);
    sdf_vae *vae = sdf_arg_handle(c, DT_VAE);
    int tile = (int)sdf_arg_int(c, DT_TILE);
    int overlap = (int)sdf_arg_int(c, DT_OVERLAP);
    if (tile < overlap * 4) overlap = tile / 4; /* as ComfyUI's node */
    /* temporal_size / temporal_overlap only apply to video VAEs */
    sdf_tensor *img = NULL;
    sdf_status st = sdf_vae_decode_tiled(vae, lat->samples, tile, overlap, sdf_call_pool(c), &img, err);
    if (st != SDF_OK) return st;
    return set_image(c, img, err);
}

static const sdf_node_def vae_decode_tiled = {
    .class_type = "VAEDecodeTiled",
    .display_name = "VAE Decode (Tiled)",
    .category = "_for_testing",
    .inputs = dect_in, .n_inputs = SDF_COUNTOF(dect_in),
    .outputs = image_out, .n_outputs = 1,
    .run = run_decode_tiled,
};

/* ---- VAEEncodeTiled ----------------------------------------------------------------------- */

enum { ET_PIXELS, ET_VAE, ET_TILE, ET_OVERLAP, ET_TSIZE, ET_TOVERLAP };
static const sdf_input_def enct_in[] = {
    [ET_PIXELS] = SDF_IN_LINK("pixels", SDF_VT_IMAGE),
    [ET_VAE] = SDF_IN_LINK("vae", SDF_VT_VAE),
    [ET_TILE] = SDF_IN_INT("tile_size", 512, 64, 4096, 64),
    [ET_OVERLAP] = SDF_IN_INT("overlap", 64, 0, 4096, 32),
    [ET_TSIZE] = {.name = "temporal_size", .type = SDF_VT_INT, .def_i = 64, .min_i = 8,
                  .max_i = 4096, .step_f = 4,
                  .tooltip = "Only used for video VAEs: Amount of frames to encode at a time."},
    [ET_TOVERLAP] = {.name = "temporal_overlap", .type = SDF_VT_INT, .def_i = 8, .min_i = 4,
                     .max_i = 4096, .step_f = 4,
                     .tooltip = "Only used for video VAEs: Amount of frames to overlap."},
};

static sdf_status run_encode_tiled(sdf_node_call *c, sdf_error *err) {
    sdf_tensor *pixels = sdf_arg_tensor(c, ET_PIXELS);
    sdf_vae *vae = sdf_arg_handle(c, ET_VAE);
    int tile = (int)sdf_arg_int(c, ET_TILE);
    int overlap = (int)sdf_arg_int(c, ET_OVERLAP);
    sdf_tensor *lat = NULL;
    sdf_status st = sdf_vae_encode_tiled(vae, pixels, tile, overlap, sdf_call_pool(c), &lat, err);
    if (st != SDF_OK) return st;
    return set_latent(c, lat, err);
}

static const sdf_node_def vae_encode_tiled = {
    .class_type = "VAEEncodeTiled",
    .display_name = "VAE Encode (Tiled)",
    .category = "_for_testing",
    .inputs = enct_in, .n_inputs = SDF_COUNTOF(enct_in),
    .outputs = latent_out, .n_outputs = 1,
    .run = run_encode_tiled,
};

static const sdf_node_def *const defs[] = {&vae_decode, &vae_encode, &vae_decode_tiled,
                                           &vae_encode_tiled};

const sdf_node_family sdf_family_vae = {"vae", defs, SDF_COUNTOF(defs)};
