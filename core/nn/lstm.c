/* core/nn/lstm.c - multi-layer LSTM over (n, T, F), as torch.nn.LSTM with
 * batch_first=True, zero initial state, gate order i, f, g, o:
 *   gates_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh      (n, 4h)
 *   c_t = sigmoid(f) c_{t-1} + sigmoid(i) tanh(g)
 *   h_t = sigmoid(o) tanh(c_t)
 * Dropout (training only) on the outputs of every layer but the last.
 *
 * The input projections of all time steps are one GEMM (n T x in by in x 4h);
 * only the recurrent part h_{t-1} W_hh^T is done per step.
 *
 * aux, per layer k (NT = n T): A gates after activation (NT x 4h),
 * C cell states (NT x h), H outputs (NT x h; the last layer writes y),
 * D dropout mask factors (NT x h), X dropped-out H = next layer's input.
 */
#include "nn/fastmath.h"
#include "nn/internal.h"

#include <math.h>
#include <string.h>


/* Offsets of layer k's parameters within the LSTM's slice. */
static int64_t param_offset(const nn_layer *l, int k)
{
    int64_t F = l->in.dim[1], h = l->features, off = 0;
    for (int j = 0; j < k; j++)
        off += 4 * h * (j == 0 ? F : h) + 4 * h * h + 8 * h;
    return off;
}

void nn_lstm_forward(nn_layer *l, int64_t n, const float *p, const float *x, float *y, int train, lpz_rng *rng)
{
    int64_t T = l->in.dim[0], F = l->in.dim[1], h = l->features, NT = n * T, G = 4 * h;
    int L = l->num_layers;
    const float *in = x;
    int64_t in_f = F;
    for (int k = 0; k < L; k++) {
        float *A = l->aux + (int64_t)k * NT * 8 * h;
        float *C = A + NT * G, *H = C + NT * h, *D = H + NT * h, *X = D + NT * h;
        if (k == L - 1)
            H = y;
        const float *w = p + param_offset(l, k);
        const float *wih = w, *whh = wih + G * in_f, *bih = whh + G * h, *bhh = bih + G;
        /* A [NT, 4h] = b_ih + b_hh + in [NT, in] W_ih^T */
        for (int64_t r = 0; r < NT; r++)
            for (int64_t j = 0; j < G; j++)
                A[r * G + j] = bih[j] + bhh[j];
        nn_gemm(0, 1, NT, G, in_f, 1.0f, in, in_f, wih, in_f, 1.0f, A, G);
        for (int64_t t = 0; t < T; t++) {
            /* rows (s, t) of A and H have strides T*4h and T*h */
            float *At = A + t * G;
            if (t > 0)
                nn_gemm(0, 1, n, G, h, 1.0f, H + (t - 1) * h, T * h, whh, h, 1.0f, At, T * G);
            for (int64_t s = 0; s < n; s++) {
                float *a = At + s * T * G;
                float *c = C + (s * T + t) * h, *ho = H + (s * T + t) * h;
                const float *cp = t > 0 ? C + (s * T + t - 1) * h : NULL;
                for (int64_t j = 0; j < h; j++) {
                    float ig = nn_sigmoidf(a[j]), fg = nn_sigmoidf(a[h + j]), gg = nn_tanhf(a[2 * h + j]), og = nn_sigmoidf(a[3 * h + j]);
                    a[j] = ig, a[h + j] = fg, a[2 * h + j] = gg, a[3 * h + j] = og;
                    float cv = ig * gg + (cp ? fg * cp[j] : 0.0f);
                    c[j] = cv;
                    ho[j] = og * nn_tanhf(cv);
                }
            }
        }
        if (k < L - 1) {
            if (train && l->p > 0.0f) {
                float keep = l->p >= 1.0f ? 0.0f : 1.0f / (1.0f - l->p);
                for (int64_t j = 0; j < NT * h; j++) {
                    D[j] = lpz_rng_uniform(rng) < (double)l->p ? 0.0f : keep;
                    X[j] = H[j] * D[j];
                }
            } else {
                for (int64_t j = 0; j < NT * h; j++)
                    D[j] = 1.0f;
                memcpy(X, H, (size_t)(NT * h) * sizeof(float));
            }
            in = X;
            in_f = h;
        }
    }
}

