/* The training loop of one cell. See include/slingshot/train.h. */
#include "slingshot/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "slingshot/bound_cell.h"
#include "slingshot/checkpoint.h"
#include "slingshot/competence.h"
#include "slingshot/corpus.h"
#include "slingshot/dp.h"
#include "slingshot/error.h"
#include "slingshot/hessian.h"
#include "slingshot/language.h"
#include "slingshot/log.h"
#include "slingshot/optim.h"
#include "slingshot/preempt.h"
#include "slingshot/rng.h"
#include "slingshot/subspace.h"
#include "slingshot/timer.h"

int sl_cell_result_alloc(sl_cell_result *r, int n_points, int n_prefixes, int n_ngrams) {
  memset(r, 0, sizeof *r);
  r->n_points = n_points;
  r->n_prefixes = n_prefixes;
  r->n_ngrams = n_ngrams;
  SL_ALLOC(r->curve_loss, n_points);
  SL_ALLOC(r->curve_tokens, n_points);
  SL_ALLOC(r->unique_pieces, n_prefixes);
  SL_ALLOC(r->unique_ngrams, (size_t)n_prefixes * n_ngrams);
  return SL_OK;
}

void sl_cell_result_free(sl_cell_result *r) {
  free(r->curve_loss);
  free(r->curve_tokens);
  free(r->unique_pieces);
  free(r->unique_ngrams);
  sl_competence_free(r->skills);
  free(r->skills);
  memset(r, 0, sizeof *r);
}

int sl_unique_prefixes(const sl_config *cfg, int64_t *out) {
  double dmin = cfg->grid.d_tokens.v[0], dmax = dmin;
  for (int i = 1; i < cfg->grid.d_tokens.n; i++) {
    if (cfg->grid.d_tokens.v[i] < dmin) dmin = cfg->grid.d_tokens.v[i];
    if (cfg->grid.d_tokens.v[i] > dmax) dmax = cfg->grid.d_tokens.v[i];
  }
  double lo = dmax / 1000 > 100 ? dmax / 1000 : 100;
  if (dmin < lo) lo = dmin;
  int count = cfg->unique.prefixes;
  if (dmax - lo < count - 1) lo = dmax - (count - 1); /* a tiny grid: consecutive lengths */
  SL_CALL(sl_corpus_log_prefixes((int64_t)dmax, count, (int64_t)(lo < 1 ? 1 : lo), out));
  return SL_OK;
}

/* U(D) of the cell's corpus at the shared prefixes not beyond its D (SCIENCE.md section 2). */
static int count_unique(const sl_config *cfg, const int32_t *corpus, int64_t D,
                        const sl_piece *pieces, size_t n_pieces, const int64_t *span_start,
                        const int32_t *span_len, sl_cell_result *res) {
  const int P = res->n_prefixes, G = res->n_ngrams;
  int64_t prefixes[64];
  int lengths[SL_CONFIG_MAX_LIST];
  SL_CALL(sl_unique_prefixes(cfg, prefixes));
  int n_in = 0;
  while (n_in < P && prefixes[n_in] <= D)
    n_in++;
  for (int g = 0; g < G; g++)
    lengths[g] = (int)cfg->unique.ngrams[g];
  for (int j = 0; j < P; j++)
    res->unique_pieces[j] = NAN;
  for (int j = 0; j < P * G; j++)
    res->unique_ngrams[j] = NAN;
  if (n_in == 0) return SL_OK;
  double ngrams[SL_CONFIG_MAX_LIST * 64];
  if (span_start || !pieces) /* pieces as spans (language.h), or none (then NaN) */
    SL_CALL(sl_corpus_count_unique_spans(corpus, (size_t)D, span_start, span_len, n_pieces, lengths,
                                         G, prefixes, n_in, strcmp(cfg->unique.method, "hll") == 0,
                                         cfg->unique.hll_p, res->unique_pieces, ngrams, NULL));
  else
    SL_CALL(sl_corpus_count_unique(corpus, (size_t)D, pieces, n_pieces, lengths, G, prefixes, n_in,
                                   strcmp(cfg->unique.method, "hll") == 0, cfg->unique.hll_p,
                                   res->unique_pieces, ngrams));
  if (!pieces && !span_start)
    for (int j = 0; j < P; j++)
      res->unique_pieces[j] = NAN;
  for (int g = 0; g < G; g++)
    for (int j = 0; j < n_in; j++)
      res->unique_ngrams[g * P + j] = ngrams[g * n_in + j];
  return SL_OK;
}

