/* Unique sequences (SCIENCE.md section 2): the exact counter against a sort-based reference, the
 * HyperLogLog error against its standard error, sketch merging, and log-spaced prefixes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/corpus.h"
#include "slingshot/error.h"
#include "slingshot/lang.h"
#include "slingshot/rng.h"
#include "test_util.h"

/* ---- naive reference: collect, qsort, count runs ---- */

typedef struct seq {
  const int32_t *t;
  size_t len;
} seq;

static int seq_cmp(const void *a, const void *b) {
  const seq *x = a, *y = b;
  if (x->len != y->len) return x->len < y->len ? -1 : 1;
  for (size_t i = 0; i < x->len; i++)
    if (x->t[i] != y->t[i]) return x->t[i] < y->t[i] ? -1 : 1;
  return 0;
}

static size_t count_distinct(seq *s, size_t n) {
  if (n == 0) return 0;
  qsort(s, n, sizeof *s, seq_cmp);
  size_t d = 1;
  for (size_t i = 1; i < n; i++)
    d += seq_cmp(&s[i - 1], &s[i]) != 0;
  return d;
}

static size_t ref_ngrams(const int32_t *tok, int64_t D, int L) {
  if (D < L) return 0;
  size_t n = (size_t)(D - L + 1);
  seq *s = malloc(n * sizeof *s);
  for (size_t i = 0; i < n; i++)
    s[i] = (seq){tok + i, (size_t)L};
  size_t d = count_distinct(s, n);
  free(s);
  return d;
}

static size_t ref_pieces(const int32_t *tok, const sl_piece *pc, size_t np, int64_t D) {
  seq *s = malloc((np + 1) * sizeof *s);
  size_t m = 0;
  for (size_t i = 0; i < np; i++) {
    size_t len = 2 * (size_t)pc[i].arity + 2;
    if (pc[i].start + (int64_t)len <= D) s[m++] = (seq){tok + pc[i].start, len};
  }
  size_t d = count_distinct(s, m);
  free(s);
  return d;
}

/* Exact counts of one stream against the reference at every prefix and length. */
static void check_exact(const int32_t *tok, size_t n, const sl_piece *pc, size_t np,
                        const int *lengths, int n_lengths) {
  int64_t pre[12];
  int n_pre = 0;
  pre[n_pre++] = 0;
  pre[n_pre++] = 1;
  int64_t logp[8];
  SL_ASSERT_OK(sl_corpus_log_prefixes((int64_t)n, 8, 5, logp));
  for (int i = 0; i < 8; i++)
    pre[n_pre++] = logp[i];
  double *op = malloc((size_t)n_pre * sizeof *op);
  double *on = malloc((size_t)n_pre * (size_t)n_lengths * sizeof *on);
  SL_ASSERT_OK(sl_corpus_count_unique(tok, n, pc, np, lengths, n_lengths, pre, n_pre, 0, 0,
                                      pc ? op : NULL, on));
  int ok = 1;
  for (int j = 0; j < n_pre; j++) {
    if (pc) {
      size_t want = ref_pieces(tok, pc, np, pre[j]);
      ok &= op[j] == (double)want;
      if (op[j] != (double)want)
        printf("\n  pieces D=%lld: %g vs %zu", (long long)pre[j], op[j], want);
    }
    for (int l = 0; l < n_lengths; l++) {
      size_t want = ref_ngrams(tok, pre[j], lengths[l]);
      double got = on[(size_t)l * n_pre + j];
      ok &= got == (double)want;
      if (got != (double)want)
        printf("\n  L=%d D=%lld: %g vs %zu", lengths[l], (long long)pre[j], got, want);
    }
  }
  CU_ASSERT_TRUE(ok);
  free(op);
  free(on);
}

