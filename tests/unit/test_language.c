/* The language interface (include/slingshot/language.h) for the three kinds: nested corpus
 * streams, pieces as spans, the expected number of distinct pieces counted by the unique counter,
 * the HMM and PCFG entropy estimates against exact references computed by enumeration, and the
 * config's validation of the new keys. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/config.h"
#include "slingshot/corpus.h"
#include "slingshot/error.h"
#include "slingshot/language.h"
#include "slingshot/rng.h"
#include "test_util.h"

#define GRID "grid = { n_params = [1000.0]; d_tokens = [1e4]; };\n"

static void parse(const char *language, sl_config *cfg) {
  char text[2048];
  snprintf(text, sizeof text, "%slanguage = { %s };\n", GRID, language);
  SL_ASSERT_OK(sl_config_parse(text, "test.cfg", cfg));
}

static const char *KINDS[3] = {
    "kind = \"skills\"; M = 5; S = 4; k_max = 2;",
    "kind = \"hmm\"; H = 5; V = 7; trans_k = 2; emit_k = 3; entropy_tokens = 20000;",
    "kind = \"pcfg\"; levels = 3; symbols = [2, 3, 3]; rules = 3; T = 6; emit_k = 2; "
    "p_emit = 0.2; max_len = 4; entropy_tokens = 20000;"};

/* A stream of n tokens is a prefix of one of 2n from the same rng state, with the same complete
 * pieces; pieces are well formed for their kind. */
static void test_prefix_and_spans(void) {
  const size_t n = 3000;
  for (int k = 0; k < 3; k++) {
    sl_config cfg;
    parse(KINDS[k], &cfg);
    sl_language *L = NULL;
    SL_ASSERT_OK(sl_language_create(&cfg, 3, &L));
    CU_ASSERT_EQUAL((int)L->kind, k);
    CU_ASSERT_EQUAL(L->entropy_exact, k == 0);
    CU_ASSERT_TRUE(L->entropy_bits > 0 && (k == 0 || L->entropy_stderr_bits > 0));
    int32_t *a = malloc(2 * n * sizeof *a), *b = malloc(n * sizeof *b);
    const size_t ma = sl_language_max_pieces(L, 2 * n), mb = sl_language_max_pieces(L, n);
    int64_t *sa = malloc((ma + 1) * sizeof *sa), *sb = malloc((mb + 1) * sizeof *sb);
    int32_t *la = malloc((ma + 1) * sizeof *la), *lb = malloc((mb + 1) * sizeof *lb);
    size_t na = 0, nb = 0;
    sl_rng r1, r2;
    sl_rng_stream(&r1, 1, 2, "corpus");
    r2 = r1;
    SL_ASSERT_OK(sl_language_generate(L, &r1, a, 2 * n, sa, la, ma, &na));
    SL_ASSERT_OK(sl_language_generate(L, &r2, b, n, sb, lb, mb, &nb));
    CU_ASSERT_EQUAL(memcmp(a, b, n * sizeof *a), 0);
    CU_ASSERT_EQUAL(nb > 0, k != 1); /* the HMM has no pieces */
    int ok = 1;
    for (size_t i = 0; i < nb; i++)
      ok &= sa[i] == sb[i] && la[i] == lb[i] && sb[i] + lb[i] <= (int64_t)n;
    /* the long stream's pieces that end by n are exactly the short stream's */
    ok &= nb == na || sa[nb] + la[nb] > (int64_t)n;
    CU_ASSERT_TRUE(ok);
    ok = 1;
    for (size_t i = 0; i < na; i++) {
      const int32_t *t = a + sa[i];
      const int len = la[i];
      ok &= i == 0 || sa[i] == sa[i - 1] + la[i - 1]; /* pieces tile the stream */
      if (k == 0) {
        ok &= len >= 4 && len % 2 == 0 && t[len - 1] == L->skills->eos;
      } else {
        ok &= t[len - 1] == L->pcfg->eos && len >= 2 && len - 1 <= cfg.language.max_len;
        for (int j = 0; j + 1 < len; j++)
          ok &= t[j] != L->pcfg->eos;
        double lp;
        SL_ASSERT_OK(sl_pcfg_log_prob(L->pcfg, t, len - 1, &lp));
        ok &= isfinite(lp); /* every sentence is one the grammar derives */
      }
    }
    CU_ASSERT_TRUE(ok);
    CU_ASSERT_TRUE(na == 0 || sa[0] == 1); /* streams start with EOS */
    free(a);
    free(b);
    free(sa);
    free(sb);
    free(la);
    free(lb);
    sl_language_destroy(L);
  }
}

/* SCIENCE.md section 0 / issue 4 proof: after n i.i.d. pieces the expected number of distinct
 * ones is sum_i (1 - (1 - p_i)^n) over all pieces i, exact from the piece probabilities
 * p = arity_p[k] P(ordered tuple | k) / M; the counter (sl_corpus_count_unique_spans, by token
 * content) agrees on average over many streams within 4 standard errors. */
