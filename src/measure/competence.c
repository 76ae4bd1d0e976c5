/* Skill and k'-tuple competence (see include/slingshot/competence.h). */
#include "slingshot/competence.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/error.h"
#include "slingshot/timer.h"

/* Positions per predictor call: up to 4096, and probabilities of at most 2^24 floats (64 MiB). */
#define CHUNK_FLOATS ((size_t)1 << 24)

int sl_competence_alloc(sl_competence *c, int S, const sl_competence_spec *spec) {
  memset(c, 0, sizeof *c);
  SL_CHECK(S >= 1 && spec->K >= 1 && spec->K <= SL_MAX_ARITY && spec->tuples >= 1 &&
               spec->n_thresholds >= 0 && spec->n_thresholds <= SL_COMPETENCE_MAX_THRESHOLDS,
           SL_ERR_ARG, "competence: bad sizes (S %d, K %d, tuples %d, thresholds %d)", S, spec->K,
           spec->tuples, spec->n_thresholds);
  c->S = S, c->K = spec->K, c->tuples = spec->tuples, c->n_thresholds = spec->n_thresholds;
  const size_t ks = (size_t)c->K * SL_N_SPLITS;
  SL_ALLOC(c->competence, S);
  SL_ALLOC(c->skill_pieces, S);
  SL_ALLOC(c->frac_skills, c->n_thresholds ? c->n_thresholds : 1);
  SL_ALLOC(c->tuple_mean, ks);
  SL_ALLOC(c->tuple_count, ks);
  SL_ALLOC(c->tuple_values, ks * (size_t)c->tuples);
  SL_ALLOC(c->frac_tuples, ks * (size_t)(c->n_thresholds ? c->n_thresholds : 1));
  sl_competence_clear(c);
  return SL_OK;
}

void sl_competence_clear(sl_competence *c) {
  const size_t ks = (size_t)c->K * SL_N_SPLITS;
  c->theta = c->excess_kl = c->top1 = c->top_k = NAN;
  for (int s = 0; s < c->S; s++)
    c->competence[s] = c->skill_pieces[s] = NAN;
  for (int t = 0; t < c->n_thresholds; t++)
    c->frac_skills[t] = NAN;
  for (size_t i = 0; i < ks; i++)
    c->tuple_mean[i] = c->tuple_count[i] = NAN;
  for (size_t i = 0; i < ks * (size_t)c->tuples; i++)
    c->tuple_values[i] = NAN;
  for (size_t i = 0; i < ks * (size_t)c->n_thresholds; i++)
    c->frac_tuples[i] = NAN;
}

void sl_competence_free(sl_competence *c) {
  if (!c) return;
  free(c->competence);
  free(c->skill_pieces);
  free(c->frac_skills);
  free(c->tuple_mean);
  free(c->tuple_count);
  free(c->tuple_values);
  free(c->frac_tuples);
  memset(c, 0, sizeof *c);
}

/* ------------------------------------------------------------------ the probe stream */

typedef struct stream {
  int32_t *tok;
  int64_t n, cap;
  sl_piece *pc;
  size_t np, pcap;
} stream;

static int stream_reserve(stream *s, int64_t tokens, size_t pieces) {
  if (s->n + tokens > s->cap) {
    int64_t cap = 2 * (s->n + tokens) + 64;
    int32_t *t = realloc(s->tok, sizeof(int32_t) * (size_t)cap);
    SL_CHECK(t, SL_ERR_NOMEM, "out of memory for %lld probe tokens", (long long)cap);
    s->tok = t, s->cap = cap;
  }
  if (s->np + pieces > s->pcap) {
    size_t cap = 2 * (s->np + pieces) + 16;
    sl_piece *p = realloc(s->pc, sizeof(sl_piece) * cap);
    SL_CHECK(p, SL_ERR_NOMEM, "out of memory for %zu probe pieces", cap);
    s->pc = p, s->pcap = cap;
  }
  return SL_OK;
}

/* Appends a piece of the language's own distribution; record: keep it in s->pc. */
static int append_sampled(stream *s, const sl_skills_lang *L, sl_rng *rng, int record) {
  SL_CALL(stream_reserve(s, 2 * SL_MAX_ARITY + 2, 1));
  sl_piece p;
  int len;
  SL_CALL(sl_skills_sample_piece(L, rng, s->tok + s->n, &len, &p));
  p.start = s->n;
  s->n += len;
  if (record) s->pc[s->np++] = p;
  return SL_OK;
}

