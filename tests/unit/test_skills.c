/* The skills language (SCIENCE.md section 0): exact entropy against brute-force enumeration,
 * the entropy rate against sampled code lengths, the next-token distribution, nested streams,
 * the skill maps, the expected number of distinct pieces, and the validation messages. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/error.h"
#include "slingshot/lang.h"
#include "slingshot/rng.h"
#include "test_util.h"

static sl_skills_params make_params(int M, int S, int K, const double *aw, double zipf, int rf) {
  sl_skills_params p;
  memset(&p, 0, sizeof p);
  p.M = M;
  p.S = S;
  p.k_max = K;
  for (int k = 0; k < K; k++)
    p.arity_weights[k] = aw ? aw[k] : 1.0;
  p.zipf = zipf;
  p.random_functions = rf;
  return p;
}

/* ---- independent reference: every ordered tuple and its probability, by direct sums ---- */

typedef struct ref_lang {
  int S, K;
  double w[64]; /* (i+1)^-z / sum, recomputed here */
  double pk[SL_MAX_ARITY + 1];
} ref_lang;

static void ref_init(ref_lang *r, const sl_skills_params *p) {
  r->S = p->S;
  r->K = p->k_max;
  double sum = 0, asum = 0;
  for (int i = 0; i < p->S; i++)
    sum += r->w[i] = pow(i + 1.0, -p->zipf);
  for (int i = 0; i < p->S; i++)
    r->w[i] /= sum;
  for (int k = 1; k <= p->k_max; k++)
    asum += p->arity_weights[k - 1];
  for (int k = 1; k <= p->k_max; k++)
    r->pk[k] = p->arity_weights[k - 1] / asum;
}

/* Calls fn(tuple, k, P(tuple | k), ctx) for every ordered k-tuple of distinct skills. */
typedef void (*tuple_fn)(const int *t, int k, double P, void *ctx);
static void ref_tuples_rec(const ref_lang *r, int k, int d, int *t, double P, tuple_fn fn,
                           void *ctx) {
  if (d == k) {
    fn(t, k, P, ctx);
    return;
  }
  double R = 0;
  for (int s = 0; s < r->S; s++) {
    int used = 0;
    for (int i = 0; i < d; i++)
      used |= t[i] == s;
    if (!used) R += r->w[s];
  }
  for (int s = 0; s < r->S; s++) {
    int used = 0;
    for (int i = 0; i < d; i++)
      used |= t[i] == s;
    if (used) continue;
    t[d] = s;
    ref_tuples_rec(r, k, d + 1, t, P * r->w[s] / R, fn, ctx);
  }
}
static void ref_tuples(const ref_lang *r, int k, tuple_fn fn, void *ctx) {
  int t[SL_MAX_ARITY];
  ref_tuples_rec(r, k, 0, t, 1.0, fn, ctx);
}

static void acc_entropy(const int *t, int k, double P, void *ctx) {
  double *h = ctx;
  if (P > 0) h[0] -= P * log2(P);
  h[1] += P;
}

/* Chi-square 99.99% quantile by Wilson-Hilferty. */
static double chi2_q9999(int dof) {
  double a = 2.0 / (9.0 * dof);
  double c = 1.0 - a + 3.719 * sqrt(a);
  return dof * c * c * c;
}

/* Chi-square statistic of counts against probabilities; cells with expected < 5 are lumped. */
static void chi2_test(const double *prob, const long *count, int n_cells, long n, double *chi2,
                      int *dof) {
  double x = 0, lump_e = 0, lump_o = 0;
  int cells = 0;
  for (int i = 0; i < n_cells; i++) {
    double e = prob[i] * (double)n;
    if (e < 5) {
      lump_e += e;
      lump_o += (double)count[i];
      continue;
    }
    x += (count[i] - e) * (count[i] - e) / e;
    cells++;
  }
  if (lump_e > 0) {
    x += (lump_o - lump_e) * (lump_o - lump_e) / lump_e;
    cells++;
  }
  *chi2 = x;
  *dof = cells - 1;
}

/* ---- (1) entropy: closed form, enumeration, brute force, Monte Carlo ---- */

