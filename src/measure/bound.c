/* The bound formula and the scalar quantiser of SCIENCE.md section 3. See
 * include/slingshot/bound.h. Legend: d coordinates, L levels. */
#include "slingshot/bound.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/error.h"

double sl_bound_delta(double a, double V) {
  return log2(1.0 + (1.0 - a) * V / a);
}

double sl_bound_k_nats(double c_bits, double extra_bits) {
  return (c_bits + 2.0 * log2(c_bits) + extra_bits) * log(2.0);
}

void sl_bound_terms(double k_nats, double m, double n, double eps, double *term_m, double *term_n) {
  const double r = n / (n + m);
  *term_m = sqrt((k_nats - log(r * eps)) / (2.0 * m));
  *term_n = sqrt(-log((1.0 - r) * eps) / (2.0 * n));
}

double sl_bound_value(double r_hat, double delta, double k_nats, double m, double n, double eps) {
  double tm, tn;
  sl_bound_terms(k_nats, m, n, eps, &tm, &tn);
  return r_hat + delta * (tm + tn);
}

void sl_bound_result_clear(sl_bound_result *b) {
  memset(b, 0, sizeof *b);
  b->d = b->subspace = b->m = b->n = b->pop_pieces = -1;
  b->levels = b->top_k = -1;
  b->code_bits = b->codebook_bits = b->count_bits = b->c_bits = b->prefix_bits = NAN;
  b->extra_bits = b->k_nats = b->eps = b->log2_vocab = b->term_m = b->term_n = NAN;
  for (int i = 0; i < SL_BOUND_MAX_ALPHAS; i++)
    b->alpha[i] = b->delta[i] = b->risk_emp[i] = b->risk_pop[i] = b->bound[i] = NAN;
  b->best_bound = b->best_alpha = b->best_risk_pop = b->best_risk_pop_stderr = b->slack = NAN;
  b->top1_emp = b->top1_pop = b->top1_bound = b->topk_emp = b->topk_pop = b->topk_bound = NAN;
  b->prune_fraction = b->n_effective = b->prune_loss_base = b->prune_loss = NAN;
}

/* IEEE binary16: 11 significant bits, exponents -14..15, subnormals down to 2^-24. */
float sl_half_round(float x) {
  if (!isfinite(x)) return x;
  double a = fabs((double)x);
  if (a >= 65504.0) return x < 0 ? -65504.0f : 65504.0f;
  int e;
  frexp(a, &e); /* a = f 2^e, f in [0.5, 1): the leading bit is 2^(e-1) */
  int lead = e - 1 < -14 ? -14 : e - 1;
  double quantum = ldexp(1.0, lead - 10);
  double r = nearbyint(a / quantum) * quantum; /* ties to even in the default rounding mode */
  if (r > 65504.0) r = 65504.0;
  return (float)(x < 0 ? -r : r);
}

static int cmp_float(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

/* Index of the centroid nearest to v among sorted c[0..L) (ties to the lower one). */
static int nearest(const float *c, int L, float v) {
  int lo = 0, hi = L - 1;
  while (lo < hi) { /* first index whose centroid is >= v */
    int mid = (lo + hi) / 2;
    if (c[mid] < v)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo > 0 && (double)v - c[lo - 1] <= (double)c[lo] - v) lo--;
  return lo;
}

int sl_quantize(const float *x, size_t n, int L, int kmeans_iters, float *centroid, int32_t *sym,
                uint64_t *counts) {
  SL_CHECK(n > 0 && L >= 1 && L <= SL_BOUND_MAX_LEVELS, SL_ERR_ARG,
           "quantising %zu values to %d levels", n, L);
  int err = SL_OK;
  double *sum = NULL;
  SL_ALLOC(sum, (size_t)L);
  float lo = x[0], hi = x[0];
  for (size_t i = 1; i < n; i++) {
    if (x[i] < lo) lo = x[i];
    if (x[i] > hi) hi = x[i];
  }
  SL_CHECK_GOTO(isfinite(lo) && isfinite(hi), SL_ERR_NUMERIC, done,
                "cannot quantise a vector with non-finite values");
  const double width = ((double)hi - lo) / L;
  /* Uniform bins; a centroid is the mean of its bin (the bin's middle when empty). */
  for (int k = 0; k < L; k++)
    counts[k] = 0, sum[k] = 0;
  for (size_t i = 0; i < n; i++) {
    int k = width > 0 ? (int)(((double)x[i] - lo) / width) : 0;
    if (k >= L) k = L - 1;
    if (k < 0) k = 0;
    sym[i] = k;
    counts[k]++;
    sum[k] += x[i];
  }
  for (int k = 0; k < L; k++)
    centroid[k] = counts[k] ? (float)(sum[k] / (double)counts[k]) : (float)(lo + (k + 0.5) * width);
  /* Lloyd iterations: assign to the nearest centroid, move each to the mean of its values. */
  for (int it = 0; it < kmeans_iters; it++) {
    qsort(centroid, (size_t)L, sizeof *centroid, cmp_float);
    for (int k = 0; k < L; k++)
      counts[k] = 0, sum[k] = 0;
    for (size_t i = 0; i < n; i++) {
      int k = nearest(centroid, L, x[i]);
      counts[k]++;
      sum[k] += x[i];
    }
    for (int k = 0; k < L; k++)
      if (counts[k]) centroid[k] = (float)(sum[k] / (double)counts[k]);
  }
  /* The decoder gets 16-bit centroids: round them, then assign to the rounded values. */
  for (int k = 0; k < L; k++)
    centroid[k] = sl_half_round(centroid[k]);
  qsort(centroid, (size_t)L, sizeof *centroid, cmp_float);
  for (int k = 0; k < L; k++)
    counts[k] = 0;
  for (size_t i = 0; i < n; i++) {
    int k = nearest(centroid, L, x[i]);
    sym[i] = k;
    counts[k]++;
  }
done:
  free(sum);
  return err;
}