static void test_exact_vs_reference(void) {
  const size_t n = 3000;
  int32_t *tok = malloc(n * sizeof *tok);
  sl_rng r;
  sl_rng_seed(&r, 1);
  /* A 3-letter alphabet: many repeats; lengths up to 40 cross from packed keys to hashes. */
  const int lengths[] = {1, 2, 3, 5, 8, 21, 32, 33, 40};
  for (size_t i = 0; i < n; i++)
    tok[i] = (int32_t)sl_rng_below(&r, 3);
  check_exact(tok, n, NULL, 0, lengths, 9);
  /* Large token values (20-bit digits: only 1..3-grams packed), drawn from 4 values. */
  const int32_t vals[4] = {0, 999999, 123456, 2147483647};
  for (size_t i = 0; i < n; i++)
    tok[i] = vals[sl_rng_below(&r, 4)];
  check_exact(tok, n, NULL, 0, lengths, 9);
  free(tok);

  /* A skills stream with its pieces: a tiny language repeats pieces often. */
  sl_skills_params p;
  memset(&p, 0, sizeof p);
  p.M = 3;
  p.S = 4;
  p.k_max = 3;
  p.arity_weights[0] = p.arity_weights[1] = p.arity_weights[2] = 1;
  p.zipf = 1.0;
  sl_skills_lang *L = NULL;
  SL_ASSERT_OK(sl_skills_create(&p, 5, &L));
  const size_t n2 = 5000;
  int32_t *t2 = malloc(n2 * sizeof *t2);
  sl_piece *pc = malloc(SL_SKILLS_MAX_PIECES(n2) * sizeof *pc);
  size_t np = 0;
  SL_ASSERT_OK(sl_skills_generate(L, &r, t2, n2, pc, SL_SKILLS_MAX_PIECES(n2), &np));
  const int l2[] = {4, 1, 6, 12};
  check_exact(t2, n2, pc, np, l2, 4);
  /* A larger alphabet so that pieces need the hashed keys (8 tokens x 9 bits > 64). */
  p.M = 200;
  p.S = 300;
  sl_skills_destroy(L);
  SL_ASSERT_OK(sl_skills_create(&p, 5, &L));
  SL_ASSERT_OK(sl_skills_generate(L, &r, t2, n2, pc, SL_SKILLS_MAX_PIECES(n2), &np));
  check_exact(t2, n2, pc, np, l2, 4);
  free(pc);
  free(t2);
  sl_skills_destroy(L);
}

static int u64_cmp(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static void test_uset(void) {
  const size_t n = 200000;
  uint64_t *keys = malloc(n * sizeof *keys);
  sl_rng r;
  sl_rng_seed(&r, 3);
  sl_uset s;
  SL_ASSERT_OK(sl_uset_init(&s, 0)); /* grows from the minimum size */
  size_t added_sum = 0;
  for (size_t i = 0; i < n; i++) {
    /* Unmixed, clustered keys (multiples of 2^20) and key 0 among them. */
    keys[i] = sl_rng_below(&r, 70000) << 20;
    int added;
    SL_ASSERT_OK(sl_uset_insert(&s, keys[i], &added));
    added_sum += (size_t)added;
  }
  qsort(keys, n, sizeof *keys, u64_cmp);
  size_t d = 1;
  for (size_t i = 1; i < n; i++)
    d += keys[i] != keys[i - 1];
  CU_ASSERT_EQUAL(s.count, d);
  CU_ASSERT_EQUAL(added_sum, d);
  CU_ASSERT_TRUE(s.has_zero);
  CU_ASSERT_TRUE(2 * s.count <= s.cap);
  int added = -1;
  SL_ASSERT_OK(sl_uset_insert(&s, keys[n / 2], &added)); /* already there */
  CU_ASSERT_EQUAL(added, 0);
  CU_ASSERT_EQUAL(s.count, d);
  sl_uset_free(&s);
  free(keys);

  /* Equal token sequences hash equal wherever they sit; a changed token changes the hash. */
  int32_t a[6] = {5, 1, 2, 3, 9, 9}, b[4] = {1, 2, 3, 7};
  CU_ASSERT_EQUAL(sl_hash_tokens(a + 1, 3), sl_hash_tokens(b, 3));
  CU_ASSERT_NOT_EQUAL(sl_hash_tokens(a + 1, 4), sl_hash_tokens(b, 4));
  CU_ASSERT_NOT_EQUAL(sl_hash_tokens(a + 1, 2), sl_hash_tokens(b, 3));
}

/* ---- HyperLogLog ---- */

static void test_hll_error(void) {
  /* For each precision and cardinality, the mean relative error over many seeds is within 3
   * standard errors of the mean (sigma / sqrt(seeds), sigma = 1.04 / sqrt(m)), and the spread of
   * the relative errors (rms) is within 1.25 sigma: the theoretical standard error, with room for
   * the sampling error of an rms over 24 to 200 seeds (measured: 0.6 to 1.15 sigma). Linear
   * counting is checked below 5m/2, the raw estimator well above it. */
  const int ps[] = {4, 8, 12, 16};
  for (int a = 0; a < 4; a++) {
    const int p = ps[a];
    const double m = ldexp(1.0, p), sigma = sl_hll_rel_stderr(p);
    CU_ASSERT_DOUBLE_EQUAL(sigma, 1.04 / sqrt(m), 1e-15);
    const int seeds = p >= 16 ? 24 : 200;
    const double cards[] = {m / 4, 20 * m};
    for (int c = 0; c < 2; c++) {
      const size_t N = (size_t)cards[c];
      double s1 = 0, s2 = 0;
      for (int sd = 0; sd < seeds; sd++) {
        sl_hll h;
        SL_ASSERT_OK(sl_hll_init(&h, p));
        for (size_t i = 0; i < N; i++) /* distinct inputs, bijective mixer: exactly N keys */
          sl_hll_add(&h, sl_hash_mix64(((uint64_t)(sd + 1000 * p) << 32) + i));
        double rel = sl_hll_estimate(&h) / (double)N - 1.0;
        s1 += rel;
        s2 += rel * rel;
        sl_hll_free(&h);
      }
      double mean = s1 / seeds, rms = sqrt(s2 / seeds);
      if (!(fabs(mean) <= 3 * sigma / sqrt(seeds) && rms <= 1.25 * sigma))
        printf("\n  p=%d N=%zu: mean %.4f rms %.4f sigma %.4f", p, N, mean, rms, sigma);
      CU_ASSERT_TRUE(fabs(mean) <= 3 * sigma / sqrt(seeds));
      CU_ASSERT_TRUE(rms <= 1.25 * sigma);
    }
  }
  sl_hll h;
  sl_error_clear();
  CU_ASSERT_EQUAL(sl_hll_init(&h, 3), SL_ERR_ARG);
  CU_ASSERT_EQUAL(sl_hll_init(&h, 19), SL_ERR_ARG);
  CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), "between 4 and 18"));
  sl_error_clear();
  SL_ASSERT_OK(sl_hll_init(&h, 10));
  CU_ASSERT_EQUAL(sl_hll_estimate(&h), 0.0); /* empty */
  sl_hll_free(&h);
}