static void test_entropy_closed_vs_enum(void) {
  const int cases[][2] = {{5, 4}, {9, 3}, {12, 5}, {8, 8}};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    int S = cases[c][0], K = cases[c][1];
    sl_skills_params p = make_params(4, S, K, NULL, 0.0, 0);
    sl_skills_lang *L = NULL;
    SL_ASSERT_OK(sl_skills_create(&p, 7, &L));
    CU_ASSERT_EQUAL(L->entropy_exact, 1);
    double h_arity = 0, h_tuple = 0, len = 0;
    for (int k = 1; k <= K; k++) {
      double hc, he, se = -1;
      SL_ASSERT_OK(sl_skills_tuple_entropy(L, k, SL_SKILLS_ENTROPY_CLOSED, &hc, &se));
      CU_ASSERT_EQUAL(se, 0.0);
      SL_ASSERT_OK(sl_skills_tuple_entropy(L, k, SL_SKILLS_ENTROPY_ENUM, &he, NULL));
      double ff = 1; /* S!/(S-k)! */
      for (int i = 0; i < k; i++)
        ff *= S - i;
      CU_ASSERT_DOUBLE_EQUAL(hc, log2(ff), 1e-12 * log2(ff));
      CU_ASSERT_DOUBLE_EQUAL(he, log2(ff), 1e-11 * log2(ff));
      h_arity += log2((double)K) / K;
      h_tuple += log2(ff) / K;
      len += (2.0 * k + 2) / K;
    }
    double h_piece = h_arity + h_tuple + log2(4.0);
    CU_ASSERT_DOUBLE_EQUAL(L->piece_entropy_bits, h_piece, 1e-12 * h_piece);
    CU_ASSERT_DOUBLE_EQUAL(L->mean_piece_tokens, len, 1e-12 * len);
    CU_ASSERT_DOUBLE_EQUAL(L->entropy_bits_per_token, h_piece / len, 1e-12);
    sl_skills_destroy(L);
  }
}

typedef struct piece_h {
  double pk;
  int M;
  double h, mass;
} piece_h;
static void acc_piece_entropy(const int *t, int k, double P, void *ctx) {
  piece_h *ph = ctx;
  for (int x = 0; x < ph->M; x++) { /* every (k, tuple, x) is one distinct piece */
    double q = ph->pk * P / ph->M;
    ph->h -= q * log2(q);
    ph->mass += q;
  }
}