void nn_lstm_backward(const nn_layer *l, int64_t n, const float *p, const float *x, const float *dy, float *dx,
                      float *dp, float *work)
{
    int64_t T = l->in.dim[0], F = l->in.dim[1], h = l->features, NT = n * T, G = 4 * h;
    int L = l->num_layers;
    float *dG = work, *Hp = dG + NT * G, *dHa = Hp + NT * h, *dHb = dHa + NT * h;
    float *dh = dHb + NT * h, *dc = dh + n * h;
    const float *dH = dy; /* gradient w.r.t. this layer's output H */
    if (!dp && !dx)
        return;
    for (int k = L - 1; k >= 0; k--) {
        const float *A = l->aux + (int64_t)k * NT * 8 * h;
        const float *C = A + NT * G, *H = C + NT * h;
        if (k == L - 1)
            H = l->y;
        int64_t in_f = k == 0 ? F : h;
        const float *in = k == 0 ? x : l->aux + (int64_t)(k - 1) * NT * 8 * h + NT * G + 3 * NT * h;
        int64_t off = param_offset(l, k);
        const float *wih = p + off, *whh = wih + G * in_f;
        float *dwih = dp ? dp + off : NULL, *dwhh = dp ? dwih + G * in_f : NULL;
        float *dbih = dp ? dwhh + G * h : NULL, *dbhh = dp ? dbih + G : NULL;
        memset(dc, 0, (size_t)(n * h) * sizeof(float));
        for (int64_t t = T - 1; t >= 0; t--) {
            /* dh = dH_t + dG_{t+1} W_hh (the recurrent path) */
            for (int64_t s = 0; s < n; s++)
                memcpy(dh + s * h, dH + (s * T + t) * h, (size_t)h * sizeof(float));
            if (t < T - 1)
                nn_gemm(0, 0, n, h, G, 1.0f, dG + (t + 1) * G, T * G, whh, h, 1.0f, dh, h);
            for (int64_t s = 0; s < n; s++) {
                const float *a = A + (s * T + t) * G;
                const float *c = C + (s * T + t) * h;
                const float *cp = t > 0 ? C + (s * T + t - 1) * h : NULL;
                float *g = dG + (s * T + t) * G, *dcs = dc + s * h, *dhs = dh + s * h;
                for (int64_t j = 0; j < h; j++) {
                    float ig = a[j], fg = a[h + j], gg = a[2 * h + j], og = a[3 * h + j];
                    float tc = nn_tanhf(c[j]);
                    float dcv = dhs[j] * og * (1.0f - tc * tc) + dcs[j];
                    float cprev = cp ? cp[j] : 0.0f;
                    g[j] = dcv * gg * ig * (1.0f - ig);
                    g[h + j] = dcv * cprev * fg * (1.0f - fg);
                    g[2 * h + j] = dcv * ig * (1.0f - gg * gg);
                    g[3 * h + j] = dhs[j] * tc * og * (1.0f - og);
                    dcs[j] = dcv * fg;
                }
            }
        }
        if (dp) {
            /* h_{t-1} for every row (zero at t = 0), so dW_hh is one GEMM */
            for (int64_t s = 0; s < n; s++) {
                memset(Hp + s * T * h, 0, (size_t)h * sizeof(float));
                if (T > 1)
                    memcpy(Hp + (s * T + 1) * h, H + s * T * h, (size_t)((T - 1) * h) * sizeof(float));
            }
            nn_gemm(1, 0, G, in_f, NT, 1.0f, dG, G, in, in_f, 1.0f, dwih, in_f);
            nn_gemm(1, 0, G, h, NT, 1.0f, dG, G, Hp, h, 1.0f, dwhh, h);
            for (int64_t r = 0; r < NT; r++)
                for (int64_t j = 0; j < G; j++) {
                    dbih[j] += dG[r * G + j];
                    dbhh[j] += dG[r * G + j];
                }
        }
        if (k > 0) {
            /* gradient w.r.t. the layer below's H, through its dropout mask */
            float *out = dH == dHa ? dHb : dHa;
            nn_gemm(0, 0, NT, h, G, 1.0f, dG, G, wih, in_f, 0.0f, out, h);
            const float *D = l->aux + (int64_t)(k - 1) * NT * 8 * h + NT * G + 2 * NT * h;
            for (int64_t j = 0; j < NT * h; j++)
                out[j] *= D[j];
            dH = out;
        } else if (dx) {
            nn_gemm(0, 0, NT, F, G, 1.0f, dG, G, wih, F, 0.0f, dx, F);
        }
    }
}