static void test_expected_distinct_pieces(void) {
  sl_config cfg;
  parse("kind = \"skills\"; M = 3; S = 4; k_max = 2; arity_weights = [1.0, 2.0]; zipf = 1.0;",
        &cfg);
  sl_language *L = NULL;
  SL_ASSERT_OK(sl_language_create(&cfg, 1, &L));
  const sl_skills_lang *S = L->skills;
  double w[4], wsum = 0;
  for (int i = 0; i < 4; i++)
    wsum += w[i] = pow(i + 1, -1.0);
  for (int i = 0; i < 4; i++)
    w[i] /= wsum;
  /* The probability of every ordered tuple of arity 1 and 2 (without replacement, weights w). */
  double pi[4 + 12];
  int np = 0;
  for (int s = 0; s < 4; s++)
    pi[np++] = S->arity_p[1] * w[s] / 3;
  for (int s = 0; s < 4; s++)
    for (int t = 0; t < 4; t++)
      if (t != s) pi[np++] = S->arity_p[2] * w[s] * w[t] / (1 - w[s]) / 3;
  const int ns[3] = {5, 20, 60};
  double expect[3] = {0, 0, 0};
  for (int j = 0; j < 3; j++)
    for (int i = 0; i < np; i++)
      expect[j] += 3 * (1 - pow(1 - pi[i], ns[j])); /* each tuple with M = 3 values of x */
  const int seeds = 300;
  const size_t n = 600; /* at least 60 pieces of at most 6 tokens */
  double s1[3] = {0}, s2[3] = {0};
  int32_t *tok = malloc(n * sizeof *tok);
  const size_t mp = sl_language_max_pieces(L, n);
  int64_t *st = malloc(mp * sizeof *st);
  int32_t *len = malloc(mp * sizeof *len);
  for (int sd = 0; sd < seeds; sd++) {
    sl_rng r;
    sl_rng_stream(&r, 99, (uint64_t)sd, "pieces");
    size_t got = 0;
    SL_ASSERT_OK(sl_language_generate(L, &r, tok, n, st, len, mp, &got));
    CU_ASSERT_FATAL(got >= 60);
    int64_t pre[3];
    for (int j = 0; j < 3; j++)
      pre[j] = st[ns[j] - 1] + len[ns[j] - 1]; /* the end of the n-th piece */
    double out[3];
    SL_ASSERT_OK(
        sl_corpus_count_unique_spans(tok, n, st, len, got, NULL, 0, pre, 3, 0, 0, out, NULL, NULL));
    for (int j = 0; j < 3; j++) {
      s1[j] += out[j];
      s2[j] += out[j] * out[j];
    }
  }
  for (int j = 0; j < 3; j++) {
    const double mean = s1[j] / seeds;
    const double sd = sqrt((s2[j] - seeds * mean * mean) / (seeds - 1));
    if (fabs(mean - expect[j]) > 4 * sd / sqrt((double)seeds))
      printf("\n  n = %d: counted %.3f, expected %.3f (sd %.3f)", ns[j], mean, expect[j], sd);
    CU_ASSERT_TRUE(sd > 0);
    CU_ASSERT_DOUBLE_EQUAL(mean, expect[j], 4 * sd / sqrt((double)seeds));
  }
  free(tok);
  free(st);
  free(len);
  sl_language_destroy(L);
}

/* The PCFG estimate against the exact entropy per token: every sentence up to the cap is
 * enumerated, P(s) by the inside algorithm (itself checked against brute-force derivations in
 * test_pcfg), H = -sum P log2 P / sum P (len + 1). The estimate's 4-stderr interval holds it. */
static void test_pcfg_entropy_exact(void) {
  sl_config cfg;
  parse(KINDS[2], &cfg);
  sl_language *L = NULL;
  SL_ASSERT_OK(sl_language_create(&cfg, 5, &L));
  const int T = 6, cap = L->pcfg->cap;
  double h = 0, tokens = 0, total = 0;
  int32_t s[8];
  for (int len = 1; len <= cap; len++) {
    long count = 1;
    for (int i = 0; i < len; i++)
      count *= T;
    for (long c = 0; c < count; c++) {
      long v = c;
      for (int i = 0; i < len; i++, v /= T)
        s[i] = (int32_t)(v % T);
      double lp;
      SL_ASSERT_OK(sl_pcfg_log_prob(L->pcfg, s, len, &lp));
      if (!isfinite(lp)) continue;
      const double p = exp(lp);
      total += p;
      h -= p * lp / log(2.0);
      tokens += p * (len + 1);
    }
  }
  CU_ASSERT_DOUBLE_EQUAL(total, 1.0, 1e-9);
  const double exact = h / tokens;
  if (fabs(L->entropy_bits - exact) > 4 * L->entropy_stderr_bits)
    printf("\n  pcfg entropy: estimate %.5f +- %.5f, exact %.5f", L->entropy_bits,
           L->entropy_stderr_bits, exact);
  CU_ASSERT_DOUBLE_EQUAL(L->entropy_bits, exact, 4 * L->entropy_stderr_bits);
  CU_ASSERT_TRUE(L->entropy_stderr_bits < 0.05 * exact);
  sl_language_destroy(L);
}

