/* Frontiers: the compute-optimal frontier of a Chinchilla law (docs/SCIENCE.md section 5), the
 * efficient frontier and U(D) exponents (section 2), and the Kausik reconstruction (section 2). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fit_impl.h"
#include "slingshot/error.h"

int sl_frontier_defined(double A, double B, double alpha, double beta) {
  return A > 0 && B > 0 && alpha > 0 && beta > 0 && isfinite(A) && isfinite(B) && isfinite(alpha) &&
         isfinite(beta);
}

int sl_frontier_from_params(double A, double B, double alpha, double beta, sl_frontier *f) {
  SL_CHECK(f != NULL, SL_ERR_ARG, "sl_frontier_from_params: NULL output");
  SL_CHECK(sl_frontier_defined(A, B, alpha, beta), SL_ERR_ARG,
           "the compute-optimal frontier needs A, B, alpha, beta > 0 and finite (got A = %g, "
           "B = %g, alpha = %g, beta = %g)",
           A, B, alpha, beta);
  double s = alpha + beta;
  /* Section 5: G = (alpha A / (beta B))^(1/(alpha+beta)), computed in logs. */
  f->G = exp((log(alpha) + log(A) - log(beta) - log(B)) / s);
  f->a_N = beta / s;
  f->a_D = alpha / s;
  return SL_OK;
}

int sl_frontier_at(const sl_frontier *f, double C, double *n_opt, double *d_opt) {
  SL_CHECK(C > 0 && isfinite(C), SL_ERR_ARG, "compute C must be positive and finite, got %g", C);
  double lc = log(C / 6.0);
  if (n_opt) *n_opt = f->G * exp(f->a_N * lc);
  if (d_opt) *d_opt = exp(f->a_D * lc) / f->G;
  return SL_OK;
}

/* Replicate frontiers: rows of n_out values per bootstrap replicate, NaN where undefined. */
typedef void (*frontier_fn)(const sl_frontier *f, double C, double *out);

static void fr_params(const sl_frontier *f, double C, double *out) {
  (void)C;
  out[0] = f->G;
  out[1] = f->a_N;
  out[2] = f->a_D;
}

static void fr_at(const sl_frontier *f, double C, double *out) {
  double n, d;
  sl_frontier_at(f, C, &n, &d);
  out[0] = n;
  out[1] = d;
  out[2] = d / n;
}

static int fr_estimates(const sl_fit_result *chin, double C, frontier_fn fn, sl_estimate *est,
                        size_t *n_defined) {
  SL_CHECK(chin != NULL && chin->family != NULL && strcmp(chin->family, "chinchilla") == 0,
           SL_ERR_ARG, "the compute-optimal frontier needs a Chinchilla fit result");
  const double *v = chin->value;
  sl_frontier f;
  SL_CALL(sl_frontier_from_params(v[SL_CH_A], v[SL_CH_B], v[SL_CH_ALPHA], v[SL_CH_BETA], &f));
  double point[3];
  fn(&f, C, point);
  for (size_t j = 0; j < 3; j++)
    est[j] = (sl_estimate){point[j], NAN, NAN, NAN};
  *n_defined = 0;
  if (chin->n_boot == 0 || chin->boot == NULL) return SL_OK;
  double *rows = NULL;
  SL_ALLOC(rows, 3 * chin->n_boot);
  size_t m = 0;
  for (size_t r = 0; r < chin->n_boot; r++) {
    const double *b = chin->boot + r * chin->n_params;
    sl_frontier fb;
    /* A replicate without a frontier (alpha or beta <= 0, or not finite) is skipped, and
     * counted out. */
    if (!sl_frontier_defined(b[SL_CH_A], b[SL_CH_B], b[SL_CH_ALPHA], b[SL_CH_BETA])) continue;
    fb.G = exp((log(b[SL_CH_ALPHA]) + log(b[SL_CH_A]) - log(b[SL_CH_BETA]) - log(b[SL_CH_B])) /
               (b[SL_CH_ALPHA] + b[SL_CH_BETA]));
    fb.a_N = b[SL_CH_BETA] / (b[SL_CH_ALPHA] + b[SL_CH_BETA]);
    fb.a_D = b[SL_CH_ALPHA] / (b[SL_CH_ALPHA] + b[SL_CH_BETA]);
    fn(&fb, C, rows + 3 * m);
    m++;
  }
  int err = SL_OK;
  for (size_t j = 0; j < 3 && err == SL_OK; j++)
    err = sl_fit_boot_summary(rows, m, 3, j, &est[j].se, &est[j].lo, &est[j].hi);
  free(rows);
  SL_CALL(err);
  *n_defined = m;
  return SL_OK;
}

int sl_frontier_from_fit(const sl_fit_result *chin, sl_frontier_fit *out) {
  SL_CHECK(out != NULL, SL_ERR_ARG, "sl_frontier_from_fit: NULL output");
  sl_estimate est[3];
  SL_CALL(fr_estimates(chin, 1.0, fr_params, est, &out->n_boot));
  out->G = est[0];
  out->a_N = est[1];
  out->a_D = est[2];
  return SL_OK;
}

int sl_frontier_fit_at(const sl_fit_result *chin, double C, sl_estimate *n_opt, sl_estimate *d_opt,
                       sl_estimate *tokens_per_param) {
  SL_CHECK(C > 0 && isfinite(C), SL_ERR_ARG, "compute C must be positive and finite, got %g", C);
  sl_estimate est[3];
  size_t m;
  SL_CALL(fr_estimates(chin, C, fr_at, est, &m));
  if (n_opt) *n_opt = est[0];
  if (d_opt) *d_opt = est[1];
  if (tokens_per_param) *tokens_per_param = est[2];
  return SL_OK;
}

