/* core/score/fid.c - feature statistics, the symmetric matrix square root
 * (LAPACK), FID, inception score and TVD, all in double. See score.h. */
#include "score/score.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* LAPACK from OpenBLAS (Debian's libopenblas exports the Fortran symbols;
 * lapacke.h is not installed, so the prototype is declared here). The
 * trailing size_t arguments are the hidden lengths of the character
 * arguments of gfortran's calling convention. */
extern void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
                    double *work, const int *lwork, int *iwork, const int *liwork, int *info, size_t jobz_len,
                    size_t uplo_len);

#define FID_MAX_DIM 4096

/* Rows gathered per dsyrk: enough to run near the BLAS's speed, few enough
 * that the buffer stays small (2 MB at Inception's 2048 features). */
#define STATS_ROWS 128

int lpz_stats_init(lpz_stats *a, int d, lpz_error *err)
{
    memset(a, 0, sizeof *a);
    if (d < 1 || d > FID_MAX_DIM)
        return lpz_error_set(err, LPZ_EINVAL, "feature size %d is outside 1..%d", d, FID_MAX_DIM);
    size_t dd = (size_t)d * (size_t)d;
    a->d = d;
    a->shift = malloc((size_t)d * 2 * sizeof *a->shift);
    a->cross = calloc(dd, sizeof *a->cross);
    a->buf = malloc((size_t)STATS_ROWS * (size_t)d * sizeof *a->buf);
    if (!a->shift || !a->cross || !a->buf) {
        lpz_stats_free(a);
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory for the statistics of %d features", d);
    }
    a->sum = a->shift + d;
    memset(a->sum, 0, (size_t)d * sizeof *a->sum);
    return LPZ_OK;
}

void lpz_stats_free(lpz_stats *a)
{
    free(a->shift), free(a->cross), free(a->buf);
    memset(a, 0, sizeof *a);
}

/* Folds the gathered rows in: centred on the shift (the first rows' mean,
 * set by the first fold), their sum into sum and their cross products
 * into the upper triangle of cross. */
static void stats_fold(lpz_stats *a)
{
    int d = a->d;
    int64_t k = a->pending;
    if (!k)
        return;
    if (!a->n) {
        memset(a->shift, 0, (size_t)d * sizeof *a->shift);
        for (int64_t i = 0; i < k; i++)
            for (int j = 0; j < d; j++)
                a->shift[j] += a->buf[i * d + j];
        for (int j = 0; j < d; j++)
            a->shift[j] /= (double)k;
    }
    for (int64_t i = 0; i < k; i++) {
        double *row = a->buf + i * d;
        for (int j = 0; j < d; j++) {
            row[j] -= a->shift[j];
            a->sum[j] += row[j];
        }
    }
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, (int)k, 1.0, a->buf, d, 1.0, a->cross, d);
    a->n += k;
    a->pending = 0;
}

void lpz_stats_add(lpz_stats *a, const float *rows, int64_t n)
{
    int d = a->d;
    for (int64_t i = 0; i < n; i++) {
        double *dst = a->buf + a->pending * d;
        const float *src = rows + i * d;
        for (int j = 0; j < d; j++)
            dst[j] = src[j];
        if (++a->pending == STATS_ROWS)
            stats_fold(a);
    }
}

int64_t lpz_stats_count(const lpz_stats *a)
{
    return a->n + a->pending;
}

int lpz_stats_finish(lpz_stats *a, double *mean, double *cov, lpz_error *err)
{
    stats_fold(a);
    int d = a->d;
    int64_t n = a->n;
    if (n < 2)
        return lpz_error_set(err, LPZ_EINVAL, "statistics need at least 2 samples (got %lld)", (long long)n);
    /* Shifted one-pass formula: with m the mean of the centred rows,
     * cov = (sum of products - n m m^T) / (n - 1). The shift is close to
     * the mean, so the subtraction loses next to nothing. */
    for (int j = 0; j < d; j++)
        mean[j] = a->sum[j] / (double)n;
    for (int i = 0; i < d; i++)
        for (int j = i; j < d; j++) {
            double v = (a->cross[(size_t)i * d + j] - (double)n * mean[i] * mean[j]) / (double)(n - 1);
            cov[(size_t)i * d + j] = v;
            cov[(size_t)j * d + i] = v;
        }
    for (int j = 0; j < d; j++)
        mean[j] += a->shift[j];
    for (int j = 0; j < d; j++)
        if (!isfinite(mean[j]) || !isfinite(cov[(size_t)j * d + j]))
            return lpz_error_set(err, LPZ_EINVAL, "feature %d of the samples is not finite", j);
    return LPZ_OK;
}

