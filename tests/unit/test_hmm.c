/* The HMM language: the scaled forward algorithm against brute-force sums over hidden paths,
 * normalisation over all sequences, next-token distributions against ratios of sequence
 * probabilities, the entropy-rate estimate against the closed form of a Markov chain, sampling
 * against exact probabilities (chi-square), the Dirichlet rows against their known moments, the
 * stationary distribution, determinism, the prefix property and validation. */
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/error.h"
#include "slingshot/hmm.h"
#include "slingshot/rng.h"
#include "test_util.h"

static sl_hmm_params make_params(int H, int V, int tk, int ek, double ta, double ea) {
  sl_hmm_params p;
  memset(&p, 0, sizeof p);
  p.H = H;
  p.V = V;
  p.trans_k = tk;
  p.emit_k = ek;
  p.trans_alpha = ta;
  p.emit_alpha = ea;
  return p;
}

/* Dense copies of the sparse rows: the reference computations read only these. */
static double *dense_of(const sl_hmm_rows *R, int n_cols) {
  double *D = calloc((size_t)R->n_rows * (size_t)n_cols, sizeof *D);
  for (int i = 0; i < R->n_rows; i++)
    for (int64_t e = R->start[i]; e < R->start[i + 1]; e++)
      D[(size_t)i * n_cols + R->col[e]] += R->prob[e];
  return D;
}

/* P(x[0..n)) = sum over every hidden path of pi(h0) B(h0, x0) prod_t A(h_{t-1}, h_t) B(h_t, x_t),
 * by enumerating the H^n paths. */
static double brute_prob(int H, int V, const double *pi, const double *A, const double *B,
                         const int32_t *x, int n) {
  int h[16] = {0};
  double total = 0;
  for (;;) {
    double p = pi[h[0]] * B[(size_t)h[0] * V + x[0]];
    for (int t = 1; t < n && p > 0; t++)
      p *= A[(size_t)h[t - 1] * H + h[t]] * B[(size_t)h[t] * V + x[t]];
    total += p;
    int t = 0;
    while (t < n && ++h[t] == H)
      h[t++] = 0;
    if (t == n) break;
  }
  return total;
}

static void next_seq(int32_t *x, int n, int V, int *done) {
  int t = 0;
  while (t < n && ++x[t] == V)
    x[t++] = 0;
  *done = t == n;
}

static void check_stationary(const sl_hmm *L, double tol) {
  double s = 0, worst = 0;
  double *piA = calloc((size_t)L->H, sizeof *piA);
  for (int i = 0; i < L->H; i++) {
    s += L->pi[i];
    for (int64_t e = L->A.start[i]; e < L->A.start[i + 1]; e++)
      piA[L->A.col[e]] += L->pi[i] * L->A.prob[e];
  }
  for (int i = 0; i < L->H; i++)
    worst = fmax(worst, fabs(piA[i] - L->pi[i]));
  printf("\n  H = %d: |pi A - pi|_max = %.3g, sum pi - 1 = %.3g\n", L->H, worst, s - 1);
  CU_ASSERT(worst < tol);
  CU_ASSERT(fabs(s - 1) < 1e-12);
  free(piA);
}

/* ---- tests ---- */

