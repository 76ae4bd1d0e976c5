/* The compression bound and sparsity of one trained cell. See include/slingshot/bound_cell.h for
 * what a piece is, and include/slingshot/bound.h for the formula. Legend: N params, d trained
 * coordinates, L levels, V vocabulary, T context, B batch rows, m training pieces, n sampled. */
#include "slingshot/bound_cell.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/error.h"
#include "slingshot/log.h"
#include "slingshot/rng.h"

/* A set of pieces: piece i is tok[i * stride .. + len[i]). */
typedef struct pieces {
  int32_t *tok;
  int *len;
  int64_t n;
  int stride;
} pieces;

/* Per-piece scores of the current model. */
typedef struct scores {
  int na;
  const double *alpha;
  int top_k;
  double *risk;        /* [na x n] bits/token per piece */
  double *top1, *topk; /* [n] error fraction per piece */
} scores;

/* Adds the scores of one predicted token (target under probs[0..V)) to piece i. */
static void score_token(const float *probs, int V, int target, int64_t i, int len, scores *s,
                        int64_t n) {
  const double p = probs[target];
  for (int a = 0; a < s->na; a++) {
    const double al = s->alpha[a];
    s->risk[a * n + i] += -log2((1.0 - al) * p + al / V) / len;
  }
  /* Rank: tokens more probable, ties broken towards the lower id. */
  int rank = 0;
  for (int v = 0; v < V; v++)
    rank += probs[v] > probs[target] || (probs[v] == probs[target] && v < target);
  s->top1[i] += (rank >= 1) / (double)len;
  s->topk[i] += (rank >= s->top_k) / (double)len;
}

/* Scores every piece of ps, each after the fixed context prefix [T] (ends in EOS). MLP: one row
 * per token, the window of T tokens before it. GPT: one row per piece, prefix tail + piece, the
 * piece's tokens scored at the last len positions. rows: [B x (T+1)]. */
static int score_pieces(sl_model *m, const int32_t *prefix, const pieces *ps, int32_t *rows,
                        scores *s) {
  const int T = m->spec.T, B = m->spec.B, V = m->spec.V, tpr = m->targets_per_row;
  const int gpt = tpr > 1;
  int err = SL_OK;
  int64_t *job_piece = NULL;
  int *job_pos = NULL;
  int32_t *seq = NULL;
  SL_ALLOC(job_piece, B);
  SL_ALLOC(job_pos, B);
  SL_ALLOC(seq, (size_t)T + ps->stride);
  memset(s->risk, 0, sizeof(double) * (size_t)s->na * ps->n);
  memset(s->top1, 0, sizeof(double) * ps->n);
  memset(s->topk, 0, sizeof(double) * ps->n);
  int b = 0;
  for (int64_t i = 0; i <= ps->n; i++) {
    const int len = i < ps->n ? ps->len[i] : 0;
    if (i < ps->n) {
      memcpy(seq, prefix, sizeof(int32_t) * T);
      memcpy(seq + T, ps->tok + i * ps->stride, sizeof(int32_t) * len);
    }
    /* Rows this piece needs; flush the batch first when they do not fit. */
    const int need = i < ps->n ? (gpt ? 1 : len) : 0;
    if (b > 0 && (b + need > B || i == ps->n)) {
      float loss;
      SL_CALL_GOTO(sl_model_forward(m, rows, b, &loss), done);
      for (int r = 0; r < b; r++) {
        const int64_t pi = job_piece[r];
        const int pl = ps->len[pi];
        if (gpt) {
          for (int t = T - pl; t < T; t++)
            score_token(m->probs + ((size_t)r * tpr + t) * V, V, rows[(size_t)r * (T + 1) + t + 1],
                        pi, pl, s, ps->n);
        } else {
          score_token(m->probs + (size_t)r * V, V, rows[(size_t)r * (T + 1) + T], pi, pl, s, ps->n);
        }
      }
      b = 0;
    }
    if (i == ps->n) break;
    if (gpt) {
      memcpy(rows + (size_t)b * (T + 1), seq + len - 1, sizeof(int32_t) * (T + 1));
      job_piece[b] = i;
      job_pos[b++] = 0;
    } else {
      for (int j = 0; j < len; j++) {
        memcpy(rows + (size_t)b * (T + 1), seq + j, sizeof(int32_t) * (T + 1));
        job_piece[b] = i;
        job_pos[b++] = j;
      }
    }
  }
done:
  free(job_piece);
  free(job_pos);
  free(seq);
  return err;
}

