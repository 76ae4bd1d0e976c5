/* Random-subspace training: theta = theta0 + P w with a permuted Kronecker product of two
 * orthonormalised Gaussian factors. See include/slingshot/subspace.h for the structure and its
 * cost. Legend: N params, d subspace dimension, n1 n2 <= N, d1 d2 = d. */
#include "slingshot/subspace.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/error.h"

/* Columns of a [n x k] row-major Gaussian matrix orthonormalised by modified Gram-Schmidt, run
 * twice in double so that Q^T Q = I to float rounding (one pass loses orthogonality as k grows). */
static int orthonormal_gaussian(int n, int k, sl_rng *rng, float *q) {
  double *a = NULL;
  SL_ALLOC(a, (size_t)n * k);
  for (size_t i = 0; i < (size_t)n * k; i++)
    a[i] = sl_rng_normal(rng);
  for (int j = 0; j < k; j++) {
    for (int pass = 0; pass < 2; pass++)
      for (int i = 0; i < j; i++) {
        double dot = 0;
        for (int r = 0; r < n; r++)
          dot += a[(size_t)r * k + i] * a[(size_t)r * k + j];
        for (int r = 0; r < n; r++)
          a[(size_t)r * k + j] -= dot * a[(size_t)r * k + i];
      }
    double norm = 0;
    for (int r = 0; r < n; r++)
      norm += a[(size_t)r * k + j] * a[(size_t)r * k + j];
    norm = sqrt(norm);
    if (!(norm > 1e-12)) {
      free(a);
      return SL_ERROR(SL_ERR_NUMERIC, "Gram-Schmidt of a %d x %d Gaussian matrix lost rank", n, k);
    }
    for (int r = 0; r < n; r++)
      a[(size_t)r * k + j] /= norm;
  }
  for (size_t i = 0; i < (size_t)n * k; i++)
    q[i] = (float)a[i];
  free(a);
  return SL_OK;
}

/* n1 n2 <= N with N - n1 n2 as small as possible (n2 near sqrt N), and d = d1 d2 with d1 <= n1,
 * d2 <= n2, the factors as balanced as possible. */
static int choose_shapes(size_t N, size_t d, sl_subspace *s) {
  const double root = sqrt((double)N);
  size_t lo = (size_t)(root / 2) > 0 ? (size_t)(root / 2) : 1, hi = (size_t)(2 * root) + 1;
  if (hi > N) hi = N;
  size_t best_rem = (size_t)-1;
  double best_off = 1e300;
  int found = 0;
  for (size_t n2 = lo; n2 <= hi; n2++) {
    size_t n1 = N / n2, rem = N - n1 * n2;
    /* The most balanced factor pair of d that fits. */
    size_t d1 = 0;
    double bal = 1e300;
    for (size_t f = 1; f * f <= d; f++) {
      if (d % f) continue;
      size_t pairs[2][2] = {{f, d / f}, {d / f, f}};
      for (int p = 0; p < 2; p++)
        if (pairs[p][0] <= n1 && pairs[p][1] <= n2) {
          double b = fabs(log((double)pairs[p][0] / (double)pairs[p][1]));
          if (b < bal) bal = b, d1 = pairs[p][0];
        }
    }
    if (!d1) continue;
    double off = fabs(log((double)n2 / root));
    if (rem < best_rem || (rem == best_rem && off < best_off)) {
      best_rem = rem, best_off = off, found = 1;
      s->n1 = (int)n1, s->n2 = (int)n2, s->d1 = (int)d1, s->d2 = (int)(d / d1);
    }
  }
  SL_CHECK(found, SL_ERR_CONFIG,
           "subspace.d = %zu does not fit a model of %zu parameters as a Kronecker product "
           "(d = d1 d2 with d1, d2 at most about 2 sqrt(N)): choose a smaller d, or one with "
           "factors near sqrt(d) (e.g. 1000 = 25 x 40)",
           d, N);
  return SL_OK;
}

