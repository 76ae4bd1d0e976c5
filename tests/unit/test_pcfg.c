/* The PCFG language: the inside algorithm against brute-force enumeration of every derivation,
 * the length cap's normalisation, sampled sentence frequencies against exact probabilities
 * (chi-square), the entropy-per-token estimate against the enumerated exact value, long sentences
 * against a closed form, determinism, the prefix property and validation. */
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/error.h"
#include "slingshot/pcfg.h"
#include "slingshot/rng.h"
#include "test_util.h"

#define MAXN 8 /* longest sentence of the brute-force grammars (4 levels) */

static sl_pcfg_params make_params(int levels, const int *sym, int rules, int T, int ek,
                                  double p_emit, double alpha, int max_len) {
  sl_pcfg_params p;
  memset(&p, 0, sizeof p);
  p.levels = levels;
  for (int l = 0; l < levels; l++)
    p.symbols[l] = sym[l];
  p.rules = rules;
  p.T = T;
  p.emit_k = ek;
  p.p_emit = p_emit;
  p.alpha = alpha;
  p.max_len = max_len;
  return p;
}

/* ---- independent reference: every derivation, from the rule tables alone ---- */

typedef struct item {
  int len;
  int32_t t[MAXN];
  double p;
} item;

typedef struct list {
  item *v;
  size_t n;
} list;

static void push(list *l, const item *it) {
  l->v = realloc(l->v, (l->n + 1) * sizeof *l->v);
  l->v[l->n++] = *it;
}

static int cmp_item(const void *a, const void *b) {
  const item *x = a, *y = b;
  if (x->len != y->len) return x->len - y->len;
  for (int i = 0; i < x->len; i++)
    if (x->t[i] != y->t[i]) return x->t[i] - y->t[i];
  return 0;
}

/* All (sentence, probability) pairs of the grammar, one per distinct sentence (derivations of
 * the same sentence summed), sorted by cmp_item; the unrestricted grammar (no cap). */
static list enumerate(const sl_pcfg *G) {
  list *y = calloc((size_t)G->n_nt, sizeof *y);
  for (int a = G->n_nt - 1; a >= 0; a--) /* deeper levels have larger ids */
    for (int64_t j = G->rule_start[a]; j < G->rule_start[a + 1]; j++) {
      if (G->rule_b[j] < 0) {
        item it = {1, {-1 - G->rule_b[j]}, G->rule_p[j]};
        push(&y[a], &it);
        continue;
      }
      const list *B = &y[G->rule_b[j]], *C = &y[G->rule_c[j]];
      for (size_t u = 0; u < B->n; u++)
        for (size_t v = 0; v < C->n; v++) {
          item it;
          it.len = B->v[u].len + C->v[v].len;
          memcpy(it.t, B->v[u].t, (size_t)B->v[u].len * sizeof(int32_t));
          memcpy(it.t + B->v[u].len, C->v[v].t, (size_t)C->v[v].len * sizeof(int32_t));
          it.p = G->rule_p[j] * B->v[u].p * C->v[v].p;
          push(&y[a], &it);
        }
    }
  list all = {NULL, 0};
  for (int a = 0; a < G->p.symbols[0]; a++)
    for (size_t u = 0; u < y[a].n; u++) {
      item it = y[a].v[u];
      it.p *= G->root_p[a];
      push(&all, &it);
    }
  for (int a = 0; a < G->n_nt; a++)
    free(y[a].v);
  free(y);
  qsort(all.v, all.n, sizeof *all.v, cmp_item);
  size_t k = 0; /* merge derivations of the same sentence */
  for (size_t u = 0; u < all.n; u++) {
    if (k > 0 && cmp_item(&all.v[k - 1], &all.v[u]) == 0)
      all.v[k - 1].p += all.v[u].p;
    else
      all.v[k++] = all.v[u];
  }
  all.n = k;
  return all;
}

static double lookup(const list *l, const int32_t *t, int n) {
  item key;
  key.len = n;
  memcpy(key.t, t, (size_t)n * sizeof *t);
  const item *hit = bsearch(&key, l->v, l->n, sizeof *l->v, cmp_item);
  return hit ? hit->p : 0.0;
}

/* ---- tests ---- */

