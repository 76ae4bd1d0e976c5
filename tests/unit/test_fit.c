/* Fits: Chinchilla recovery (exact and noisy with bootstrap intervals), the frontier at the
 * published constants, the Kausik reconstruction, power laws, frontier helpers, the sigmoid, the
 * family table, and the fit command on good and bad tables. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "slingshot/cli.h"
#include "slingshot/error.h"
#include "slingshot/fit.h"
#include "slingshot/rng.h"
#include "test_util.h"

/* Published constants (docs/SCIENCE.md section 5). */
static const double E0 = 1.69, A0 = 406.4, B0 = 410.7, AL0 = 0.34, BE0 = 0.28;

static double law(double n, double d) {
  return E0 + A0 / pow(n, AL0) + B0 / pow(d, BE0);
}

/* An 8 x 8 grid: N in [1e7, 1e10], D in [1e8, 1e12], log-spaced; loss times exp(sigma z). */
static void grid8(double sigma, uint64_t seed, double *n, double *d, double *l) {
  sl_rng r;
  sl_rng_seed(&r, seed);
  for (size_t i = 0; i < 8; i++)
    for (size_t j = 0; j < 8; j++) {
      size_t k = i * 8 + j;
      n[k] = 1e7 * pow(1e3, (double)i / 7.0);
      d[k] = 1e8 * pow(1e4, (double)j / 7.0);
      l[k] = law(n[k], d[k]) * exp(sigma * sl_rng_normal(&r));
    }
}

static int close_rel(double x, double want, double rel) {
  int ok = fabs(x - want) <= rel * fabs(want);
  if (!ok) fprintf(stderr, "\n  got %.10g, want %.10g (rel %.3g)\n", x, want, rel);
  return ok;
}

static void test_chinchilla_exact(void) {
  double n[64], d[64], l[64];
  grid8(0.0, 1, n, d, l);
  sl_fit_data data = {64, n, d, l};
  sl_fit_options opt;
  sl_fit_options_default(&opt);
  opt.bootstrap = 0;
  sl_fit_result res;
  SL_ASSERT_OK(sl_fit_run("chinchilla", &data, &opt, &res));
  printf("\n    exact: E %.9g A %.9g B %.9g alpha %.9g beta %.9g (objective %.3g, start %zu)\n",
         res.value[SL_CH_E], res.value[SL_CH_A], res.value[SL_CH_B], res.value[SL_CH_ALPHA],
         res.value[SL_CH_BETA], res.objective, res.best_start);
  CU_ASSERT_TRUE(close_rel(res.value[SL_CH_E], E0, 1e-6));
  CU_ASSERT_TRUE(close_rel(res.value[SL_CH_A], A0, 1e-5));
  CU_ASSERT_TRUE(close_rel(res.value[SL_CH_B], B0, 1e-5));
  CU_ASSERT_TRUE(close_rel(res.value[SL_CH_ALPHA], AL0, 1e-6));
  CU_ASSERT_TRUE(close_rel(res.value[SL_CH_BETA], BE0, 1e-6));
  CU_ASSERT_TRUE(close_rel(res.value[SL_CH_LA], log(A0), 1e-6));
  CU_ASSERT_TRUE(close_rel(res.value[SL_CH_LE], log(E0), 1e-6));
  CU_ASSERT_EQUAL(res.n_used, 64);
  CU_ASSERT_EQUAL(res.n_dropped, 0);
  CU_ASSERT_EQUAL(res.n_starts, 4500);
  CU_ASSERT_EQUAL(res.n_boot, 0);
  CU_ASSERT_TRUE(isnan(res.se[SL_CH_E]));
  CU_ASSERT_PTR_NOT_NULL(strstr(res.notes, "4500 grid starts"));
  CU_ASSERT_PTR_NOT_NULL(strstr(res.notes, "no bootstrap"));
  /* predict through the ops table reproduces the law */
  double pred[2];
  SL_ASSERT_OK(sl_fit_chinchilla_ops.predict(&res, n, d, 2, pred));
  CU_ASSERT_TRUE(close_rel(pred[1], l[1], 1e-7));
  sl_fit_result_free(&res);
}

