/* Which skill tuples a skills corpus contains (SCIENCE.md sections 0 and 1: "Tuples never seen
 * together in the training corpus are reported apart"), for seen / unseen splits of k'-tuple
 * competence.
 *
 * Legend: S skills, K the largest tuple size recorded (1..SL_MAX_ARITY), k' a tuple size 1..K,
 * D a prefix length in tokens.
 *
 * A tuple is an unordered set of k' distinct skills, written sorted ascending. A piece of arity k
 * (lang.h) contains the C(k, k') k'-subsets of its skills; a tuple is seen in the first D tokens
 * when at least one piece lying wholly inside them (start + 2 arity + 2 <= D) contains it, and its
 * count is the number of such pieces. Corpora are nested, so a record can be extended piece by
 * piece to a longer prefix of the same stream, and the seen sets only grow with D.
 *
 * Storage: one open-addressing map per k' (load <= 1/2) holding the key, the count and the sorted
 * tuple (16 bits per skill). The key packs the skills as k' digits s + 1 of b bits (b the bits of
 * S) when k' b <= 64 (always for S <= 65536 and k' <= 4); then the key identifies the tuple.
 * Otherwise it is a chained 64-bit hash, and the stored tuple is compared on equal keys, so the
 * record is exact in both cases (no collision probability). Memory: about 2 (16 + 2 k') B per
 * distinct seen tuple of each size.
 *
 * Nothing here is collective: each rank that needs the record builds it from the same pieces. */
#ifndef SLINGSHOT_TUPLES_H
#define SLINGSHOT_TUPLES_H

#include <stddef.h>
#include <stdint.h>

#include "slingshot/lang.h"
#include "slingshot/rng.h"

typedef struct sl_tuples sl_tuples;

/* An empty record for skills [0, S) (1 <= S <= SL_SKILLS_MAX_SIZE) and tuple sizes 1..K
 * (1 <= K <= SL_MAX_ARITY). */
int sl_tuples_create(int S, int K, sl_tuples **out);
void sl_tuples_destroy(sl_tuples *T);

/* Extends the record to the first D tokens of the stream whose pieces (in stream order, as
 * recorded by sl_skills_generate) are pieces[0..n_pieces): adds the pieces not added yet that lie
 * wholly inside [0, D). Successive calls must pass the same stream (the same or a longer pieces
 * array) and D not below the previous D; SL_ERR_ARG otherwise, or when a piece has skills out of
 * [0, S), repeated skills, or an arity outside 0..SL_MAX_ARITY. Pieces of arity 0 hold no tuple. */
int sl_tuples_add(sl_tuples *T, const sl_piece *pieces, size_t n_pieces, int64_t D);

/* The prefix length and the number of pieces the record covers. */
int sl_tuples_extent(const sl_tuples *T, int64_t *D, size_t *n_pieces);

/* *count = the number of recorded pieces that contain the k skills of tuple (any order; k in
 * 1..K): 0 means unseen. SL_ERR_ARG for a skill out of [0, S) or a repeated one. */
int sl_tuples_count(const sl_tuples *T, const int *tuple, int k, uint64_t *count);

/* *seen = the distinct seen tuples of size k; *possible (may be NULL) = C(S, k), as a double
 * because it can exceed 2^64. */
int sl_tuples_distinct(const sl_tuples *T, int k, size_t *seen, double *possible);

/* The seen tuples of size k in lexicographic order: tuples[i k .. i k + k) sorted ascending and
 * counts[i] (counts may be NULL), for i < *n = the distinct seen tuples. max is the room of the
 * arrays in tuples; SL_ERR_ARG if it is below *n (size them with sl_tuples_distinct). */
int sl_tuples_list(const sl_tuples *T, int k, int *tuples, uint64_t *counts, size_t max, size_t *n);

/* n independent draws, each uniform over the unseen tuples of size k, into out[i k .. i k + k)
 * (sorted ascending). Deterministic given rng. A uniform k-subset of [0, S) is drawn and rejected
 * while seen; when fewer than 1/SL_TUPLES_REJECT_MAX of all k-subsets are unseen, the unseen ones
 * are listed once and drawn from directly (then C(S, k) is at most about the seen count, so the
 * list is small). SL_ERR_ARG if every k-subset is seen. */
#define SL_TUPLES_REJECT_MAX 64
int sl_tuples_sample_unseen(const sl_tuples *T, int k, sl_rng *rng, size_t n, int *out);

#endif
