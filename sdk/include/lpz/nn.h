/* lpz/nn.h - the neural-network engine: models built from layers.
 *
 * A model is a sequence of layers applied to a batch. Tensors are float32,
 * batch-first and contiguous: images (N, C, H, W), sequences (N, T, F),
 * vectors (N, F). A model is created for an input shape (without N); each
 * layer added computes its output shape from the previous one, so shape
 * mistakes are refused when the model is built, not when it runs.
 *
 * Every parameter of a model lives in one contiguous float buffer, the
 * gradients in a second one of the same length; Adam's moments (core) are
 * two more. Parameter names and layouts are those of the equivalent
 * PyTorch module's state_dict: a layer added with name "0" owns "0.weight"
 * and "0.bias"; an LSTM named "rnn" owns "rnn.weight_ih_l0", ... Batch norm
 * running statistics are buffers ("3.running_mean", "3.running_var",
 * "3.num_batches_tracked"): saved with the model but not trained.
 *
 * New layers are initialised as PyTorch initialises that layer by default;
 * a network plugin may overwrite any parameter afterwards (lpz_model_param).
 *
 * Matrix work goes through OpenBLAS. Scratch memory is sized when the
 * batch size changes (lpz_model_reserve) and nothing is allocated while a
 * batch runs.
 */
#ifndef LPZ_NN_H
#define LPZ_NN_H

#include "common.h"
#include "error.h"
#include "rng.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lpz_model lpz_model;

/* ---- building ---------------------------------------------------------- */

/* Creates an empty model for inputs of `input_shape` (without the batch).
 * `seed` seeds parameter initialisation (and dropout masks later). */
LPZ_API int lpz_model_create(const lpz_shape *input_shape, uint64_t seed, lpz_model **out, lpz_error *err);
LPZ_API void lpz_model_destroy(lpz_model *m);

/* Linear over the last dimension: (..., in) -> (..., out). On a sequence
 * (N, T, F) it is the time-distributed linear. PyTorch init:
 * weight, bias ~ U(-1/sqrt(in), 1/sqrt(in)). Params: name.weight [out, in],
 * name.bias [out] (when bias != 0). */
LPZ_API int lpz_model_add_linear(lpz_model *m, const char *name, int64_t out_features, int bias, lpz_error *err);

/* Conv2d over (C, H, W) with square kernel, stride and zero padding.
 * name.weight [out, in, k, k], name.bias [out]. */
LPZ_API int lpz_model_add_conv2d(lpz_model *m, const char *name, int64_t out_channels, int kernel, int stride,
                                 int padding, int bias, lpz_error *err);

/* ConvTranspose2d, as PyTorch's (output_padding 0):
 * H_out = (H - 1) * stride - 2 * padding + kernel.
 * name.weight [in, out, k, k], name.bias [out]. */
LPZ_API int lpz_model_add_conv_transpose2d(lpz_model *m, const char *name, int64_t out_channels, int kernel,
                                           int stride, int padding, int bias, lpz_error *err);

/* BatchNorm2d over (C, H, W): eps 1e-5, momentum 0.1, affine; batch
 * statistics in training, running statistics in evaluation. Also accepts a
 * (F) input (BatchNorm1d). name.weight, name.bias [C]; buffers
 * name.running_mean, name.running_var [C], name.num_batches_tracked []. */
LPZ_API int lpz_model_add_batchnorm(lpz_model *m, const char *name, lpz_error *err);

/* Element-wise activations; shapes unchanged. No parameters. */
LPZ_API int lpz_model_add_relu(lpz_model *m, lpz_error *err);
LPZ_API int lpz_model_add_leaky_relu(lpz_model *m, float negative_slope, lpz_error *err);
LPZ_API int lpz_model_add_tanh(lpz_model *m, lpz_error *err);
LPZ_API int lpz_model_add_sigmoid(lpz_model *m, lpz_error *err);