/* Appends the chain of the given skills (any number up to SL_MAX_ARITY) from a uniform x. */
static int append_chain(stream *s, const sl_skills_lang *L, sl_rng *rng, const int *skills, int k) {
  const int M = L->p.M;
  SL_CALL(stream_reserve(s, 2 * k + 2, 1));
  sl_piece p;
  memset(&p, 0, sizeof p);
  p.start = s->n, p.arity = k, p.x = (int)sl_rng_below(rng, (uint64_t)M);
  int32_t *t = s->tok + s->n;
  int y = p.x;
  for (int j = 0; j < k; j++) {
    p.skills[j] = skills[j];
    t[j] = M + skills[j];
  }
  t[k] = p.x;
  for (int j = 0; j < k; j++) {
    y = L->maps[(size_t)skills[j] * M + y];
    t[k + 1 + j] = y;
  }
  t[2 * k + 1] = L->eos;
  s->n += 2 * k + 2;
  s->pc[s->np++] = p;
  return SL_OK;
}

/* ------------------------------------------------------------------ scoring */

typedef struct tally {
  double kl_sum, kl_tokens, answers, top1, top_k;
} tally;

/* The rank of token t under q: tokens more probable, and equally probable with a lower id. */
static int rank_of(const float *q, int V, int t) {
  int r = 0;
  for (int v = 0; v < V; v++)
    r += q[v] > q[t] || (q[v] == q[t] && v < t);
  return r;
}

/* Scores pieces pc[0..np) of the stream: correct[i] = 1 when every answer of piece i is the
 * top-1 token. full: also the KL at every token of the piece (held-out pieces). */
static int score(const sl_skills_lang *L, const stream *s, const sl_piece *pc, size_t np, int full,
                 int top_k, sl_predict_fn predict, void *ctx, uint8_t *correct, tally *acc) {
  const int V = L->V;
  size_t chunk = CHUNK_FLOATS / (size_t)V;
  chunk = chunk > 4096 ? 4096 : chunk < 64 ? 64 : chunk; /* a piece has at most 18 positions */
  int err = SL_OK;
  int64_t *pos = malloc(sizeof(int64_t) * chunk);
  float *q = malloc(sizeof(float) * chunk * (size_t)V);
  double *pt = malloc(sizeof(double) * (size_t)V);
  SL_CHECK_GOTO(pos && q && pt, SL_ERR_NOMEM, done, "out of memory scoring pieces");
  for (size_t i0 = 0; i0 < np;) {
    size_t n_pos = 0, i1 = i0;
    while (i1 < np) {
      const int k = pc[i1].arity, len = full ? 2 * k + 2 : k;
      if (n_pos + (size_t)len > chunk) break;
      const int64_t first = pc[i1].start + (full ? 0 : k + 1);
      for (int j = 0; j < len; j++)
        pos[n_pos++] = first + j;
      i1++;
    }
    SL_CALL_GOTO(predict(ctx, s->tok, s->n, pos, n_pos, q), done);
    size_t at = 0;
    for (size_t i = i0; i < i1; i++) {
      const sl_piece *p = &pc[i];
      const int k = p->arity;
      int ok = 1;
      for (int j = 0; j < (full ? 2 * k + 2 : k); j++, at++) {
        const int64_t ps = pos[at];
        const float *qq = q + at * (size_t)V;
        const int off = (int)(ps - p->start); /* index in the piece */
        if (full) {
          SL_CALL_GOTO(sl_skills_next_dist(L, s->tok + p->start, off, pt), done);
          double kl = 0;
          for (int v = 0; v < V; v++)
            if (pt[v] > 0) kl += pt[v] * (log(pt[v]) - log(qq[v] > 1e-30f ? qq[v] : 1e-30));
          acc->kl_sum += kl;
          acc->kl_tokens += 1;
        }
        if (off >= k + 1 && off <= 2 * k) { /* an answer y_j */
          int r = rank_of(qq, V, s->tok[ps]);
          acc->answers += 1;
          acc->top1 += r == 0;
          acc->top_k += r < top_k;
          ok &= r == 0;
        }
      }
      correct[i] = (uint8_t)ok;
    }
    i0 = i1;
  }
done:
  free(pos);
  free(q);
  free(pt);
  return err;
}

/* ------------------------------------------------------------------ tuple sampling */