static void test_hll_merge(void) {
  const int p = 10;
  sl_hll a, b, u, other;
  SL_ASSERT_OK(sl_hll_init(&a, p));
  SL_ASSERT_OK(sl_hll_init(&b, p));
  SL_ASSERT_OK(sl_hll_init(&u, p));
  SL_ASSERT_OK(sl_hll_init(&other, p + 1));
  for (uint64_t i = 0; i < 30000; i++) { /* A = [0, 30000), B = [20000, 70000) */
    sl_hll_add(&a, sl_hash_mix64(i));
    sl_hll_add(&u, sl_hash_mix64(i));
  }
  for (uint64_t i = 20000; i < 70000; i++) {
    sl_hll_add(&b, sl_hash_mix64(i));
    sl_hll_add(&u, sl_hash_mix64(i));
  }
  CU_ASSERT_NOT_EQUAL(memcmp(a.reg, u.reg, a.m), 0);
  SL_ASSERT_OK(sl_hll_merge(&a, &b));
  CU_ASSERT_EQUAL(memcmp(a.reg, u.reg, a.m), 0);
  CU_ASSERT_EQUAL(sl_hll_estimate(&a), sl_hll_estimate(&u));
  CU_ASSERT_DOUBLE_EQUAL(sl_hll_estimate(&u), 70000.0, 5 * sl_hll_rel_stderr(p) * 70000.0);
  sl_error_clear();
  CU_ASSERT_EQUAL(sl_hll_merge(&a, &other), SL_ERR_ARG);
  sl_error_clear();
  sl_hll_free(&a);
  sl_hll_free(&b);
  sl_hll_free(&u);
  sl_hll_free(&other);
}

