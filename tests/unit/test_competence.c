/* Competence counting (include/slingshot/competence.h) against a predictor whose answers are
 * known: it is right exactly on the answers of a chosen set G of skills (all its mass on the true
 * answer) and wrong on the others (all its mass on another symbol); elsewhere it gives the true
 * next-token distribution. It also records every piece it is asked about, so the expected
 * numbers are recomputed here by brute force from what it saw: a piece is right iff all its
 * skills are in G; theta, per-skill competence, top-1, the exact excess loss (wrong answers cost
 * -ln 1e-30 each), every tuple's competence, and the seen / unseen / longer splits. A trained
 * MLP through sl_model_predict matches sl_eval_loss. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/competence.h"
#include "slingshot/lang.h"
#include "slingshot/model.h"
#include "slingshot/train.h"
#include "slingshot/tuples.h"
#include "test_util.h"

#define MAXREC 200000

typedef struct fake {
  const sl_skills_lang *L;
  const int *good; /* [S] 1: answers of this skill are right */
  /* pieces whose first token was asked (held-out) and pieces asked on answers only (probes) */
  int n_held, n_probe;
  int wrong_top2; /* wrong held-out answers still in the top 2: truth 0 (see fake_predict) */
  int held_k[MAXREC], held_s[MAXREC][SL_MAX_ARITY];
  int probe_k[MAXREC], probe_s[MAXREC][SL_MAX_ARITY];
} fake;

static int fake_predict(void *ctx, const int32_t *tok, int64_t n, const int64_t *pos, size_t n_pos,
                        float *probs) {
  fake *F = ctx;
  const sl_skills_lang *L = F->L;
  const int V = L->V, M = L->p.M;
  double *p = malloc(sizeof(double) * V);
  (void)n;
  for (size_t i = 0; i < n_pos; i++) {
    int64_t st = pos[i];
    while (tok[st - 1] != L->eos)
      st--;
    int k = 0;
    while (tok[st + k] >= M && tok[st + k] < M + L->p.S)
      k++;
    const int off = (int)(pos[i] - st);
    float *q = probs + i * V;
    if (k <= L->p.k_max) { /* longer chains have no true distribution; only answers count */
      SL_ASSERT_OK(sl_skills_next_dist(L, tok + st, off, p));
      for (int v = 0; v < V; v++)
        q[v] = (float)p[v];
    }
    /* record the piece once: at its first asked position */
    int first_asked = i == 0 || pos[i - 1] < st;
    if (first_asked && off == 0) {
      F->held_k[F->n_held] = k;
      for (int j = 0; j < k; j++)
        F->held_s[F->n_held][j] = tok[st + j] - M;
      F->n_held++;
    } else if (first_asked) {
      CU_ASSERT(off == k + 1); /* probes are asked on their answers only */
      F->probe_k[F->n_probe] = k;
      for (int j = 0; j < k; j++)
        F->probe_s[F->n_probe][j] = tok[st + j] - M;
      F->n_probe++;
    }
    if (off >= k + 1 && off <= 2 * k) {
      const int s = tok[st + off - k - 1] - M, truth = tok[pos[i]];
      for (int v = 0; v < V; v++)
        q[v] = 0;
      q[F->good[s] ? truth : (truth + 1) % M] = 1;
      /* A wrong answer's rank: the wrong token, then the zero-mass ids below the truth: 1 +
       * truth - [truth = M - 1], which is < 2 only for truth 0. Counted for held-out pieces. */
      if (!F->good[s] && truth == 0 && F->n_probe == 0) F->wrong_top2++;
    }
  }
  free(p);
  return SL_OK;
}

static int all_good(const int *good, const int *s, int k) {
  for (int j = 0; j < k; j++)
    if (!good[s[j]]) return 0;
  return 1;
}

