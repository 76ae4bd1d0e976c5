/* The HMM language (SCIENCE.md sections 0 and 4): a hidden Markov model whose entropy rate and
 * next-token conditionals are known through the forward algorithm. Nothing here is collective: a
 * language is built identically on every rank from its seed.
 *
 * Legend: H hidden states, V vocabulary (tokens 0..V-1, no special tokens: the stream is one
 * endless sequence with no sentences and no EOS).
 *
 * Construction from a seed (sl_hmm_create). Row i of the transition matrix A (H x H) has
 * trans_k nonzeros: column (i + 1) mod H always (so the chain is irreducible and the stationary
 * distribution unique), plus trans_k - 1 further columns drawn uniformly without replacement; their
 * values are a symmetric Dirichlet(trans_alpha) draw. Row h of the emission matrix B (H x V) has
 * emit_k nonzeros at columns drawn uniformly without replacement, values Dirichlet(emit_alpha).
 * The Dirichlet draws are normalised gamma variates by Marsaglia and Tsang (2000), written here on
 * top of sl_rng (no GSL rng), computed in log space so that a small alpha cannot underflow a whole
 * row; every drawn entry is floored at 1e-300 so that all k support entries are positive.
 *
 * A stream starts in the stationary distribution pi (pi A = pi) and emits one token per hidden
 * step: h_0 ~ pi, x_t ~ B[h_t], h_{t+1} ~ A[h_t]. Generation is sequential and never looks
 * ahead, so a stream of n tokens is a prefix of any longer stream from the same rng state, and a
 * stream generated in chunks (carrying *hidden between calls) equals one generated at once.
 * Sampling uses one 64-bit draw per categorical choice through per-row alias tables: the top part
 * of r * k picks the column, the low 64 bits serve as the coin, so probabilities are realised to
 * a resolution of k 2^-64.
 *
 * Log probabilities are natural logs (nats); entropies are in bits. */
#ifndef SLINGSHOT_HMM_H
#define SLINGSHOT_HMM_H

#include <stddef.h>
#include <stdint.h>

#include "slingshot/rng.h"

#define SL_HMM_MAX_H 65536
#define SL_HMM_MAX_V (1 << 24)
/* The stationary distribution is solved by Gaussian elimination up to this H, above it by power
 * iteration of the lazy chain (A + I) / 2 (same pi, aperiodic). */
#define SL_HMM_DENSE_PI_MAX 1024

typedef struct sl_hmm_params {
  int H;              /* hidden states, 1..SL_HMM_MAX_H */
  int V;              /* vocabulary, 2..SL_HMM_MAX_V */
  int trans_k;        /* nonzeros per transition row, 1..H */
  int emit_k;         /* nonzeros per emission row, 1..V */
  double trans_alpha; /* Dirichlet concentration of transition rows, > 0 */
  double emit_alpha;  /* Dirichlet concentration of emission rows, > 0 */
} sl_hmm_params;

/* Sparse rows (CSR) with per-row alias tables. Public for tests and probes; build it only with
 * sl_hmm_create or sl_hmm_create_dense. */
typedef struct sl_hmm_rows {
  int n_rows;
  int64_t *start; /* [n_rows + 1] */
  int32_t *col;   /* [nnz] column of each entry */
  double *prob;   /* [nnz] its probability */
  uint64_t *keep; /* [nnz] alias table: entry j of a row keeps col[j] if coin < keep[j] */
  int32_t *alias; /* [nnz]            else gives alias[j] (a column index) */
} sl_hmm_rows;

typedef struct sl_hmm {
  sl_hmm_params p; /* for sl_hmm_create_dense: H, V and the largest row nonzero counts */
  int H, V;
  sl_hmm_rows A;      /* [H rows] transitions P(h_{t+1} = j | h_t = i) */
  sl_hmm_rows B;      /* [H rows] emissions P(x_t = v | h_t = h) */
  sl_hmm_rows Bt;     /* [V rows] the emission columns: row v lists (h, B[h][v]); no alias table */
  double *pi;         /* [H] stationary distribution */
  sl_hmm_rows pi_row; /* pi as one sparse row, for sampling h_0 */
} sl_hmm;