static void test_entropy_zipf_brute_force(void) {
  const double aw[3] = {0.5, 1.0, 2.0};
  sl_skills_params p = make_params(3, 5, 3, aw, 1.3, 1);
  sl_skills_lang *L = NULL;
  SL_ASSERT_OK(sl_skills_create(&p, 11, &L));
  ref_lang r;
  ref_init(&r, &p);
  for (int s = 0; s < p.S; s++)
    CU_ASSERT_DOUBLE_EQUAL(L->skill_w[s], r.w[s], 1e-15);
  CU_ASSERT_EQUAL(L->entropy_exact, 1);
  for (int k = 1; k <= 3; k++) {
    double h[2] = {0, 0}, he, ha;
    ref_tuples(&r, k, acc_entropy, h);
    CU_ASSERT_DOUBLE_EQUAL(h[1], 1.0, 1e-12);
    SL_ASSERT_OK(sl_skills_tuple_entropy(L, k, SL_SKILLS_ENTROPY_ENUM, &he, NULL));
    SL_ASSERT_OK(sl_skills_tuple_entropy(L, k, SL_SKILLS_ENTROPY_AUTO, &ha, NULL));
    CU_ASSERT_DOUBLE_EQUAL(he, h[0], 1e-12 * h[0]);
    CU_ASSERT_EQUAL(ha, he);
  }
  /* The whole piece entropy from the distribution of whole pieces, not from the formula. */
  piece_h ph = {0, p.M, 0, 0};
  double len = 0;
  for (int k = 1; k <= 3; k++) {
    ph.pk = r.pk[k];
    ref_tuples(&r, k, acc_piece_entropy, &ph);
    len += r.pk[k] * (2 * k + 2);
  }
  CU_ASSERT_DOUBLE_EQUAL(ph.mass, 1.0, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(L->piece_entropy_bits, ph.h, 1e-12 * ph.h);
  CU_ASSERT_DOUBLE_EQUAL(L->mean_piece_tokens, len, 1e-12 * len);
  CU_ASSERT_DOUBLE_EQUAL(L->entropy_bits_per_token, ph.h / len, 1e-12);
  /* The closed form is for uniform skills only. */
  double hc;
  sl_error_clear();
  CU_ASSERT_EQUAL(sl_skills_tuple_entropy(L, 2, SL_SKILLS_ENTROPY_CLOSED, &hc, NULL), SL_ERR_ARG);
  sl_error_clear();
  sl_skills_destroy(L);
}

static void test_entropy_monte_carlo(void) {
  sl_skills_params p = make_params(4, 30, 4, NULL, 1.1, 0);
  sl_skills_lang *L = NULL;
  SL_ASSERT_OK(sl_skills_create(&p, 3, &L));
  for (int k = 2; k <= 4; k++) {
    double he, hm, se;
    SL_ASSERT_OK(sl_skills_tuple_entropy(L, k, SL_SKILLS_ENTROPY_ENUM, &he, NULL));
    SL_ASSERT_OK(sl_skills_tuple_entropy(L, k, SL_SKILLS_ENTROPY_MC, &hm, &se));
    CU_ASSERT_TRUE(se > 0 && se < 1e-2);
    CU_ASSERT_DOUBLE_EQUAL(hm, he, 4 * se);
  }
  sl_skills_destroy(L);

  /* Too many prefixes to enumerate: the language says its entropy is estimated. */
  const double aw[3] = {0, 0, 1};
  p = make_params(2, 65536, 3, aw, 1.0, 0);
  SL_ASSERT_OK(sl_skills_create(&p, 3, &L));
  CU_ASSERT_EQUAL(L->entropy_exact, 0);
  double hm, se, hu = log2(65536.0) + log2(65535.0) + log2(65534.0);
  SL_ASSERT_OK(sl_skills_tuple_entropy(L, 3, SL_SKILLS_ENTROPY_AUTO, &hm, &se));
  CU_ASSERT_TRUE(se > 0);
  CU_ASSERT_DOUBLE_EQUAL(L->piece_entropy_bits, hm + 1.0, 1e-12 * hm); /* H(arity) = 0 */
  CU_ASSERT_TRUE(hm > 0 && hm < hu); /* uniform skills maximise it */
  sl_skills_destroy(L);
  p.zipf = 0;
  SL_ASSERT_OK(sl_skills_create(&p, 3, &L));
  CU_ASSERT_EQUAL(L->entropy_exact, 1);
  CU_ASSERT_DOUBLE_EQUAL(L->piece_entropy_bits, hu + 1.0, 1e-12 * hu);
  sl_skills_destroy(L);
}

/* ---- (2) entropy rate against the mean code length of a sample under next_dist ---- */

static void test_entropy_rate_sampled(void) {
  const double aw[3] = {1.0, 2.0, 1.5};
  sl_skills_params p = make_params(5, 6, 3, aw, 0.8, 1);
  sl_skills_lang *L = NULL;
  SL_ASSERT_OK(sl_skills_create(&p, 21, &L));
  const size_t n = 300000;
  int32_t *tok = malloc(n * sizeof *tok);
  sl_piece *pc = malloc(SL_SKILLS_MAX_PIECES(n) * sizeof *pc);
  double *dist = malloc((size_t)L->V * sizeof *dist);
  CU_ASSERT_PTR_NOT_NULL_FATAL(tok);
  CU_ASSERT_PTR_NOT_NULL_FATAL(pc);
  CU_ASSERT_PTR_NOT_NULL_FATAL(dist);
  sl_rng rng;
  sl_rng_seed(&rng, 5);
  size_t np = 0;
  SL_ASSERT_OK(sl_skills_generate(L, &rng, tok, n, pc, SL_SKILLS_MAX_PIECES(n), &np));
  /* Code length of each complete piece (the chain rule over its tokens) and its length; the rate
   * is the ratio estimator sum a / sum b, its standard error by the delta method. */
  double sa = 0, sb = 0;
  double *a = malloc(np * sizeof *a), *b = malloc(np * sizeof *b);
  size_t m = 0;
  int all_positive = 1;
  for (size_t i = 0; i < np; i++) {
    size_t st = (size_t)pc[i].start, ln = 2 * (size_t)pc[i].arity + 2;
    if (st + ln > n) break;
    double code = 0;
    for (size_t t = 0; t < ln; t++) {
      SL_ASSERT_OK(sl_skills_next_dist(L, tok + st, (int)t, dist));
      all_positive &= dist[tok[st + t]] > 0;
      code -= log2(dist[tok[st + t]]);
    }
    a[m] = code;
    b[m] = (double)ln;
    sa += code;
    sb += (double)ln;
    m++;
  }
  CU_ASSERT_TRUE(all_positive);
  double R = sa / sb, ss = 0;
  for (size_t i = 0; i < m; i++)
    ss += (a[i] - R * b[i]) * (a[i] - R * b[i]);
  double se = sqrt(ss / ((double)m * (double)(m - 1))) / (sb / (double)m);
  CU_ASSERT_TRUE(m > 10000);
  CU_ASSERT_DOUBLE_EQUAL(R, L->entropy_bits_per_token, 4 * se);
  /* The mean piece code length is the piece entropy (again within 4 standard errors). */
  double ma = sa / (double)m, va = 0;
  for (size_t i = 0; i < m; i++)
    va += (a[i] - ma) * (a[i] - ma);
  CU_ASSERT_DOUBLE_EQUAL(ma, L->piece_entropy_bits, 4 * sqrt(va / (double)(m - 1) / (double)m));
  free(a);
  free(b);
  free(dist);
  free(pc);
  free(tok);
  sl_skills_destroy(L);
}

/* ---- (3) next_dist: a distribution, all mass on the determined tokens, impossible prefixes ----
 */

static void test_next_dist(void) {
  const double aw[4] = {1.0, 0.0, 2.0, 1.0};
  sl_skills_params p = make_params(6, 7, 4, aw, 1.5, 0);
  sl_skills_lang *L = NULL;
  SL_ASSERT_OK(sl_skills_create(&p, 4, &L));
  const int M = p.M, V = L->V;
  double dist[64];
  /* Right after EOS: a skill, with probability w_s. */
  SL_ASSERT_OK(sl_skills_next_dist(L, NULL, 0, dist));
  for (int v = 0; v < V; v++)
    CU_ASSERT_DOUBLE_EQUAL(dist[v], v >= M && v < M + p.S ? L->skill_w[v - M] : 0.0, 1e-15);
  /* After one skill s: P(stop) = P(k = 1 | k >= 1) = 1/4 spread over M symbols; another skill
   * with 3/4 * w_t / (1 - w_s). */
  int32_t pre[16] = {M + 2};
  SL_ASSERT_OK(sl_skills_next_dist(L, pre, 1, dist));
  for (int c = 0; c < M; c++)
    CU_ASSERT_DOUBLE_EQUAL(dist[c], 0.25 / M, 1e-15);
  for (int t = 0; t < p.S; t++)
    CU_ASSERT_DOUBLE_EQUAL(dist[M + t], t == 2 ? 0.0 : 0.75 * L->skill_w[t] / (1 - L->skill_w[2]),
                           1e-14);
  /* After two skills arity 2 has weight 0: no content symbol may follow. */
  pre[1] = M + 0;
  SL_ASSERT_OK(sl_skills_next_dist(L, pre, 2, dist));
  for (int c = 0; c < M; c++)
    CU_ASSERT_EQUAL(dist[c], 0.0);

  /* Along a stream: sums to 1, never negative, and y's and EOS get probability exactly 1. */
  const size_t n = 20000;
  int32_t tok[20000];
  sl_rng rng;
  sl_rng_seed(&rng, 9);
  SL_ASSERT_OK(sl_skills_generate(L, &rng, tok, n, NULL, 0, NULL));
  size_t last_eos = 0;
  int sums_ok = 1, nonneg = 1, determined_ok = 1, true_positive = 1;
  long determined = 0;
  for (size_t i = 1; i < n; i++) {
    int len = (int)(i - last_eos - 1);
    SL_ASSERT_OK(sl_skills_next_dist(L, tok + last_eos + 1, len, dist));
    double s = 0;
    for (int v = 0; v < V; v++) {
      s += dist[v];
      nonneg &= dist[v] >= 0;
    }
    sums_ok &= fabs(s - 1.0) < 1e-12;
    true_positive &= dist[tok[i]] > 0;
    /* Position i is a y or EOS when a content symbol occurred earlier in the piece. */
    int after_x = 0;
    for (size_t t = last_eos + 1; t < i; t++)
      after_x |= tok[t] < M;
    if (after_x) {
      determined++;
      determined_ok &= dist[tok[i]] == 1.0;
    }
    if (tok[i] == L->eos) last_eos = i;
  }
  CU_ASSERT_TRUE(sums_ok);
  CU_ASSERT_TRUE(nonneg);
  CU_ASSERT_TRUE(true_positive);
  CU_ASSERT_TRUE(determined_ok);
  CU_ASSERT_TRUE(determined > 1000);

  /* Impossible prefixes. */
  int32_t piece[16];
  int len;
  sl_piece d;
  do
    SL_ASSERT_OK(sl_skills_sample_piece(L, &rng, piece, &len, &d));
  while (d.arity < 3);
  int k = d.arity;
  int32_t bad[16];
  memcpy(bad, piece, sizeof bad);
  bad[k + 1] = (bad[k + 1] + 1) % M; /* a wrong y1 */
  sl_error_clear();
  CU_ASSERT_EQUAL(sl_skills_next_dist(L, bad, k + 2, dist), SL_ERR_ARG);
  CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), "impossible prefix"));
  memcpy(bad, piece, sizeof bad);
  bad[1] = bad[0]; /* a repeated skill */
  CU_ASSERT_EQUAL(sl_skills_next_dist(L, bad, 2, dist), SL_ERR_ARG);
  CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), "repeated"));
  CU_ASSERT_EQUAL(sl_skills_next_dist(L, piece, len, dist), SL_ERR_ARG); /* contains its EOS */
  int32_t x_first[1] = {0};
  CU_ASSERT_EQUAL(sl_skills_next_dist(L, x_first, 1, dist), SL_ERR_ARG); /* arity 0 */
  int32_t arity2[3] = {M, M + 1, 0};
  CU_ASSERT_EQUAL(sl_skills_next_dist(L, arity2, 3, dist), SL_ERR_ARG); /* arity 2: weight 0 */
  int32_t five[5] = {M, M + 1, M + 2, M + 3, M + 4};
  CU_ASSERT_EQUAL(sl_skills_next_dist(L, five, 5, dist), SL_ERR_ARG); /* arity > k_max */
  int32_t out_of_range[2] = {M, V};
  CU_ASSERT_EQUAL(sl_skills_next_dist(L, out_of_range, 2, dist), SL_ERR_ARG);
  SL_ASSERT_OK(sl_skills_next_dist(L, piece, len - 1, dist)); /* whole piece but EOS: fine */
  CU_ASSERT_EQUAL(dist[L->eos], 1.0);
  sl_error_clear();
  sl_skills_destroy(L);
}