static uint64_t stream_seed(const sl_config *cfg, int64_t index, const char *name) {
  sl_rng r;
  sl_rng_stream(&r, (uint64_t)cfg->seed, (uint64_t)index, name);
  return sl_rng_u64(&r);
}

int sl_train_language(const sl_config *cfg, int64_t seed, sl_skills_lang **out) {
  sl_skills_params p;
  sl_config_skills_params(cfg, &p);
  SL_CALL(sl_skills_create(&p, stream_seed(cfg, seed, "language"), out));
  return SL_OK;
}

/* The data of a cell in an HMM or PCFG language (include/slingshot/language.h): the first D
 * tokens of the seed's corpus stream, the held-out stream, the entropy estimate, and U(D) with
 * sentences (pcfg) or no pieces (hmm). Streams as for the skills language. */
static int other_language_data(const sl_config *cfg, const sl_cell *cell, int32_t *corpus,
                               int32_t *val, sl_cell_result *res) {
  const int64_t D = cell->d_tokens;
  sl_language *L = NULL;
  int64_t *span_start = NULL;
  int32_t *span_len = NULL;
  size_t n_spans = 0;
  int err = SL_OK;
  SL_CALL(sl_language_create(cfg, cell->seed, &L));
  res->entropy = L->entropy_bits * log(2.0);
  const size_t max_spans = sl_language_max_pieces(L, (size_t)D);
  if (max_spans > 0) {
    span_start = malloc(max_spans * sizeof *span_start);
    span_len = malloc(max_spans * sizeof *span_len);
    SL_CHECK_GOTO(span_start && span_len, SL_ERR_NOMEM, done, "out of memory for %zu pieces",
                  max_spans);
  }
  sl_rng rng;
  sl_rng_stream(&rng, (uint64_t)cfg->seed, (uint64_t)cell->seed, "corpus");
  SL_CALL_GOTO(
      sl_language_generate(L, &rng, corpus, (size_t)D, span_start, span_len, max_spans, &n_spans),
      done);
  sl_rng_stream(&rng, (uint64_t)cfg->seed, (uint64_t)cell->seed, "val");
  SL_CALL_GOTO(sl_language_generate(L, &rng, val, (size_t)cfg->eval.tokens, NULL, NULL, 0, NULL),
               done);
  sl_timer_stop("data");
  sl_timer_start("unique");
  SL_CALL_GOTO(count_unique(cfg, corpus, D, NULL, n_spans, span_start, span_len, res), done);
  sl_timer_stop("unique");
done:
  free(span_start);
  free(span_len);
  sl_language_destroy(L);
  return err;
}

int sl_eval_loss(sl_model *m, const int32_t *tokens, int64_t n, int32_t *rows, double *loss) {
  const int T = m->spec.T, B = m->spec.B;
  /* MLP: a row per target (stride 1). GPT: rows of T+1 tokens overlapping by one (stride T). */
  const int64_t stride = m->targets_per_row == 1 ? 1 : T;
  SL_CHECK(n >= T + 1, SL_ERR_ARG, "%lld tokens are too few to evaluate a context of %d",
           (long long)n, T);
  int64_t n_rows = (n - (T + 1)) / stride + 1;
  double sum = 0.0;
  int64_t count = 0;
  for (int64_t r0 = 0; r0 < n_rows; r0 += B) {
    int b = (int)(n_rows - r0 < B ? n_rows - r0 : B);
    for (int i = 0; i < b; i++)
      memcpy(rows + (size_t)i * (T + 1), tokens + (r0 + i) * stride, sizeof(int32_t) * (T + 1));
    float l;
    SL_CALL(sl_model_forward(m, rows, b, &l));
    int64_t preds = (int64_t)b * m->targets_per_row;
    sum += (double)l * preds;
    count += preds;
  }
  *loss = sum / (double)count;
  return SL_OK;
}

