/* Unique sequences in a corpus (SCIENCE.md section 2): U(D), the number of distinct pieces and of
 * distinct n-grams in the first D tokens of one stream, at log-spaced prefixes D.
 *
 * Two counters share one interface: an exact set of 64-bit keys (open addressing, growable) and a
 * HyperLogLog sketch (relative standard error 1.04 / sqrt(2^p)). The key of an n-gram or piece is
 * an injective packing of its tokens passed through a bijective mixer whenever the tokens fit in
 * 64 bits (then "exact" is exact), and a chained 64-bit hash otherwise (then two distinct
 * sequences share a key with probability about U^2 / 2^65).
 *
 * Nothing here is collective. Sketches of different ranks are merged by a register-wise max: the
 * caller does MPI_Allreduce(MPI_IN_PLACE, h.reg, h.m, MPI_UINT8_T, MPI_MAX, comm), which gives the
 * same registers as sl_hll_merge. */
#ifndef SLINGSHOT_CORPUS_H
#define SLINGSHOT_CORPUS_H

#include <stddef.h>
#include <stdint.h>

#include "slingshot/lang.h"

#define SL_HLL_MIN_P 4
#define SL_HLL_MAX_P 18
#define SL_CORPUS_MAX_NGRAM 64 /* longest n-gram length counted */

/* A bijective 64-bit mixer (the splitmix64 / murmur3 finaliser family): distinct inputs give
 * distinct outputs with well-spread bits. */
uint64_t sl_hash_mix64(uint64_t x);
/* A hash of n tokens (content only: equal sequences anywhere in a stream hash equal). */
uint64_t sl_hash_tokens(const int32_t *tokens, size_t n);

/* ---- exact set of 64-bit keys ---- */
typedef struct sl_uset {
  uint64_t *slots; /* 0 marks an empty slot; key 0 is kept in has_zero */
  size_t cap;      /* a power of two */
  size_t count;    /* distinct keys stored */
  int has_zero;
} sl_uset;

/* expected: a size hint (0 is fine); the set grows at load 1/2. */
int sl_uset_init(sl_uset *s, size_t expected);
void sl_uset_free(sl_uset *s);
/* Inserts key; *added (may be NULL) is 1 if it was new. */
int sl_uset_insert(sl_uset *s, uint64_t key, int *added);

/* ---- HyperLogLog ---- */
typedef struct sl_hll {
  int p;        /* precision: m = 2^p registers, SL_HLL_MIN_P..SL_HLL_MAX_P */
  size_t m;     /* number of registers */
  uint8_t *reg; /* [m]: max over added hashes of the rank of their low 64 - p bits */
} sl_hll;

int sl_hll_init(sl_hll *h, int p);
void sl_hll_free(sl_hll *h);
/* hash must be well mixed (e.g. from sl_hash_mix64 or sl_hash_tokens). */
void sl_hll_add(sl_hll *h, uint64_t hash);
/* The estimate, with the small-range (linear counting) correction. */
double sl_hll_estimate(const sl_hll *h);
/* dst = dst union src (register-wise max); both must have the same p. */
int sl_hll_merge(sl_hll *dst, const sl_hll *src);
/* The relative standard error 1.04 / sqrt(2^p). */
double sl_hll_rel_stderr(int p);

/* ---- U(D) of one stream ---- */

/* One pass over tokens[0 .. prefixes[n_prefixes-1]): at each prefix length D = prefixes[j]
 * (ascending, 0 <= D <= n), counts
 *   out_pieces[j]                     distinct pieces (by token content, tokens [start,
 *                                     start + 2 arity + 2)) lying wholly inside the prefix;
 *   out_ngrams[l * n_prefixes + j]    distinct n-grams of length ngram_lengths[l] wholly inside
 *                                     the prefix.
 * pieces may be NULL (then out_pieces may be NULL); pieces must be in stream order. use_hll = 0:
 * exact sets (memory ~11-15 B per distinct key); 1: HyperLogLog sketches of precision hll_p. */
int sl_corpus_count_unique(const int32_t *tokens, size_t n, const sl_piece *pieces, size_t n_pieces,
                           const int *ngram_lengths, int n_lengths, const int64_t *prefixes,
                           int n_prefixes, int use_hll, int hll_p, double *out_pieces,
                           double *out_ngrams);

/* The same pass with pieces given as spans: piece i is tokens [span_start[i], span_start[i] +
 * span_len[i]), in stream order and not overlapping (the sentences of a PCFG, windows of an HMM
 * stream). span_start == NULL: no pieces (out_pieces may then be NULL). *peak_bytes (may be NULL)
 * is the most memory the counters held at once (exact: the sets' slots, old and new table during
 * a grow, plus key blocks; hll: the registers plus key blocks). */
int sl_corpus_count_unique_spans(const int32_t *tokens, size_t n, const int64_t *span_start,
                                 const int32_t *span_len, size_t n_spans, const int *ngram_lengths,
                                 int n_lengths, const int64_t *prefixes, int n_prefixes,
                                 int use_hll, int hll_p, double *out_pieces, double *out_ngrams,
                                 size_t *peak_bytes);

/* count log-spaced prefix lengths from min to d inclusive (out[0] = min, out[count-1] = d),
 * rounded and strictly increasing; needs 1 <= min <= d and d - min >= count - 1. */
int sl_corpus_log_prefixes(int64_t d, int count, int64_t min, int64_t *out);

#endif