/* Checks params; on error the message names the parameter and its allowed range. */
int sl_hmm_validate(const sl_hmm_params *p);
/* Builds the language (transition and emission matrices, stationary distribution) from params
 * and seed. The numbers depend on (params, seed) only. */
int sl_hmm_create(const sl_hmm_params *p, uint64_t seed, sl_hmm **out);
/* Builds a language from dense row-stochastic matrices A [H x H] and B [H x V] (rows must sum
 * to 1 within 1e-9; zeros are dropped). A must be irreducible (SL_ERR_ARG otherwise). */
int sl_hmm_create_dense(int H, int V, const double *A, const double *B, sl_hmm **out);
void sl_hmm_destroy(sl_hmm *L);

/* Appends n tokens of a stream. *hidden < 0 starts a new stream (h_0 ~ pi); otherwise *hidden is
 * the hidden state of the last token emitted before, and the stream continues from it. On return
 * *hidden is the state of the last token written (unchanged when n = 0). states (may be NULL)
 * receives the hidden state of each token. */
int sl_hmm_generate(const sl_hmm *L, sl_rng *rng, int *hidden, int32_t *tokens, int32_t *states,
                    size_t n);

/* ---- the scaled forward algorithm ----
 * The forward state f is the distribution of the hidden state of the next token given the tokens
 * so far: f = pi before the first token. A step with token x gives p(x | past) = sum_h f_h B[h][x]
 * and the next state f'_j = sum_h f_h B[h][x] A[h][j] / p(x | past). */

/* f[0..H) = pi. */
int sl_hmm_forward_init(const sl_hmm *L, double *f);
/* Advances f by token x; *ln_p = ln p(x | past) (-INFINITY when impossible: then f is left
 * unchanged and the call returns SL_ERR_ARG). work: room for H doubles. */
int sl_hmm_forward_step(const sl_hmm *L, double *f, int32_t x, double *ln_p, double *work);
/* The exact next-token distribution p[0..V) = p(x_t = v | x_<t) given the forward state f. */
int sl_hmm_next_dist(const sl_hmm *L, const double *f, double *p);
/* ln P(tokens[0..n)) of a sequence that starts a stream (h_0 ~ pi). ln_p is -INFINITY (status
 * SL_OK) when the sequence is impossible. */
int sl_hmm_log_prob(const sl_hmm *L, const int32_t *tokens, size_t n, double *ln_p);

/* The entropy rate in bits per token, estimated from one sample stream of burn + n tokens drawn
 * with rng: the mean of -log2 p(x_t | x_<t) over the last n tokens (the first burn tokens are
 * conditioned on but not averaged, since H(x_t | x_<t) decreases to the rate from above). The
 * standard error comes from batch means over n_batches contiguous batches (>= 2; n divisible or
 * not, the last batch takes the remainder); a 95% interval is mean +- 1.96 stderr. */
int sl_hmm_entropy_rate(const sl_hmm *L, sl_rng *rng, size_t n, size_t burn, int n_batches,
                        double *mean_bits, double *stderr_bits);

/* ---- helpers shared by the random languages (defined in src/lang/hmm.c) ---- */

/* A symmetric Dirichlet(alpha) draw into w[0..k) (alpha > 0, k >= 1): normalised Marsaglia-Tsang
 * gamma variates computed in log space, each entry floored at 1e-300 and renormalised. */
void sl_lang_dirichlet(sl_rng *r, double alpha, int k, double *w);
/* Vose's alias table of the k probabilities prob (summing to 1) over the values col: a draw takes
 * u = 64 random bits, j = high word of u k, and returns col[j] if the low word < keep[j], else
 * alias[j]. */
int sl_lang_alias_build(const int32_t *col, const double *prob, int64_t k, uint64_t *keep,
                        int32_t *alias);

#endif