/* E held at a known value (slingshot's languages know their entropy rate): the other four
 * parameters are recovered, E is reported exactly and marked fixed, and a wrong E is felt. */
static void test_chinchilla_fixed_E(void) {
  double n[64], d[64], l[64];
  grid8(0.0, 1, n, d, l);
  sl_fit_data data = {64, n, d, l};
  sl_fit_options opt;
  sl_fit_options_default(&opt);
  opt.bootstrap = 20;
  opt.fixed_E = E0;
  sl_fit_result res;
  SL_ASSERT_OK(sl_fit_run("chinchilla", &data, &opt, &res));
  CU_ASSERT_EQUAL(res.value[SL_CH_E], E0);
  CU_ASSERT_TRUE(res.fixed[SL_CH_E] && res.fixed[SL_CH_LE] && !res.fixed[SL_CH_ALPHA]);
  CU_ASSERT_TRUE(close_rel(res.value[SL_CH_A], A0, 1e-5));
  CU_ASSERT_TRUE(close_rel(res.value[SL_CH_B], B0, 1e-5));
  CU_ASSERT_TRUE(close_rel(res.value[SL_CH_ALPHA], AL0, 1e-6));
  CU_ASSERT_TRUE(close_rel(res.value[SL_CH_BETA], BE0, 1e-6));
  CU_ASSERT_PTR_NOT_NULL(strstr(res.notes, "E held at 1.69"));
  for (size_t r = 0; r < res.n_boot; r++)
    CU_ASSERT_EQUAL(res.boot[r * 8 + SL_CH_E], E0);
  double objective_true = res.objective;
  sl_fit_result_free(&res);
  opt.fixed_E = 1.2 * E0; /* a wrong E cannot fit exact data as well */
  opt.bootstrap = 0;
  SL_ASSERT_OK(sl_fit_run("chinchilla", &data, &opt, &res));
  CU_ASSERT_EQUAL(res.value[SL_CH_E], 1.2 * E0);
  CU_ASSERT_TRUE(res.objective > 100 * objective_true + 1e-12);
  sl_fit_result_free(&res);
}