size_t sl_cell_memory_bytes(const sl_config *cfg, const sl_cell *cell) {
  const size_t D = (size_t)cell->d_tokens, n_val = (size_t)cfg->eval.tokens;
  const size_t rows = (size_t)cell->spec.B * (size_t)(cell->spec.T + 1);
  return sl_model_memory_bytes(&cell->spec) + 2 * sizeof(float) * cell->n_params /* m, v */
         + sizeof(int32_t) * (D + n_val + rows) + sizeof(sl_piece) * SL_SKILLS_MAX_PIECES(D) +
         sl_flatness_memory_bytes(cfg, cell);
}

int sl_train_step_seconds(const sl_config *cfg, const sl_cell *cell, int steps, double *seconds) {
  int err = SL_OK;
  sl_model *m = NULL;
  sl_optim *opt = NULL;
  int32_t *rows = NULL;
  const int B = cell->spec.B, T = cell->spec.T;
  SL_CALL_GOTO(sl_model_create(&cell->spec, &m), done);
  sl_rng rng;
  sl_rng_stream(&rng, (uint64_t)cfg->seed, (uint64_t)cell->index, "estimate");
  SL_CALL_GOTO(sl_model_init(m, &rng), done);
  sl_optim_spec os = {.kind = SL_OPTIM_ADAMW, .beta1 = 0.9, .beta2 = 0.99, .eps = 1e-8};
  SL_CALL_GOTO(sl_optim_create(&os, m->n_params, &opt), done);
  SL_ALLOC(rows, (size_t)B * (T + 1));
  for (size_t i = 0; i < (size_t)B * (T + 1); i++)
    rows[i] = (int32_t)sl_rng_below(&rng, (uint64_t)cell->spec.V);
  double t0 = 0;
  for (int s = 0; s <= steps; s++) {
    if (s == 1) t0 = sl_wtime(); /* step 0 warms caches and BLAS up */
    float loss;
    SL_CALL_GOTO(sl_model_forward(m, rows, B, &loss), done);
    SL_CALL_GOTO(sl_model_backward(m, rows, B), done);
    SL_CALL_GOTO(sl_optim_step(opt, m->params, m->grads, m->decay, 1e-4), done);
  }
  *seconds = (sl_wtime() - t0) / steps;
done:
  free(rows);
  sl_optim_destroy(opt);
  sl_model_destroy(m);
  return err;
}

/* sl_eval_loss, with a non-finite loss (the model's SL_ERR_NUMERIC) reported as NaN: for a
 * cell in training that is a divergence, decided by the caller. */
static int eval_or_nan(sl_model *m, const int32_t *tokens, int64_t n, int32_t *rows, double *loss) {
  int e = sl_eval_loss(m, tokens, n, rows, loss);
  if (e == SL_ERR_NUMERIC) {
    sl_error_clear();
    *loss = NAN;
    return SL_OK;
  }
  return e;
}

static int all_finite(const float *x, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isfinite(x[i])) return 0;
  return 1;
}

int sl_train_cell(const sl_config *cfg, const sl_cell *cell, sl_train_hook hook, void *ctx,
                  sl_cell_result *res) {
  return sl_train_cell_ckpt(cfg, cell, NULL, hook, ctx, res);
}