/* Dropout with probability p in training; identity in evaluation. */
LPZ_API int lpz_model_add_dropout(lpz_model *m, float p, lpz_error *err);

/* Reinterprets the per-sample data as `shape` (same number of elements);
 * flatten is reshape to (numel). */
LPZ_API int lpz_model_add_reshape(lpz_model *m, const lpz_shape *shape, lpz_error *err);
LPZ_API int lpz_model_add_flatten(lpz_model *m, lpz_error *err);

/* LSTM over (T, F) -> (T, hidden), batch-first, as torch.nn.LSTM with
 * num_layers layers, dropout between layers (not after the last), gate
 * order i, f, g, o. Zero initial state. Params per layer k:
 * name.weight_ih_lk [4h, in], name.weight_hh_lk [4h, h],
 * name.bias_ih_lk [4h], name.bias_hh_lk [4h]; init U(-1/sqrt(h), 1/sqrt(h)). */
LPZ_API int lpz_model_add_lstm(lpz_model *m, const char *name, int64_t hidden, int num_layers, float dropout,
                               lpz_error *err);

/* (F) -> (steps, F): the same vector at every time step. */
LPZ_API int lpz_model_add_repeat_steps(lpz_model *m, int64_t steps, lpz_error *err);

/* (T, F) -> (F): keeps the last time step. */
LPZ_API int lpz_model_add_last_step(lpz_model *m, lpz_error *err);

/* ---- custom layers ----------------------------------------------------- */

/* A layer type defined by a plugin: the way to anything the layers above
 * cannot express, e.g. a residual block x + f(x) (there is no built-in
 * add or skip connection). Shapes exclude the batch dimension.
 * Parameters are slices of the model's flat buffer handed to forward and
 * backward; their names are "<layer name>.<param name>" and must be
 * non-empty, unique in the model and shorter than 96 characters in all.
 *
 * output_shape, params and init are called once, by lpz_model_add_custom;
 * forward and backward for every batch. They cannot fail, so allocate what
 * they need beforehand (in self). backward sees only x, y and dy of the
 * last forward: recompute the intermediates it needs. A model
 * calls its layers from one thread at a time, but different models run on
 * different threads at once: give every layer its own self (a network
 * plugin's build makes a new one each call) and share only read-only data.
 * Models with custom layers are not split over two threads per step. */
typedef struct lpz_layer_param_spec {
    const char *name; /* e.g. "weight" or "fc1.weight"; NULL ends the array */
    lpz_shape shape;
} lpz_layer_param_spec;

typedef struct lpz_layer_ops {
    size_t size; /* sizeof(lpz_layer_ops) of the plugin */
    const char *type_name; /* for messages; may be NULL */
    /* Output shape for an input shape, or an error for an unsupported one. */
    int (*output_shape)(void *self, const lpz_shape *in, lpz_shape *out, lpz_error *err);
    /* Parameter specs for an input shape (array valid while self lives);
     * may be NULL: no parameters. */
    const lpz_layer_param_spec *(*params)(void *self, const lpz_shape *in);
    /* Initialises params (concatenated in spec order) from the model's rng;
     * may be NULL: parameters start at 0. */
    void (*init)(void *self, const lpz_shape *in, float *params, lpz_rng *rng);
    /* y = f(x) for a batch of n; `train` is 1 in training mode. y does not
     * overlap x; write all of it. */
    void (*forward)(void *self, const lpz_shape *in, int64_t n, const float *params, const float *x, float *y,
                    int train);
    /* Given x, y and dy of the last forward, writes all of dx and ADDS
     * parameter gradients to dparams. dx and dparams are never NULL (when
     * the core wants only the input gradient, dparams is scratch). */
    void (*backward)(void *self, const lpz_shape *in, int64_t n, const float *params, const float *x,
                     const float *y, const float *dy, float *dx, float *dparams);
    /* Releases self when the model is destroyed; may be NULL (then a clone
     * of the model shares self; with destroy set, lpz_model_clone refuses). */
    void (*destroy)(void *self);
} lpz_layer_ops;