/* ---- (4) nested streams and determinism ---- */

static void test_prefix_and_determinism(void) {
  const double aw[5] = {1, 1, 1, 1, 1};
  sl_skills_params p = make_params(50, 40, 5, aw, 1.0, 0);
  sl_skills_lang *L = NULL, *L2 = NULL, *L3 = NULL;
  SL_ASSERT_OK(sl_skills_create(&p, 123, &L));
  SL_ASSERT_OK(sl_skills_create(&p, 123, &L2));
  SL_ASSERT_OK(sl_skills_create(&p, 124, &L3));
  size_t nm = (size_t)p.S * (size_t)p.M;
  CU_ASSERT_EQUAL(memcmp(L->maps, L2->maps, nm * sizeof *L->maps), 0);
  CU_ASSERT_NOT_EQUAL(memcmp(L->maps, L3->maps, nm * sizeof *L->maps), 0);
  const size_t n = 100003;
  int32_t *a = malloc(n * sizeof *a), *b = malloc(2 * n * sizeof *b), *c = malloc(n * sizeof *c);
  sl_piece *pa = malloc(SL_SKILLS_MAX_PIECES(n) * sizeof *pa);
  sl_piece *pb = malloc(SL_SKILLS_MAX_PIECES(2 * n) * sizeof *pb);
  size_t na = 0, nb = 0;
  sl_rng r;
  sl_rng_stream(&r, 99, 0, "corpus");
  SL_ASSERT_OK(sl_skills_generate(L, &r, a, n, pa, SL_SKILLS_MAX_PIECES(n), &na));
  sl_rng_stream(&r, 99, 0, "corpus");
  SL_ASSERT_OK(sl_skills_generate(L2, &r, b, 2 * n, pb, SL_SKILLS_MAX_PIECES(2 * n), &nb));
  CU_ASSERT_EQUAL(a[0], L->eos);
  CU_ASSERT_EQUAL(memcmp(a, b, n * sizeof *a), 0);
  CU_ASSERT_TRUE(na > 0 && nb > na);
  CU_ASSERT_EQUAL(memcmp(pa, pb, na * sizeof *pa), 0);
  sl_rng_stream(&r, 99, 1, "corpus");
  SL_ASSERT_OK(sl_skills_generate(L, &r, c, n, NULL, 0, NULL));
  CU_ASSERT_NOT_EQUAL(memcmp(a, c, n * sizeof *a), 0);
  /* A short pieces array records only its first pieces, identical to the long record. */
  sl_rng_stream(&r, 99, 0, "corpus");
  SL_ASSERT_OK(sl_skills_generate(L, &r, c, n, pa, 10, &na));
  CU_ASSERT_EQUAL(na, 10);
  CU_ASSERT_EQUAL(memcmp(pa, pb, 10 * sizeof *pa), 0);
  CU_ASSERT_EQUAL(memcmp(a, c, n * sizeof *a), 0);
  /* Tiny streams. */
  SL_ASSERT_OK(sl_skills_generate(L, &r, c, 0, pa, 10, &na));
  CU_ASSERT_EQUAL(na, 0);
  SL_ASSERT_OK(sl_skills_generate(L, &r, c, 1, pa, 10, &na));
  CU_ASSERT_EQUAL(na, 0);
  CU_ASSERT_EQUAL(c[0], L->eos);
  free(a);
  free(b);
  free(c);
  free(pa);
  free(pb);
  sl_skills_destroy(L);
  sl_skills_destroy(L2);
  sl_skills_destroy(L3);
}

