/* The record of seen skill tuples (include/slingshot/tuples.h): against a brute-force reference
 * (every piece's k'-subsets by bit masks, sorted with qsort, runs counted), in the packed and the
 * hashed key regimes; nested prefixes (incremental = fresh, seen sets grow with D); and unseen
 * sampling (never seen, uniform by a chi-square test, deterministic, both sampling paths). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/error.h"
#include "slingshot/lang.h"
#include "slingshot/rng.h"
#include "slingshot/tuples.h"
#include "test_util.h"

/* ---- brute-force reference ---- */

typedef struct ref_tuple {
  int k;
  int s[SL_MAX_ARITY];
} ref_tuple;

static int int_cmp(const void *a, const void *b) {
  const int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

static int ref_cmp(const void *a, const void *b) {
  const ref_tuple *x = a, *y = b;
  if (x->k != y->k) return x->k < y->k ? -1 : 1;
  for (int i = 0; i < x->k; i++)
    if (x->s[i] != y->s[i]) return x->s[i] < y->s[i] ? -1 : 1;
  return 0;
}

/* Distinct (tuple, count) of sizes 1..K over the pieces wholly inside [0, D), sorted by (k,
 * tuple): *n_out rows in uniq, counts in cnt. Caller frees both. */
static void reference(const sl_piece *pc, size_t np, int64_t D, int K, ref_tuple **uniq,
                      uint64_t **cnt, size_t *n_out) {
  size_t cap = 1024, n = 0;
  ref_tuple *all = malloc(cap * sizeof *all);
  for (size_t q = 0; q < np; q++) {
    const int a = pc[q].arity;
    if (pc[q].start + 2 * a + 2 > D) continue;
    for (unsigned mask = 1; mask < (1u << a); mask++) {
      const int k = __builtin_popcount(mask);
      if (k > K) continue;
      if (n == cap) all = realloc(all, (cap *= 2) * sizeof *all);
      ref_tuple t;
      memset(&t, 0, sizeof t);
      t.k = k;
      int j = 0;
      for (int i = 0; i < a; i++)
        if (mask >> i & 1u) t.s[j++] = pc[q].skills[i];
      qsort(t.s, (size_t)k, sizeof(int), int_cmp);
      all[n++] = t;
    }
  }
  qsort(all, n, sizeof *all, ref_cmp);
  *uniq = malloc((n + 1) * sizeof **uniq);
  *cnt = malloc((n + 1) * sizeof **cnt);
  size_t u = 0;
  for (size_t i = 0; i < n; i++) {
    if (u > 0 && ref_cmp(&(*uniq)[u - 1], &all[i]) == 0) {
      (*cnt)[u - 1]++;
    } else {
      (*uniq)[u] = all[i];
      (*cnt)[u++] = 1;
    }
  }
  *n_out = u;
  free(all);
}

static sl_skills_lang *make_lang(int M, int S, int k_max, double zipf, uint64_t seed) {
  sl_skills_params p;
  memset(&p, 0, sizeof p);
  p.M = M;
  p.S = S;
  p.k_max = k_max;
  for (int k = 0; k < k_max; k++)
    p.arity_weights[k] = 1;
  p.zipf = zipf;
  sl_skills_lang *L = NULL;
  SL_ASSERT_OK(sl_skills_create(&p, seed, &L));
  return L;
}

/* The record at D against the reference: the lists of every size, and queries of every listed
 * tuple in reversed order. When all_queries, also every k-subset of [0, S) (small S only). */
static void check_against_reference(const sl_piece *pc, size_t np, int S, int K, int64_t D,
                                    int all_queries) {
  sl_tuples *T = NULL;
  SL_ASSERT_OK(sl_tuples_create(S, K, &T));
  SL_ASSERT_OK(sl_tuples_add(T, pc, np, D));
  ref_tuple *ref;
  uint64_t *rc;
  size_t nr;
  reference(pc, np, D, K, &ref, &rc, &nr);
  size_t r0 = 0, total = 0;
  int ok = 1;
  for (int k = 1; k <= K; k++) {
    size_t r1 = r0;
    while (r1 < nr && ref[r1].k == k)
      r1++;
    size_t seen;
    double possible;
    SL_ASSERT_OK(sl_tuples_distinct(T, k, &seen, &possible));
    CU_ASSERT_EQUAL(seen, r1 - r0);
    double c = 1; /* C(S, k) the slow way */
    for (int i = 1; i <= k; i++)
      c *= (double)(S - k + i) / i;
    CU_ASSERT_DOUBLE_EQUAL(possible, c, 1e-9 * c);
    int *tl = malloc((seen + 1) * (size_t)k * sizeof *tl);
    uint64_t *cl = malloc((seen + 1) * sizeof *cl);
    size_t n;
    SL_ASSERT_OK(sl_tuples_list(T, k, tl, cl, seen, &n));
    CU_ASSERT_EQUAL_FATAL(n, r1 - r0);
    for (size_t i = 0; i < n; i++) {
      ok &= cl[i] == rc[r0 + i];
      for (int j = 0; j < k; j++)
        ok &= tl[i * (size_t)k + (size_t)j] == ref[r0 + i].s[j];
      int rev[SL_MAX_ARITY];
      for (int j = 0; j < k; j++)
        rev[j] = ref[r0 + i].s[k - 1 - j];
      uint64_t q;
      SL_ASSERT_OK(sl_tuples_count(T, rev, k, &q));
      ok &= q == rc[r0 + i];
    }
    if (all_queries) { /* every k-subset of [0, S): seen ones with their count, the rest 0 */
      size_t hits = 0;
      for (unsigned mask = 0; mask < (1u << S); mask++) {
        if (__builtin_popcount(mask) != k) continue;
        int t[SL_MAX_ARITY], j = 0;
        for (int s = S - 1; s >= 0; s--) /* descending: the record must sort */
          if (mask >> s & 1u) t[j++] = s;
        uint64_t q;
        SL_ASSERT_OK(sl_tuples_count(T, t, k, &q));
        ref_tuple key;
        memset(&key, 0, sizeof key);
        key.k = k;
        memcpy(key.s, t, (size_t)k * sizeof *t);
        qsort(key.s, (size_t)k, sizeof(int), int_cmp);
        const ref_tuple *f = bsearch(&key, ref + r0, r1 - r0, sizeof *ref, ref_cmp);
        ok &= q == (f ? rc[f - ref] : 0);
        hits += q > 0;
      }
      CU_ASSERT_EQUAL(hits, seen);
    }
    total += n;
    free(tl);
    free(cl);
    r0 = r1;
  }
  CU_ASSERT_EQUAL(total, nr);
  CU_ASSERT_TRUE(ok);
  free(ref);
  free(rc);
  sl_tuples_destroy(T);
}

static void test_vs_reference(void) {
  /* Small S: packed keys, and every subset of the 7 skills queried. */
  sl_skills_lang *L = make_lang(5, 7, 4, 1.0, 11);
  const size_t n = 4000;
  int32_t *tok = malloc(n * sizeof *tok);
  sl_piece *pc = malloc(SL_SKILLS_MAX_PIECES(n) * sizeof *pc);
  size_t np;
  sl_rng r;
  sl_rng_seed(&r, 4);
  SL_ASSERT_OK(sl_skills_generate(L, &r, tok, n, pc, SL_SKILLS_MAX_PIECES(n), &np));
  const int64_t Ds[] = {0, 3, 17, 200, (int64_t)n};
  for (int d = 0; d < 5; d++)
    for (int K = 1; K <= 4; K += 3)
      check_against_reference(pc, np, 7, K, Ds[d], 1);
  sl_skills_destroy(L);

  /* S = 5000: 13-bit digits, so tuples of 5 and 6 skills take the hashed keys. */
  L = make_lang(4, 5000, 6, 1.2, 12);
  const size_t n2 = 40000;
  int32_t *tok2 = malloc(n2 * sizeof *tok2);
  sl_piece *pc2 = malloc(SL_SKILLS_MAX_PIECES(n2) * sizeof *pc2);
  SL_ASSERT_OK(sl_skills_generate(L, &r, tok2, n2, pc2, SL_SKILLS_MAX_PIECES(n2), &np));
  check_against_reference(pc2, np, 5000, 6, (int64_t)n2, 0);
  check_against_reference(pc2, np, 5000, 6, 777, 0);
  /* A tuple made of seen skills but never together in one piece reads 0. */
  sl_tuples *T = NULL;
  SL_ASSERT_OK(sl_tuples_create(5000, 6, &T));
  SL_ASSERT_OK(sl_tuples_add(T, pc2, np, (int64_t)n2));
  int t6[6] = {4999, 4998, 4997, 4996, 4995, 4994};
  uint64_t q = 99;
  SL_ASSERT_OK(sl_tuples_count(T, t6, 6, &q));
  CU_ASSERT_EQUAL(q, 0);
  /* Bad queries. */
  sl_error_clear();
  int dup[2] = {3, 3}, out[2] = {3, 5000};
  CU_ASSERT_EQUAL(sl_tuples_count(T, dup, 2, &q), SL_ERR_ARG);
  CU_ASSERT_EQUAL(sl_tuples_count(T, out, 2, &q), SL_ERR_ARG);
  CU_ASSERT_EQUAL(sl_tuples_count(T, t6, 7, &q), SL_ERR_ARG);
  sl_tuples *bad = NULL;
  CU_ASSERT_EQUAL(sl_tuples_create(10, SL_MAX_ARITY + 1, &bad), SL_ERR_ARG);
  CU_ASSERT_EQUAL(sl_tuples_create(0, 2, &bad), SL_ERR_ARG);
  CU_ASSERT_PTR_NULL(bad);
  sl_error_clear();
  sl_tuples_destroy(T);
  sl_skills_destroy(L);
  free(tok);
  free(pc);
  free(tok2);
  free(pc2);
}

/* ---- nested prefixes ---- */

static void test_nested_prefixes(void) {
  sl_skills_lang *L = make_lang(6, 40, 4, 1.0, 21);
  const size_t n = 60000;
  int32_t *tok = malloc(n * sizeof *tok);
  sl_piece *pc = malloc(SL_SKILLS_MAX_PIECES(n) * sizeof *pc);
  size_t np;
  sl_rng r;
  sl_rng_seed(&r, 8);
  SL_ASSERT_OK(sl_skills_generate(L, &r, tok, n, pc, SL_SKILLS_MAX_PIECES(n), &np));
  const int K = 3;
  const int64_t Ds[] = {10, 100, 1000, 10000, (int64_t)n};
  sl_tuples *inc = NULL, *prev = NULL;
  SL_ASSERT_OK(sl_tuples_create(40, K, &inc));
  int ok = 1, grew = 0;
  size_t prev_seen[SL_MAX_ARITY + 1] = {0};
  for (int d = 0; d < 5; d++) {
    sl_tuples *fresh = NULL;
    SL_ASSERT_OK(sl_tuples_create(40, K, &fresh));
    SL_ASSERT_OK(sl_tuples_add(fresh, pc, np, Ds[d]));
    SL_ASSERT_OK(sl_tuples_add(inc, pc, np, Ds[d]));
    int64_t De;
    size_t ne, ne2;
    SL_ASSERT_OK(sl_tuples_extent(inc, &De, &ne));
    SL_ASSERT_OK(sl_tuples_extent(fresh, NULL, &ne2));
    CU_ASSERT_EQUAL(De, Ds[d]);
    CU_ASSERT_EQUAL(ne, ne2);
    for (int k = 1; k <= K; k++) {
      size_t sf, si;
      SL_ASSERT_OK(sl_tuples_distinct(fresh, k, &sf, NULL));
      SL_ASSERT_OK(sl_tuples_distinct(inc, k, &si, NULL));
      CU_ASSERT_EQUAL_FATAL(sf, si);
      int *tf = malloc((sf + 1) * (size_t)k * sizeof *tf),
          *ti = malloc((sf + 1) * (size_t)k * sizeof *ti);
      uint64_t *cf = malloc((sf + 1) * sizeof *cf), *ci = malloc((sf + 1) * sizeof *ci);
      size_t nf, ni;
      SL_ASSERT_OK(sl_tuples_list(fresh, k, tf, cf, sf, &nf));
      SL_ASSERT_OK(sl_tuples_list(inc, k, ti, ci, sf, &ni));
      /* Incremental equals fresh. */
      ok &= nf == ni && memcmp(tf, ti, nf * (size_t)k * sizeof *tf) == 0 &&
            memcmp(cf, ci, nf * sizeof *cf) == 0;
      /* Monotone: every tuple seen at the previous D is seen here, at least as often. */
      if (prev) {
        ok &= sf >= prev_seen[k];
        grew |= sf > prev_seen[k];
        size_t sp;
        SL_ASSERT_OK(sl_tuples_distinct(prev, k, &sp, NULL));
        int *tp = malloc((sp + 1) * (size_t)k * sizeof *tp);
        uint64_t *cp = malloc((sp + 1) * sizeof *cp);
        size_t npv;
        SL_ASSERT_OK(sl_tuples_list(prev, k, tp, cp, sp, &npv));
        for (size_t i = 0; i < npv; i++) {
          uint64_t q;
          SL_ASSERT_OK(sl_tuples_count(fresh, &tp[i * (size_t)k], k, &q));
          ok &= q >= cp[i] && q > 0;
        }
        free(tp);
        free(cp);
      }
      prev_seen[k] = sf;
      free(tf);
      free(ti);
      free(cf);
      free(ci);
    }
    sl_tuples_destroy(prev);
    prev = fresh;
  }
  CU_ASSERT_TRUE(ok);
  CU_ASSERT_TRUE(grew); /* the corpus sizes were chosen so the sets really grow */
  /* A shorter prefix after a longer one is refused. */
  sl_error_clear();
  CU_ASSERT_EQUAL(sl_tuples_add(inc, pc, np, 50), SL_ERR_ARG);
  sl_error_clear();
  sl_tuples_destroy(prev);
  sl_tuples_destroy(inc);
  sl_skills_destroy(L);
  free(tok);
  free(pc);
}

/* ---- unseen sampling ---- */

/* Chi-square upper critical value at p = 0.001 by the Wilson-Hilferty approximation (within 1 %
 * of the table for df >= 1; z = 3.0902 is the 0.999 normal quantile). */
static double chi2_crit(int df) {
  const double z = 3.0902, a = 2.0 / (9.0 * df), c = 1 - a + z * sqrt(a);
  return df * c * c * c;
}

/* Pieces of arity 2, one per pair of [0, S) except the pairs listed in unseen (as i * S + j,
 * i < j). */
static size_t pair_pieces(int S, const int *unseen, int n_unseen, sl_piece *pc) {
  size_t np = 0;
  for (int i = 0; i < S; i++)
    for (int j = i + 1; j < S; j++) {
      int skip = 0;
      for (int u = 0; u < n_unseen; u++)
        skip |= unseen[u] == i * S + j;
      if (skip) continue;
      memset(&pc[np], 0, sizeof pc[np]);
      pc[np].start = 1 + 6 * (int64_t)np;
      pc[np].arity = 2;
      pc[np].skills[0] = (np & 1) ? i : j; /* either order: the record sorts */
      pc[np].skills[1] = (np & 1) ? j : i;
      np++;
    }
  return np;
}

/* Draws n unseen pairs and checks: each is sorted, unseen, one of the listed; chi-square of the
 * cell counts against uniform below the p = 0.001 critical value. */
static void check_pair_sampling(int S, const int *unseen, int n_unseen, size_t n) {
  sl_piece *pc = malloc((size_t)S * (size_t)S * sizeof *pc);
  const size_t np = pair_pieces(S, unseen, n_unseen, pc);
  sl_tuples *T = NULL;
  SL_ASSERT_OK(sl_tuples_create(S, 2, &T));
  SL_ASSERT_OK(sl_tuples_add(T, pc, np, 1 + 6 * (int64_t)np));
  size_t seen;
  SL_ASSERT_OK(sl_tuples_distinct(T, 2, &seen, NULL));
  CU_ASSERT_EQUAL(seen, (size_t)(S * (S - 1) / 2 - n_unseen));
  int *out = malloc(2 * n * sizeof *out), *again = malloc(2 * n * sizeof *again);
  sl_rng r;
  sl_rng_seed(&r, 77);
  SL_ASSERT_OK(sl_tuples_sample_unseen(T, 2, &r, n, out));
  sl_rng_seed(&r, 77);
  SL_ASSERT_OK(sl_tuples_sample_unseen(T, 2, &r, n, again));
  CU_ASSERT_EQUAL(memcmp(out, again, 2 * n * sizeof *out), 0); /* deterministic */
  double cell[64] = {0};
  int ok = 1;
  for (size_t i = 0; i < n; i++) {
    const int a = out[2 * i], b = out[2 * i + 1];
    uint64_t q = 1;
    SL_ASSERT_OK(sl_tuples_count(T, &out[2 * i], 2, &q));
    ok &= a < b && q == 0;
    int found = -1;
    for (int u = 0; u < n_unseen; u++)
      if (unseen[u] == a * S + b) found = u;
    ok &= found >= 0;
    if (found >= 0) cell[found]++;
  }
  CU_ASSERT_TRUE(ok);
  double chi2 = 0;
  const double expect = (double)n / n_unseen;
  for (int u = 0; u < n_unseen; u++)
    chi2 += (cell[u] - expect) * (cell[u] - expect) / expect;
  if (!(chi2 < chi2_crit(n_unseen - 1)))
    printf("\n  S = %d: chi2 %.2f >= %.2f", S, chi2, chi2_crit(n_unseen - 1));
  CU_ASSERT_TRUE(chi2 < chi2_crit(n_unseen - 1));
  free(out);
  free(again);
  free(pc);
  sl_tuples_destroy(T);
}

static void test_sample_unseen(void) {
  /* 5 of 15 pairs unseen: the rejection path. */
  const int u6[5] = {0 * 6 + 1, 0 * 6 + 5, 2 * 6 + 3, 3 * 6 + 4, 4 * 6 + 5};
  check_pair_sampling(6, u6, 5, 30000);
  /* 2 of 190 pairs unseen (under 1/64): the listing path. */
  const int u20[2] = {3 * 20 + 17, 18 * 20 + 19};
  check_pair_sampling(20, u20, 2, 10000);
  /* 20 of 190 unseen: rejection again, with more cells. */
  int u20b[20];
  for (int i = 0; i < 20; i++)
    u20b[i] = (i / 2) * 20 + 10 + (i % 2) * 5 + i / 4;
  check_pair_sampling(20, u20b, 20, 40000);

  /* Every pair seen: an error, not a hang. */
  sl_piece pc[15];
  const size_t np = pair_pieces(6, NULL, 0, pc);
  sl_tuples *T = NULL;
  SL_ASSERT_OK(sl_tuples_create(6, 3, &T));
  SL_ASSERT_OK(sl_tuples_add(T, pc, np, 1000));
  sl_rng r;
  sl_rng_seed(&r, 1);
  int out[3];
  sl_error_clear();
  CU_ASSERT_EQUAL(sl_tuples_sample_unseen(T, 2, &r, 1, out), SL_ERR_ARG);
  sl_error_clear();
  /* Triples: none is seen (arity-2 pieces), so a draw is any uniform triple. */
  size_t seen3;
  SL_ASSERT_OK(sl_tuples_distinct(T, 3, &seen3, NULL));
  CU_ASSERT_EQUAL(seen3, 0);
  SL_ASSERT_OK(sl_tuples_sample_unseen(T, 3, &r, 1, out));
  CU_ASSERT_TRUE(out[0] < out[1] && out[1] < out[2] && out[0] >= 0 && out[2] < 6);
  sl_tuples_destroy(T);

  /* Single skills of a generated corpus with steep skill frequencies: only unseen ones drawn. */
  sl_skills_lang *L = make_lang(4, 30, 2, 2.0, 3);
  const size_t n = 300;
  int32_t *tok = malloc(n * sizeof *tok);
  sl_piece *gp = malloc(SL_SKILLS_MAX_PIECES(n) * sizeof *gp);
  size_t ngp;
  sl_rng_seed(&r, 5);
  SL_ASSERT_OK(sl_skills_generate(L, &r, tok, n, gp, SL_SKILLS_MAX_PIECES(n), &ngp));
  SL_ASSERT_OK(sl_tuples_create(30, 2, &T));
  SL_ASSERT_OK(sl_tuples_add(T, gp, ngp, (int64_t)n));
  size_t seen1;
  SL_ASSERT_OK(sl_tuples_distinct(T, 1, &seen1, NULL));
  CU_ASSERT_TRUE(seen1 > 0 && seen1 < 30);
  int is_seen[30] = {0};
  for (size_t q = 0; q < ngp; q++)
    if (gp[q].start + 2 * gp[q].arity + 2 <= (int64_t)n)
      for (int i = 0; i < gp[q].arity; i++)
        is_seen[gp[q].skills[i]] = 1;
  const size_t draws = 20000;
  int *s1 = malloc(draws * sizeof *s1);
  SL_ASSERT_OK(sl_tuples_sample_unseen(T, 1, &r, draws, s1));
  double cell[30] = {0};
  int ok = 1;
  for (size_t i = 0; i < draws; i++) {
    ok &= s1[i] >= 0 && s1[i] < 30 && !is_seen[s1[i]];
    if (s1[i] >= 0 && s1[i] < 30) cell[s1[i]]++;
  }
  CU_ASSERT_TRUE(ok);
  const int n_unseen = 30 - (int)seen1;
  double chi2 = 0;
  for (int s = 0; s < 30; s++)
    if (!is_seen[s])
      chi2 += pow(cell[s] - (double)draws / n_unseen, 2) / ((double)draws / n_unseen);
  CU_ASSERT_TRUE(chi2 < chi2_crit(n_unseen - 1));
  free(s1);
  free(tok);
  free(gp);
  sl_tuples_destroy(T);
  sl_skills_destroy(L);
}

int main(int argc, char **argv) {
  static const sl_test tests[] = {{"seen tuples vs brute-force reference", test_vs_reference},
                                  {"nested prefixes", test_nested_prefixes},
                                  {"unseen tuples: never seen, uniform", test_sample_unseen},
                                  {NULL, NULL}};
  return sl_test_main(argc, argv, "tuples", tests);
}