int sl_fit_unique_exponent(const double *d, const double *u, size_t n, sl_fit_result *res) {
  SL_CALL(sl_fit_powerlaw(d, u, n, res));
  sl_fit_note(res, "U(D) = c D^gamma: gamma is k; ");
  return SL_OK;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int sl_fit_efficient_frontier(const double *n_params, const double *d_tokens, const double *loss,
                              size_t n, double tol, double *d_out, double *n_out,
                              size_t *n_frontier, sl_fit_result *res) {
  SL_CHECK(n_params && d_tokens && loss && n_frontier && res, SL_ERR_ARG,
           "sl_fit_efficient_frontier: NULL argument");
  SL_CHECK(tol >= 0 && isfinite(tol), SL_ERR_ARG, "frontier tolerance must be >= 0, got %g", tol);
  int err = SL_OK;
  double *ds = NULL, *fd = NULL, *fn = NULL;
  size_t n_bad = 0;
  ds = sl_calloc(n > 0 ? n : 1, sizeof *ds);
  fd = sl_calloc(n > 0 ? n : 1, sizeof *fd);
  fn = sl_calloc(n > 0 ? n : 1, sizeof *fn);
  SL_CHECK_GOTO(ds && fd && fn, SL_ERR_NOMEM, done, "out of memory for %zu cells", n);
  /* Usable cells: N, D > 0 and loss finite. The distinct D values in increasing order. */
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    if (n_params[i] > 0 && d_tokens[i] > 0 && isfinite(n_params[i]) && isfinite(d_tokens[i]) &&
        isfinite(loss[i]))
      ds[m++] = d_tokens[i];
    else
      n_bad++;
  }
  qsort(ds, m, sizeof *ds, cmp_double);
  size_t nd = 0;
  for (size_t i = 0; i < m; i++)
    if (nd == 0 || ds[i] != ds[nd - 1]) ds[nd++] = ds[i];
  for (size_t k = 0; k < nd; k++) {
    double best = INFINITY, nmin = INFINITY;
    for (size_t i = 0; i < n; i++)
      if (d_tokens[i] == ds[k] && n_params[i] > 0 && isfinite(loss[i]) && loss[i] < best)
        best = loss[i];
    for (size_t i = 0; i < n; i++)
      if (d_tokens[i] == ds[k] && n_params[i] > 0 && isfinite(n_params[i]) && isfinite(loss[i]) &&
          loss[i] <= best + tol && n_params[i] < nmin)
        nmin = n_params[i];
    fd[k] = ds[k];
    fn[k] = nmin;
  }
  SL_CHECK_GOTO(nd >= 2, SL_ERR_ARG, done,
                "the efficient frontier needs cells at 2 or more distinct D, got %zu", nd);
  SL_CALL_GOTO(sl_fit_powerlaw(fd, fn, nd, res), done);
  sl_fit_note(res,
              "efficient frontier: for each of %zu distinct D the smallest N with loss within "
              "%g of the best loss at that D; N_eff = c D^gamma, gamma is k; %zu cells unusable "
              "(N or D <= 0, or a non-finite value); ",
              nd, tol, n_bad);
  if (d_out) memcpy(d_out, fd, nd * sizeof *fd);
  if (n_out) memcpy(n_out, fn, nd * sizeof *fn);
  *n_frontier = nd;
done:
  free(ds);
  free(fd);
  free(fn);
  return err;
}

int sl_kausik_reconstruct(double beta, sl_kausik *k) {
  SL_CHECK(k != NULL, SL_ERR_ARG, "sl_kausik_reconstruct: NULL output");
  SL_CHECK(isfinite(beta), SL_ERR_ARG, "Kausik reconstruction needs a finite beta, got %g", beta);
  /* Section 2 (a reconstruction, not the paper's derivation). */
  k->beta = beta;
  k->gamma_hi = 1.0 - beta;
  k->gamma_lo = 1.0 - 2.0 * beta;
  k->gamma_mid = 0.5 * (k->gamma_hi + k->gamma_lo);
  k->doubling_hi = k->gamma_hi > 0 ? pow(2.0, 1.0 / k->gamma_hi) : NAN;
  k->doubling_lo = k->gamma_lo > 0 ? pow(2.0, 1.0 / k->gamma_lo) : NAN;
  k->doubling_mid = k->gamma_mid > 0 ? pow(2.0, 1.0 / k->gamma_mid) : NAN;
  return SL_OK;
}

int sl_kausik_print(const sl_kausik *k, FILE *f) {
  fprintf(f,
          "Kausik N ~ D^gamma: RECONSTRUCTION from beta = %.4g (gamma_hi = 1 - beta, gamma_lo = "
          "1 - 2 beta, gamma_mid = mean; the paper's derivation could not be read; "
          "docs/SCIENCE.md section 2)\n",
          k->beta);
  fprintf(f, "  %-10s %10s %26s\n", "", "gamma", "corpus factor 2^(1/gamma)");
  fprintf(f, "  %-10s %10.4f %26.4g\n", "gamma_hi", k->gamma_hi, k->doubling_hi);
  fprintf(f, "  %-10s %10.4f %26.4g\n", "gamma_mid", k->gamma_mid, k->doubling_mid);
  fprintf(f, "  %-10s %10.4f %26.4g\n", "gamma_lo", k->gamma_lo, k->doubling_lo);
  if (!(k->gamma_lo > 0))
    fprintf(f, "  (a factor is undefined, nan, where gamma <= 0: beta >= 0.5)\n");
  return SL_OK;
}