static void test_chinchilla_noisy(void) {
  /* 2% multiplicative noise, 64 points, 200 resamples, plus two bad points that must be dropped
   * and recorded. */
  double n[66], d[66], l[66];
  grid8(0.02, 7, n, d, l);
  n[64] = 1e8, d[64] = 1e9, l[64] = -1.0;
  n[65] = 1e8, d[65] = NAN, l[65] = 3.0;
  sl_fit_data data = {66, n, d, l};
  sl_fit_options opt;
  sl_fit_options_default(&opt);
  opt.bootstrap = 200;
  opt.seed = 3;
  sl_fit_result res;
  SL_ASSERT_OK(sl_fit_run("chinchilla", &data, &opt, &res));
  const double truth[5] = {E0, A0, B0, AL0, BE0};
  printf("\n");
  for (size_t j = 0; j < 5; j++) {
    printf("    %-6s %.5g  se %.3g  [%.5g, %.5g]  truth %.5g\n", res.names[j], res.value[j],
           res.se[j], res.lo[j], res.hi[j], truth[j]);
    CU_ASSERT_TRUE(res.lo[j] <= truth[j] && truth[j] <= res.hi[j]);
    CU_ASSERT_TRUE(res.se[j] > 0 && isfinite(res.se[j]));
    CU_ASSERT_TRUE(res.lo[j] < res.value[j] && res.value[j] < res.hi[j]);
  }
  CU_ASSERT_TRUE(close_rel(res.value[SL_CH_ALPHA], AL0, 0.1));
  CU_ASSERT_TRUE(close_rel(res.value[SL_CH_BETA], BE0, 0.1));
  CU_ASSERT_TRUE(close_rel(res.value[SL_CH_E], E0, 0.05));
  CU_ASSERT_TRUE(res.n_boot >= 195);
  CU_ASSERT_EQUAL(res.n_boot + res.n_boot_failed, 200);
  CU_ASSERT_PTR_NOT_NULL(res.boot);
  CU_ASSERT_EQUAL(res.n_points, 66);
  CU_ASSERT_EQUAL(res.n_used, 64);
  CU_ASSERT_EQUAL_FATAL(res.n_dropped, 2);
  CU_ASSERT_EQUAL(res.dropped[0], 64);
  CU_ASSERT_EQUAL(res.dropped[1], 65);
  CU_ASSERT_PTR_NOT_NULL(strstr(res.notes, "dropped point 64 (y <= 0)"));
  CU_ASSERT_PTR_NOT_NULL(strstr(res.notes, "dropped point 65 (z not finite)"));
  CU_ASSERT_PTR_NOT_NULL(strstr(res.notes, "200 resamples"));

  /* The frontier carries intervals from the replicates, and they hold the point estimate. */
  sl_frontier_fit fr;
  SL_ASSERT_OK(sl_frontier_from_fit(&res, &fr));
  CU_ASSERT_TRUE(fr.n_boot >= 195);
  CU_ASSERT_TRUE(fr.G.se > 0 && fr.G.lo < fr.G.value && fr.G.value < fr.G.hi);
  CU_ASSERT_TRUE(fr.a_N.lo < 0.4516 && 0.4516 < fr.a_N.hi);
  sl_estimate no, dopt, tpp;
  SL_ASSERT_OK(sl_frontier_fit_at(&res, 5.76e23, &no, &dopt, &tpp));
  CU_ASSERT_TRUE(no.lo < no.value && no.value < no.hi);
  CU_ASSERT_TRUE(close_rel(6.0 * no.value * dopt.value, 5.76e23, 1e-12));
  CU_ASSERT_TRUE(close_rel(tpp.value, dopt.value / no.value, 1e-12));

  /* Same seed, same replicates: the bootstrap is a pure function of (data, seed). */
  sl_fit_result again;
  opt.bootstrap = 20;
  SL_ASSERT_OK(sl_fit_run("chinchilla", &data, &opt, &again));
  CU_ASSERT_EQUAL(memcmp(again.boot, res.boot, 8 * sizeof(double) * again.n_boot), 0);
  CU_ASSERT_EQUAL(memcmp(again.value, res.value, sizeof res.value), 0);
  sl_fit_result_free(&again);
  sl_fit_result_free(&res);
}

static void test_chinchilla_too_few(void) {
  double n[5] = {1e7, 1e8, 1e9, 1e7, 1e8}, d[5] = {1e9, 1e9, 1e9, 1e10, 1e10}, l[5];
  for (size_t i = 0; i < 5; i++)
    l[i] = law(n[i], d[i]);
  sl_fit_data data = {5, n, d, l};
  sl_fit_options opt;
  sl_fit_options_default(&opt);
  sl_fit_result res;
  sl_error_clear();
  CU_ASSERT_EQUAL(sl_fit_run("chinchilla", &data, &opt, &res), SL_ERR_ARG);
  CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), "more points than its 5 parameters"));
  sl_fit_result_free(&res);
  sl_error_clear();
}