static double mean(const double *x, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; i++)
    s += x[i];
  return s / (double)n;
}

static double stderr_of(const double *x, int64_t n) {
  double mu = mean(x, n), s = 0;
  for (int64_t i = 0; i < n; i++)
    s += (x[i] - mu) * (x[i] - mu);
  return n > 1 ? sqrt(s / (double)(n - 1) / (double)n) : NAN;
}

static void stream(const sl_config *cfg, int64_t index, const char *name, sl_rng *r) {
  sl_rng_stream(r, (uint64_t)cfg->seed, (uint64_t)index, name);
}

static int cmp_float(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

/* T tokens ending in EOS, from the grid seed's stream "bound-prefix". */
static int make_prefix(const sl_config *cfg, const sl_cell *cell, const sl_skills_lang *lang, int T,
                       int32_t *prefix) {
  const int n0 = T + 2 * lang->p.k_max + 3;
  int32_t *s = NULL;
  SL_ALLOC(s, n0);
  sl_rng r;
  stream(cfg, cell->seed, "bound-prefix", &r);
  int err = sl_skills_generate(lang, &r, s, (size_t)n0, NULL, 0, NULL);
  if (err == SL_OK) {
    int p = n0 - 1;
    while (p >= T - 1 && s[p] != lang->eos)
      p--;
    if (p >= T - 1)
      memcpy(prefix, s + p - T + 1, sizeof(int32_t) * T);
    else
      err = SL_ERROR(SL_ERR_INTERNAL, "no EOS in the last %d tokens of a stream", n0 - T + 1);
  }
  free(s);
  return err;
}

int sl_prune_fraction(sl_model *m, const int32_t *tokens, int64_t n, double tol, double *fraction,
                      double *loss_base, double *loss_pruned) {
  const size_t N = m->n_params;
  int err = SL_OK;
  float *saved = NULL, *mag = NULL;
  int32_t *rows = NULL;
  SL_ALLOC(saved, N);
  SL_ALLOC(mag, N);
  SL_ALLOC(rows, (size_t)m->spec.B * (m->spec.T + 1));
  memcpy(saved, m->params, N * sizeof(float));
  SL_CALL_GOTO(sl_eval_loss(m, tokens, n, rows, loss_base), done);
  /* Magnitude threshold of a fraction f: the floor(f N)-th smallest |theta|, found by sorting. */
  for (size_t i = 0; i < N; i++)
    mag[i] = fabsf(saved[i]);
  qsort(mag, N, sizeof *mag, cmp_float);
  double lo = 0, hi = 1, best_loss = *loss_base;
  for (int it = 0; it < 14; it++) {
    double f = 0.5 * (lo + hi);
    size_t k = (size_t)floor(f * (double)N);
    /* Zero the k smallest magnitudes: those below the k-th value, then ties up to k. */
    float thr = k > 0 ? mag[k - 1] : -1.0f;
    size_t zeroed = 0;
    for (size_t i = 0; i < N; i++) {
      float a = fabsf(saved[i]);
      m->params[i] = saved[i];
      if (a < thr) m->params[i] = 0.0f, zeroed++;
    }
    for (size_t i = 0; i < N && zeroed < k; i++)
      if (fabsf(saved[i]) == thr) m->params[i] = 0.0f, zeroed++;
    double l;
    int e = sl_eval_loss(m, tokens, n, rows, &l);
    if (e == SL_ERR_NUMERIC) {
      sl_error_clear();
      l = INFINITY;
    } else {
      SL_CALL_GOTO(e, done);
    }
    if (isfinite(l) && l <= *loss_base + tol) {
      lo = f;
      best_loss = l;
    } else {
      hi = f;
    }
  }
  *fraction = lo;
  *loss_pruned = best_loss;
done:
  if (saved) memcpy(m->params, saved, N * sizeof(float));
  free(saved);
  free(mag);
  free(rows);
  return err;
}

int sl_bound_cell(const sl_config *cfg, const sl_cell *cell, const sl_skills_lang *lang,
                  sl_model *m, sl_subspace *sub, const int32_t *corpus, int64_t D,
                  const int32_t *val, int64_t n_val, sl_bound_result *out) {
  const int V = m->spec.V, T = m->spec.T, na = cfg->bound.n_alphas;
  const int maxlen = 2 * lang->p.k_max + 2;
  const size_t N = m->n_params, d = sub ? sub->d : N;
  const int64_t n = cfg->bound.sample, n_pop = cfg->bound.pop_pieces;
  int err = SL_OK;
  sl_bound_result_clear(out);
  if (m->targets_per_row > 1 && T < maxlen) {
    sl_log(SL_LOG_WARN,
           "cell %lld: no bound: a GPT with context %d cannot see a piece of %d tokens",
           (long long)cell->index, T, maxlen);
    return SL_OK;
  }
  SL_CHECK(na <= SL_BOUND_MAX_ALPHAS, SL_ERR_CONFIG, "at most %d bound.alphas",
           SL_BOUND_MAX_ALPHAS);
  float *saved = NULL, *xq = NULL, *best_xq = NULL, *centroid = NULL;
  int32_t *sym = NULL, *rows = NULL, prefix_buf[4096], *prefix = prefix_buf;
  uint64_t *counts = NULL;
  int64_t *eos_at = NULL;
  pieces tr = {0}, pop = {0};
  scores sc = {0};
  const int64_t n_max = n > n_pop ? n : n_pop;
  SL_ALLOC(saved, N);
  SL_ALLOC(xq, d);
  SL_ALLOC(best_xq, d);
  SL_ALLOC(sym, d);
  SL_ALLOC(rows, (size_t)m->spec.B * (T + 1));
  SL_ALLOC(centroid, SL_BOUND_MAX_LEVELS);
  SL_ALLOC(counts, SL_BOUND_MAX_LEVELS);
  SL_ALLOC(sc.risk, (size_t)na * n_max);
  SL_ALLOC(sc.top1, n_max);
  SL_ALLOC(sc.topk, n_max);
  if (T > 4096) SL_ALLOC(prefix, T);
  sc.na = na;
  sc.alpha = cfg->bound.alphas;
  sc.top_k = cfg->bound.top_k;
  memcpy(saved, m->params, N * sizeof(float));
  const float *x = sub ? sub->w : saved;

  /* The training pieces: between consecutive EOS tokens of the corpus. */
  SL_ALLOC(eos_at, (size_t)D / 2 + 2);
  int64_t n_eos = 0;
  for (int64_t t = 0; t < D; t++)
    if (corpus[t] == lang->eos) eos_at[n_eos++] = t;
  const int64_t m_pieces = n_eos - 1;
  SL_CHECK_GOTO(m_pieces >= 1, SL_ERR_ARG, done, "the corpus of %lld tokens holds no whole piece",
                (long long)D);
  SL_CALL_GOTO(make_prefix(cfg, cell, lang, T, prefix), done);
  sl_rng r;
  tr.n = n, tr.stride = maxlen;
  SL_ALLOC(tr.tok, (size_t)n * maxlen);
  SL_ALLOC(tr.len, n);
  stream(cfg, cell->index, "bound-sample", &r);
  for (int64_t i = 0; i < n; i++) {
    int64_t j = (int64_t)sl_rng_below(&r, (uint64_t)m_pieces);
    tr.len[i] = (int)(eos_at[j + 1] - eos_at[j]);
    memcpy(tr.tok + i * maxlen, corpus + eos_at[j] + 1, sizeof(int32_t) * tr.len[i]);
  }
  pop.n = n_pop, pop.stride = maxlen;
  SL_ALLOC(pop.tok, (size_t)n_pop * maxlen);
  SL_ALLOC(pop.len, n_pop);
  stream(cfg, cell->seed, "bound-pop", &r);
  for (int64_t i = 0; i < n_pop; i++)
    SL_CALL_GOTO(sl_skills_sample_piece(lang, &r, pop.tok + i * maxlen, &pop.len[i], NULL), done);

  out->n_alphas = na;
  out->d = (int64_t)d;
  out->subspace = sub ? (int64_t)sub->d : 0;
  out->m = m_pieces;
  out->n = n;
  out->pop_pieces = n_pop;
  out->eps = cfg->bound.eps;
  out->log2_vocab = log2((double)V);
  out->top_k = cfg->bound.top_k;
  out->extra_bits = log2((double)cfg->bound.n_levels) + log2((double)na + 2.0);
  for (int a = 0; a < na; a++) {
    out->alpha[a] = cfg->bound.alphas[a];
    out->delta[a] = sl_bound_delta(cfg->bound.alphas[a], V);
  }

  /* Each level count: quantise, code, score the n training pieces; keep the lowest bound. */
  out->best_bound = INFINITY;
  for (int li = 0; li < cfg->bound.n_levels; li++) {
    const int L = (int)cfg->bound.levels[li];
    sl_code_length cl;
    SL_CALL_GOTO(sl_quantize(x, d, L, cfg->bound.kmeans, centroid, sym, counts), done);
    SL_CALL_GOTO(sl_code_length_measure(sym, d, L, counts, &cl), done);
    for (size_t i = 0; i < d; i++)
      xq[i] = centroid[sym[i]];
    if (sub)
      sl_subspace_apply(sub, xq, m->params);
    else
      memcpy(m->params, xq, N * sizeof(float));
    SL_CALL_GOTO(score_pieces(m, prefix, &tr, rows, &sc), done);
    const double k_nats = sl_bound_k_nats(cl.total_bits, out->extra_bits);
    double tm, tn;
    sl_bound_terms(k_nats, (double)m_pieces, (double)n, cfg->bound.eps, &tm, &tn);
    double best = INFINITY;
    int best_a = 0;
    double risk[SL_BOUND_MAX_ALPHAS], bnd[SL_BOUND_MAX_ALPHAS];
    for (int a = 0; a < na; a++) {
      risk[a] = mean(sc.risk + (size_t)a * n, n);
      bnd[a] = risk[a] + out->delta[a] * (tm + tn);
      if (bnd[a] < best) best = bnd[a], best_a = a;
    }
    sl_log(SL_LOG_DEBUG, "cell %lld: L = %d: C = %.0f bits, bound %.4f bits/token at a = %g",
           (long long)cell->index, L, cl.total_bits, best, cfg->bound.alphas[best_a]);
    if (!(best < out->best_bound)) continue;
    out->best_bound = best;
    out->best_alpha = cfg->bound.alphas[best_a];
    out->levels = L;
    out->code_bits = cl.code_bits;
    out->codebook_bits = cl.codebook_bits;
    out->count_bits = cl.count_bits;
    out->c_bits = cl.total_bits;
    out->prefix_bits = 2.0 * log2(cl.total_bits);
    out->k_nats = k_nats;
    out->term_m = tm;
    out->term_n = tn;
    for (int a = 0; a < na; a++)
      out->risk_emp[a] = risk[a], out->bound[a] = bnd[a];
    out->top1_emp = mean(sc.top1, n);
    out->topk_emp = mean(sc.topk, n);
    out->top1_bound = out->top1_emp + tm + tn;
    out->topk_bound = out->topk_emp + tm + tn;
    memcpy(best_xq, xq, d * sizeof(float));
  }
  SL_CHECK_GOTO(isfinite(out->best_bound), SL_ERR_NUMERIC, done,
                "the bound of cell %lld is not finite", (long long)cell->index);

  /* The population risk of the chosen quantised model on fresh pieces, and so the slack. */
  if (sub)
    sl_subspace_apply(sub, best_xq, m->params);
  else
    memcpy(m->params, best_xq, N * sizeof(float));
  SL_CALL_GOTO(score_pieces(m, prefix, &pop, rows, &sc), done);
  int best_a = 0;
  for (int a = 0; a < na; a++) {
    out->risk_pop[a] = mean(sc.risk + (size_t)a * n_pop, n_pop);
    if (cfg->bound.alphas[a] == out->best_alpha) best_a = a;
  }
  out->best_risk_pop = out->risk_pop[best_a];
  out->best_risk_pop_stderr = stderr_of(sc.risk + (size_t)best_a * n_pop, n_pop);
  out->slack = out->best_bound - out->best_risk_pop;
  out->top1_pop = mean(sc.top1, n_pop);
  out->topk_pop = mean(sc.topk, n_pop);
  memcpy(m->params, saved, N * sizeof(float));

  /* Sparsity of the trained (unquantised) model. */
  if (cfg->bound.prune_tol > 0) {
    int64_t nt = n_val < cfg->bound.prune_tokens ? n_val : cfg->bound.prune_tokens;
    SL_CALL_GOTO(sl_prune_fraction(m, val, nt, cfg->bound.prune_tol, &out->prune_fraction,
                                   &out->prune_loss_base, &out->prune_loss),
                 done);
    out->n_effective = (1.0 - out->prune_fraction) * (double)N;
  }
  out->measured = 1;
done:
  if (saved) memcpy(m->params, saved, N * sizeof(float));
  free(saved);
  free(xq);
  free(best_xq);
  free(sym);
  free(rows);
  free(centroid);
  free(counts);
  free(eos_at);
  free(tr.tok);
  free(tr.len);
  free(pop.tok);
  free(pop.len);
  free(sc.risk);
  free(sc.top1);
  free(sc.topk);
  if (prefix != prefix_buf) free(prefix);
  return err;
}
