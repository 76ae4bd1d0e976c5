/* Private to src/corpus: the n-gram keys and the batched exact set that sl_corpus_count_unique
 * (unique.c) and the distributed counters (unique_mpi.c) share, so that the serial and the
 * distributed counts rest on one definition of a key. Nothing here is collective.
 *
 * The key of the L tokens t[e-L .. e) (e the exclusive end) reads them backwards from e - 1: with
 * b the digit width (the bits of largest token + 1) and L b <= 64, the digits t + 1 are packed
 * with t[e-1] as the most significant one and the packing is passed through sl_hash_mix64 (a
 * bijection, and the packing is injective: the key identifies the n-gram); with L b > 64 the key
 * is the chained hash h_0 = UQ_HASH_SEED, h_i = mix(h_{i-1} + (t[e-i] + 1) UQ_HASH_STEP). Because
 * the most recent token is the top digit, the packing of the next end costs a shift and an or,
 * packed(e + 1) = packed(e) >> b | (t[e] + 1) << b (L - 1): O(1) per token whatever L. */
#ifndef SLINGSHOT_UNIQUE_IMPL_H
#define SLINGSHOT_UNIQUE_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "slingshot/corpus.h"

#define UQ_HASH_STEP 0x9E3779B97F4A7C15ull
#define UQ_HASH_SEED 0x243F6A8885A308D3ull
/* Keys are made and inserted in blocks of this many (512 KiB of keys: stays in L2). */
#define UQ_CHUNK ((size_t)1 << 16)

static inline uint64_t uq_hash_step(uint64_t h, int32_t t) {
  return sl_hash_mix64(h + ((uint64_t)(uint32_t)t + 1) * UQ_HASH_STEP);
}

/* The digit width of the packing: the bits of (t_max + 1), 1..32. */
static inline int uq_digit_bits(uint64_t t_max) {
  int b = 1;
  while ((t_max + 1) >> b != 0)
    b++;
  return b;
}

/* out[i] = the key of tokens[e - L .. e) for e = e_first + i, i = 0..m-1; needs e_first >= L >= 1
 * and 1 <= bits <= 32. */
void uq_ngram_keys(const int32_t *tokens, size_t e_first, size_t m, int L, int bits, uint64_t *out);

/* An exact set of 64-bit keys like sl_uset (open addressing, linear probing, key 0 apart), built
 * for throughput and memory: keys arrive in arrays and the slot of the key UQ_PREFETCH places
 * ahead is prefetched, so that many cache misses are in flight at once; the capacity is any
 * integer (the home slot of a key is the high word of its mixed value times cap), so a set sized
 * for an expected count holds it at load 0.7 instead of up to 4x that in a power of two; it grows
 * (doubling) past load 3/4. Tables of 4 MiB and more are anonymous mappings advised for
 * transparent huge pages (fewer TLB misses), falling back to calloc. Only speed and memory depend
 * on the table layout: count is the number of distinct keys. */
typedef struct uq_set {
  uint64_t *slots;
  size_t cap, count;
  size_t limit;      /* the set grows before count exceeds this (3/4 of cap) */
  size_t peak_bytes; /* the most slot memory held at once, old and new table during a grow */
  int has_zero;
  int mapped; /* 1: slots come from mmap (cap * 8 B rounded up to 2 MiB) */
} uq_set;

/* expected: keys the set should hold without growing (0 is fine). */
int uq_set_init(uq_set *s, size_t expected);
void uq_set_free(uq_set *s);
/* Inserts keys[0..m). */
int uq_set_insert(uq_set *s, const uint64_t *keys, size_t m);

#endif