/* ---- (5) pieces obey the maps; arities and ordered tuples have the right law ---- */

static void check_stream_pieces(const sl_skills_lang *L, uint64_t seed, size_t n) {
  const int M = L->p.M, S = L->p.S;
  int32_t *tok = malloc(n * sizeof *tok);
  sl_piece *pc = malloc(SL_SKILLS_MAX_PIECES(n) * sizeof *pc);
  size_t np = 0;
  sl_rng r;
  sl_rng_seed(&r, seed);
  SL_ASSERT_OK(sl_skills_generate(L, &r, tok, n, pc, SL_SKILLS_MAX_PIECES(n), &np));
  int ok = 1;
  int64_t next = 1;
  for (size_t i = 0; i < np; i++) {
    const sl_piece *q = &pc[i];
    ok &= q->start == next && q->arity >= 1 && q->arity <= L->p.k_max;
    ok &= L->arity_p[q->arity] > 0;
    int k = q->arity;
    int32_t want[2 * SL_MAX_ARITY + 2];
    int32_t y = q->x;
    want[k] = q->x;
    for (int j = 0; j < k; j++) {
      ok &= q->skills[j] >= 0 && q->skills[j] < S;
      for (int m = 0; m < j; m++)
        ok &= q->skills[m] != q->skills[j];
      want[j] = M + q->skills[j];
      y = L->maps[(size_t)q->skills[j] * M + y]; /* y_j = f_{s_j}(y_{j-1}) */
      want[k + 1 + j] = y;
    }
    want[2 * k + 1] = L->eos;
    for (int t = 0; t < 2 * k + 2 && q->start + t < (int64_t)n; t++)
      ok &= tok[q->start + t] == want[t];
    next = q->start + 2 * k + 2;
  }
  CU_ASSERT_TRUE(ok);
  CU_ASSERT_TRUE(next >= (int64_t)n && pc[np - 1].start < (int64_t)n); /* all pieces recorded */
  free(pc);
  free(tok);
}

