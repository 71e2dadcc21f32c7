/* core/nn/elementwise.h - vectorised element-wise loops (elementwise.c). */
#ifndef LPZ_CORE_NN_ELEMENTWISE_H
#define LPZ_CORE_NN_ELEMENTWISE_H

#include <stdint.h>

enum { NN_ACT_RELU, NN_ACT_LEAKY_RELU, NN_ACT_TANH, NN_ACT_SIGMOID };

/* y = f(x) over n values; slope is LeakyReLU's negative slope. */
void nn_act_forward(int kind, float slope, const float *x, float *y, int64_t n);
/* dx = dy f'(x) (ReLU, LeakyReLU: from x; tanh, sigmoid: from y = f(x)). */
void nn_act_backward(int kind, float slope, const float *x, const float *y, const float *dy, float *dx, int64_t n);
/* out = a * b element-wise (dropout masks). */
void nn_mul(const float *a, const float *b, float *out, int64_t n);
/* Adam's element update (see adam.h); step = lr / (1 - b1^t),
 * sqrt_bc2 = sqrt(1 - b2^t). */
void nn_adam_update(float *p, const float *g, float *m, float *v, int64_t n, float b1, float b2, float step,
                    float sqrt_bc2, float eps);

#endif
