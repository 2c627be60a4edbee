/* vae.c: AutoencoderKL decode/encode (implementation in progress). */
#include "vae.h"

sdf_status sdf_vae_decode(sdf_vae *v, const sdf_tensor *z, sdf_pool *pool, sdf_tensor **image,
                          sdf_error *err) {
    (void)v; (void)z; (void)pool; (void)image;
    return sdf_fail(err, SDF_ERR_NOT_IMPLEMENTED, "VAE decode not implemented yet");
}
sdf_status sdf_vae_encode(sdf_vae *v, const sdf_tensor *image, sdf_pool *pool, sdf_tensor **latent,
                          sdf_error *err) {
    (void)v; (void)image; (void)pool; (void)latent;
    return sdf_fail(err, SDF_ERR_NOT_IMPLEMENTED, "VAE encode not implemented yet");
}
sdf_status sdf_vae_decode_tiled(sdf_vae *v, const sdf_tensor *z, int tile, int overlap,
                                sdf_pool *pool, sdf_tensor **image, sdf_error *err) {
    (void)tile; (void)overlap;
    return sdf_vae_decode(v, z, pool, image, err);
}
sdf_status sdf_vae_encode_tiled(sdf_vae *v, const sdf_tensor *image, int tile, int overlap,
                                sdf_pool *pool, sdf_tensor **latent, sdf_error *err) {
    (void)tile; (void)overlap;
    return sdf_vae_encode(v, image, pool, latent, err);
}