/* The PCFG's exact next-token distribution (prefix probabilities by the inside algorithm with
 * wildcard positions) against brute force: every sentence up to the cap enumerated with its
 * probability, and for every prefix up to the cap the conditional of each next terminal and of
 * EOS summed directly. Impossible prefixes are refused. */
static void test_pcfg_next_dist(void) {
  sl_config cfg;
  parse(KINDS[2], &cfg);
  sl_language *L = NULL;
  SL_ASSERT_OK(sl_language_create(&cfg, 5, &L));
  const sl_pcfg *G = L->pcfg;
  const int T = G->p.T, cap = G->cap, V = G->V;
  CU_ASSERT_FATAL(cap == 4 && T == 6);
  /* P(s) for every sentence, indexed by length and base-T code. */
  double *ps[5] = {NULL};
  long count[5] = {1, 6, 36, 216, 1296};
  int32_t s4[4];
  for (int n = 1; n <= cap; n++) {
    ps[n] = malloc((size_t)count[n] * sizeof(double));
    for (long c = 0; c < count[n]; c++) {
      long v = c;
      for (int i = n - 1; i >= 0; i--, v /= T)
        s4[i] = (int32_t)(v % T);
      double lp;
      SL_ASSERT_OK(sl_pcfg_log_prob(G, s4, n, &lp));
      ps[n][c] = exp(lp);
    }
  }
  double *p = malloc((size_t)V * sizeof *p), *want = malloc((size_t)V * sizeof *want);
  double worst = 0;
  int refused_ok = 1, n_checked = 0;
  for (int k = 0; k <= cap; k++)
    for (long w = 0; w < count[k]; w++) {
      long v = w;
      for (int i = k - 1; i >= 0; i--, v /= T)
        s4[i] = (int32_t)(v % T);
      /* brute force: sentences of length n >= k whose first k tokens are w */
      double pre = 0;
      for (int t = 0; t < V; t++)
        want[t] = 0;
      for (int n = k > 0 ? k : 1; n <= cap; n++) {
        const long span = count[n - k]; /* completions of n - k tokens */
        for (long c = w * span; c < (w + 1) * span; c++) {
          pre += ps[n][c];
          if (n == k)
            want[G->eos] += ps[n][c];
          else
            want[(c / count[n - k - 1]) % T] += ps[n][c];
        }
      }
      sl_error_clear();
      const int e = sl_pcfg_next_dist(G, s4, k, p);
      if (pre < 1e-300) {
        refused_ok &= e == SL_ERR_ARG;
        continue;
      }
      SL_ASSERT_OK(e);
      double sum = 0;
      for (int t = 0; t < V; t++) {
        sum += p[t];
        const double d = fabs(p[t] - want[t] / pre);
        if (d > worst) worst = d;
      }
      if (fabs(sum - 1) > worst) worst = fabs(sum - 1);
      n_checked++;
    }
  sl_error_clear();
  if (worst > 1e-10) printf("\n  next-token distribution: worst difference %.3g", worst);
  CU_ASSERT_TRUE(worst <= 1e-10);
  CU_ASSERT_TRUE(refused_ok);
  CU_ASSERT_TRUE(n_checked > 50);
  for (int n = 1; n <= cap; n++)
    free(ps[n]);
  free(p);
  free(want);
  sl_language_destroy(L);
}

/* Sum over all V^n sequences of -p log2 p of the last token's conditional given the first n - 1,
 * the forward state starting from f0: H(X_n | X_<n) under that start. */
static double hmm_cond_entropy(const sl_hmm *H, const double *f0, int n) {
  long count = 1;
  for (int i = 0; i < n; i++)
    count *= H->V;
  double *f = malloc((size_t)H->H * sizeof *f), *work = malloc((size_t)H->H * sizeof *work);
  double h = 0;
  for (long c = 0; c < count; c++) {
    memcpy(f, f0, (size_t)H->H * sizeof *f);
    long v = c;
    double lp = 0, last = 0;
    int possible = 1;
    for (int i = 0; i < n && possible; i++, v /= H->V) {
      double l;
      if (sl_hmm_forward_step(H, f, (int32_t)(v % H->V), &l, work) != SL_OK) {
        sl_error_clear();
        possible = 0;
        break;
      }
      lp += l;
      last = l;
    }
    if (possible) h -= exp(lp) * last / log(2.0);
  }
  free(f);
  free(work);
  return h;
}

