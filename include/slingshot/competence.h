/* Skill and k'-tuple competence of a trained model on fresh pieces of the skills language
 * (docs/SCIENCE.md sections 0 and 1). Nothing here is collective.
 *
 * Legend: S skills, K the largest tuple size k' measured, V vocabulary, T context.
 *
 * Cloze answers. A piece <s1> .. <sk> x y1 .. yk EOS has k answer tokens, y1 .. yk: the only
 * tokens a skill determines (the skill tokens and x are uniform draws, EOS is fixed by the
 * arity). An answer is right when it is the model's top-1 token given the true prefix (teacher
 * forcing); ties go to the lower token id, as an argmax would. A piece is answered correctly when
 * all its answers are right; theta is the fraction of held-out pieces answered wrongly.
 *
 * What is measured, from one random stream:
 * - held-out: `pieces` fresh pieces of the language. theta; the exact excess loss (the mean over
 *   every token of these pieces of KL(true next-token distribution || model), nats/token: the
 *   expected excess loss without the noise of the sampled next tokens); top-1 and top-k accuracy
 *   of the answer tokens; the competence of every skill (fraction of the held-out pieces using it
 *   answered correctly; one wrong answer counts against every skill of the piece), and the
 *   fraction of skills whose competence is >= each threshold.
 * - k'-tuples, k' = 1..K: `tuples` tuples per split, each probed by `probe_pieces` pieces of
 *   arity k' that use exactly its skills, in a uniformly random order, with a uniform x. Its
 *   competence is the fraction of its probes answered correctly. Splits: seen (k' <= k_max,
 *   drawn uniformly without replacement from the tuples seen together in the training corpus),
 *   unseen (k' <= k_max, distinct tuples drawn uniformly from those never seen together), longer
 *   (k' > k_max: chains longer than any training piece; distinct uniform k'-subsets). A split
 *   with no tuple to draw holds NaN.
 *
 * The model is reached through a callback, so a predictor whose answers are known can stand in
 * for it in tests. */
#ifndef SLINGSHOT_COMPETENCE_H
#define SLINGSHOT_COMPETENCE_H

#include <stddef.h>
#include <stdint.h>

#include "slingshot/lang.h"
#include "slingshot/model.h"
#include "slingshot/rng.h"
#include "slingshot/train.h"
#include "slingshot/tuples.h"

enum { SL_SPLIT_SEEN = 0, SL_SPLIT_UNSEEN = 1, SL_SPLIT_LONGER = 2, SL_N_SPLITS = 3 };
#define SL_COMPETENCE_MAX_THRESHOLDS 8

/* Fills probs[j V .. (j+1) V) with the predicted distribution of the token at position pos[j]
 * of the stream tokens[0..n) given tokens[0..pos[j]) (n_pos positions, increasing, each at
 * least the spec's context). */
typedef int (*sl_predict_fn)(void *ctx, const int32_t *tokens, int64_t n, const int64_t *pos,
                             size_t n_pos, float *probs);

typedef struct sl_competence_spec {
  int pieces;       /* held-out pieces (> 0) */
  int K;            /* tuple sizes 1..K (K <= SL_MAX_ARITY) */
  int tuples;       /* tuples per k' and split */
  int probe_pieces; /* probes per tuple */
  int top_k;        /* k of the top-k accuracy */
  int n_thresholds;
  double thresholds[SL_COMPETENCE_MAX_THRESHOLDS];
  int context; /* the first evaluated piece starts at or after this position (the model's T) */
} sl_competence_spec;

typedef struct sl_competence {
  int S, K, tuples, n_thresholds;
  double theta;         /* fraction of held-out pieces with a wrong answer */
  double excess_kl;     /* nats/token: mean KL(true || model) over the held-out pieces' tokens */
  double top1, top_k;   /* accuracy of the held-out answer tokens */
  double *competence;   /* [S] per skill (NaN: no held-out piece used it) */
  double *skill_pieces; /* [S] held-out pieces using each skill */
  double *frac_skills;  /* [n_thresholds] fraction of skills (with pieces) >= threshold */
  double *tuple_mean;   /* [K x 3] mean tuple competence per k' and split */
  double *tuple_count;  /* [K x 3] tuples measured */
  double *tuple_values; /* [K x 3 x tuples] each tuple's competence (NaN past tuple_count) */
  double *frac_tuples;  /* [K x 3 x n_thresholds] fraction of tuples >= threshold */
} sl_competence;

int sl_competence_alloc(sl_competence *c, int S, const sl_competence_spec *spec);
/* Every value NaN (a cell that was not measured). */
void sl_competence_clear(sl_competence *c);
void sl_competence_free(sl_competence *c);

/* Measures c (allocated for L's S and this spec) with draws from rng. seen: the tuples of the
 * training corpus (sizes 1..at least min(K, k_max)); NULL puts every k' <= k_max tuple in the
 * unseen split without a check. */
int sl_competence_measure(const sl_skills_lang *L, const sl_tuples *seen,
                          const sl_competence_spec *spec, sl_rng *rng, sl_predict_fn predict,
                          void *ctx, sl_competence *c);

/* A trained model as a predictor: ctx is an sl_model_predictor. MLP: one row per position
 * (the T tokens before it). GPT: positions less than T/2 apart share one row that ends at the
 * last of them, so each is predicted from at least T/2 tokens of context. */
typedef struct sl_model_predictor {
  sl_model *m;
  int32_t *rows; /* scratch, m->spec.B x (T+1) */
} sl_model_predictor;
int sl_model_predict(void *ctx, const int32_t *tokens, int64_t n, const int64_t *pos, size_t n_pos,
                     float *probs);

/* ---- The measurement of a grid cell (called by sl_train_cell_ckpt). ---- */

/* The record of the tuples (sizes 1..min(skills.K, k_max)) in the cell's corpus, whose pieces
 * are pieces[0..n_pieces) of its first D tokens. */
int sl_competence_record(const sl_config *cfg, const sl_skills_lang *L, const sl_piece *pieces,
                         size_t n_pieces, int64_t D, sl_tuples **out);
/* Measures the trained model m of the cell into res->skills (allocated here if NULL) with the
 * stream (config seed, grid seed, "skills_eval"): every cell of a grid seed is measured on the
 * same held-out pieces (drawn first); the tuples drawn after them depend on the cell's corpus.
 * rows: scratch of m->spec.B x (T+1) tokens. */
int sl_competence_cell(const sl_config *cfg, const sl_cell *cell, const sl_skills_lang *L,
                       const sl_tuples *seen, sl_model *m, int32_t *rows, sl_cell_result *res);
/* The spec of a config (context from model.context). */
void sl_competence_spec_from(const sl_config *cfg, sl_competence_spec *sp);

#endif
