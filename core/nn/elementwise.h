/* core/nn/elementwise.h - vectorised element-wise loops (elementwise.c). */
#ifndef LPZ_CORE_NN_ELEMENTWISE_H
#define LPZ_CORE_NN_ELEMENTWISE_H

#include <stdint.h>

enum { NN_ACT_RELU, NN_ACT_LEAKY_RELU, NN_ACT_TANH, NN_ACT_SIGMOID, NN_ACT_IDENTITY };

/* y = f(x) over n values; slope is LeakyReLU's negative slope. */
void nn_act_forward(int kind, float slope, const float *x, float *y, int64_t n);
/* y = f(y) for ReLU and LeakyReLU; other kinds: nothing. */
void nn_act_inplace(int kind, float slope, float *y, int64_t n);
/* dx = dy f'(x) (ReLU, LeakyReLU: from x; tanh, sigmoid: from y = f(x)). */
void nn_act_backward(int kind, float slope, const float *x, const float *y, const float *dy, float *dx, int64_t n);
/* out = a * b element-wise (dropout masks). */
void nn_mul(const float *a, const float *b, float *out, int64_t n);
/* Adam's element update (see adam.h); step = lr / (1 - b1^t),
 * sqrt_bc2 = sqrt(1 - b2^t). */
void nn_adam_update(float *p, const float *g, float *m, float *v, int64_t n, float b1, float b2, float step,
                    float sqrt_bc2, float eps);

/* Batch norm over x (n, C, S) (layers.c holds the layer around these).
 * Per channel c: mean and sum of squared deviations, in one pass. */
void nn_bn_stats(const float *x, int64_t n, int64_t C, int64_t S, double *mean, double *m2);
/* y = f((x - mean[c]) k[c] + b[c]); f: NN_ACT_IDENTITY, _RELU or
 * _LEAKY_RELU (slope), the activation that follows the batch norm. */
void nn_bn_apply(int act, float slope, const float *x, float *y, int64_t n, int64_t C, int64_t S, const float *mean,
                 const float *k, const float *b);
/* With g = dy f'(the batch norm's output, recomputed from x) and x_hat =
 * (x - mean) istd: sg[c] = sum g, sgh[c] = sum g x_hat. */
void nn_bn_grad_sums(int act, float slope, const float *x, const float *dy, int64_t n, int64_t C, int64_t S,
                     const float *mean, const float *istd, const float *k, const float *b, double *sg, double *sgh);
/* dx = k[c] (g - mg[c] - x_hat mgh[c]). */
void nn_bn_grad_input(int act, float slope, const float *x, const float *dy, float *dx, int64_t n, int64_t C,
                      int64_t S, const float *mean, const float *istd, const float *k, const float *b,
                      const float *mg, const float *mgh);

#endif