/* The HMM estimate against exact bounds by enumeration (Cover and Thomas, theorem 4.5.1):
 * H(X_n | X_<n, h_1) <= entropy rate <= H(X_n | X_<n), both computed over all V^n sequences
 * with the forward algorithm (checked against brute force in test_hmm). */
static void test_hmm_entropy_bounds(void) {
  sl_config cfg;
  parse("kind = \"hmm\"; H = 3; V = 4; trans_k = 3; emit_k = 2; trans_alpha = 2.0; "
        "emit_alpha = 1.0; entropy_tokens = 400000;",
        &cfg);
  sl_language *L = NULL;
  SL_ASSERT_OK(sl_language_create(&cfg, 2, &L));
  const sl_hmm *H = L->hmm;
  const int n = 7;
  const double upper = hmm_cond_entropy(H, H->pi, n);
  double lower = 0, onehot[3];
  for (int h = 0; h < 3; h++) {
    memset(onehot, 0, sizeof onehot);
    onehot[h] = 1;
    lower += H->pi[h] * hmm_cond_entropy(H, onehot, n);
  }
  const double tol = 4 * L->entropy_stderr_bits;
  if (!(L->entropy_bits >= lower - tol && L->entropy_bits <= upper + tol))
    printf("\n  hmm entropy: estimate %.5f +- %.5f, bounds [%.5f, %.5f]", L->entropy_bits,
           L->entropy_stderr_bits, lower, upper);
  CU_ASSERT_TRUE(lower <= upper + 1e-12);
  CU_ASSERT_TRUE(upper - lower < 0.05); /* the bounds are tight enough to test something */
  CU_ASSERT_TRUE(L->entropy_bits >= lower - tol);
  CU_ASSERT_TRUE(L->entropy_bits <= upper + tol);
  sl_language_destroy(L);
}

/* Validation of the new keys: every problem named, with what to change. */
static void test_config_keys(void) {
  sl_config cfg;
  char text[1024];
  snprintf(text, sizeof text,
           "%slanguage = { kind = \"hmm\"; H = 4; trans_k = 5; V = 3; emit_k = 4; };", GRID);
  sl_error_clear();
  CU_ASSERT_EQUAL(sl_config_parse(text, "t.cfg", &cfg), SL_ERR_CONFIG);
  CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), "language.trans_k = 5 is larger than"));
  CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), "language.emit_k = 4 is larger than"));
  snprintf(text, sizeof text,
           "%slanguage = { kind = \"pcfg\"; levels = 3; symbols = [1, 2]; T = 2; emit_k = 3; };",
           GRID);
  sl_error_clear();
  CU_ASSERT_EQUAL(sl_config_parse(text, "t.cfg", &cfg), SL_ERR_CONFIG);
  CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), "language.symbols has 2 values"));
  CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), "language.emit_k = 3 is larger"));
  snprintf(text, sizeof text,
           "%slanguage = { kind = \"pcfg\"; symbols = [1, 2, 2, 2]; rules = 5; };", GRID);
  sl_error_clear();
  CU_ASSERT_EQUAL(sl_config_parse(text, "t.cfg", &cfg), SL_ERR_CONFIG);
  CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), "language.rules = 5 is more than the 4"));
  snprintf(text, sizeof text, "%slanguage = { kind = \"hmmm\"; };", GRID);
  sl_error_clear();
  CU_ASSERT_EQUAL(sl_config_parse(text, "t.cfg", &cfg), SL_ERR_CONFIG);
  CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), "pcfg"));
  sl_error_clear();
  /* The defaults of every kind build. */
  const char *kinds[3] = {"kind = \"skills\";", "kind = \"hmm\"; entropy_tokens = 2000;",
                          "kind = \"pcfg\"; entropy_tokens = 2000;"};
  for (int k = 0; k < 3; k++) {
    parse(kinds[k], &cfg);
    sl_language *L = NULL;
    SL_ASSERT_OK(sl_language_create(&cfg, 0, &L));
    sl_language_destroy(L);
  }
}

int main(int argc, char **argv) {
  static const sl_test tests[] = {
      {"nested streams and pieces of every kind", test_prefix_and_spans},
      {"expected distinct pieces, counted", test_expected_distinct_pieces},
      {"PCFG entropy estimate vs enumeration", test_pcfg_entropy_exact},
      {"PCFG next-token distribution vs enumeration", test_pcfg_next_dist},
      {"HMM entropy estimate within exact bounds", test_hmm_entropy_bounds},
      {"config keys of hmm and pcfg", test_config_keys},
      {NULL, NULL}};
  return sl_test_main(argc, argv, "language", tests);
}