int lpz_feature_stats(const float *f, int64_t n, int d, double *mean, double *cov, lpz_error *err)
{
    if (n < 2 || d < 1)
        return lpz_error_set(err, LPZ_EINVAL, "statistics need at least 2 samples (got %lld)", (long long)n);
    lpz_stats a;
    int rc = lpz_stats_init(&a, d, err);
    if (rc)
        return rc;
    lpz_stats_add(&a, f, n);
    rc = lpz_stats_finish(&a, mean, cov, err);
    lpz_stats_free(&a);
    return rc;
}

/* Eigen-decomposition of a symmetric d x d matrix (in place: a becomes the
 * eigenvectors, as columns in column-major = rows in our row-major view,
 * which is the same for a symmetric input). */
static int sym_eig(double *a, int d, double *w, int vectors, lpz_error *err)
{
    int lwork = vectors ? 1 + 6 * d + 2 * d * d : 2 * d + 1, liwork = vectors ? 3 + 5 * d : 1, info = 0;
    double *work = malloc((size_t)lwork * sizeof *work);
    int *iwork = malloc((size_t)liwork * sizeof *iwork);
    if (!work || !iwork) {
        free(work), free(iwork);
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory for an eigen-decomposition of size %d", d);
    }
    dsyevd_(vectors ? "V" : "N", "U", &d, a, &d, w, work, &lwork, iwork, &liwork, &info, 1, 1);
    free(work), free(iwork);
    if (info != 0)
        return lpz_error_set(err, LPZ_EINVAL, "the eigen-decomposition (LAPACK dsyevd) failed with info %d", info);
    return LPZ_OK;
}

static int check_finite(const double *a, size_t n, const char *what, lpz_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(a[i]))
            return lpz_error_set(err, LPZ_EINVAL, "%s has a non-finite value at element %zu", what, i);
    return LPZ_OK;
}

int lpz_sym_sqrt(const double *a, int d, double *out, lpz_error *err)
{
    if (d < 1 || d > FID_MAX_DIM)
        return lpz_error_set(err, LPZ_EINVAL, "matrix size %d is outside 1..%d", d, FID_MAX_DIM);
    size_t dd = (size_t)d * (size_t)d;
    int rc = check_finite(a, dd, "the matrix", err);
    if (rc)
        return rc;
    double *v = malloc(dd * sizeof *v), *w = malloc((size_t)d * sizeof *w);
    if (!v || !w) {
        free(v), free(w);
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    }
    memcpy(v, a, dd * sizeof *v);
    rc = sym_eig(v, d, w, 1, err);
    if (!rc) {
        /* LAPACK is column-major: eigenvector k is row k of v seen row-major
         * (V^T). A^(1/2) = V diag(sqrt w) V^T = S^T S with S = diag(w^(1/4)) V^T:
         * one BLAS product (d = 2048 for Inception features). */
        for (int k = 0; k < d; k++) {
            double f = w[k] > 0 ? sqrt(sqrt(w[k])) : 0;
            for (int i = 0; i < d; i++)
                v[(size_t)k * d + i] *= f;
        }
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, d, 1.0, v, d, v, d, 0.0, out, d);
    }
    free(v), free(w);
    return rc;
}

int lpz_trace_sqrt_product(const double *s1_sqrt, const double *s2, int d, double *trace, lpz_error *err)
{
    if (d < 1 || d > FID_MAX_DIM)
        return lpz_error_set(err, LPZ_EINVAL, "matrix size %d is outside 1..%d", d, FID_MAX_DIM);
    size_t dd = (size_t)d * (size_t)d;
    double *t = malloc(dd * sizeof *t), *m = malloc(dd * sizeof *m), *w = malloc((size_t)d * sizeof *w);
    int rc = LPZ_OK;
    if (!t || !m || !w) {
        rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory");
        goto done;
    }
    /* t = s2 s1^(1/2); m = s1^(1/2) t, symmetrised against rounding. */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, d, d, 1.0, s2, d, s1_sqrt, d, 0.0, t, d);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, d, d, 1.0, s1_sqrt, d, t, d, 0.0, m, d);
    for (int i = 0; i < d; i++)
        for (int j = i + 1; j < d; j++) {
            double s = 0.5 * (m[(size_t)i * d + j] + m[(size_t)j * d + i]);
            m[(size_t)i * d + j] = m[(size_t)j * d + i] = s;
        }
    if ((rc = check_finite(m, dd, "the covariance product", err)) || (rc = sym_eig(m, d, w, 0, err)))
        goto done;
    double tr = 0;
    for (int k = 0; k < d; k++)
        tr += w[k] > 0 ? sqrt(w[k]) : 0;
    *trace = tr;