/* Sketched U(D) against the exact U(D) of the same stream. */
static void test_count_unique_hll(void) {
  sl_skills_params p;
  memset(&p, 0, sizeof p);
  p.M = 64;
  p.S = 100;
  p.k_max = 3;
  p.arity_weights[0] = p.arity_weights[1] = p.arity_weights[2] = 1;
  p.zipf = 1.0;
  sl_skills_lang *L = NULL;
  SL_ASSERT_OK(sl_skills_create(&p, 6, &L));
  const size_t n = 300000;
  int32_t *tok = malloc(n * sizeof *tok);
  sl_piece *pc = malloc(SL_SKILLS_MAX_PIECES(n) * sizeof *pc);
  size_t np = 0;
  sl_rng r;
  sl_rng_seed(&r, 12);
  SL_ASSERT_OK(sl_skills_generate(L, &r, tok, n, pc, SL_SKILLS_MAX_PIECES(n), &np));
  const int lengths[] = {1, 2, 4, 8};
  int64_t pre[6];
  SL_ASSERT_OK(sl_corpus_log_prefixes((int64_t)n, 6, 1000, pre));
  double ep[6], en[24], hp[6], hn[24];
  const int hp_p = 14;
  SL_ASSERT_OK(sl_corpus_count_unique(tok, n, pc, np, lengths, 4, pre, 6, 0, 0, ep, en));
  SL_ASSERT_OK(sl_corpus_count_unique(tok, n, pc, np, lengths, 4, pre, 6, 1, hp_p, hp, hn));
  const double tol = 4 * sl_hll_rel_stderr(hp_p);
  int ok = 1;
  for (int j = 0; j < 6; j++) {
    ok &= fabs(hp[j] / ep[j] - 1) <= tol;
    CU_ASSERT_TRUE(j == 0 || ep[j] >= ep[j - 1]); /* U(D) never decreases */
  }
  for (int i = 0; i < 24; i++)
    ok &= fabs(hn[i] / en[i] - 1) <= tol;
  CU_ASSERT_TRUE(ok);
  CU_ASSERT_TRUE(en[0 * 6 + 5] <= p.M + p.S + 1); /* unigrams: at most V */

  /* Argument errors. */
  sl_error_clear();
  int64_t bad[2] = {10, 5};
  CU_ASSERT_EQUAL(sl_corpus_count_unique(tok, n, NULL, 0, lengths, 4, bad, 2, 0, 0, NULL, en),
                  SL_ERR_ARG);
  int64_t too_long[1] = {(int64_t)n + 1};
  CU_ASSERT_EQUAL(sl_corpus_count_unique(tok, n, NULL, 0, lengths, 4, too_long, 1, 0, 0, NULL, en),
                  SL_ERR_ARG);
  const int dup[2] = {3, 3};
  CU_ASSERT_EQUAL(sl_corpus_count_unique(tok, n, NULL, 0, dup, 2, pre, 6, 0, 0, NULL, en),
                  SL_ERR_ARG);
  CU_ASSERT_EQUAL(sl_corpus_count_unique(tok, n, NULL, 0, lengths, 4, pre, 6, 1, 20, NULL, en),
                  SL_ERR_ARG);
  sl_error_clear();
  free(pc);
  free(tok);
  sl_skills_destroy(L);
}

/* Pieces given as spans (any lengths, gaps between them) against the sort reference. */
static void test_spans(void) {
  const size_t n = 4000;
  int32_t *tok = malloc(n * sizeof *tok);
  int64_t *st = malloc(n * sizeof *st);
  int32_t *len = malloc(n * sizeof *len);
  sl_rng r;
  sl_rng_seed(&r, 21);
  for (size_t i = 0; i < n; i++)
    tok[i] = (int32_t)sl_rng_below(&r, 2);
  size_t ns = 0, pos = 0;
  for (;;) {
    pos += sl_rng_below(&r, 3);                /* gaps of 0..2 tokens */
    const size_t l = 1 + sl_rng_below(&r, 70); /* up to 70 tokens: packed and hashed keys */
    if (pos + l > n) break;
    st[ns] = (int64_t)pos;
    len[ns++] = (int32_t)l;
    pos += l;
  }
  int64_t pre[6];
  SL_ASSERT_OK(sl_corpus_log_prefixes((int64_t)n, 6, 50, pre));
  double op[6], on[6];
  const int L = 3;
  size_t peak = 0;
  SL_ASSERT_OK(
      sl_corpus_count_unique_spans(tok, n, st, len, ns, &L, 1, pre, 6, 0, 0, op, on, &peak));
  seq *sq = malloc(ns * sizeof *sq);
  for (int j = 0; j < 6; j++) {
    size_t m = 0;
    for (size_t i = 0; i < ns; i++)
      if (st[i] + len[i] <= pre[j]) sq[m++] = (seq){tok + st[i], (size_t)len[i]};
    CU_ASSERT_EQUAL(op[j], (double)count_distinct(sq, m));
    CU_ASSERT_EQUAL(on[j], (double)ref_ngrams(tok, pre[j], L));
  }
  CU_ASSERT_TRUE(peak > 0);
  /* Out of order spans are refused. */
  sl_error_clear();
  st[1] = st[0];
  CU_ASSERT_EQUAL(
      sl_corpus_count_unique_spans(tok, n, st, len, ns, &L, 1, pre, 6, 0, 0, op, on, NULL),
      SL_ERR_ARG);
  sl_error_clear();
  free(sq);
  free(tok);
  free(st);
  free(len);
}