typedef struct tuple_table {
  int S, n;
  int keys[4096][SL_MAX_ARITY];
  int k[4096];
  double prob[4096];
} tuple_table;
static void add_tuple(const int *t, int k, double P, void *ctx) {
  tuple_table *tt = ctx;
  memcpy(tt->keys[tt->n], t, (size_t)k * sizeof *t);
  tt->k[tt->n] = k;
  tt->prob[tt->n++] = P;
}

/* Chi-square of drawn (arity, ordered tuple) against the exact law. */
static void check_tuple_law(const sl_skills_params *p, long draws) {
  sl_skills_lang *L = NULL;
  SL_ASSERT_OK(sl_skills_create(p, 8, &L));
  ref_lang r;
  ref_init(&r, p);
  tuple_table *tt = calloc(1, sizeof *tt);
  long *count = calloc(4096, sizeof *count);
  tt->S = p->S;
  for (int k = 1; k <= p->k_max; k++) {
    int first = tt->n;
    ref_tuples(&r, k, add_tuple, tt);
    for (int i = first; i < tt->n; i++)
      tt->prob[i] *= r.pk[k];
  }
  CU_ASSERT_FATAL(tt->n <= 4096);
  sl_rng rng;
  sl_rng_seed(&rng, 77);
  int32_t tok[2 * SL_MAX_ARITY + 2];
  int len, found_all = 1;
  for (long d = 0; d < draws; d++) {
    sl_piece q;
    SL_ASSERT_OK(sl_skills_sample_piece(L, &rng, tok, &len, &q));
    int hit = -1;
    for (int i = 0; i < tt->n && hit < 0; i++)
      if (tt->k[i] == q.arity && !memcmp(tt->keys[i], q.skills, (size_t)q.arity * sizeof(int)))
        hit = i;
    found_all &= hit >= 0 && len == 2 * q.arity + 2;
    if (hit >= 0) count[hit]++;
  }
  CU_ASSERT_TRUE(found_all);
  double chi2;
  int dof;
  chi2_test(tt->prob, count, tt->n, draws, &chi2, &dof);
  CU_ASSERT_TRUE(dof >= 1);
  CU_ASSERT_TRUE(chi2 < chi2_q9999(dof));
  if (!(chi2 < chi2_q9999(dof))) printf("\n  chi2 = %g, dof = %d\n", chi2, dof);
  free(count);
  free(tt);
  sl_skills_destroy(L);
}

