/* core/nn/elementwise.c - the element-wise loops of the engine:
 * activations forward/backward, dropout, the Adam update and batch norm's
 * passes (with the activation that follows it).
 *
 * These are memory-bound loops over whole batches. The bodies
 * (elementwise_body.h) are compiled three times: baseline x86-64, AVX2+FMA
 * and AVX-512; a constructor picks the widest the CPU supports, so a
 * generic build still runs wide vectors. (GCC's target_clones would do the
 * same but exports its ifunc symbols from liblpz.so, which must export
 * only the SDK.)
 */
#include "nn/elementwise.h"
#include "nn/fastmath.h"

/* ReLU (act NN_ACT_RELU) or LeakyReLU of v, and the gradient d through it
 * (from its input v); act is a constant wherever they are inlined. */
static inline __attribute__((always_inline)) float nn_rect(const int act, float v, float slope)
{
    return v > 0.0f ? v : act == NN_ACT_RELU ? 0.0f : v * slope;
}

static inline __attribute__((always_inline)) float nn_drect(const int act, float v, float d, float slope)
{
    return v > 0.0f ? d : act == NN_ACT_RELU ? 0.0f : d * slope;
}

#define NN_SFX(name) name##_base
#include "nn/elementwise_body.h"
#undef NN_SFX

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define NN_MULTI_ISA 1
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define NN_SFX(name) name##_avx2
#include "nn/elementwise_body.h"
#undef NN_SFX
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma")
#define NN_SFX(name) name##_avx512
#include "nn/elementwise_body.h"
#undef NN_SFX
#pragma GCC pop_options
#endif

static struct {
    void (*act_forward)(int, float, const float *, float *, int64_t);
    void (*act_inplace)(int, float, float *, int64_t);
    void (*act_backward)(int, float, const float *, const float *, const float *, float *, int64_t);
    void (*mul)(const float *, const float *, float *, int64_t);
    void (*adam_update)(float *, const float *, float *, float *, int64_t, float, float, float, float, float);
    void (*bn_stats)(const float *, int64_t, int64_t, int64_t, double *, double *);
    void (*bn_apply)(int, float, const float *, float *, int64_t, int64_t, int64_t, const float *, const float *,
                     const float *);
    void (*bn_grad_sums)(int, float, const float *, const float *, int64_t, int64_t, int64_t, const float *,
                         const float *, const float *, const float *, double *, double *);
    void (*bn_grad_input)(int, float, const float *, const float *, float *, int64_t, int64_t, int64_t,
                          const float *, const float *, const float *, const float *, const float *, const float *);
} kern = {act_forward_base, act_inplace_base, act_backward_base, mul_base,
          adam_update_base, bn_stats_base,    bn_apply_base,     bn_grad_sums_base, bn_grad_input_base};

#define NN_PICK(isa)                                                                                               \
    do {                                                                                                           \
        kern.act_forward = act_forward_##isa;                                                                      \
        kern.act_inplace = act_inplace_##isa;                                                                      \
        kern.act_backward = act_backward_##isa;                                                                    \
        kern.mul = mul_##isa;                                                                                      \
        kern.adam_update = adam_update_##isa;                                                                      \
        kern.bn_stats = bn_stats_##isa;                                                                            \
        kern.bn_apply = bn_apply_##isa;                                                                            \
        kern.bn_grad_sums = bn_grad_sums_##isa;                                                                    \
        kern.bn_grad_input = bn_grad_input_##isa;                                                                  \
    } while (0)

/* Runs at load time, before any thread can call the kernels. */
__attribute__((constructor)) static void pick_kernels(void)
{
#ifdef NN_MULTI_ISA
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        NN_PICK(avx512);
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        NN_PICK(avx2);
#endif
}

void nn_act_forward(int kind, float slope, const float *x, float *y, int64_t n)
{
    kern.act_forward(kind, slope, x, y, n);
}

void nn_act_inplace(int kind, float slope, float *y, int64_t n)
{
    kern.act_inplace(kind, slope, y, n);
}

void nn_act_backward(int kind, float slope, const float *x, const float *y, const float *dy, float *dx, int64_t n)
{
    kern.act_backward(kind, slope, x, y, dy, dx, n);
}

void nn_mul(const float *a, const float *b, float *out, int64_t n)
{
    kern.mul(a, b, out, n);
}

void nn_adam_update(float *p, const float *g, float *m, float *v, int64_t n, float b1, float b2, float step,
                    float sqrt_bc2, float eps)
{
    kern.adam_update(p, g, m, v, n, b1, b2, step, sqrt_bc2, eps);
}

void nn_bn_stats(const float *x, int64_t n, int64_t C, int64_t S, double *mean, double *m2)
{
    kern.bn_stats(x, n, C, S, mean, m2);
}

void nn_bn_apply(int act, float slope, const float *x, float *y, int64_t n, int64_t C, int64_t S, const float *mean,
                 const float *k, const float *b)
{
    kern.bn_apply(act, slope, x, y, n, C, S, mean, k, b);
}

void nn_bn_grad_sums(int act, float slope, const float *x, const float *dy, int64_t n, int64_t C, int64_t S,
                     const float *mean, const float *istd, const float *k, const float *b, double *sg, double *sgh)
{
    kern.bn_grad_sums(act, slope, x, dy, n, C, S, mean, istd, k, b, sg, sgh);
}

void nn_bn_grad_input(int act, float slope, const float *x, const float *dy, float *dx, int64_t n, int64_t C,
                      int64_t S, const float *mean, const float *istd, const float *k, const float *b,
                      const float *mg, const float *mgh)
{
    kern.bn_grad_input(act, slope, x, dy, dx, n, C, S, mean, istd, k, b, mg, mgh);
}