static void test_rows_and_stationary(void) {
  sl_hmm *L = NULL;
  sl_hmm_params p = make_params(40, 30, 5, 7, 0.5, 2.0);
  SL_ASSERT_OK(sl_hmm_create(&p, 11, &L));
  for (int i = 0; i < L->H; i++) {
    CU_ASSERT_EQUAL(L->A.start[i + 1] - L->A.start[i], 5);
    CU_ASSERT_EQUAL(L->B.start[i + 1] - L->B.start[i], 7);
    double sa = 0, sb = 0;
    int has_next = 0;
    for (int64_t e = L->A.start[i]; e < L->A.start[i + 1]; e++) {
      sa += L->A.prob[e];
      CU_ASSERT(L->A.prob[e] > 0);
      has_next |= L->A.col[e] == (i + 1) % L->H;
      if (e > L->A.start[i]) CU_ASSERT(L->A.col[e] > L->A.col[e - 1]); /* distinct, sorted */
    }
    for (int64_t e = L->B.start[i]; e < L->B.start[i + 1]; e++) {
      sb += L->B.prob[e];
      if (e > L->B.start[i]) CU_ASSERT(L->B.col[e] > L->B.col[e - 1]);
    }
    CU_ASSERT(has_next);
    CU_ASSERT_DOUBLE_EQUAL(sa, 1.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(sb, 1.0, 1e-12);
  }
  check_stationary(L, 1e-13);
  sl_hmm_destroy(L);
  /* Above SL_HMM_DENSE_PI_MAX: the power iteration. */
  p = make_params(SL_HMM_DENSE_PI_MAX + 300, 16, 4, 3, 1.0, 1.0);
  SL_ASSERT_OK(sl_hmm_create(&p, 12, &L));
  check_stationary(L, 1e-13);
  sl_hmm_destroy(L);
}

/* Dirichlet(alpha) with k entries: E w = 1/k, Var w = (k - 1) / (k^2 (k alpha + 1)). Emission
 * rows with emit_k = V hold every entry, so the pooled entries of 4000 rows test the gamma
 * sampler on both branches (alpha < 1 and >= 1). */
static void test_dirichlet_moments(void) {
  const double alphas[2] = {0.3, 2.5};
  const int k = 4, H = 4000;
  for (int a = 0; a < 2; a++) {
    sl_hmm *L = NULL;
    sl_hmm_params p = make_params(H, k, 2, k, 1.0, alphas[a]);
    SL_ASSERT_OK(sl_hmm_create(&p, 21 + a, &L));
    double m1 = 0, m2 = 0;
    const size_t n = (size_t)H * k;
    for (size_t e = 0; e < n; e++) {
      m1 += L->B.prob[e];
      m2 += L->B.prob[e] * L->B.prob[e];
    }
    m1 /= n;
    const double var = m2 / n - m1 * m1;
    const double want = (k - 1.0) / ((double)k * k * (k * alphas[a] + 1));
    /* The sample variance of 16000 draws (4000 rows) has a relative standard error near
     * sqrt(2 / 4000) ~ 2-3%; 10% is well outside the noise and well inside a wrong sampler. */
    printf("\n  alpha = %.1f: Var w = %.5f, exact %.5f\n", alphas[a], var, want);
    CU_ASSERT(fabs(var / want - 1) < 0.10);
    sl_hmm_destroy(L);
  }
}

static void test_forward_vs_brute_force(void) {
  const int H = 3, V = 4, n = 6;
  sl_hmm *L = NULL;
  sl_hmm_params p = make_params(H, V, 2, 2, 0.8, 0.8); /* zeros in both matrices */
  SL_ASSERT_OK(sl_hmm_create(&p, 5, &L));
  double *A = dense_of(&L->A, H), *B = dense_of(&L->B, V);
  int32_t x[6] = {0};
  double total = 0, worst = 0;
  int done = 0, n_zero = 0;
  while (!done) {
    double lp;
    SL_ASSERT_OK(sl_hmm_log_prob(L, x, n, &lp));
    const double ref = brute_prob(H, V, L->pi, A, B, x, n);
    if (ref == 0) {
      CU_ASSERT(lp == -INFINITY);
      n_zero++;
    } else {
      worst = fmax(worst, fabs(lp - log(ref)));
    }
    total += exp(lp);
    next_seq(x, n, V, &done);
  }
  printf("\n  %d sequences of length %d (%d impossible): max |ln p - ln p_brute| = %.3g, "
         "sum p - 1 = %.3g\n",
         (int)pow(V, n), n, n_zero, worst, total - 1);
  CU_ASSERT(worst < 1e-12);
  CU_ASSERT(fabs(total - 1) < 1e-12);
  CU_ASSERT(n_zero > 0); /* the zeros are exercised */
  free(A);
  free(B);
  sl_hmm_destroy(L);
}

static void test_next_dist(void) {
  const int H = 3, V = 4;
  sl_hmm *L = NULL;
  sl_hmm_params p = make_params(H, V, 3, 3, 1.0, 1.0);
  SL_ASSERT_OK(sl_hmm_create(&p, 7, &L));
  double *A = dense_of(&L->A, H), *B = dense_of(&L->B, V);
  sl_rng r;
  sl_rng_seed(&r, 99);
  int32_t x[8];
  int hidden = -1;
  SL_ASSERT_OK(sl_hmm_generate(L, &r, &hidden, x, NULL, 7));
  double f[3], work[3], q[4], worst = 0;
  SL_ASSERT_OK(sl_hmm_forward_init(L, f));
  for (int t = 0; t <= 6; t++) { /* the distribution after the first t tokens */
    SL_ASSERT_OK(sl_hmm_next_dist(L, f, q));
    double s = 0;
    const double den = t == 0 ? 1.0 : brute_prob(H, V, L->pi, A, B, x, t);
    for (int v = 0; v < V; v++) {
      s += q[v];
      int32_t y[8];
      memcpy(y, x, (size_t)t * sizeof *y);
      y[t] = v;
      worst = fmax(worst, fabs(q[v] - brute_prob(H, V, L->pi, A, B, y, t + 1) / den));
    }
    CU_ASSERT_DOUBLE_EQUAL(s, 1.0, 1e-13);
    double lp;
    SL_ASSERT_OK(sl_hmm_forward_step(L, f, x[t], &lp, work));
    CU_ASSERT_DOUBLE_EQUAL(lp, log(q[x[t]]), 1e-12);
  }
  printf("\n  max |p(v | x_<t) - P(x_<t v) / P(x_<t)| = %.3g\n", worst);
  CU_ASSERT(worst < 1e-13);
  /* An impossible token is reported. */
  double g[3];
  SL_ASSERT_OK(sl_hmm_forward_init(L, g));
  SL_ASSERT_OK(sl_hmm_next_dist(L, g, q));
  for (int v = 0; v < V; v++)
    if (q[v] == 0) {
      double lp;
      CU_ASSERT_EQUAL(sl_hmm_forward_step(L, g, v, &lp, work), SL_ERR_ARG);
      CU_ASSERT(lp == -INFINITY);
    }
  sl_error_clear();
  free(A);
  free(B);
  sl_hmm_destroy(L);
}

/* Identity emissions make the HMM a Markov chain: entropy rate -sum_i pi_i sum_j A_ij log2 A_ij. */
static void test_entropy_rate_markov(void) {
  const int H = 8;
  sl_hmm *R = NULL, *L = NULL;
  sl_hmm_params p = make_params(H, H, 3, 1, 0.7, 1.0);
  SL_ASSERT_OK(sl_hmm_create(&p, 31, &R));
  double *A = dense_of(&R->A, H), *I = calloc((size_t)H * H, sizeof *I);
  for (int i = 0; i < H; i++)
    I[(size_t)i * H + i] = 1;
  SL_ASSERT_OK(sl_hmm_create_dense(H, H, A, I, &L));
  check_stationary(L, 1e-13);
  double exact = 0;
  for (int i = 0; i < H; i++)
    for (int j = 0; j < H; j++) {
      const double a = A[(size_t)i * H + j];
      if (a > 0) exact -= L->pi[i] * a * log2(a);
    }
  sl_rng r;
  sl_rng_seed(&r, 4242);
  double mean, se;
  SL_ASSERT_OK(sl_hmm_entropy_rate(L, &r, 400000, 100, 40, &mean, &se));
  printf("\n  Markov chain H = %d: estimate %.5f +- %.5f bits/token, exact %.5f (z = %.2f)\n", H,
         mean, se, exact, (mean - exact) / se);
  CU_ASSERT(fabs(mean - exact) < 4 * se);
  CU_ASSERT(se > 0 && se < 0.01);
  /* A general HMM: the rate is below the entropy of the marginal token distribution and
   * above 0; the interval is tight. */
  sl_hmm *G = NULL;
  sl_hmm_params pg = make_params(16, 12, 3, 4, 0.5, 0.5);
  SL_ASSERT_OK(sl_hmm_create(&pg, 8, &G));
  double pm[12], hm = 0;
  SL_ASSERT_OK(sl_hmm_next_dist(G, G->pi, pm));
  for (int v = 0; v < 12; v++)
    if (pm[v] > 0) hm -= pm[v] * log2(pm[v]);
  SL_ASSERT_OK(sl_hmm_entropy_rate(G, &r, 200000, 1000, 20, &mean, &se));
  printf("  HMM H = 16, V = 12: rate %.5f +- %.5f bits/token, marginal entropy %.5f\n", mean, se,
         hm);
  CU_ASSERT(mean > 0 && mean < hm);
  CU_ASSERT(se < 0.02);
  free(A);
  free(I);
  sl_hmm_destroy(R);
  sl_hmm_destroy(L);
  sl_hmm_destroy(G);
}

/* Frequencies of the first three tokens of independent streams against exp(ln P). */
static void test_sampling_chi_square(void) {
  const int H = 4, V = 3, n = 3, K = 27;
  sl_hmm *L = NULL;
  sl_hmm_params p = make_params(H, V, 3, 2, 1.0, 1.0);
  SL_ASSERT_OK(sl_hmm_create(&p, 17, &L));
  long cnt[27] = {0};
  const long draws = 200000;
  sl_rng r;
  sl_rng_seed(&r, 123);
  for (long d = 0; d < draws; d++) {
    int32_t x[3];
    int hidden = -1;
    SL_ASSERT_OK(sl_hmm_generate(L, &r, &hidden, x, NULL, (size_t)n));
    cnt[x[0] * 9 + x[1] * 3 + x[2]]++;
  }
  double chi2 = 0;
  int df = -1;
  for (int c = 0; c < K; c++) {
    int32_t x[3] = {c / 9, (c / 3) % 3, c % 3};
    double lp;
    SL_ASSERT_OK(sl_hmm_log_prob(L, x, 3, &lp));
    const double e = draws * exp(lp);
    if (e == 0) {
      CU_ASSERT_EQUAL(cnt[c], 0);
      continue;
    }
    chi2 += (cnt[c] - e) * (cnt[c] - e) / e;
    df++;
  }
  const double pval = gsl_cdf_chisq_Q(chi2, df);
  printf("\n  chi2 = %.2f on %d df, p = %.3f\n", chi2, df, pval);
  CU_ASSERT(pval > 1e-4);
  sl_hmm_destroy(L);
}

static void test_determinism_prefix(void) {
  sl_hmm *L = NULL;
  sl_hmm_params p = make_params(20, 50, 4, 6, 0.5, 0.5);
  SL_ASSERT_OK(sl_hmm_create(&p, 3, &L));
  enum { N = 5000 };
  static int32_t a[N], b[N], c[N], sa[N], sc[N];
  sl_rng r;
  int h;
  sl_rng_seed(&r, 8);
  h = -1;
  SL_ASSERT_OK(sl_hmm_generate(L, &r, &h, a, sa, N));
  sl_rng_seed(&r, 8);
  h = -1;
  SL_ASSERT_OK(sl_hmm_generate(L, &r, &h, b, NULL, 1234));
  CU_ASSERT(memcmp(a, b, 1234 * sizeof *a) == 0); /* prefix */
  sl_rng_seed(&r, 8);
  h = -1;
  size_t pos = 0, step = 1;
  while (pos < N) { /* chunks of 1, 2, 3, ... tokens carrying the hidden state */
    size_t m = N - pos < step ? N - pos : step;
    SL_ASSERT_OK(sl_hmm_generate(L, &r, &h, c + pos, sc + pos, m));
    pos += m;
    step++;
  }
  CU_ASSERT(memcmp(a, c, sizeof a) == 0);
  CU_ASSERT(memcmp(sa, sc, sizeof sa) == 0);
  sl_rng_seed(&r, 9);
  h = -1;
  SL_ASSERT_OK(sl_hmm_generate(L, &r, &h, b, NULL, N));
  CU_ASSERT(memcmp(a, b, sizeof a) != 0);
  /* The same seed builds the same language; another seed another one. */
  sl_hmm *L2 = NULL, *L3 = NULL;
  SL_ASSERT_OK(sl_hmm_create(&p, 3, &L2));
  SL_ASSERT_OK(sl_hmm_create(&p, 4, &L3));
  const size_t nnz = (size_t)p.H * p.trans_k;
  CU_ASSERT(memcmp(L->A.prob, L2->A.prob, nnz * sizeof(double)) == 0);
  CU_ASSERT(memcmp(L->B.col, L2->B.col, (size_t)p.H * p.emit_k * sizeof(int32_t)) == 0);
  CU_ASSERT(memcmp(L->A.prob, L3->A.prob, nnz * sizeof(double)) != 0);
  /* Every sampled transition and emission has positive probability. */
  int bad = 0;
  for (int t = 0; t < N; t++) {
    int okb = 0, oka = t == 0;
    for (int64_t e = L->B.start[sa[t]]; e < L->B.start[sa[t] + 1]; e++)
      okb |= L->B.col[e] == a[t];
    if (t > 0)
      for (int64_t e = L->A.start[sa[t - 1]]; e < L->A.start[sa[t - 1] + 1]; e++)
        oka |= L->A.col[e] == sa[t];
    bad += !okb || !oka;
  }
  CU_ASSERT_EQUAL(bad, 0);
  sl_hmm_destroy(L);
  sl_hmm_destroy(L2);
  sl_hmm_destroy(L3);
}

static void test_validation(void) {
  sl_hmm *L = NULL;
  sl_hmm_params p = make_params(4, 5, 5, 2, 1.0, 1.0); /* trans_k > H */
  CU_ASSERT_EQUAL(sl_hmm_create(&p, 1, &L), SL_ERR_CONFIG);
  CU_ASSERT(strstr(sl_error_message(), "trans_k") != NULL);
  CU_ASSERT(L == NULL);
  p = make_params(4, 5, 2, 2, 0.0, 1.0);
  CU_ASSERT_EQUAL(sl_hmm_validate(&p), SL_ERR_CONFIG);
  CU_ASSERT(strstr(sl_error_message(), "trans_alpha") != NULL);
  p = make_params(4, 1, 2, 1, 1.0, 1.0);
  CU_ASSERT_EQUAL(sl_hmm_validate(&p), SL_ERR_CONFIG);
  /* Two closed classes {0} and {1}: no unique stationary distribution. */
  const double A[4] = {1, 0, 0, 1}, B[4] = {0.5, 0.5, 0.5, 0.5}, Bbad[4] = {0.5, 0.6, 0.5, 0.5};
  CU_ASSERT_EQUAL(sl_hmm_create_dense(2, 2, A, B, &L), SL_ERR_ARG);
  CU_ASSERT(strstr(sl_error_message(), "irreducible") != NULL);
  const double A2[4] = {0.5, 0.5, 0.5, 0.5};
  CU_ASSERT_EQUAL(sl_hmm_create_dense(2, 2, A2, Bbad, &L), SL_ERR_ARG);
  CU_ASSERT(strstr(sl_error_message(), "sums to") != NULL);
  sl_error_clear();
}

int main(int argc, char **argv) {
  const sl_test tests[] = {
      {"rows and stationary distribution", test_rows_and_stationary},
      {"Dirichlet rows: moments", test_dirichlet_moments},
      {"forward vs brute force, normalisation", test_forward_vs_brute_force},
      {"next-token distributions", test_next_dist},
      {"entropy rate vs Markov chain closed form", test_entropy_rate_markov},
      {"sampling vs exact probabilities (chi-square)", test_sampling_chi_square},
      {"determinism and prefix property", test_determinism_prefix},
      {"validation", test_validation},
      {NULL, NULL}};
  return sl_test_main(argc, argv, "hmm", tests);
}