/* Appends a custom layer. Once it returns LPZ_OK the model owns self;
 * on an error self is still the caller's to free. */
LPZ_API int lpz_model_add_custom(lpz_model *m, const char *name, const lpz_layer_ops *ops, void *self,
                                 lpz_error *err);

/* ---- inspecting -------------------------------------------------------- */

LPZ_API lpz_shape lpz_model_input_shape(const lpz_model *m);
LPZ_API lpz_shape lpz_model_output_shape(const lpz_model *m);

/* Number of trainable floats (the length of the flat parameter buffer). */
LPZ_API int64_t lpz_model_param_count(const lpz_model *m);

/* Named tensors (parameters and buffers) in state_dict order. */
LPZ_API int lpz_model_tensor_count(const lpz_model *m);
/* The i-th tensor: its name, shape and data; `trainable` is 0 for buffers
 * (running statistics). num_batches_tracked is kept as a float holding an
 * integer and saved as int64. */
LPZ_API int lpz_model_tensor_info(const lpz_model *m, int i, const char **name, lpz_shape *shape, float **data,
                                  int *trainable);
/* The tensor called `name` ("0.weight"), or LPZ_ENOTFOUND. */
LPZ_API int lpz_model_param(lpz_model *m, const char *name, float **data, lpz_shape *shape, lpz_error *err);

/* ---- running ----------------------------------------------------------- */

/* Flat buffers, length lpz_model_param_count. */
LPZ_API float *lpz_model_params(lpz_model *m);
LPZ_API float *lpz_model_grads(lpz_model *m);

/* Sizes scratch memory for batches of up to max_batch. Forward calls with a
 * larger batch reserve again (an allocation outside the steady state). */
LPZ_API int lpz_model_reserve(lpz_model *m, int64_t max_batch, lpz_error *err);

/* Training (dropout on, batch statistics) or evaluation mode. */
LPZ_API void lpz_model_set_training(lpz_model *m, int training);

/* Runs the model on n inputs x (n * numel(input)). Returns a pointer to the
 * output (n * numel(output)) owned by the model, valid until the next
 * forward. Keeps what backward needs. */
LPZ_API const float *lpz_model_forward(lpz_model *m, const float *x, int64_t n, lpz_error *err);

/* Back-propagates dy (gradient of the loss w.r.t. the last forward's
 * output) and ADDS parameter gradients to the gradient buffer. When dx is
 * not NULL the input gradient is written there (n * numel(input)). */
LPZ_API int lpz_model_backward(lpz_model *m, const float *dy, float *dx, lpz_error *err);

/* Like lpz_model_backward, but only the input gradient: parameter
 * gradients are neither computed nor changed. For a generator step through
 * a discriminator whose own gradients are not used (saves the weight-
 * gradient GEMMs). dx must not be NULL. */
LPZ_API int lpz_model_backward_input(lpz_model *m, const float *dy, float *dx, lpz_error *err);

LPZ_API void lpz_model_zero_grad(lpz_model *m);

/* A deep copy (parameters, buffers, mode; fresh scratch). A custom layer's
 * self is shared with the copy; LPZ_EUNSUPPORTED when a custom layer has a
 * destroy function (the copy would free self twice). */
LPZ_API int lpz_model_clone(const lpz_model *m, lpz_model **out, lpz_error *err);

/* Copies all parameters (not buffers) to or from a flat vector of
 * lpz_model_param_count floats. */
LPZ_API void lpz_model_get_vector(const lpz_model *m, float *out);
LPZ_API void lpz_model_set_vector(lpz_model *m, const float *in);

/* Copies parameters and buffers from a model of identical structure. */
LPZ_API int lpz_model_copy_from(lpz_model *dst, const lpz_model *src, lpz_error *err);

/* Sets the number of OpenBLAS threads for the whole process. */
LPZ_API void lpz_nn_set_threads(int threads);

#ifdef __cplusplus
}
#endif
#endif