/* A pass long enough to pre-size its sets from a sketch (>= 2^20 positions): exact counts at every
 * prefix against a bitmap of all 4^11 possible 11-grams over 4 letters, and the table's memory at
 * most 16 B per distinct key. */
static void test_presized(void) {
  const size_t n = 1500000;
  const int L = 11;
  int32_t *tok = malloc(n * sizeof *tok);
  sl_rng r;
  sl_rng_seed(&r, 22);
  for (size_t i = 0; i < n; i++)
    tok[i] = (int32_t)sl_rng_below(&r, 4);
  int64_t pre[5];
  SL_ASSERT_OK(sl_corpus_log_prefixes((int64_t)n, 5, 1000, pre));
  double got[5];
  size_t peak = 0;
  SL_ASSERT_OK(
      sl_corpus_count_unique_spans(tok, n, NULL, NULL, 0, &L, 1, pre, 5, 0, 0, NULL, got, &peak));
  uint8_t *seen = calloc((size_t)1 << (2 * L), 1);
  size_t d = 0;
  uint32_t code = 0;
  int j = 0;
  for (size_t e = 1; e <= n; e++) {
    code = ((code << 2) | (uint32_t)tok[e - 1]) & (((uint32_t)1 << (2 * L)) - 1);
    if (e >= (size_t)L && !seen[code]) {
      seen[code] = 1;
      d++;
    }
    for (; j < 5 && (size_t)pre[j] == e; j++)
      CU_ASSERT_EQUAL(got[j], (double)d);
  }
  CU_ASSERT_EQUAL(j, 5);
  CU_ASSERT_TRUE((double)peak <= 16.0 * (double)d + 2e6); /* + key blocks and sketch */
  free(seen);
  free(tok);
}

static void test_log_prefixes(void) {
  int64_t out[40];
  SL_ASSERT_OK(sl_corpus_log_prefixes(1000000, 13, 1000, out));
  CU_ASSERT_EQUAL(out[0], 1000);
  CU_ASSERT_EQUAL(out[12], 1000000);
  CU_ASSERT_EQUAL(out[4], 10000); /* 1000 * 1000^(4/12) */
  int ok = 1;
  for (int i = 1; i < 13; i++)
    ok &= out[i] > out[i - 1] && fabs(log((double)out[i] / out[i - 1]) - log(1000.0) / 12) < 1e-3;
  CU_ASSERT_TRUE(ok);
  /* Crowded small end: still strictly increasing, ends exact. */
  SL_ASSERT_OK(sl_corpus_log_prefixes(40, 40, 1, out));
  ok = 1;
  for (int i = 0; i < 40; i++)
    ok &= out[i] == i + 1;
  CU_ASSERT_TRUE(ok);
  SL_ASSERT_OK(sl_corpus_log_prefixes(100000, 30, 1, out));
  ok = out[0] == 1 && out[29] == 100000;
  for (int i = 1; i < 30; i++)
    ok &= out[i] > out[i - 1];
  CU_ASSERT_TRUE(ok);
  SL_ASSERT_OK(sl_corpus_log_prefixes(77, 1, 5, out));
  CU_ASSERT_EQUAL(out[0], 77);
  sl_error_clear();
  CU_ASSERT_EQUAL(sl_corpus_log_prefixes(10, 20, 1, out), SL_ERR_ARG);
  CU_ASSERT_EQUAL(sl_corpus_log_prefixes(10, 3, 0, out), SL_ERR_ARG);
  CU_ASSERT_EQUAL(sl_corpus_log_prefixes(10, 3, 11, out), SL_ERR_ARG);
  CU_ASSERT_EQUAL(sl_corpus_log_prefixes(10, 0, 1, out), SL_ERR_ARG);
  sl_error_clear();
}

int main(int argc, char **argv) {
  static const sl_test tests[] = {{"exact counts vs sort reference", test_exact_vs_reference},
                                  {"exact key set", test_uset},
                                  {"HyperLogLog error", test_hll_error},
                                  {"HyperLogLog merge", test_hll_merge},
                                  {"U(D) sketched vs exact", test_count_unique_hll},
                                  {"log-spaced prefixes", test_log_prefixes},
                                  {"pieces as spans", test_spans},
                                  {"pre-sized exact sets", test_presized},
                                  {NULL, NULL}};
  return sl_test_main(argc, argv, "unique", tests);
}