done:
    free(t), free(m), free(w);
    return rc;
}

int lpz_fid_from_stats(const double *mu1, const double *s1, const double *s1_sqrt, const double *mu2,
                       const double *s2, int d, double *fid, lpz_error *err)
{
    double *own = NULL;
    int rc;
    if (!s1_sqrt) {
        own = malloc((size_t)d * (size_t)d * sizeof *own);
        if (!own)
            return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
        if ((rc = lpz_sym_sqrt(s1, d, own, err))) {
            free(own);
            return rc;
        }
        s1_sqrt = own;
    }
    double tr_sqrt = 0;
    rc = lpz_trace_sqrt_product(s1_sqrt, s2, d, &tr_sqrt, err);
    free(own);
    if (rc)
        return rc;
    double diff = 0, tr = 0;
    for (int a = 0; a < d; a++) {
        double e = mu1[a] - mu2[a];
        diff += e * e;
        tr += s1[(size_t)a * d + a] + s2[(size_t)a * d + a];
    }
    double v = diff + tr - 2 * tr_sqrt;
    *fid = v > 0 ? v : 0;
    return LPZ_OK;
}

void lpz_is_init(lpz_is_acc *a, int classes)
{
    memset(a, 0, sizeof *a);
    a->classes = classes;
}

/* With p_ic = softmax(z_i)_c and S_c = sum_i p_ic, the score's
 * sum_i KL(p_i || p(y)) = sum_i sum_c p_ic log p_ic - sum_c S_c log(S_c / n):
 * two sums that add up row by row, so no logits are kept. */
void lpz_is_add(lpz_is_acc *a, const float *logits, int64_t n)
{
    int classes = a->classes;
    if (classes < 1 || classes > LPZ_IS_MAX_CLASSES)
        return;
    for (int64_t i = 0; i < n; i++) {
        const float *z = logits + i * classes;
        double mx = z[0], s = 0;
        for (int c = 1; c < classes; c++)
            mx = z[c] > mx ? z[c] : mx;
        for (int c = 0; c < classes; c++)
            s += exp((double)z[c] - mx);
        double lse = mx + log(s);
        for (int c = 0; c < classes; c++) {
            double lp = (double)z[c] - lse, p = exp(lp);
            a->psum[c] += p;
            if (p > 0)
                a->plogp += p * lp;
        }
    }
    a->n += n;
}

double lpz_is_finish(const lpz_is_acc *a)
{
    if (a->n < 1 || a->classes < 1 || a->classes > LPZ_IS_MAX_CLASSES)
        return NAN;
    double kl = a->plogp;
    for (int c = 0; c < a->classes; c++)
        if (a->psum[c] > 0)
            kl -= a->psum[c] * log(a->psum[c] / (double)a->n);
    return exp(kl / (double)a->n);
}

double lpz_inception_score(const float *logits, int64_t n, int classes)
{
    if (n < 1 || classes < 1 || classes > LPZ_IS_MAX_CLASSES)
        return NAN;
    lpz_is_acc *a = malloc(sizeof *a);
    if (!a)
        return NAN;
    lpz_is_init(a, classes);
    lpz_is_add(a, logits, n);
    double v = lpz_is_finish(a);
    free(a);
    return v;
}

double lpz_tvd(const int64_t *p, const int64_t *q, int classes)
{
    double sp = 0, sq = 0, t = 0;
    for (int c = 0; c < classes; c++)
        sp += (double)p[c], sq += (double)q[c];
    if (sp <= 0 || sq <= 0)
        return NAN;
    for (int c = 0; c < classes; c++)
        t += fabs((double)p[c] / sp - (double)q[c] / sq);
    return 0.5 * t;
}
