/* core/nn/internal.h - the model structure shared by the files of core/nn.
 *
 * core/nn owns: models (lpz/nn.h), their layers' forward and backward
 * kernels, losses (loss.h) and Adam (adam.h). It may call: base (errors,
 * log, rng) and OpenBLAS. Nothing outside core/nn includes this header.
 *
 * Memory of a model:
 *   params/grads  one float buffer each, param_count long, in state_dict
 *                 order (a layer owns the slice [poff, poff + pcount));
 *   bufs          batch-norm running statistics (not trained);
 *   arena         per-batch memory sized by lpz_model_reserve for
 *                 `reserved` samples: the input copy, every layer's output
 *                 and saved values (aux), two gradient ping-pong buffers
 *                 and one work area shared by all layers (they run one at
 *                 a time).
 */
#ifndef LPZ_CORE_NN_INTERNAL_H
#define LPZ_CORE_NN_INTERNAL_H

#include <lpz/nn.h>

#define NN_NAME_MAX 64
#define NN_TENSOR_NAME_MAX 96

/* Upper bound on one im2col chunk (floats): the conv kernels process as
 * many samples per GEMM as fit in this, trading memory for GEMM size,
 * but at least NN_COL_MIN_N GEMM columns (nn_conv_chunk; a layer with
 * NN_COL_MIN_N or more positions per sample runs one sample at a time). 1 MB, half the
 * L2 of one core here: im2col's output is still cached when the products
 * read it, and the dx product's output when col2im reads it. The DCGAN's conv
 * layers (forward + backward) took about 6% less CPU time with 1-2 MB
 * chunks than with 8 MB ones, and 2% less again with the column floor. */
#define NN_COL_CAP ((int64_t)1 << 18)
#define NN_COL_MIN_N 256

typedef enum nn_kind {
    NN_LINEAR,
    NN_CONV,
    NN_CONVT,
    NN_BATCHNORM,
    NN_RELU,
    NN_LEAKY_RELU,
    NN_TANH,
    NN_SIGMOID,
    NN_DROPOUT,
    NN_RESHAPE,
    NN_LSTM,
    NN_REPEAT,
    NN_LAST_STEP,
    NN_CUSTOM
} nn_kind;

typedef struct nn_layer {
    nn_kind kind;
    char name[NN_NAME_MAX];
    lpz_shape in, out;
    int64_t in_numel, out_numel;
    int64_t poff, pcount; /* slice of params/grads */
    int64_t boff, bcount; /* slice of bufs */

    /* hyper-parameters (meaning per kind) */
    int64_t features;  /* linear: out; conv/convt: out channels; lstm: hidden; repeat: steps */
    int k, stride, pad, bias;
    int num_layers; /* lstm */
    float slope;    /* leaky relu */
    float p;        /* dropout probability (dropout, lstm between layers) */

    /* geometry of conv/convt: input (cin, hin, win), output (cout, hout, wout) */
    int64_t cin, hin, win, cout, hout, wout;
    int64_t chunk; /* samples per GEMM chunk (conv/convt), set with the batch arena's layout */

    /* custom layers */
    const lpz_layer_ops *ops;
    void *self;

    /* batch memory, set by reserve */
    float *y;   /* output (n * out_numel); a reshape, and an activation computed by the batch norm before it
                 * (model.c: bn_act), alias their input */
    float *aux; /* values saved for backward */
} nn_layer;

typedef struct nn_tensor {
    char name[NN_TENSOR_NAME_MAX];
    lpz_shape shape;
    int trainable; /* 1: in params, 0: in bufs */
    int64_t off;
} nn_tensor;

struct lpz_model {
    lpz_shape in_shape, cur_shape;
    nn_layer *layers;
    int n_layers, cap_layers;
    nn_tensor *tensors;
    int n_tensors, cap_tensors;
    float *params, *grads;
    int64_t n_params;
    float *bufs;
    int64_t n_bufs;
    int64_t max_values; /* > 0: params + bufs may not exceed it (lpz_model_limit_values) */
    lpz_rng rng;
    int training;
    int fwd_training; /* the mode the last forward ran in (backward follows it) */
    uint64_t seed;

    int64_t reserved; /* batch size the arena holds; 0 = none */
    float *arena;
    float *x_copy;     /* the last forward's input */
    float *g0, *g1;    /* gradient ping-pong, each max activation size */
    float *work;       /* shared scratch */
    int64_t last_n;    /* batch size of the last forward; 0 = none */
    struct nn_scratch *scratch; /* non-NULL: arena shared with other models (lpz_model_share_scratch) */
    int params_borrowed;        /* params point into memory the model does not own (lpz_model_borrow_params) */
    int fp32;                   /* products in fp32 whatever the matmul precision (lpz_model_pin_fp32) */
    struct nn_grads *grads_shared; /* non-NULL: grads shared with other models (lpz_model_share_grads) */
};

