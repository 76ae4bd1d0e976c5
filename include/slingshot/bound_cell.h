/* The compression bound and sparsity of one trained cell (SCIENCE.md sections 3 and 2). Not
 * collective. The formula and its ingredients are in slingshot/bound.h.
 *
 * What a "piece" is for the bound. The skills language's text pieces are i.i.d. (SCIENCE.md
 * section 0), so a piece is the bound's document: the m complete pieces of the cell's corpus are
 * its training documents (the cut-off last one is not counted). The hypothesis scores a piece on
 * its own: the model sees a fixed context of T tokens ending in EOS (drawn once per grid seed from
 * the stream "bound-prefix", so it is part of the prior, free to describe) followed by the piece,
 * and predicts every token of the piece, EOS included. A piece's risk is the mean of -log2 of the
 * smoothed probability over its tokens, in bits per token; R_hat is the mean over n pieces drawn
 * with replacement from the m (stream "bound-sample" of the cell), and the population risk the
 * mean over bound.pop_pieces fresh pieces (stream "bound-pop" of the grid seed, never trained on).
 * Top-k error of a piece: the fraction of its tokens that are not among the k most probable
 * under the unsmoothed quantised model.
 *
 * The hypothesis is the quantised trained vector: w for subspace cells (theta = theta0 + P w),
 * all N weights otherwise; for each L in bound.levels it is quantised, coded (C measured by
 * encoding and decoding) and scored, and the L with the lowest bound is kept (the choice is in
 * the extra bits). */
#ifndef SLINGSHOT_BOUND_CELL_H
#define SLINGSHOT_BOUND_CELL_H

#include "slingshot/bound.h"
#include "slingshot/config.h"
#include "slingshot/lang.h"
#include "slingshot/model.h"
#include "slingshot/subspace.h"
#include "slingshot/train.h"

/* Measures the bound of the trained model m (sub: its subspace, or NULL for full training) and
 * its sparsity on the held-out tokens val. m's parameters are restored before returning. A model
 * whose pieces do not fit its context (a GPT with T < 2 k_max + 2) leaves the bound unmeasured. */
int sl_bound_cell(const sl_config *cfg, const sl_cell *cell, const sl_skills_lang *lang,
                  sl_model *m, sl_subspace *sub, const int32_t *corpus, int64_t D,
                  const int32_t *val, int64_t n_val, sl_bound_result *out);

/* The largest fraction f of parameters (smallest magnitudes first) that can be zeroed with the
 * loss on tokens[0..n) at most tol nats above the unpruned loss, by bisection (14 halvings);
 * also the two losses. m's parameters are restored. */
int sl_prune_fraction(sl_model *m, const int32_t *tokens, int64_t n, double tol, double *fraction,
                      double *loss_base, double *loss_pruned);

#endif
