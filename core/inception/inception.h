/* core/inception/inception.h - the InceptionV3 feature network for FID on
 * colour images (inference only).
 *
 * Owns: reading InceptionV3 weights from a safetensors file (tensor names
 * of torchvision's Inception3 state_dict, e.g. "Conv2d_1a_3x3.conv.weight",
 * "Mixed_5b.branch1x1.bn.running_var"), folding every batch norm (eps
 * 0.001, as torchvision's BasicConv2d) into its convolution at load, and
 * the forward pass from images to the 2048-wide average-pooled features
 * after Mixed_7c ("pool3", what FID uses). The FID computation itself
 * (means, covariances, the distance) belongs to core/score.
 * May call: core/io (safetensors, fsutil), base (errors, log), OpenBLAS.
 *
 * Two variants of the block structure exist; the weights decide which one
 * is right:
 *   LPZ_INCEPTION_FID          pytorch-fid's FIDInceptionA/C/E_1/E_2 (the
 *                              TensorFlow FID network that everyone's FID
 *                              numbers come from): the 3x3 average pools of
 *                              the branch_pool paths do not count padding
 *                              (count_include_pad=False) and Mixed_7c's
 *                              branch_pool is a 3x3 max pool (stride 1,
 *                              padding 1). The default.
 *   LPZ_INCEPTION_TORCHVISION  torchvision's Inception3 blocks unchanged
 *                              (average pools count the zero padding).
 * The file's metadata key "inception_variant" ("fid" or "torchvision")
 * selects one; without it the file is taken as the FID weights. Both
 * variants feed the network the image in [-1, 1] as it is (pytorch-fid
 * maps its [0, 1] input to [-1, 1]; torchvision's transform_input is not
 * applied). docs/inception.md says how to make the file.
 */
#ifndef LPZ_INCEPTION_INCEPTION_H
#define LPZ_INCEPTION_INCEPTION_H

#include <lpz/common.h>
#include <lpz/error.h>

#define LPZ_INCEPTION_FEATURES 2048  /* width of the pool features */
#define LPZ_INCEPTION_SIZE 299       /* the network's input height and width */
#define LPZ_INCEPTION_MAX_SIDE 65536 /* largest accepted input height/width */

typedef enum lpz_inception_variant {
    LPZ_INCEPTION_AUTO = 0, /* from the file's metadata; FID when absent */
    LPZ_INCEPTION_FID = 1,
    LPZ_INCEPTION_TORCHVISION = 2
} lpz_inception_variant;

typedef struct lpz_inception lpz_inception;

/* Reads and checks the weights (every needed tensor's name, dtype - F32,
 * F64, F16 or BF16 -, exact shape, finite values, non-negative running
 * variances) and sizes all scratch memory once. A missing file is
 * LPZ_ENOTFOUND with a hint saying how to make one (docs/inception.md);
 * a damaged, truncated or foreign file is LPZ_EFORMAT naming the tensor.
 * Tensors the features do not use (fc.*, AuxLogits.*,
 * *.num_batches_tracked) are ignored. */
int lpz_inception_open(const char *weights_path, lpz_inception **out, lpz_error *err);

/* The same with the variant forced (LPZ_INCEPTION_AUTO = from the file). */
int lpz_inception_open_variant(const char *weights_path, lpz_inception_variant variant, lpz_inception **out,
                               lpz_error *err);

/* The variant in use (never AUTO). */
lpz_inception_variant lpz_inception_get_variant(const lpz_inception *net);

/* Pool features of n images.
 *   images  n x channels x height x width floats in [-1, 1] (C order);
 *           channels 1 (grey, repeated to RGB) or 3 (RGB)
 *   out     n x 2048 floats
 * Each image is resized to 299x299 bilinearly exactly as pytorch-fid does
 * (F.interpolate(mode='bilinear', align_corners=False), no antialiasing)
 * and run through the network alone, so memory does not grow with n and
 * there is no allocation here. A non-finite pixel is LPZ_EINVAL naming the
 * image. Not thread-safe on one object: use one object per thread. */
int lpz_inception_features(lpz_inception *net, const float *images, int64_t n, int channels, int height,
                           int width, float *out, lpz_error *err);

void lpz_inception_close(lpz_inception *net);

/* The convolutions the weights file must hold, in state_dict order (94 of
 * them; each "<name>.conv.weight" of shape [cout, cin, kh, kw] plus
 * "<name>.bn.weight", ".bn.bias", ".bn.running_mean", ".bn.running_var" of
 * shape [cout]). For tests and tools that write such files. */
typedef struct lpz_inception_conv_spec {
    const char *name; /* "Mixed_6b.branch7x7_2" (static storage) */
    int cin, cout, kh, kw;
} lpz_inception_conv_spec;
int lpz_inception_conv_count(void);
int lpz_inception_conv_info(int i, lpz_inception_conv_spec *out);

#endif