static void test_frontier_published(void) {
  sl_frontier f;
  SL_ASSERT_OK(sl_frontier_from_params(A0, B0, AL0, BE0, &f));
  printf("\n    G %.6f a_N %.6f a_D %.6f", f.G, f.a_N, f.a_D);
  CU_ASSERT_DOUBLE_EQUAL(f.G, 1.3447, 5e-5);
  CU_ASSERT_DOUBLE_EQUAL(f.a_N, 0.4516, 5e-5);
  CU_ASSERT_DOUBLE_EQUAL(f.a_D, 0.5484, 5e-5);
  double n, d;
  SL_ASSERT_OK(sl_frontier_at(&f, 5.76e23, &n, &d));
  printf(" N_opt %.6g D_opt %.6g\n", n, d);
  CU_ASSERT_DOUBLE_EQUAL(n / 1e10, 3.22, 0.005);
  CU_ASSERT_DOUBLE_EQUAL(d / 1e12, 2.98, 0.005);
  CU_ASSERT_TRUE(close_rel(6.0 * n * d, 5.76e23, 1e-12));
  CU_ASSERT_EQUAL(sl_frontier_from_params(A0, B0, 0.0, BE0, &f), SL_ERR_ARG);
  /* a degenerate fit (seen on the flatness grid: A = inf, alpha = 170) has no frontier */
  CU_ASSERT_TRUE(sl_frontier_defined(A0, B0, AL0, BE0));
  CU_ASSERT_FALSE(sl_frontier_defined(INFINITY, 1.53, 170.5, 0.137));
  CU_ASSERT_FALSE(sl_frontier_defined(A0, NAN, AL0, BE0));
  CU_ASSERT_FALSE(sl_frontier_defined(A0, B0, AL0, -0.1));
  CU_ASSERT_EQUAL(sl_frontier_from_params(INFINITY, 1.53, 170.5, 0.137, &f), SL_ERR_ARG);
  CU_ASSERT_EQUAL(sl_frontier_at(&f, -1.0, &n, &d), SL_ERR_ARG);
  sl_error_clear();

  /* A hand-made result with identical replicates: zero spread, interval = the value. */
  sl_fit_result res;
  memset(&res, 0, sizeof res);
  res.family = "chinchilla";
  res.n_params = 8;
  double v[8] = {E0, A0, B0, AL0, BE0, log(A0), log(B0), log(E0)};
  memcpy(res.value, v, sizeof v);
  double boot[3 * 8];
  for (size_t r = 0; r < 3; r++)
    memcpy(boot + 8 * r, v, sizeof v);
  res.boot = boot;
  res.n_boot = 3;
  sl_frontier_fit fr;
  SL_ASSERT_OK(sl_frontier_from_fit(&res, &fr));
  CU_ASSERT_DOUBLE_EQUAL(fr.G.value, 1.3447, 5e-5);
  CU_ASSERT_DOUBLE_EQUAL(fr.G.se, 0.0, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(fr.G.lo, fr.G.value, 1e-12);
  CU_ASSERT_EQUAL(fr.n_boot, 3);
}

static void test_kausik(void) {
  sl_kausik k;
  SL_ASSERT_OK(sl_kausik_reconstruct(0.28, &k));
  printf("\n    gamma %.4f %.4f %.4f doubling %.4f %.4f %.4f\n", k.gamma_hi, k.gamma_lo,
         k.gamma_mid, k.doubling_hi, k.doubling_lo, k.doubling_mid);
  CU_ASSERT_DOUBLE_EQUAL(k.gamma_hi, 0.72, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(k.gamma_lo, 0.44, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(k.gamma_mid, 0.58, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(k.doubling_hi, 2.62, 0.005);
  CU_ASSERT_DOUBLE_EQUAL(k.doubling_lo, 4.83, 0.005);
  CU_ASSERT_DOUBLE_EQUAL(k.doubling_mid, 3.30, 0.005);
  char buf[2048] = {0};
  FILE *f = fmemopen(buf, sizeof buf - 1, "w");
  SL_ASSERT_OK(sl_kausik_print(&k, f));
  fclose(f);
  CU_ASSERT_PTR_NOT_NULL(strstr(buf, "RECONSTRUCTION"));
  CU_ASSERT_PTR_NOT_NULL(strstr(buf, "4.83"));
  SL_ASSERT_OK(sl_kausik_reconstruct(0.6, &k));
  CU_ASSERT_TRUE(isnan(k.doubling_lo));
}

static void test_powerlaw(void) {
  double x[20], y[20];
  for (size_t i = 0; i < 20; i++) {
    x[i] = pow(10.0, 3.0 + 0.25 * (double)i);
    y[i] = 3.0 * pow(x[i], 0.7);
  }
  sl_fit_result res;
  SL_ASSERT_OK(sl_fit_powerlaw(x, y, 20, &res));
  CU_ASSERT_DOUBLE_EQUAL(res.value[SL_PL_K], 0.7, 1e-12);
  CU_ASSERT_TRUE(close_rel(res.value[SL_PL_C], 3.0, 1e-10));
  CU_ASSERT_TRUE(res.se[SL_PL_K] < 1e-10);
  sl_fit_result_free(&res);

  /* 5% noise: k within its t interval, which is a sensible width. */
  sl_rng r;
  sl_rng_seed(&r, 11);
  for (size_t i = 0; i < 20; i++)
    y[i] *= exp(0.05 * sl_rng_normal(&r));
  x[3] = -1.0; /* dropped and recorded */
  sl_fit_data data = {20, x, NULL, y};
  sl_fit_options opt;
  sl_fit_options_default(&opt);
  SL_ASSERT_OK(sl_fit_run("powerlaw", &data, &opt, &res));
  printf("\n    k %.5f se %.3g [%.5f, %.5f]; c %.4f [%.4f, %.4f]\n", res.value[SL_PL_K],
         res.se[SL_PL_K], res.lo[SL_PL_K], res.hi[SL_PL_K], res.value[SL_PL_C], res.lo[SL_PL_C],
         res.hi[SL_PL_C]);
  CU_ASSERT_TRUE(res.lo[SL_PL_K] <= 0.7 && 0.7 <= res.hi[SL_PL_K]);
  CU_ASSERT_TRUE(res.lo[SL_PL_C] <= 3.0 && 3.0 <= res.hi[SL_PL_C]);
  CU_ASSERT_TRUE(res.se[SL_PL_K] > 1e-4 && res.se[SL_PL_K] < 0.02);
  CU_ASSERT_EQUAL(res.n_used, 19);
  CU_ASSERT_EQUAL_FATAL(res.n_dropped, 1);
  CU_ASSERT_EQUAL(res.dropped[0], 3);
  CU_ASSERT_PTR_NOT_NULL(strstr(res.notes, "dropped point 3 (x <= 0)"));
  sl_fit_result_free(&res);

  SL_ASSERT_OK(sl_fit_unique_exponent(x + 4, y + 4, 16, &res));
  CU_ASSERT_TRUE(res.lo[SL_PL_K] <= 0.7 && 0.7 <= res.hi[SL_PL_K]);
  CU_ASSERT_PTR_NOT_NULL(strstr(res.notes, "U(D)"));
  sl_fit_result_free(&res);
  sl_error_clear();
  CU_ASSERT_EQUAL(sl_fit_powerlaw(x, y, 1, &res), SL_ERR_ARG);
  sl_fit_result_free(&res);
  sl_error_clear();
}

static void test_efficient_frontier(void) {
  /* For each D, N* = 2 D^0.5 is the smallest N reaching the best loss: loss = 1 above N*, and
   * grows below it. The N grid holds every N* and some others. */
  double ds[6] = {1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
  double n[6 * 9], d[6 * 9], l[6 * 9];
  size_t k = 0;
  for (size_t j = 0; j < 6; j++) {
    double nstar = 2.0 * sqrt(ds[j]);
    for (size_t i = 0; i < 9; i++) {
      n[k] = i < 6 ? 2.0 * sqrt(ds[i]) : pow(10.0, 1.5 + (double)i);
      d[k] = ds[j];
      l[k] = 1.0 + fmax(0.0, log(nstar / n[k]));
      k++;
    }
  }
  double fd[54], fn[54];
  size_t nf = 0;
  sl_fit_result res;
  SL_ASSERT_OK(sl_fit_efficient_frontier(n, d, l, k, 1e-9, fd, fn, &nf, &res));
  CU_ASSERT_EQUAL(nf, 6);
  CU_ASSERT_DOUBLE_EQUAL(fd[0], 1e4, 1e-9);
  CU_ASSERT_TRUE(close_rel(fn[2], 2.0 * sqrt(1e6), 1e-12));
  CU_ASSERT_DOUBLE_EQUAL(res.value[SL_PL_K], 0.5, 1e-10);
  CU_ASSERT_TRUE(close_rel(res.value[SL_PL_C], 2.0, 1e-9));
  CU_ASSERT_PTR_NOT_NULL(strstr(res.notes, "efficient frontier"));
  sl_fit_result_free(&res);
  /* With a tolerance of 0.7 nats, a point one grid step below N* (loss 1 + ln 10^0.5 = 2.15)
   * does not count, so the frontier is unchanged; with 2 it does: one grid step down. */
  SL_ASSERT_OK(sl_fit_efficient_frontier(n, d, l, k, 0.7, fd, fn, &nf, &res));
  CU_ASSERT_DOUBLE_EQUAL(res.value[SL_PL_K], 0.5, 1e-10);
  sl_fit_result_free(&res);
  SL_ASSERT_OK(sl_fit_efficient_frontier(n, d, l, k, 2.0, fd, fn, &nf, &res));
  CU_ASSERT_TRUE(close_rel(fn[2], 2.0 * sqrt(1e5), 1e-12));
  sl_fit_result_free(&res);
}

static void test_sigmoid(void) {
  /* Competence rising through 1e6 with width 0.8 in ln x, lo = 0 and hi = 1 fixed, 2% noise. */
  const double m0 = log(1e6), w0 = 0.8;
  double x[25], y[25];
  sl_rng r;
  sl_rng_seed(&r, 5);
  for (size_t i = 0; i < 25; i++) {
    x[i] = pow(10.0, 4.0 + 4.0 * (double)i / 24.0);
    y[i] = 1.0 / (1.0 + exp(-(log(x[i]) - m0) / w0)) + 0.02 * sl_rng_normal(&r);
  }
  sl_fit_data data = {25, x, NULL, y};
  sl_fit_options opt;
  sl_fit_options_default(&opt);
  sl_fit_result res;
  SL_ASSERT_OK(sl_fit_run("sigmoid_log", &data, &opt, &res));
  printf("\n    m %.4f se %.3g [%.4f, %.4f] (truth %.4f); w %.4f se %.3g [%.4f, %.4f]\n",
         res.value[SL_SG_M], res.se[SL_SG_M], res.lo[SL_SG_M], res.hi[SL_SG_M], m0,
         res.value[SL_SG_W], res.se[SL_SG_W], res.lo[SL_SG_W], res.hi[SL_SG_W]);
  CU_ASSERT_TRUE(res.lo[SL_SG_M] <= m0 && m0 <= res.hi[SL_SG_M]);
  CU_ASSERT_TRUE(res.lo[SL_SG_W] <= w0 && w0 <= res.hi[SL_SG_W]);
  CU_ASSERT_TRUE(fabs(res.value[SL_SG_M] - m0) < 0.1);
  CU_ASSERT_TRUE(res.se[SL_SG_M] > 0 && res.se[SL_SG_M] < 0.1);
  CU_ASSERT_TRUE(res.fixed[SL_SG_LO] && res.fixed[SL_SG_HI]);
  CU_ASSERT_EQUAL(res.value[SL_SG_HI], 1.0);
  CU_ASSERT_PTR_NOT_NULL(strstr(res.notes, "lo fixed at 0"));
  sl_fit_result_free(&res);

  /* lo and hi fitted, no noise: exact recovery. */
  for (size_t i = 0; i < 25; i++)
    y[i] = 0.1 + 0.8 / (1.0 + exp(-(log(x[i]) - m0) / w0));
  opt.sigmoid_fit_lo = opt.sigmoid_fit_hi = 1;
  opt.sigmoid_lo = 0.0;
  opt.sigmoid_hi = 1.0;
  SL_ASSERT_OK(sl_fit_run("sigmoid_log", &data, &opt, &res));
  CU_ASSERT_DOUBLE_EQUAL(res.value[SL_SG_M], m0, 1e-6);
  CU_ASSERT_DOUBLE_EQUAL(res.value[SL_SG_W], w0, 1e-6);
  CU_ASSERT_DOUBLE_EQUAL(res.value[SL_SG_LO], 0.1, 1e-6);
  CU_ASSERT_DOUBLE_EQUAL(res.value[SL_SG_HI], 0.9, 1e-6);
  CU_ASSERT_FALSE(res.fixed[SL_SG_LO]);
  double p[1];
  SL_ASSERT_OK(sl_fit_sigmoid_log_ops.predict(&res, x + 12, NULL, 1, p));
  CU_ASSERT_DOUBLE_EQUAL(p[0], y[12], 1e-6);
  sl_fit_result_free(&res);
}

static void test_families(void) {
  const sl_fit_ops *ops = NULL;
  SL_ASSERT_OK(sl_fit_family("chinchilla", &ops));
  CU_ASSERT_EQUAL(ops->n_params, 8);
  CU_ASSERT_EQUAL(ops->n_free, 5);
  CU_ASSERT_STRING_EQUAL(ops->param_names[SL_CH_ALPHA], "alpha");
  CU_ASSERT_STRING_EQUAL(ops->param_names[SL_CH_LE], "e");
  SL_ASSERT_OK(sl_fit_family("powerlaw", &ops));
  CU_ASSERT_STRING_EQUAL(ops->param_names[SL_PL_K], "k");
  SL_ASSERT_OK(sl_fit_family("sigmoid_log", &ops));
  CU_ASSERT_EQUAL(ops->n_inputs, 1);
  sl_error_clear();
  CU_ASSERT_EQUAL(sl_fit_family("chinchila", &ops), SL_ERR_ARG);
  CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), "chinchilla, powerlaw, sigmoid_log"));
  sl_fit_result res;
  memset(&res, 0, sizeof res);
  res.family = "powerlaw";
  res.n_params = 3;
  res.names = sl_fit_powerlaw_ops.param_names;
  size_t idx = 9;
  SL_ASSERT_OK(sl_fit_param(&res, "log_c", &idx));
  CU_ASSERT_EQUAL(idx, SL_PL_LOGC);
  CU_ASSERT_EQUAL(sl_fit_param(&res, "beta", &idx), SL_ERR_ARG);
  CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), "k, c, log_c"));
  sl_error_clear();
}