static int int_cmp(const void *a, const void *b) {
  const int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

static double choose(int n, int k) {
  double c = 1;
  for (int i = 0; i < k; i++)
    c = c * (n - i) / (i + 1);
  return c;
}

static int contains(const int *list, size_t n, const int *t, int k) {
  for (size_t i = 0; i < n; i++)
    if (memcmp(list + i * k, t, sizeof(int) * (size_t)k) == 0) return 1;
  return 0;
}

/* Up to `want` distinct tuples of size k into out: from the seen list (split seen), the unseen
 * sampler (unseen), or uniform k-subsets (unseen without a record, and longer). *n = drawn. */
static int draw_tuples(const sl_tuples *seen, int S, int k, int split, int want, sl_rng *rng,
                       int *out, int *n) {
  *n = 0;
  if (k > S) return SL_OK;
  if (split == SL_SPLIT_SEEN) {
    size_t ns = 0, got = 0;
    SL_CALL(sl_tuples_distinct(seen, k, &ns, NULL));
    if (ns == 0) return SL_OK;
    int *all = malloc(sizeof(int) * ns * (size_t)k);
    SL_CHECK(all, SL_ERR_NOMEM, "out of memory listing %zu seen tuples", ns);
    int err = sl_tuples_list(seen, k, all, NULL, ns, &got);
    if (err) {
      free(all);
      SL_CALL(err);
    }
    /* A uniform sample without replacement: a partial Fisher-Yates shuffle of the list. */
    size_t m = got < (size_t)want ? got : (size_t)want;
    for (size_t i = 0; i < m; i++) {
      size_t j = i + (size_t)sl_rng_below(rng, (uint64_t)(got - i));
      for (int a = 0; a < k; a++) {
        int tmp = all[i * k + a];
        all[i * k + a] = all[j * k + a], all[j * k + a] = tmp;
      }
    }
    memcpy(out, all, sizeof(int) * m * (size_t)k);
    *n = (int)m;
    free(all);
    return SL_OK;
  }
  double possible = choose(S, k);
  if (split == SL_SPLIT_UNSEEN && seen) {
    size_t ns = 0;
    SL_CALL(sl_tuples_distinct(seen, k, &ns, &possible));
    possible -= (double)ns;
  }
  if (possible < 1) return SL_OK;
  const int target = possible < want ? (int)possible : want;
  int t[SL_MAX_ARITY];
  for (int attempt = 0; attempt < 16 * want + 64 && *n < target; attempt++) {
    if (split == SL_SPLIT_UNSEEN && seen) {
      SL_CALL(sl_tuples_sample_unseen(seen, k, rng, 1, t));
    } else {
      for (int j = 0; j < k; j++) {
        int again;
        do {
          t[j] = (int)sl_rng_below(rng, (uint64_t)S);
          again = 0;
          for (int i = 0; i < j; i++)
            again |= t[i] == t[j];
        } while (again);
      }
      qsort(t, (size_t)k, sizeof(int), int_cmp);
    }
    if (!contains(out, (size_t)*n, t, k)) memcpy(out + (size_t)(*n)++ * k, t, sizeof(int) * k);
  }
  return SL_OK;
}

/* ------------------------------------------------------------------ the measurement */

int sl_competence_measure(const sl_skills_lang *L, const sl_tuples *seen,
                          const sl_competence_spec *sp, sl_rng *rng, sl_predict_fn predict,
                          void *ctx, sl_competence *c) {
  SL_CHECK(sp->pieces >= 1 && sp->probe_pieces >= 1 && c->S == L->p.S && c->K == sp->K &&
               c->tuples == sp->tuples && c->n_thresholds == sp->n_thresholds,
           SL_ERR_ARG, "competence: the result was allocated for another spec or language");
  const int S = L->p.S, K = sp->K, kmax = L->p.k_max;
  int err = SL_OK;
  stream s;
  memset(&s, 0, sizeof s);
  uint8_t *correct = NULL;
  int *tup = NULL;
  double *hits = NULL;
  sl_competence_clear(c);

  /* The lead: EOS and unscored pieces until the context is full, then the held-out pieces. */
  SL_CALL_GOTO(stream_reserve(&s, 1, 0), done);
  s.tok[s.n++] = L->eos;
  while (s.n < sp->context)
    SL_CALL_GOTO(append_sampled(&s, L, rng, 0), done);
  for (int i = 0; i < sp->pieces; i++)
    SL_CALL_GOTO(append_sampled(&s, L, rng, 1), done);
  const size_t n_held = s.np;

  /* The tuples and their probes, k' by k', split by split. */
  tup = malloc(sizeof(int) * (size_t)K * SL_N_SPLITS * sp->tuples * SL_MAX_ARITY);
  SL_CHECK_GOTO(tup, SL_ERR_NOMEM, done, "out of memory for the sampled tuples");
  for (int k = 1; k <= K; k++)
    for (int sp_i = 0; sp_i < SL_N_SPLITS; sp_i++) {
      int n = 0, *out = tup + ((size_t)(k - 1) * SL_N_SPLITS + sp_i) * sp->tuples * SL_MAX_ARITY;
      const int applies = k <= kmax ? sp_i != SL_SPLIT_LONGER : sp_i == SL_SPLIT_LONGER;
      if (applies && !(sp_i == SL_SPLIT_SEEN && !seen))
        SL_CALL_GOTO(draw_tuples(seen, S, k, sp_i, sp->tuples, rng, out, &n), done);
      c->tuple_count[(k - 1) * SL_N_SPLITS + sp_i] = applies ? n : NAN;
      for (int t = 0; t < n; t++)
        for (int r = 0; r < sp->probe_pieces; r++) {
          int order[SL_MAX_ARITY];
          memcpy(order, out + (size_t)t * k, sizeof(int) * k);
          for (int a = k - 1; a > 0; a--) { /* a uniformly random order of the tuple */
            int b = (int)sl_rng_below(rng, (uint64_t)(a + 1)), tmp = order[a];
            order[a] = order[b], order[b] = tmp;
          }
          SL_CALL_GOTO(append_chain(&s, L, rng, order, k), done);
        }
    }

  /* Score: the held-out pieces fully, the probes on their answers. */
  correct = malloc(s.np ? s.np : 1);
  SL_CHECK_GOTO(correct, SL_ERR_NOMEM, done, "out of memory");
  tally held = {0}, probes = {0};
  SL_CALL_GOTO(score(L, &s, s.pc, n_held, 1, sp->top_k, predict, ctx, correct, &held), done);
  SL_CALL_GOTO(score(L, &s, s.pc + n_held, s.np - n_held, 0, sp->top_k, predict, ctx,
                     correct + n_held, &probes),
               done);

  /* Held-out: theta, excess, accuracies, per-skill competence. */
  hits = calloc((size_t)S, sizeof(double));
  SL_CHECK_GOTO(hits, SL_ERR_NOMEM, done, "out of memory");
  double wrong = 0;
  for (int a = 0; a < S; a++)
    c->skill_pieces[a] = 0;
  for (size_t i = 0; i < n_held; i++) {
    wrong += !correct[i];
    for (int j = 0; j < s.pc[i].arity; j++) {
      c->skill_pieces[s.pc[i].skills[j]] += 1;
      hits[s.pc[i].skills[j]] += correct[i];
    }
  }
  c->theta = wrong / (double)n_held;
  c->excess_kl = held.kl_sum / held.kl_tokens;
  c->top1 = held.top1 / held.answers;
  c->top_k = held.top_k / held.answers;
  int with = 0;
  for (int a = 0; a < S; a++)
    if (c->skill_pieces[a] > 0) c->competence[a] = hits[a] / c->skill_pieces[a], with++;
  for (int t = 0; t < sp->n_thresholds; t++) {
    int above = 0;
    for (int a = 0; a < S; a++)
      above += c->skill_pieces[a] > 0 && c->competence[a] >= sp->thresholds[t];
    c->frac_skills[t] = with ? (double)above / with : NAN;
  }

  /* Tuples: each one's competence over its probes, then means and fractions above. */
  size_t at = n_held;
  for (int k = 1; k <= K; k++)
    for (int sp_i = 0; sp_i < SL_N_SPLITS; sp_i++) {
      const size_t ks = (size_t)(k - 1) * SL_N_SPLITS + sp_i;
      const double cnt = c->tuple_count[ks];
      if (!(cnt > 0)) continue;
      double sum = 0;
      for (int t = 0; t < (int)cnt; t++) {
        int ok = 0;
        for (int r = 0; r < sp->probe_pieces; r++)
          ok += correct[at++];
        double v = (double)ok / sp->probe_pieces;
        c->tuple_values[ks * sp->tuples + t] = v;
        sum += v;
      }
      c->tuple_mean[ks] = sum / cnt;
      for (int h = 0; h < sp->n_thresholds; h++) {
        int above = 0;
        for (int t = 0; t < (int)cnt; t++)
          above += c->tuple_values[ks * sp->tuples + t] >= sp->thresholds[h];
        c->frac_tuples[ks * sp->n_thresholds + h] = above / cnt;
      }
    }
  SL_CHECK_GOTO(at == s.np, SL_ERR_INTERNAL, done, "competence: %zu of %zu probes counted", at,
                s.np);
done:
  free(s.tok);
  free(s.pc);
  free(correct);
  free(tup);
  free(hits);
  return err;
}

/* ------------------------------------------------------------------ a model as predictor */

int sl_model_predict(void *ctx, const int32_t *tokens, int64_t n, const int64_t *pos, size_t n_pos,
                     float *probs) {
  sl_model_predictor *P = ctx;
  sl_model *m = P->m;
  const int T = m->spec.T, B = m->spec.B, V = m->spec.V;
  const int gpt = m->targets_per_row > 1;
  const int64_t span = gpt ? (T / 2 > 1 ? T / 2 : 1) : 1;
  size_t i = 0;
  while (i < n_pos) {
    /* Up to B rows; row r predicts positions first[r] .. last[r] (one unless GPT). */
    size_t first[1024], count[1024];
    int rows = 0;
    while (i < n_pos && rows < B && rows < 1024) {
      SL_CHECK(pos[i] >= T && pos[i] < n, SL_ERR_ARG,
               "position %lld has less than %d tokens of context (or is past the stream)",
               (long long)pos[i], T);
      size_t j = i + 1;
      while (gpt && j < n_pos && pos[j] - pos[i] < span)
        j++;
      const int64_t end = pos[j - 1]; /* the row is tokens[end - T .. end] */
      memcpy(P->rows + (size_t)rows * (T + 1), tokens + end - T, sizeof(int32_t) * (T + 1));
      first[rows] = i, count[rows] = j - i;
      rows++;
      i = j;
    }
    float loss;
    SL_CALL(sl_model_forward(m, P->rows, rows, &loss));
    for (int r = 0; r < rows; r++) {
      const int64_t end = pos[first[r] + count[r] - 1];
      for (size_t a = 0; a < count[r]; a++) {
        const size_t at = first[r] + a;
        /* GPT: row index t predicts row[t+1] = tokens[end - T + t + 1]. */
        const int64_t t = gpt ? pos[at] - (end - T) - 1 : 0;
        memcpy(probs + at * (size_t)V, m->probs + ((size_t)r * m->targets_per_row + t) * V,
               sizeof(float) * (size_t)V);
      }
    }
  }
  return SL_OK;
}

/* ------------------------------------------------------------------ a grid cell */

void sl_competence_spec_from(const sl_config *cfg, sl_competence_spec *sp) {
  memset(sp, 0, sizeof *sp);
  sp->pieces = cfg->skills.pieces;
  sp->K = cfg->skills.K;
  sp->tuples = cfg->skills.tuples;
  sp->probe_pieces = cfg->skills.probe_pieces;
  sp->top_k = cfg->skills.top_k;
  sp->n_thresholds = cfg->skills.n_thresholds;
  for (int i = 0; i < sp->n_thresholds && i < SL_COMPETENCE_MAX_THRESHOLDS; i++)
    sp->thresholds[i] = cfg->skills.thresholds[i];
  sp->context = cfg->model.context;
}

int sl_competence_record(const sl_config *cfg, const sl_skills_lang *L, const sl_piece *pieces,
                         size_t n_pieces, int64_t D, sl_tuples **out) {
  const int K = cfg->skills.K < L->p.k_max ? cfg->skills.K : L->p.k_max;
  SL_CALL(sl_tuples_create(L->p.S, K, out));
  int err = sl_tuples_add(*out, pieces, n_pieces, D);
  if (err) {
    sl_tuples_destroy(*out);
    *out = NULL;
    SL_CALL(err);
  }
  return SL_OK;
}

int sl_competence_cell(const sl_config *cfg, const sl_cell *cell, const sl_skills_lang *L,
                       const sl_tuples *seen, sl_model *m, int32_t *rows, sl_cell_result *res) {
  sl_competence_spec sp;
  sl_competence_spec_from(cfg, &sp);
  if (!res->skills) {
    SL_ALLOC(res->skills, 1);
    int err = sl_competence_alloc(res->skills, L->p.S, &sp);
    if (err) {
      free(res->skills);
      res->skills = NULL;
      SL_CALL(err);
    }
  }
  sl_rng rng;
  sl_rng_stream(&rng, (uint64_t)cfg->seed, (uint64_t)cell->seed, "skills_eval");
  sl_model_predictor P = {m, rows};
  sl_timer_start("skills");
  int err = sl_competence_measure(L, seen, &sp, &rng, sl_model_predict, &P, res->skills);
  sl_timer_stop("skills");
  SL_CALL(err);
  return SL_OK;
}