static void test_pieces_obey_maps(void) {
  const double aw[4] = {1, 3, 0, 2};
  sl_skills_params p = make_params(64, 20, 4, aw, 1.2, 0);
  sl_skills_lang *L = NULL;
  SL_ASSERT_OK(sl_skills_create(&p, 31, &L));
  int perms = 1;
  for (int s = 0; s < p.S; s++) { /* each f_s a permutation */
    int seen[64] = {0};
    for (int x = 0; x < p.M; x++)
      seen[L->maps[(size_t)s * p.M + x]]++;
    for (int x = 0; x < p.M; x++)
      perms &= seen[x] == 1;
  }
  CU_ASSERT_TRUE(perms);
  check_stream_pieces(L, 1, 50001);
  sl_skills_destroy(L);
  p.random_functions = 1;
  SL_ASSERT_OK(sl_skills_create(&p, 31, &L));
  int injective_all = 1, in_range = 1;
  for (int s = 0; s < p.S; s++) { /* a random function on 64 points is almost never injective */
    int seen[64] = {0}, inj = 1;
    for (int x = 0; x < p.M; x++) {
      int32_t v = L->maps[(size_t)s * p.M + x];
      in_range &= v >= 0 && v < p.M;
      if (v >= 0 && v < p.M) inj &= seen[v]++ == 0;
    }
    injective_all &= inj;
  }
  CU_ASSERT_TRUE(in_range);
  CU_ASSERT_FALSE(injective_all);
  check_stream_pieces(L, 2, 50002);
  sl_skills_destroy(L);

  /* The sampling law, on moderate weights (rejection path) and on weights so skewed that the
   * unused mass is tiny (direct path), and uniform with S = k_max. */
  sl_skills_params q = make_params(3, 6, 3, aw, 1.5, 0);
  check_tuple_law(&q, 400000);
  q = make_params(3, 5, 4, NULL, 6.0, 0);
  check_tuple_law(&q, 400000);
  q = make_params(3, 4, 4, NULL, 0.0, 1);
  check_tuple_law(&q, 200000);
  /* Single skills, many draws: sensitive to a small bias of the alias table. */
  q = make_params(3, 12, 1, NULL, 1.5, 0);
  check_tuple_law(&q, 3000000);
}

/* ---- (6) expected distinct pieces after n draws: sum_i 1 - (1 - p_i)^n ---- */

typedef struct distinct_ctx {
  double pk, n, expect;
  int M;
  long pieces;
} distinct_ctx;
static void acc_distinct(const int *t, int k, double P, void *ctx) {
  distinct_ctx *d = ctx;
  for (int x = 0; x < d->M; x++) {
    d->expect += 1.0 - pow(1.0 - d->pk * P / d->M, d->n);
    d->pieces++;
  }
}

static void test_distinct_pieces_expectation(void) {
  const double aw[2] = {1.0, 1.5};
  sl_skills_params p = make_params(2, 4, 2, aw, 1.0, 1);
  sl_skills_lang *L = NULL;
  SL_ASSERT_OK(sl_skills_create(&p, 17, &L));
  const int draws = 40, seeds = 400;
  ref_lang r;
  ref_init(&r, &p);
  distinct_ctx d = {0, draws, 0, p.M, 0};
  for (int k = 1; k <= 2; k++) {
    d.pk = r.pk[k];
    ref_tuples(&r, k, acc_distinct, &d);
  }
  CU_ASSERT_EQUAL(d.pieces, (4 + 12) * 2);
  /* Distinct by token content: a piece of at most 6 tokens over V = 7 as a base-V key. */
  double s1 = 0, s2 = 0;
  for (int sd = 0; sd < seeds; sd++) {
    sl_rng rng;
    sl_rng_stream(&rng, 2024, (uint64_t)sd, "distinct");
    int64_t keys[40];
    int nk = 0;
    for (int i = 0; i < draws; i++) {
      int32_t tok[2 * SL_MAX_ARITY + 2];
      int len;
      SL_ASSERT_OK(sl_skills_sample_piece(L, &rng, tok, &len, NULL));
      int64_t key = 0;
      for (int t = 0; t < len; t++)
        key = key * L->V + tok[t];
      key = key * 8 + len;
      int seen = 0;
      for (int j = 0; j < nk; j++)
        seen |= keys[j] == key;
      if (!seen) keys[nk++] = key;
    }
    s1 += nk;
    s2 += (double)nk * nk;
  }
  double mean = s1 / seeds, sd = sqrt((s2 - seeds * mean * mean) / (seeds - 1));
  CU_ASSERT_TRUE(sd > 0);
  CU_ASSERT_DOUBLE_EQUAL(mean, d.expect, 4 * sd / sqrt((double)seeds));
  sl_skills_destroy(L);
}