static void check_against_brute(const sl_pcfg_params *p, uint64_t seed) {
  sl_pcfg *G = NULL;
  SL_ASSERT_OK(sl_pcfg_create(p, seed, &G));
  list all = enumerate(G);
  double total = 0, z = 0, lenp[MAXN + 1] = {0};
  for (size_t u = 0; u < all.n; u++) {
    total += all.v[u].p;
    if (all.v[u].len <= p->max_len) {
      z += all.v[u].p;
      lenp[all.v[u].len] += all.v[u].p;
    }
  }
  CU_ASSERT_DOUBLE_EQUAL(total, 1.0, 1e-12); /* a proper grammar */
  CU_ASSERT_DOUBLE_EQUAL(G->z, z, 1e-13);
  double mean = 1;
  for (int m = 1; m <= G->cap; m++) {
    CU_ASSERT_DOUBLE_EQUAL(G->len_p[m], lenp[m] / z, 1e-13);
    mean += m * lenp[m] / z;
  }
  CU_ASSERT_DOUBLE_EQUAL(G->mean_sentence_tokens, mean, 1e-12);
  /* Every terminal sequence of length 1..cap, derivable or not. */
  const int T = p->T;
  double sum = 0, worst = 0;
  int n_seq = 0, n_zero = 0;
  for (int m = 1; m <= G->cap; m++) {
    int32_t t[MAXN] = {0};
    for (;;) {
      double lp;
      SL_ASSERT_OK(sl_pcfg_log_prob(G, t, m, &lp));
      const double ref = lookup(&all, t, m) / z;
      if (ref == 0) {
        CU_ASSERT(lp == -INFINITY);
        n_zero++;
      } else {
        worst = fmax(worst, fabs(lp - log(ref)));
      }
      sum += exp(lp);
      n_seq++;
      int i = 0;
      while (i < m && ++t[i] == T)
        t[i++] = 0;
      if (i == m) break;
    }
  }
  /* Sentences over the cap have probability 0 under the capped language. */
  int over = 0;
  for (size_t u = 0; u < all.n; u++)
    if (all.v[u].len > p->max_len) {
      double lp;
      SL_ASSERT_OK(sl_pcfg_log_prob(G, all.v[u].t, all.v[u].len, &lp));
      CU_ASSERT(lp == -INFINITY);
      over++;
    }
  printf("\n  %d levels: %zu sentences, Z = %.6f (%d over the cap), %d sequences checked (%d "
         "impossible): max |ln p - ln p_brute| = %.3g, sum p - 1 = %.3g\n",
         p->levels, all.n, z, over, n_seq, n_zero, worst, sum - 1);
  CU_ASSERT(worst < 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(sum, 1.0, 1e-12);
  free(all.v);
  sl_pcfg_destroy(G);
}

static void test_inside_vs_brute_force(void) {
  const int s2[2] = {2, 3}, s3[3] = {1, 2, 2}, s4[4] = {1, 2, 2, 2};
  sl_pcfg_params p = make_params(2, s2, 4, 3, 2, 0.4, 1.0, 2); /* no cap binds */
  check_against_brute(&p, 1);
  p = make_params(3, s3, 3, 3, 2, 0.3, 0.7, 3); /* the cap drops length 4 */
  check_against_brute(&p, 2);
  p = make_params(4, s4, 2, 2, 2, 0.25, 1.0, 6); /* ambiguous sentences, lengths up to 8 */
  check_against_brute(&p, 3);
}

static void test_sampling_chi_square(void) {
  const int s3[3] = {1, 2, 2};
  sl_pcfg_params p = make_params(3, s3, 3, 3, 2, 0.3, 0.7, 3);
  sl_pcfg *G = NULL;
  SL_ASSERT_OK(sl_pcfg_create(&p, 2, &G));
  list all = enumerate(G);
  size_t K = 0; /* sentences under the cap come first in the sorted list */
  while (K < all.n && all.v[K].len <= p.max_len)
    K++;
  long *cnt = calloc(K, sizeof *cnt);
  const long draws = 200000;
  long outside = 0;
  sl_rng r;
  sl_rng_seed(&r, 77);
  for (long d = 0; d < draws; d++) {
    int32_t t[MAXN];
    int m;
    SL_ASSERT_OK(sl_pcfg_sample_sentence(G, &r, t, &m));
    item key;
    key.len = m;
    memcpy(key.t, t, (size_t)m * sizeof *t);
    const item *hit = bsearch(&key, all.v, K, sizeof *all.v, cmp_item);
    if (!hit)
      outside++;
    else
      cnt[hit - all.v]++;
  }
  CU_ASSERT_EQUAL(outside, 0);
  /* Bins with an expected count below 5 are pooled into one. */
  double chi2 = 0, pool_e = 0, pool_o = 0;
  int df = -1;
  for (size_t k = 0; k < K; k++) {
    const double e = draws * all.v[k].p / G->z;
    if (e < 5) {
      pool_e += e;
      pool_o += (double)cnt[k];
      continue;
    }
    chi2 += (cnt[k] - e) * (cnt[k] - e) / e;
    df++;
  }
  if (pool_e > 0) {
    chi2 += (pool_o - pool_e) * (pool_o - pool_e) / pool_e;
    df++;
  }
  const double pval = gsl_cdf_chisq_Q(chi2, df);
  printf("\n  %zu sentences under the cap: chi2 = %.2f on %d df, p = %.3f\n", K, chi2, df, pval);
  CU_ASSERT(df >= 10);
  CU_ASSERT(pval > 1e-4);
  /* The entropy per token: exact by enumeration, and the ratio estimate within its interval. */
  double h = 0;
  for (size_t k = 0; k < K; k++) {
    const double q = all.v[k].p / G->z;
    h -= q * log2(q);
  }
  const double exact = h / G->mean_sentence_tokens;
  double mean, se;
  SL_ASSERT_OK(sl_pcfg_entropy_rate(G, &r, 50000, &mean, &se));
  printf("  entropy %.5f +- %.5f bits/token, exact %.5f (z = %.2f)\n", mean, se, exact,
         (mean - exact) / se);
  CU_ASSERT(fabs(mean - exact) < 4 * se);
  CU_ASSERT(se > 0 && se < 0.01);
  free(cnt);
  free(all.v);
  sl_pcfg_destroy(G);
}

/* One symbol per level and one rule: every sentence has 2^(L-1) leaves of the same last-level
 * nonterminal, so P(s) = prod_i e(t_i): a closed form for long sentences (512 tokens here, far
 * below the smallest double if computed without scaling). */
static void test_long_sentences(void) {
  const int sym[10] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  sl_pcfg_params p = make_params(10, sym, 1, 40, 20, 0.0, 0.5, 512);
  sl_pcfg *G = NULL;
  SL_ASSERT_OK(sl_pcfg_create(&p, 9, &G));
  CU_ASSERT_EQUAL(G->cap, 512);
  CU_ASSERT_DOUBLE_EQUAL(G->z, 1.0, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(G->mean_sentence_tokens, 513.0, 1e-12);
  double e[40] = {0};
  const int leaf = G->level_start[9];
  for (int64_t j = G->rule_start[leaf]; j < G->rule_start[leaf + 1]; j++)
    e[-1 - G->rule_b[j]] = G->rule_p[j];
  sl_rng r;
  sl_rng_seed(&r, 5);
  int32_t t[512];
  int m;
  SL_ASSERT_OK(sl_pcfg_sample_sentence(G, &r, t, &m));
  CU_ASSERT_EQUAL_FATAL(m, 512);
  double ref = 0, lp;
  for (int i = 0; i < m; i++)
    ref += log(e[t[i]]);
  SL_ASSERT_OK(sl_pcfg_log_prob(G, t, m, &lp));
  printf("\n  512 tokens: ln p = %.6f, closed form %.6f\n", lp, ref);
  CU_ASSERT(isfinite(lp));
  CU_ASSERT(fabs(lp - ref) < 1e-9 * fabs(ref));
  SL_ASSERT_OK(sl_pcfg_log_prob(G, t, 511, &lp)); /* every sentence has 512 tokens */
  CU_ASSERT(lp == -INFINITY);
  sl_pcfg_destroy(G);
}

static void test_determinism_prefix(void) {
  const int sym[4] = {2, 4, 4, 4};
  sl_pcfg_params p = make_params(4, sym, 4, 30, 5, 0.2, 0.5, 6);
  sl_pcfg *G = NULL, *G2 = NULL, *G3 = NULL;
  SL_ASSERT_OK(sl_pcfg_create(&p, 4, &G));
  SL_ASSERT_OK(sl_pcfg_create(&p, 4, &G2));
  SL_ASSERT_OK(sl_pcfg_create(&p, 5, &G3));
  const size_t nr = (size_t)G->rule_start[G->n_nt];
  CU_ASSERT(memcmp(G->rule_p, G2->rule_p, nr * sizeof(double)) == 0);
  CU_ASSERT(memcmp(G->rule_b, G2->rule_b, nr * sizeof(int32_t)) == 0);
  CU_ASSERT(memcmp(G->rule_p, G3->rule_p, nr * sizeof(double)) != 0);
  enum { N = 4000 };
  static int32_t a[N], b[N];
  sl_rng r;
  size_t ns, ns2;
  sl_rng_seed(&r, 1);
  SL_ASSERT_OK(sl_pcfg_generate(G, &r, a, N, &ns));
  sl_rng_seed(&r, 1);
  SL_ASSERT_OK(sl_pcfg_generate(G, &r, b, 1237, &ns2));
  CU_ASSERT(memcmp(a, b, 1237 * sizeof *a) == 0);
  CU_ASSERT(ns2 < ns);
  /* The stream: EOS first, then sentences of 1..cap terminals each closed by EOS, each with
   * positive probability. */
  CU_ASSERT_EQUAL(a[0], G->eos);
  size_t start = 1, n_eos = 1, bad = 0, sentences = 0;
  for (size_t i = 1; i < N; i++) {
    if (a[i] != G->eos) continue;
    n_eos++;
    const int m = (int)(i - start);
    double lp;
    SL_ASSERT_OK(sl_pcfg_log_prob(G, a + start, m, &lp));
    bad += m < 1 || m > G->cap || !isfinite(lp);
    sentences++;
    start = i + 1;
  }
  CU_ASSERT_EQUAL(bad, 0);
  CU_ASSERT(ns == sentences || ns == sentences + 1); /* the last one may be cut */
  CU_ASSERT(sentences > 100);
  sl_rng_seed(&r, 2);
  SL_ASSERT_OK(sl_pcfg_generate(G, &r, b, N, NULL));
  CU_ASSERT(memcmp(a, b, sizeof a) != 0);
  sl_pcfg_destroy(G);
  sl_pcfg_destroy(G2);
  sl_pcfg_destroy(G3);
}

static void test_validation(void) {
  const int sym[3] = {1, 2, 2};
  sl_pcfg *G = NULL;
  sl_pcfg_params p = make_params(3, sym, 5, 3, 2, 0.3, 1.0, 4); /* 5 rules > 2^2 pairs */
  CU_ASSERT_EQUAL(sl_pcfg_create(&p, 1, &G), SL_ERR_CONFIG);
  CU_ASSERT(strstr(sl_error_message(), "language.rules") != NULL);
  CU_ASSERT(G == NULL);
  p = make_params(3, sym, 2, 3, 4, 0.3, 1.0, 4); /* emit_k > T */
  CU_ASSERT_EQUAL(sl_pcfg_validate(&p), SL_ERR_CONFIG);
  CU_ASSERT(strstr(sl_error_message(), "emit_k") != NULL);
  p = make_params(3, sym, 2, 3, 2, 1.0, 1.0, 4);
  CU_ASSERT_EQUAL(sl_pcfg_validate(&p), SL_ERR_CONFIG);
  /* p_emit = 0: every sentence has 4 tokens, none fits under max_len = 3. */
  p = make_params(3, sym, 2, 3, 2, 0.0, 1.0, 3);
  CU_ASSERT_EQUAL(sl_pcfg_create(&p, 1, &G), SL_ERR_CONFIG);
  CU_ASSERT(strstr(sl_error_message(), "max_len") != NULL);
  CU_ASSERT(G == NULL);
  sl_error_clear();
}

int main(int argc, char **argv) {
  const sl_test tests[] = {
      {"inside vs brute-force derivations, cap normalisation", test_inside_vs_brute_force},
      {"sampling (chi-square) and entropy per token", test_sampling_chi_square},
      {"long sentences: scaling vs closed form", test_long_sentences},
      {"determinism, prefix property, stream shape", test_determinism_prefix},
      {"validation", test_validation},
      {NULL, NULL}};
  return sl_test_main(argc, argv, "pcfg", tests);
}