/* A 64-byte aligned buffer of at least bytes for this thread and slot
 * (layers.c): grown, never shrunk, freed when the thread ends; valid until
 * the thread's next call for the same slot. NULL when out of memory. */
enum { NN_SCRATCH_XT, NN_SCRATCH_AMX, NN_SCRATCH_AVX512BF16, NN_SCRATCH_SLOTS };
void *nn_thread_scratch(int slot, size_t bytes);

/* bf16 limbs of the matmul precision in effect (precision.h): 0 = fp32
 * products, 2 = high, 1 = medium (then nn_mm_gemm) */
int nn_mm_limbs(void);

/* The product of nn_amx_gemm's contract (amx_kernels.h) in bf16 limbs on
 * the unit the precision in effect runs on (lpz_nn_matmul_unit): the AMX
 * tiles or AVX512-BF16 (avx512bf16_kernels.h). -1 with nothing written
 * when that unit cannot take it (then the caller computes in fp32). */
int nn_mm_gemm(int limbs, int64_t M, int64_t N, int64_t K, const float *a, int64_t a_rs, int64_t a_cs,
               const float *b, int64_t b_rs, int64_t b_cs, const float *bias, float *c, int64_t ldc, int add);

/* While a pinned model (lpz_model_pin_fp32) runs, its thread computes in
 * fp32 (nesting allowed). */
void nn_mm_fp32_push(void);
void nn_mm_fp32_pop(void);

/* Products worth the bf16 units: at least one 16 x 16 tile of C and one
 * 32-step of the reduction. Smaller ones (the LSTM GAN's: hidden 10) spend
 * more on packing than they save: its step took 9% longer on the AMX
 * tiles. */
static inline int nn_mm_worth(int64_t m, int64_t n, int64_t k)
{
    return m >= 16 && n >= 16 && k >= 32;
}

/* Kernels (layers.c, conv.c, lstm.c). Shapes come from the layer; n is the
 * batch size; x is the layer input, y its output. Backward writes dx when it
 * is not NULL and ADDS parameter gradients into dp (the layer's slice)
 * when dp is not NULL. */
void nn_gemm(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
             const float *b, int64_t ldb, float beta, float *c, int64_t ldc);

int64_t nn_aux_size(const nn_layer *l, int64_t n);
int64_t nn_work_size(const nn_layer *l, int64_t n);
int64_t nn_conv_chunk(const nn_layer *l, int64_t n); /* samples per im2col chunk (layers.c) */

/* act (elementwise.h): NN_ACT_RELU or NN_ACT_LEAKY_RELU (slope), the
 * activation that follows the layer, applied to y (model.c's fused_act);
 * NN_ACT_IDENTITY: none. */
void nn_linear_forward(const nn_layer *l, int64_t n, const float *p, const float *x, float *y, int act, float slope);
/* fresh: dp receives this pass's gradient (its contents are not read),
 * else the gradient is added to dp */
void nn_linear_backward(const nn_layer *l, int64_t n, const float *p, const float *x, const float *dy, float *dx,
                        float *dp, int fresh);

/* Scratch floats (part of nn_work_size) for the phase planes conv.c's
 * im2col/col2im use on one (H, W) plane under k x k windows. */
int64_t nn_conv_phase_size(int64_t H, int64_t W, int k, int st, int pad, int64_t Ho, int64_t Wo);
void nn_conv_forward(const nn_layer *l, int64_t n, const float *p, const float *x, float *y, float *work);
void nn_conv_backward(const nn_layer *l, int64_t n, const float *p, const float *x, const float *dy, float *dx,
                      float *dp, float *work);
void nn_convt_forward(const nn_layer *l, int64_t n, const float *p, const float *x, float *y, float *work);
void nn_convt_backward(const nn_layer *l, int64_t n, const float *p, const float *x, const float *dy, float *dx,
                       float *dp, float *work);

/* Batch norm over channels, with the activation act (NN_ACT_IDENTITY,
 * _RELU, _LEAKY_RELU with slope) that follows it computed in the same
 * passes: y = act(bn(x)); backward takes the gradient at act's output.
 * backward takes the forward's input x: x_hat and act's input are
 * computed again from it instead of stored (aux keeps per channel the
 * batch mean, 1 / std and gamma / std). work: nn_work_size floats. */
void nn_bn_forward(nn_layer *l, int64_t n, const float *p, float *buf, const float *x, float *y, int train, int act,
                   float slope, float *work);
void nn_bn_backward(const nn_layer *l, int64_t n, const float *p, const float *x, const float *dy, float *dx,
                    float *dp, int train, int act, float slope, float *work);

void nn_lstm_forward(nn_layer *l, int64_t n, const float *p, const float *x, float *y, int train, lpz_rng *rng);
void nn_lstm_backward(const nn_layer *l, int64_t n, const float *p, const float *x, const float *dy, float *dx,
                      float *dp, float *work);

#endif