static int int_cmp(const void *a, const void *b) {
  const int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

static void check_language(int k_max, int S, int K) {
  sl_skills_params lp = {.M = 10, .S = S, .k_max = k_max};
  for (int k = 0; k < k_max; k++)
    lp.arity_weights[k] = 1;
  sl_skills_lang *L;
  SL_ASSERT_OK(sl_skills_create(&lp, 11, &L));
  int good[64];
  for (int s = 0; s < S; s++)
    good[s] = s % 3 != 1; /* G: two thirds of the skills */

  /* A training corpus and its record of seen tuples. */
  const int64_t D = 600;
  int32_t *corpus = malloc(sizeof(int32_t) * D);
  sl_piece *pieces = malloc(sizeof(sl_piece) * SL_SKILLS_MAX_PIECES(D));
  size_t np;
  sl_rng rng;
  sl_rng_seed(&rng, 5);
  SL_ASSERT_OK(sl_skills_generate(L, &rng, corpus, D, pieces, SL_SKILLS_MAX_PIECES(D), &np));
  sl_tuples *seen;
  SL_ASSERT_OK(sl_tuples_create(S, k_max, &seen));
  SL_ASSERT_OK(sl_tuples_add(seen, pieces, np, D));

  sl_competence_spec sp = {.pieces = 500,
                           .K = K,
                           .tuples = 6,
                           .probe_pieces = 3,
                           .top_k = 2,
                           .n_thresholds = 2,
                           .thresholds = {0.5, 1.0},
                           .context = 5};
  sl_competence c;
  SL_ASSERT_OK(sl_competence_alloc(&c, S, &sp));
  fake *F = calloc(1, sizeof *F);
  F->L = L, F->good = good;
  sl_rng_seed(&rng, 77);
  SL_ASSERT_OK(sl_competence_measure(L, seen, &sp, &rng, fake_predict, F, &c));

  /* Held-out: brute force from the pieces the predictor saw. */
  CU_ASSERT_EQUAL(F->n_held, sp.pieces);
  double wrong = 0, answers = 0, right_answers = 0, tokens = 0;
  double used[64] = {0}, hit[64] = {0};
  for (int i = 0; i < F->n_held; i++) {
    const int k = F->held_k[i], ok = all_good(good, F->held_s[i], k);
    wrong += !ok;
    answers += k;
    tokens += 2 * k + 2;
    for (int j = 0; j < k; j++) {
      right_answers += good[F->held_s[i][j]];
      used[F->held_s[i][j]] += 1;
      hit[F->held_s[i][j]] += ok;
    }
  }
  CU_ASSERT_EQUAL(c.theta, wrong / sp.pieces);
  CU_ASSERT_EQUAL(c.top1, right_answers / answers);
  CU_ASSERT_EQUAL(c.top_k, (right_answers + F->wrong_top2) / answers);
  const double wrong_cost = -log(1e-30);
  double kl = (answers - right_answers) * wrong_cost / tokens;
  printf("\ntheta %.4f excess %.6f (expected %.6f)\n", c.theta, c.excess_kl, kl);
  CU_ASSERT(fabs(c.excess_kl - kl) < 1e-6);
  int with = 0, above[2] = {0, 0};
  for (int s = 0; s < S; s++) {
    CU_ASSERT_EQUAL(c.skill_pieces[s], used[s]);
    if (used[s] == 0) {
      CU_ASSERT(isnan(c.competence[s]));
      continue;
    }
    CU_ASSERT_EQUAL(c.competence[s], hit[s] / used[s]);
    if (!good[s]) CU_ASSERT_EQUAL(c.competence[s], 0.0);
    with++;
    above[0] += hit[s] / used[s] >= 0.5, above[1] += hit[s] / used[s] >= 1.0;
  }
  CU_ASSERT_EQUAL(c.frac_skills[0], (double)above[0] / with);
  CU_ASSERT_EQUAL(c.frac_skills[1], (double)above[1] / with);

  /* Tuples: the probes come k' by k', split by split, tuple by tuple, probe_pieces each. */
  int at = 0;
  for (int k = 1; k <= K; k++)
    for (int sp_i = 0; sp_i < SL_N_SPLITS; sp_i++) {
      const int ks = (k - 1) * SL_N_SPLITS + sp_i;
      const int applies = k <= k_max ? sp_i != SL_SPLIT_LONGER : sp_i == SL_SPLIT_LONGER;
      if (!applies) {
        CU_ASSERT(isnan(c.tuple_count[ks]) && isnan(c.tuple_mean[ks]));
        continue;
      }
      const int cnt = (int)c.tuple_count[ks];
      CU_ASSERT(cnt >= 0 && cnt <= sp.tuples);
      if (cnt == 0) { /* nothing to draw: every k-subset seen (unseen split) */
        size_t ns;
        double possible;
        SL_ASSERT_OK(sl_tuples_distinct(seen, k, &ns, &possible));
        CU_ASSERT(sp_i == SL_SPLIT_UNSEEN && (double)ns == possible);
        CU_ASSERT(isnan(c.tuple_mean[ks]));
        continue;
      }
      double sum = 0;
      int ab[2] = {0, 0};
      for (int t = 0; t < cnt; t++) {
        int set[SL_MAX_ARITY];
        memcpy(set, F->probe_s[at], sizeof(int) * k);
        qsort(set, (size_t)k, sizeof(int), int_cmp);
        const int ok = all_good(good, set, k);
        for (int r = 0; r < sp.probe_pieces; r++, at++) {
          int other[SL_MAX_ARITY];
          CU_ASSERT_EQUAL(F->probe_k[at], k);
          memcpy(other, F->probe_s[at], sizeof(int) * k);
          qsort(other, (size_t)k, sizeof(int), int_cmp);
          CU_ASSERT(memcmp(set, other, sizeof(int) * k) == 0); /* the same tuple */
        }
        if (k <= k_max) {
          uint64_t count;
          SL_ASSERT_OK(sl_tuples_count(seen, set, k, &count));
          CU_ASSERT(sp_i == SL_SPLIT_SEEN ? count > 0 : count == 0);
        }
        CU_ASSERT_EQUAL(c.tuple_values[ks * sp.tuples + t], (double)ok);
        sum += ok, ab[0] += ok, ab[1] += ok;
      }
      CU_ASSERT_EQUAL(c.tuple_mean[ks], sum / cnt);
      CU_ASSERT_EQUAL(c.frac_tuples[ks * 2 + 0], ab[0] / (double)cnt);
      CU_ASSERT_EQUAL(c.frac_tuples[ks * 2 + 1], ab[1] / (double)cnt);
    }
  CU_ASSERT_EQUAL(at, F->n_probe);

  /* Deterministic: the same rng state gives the same numbers. */
  sl_competence c2;
  SL_ASSERT_OK(sl_competence_alloc(&c2, S, &sp));
  F->n_held = F->n_probe = F->wrong_top2 = 0;
  sl_rng_seed(&rng, 77);
  SL_ASSERT_OK(sl_competence_measure(L, seen, &sp, &rng, fake_predict, F, &c2));
  CU_ASSERT(memcmp(c.tuple_values, c2.tuple_values,
                   sizeof(double) * (size_t)K * SL_N_SPLITS * sp.tuples) == 0);
  CU_ASSERT(memcmp(c.competence, c2.competence, sizeof(double) * (size_t)S) == 0);
  sl_competence_free(&c2);

  sl_competence_free(&c);
  free(F);
  sl_tuples_destroy(seen);
  free(corpus);
  free(pieces);
  sl_skills_destroy(L);
}

static void test_single_skills(void) {
  check_language(1, 6, 3);
}
static void test_mixed_arity(void) {
  check_language(3, 9, 4);
}

/* Every tuple of a tiny language is seen: the unseen split is empty (count 0, NaN mean). */
static void test_all_seen(void) {
  sl_skills_params lp = {.M = 4, .S = 2, .k_max = 1, .arity_weights = {1}};
  sl_skills_lang *L;
  SL_ASSERT_OK(sl_skills_create(&lp, 3, &L));
  int good[2] = {1, 0};
  int32_t corpus[400];
  sl_piece pieces[SL_SKILLS_MAX_PIECES(400)];
  size_t np;
  sl_rng rng;
  sl_rng_seed(&rng, 1);
  SL_ASSERT_OK(sl_skills_generate(L, &rng, corpus, 400, pieces, SL_SKILLS_MAX_PIECES(400), &np));
  sl_tuples *seen;
  SL_ASSERT_OK(sl_tuples_create(2, 1, &seen));
  SL_ASSERT_OK(sl_tuples_add(seen, pieces, np, 400));
  sl_competence_spec sp = {.pieces = 50,
                           .K = 2,
                           .tuples = 4,
                           .probe_pieces = 2,
                           .top_k = 1,
                           .n_thresholds = 1,
                           .thresholds = {0.5},
                           .context = 3};
  sl_competence c;
  SL_ASSERT_OK(sl_competence_alloc(&c, 2, &sp));
  fake *F = calloc(1, sizeof *F);
  F->L = L, F->good = good;
  SL_ASSERT_OK(sl_competence_measure(L, seen, &sp, &rng, fake_predict, F, &c));
  CU_ASSERT_EQUAL(c.tuple_count[SL_SPLIT_SEEN], 2);
  CU_ASSERT_EQUAL(c.tuple_count[SL_SPLIT_UNSEEN], 0);
  CU_ASSERT(isnan(c.tuple_mean[SL_SPLIT_UNSEEN]));
  CU_ASSERT_EQUAL(c.tuple_mean[SL_SPLIT_SEEN], 0.5); /* skill 0 right, skill 1 wrong */
  CU_ASSERT_EQUAL(c.tuple_count[SL_N_SPLITS + SL_SPLIT_LONGER], 1); /* the one pair */
  CU_ASSERT_EQUAL(c.tuple_mean[SL_N_SPLITS + SL_SPLIT_LONGER], 0.0);
  CU_ASSERT_EQUAL(c.competence[0], 1.0);
  CU_ASSERT_EQUAL(c.competence[1], 0.0);
  sl_competence_free(&c);
  free(F);
  sl_tuples_destroy(seen);
  sl_skills_destroy(L);
}

/* A model through sl_model_predict: the mean -ln q(token) over every position from T on equals
 * the model's own loss there (sl_eval_loss). */
static void test_model_predictor(void) {
  sl_skills_params lp = {.M = 8, .S = 4, .k_max = 2, .arity_weights = {1, 1}};
  sl_skills_lang *L;
  SL_ASSERT_OK(sl_skills_create(&lp, 2, &L));
  const int64_t n = 300;
  int32_t tok[300];
  sl_rng rng;
  sl_rng_seed(&rng, 4);
  SL_ASSERT_OK(sl_skills_generate(L, &rng, tok, n, NULL, 0, NULL));
  sl_model_spec spec = {
      .family = SL_MODEL_MLP, .V = L->V, .T = 6, .B = 16, .C = 8, .H = 24, .n_layer = 1};
  sl_model *m;
  SL_ASSERT_OK(sl_model_create(&spec, &m));
  SL_ASSERT_OK(sl_model_init(m, &rng));
  int32_t *rows = malloc(sizeof(int32_t) * 16 * 7);
  double loss;
  SL_ASSERT_OK(sl_eval_loss(m, tok, n, rows, &loss));
  int64_t pos[300];
  size_t np = 0;
  for (int64_t p = 6; p < n; p++)
    pos[np++] = p;
  float *q = malloc(sizeof(float) * np * L->V);
  sl_model_predictor P = {m, rows};
  SL_ASSERT_OK(sl_model_predict(&P, tok, n, pos, np, q));
  double sum = 0;
  for (size_t i = 0; i < np; i++)
    sum -= log(q[i * L->V + tok[pos[i]]]);
  printf("\nmodel loss %.8f, from the predictor %.8f\n", loss, sum / np);
  CU_ASSERT(fabs(sum / np - loss) < 1e-5 * loss);
  free(q);
  free(rows);
  sl_model_destroy(m);
  sl_skills_destroy(L);
}

int main(int argc, char **argv) {
  const sl_test tests[] = {{"single-skill pieces, chosen skills right", test_single_skills},
                           {"pieces of 1 to 3 skills, chosen skills right", test_mixed_arity},
                           {"every tuple seen: empty unseen split", test_all_seen},
                           {"a model as predictor", test_model_predictor},
                           {NULL, NULL}};
  return sl_test_main(argc, argv, "competence", tests);
}
