/* Compression bounds (SCIENCE.md section 3, after Lotfi et al., "Non-vacuous generalization
 * bounds for large language models"): an arithmetic coder, a scalar quantiser, the bound formula,
 * and the per-cell measurement that puts them together. Nothing here is collective.
 *
 * Legend: N params, d trainable coordinates (the subspace's w, or all N weights), L quantisation
 * levels, V vocabulary, T context, m training pieces, n subsampled pieces, a smoothing level.
 *
 * The bound, per smoothing level a (all logs as written; bits are log2, nats ln):
 *   Delta(a) = log2(1 + (1 - a) V / a)            width of the range of -log2 p_smoothed
 *   K        = (C + 2 log2 C + extra) ln 2         nats: -ln P(h) under the prefix-code prior
 *   r        = n / (n + m)
 *   bound(a) = R_hat(a) + Delta(a) (sqrt((K - ln(r eps)) / (2m)) + sqrt(-ln((1 - r) eps) / (2n)))
 * with C the measured message length of the quantised hypothesis (coded bits + 16 bits per
 * centroid + ceil(log2(d + 1)) bits per symbol count) and extra = log2(number of choices made
 * after seeing the data): the level count L among bound.levels and one of the (alphas + 2)
 * statements reported (each a, top-1, top-k). Top-k error bounds use Delta = 1. */
#ifndef SLINGSHOT_BOUND_H
#define SLINGSHOT_BOUND_H

#include <stddef.h>
#include <stdint.h>

#define SL_BOUND_MAX_ALPHAS 16
#define SL_BOUND_MAX_LEVELS 65536
/* The coder's frequency total must stay below 2^30 (32-bit code values). */
#define SL_AC_MAX_TOTAL ((uint64_t)1 << 30)

/* ---------------------------------------------------------------- arithmetic coder */

/* Encodes sym[0..n) (each in [0, L)) with the static model of counts[0..L) (the symbols' exact
 * frequencies in the stream, total n < 2^30; a symbol with count 0 must not occur). *out is a
 * malloc'ed bit buffer (MSB first), *n_bits the message length in bits. */
int sl_ac_encode(const int32_t *sym, size_t n, int L, const uint64_t *counts, uint8_t **out,
                 size_t *n_bits);
/* Decodes n symbols from the first n_bits bits of buf with the same model. */
int sl_ac_decode(const uint8_t *buf, size_t n_bits, size_t n, int L, const uint64_t *counts,
                 int32_t *sym);

/* ---------------------------------------------------------------- quantiser */

/* x rounded to the nearest IEEE binary16 value (ties to even; clamped to +-65504), as a float:
 * the centroids are sent as 16-bit halves, so the decoded model uses exactly these values. */
float sl_half_round(float x);

/* Quantises x[0..n) to L levels: centroids of L uniform bins over [min x, max x], refined by
 * kmeans_iters Lloyd iterations, rounded to binary16, sorted; each x[i] gets the nearest centroid.
 * Writes centroid[0..L), sym[0..n) and counts[0..L). */
int sl_quantize(const float *x, size_t n, int L, int kmeans_iters, float *centroid, int32_t *sym,
                uint64_t *counts);

/* The message length of a quantised vector, by actually encoding it and decoding it back (an
 * SL_ERR_INTERNAL if the round trip differs). */
typedef struct sl_code_length {
  double code_bits;     /* arithmetic-coded symbols */
  double codebook_bits; /* 16 L */
  double count_bits;    /* L ceil(log2(n + 1)) */
  double total_bits;    /* C: the sum */
} sl_code_length;
int sl_code_length_measure(const int32_t *sym, size_t n, int L, const uint64_t *counts,
                           sl_code_length *out);

/* ---------------------------------------------------------------- formula */

/* Delta(a) = log2(1 + (1 - a) V / a), bits. */
double sl_bound_delta(double a, double V);
/* K in nats for C bits and extra bits: (C + 2 log2 C + extra) ln 2. */
double sl_bound_k_nats(double c_bits, double extra_bits);
/* The two deviation terms without Delta: sqrt((K - ln(r eps)) / (2m)) and
 * sqrt(-ln((1 - r) eps) / (2n)), r = n / (n + m). */
void sl_bound_terms(double k_nats, double m, double n, double eps, double *term_m, double *term_n);
/* R_hat + delta (term_m + term_n). */
double sl_bound_value(double r_hat, double delta, double k_nats, double m, double n, double eps);

/* ---------------------------------------------------------------- per-cell result */

/* Everything the bound of one cell is made of (NaN / -1 where not measured). */
typedef struct sl_bound_result {
  int measured;     /* 1 when the bound was computed */
  int n_alphas;     /* = bound.alphas */
  int64_t d;        /* coordinates quantised: subspace d, or N for full training */
  int64_t subspace; /* subspace.d (0: full training) */
  int levels;       /* L chosen (the one with the lowest bound) */
  double code_bits, codebook_bits, count_bits, c_bits, prefix_bits, extra_bits, k_nats;
  int64_t m, n, pop_pieces;
  double eps, log2_vocab, term_m, term_n;
  double alpha[SL_BOUND_MAX_ALPHAS];
  double delta[SL_BOUND_MAX_ALPHAS];
  double risk_emp[SL_BOUND_MAX_ALPHAS]; /* bits/token, n training pieces, quantised smoothed */
  double risk_pop[SL_BOUND_MAX_ALPHAS]; /* bits/token, fresh pieces of a new stream */
  double bound[SL_BOUND_MAX_ALPHAS];    /* bits/token */
  double best_bound, best_alpha, best_risk_pop, best_risk_pop_stderr, slack;
  int top_k;
  double top1_emp, top1_pop, top1_bound, topk_emp, topk_pop, topk_bound;
  /* Sparsity (SCIENCE.md section 2): the largest fraction of weights magnitude pruning can zero
   * with the held-out loss within prune_tol nats of the unpruned model's, and N times the rest. */
  double prune_fraction, n_effective, prune_loss_base, prune_loss;
} sl_bound_result;

/* Sets every field to "not measured". */
void sl_bound_result_clear(sl_bound_result *b);

#endif
