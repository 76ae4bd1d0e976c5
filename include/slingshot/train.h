/* Training one cell: language, corpus, model, optimiser, loss curve. Nothing here is collective,
 * except sl_train_cell_ckpt of a large cell over its rank group (ckpt->dp, see dp.h); a cell's
 * numbers depend only on (config, cell index).
 *
 * Random streams (config seed s, cell index i, grid seed g):
 *   language maps  (s, g, "language")   corpus  (s, g, "corpus")   held-out  (s, g, "val")
 *   model init     (s, i, "init")       batches (s, i, "batch")
 * The corpus of a cell is the first D tokens of its seed's corpus stream, so corpora are nested
 * across D, and every cell of a seed is evaluated on the same held-out tokens. */
#ifndef SLINGSHOT_TRAIN_H
#define SLINGSHOT_TRAIN_H

#include <stdint.h>

#include "slingshot/bound.h"
#include "slingshot/config.h"
#include "slingshot/lang.h"
#include "slingshot/model.h"

/* A cell of the grid: what to train. Its index is its position in the grid's expansion order. */
typedef struct sl_cell {
  int64_t index;
  double n_target;       /* the grid's N */
  int64_t d_tokens;      /* D */
  int64_t seed;          /* the grid seed (value, not position) */
  int seed_pos, variant; /* positions on their axes */
  sl_model_spec spec;    /* shape chosen from n_target */
  size_t n_params, n_params_no_embed;
  double flops_per_token; /* training FLOPs per predicted token */
  int64_t steps;          /* optimiser steps */
  int64_t tokens_trained; /* predicted tokens seen in training: steps * batch * targets/row */
  double cost;            /* 6 * N_no_embed * tokens_trained: the scheduler's weight */
} sl_cell;

#define SL_FLATNESS_MAX_TOP 64 /* flatness.top at most */

enum { SL_CELL_TODO = 0, SL_CELL_DONE = 1, SL_CELL_DIVERGED = 2, SL_CELL_FAILED = -1 };

typedef struct sl_cell_result {
  int status;            /* SL_CELL_DONE, SL_CELL_DIVERGED or SL_CELL_FAILED */
  int64_t diverged_step; /* first step with a non-finite loss or gradient, else -1 */
  double train_loss;     /* nats/token on (up to eval.tokens of) the cell's own corpus */
  double val_loss;       /* nats/token on held-out tokens */
  double entropy;        /* the language's entropy rate, nats/token */
  double excess_loss;    /* val_loss - entropy */
  int64_t steps, tokens_trained;
  double wall_s;
  int n_points;             /* = eval.points */
  double *curve_loss;       /* [n_points] held-out loss after curve_tokens of training */
  double *curve_tokens;     /* [n_points] */
  int n_prefixes, n_ngrams; /* unique-sequence counts (SCIENCE.md section 2) */
  double *unique_pieces;    /* [n_prefixes] distinct pieces in the first prefix_tokens[j] tokens */
  double *unique_ngrams;    /* [n_ngrams x n_prefixes] distinct n-grams, same prefixes */
  sl_bound_result bound;    /* compression bound and sparsity (SCIENCE.md sections 3, 2) */
  struct sl_competence *skills; /* skill competence (issue 5; competence.h); NULL: not measured */
  char error[256];
  /* Flatness (SCIENCE.md section 4, src/measure/hessian.c): the Hessian of the training loss at
   * the final parameters on flatness.batches batches; NaN when not measured. */
  double flat_loss, hessian_trace, hessian_trace_se, hessian_exact_trace, hessian_neg_mass,
      hessian_neg_fraction, hessian_lambda_max, hessian_lambda_min, hessian_asym, flatness_s;
  double hessian_top[SL_FLATNESS_MAX_TOP]; /* largest eigenvalues, descending */
} sl_cell_result;

int sl_cell_result_alloc(sl_cell_result *r, int n_points, int n_prefixes, int n_ngrams);
void sl_cell_result_free(sl_cell_result *r);

/* Called now and then during training with the tokens processed since the last call. */
typedef void (*sl_train_hook)(void *ctx, int64_t tokens);

/* The corpus prefixes at which unique sequences are counted, the same for every cell (corpora are
 * nested): unique.prefixes log-spaced lengths from min(D_min, max(100, D_max / 1000)) to D_max.
 * out has room for unique.prefixes values; a cell counts those not beyond its D (NaN after). */
int sl_unique_prefixes(const sl_config *cfg, int64_t *out);

/* The language of grid seed `seed` (caller destroys it). */
int sl_train_language(const sl_config *cfg, int64_t seed, sl_skills_lang **out);

/* Trains and evaluates one cell. A divergence is a result (status DIVERGED), not an error;
 * an error return means the cell could not run at all. */
int sl_train_cell(const sl_config *cfg, const sl_cell *cell, sl_train_hook hook, void *ctx,
                  sl_cell_result *res);

/* Peak bytes sl_train_cell holds for this cell: model, optimiser, corpus, pieces, held-out
 * tokens. Not collective. */
size_t sl_cell_memory_bytes(const sl_config *cfg, const sl_cell *cell);

/* Measures the seconds of one training step (forward, backward, AdamW) of the cell's model on
 * random tokens, over at least `steps` steps after one warm-up step. Not collective. */
int sl_train_step_seconds(const sl_config *cfg, const sl_cell *cell, int steps, double *seconds);

/* Checkpointing of sl_train_cell_ckpt: every `every` steps the cell's state goes to `path`
 * (atomically); when `path` exists at the start, training resumes from it (an error if it is
 * damaged or belongs to another cell or config). config_sha256: sl_sha256_hex of the resolved
 * config text. The caller removes `path` after the cell's row is in the results file. */
typedef struct sl_train_ckpt {
  const char *path;
  int64_t every;
  char config_sha256[65];
  struct sl_dp *dp; /* NULL: one rank. Else the cell's rank group (dp.h): the call is collective
                       over it, its root saves the checkpoints */
} sl_train_ckpt;
/* Returns SL_ERR_INTERRUPTED (checkpoint saved at a step boundary when ckpt->path is set) when a
 * stop was asked for (preempt.h). */
int sl_train_cell_ckpt(const sl_config *cfg, const sl_cell *cell, const sl_train_ckpt *ckpt,
                       sl_train_hook hook, void *ctx, sl_cell_result *res);

/* Mean cross-entropy (nats/token) of m over every predictable token of tokens[0..n): the MLP
 * predicts each t >= T from its window, the GPT each token of consecutive (T+1)-token rows.
 * rows is scratch of at least m->spec.B * (T+1) tokens. */
int sl_eval_loss(sl_model *m, const int32_t *tokens, int64_t n, int32_t *rows, double *loss);

#endif