/* ---- (7) validation messages ---- */

static void expect_invalid(const sl_skills_params *p, const char *a, const char *b) {
  sl_error_clear();
  CU_ASSERT_EQUAL(sl_skills_validate(p), SL_ERR_CONFIG);
  const char *msg = sl_error_message();
  CU_ASSERT_PTR_NOT_NULL(strstr(msg, a));
  CU_ASSERT_PTR_NOT_NULL(strstr(msg, b));
  if (!strstr(msg, a) || !strstr(msg, b)) printf("\n  message: %s\n", msg);
  static sl_skills_lang dummy;
  sl_skills_lang *L = &dummy; /* create must reset it to NULL */
  CU_ASSERT_EQUAL(sl_skills_create(p, 1, &L), SL_ERR_CONFIG);
  CU_ASSERT_PTR_NULL(L);
  sl_error_clear();
}

static void test_validation(void) {
  const sl_skills_params good = make_params(16, 10, 3, NULL, 1.0, 0);
  SL_ASSERT_OK(sl_skills_validate(&good));
  sl_skills_params p = good;
  p.M = 1;
  expect_invalid(&p, "language.M = 1 is out of range", "M must be between 2 and 65536");
  p.M = 65537;
  expect_invalid(&p, "language.M = 65537", "between 2 and 65536");
  p = good;
  p.S = 2;
  expect_invalid(&p, "language.S = 2 is out of range", "between k_max = 3 and 65536");
  p.S = 70000;
  expect_invalid(&p, "language.S = 70000", "between k_max = 3 and 65536");
  p = good;
  p.k_max = 0;
  expect_invalid(&p, "language.k_max = 0 is out of range", "between 1 and 8");
  p.k_max = 9;
  expect_invalid(&p, "language.k_max = 9", "between 1 and 8");
  p = good;
  p.arity_weights[1] = -0.5;
  expect_invalid(&p, "language.arity_weights[1] = -0.5", ">= 0");
  p.arity_weights[1] = NAN;
  expect_invalid(&p, "language.arity_weights[1] = nan", ">= 0");
  p = good;
  p.arity_weights[0] = p.arity_weights[1] = p.arity_weights[2] = 0;
  p.arity_weights[3] = 1; /* beyond k_max: does not count */
  expect_invalid(&p, "language.arity_weights sum to 0", "positive");
  p = good;
  p.zipf = -1;
  expect_invalid(&p, "language.zipf = -1 is out of range", "between 0 and 10");
  p.zipf = 10.5;
  expect_invalid(&p, "language.zipf = 10.5", "between 0 and 10");
  p.zipf = NAN;
  expect_invalid(&p, "language.zipf = nan", "between 0 and 10");
  p = good;
  p.random_functions = 2;
  expect_invalid(&p, "language.random_functions = 2", "0 (permutations) or 1");
  p = good;
  p.M = 65536;
  p.S = 65536;
  expect_invalid(&p, "language.S * language.M", "at most 1073741824");
  /* The edges of the ranges are allowed. */
  p = make_params(2, 8, 8, NULL, 10.0, 1);
  SL_ASSERT_OK(sl_skills_validate(&p));
  p = make_params(2, 1, 1, NULL, 0.0, 0);
  SL_ASSERT_OK(sl_skills_validate(&p));
  sl_error_clear();
  CU_ASSERT_EQUAL(sl_skills_validate(NULL), SL_ERR_ARG);
  sl_error_clear();
}

int main(int argc, char **argv) {
  static const sl_test tests[] = {
      {"entropy: closed form vs enumeration (zipf = 0)", test_entropy_closed_vs_enum},
      {"entropy: enumeration vs brute force (zipf > 0)", test_entropy_zipf_brute_force},
      {"entropy: Monte Carlo vs enumeration", test_entropy_monte_carlo},
      {"entropy rate vs sampled code length", test_entropy_rate_sampled},
      {"next-token distribution", test_next_dist},
      {"nested streams and determinism", test_prefix_and_determinism},
      {"pieces obey the maps; sampling law", test_pieces_obey_maps},
      {"expected distinct pieces", test_distinct_pieces_expectation},
      {"validation messages", test_validation},
      {NULL, NULL}};
  return sl_test_main(argc, argv, "skills", tests);
}