int sl_train_cell_ckpt(const sl_config *cfg, const sl_cell *cell, const sl_train_ckpt *ckpt,
                       sl_train_hook hook, void *ctx, sl_cell_result *res) {
  int err = SL_OK;
  double t0 = sl_wtime();
  sl_skills_lang *lang = NULL;
  sl_model *m = NULL;
  sl_optim *opt = NULL;
  int32_t *corpus = NULL, *val = NULL, *rows = NULL;
  sl_piece *pieces = NULL;
  sl_config *vcfg = NULL;
  sl_subspace *sub = NULL; /* subspace.d > 0: the optimiser trains w, theta = theta0 + P w */
  size_t n_pieces = 0;
  sl_tuples *seen = NULL; /* the corpus's skill tuples, for competence (issue 5) */
  const int T = cell->spec.T, B = cell->spec.B;
  const int64_t D = cell->d_tokens, n_val = cfg->eval.tokens;

  res->status = SL_CELL_FAILED;
  res->diverged_step = -1;
  res->steps = 0;
  res->tokens_trained = 0;
  for (int i = 0; i < res->n_points; i++)
    res->curve_loss[i] = res->curve_tokens[i] = NAN;
  res->train_loss = res->val_loss = res->excess_loss = NAN;
  sl_flatness_clear(res);
  sl_bound_result_clear(&res->bound);

  /* The cell's variant: its model and training keys put over the config (sl_config_variant). */
  SL_ALLOC(vcfg, 1);
  SL_CALL_GOTO(sl_config_variant(cfg, cell->variant, vcfg), done);
  cfg = vcfg;
  if (res->skills) sl_competence_clear(res->skills); /* no stale numbers from another cell */

  /* Data: the first D tokens of the seed's corpus stream, and its held-out stream. */
  sl_timer_start("data");
  if (sl_language_kind_of(cfg) != SL_LANGUAGE_SKILLS) {
    /* HMM, PCFG: no skills (lang stays NULL, pieces NULL), so no skill measurements. */
    SL_ALLOC(corpus, D);
    SL_ALLOC(val, n_val);
    SL_ALLOC(rows, (size_t)B * (T + 1));
    SL_CALL_GOTO(other_language_data(cfg, cell, corpus, val, res), done);
    goto model;
  }
  SL_CALL_GOTO(sl_train_language(cfg, cell->seed, &lang), done);
  res->entropy = lang->entropy_bits_per_token * log(2.0);
  SL_ALLOC(corpus, D);
  SL_ALLOC(val, n_val);
  SL_ALLOC(rows, (size_t)B * (T + 1));
  SL_ALLOC(pieces, SL_SKILLS_MAX_PIECES(D));
  sl_rng rng;
  sl_rng_stream(&rng, (uint64_t)cfg->seed, (uint64_t)cell->seed, "corpus");
  SL_CALL_GOTO(
      sl_skills_generate(lang, &rng, corpus, (size_t)D, pieces, SL_SKILLS_MAX_PIECES(D), &n_pieces),
      done);
  sl_rng_stream(&rng, (uint64_t)cfg->seed, (uint64_t)cell->seed, "val");
  SL_CALL_GOTO(sl_skills_generate(lang, &rng, val, (size_t)n_val, NULL, 0, NULL), done);
  sl_timer_stop("data");
  sl_timer_start("unique");
  SL_CALL_GOTO(count_unique(cfg, corpus, D, pieces, n_pieces, NULL, NULL, res), done);
  sl_timer_stop("unique");
  if (cfg->skills.pieces > 0)
    SL_CALL_GOTO(sl_competence_record(cfg, lang, pieces, n_pieces, D, &seen), done);
  free(pieces);
  pieces = NULL;

  /* Model and optimiser. */
model:
  SL_CALL_GOTO(sl_model_create(&cell->spec, &m), done);
  sl_rng_stream(&rng, (uint64_t)cfg->seed, (uint64_t)cell->index, "init");
  SL_CALL_GOTO(sl_model_init(m, &rng), done);
  if (cfg->subspace.d > 0) {
    sl_rng_stream(&rng, (uint64_t)cfg->seed, (uint64_t)cell->index, "subspace");
    SL_CALL_GOTO(sl_subspace_create(m->n_params, (size_t)cfg->subspace.d, m->params, &rng, &sub),
                 done);
  }
  sl_optim_spec os = {.kind =
                          strcmp(cfg->train.optimizer, "sgd") == 0 ? SL_OPTIM_SGD : SL_OPTIM_ADAMW,
                      .beta1 = cfg->train.beta1,
                      .beta2 = cfg->train.beta2,
                      .eps = cfg->train.eps,
                      .weight_decay = cfg->train.weight_decay,
                      .momentum = cfg->train.momentum};
  SL_CALL_GOTO(sl_optim_create(&os, sub ? sub->d : m->n_params, &opt), done);

  /* Evaluation steps: evenly spaced from 0 (the untrained model) to the end of training. */
  const int P = res->n_points;
  const int64_t steps = cell->steps;
  const int64_t per_step = (int64_t)B * m->targets_per_row;
  sl_rng_stream(&rng, (uint64_t)cfg->seed, (uint64_t)cell->index, "batch");
  int next_point = 0;
  int64_t since_hook = 0;
  double hook_time = sl_wtime();
  int64_t first_step = 0;
  int64_t ckpt_failures = 0; /* checkpoint saves of this cell that failed (warned once) */
  int ckpt_saved = 1;        /* 0 when the save at a stop failed */
  sl_checkpoint ck;
  if (ckpt && ckpt->path) {
    sl_model mw = *m; /* subspace: w is the state (theta follows from it), so bind w */
    if (sub) mw.params = sub->w, mw.n_params = sub->d;
    SL_CALL_GOTO(sl_checkpoint_bind(&ck, cell->index, ckpt->config_sha256, &mw, opt,
                                    res->curve_loss, res->curve_tokens, P),
                 done);
    /* Resume: a bad or foreign file is an error, not ignored. */
    if (access(ckpt->path, F_OK) == 0) {
      SL_CALL_GOTO(sl_checkpoint_load(ckpt->path, &ck), done);
      if (sub) sl_subspace_apply(sub, sub->w, m->params);
      sl_log_all(SL_LOG_INFO, "cell %lld: resuming from its checkpoint at step %lld of %lld",
                 (long long)cell->index, (long long)ck.step, (long long)steps);
      opt->step = ck.optim_step;
      rng = ck.rng;
      first_step = ck.step;
      next_point = ck.next_point;
      res->steps = ck.step;
      res->tokens_trained = ck.tokens_trained;
    }
  }
  for (int64_t step = first_step; step <= steps; step++) {
    if (next_point < P && step == (int64_t)llround((double)next_point * steps / (P - 1))) {
      sl_timer_start("eval");
      double l;
      SL_CALL_GOTO(eval_or_nan(m, val, n_val, rows, &l), done);
      sl_timer_stop("eval");
      res->curve_loss[next_point] = l;
      res->curve_tokens[next_point] = (double)(step * per_step);
      next_point++;
    }
    if (step == steps) break;
    /* A signal asked to stop (preempt.h): checkpoint here, at a step boundary, and return. */
    int stop = sl_preempt_requested() != 0;
    sl_dp *dp = ckpt ? ckpt->dp : NULL; /* a rank group stops at the same step on every member */
    if (dp) SL_CALL_GOTO(sl_dp_any(dp, stop, &stop), done);
    if (stop && !sl_preempt_requested()) sl_preempt_raise(); /* a member got it: stop here too */
    /* Checkpoint every K steps, after the eval of this step and before its batch is drawn. */
    if (ckpt && ckpt->path && (!dp || dp->rank == 0) &&
        (stop || (ckpt->every > 0 && step > first_step && step % ckpt->every == 0))) {
      sl_timer_start("checkpoint");
      ck.step = step;
      ck.optim_step = opt->step;
      ck.tokens_trained = res->tokens_trained;
      ck.next_point = next_point;
      ck.rng = rng;
      /* A checkpoint is insurance, not a result: when it cannot be written (a full disk, an I/O
       * error) the cell trains on and its numbers do not change. The save leaves the previous
       * checkpoint in place (it writes a .tmp and renames), so a kill or a stop still resumes
       * from that one, bitwise. Warned on the first failure of the cell and on every stop. */
      const int ce = sl_checkpoint_save(ckpt->path, &ck);
      if (ce != SL_OK) {
        if (ckpt_failures++ == 0 || stop)
          sl_log_all(SL_LOG_WARN,
                     "cell %lld: %s; training goes on without this checkpoint (a kill now loses "
                     "the steps since the last one saved; free space for the next, every %lld "
                     "steps)",
                     (long long)cell->index, sl_error_message(), (long long)ckpt->every);
        sl_error_clear();
        if (stop) ckpt_saved = 0;
      }
      sl_timer_stop("checkpoint");
    }
    if (stop) {
      err = SL_ERROR(SL_ERR_INTERRUPTED, "cell %lld stopped at step %lld of %lld%s",
                     (long long)cell->index, (long long)step, (long long)steps,
                     !(ckpt && ckpt->path) ? ""
                     : ckpt_saved          ? " (checkpoint saved)"
                                  : " (its checkpoint could not be written: it resumes from "
                                    "the last one saved, or from the start)");
      goto done;
    }
    sl_timer_start("train");
    for (int b = 0; b < B; b++) {
      int64_t start = (int64_t)sl_rng_below(&rng, (uint64_t)(D - T));
      memcpy(rows + (size_t)b * (T + 1), corpus + start, sizeof(int32_t) * (T + 1));
    }
    float loss;
    /* A non-finite loss comes back as SL_ERR_NUMERIC: for training that is a divergence, a
     * result of the cell, not a failure of the program. */
    int fe = dp ? sl_dp_step(dp, m, rows, B, &loss) : sl_model_forward(m, rows, B, &loss);
    if (fe == SL_ERR_NUMERIC) {
      sl_error_clear();
      loss = NAN;
    } else {
      SL_CALL_GOTO(fe, done);
    }
    int finite = isfinite(loss);
    if (finite && !dp) { /* sl_dp_step did the backward, and its loss says if all is finite */
      SL_CALL_GOTO(sl_model_backward(m, rows, B), done);
      finite = all_finite(m->grads, m->n_params);
    }
    if (!finite) { /* a result, not an error: the grid goes on */
      sl_timer_stop("train");
      res->status = SL_CELL_DIVERGED;
      res->diverged_step = step;
      snprintf(res->error, sizeof res->error, "diverged at step %lld: non-finite %s",
               (long long)step, isfinite(loss) ? "gradient" : "loss");
      goto done;
    }
    double norm;
    if (sub) sl_subspace_grad(sub, m->grads, sub->gw); /* grad_w = P^T grad_theta */
    sl_grad_clip(sub ? sub->gw : m->grads, sub ? sub->d : m->n_params, cfg->train.grad_clip, &norm);
    double lr = sl_lr_at(cfg->train.lr, cfg->train.min_lr, step, cfg->train.warmup, steps);
    SL_CALL_GOTO(sl_optim_step(opt, sub ? sub->w : m->params, sub ? sub->gw : m->grads,
                               sub ? NULL : m->decay, lr),
                 done);
    if (sub) sl_subspace_apply(sub, sub->w, m->params);
    sl_timer_stop("train");
    res->steps = step + 1;
    res->tokens_trained += per_step;
    since_hook += per_step;
    if (hook && (!dp || dp->rank == 0) && (step & 15) == 15 && sl_wtime() - hook_time > 0.5) {
      hook(ctx, since_hook);
      since_hook = 0;
      hook_time = sl_wtime();
    }
  }
  if (hook && since_hook && (!ckpt || !ckpt->dp || ckpt->dp->rank == 0)) hook(ctx, since_hook);

  sl_timer_start("eval");
  res->val_loss = res->curve_loss[P - 1];
  int64_t n_train_eval = D < n_val ? D : n_val;
  SL_CALL_GOTO(eval_or_nan(m, corpus, n_train_eval, rows, &res->train_loss), done);
  res->excess_loss = res->val_loss - res->entropy;
  sl_timer_stop("eval");
  res->status = SL_CELL_DONE;
  if (!isfinite(res->val_loss) || !isfinite(res->train_loss)) {
    /* Finite gradients can still take the parameters to infinity in one step. */
    res->status = SL_CELL_DIVERGED;
    res->diverged_step = steps;
    snprintf(res->error, sizeof res->error, "diverged: non-finite loss after training");
  }
  if (res->status == SL_CELL_DONE) { /* flatness.probes or spectrum_max_params > 0 */
    sl_timer_start("flatness");
    SL_CALL_GOTO(sl_flatness_cell(cfg, cell, m, corpus, D, res), done);
    sl_timer_stop("flatness");
  }
  if (cfg->bound.enabled && lang && res->status == SL_CELL_DONE) {
    sl_timer_start("bound");
    SL_CALL_GOTO(sl_bound_cell(cfg, cell, lang, m, sub, corpus, D, val, n_val, &res->bound), done);
    sl_timer_stop("bound");
  }
  if (res->status == SL_CELL_DONE && lang &&
      cfg->skills.pieces > 0) /* skill competence (issue 5) */
    SL_CALL_GOTO(sl_competence_cell(cfg, cell, lang, seen, m, rows, res), done);

done:
  res->wall_s = sl_wtime() - t0;
  if (err != SL_OK) {
    res->status = SL_CELL_FAILED;
    snprintf(res->error, sizeof res->error, "%s", sl_error_message());
  }
  sl_optim_destroy(opt);
  sl_subspace_destroy(sub);
  sl_model_destroy(m);
  sl_tuples_destroy(seen);
  sl_skills_destroy(lang);
  free(corpus);
  free(val);
  free(rows);
  free(pieces);
  free(vcfg);
  return err;
}