void sl_subspace_destroy(sl_subspace *s) {
  if (!s) return;
  free(s->q1);
  free(s->q2);
  free(s->perm);
  free(s->theta0);
  free(s->w);
  free(s->gw);
  free(s->tmp);
  free(s->yg);
  free(s);
}

int sl_subspace_create(size_t N, size_t d, const float *theta0, sl_rng *rng, sl_subspace **out) {
  *out = NULL;
  SL_CHECK(d >= 1 && d <= N, SL_ERR_CONFIG,
           "subspace.d = %zu must lie between 1 and the model's %zu parameters", d, N);
  int err = SL_OK;
  sl_subspace *s = NULL;
  SL_ALLOC(s, 1);
  s->N = N;
  s->d = d;
  SL_CALL_GOTO(choose_shapes(N, d, s), fail);
  s->q1 = sl_calloc((size_t)s->n1 * s->d1, sizeof(float));
  s->q2 = sl_calloc((size_t)s->n2 * s->d2, sizeof(float));
  s->perm = sl_calloc(N, sizeof(int64_t));
  s->theta0 = sl_calloc(N, sizeof(float));
  s->w = sl_calloc(d, sizeof(float));
  s->gw = sl_calloc(d, sizeof(float));
  s->tmp = sl_calloc((size_t)s->n1 * s->d2, sizeof(float));
  s->yg = sl_calloc((size_t)s->n1 * s->n2, sizeof(float));
  SL_CHECK_GOTO(s->q1 && s->q2 && s->perm && s->theta0 && s->w && s->gw && s->tmp && s->yg,
                SL_ERR_NOMEM, fail, "out of memory for a subspace of %zu x %zu", N, d);
  SL_CALL_GOTO(orthonormal_gaussian(s->n1, s->d1, rng, s->q1), fail);
  SL_CALL_GOTO(orthonormal_gaussian(s->n2, s->d2, rng, s->q2), fail);
  for (size_t i = 0; i < N; i++)
    s->perm[i] = (int64_t)i;
  for (size_t i = N - 1; i > 0; i--) { /* Fisher-Yates */
    size_t j = (size_t)sl_rng_below(rng, (uint64_t)i + 1);
    int64_t t = s->perm[i];
    s->perm[i] = s->perm[j];
    s->perm[j] = t;
  }
  memcpy(s->theta0, theta0, N * sizeof(float));
  *out = s;
  return SL_OK;
fail:
  sl_subspace_destroy(s);
  return err;
}

void sl_subspace_apply(sl_subspace *s, const float *w, float *theta) {
  const int n1 = s->n1, n2 = s->n2, d1 = s->d1, d2 = s->d2;
  const size_t covered = (size_t)n1 * n2;
  /* Y = Q1 W Q2^T: tmp [n1 x d2] = Q1 [n1 x d1] W [d1 x d2], Y [n1 x n2] = tmp Q2^T. */
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n1, d2, d1, 1.0f, s->q1, d1, w, d2, 0.0f,
              s->tmp, d2);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n1, n2, d2, 1.0f, s->tmp, d2, s->q2, d2,
              0.0f, s->yg, n2);
  for (size_t r = 0; r < covered; r++)
    theta[s->perm[r]] = s->theta0[s->perm[r]] + s->yg[r];
  for (size_t r = covered; r < s->N; r++)
    theta[s->perm[r]] = s->theta0[s->perm[r]];
}

void sl_subspace_grad(sl_subspace *s, const float *g, float *gw) {
  const int n1 = s->n1, n2 = s->n2, d1 = s->d1, d2 = s->d2;
  const size_t covered = (size_t)n1 * n2;
  /* Differentiates Y = Q1 W Q2^T: dW = Q1^T G Q2 with G [n1 x n2] the gathered gradient. */
  for (size_t r = 0; r < covered; r++)
    s->yg[r] = g[s->perm[r]];
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n1, d2, n2, 1.0f, s->yg, n2, s->q2, d2,
              0.0f, s->tmp, d2);
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d1, d2, n1, 1.0f, s->q1, d1, s->tmp, d2,
              0.0f, gw, d2);
}