/* Runs sl_cmd_fit with stdout captured into out. */
static int run_fit_cmd(int argc, char **argv, char *out, size_t cap) {
  char path[] = "/tmp/slingshot_test_fit_out_XXXXXX";
  int fd = mkstemp(path);
  CU_ASSERT_FATAL(fd >= 0);
  fflush(stdout);
  int saved = dup(1);
  dup2(fd, 1);
  int err = sl_cmd_fit(argc, argv, MPI_COMM_WORLD);
  fflush(stdout);
  dup2(saved, 1);
  close(saved);
  lseek(fd, 0, SEEK_SET);
  ssize_t got = read(fd, out, cap - 1);
  out[got > 0 ? got : 0] = '\0';
  close(fd);
  unlink(path);
  return err;
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  CU_ASSERT_PTR_NOT_NULL_FATAL(f);
  fputs(text, f);
  fclose(f);
}

static void test_fit_command(void) {
  static char out[1 << 16];
  char path[] = "/tmp/slingshot_test_fit_XXXXXX";
  int fd = mkstemp(path);
  CU_ASSERT_FATAL(fd >= 0);
  FILE *f = fdopen(fd, "w");
  double n[64], d[64], l[64];
  grid8(0.01, 9, n, d, l);
  fprintf(f, "params,compute,val_loss\n"); /* other header names, and C instead of D */
  for (size_t i = 0; i < 64; i++)
    fprintf(f, "%.17g,%.17g,%.17g\n", n[i], 6.0 * n[i] * d[i], l[i]);
  fclose(f);

  char *ok_argv[] = {"fit",     "--csv",      path,       "--n-col",        "params", "--c-col",
                     "compute", "--loss-col", "val_loss", "--bootstrap=20", "--seed", "4"};
  SL_ASSERT_OK(run_fit_cmd(12, ok_argv, out, sizeof out));
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "alpha"));
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "D = C / (6 N)"));
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "Compute-optimal frontier"));
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "a_N"));
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "RECONSTRUCTION"));
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "20 resamples"));

  char *help_argv[] = {"fit", "--help"};
  SL_ASSERT_OK(run_fit_cmd(2, help_argv, out, sizeof out));
  CU_ASSERT_PTR_NOT_NULL(strstr(out, "usage: slingshot fit --csv FILE"));

  sl_error_clear();
  char *missing_argv[] = {"fit", "--csv", "/nonexistent/runs.csv"};
  CU_ASSERT_EQUAL(run_fit_cmd(3, missing_argv, out, sizeof out), SL_ERR_IO);
  CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), "/nonexistent/runs.csv"));

  /* The default column names are not in this file: the error lists the ones that are. */
  char *nocol_argv[] = {"fit", "--csv", path};
  CU_ASSERT_EQUAL(run_fit_cmd(3, nocol_argv, out, sizeof out), SL_ERR_FORMAT);
  CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), "no column 'N'"));
  CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), "'params', 'compute', 'val_loss'"));

  write_file(path, "N,D,loss\n1e7,1e9,3\n1e8,1e9,2.9\n1e9,1e9,2.8\n1e7,1e10,2.7\n1e8,1e10,two\n"
                   "1e9,1e10,2.5\n");
  CU_ASSERT_EQUAL(run_fit_cmd(3, nocol_argv, out, sizeof out), SL_ERR_FORMAT);
  CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), ":6: column 'loss' (column 3): 'two'"));

  write_file(path, "N,D,loss\n1e7,1e9,3\n1e8,1e9,2.9\n1e9,1e9,2.8\n1e7,1e10,2.7\n1e8,0,2.6\n"
                   "1e9,1e10,2.5\n");
  CU_ASSERT_EQUAL(run_fit_cmd(3, nocol_argv, out, sizeof out), SL_ERR_ARG);
  CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), ":6: column 'D' must be positive"));

  write_file(path, "N,D,loss\n1e7,1e9,3\n1e8,1e9,2.9\n");
  CU_ASSERT_EQUAL(run_fit_cmd(3, nocol_argv, out, sizeof out), SL_ERR_ARG);
  CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), "2 data rows"));

  write_file(path, "");
  CU_ASSERT_EQUAL(run_fit_cmd(3, nocol_argv, out, sizeof out), SL_ERR_FORMAT);
  CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), "empty"));

  char *bad_argv[] = {"fit", "--csv", path, "--bootsrap", "10"};
  CU_ASSERT_EQUAL(run_fit_cmd(5, bad_argv, out, sizeof out), SL_ERR_ARG);
  CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), "did you mean --bootstrap"));
  char *nocsv_argv[] = {"fit"};
  CU_ASSERT_EQUAL(run_fit_cmd(1, nocsv_argv, out, sizeof out), SL_ERR_ARG);
  CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), "--csv FILE is required"));
  unlink(path);
  sl_error_clear();
}

int main(int argc, char **argv) {
  static const sl_test tests[] = {{"chinchilla exact recovery", test_chinchilla_exact},
                                  {"chinchilla noisy, bootstrap", test_chinchilla_noisy},
                                  {"chinchilla with E held", test_chinchilla_fixed_E},
                                  {"chinchilla too few points", test_chinchilla_too_few},
                                  {"frontier at published constants", test_frontier_published},
                                  {"kausik reconstruction", test_kausik},
                                  {"power law", test_powerlaw},
                                  {"efficient frontier", test_efficient_frontier},
                                  {"sigmoid in log scale", test_sigmoid},
                                  {"family table", test_families},
                                  {"fit command", test_fit_command},
                                  {NULL, NULL}};
  return sl_test_main(argc, argv, "fit", tests);
}
