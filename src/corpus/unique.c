/* Unique sequences U(D) of one stream (SCIENCE.md section 2): exact 64-bit key sets, HyperLogLog
 * sketches, and the one-pass counter over log-spaced prefixes.
 *
 * Keys. An n-gram (or piece) of L tokens is packed as L digits t + 1 of b bits each, b the bits of
 * (largest token + 1). While L b <= 64 the packing is injective (digits are never 0, so different
 * lengths differ too) and the mixer is a bijection: the key identifies the sequence. Longer
 * sequences fall back to a chained hash h_L = mix(h_{L-1} + (t + 1) K). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/corpus.h"
#include "slingshot/error.h"

#define HASH_STEP 0x9E3779B97F4A7C15ull
#define HASH_SEED 0x243F6A8885A308D3ull
#define USET_MIN_CAP 64

uint64_t sl_hash_mix64(uint64_t x) {
  /* Each step (xor-shift, odd multiply) is invertible, so the whole map is a bijection. */
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBull;
  x ^= x >> 31;
  return x;
}

static inline uint64_t hash_step(uint64_t h, int32_t t) {
  return sl_hash_mix64(h + ((uint64_t)(uint32_t)t + 1) * HASH_STEP);
}

uint64_t sl_hash_tokens(const int32_t *tokens, size_t n) {
  uint64_t h = HASH_SEED ^ sl_hash_mix64((uint64_t)n);
  for (size_t i = 0; i < n; i++)
    h = hash_step(h, tokens[i]);
  return h;
}

/* ------------------------------------------------------------------ exact set */

static inline size_t uset_slot(uint64_t key, int shift) {
  return (size_t)((key * HASH_STEP) >> shift); /* Fibonacci hashing: top bits of key * phi */
}

static int uset_alloc(sl_uset *s, size_t cap) {
  SL_ALLOC(s->slots, cap);
  s->cap = cap;
  return SL_OK;
}

int sl_uset_init(sl_uset *s, size_t expected) {
  SL_CHECK(s != NULL, SL_ERR_ARG, "set is NULL");
  memset(s, 0, sizeof *s);
  size_t cap = USET_MIN_CAP;
  while (cap < 2 * expected && cap < ((size_t)1 << 62))
    cap *= 2;
  SL_CALL(uset_alloc(s, cap));
  return SL_OK;
}

void sl_uset_free(sl_uset *s) {
  if (!s) return;
  free(s->slots);
  memset(s, 0, sizeof *s);
}

static void uset_put(uint64_t *slots, size_t cap, uint64_t key) {
  const int shift = 64 - __builtin_ctzll((unsigned long long)cap);
  size_t i = uset_slot(key, shift), mask = cap - 1;
  while (slots[i] != 0)
    i = (i + 1) & mask;
  slots[i] = key;
}

static int uset_grow(sl_uset *s) {
  sl_uset bigger = *s;
  bigger.slots = NULL;
  SL_CALL(uset_alloc(&bigger, 2 * s->cap));
  for (size_t i = 0; i < s->cap; i++)
    if (s->slots[i] != 0) uset_put(bigger.slots, bigger.cap, s->slots[i]);
  free(s->slots);
  *s = bigger;
  return SL_OK;
}

int sl_uset_insert(sl_uset *s, uint64_t key, int *added) {
  int is_new = 0;
  if (key == 0) {
    is_new = !s->has_zero;
    s->has_zero = 1;
  } else {
    if (2 * (s->count + 1) > s->cap) SL_CALL(uset_grow(s)); /* load stays below 1/2 */
    const int shift = 64 - __builtin_ctzll((unsigned long long)s->cap);
    size_t i = uset_slot(key, shift), mask = s->cap - 1;
    while (s->slots[i] != 0 && s->slots[i] != key)
      i = (i + 1) & mask;
    if (s->slots[i] == 0) {
      s->slots[i] = key;
      is_new = 1;
    }
  }
  s->count += (size_t)is_new;
  if (added) *added = is_new;
  return SL_OK;
}

/* ------------------------------------------------------------------ HyperLogLog */

int sl_hll_init(sl_hll *h, int p) {
  SL_CHECK(h != NULL, SL_ERR_ARG, "sketch is NULL");
  SL_CHECK(p >= SL_HLL_MIN_P && p <= SL_HLL_MAX_P, SL_ERR_ARG,
           "HyperLogLog precision p = %d is out of range: p must be between %d and %d", p,
           SL_HLL_MIN_P, SL_HLL_MAX_P);
  h->p = p;
  h->m = (size_t)1 << p;
  SL_ALLOC(h->reg, h->m);
  return SL_OK;
}

void sl_hll_free(sl_hll *h) {
  if (!h) return;
  free(h->reg);
  h->reg = NULL;
  h->m = 0;
}

void sl_hll_add(sl_hll *h, uint64_t hash) {
  /* Top p bits pick the register; the rank is the position of the first 1 in the other bits. */
  const size_t idx = (size_t)(hash >> (64 - h->p));
  const uint64_t w = hash << h->p;
  const uint8_t rank = w == 0 ? (uint8_t)(64 - h->p + 1) : (uint8_t)(__builtin_clzll(w) + 1);
  if (rank > h->reg[idx]) h->reg[idx] = rank;
}

double sl_hll_estimate(const sl_hll *h) {
  /* Flajolet, Fusy, Gandouet and Meunier (2007): E = alpha_m m^2 / sum_j 2^-M_j; below 5m/2 with
   * empty registers, linear counting m ln(m / V). With 64-bit hashes no large-range correction. */
  const double m = (double)h->m;
  double sum = 0;
  size_t zeros = 0;
  for (size_t j = 0; j < h->m; j++) {
    sum += ldexp(1.0, -(int)h->reg[j]);
    zeros += h->reg[j] == 0;
  }
  double alpha = h->p == 4   ? 0.673
                 : h->p == 5 ? 0.697
                 : h->p == 6 ? 0.709
                             : 0.7213 / (1 + 1.079 / m);
  double e = alpha * m * m / sum;
  if (e <= 2.5 * m && zeros > 0) e = m * log(m / (double)zeros);
  return e;
}

int sl_hll_merge(sl_hll *dst, const sl_hll *src) {
  SL_CHECK(dst != NULL && src != NULL, SL_ERR_ARG, "sketch is NULL");
  SL_CHECK(dst->p == src->p, SL_ERR_ARG,
           "cannot merge HyperLogLog sketches of different precision (p = %d and %d)", dst->p,
           src->p);
  for (size_t j = 0; j < dst->m; j++)
    if (src->reg[j] > dst->reg[j]) dst->reg[j] = src->reg[j];
  return SL_OK;
}

double sl_hll_rel_stderr(int p) {
  return 1.04 / sqrt(ldexp(1.0, p));
}

/* ------------------------------------------------------------------ U(D) */

/* One distinct counter, exact or sketched. */
typedef struct counter {
  int use_hll;
  sl_uset set;
  sl_hll hll;
} counter;

static int counter_init(counter *c, int use_hll, int p) {
  c->use_hll = use_hll;
  if (use_hll)
    SL_CALL(sl_hll_init(&c->hll, p));
  else
    SL_CALL(sl_uset_init(&c->set, 0));
  return SL_OK;
}

static void counter_free(counter *c) {
  sl_uset_free(&c->set);
  sl_hll_free(&c->hll);
}

static inline int counter_add(counter *c, uint64_t key) {
  if (c->use_hll) {
    sl_hll_add(&c->hll, key);
    return SL_OK;
  }
  return sl_uset_insert(&c->set, key, NULL);
}

static double counter_value(const counter *c) {
  return c->use_hll ? sl_hll_estimate(&c->hll) : (double)c->set.count;
}

/* The key of tokens[0..len): injective packing when it fits in 64 bits, else a hash. */
static uint64_t sequence_key(const int32_t *t, size_t len, int bits) {
  if (len * (size_t)bits <= 64) {
    uint64_t packed = 0;
    for (size_t i = 0; i < len; i++)
      packed = (packed << bits) | ((uint64_t)(uint32_t)t[i] + 1);
    return sl_hash_mix64(packed);
  }
  return sl_hash_tokens(t, len);
}

int sl_corpus_count_unique(const int32_t *tokens, size_t n, const sl_piece *pieces, size_t n_pieces,
                           const int *ngram_lengths, int n_lengths, const int64_t *prefixes,
                           int n_prefixes, int use_hll, int hll_p, double *out_pieces,
                           double *out_ngrams) {
  SL_CHECK(n_lengths >= 0 && n_prefixes >= 0, SL_ERR_ARG,
           "n_lengths = %d and n_prefixes = %d must be >= 0", n_lengths, n_prefixes);
  SL_CHECK(tokens != NULL || n == 0, SL_ERR_ARG, "tokens is NULL");
  SL_CHECK(n_prefixes == 0 || prefixes != NULL, SL_ERR_ARG, "prefixes is NULL");
  SL_CHECK(n_lengths == 0 || (ngram_lengths != NULL && out_ngrams != NULL), SL_ERR_ARG,
           "ngram_lengths or out_ngrams is NULL");
  SL_CHECK(pieces == NULL || out_pieces != NULL, SL_ERR_ARG, "pieces given but out_pieces is NULL");
  if (use_hll)
    SL_CHECK(hll_p >= SL_HLL_MIN_P && hll_p <= SL_HLL_MAX_P, SL_ERR_ARG,
             "HyperLogLog precision p = %d is out of range: p must be between %d and %d", hll_p,
             SL_HLL_MIN_P, SL_HLL_MAX_P);
  for (int j = 0; j < n_prefixes; j++) {
    SL_CHECK(prefixes[j] >= 0 && (uint64_t)prefixes[j] <= n, SL_ERR_ARG,
             "prefix %d = %lld is out of range: prefixes must lie in [0, n = %zu]", j,
             (long long)prefixes[j], n);
    SL_CHECK(j == 0 || prefixes[j] >= prefixes[j - 1], SL_ERR_ARG,
             "prefixes must be sorted ascending: prefix %d = %lld < prefix %d = %lld", j,
             (long long)prefixes[j], j - 1, (long long)prefixes[j - 1]);
  }
  /* slot_of[L] = index of length L in ngram_lengths, or -1. */
  int slot_of[SL_CORPUS_MAX_NGRAM + 1];
  int l_max = 0;
  for (int L = 0; L <= SL_CORPUS_MAX_NGRAM; L++)
    slot_of[L] = -1;
  for (int l = 0; l < n_lengths; l++) {
    int L = ngram_lengths[l];
    SL_CHECK(L >= 1 && L <= SL_CORPUS_MAX_NGRAM, SL_ERR_ARG,
             "n-gram length %d is out of range: lengths must be between 1 and %d", L,
             SL_CORPUS_MAX_NGRAM);
    SL_CHECK(slot_of[L] < 0, SL_ERR_ARG, "n-gram length %d is listed twice", L);
    slot_of[L] = l;
    if (L > l_max) l_max = L;
  }
  if (n_prefixes == 0) return SL_OK;
  const size_t d_max = (size_t)prefixes[n_prefixes - 1];

  /* Digit width b for the packing: the bits of (largest token + 1). */
  int32_t t_max = 0;
  for (size_t i = 0; i < d_max; i++) {
    SL_CHECK(tokens[i] >= 0, SL_ERR_ARG, "token %d at position %zu is negative", tokens[i], i);
    if (tokens[i] > t_max) t_max = tokens[i];
  }
  int bits = 1; /* at most 32: tokens are int32 */
  while (((uint64_t)t_max + 1) >> bits != 0)
    bits++;

  int err = SL_OK;
  counter *cnt = sl_calloc((size_t)n_lengths + 1, sizeof *cnt); /* [n_lengths] = pieces */
  SL_CHECK(cnt != NULL, SL_ERR_NOMEM, "out of memory for %d counters", n_lengths + 1);
  for (int l = 0; l <= n_lengths; l++)
    SL_CALL_GOTO(counter_init(&cnt[l], use_hll, hll_p), done);
  counter *cp = &cnt[n_lengths];

  int j = 0;
  size_t q = 0;
  for (; j < n_prefixes && prefixes[j] == 0; j++) {
    if (out_pieces) out_pieces[j] = 0;
    for (int l = 0; l < n_lengths; l++)
      out_ngrams[(size_t)l * (size_t)n_prefixes + (size_t)j] = 0;
  }
  for (size_t e = 1; e <= d_max; e++) {
    /* The n-grams that end at e, all lengths at once, read backwards from e - 1: the packing
     * and the hash of the reversed sequence identify the n-gram as well as the forward ones. */
    uint64_t packed = 0, h = HASH_SEED;
    const size_t top = (size_t)l_max < e ? (size_t)l_max : e;
    for (size_t L = 1; L <= top; L++) {
      const int32_t t = tokens[e - L];
      if (L * (size_t)bits <= 64) packed = (packed << bits) | ((uint64_t)t + 1);
      h = hash_step(h, t);
      const int l = slot_of[L];
      if (l >= 0) {
        const uint64_t key = L * (size_t)bits <= 64 ? sl_hash_mix64(packed) : h;
        SL_CALL_GOTO(counter_add(&cnt[l], key), done);
      }
    }
    /* The pieces that end at e (their ends increase along the stream). */
    while (pieces && q < n_pieces) {
      const sl_piece *pc = &pieces[q];
      SL_CHECK_GOTO(pc->start >= 0 && pc->arity >= 0 && (q == 0 || pc->start > pieces[q - 1].start),
                    SL_ERR_ARG, done, "piece %zu (start %lld, arity %d) is not in stream order", q,
                    (long long)pc->start, pc->arity);
      const size_t end = (size_t)pc->start + 2 * (size_t)pc->arity + 2;
      if (end > e) break;
      SL_CALL_GOTO(counter_add(cp, sequence_key(tokens + pc->start, end - (size_t)pc->start, bits)),
                   done);
      q++;
    }
    for (; j < n_prefixes && (size_t)prefixes[j] == e; j++) {
      if (out_pieces) out_pieces[j] = pieces ? counter_value(cp) : 0.0;
      for (int l = 0; l < n_lengths; l++)
        out_ngrams[(size_t)l * (size_t)n_prefixes + (size_t)j] = counter_value(&cnt[l]);
    }
  }
done:
  for (int l = 0; l <= n_lengths; l++)
    counter_free(&cnt[l]);
  free(cnt);
  return err;
}

int sl_corpus_log_prefixes(int64_t d, int count, int64_t min, int64_t *out) {
  SL_CHECK(out != NULL, SL_ERR_ARG, "out is NULL");
  SL_CHECK(count >= 1, SL_ERR_ARG, "prefix count = %d must be >= 1", count);
  SL_CHECK(min >= 1 && min <= d, SL_ERR_ARG,
           "smallest prefix min = %lld is out of range: it must be between 1 and d = %lld",
           (long long)min, (long long)d);
  SL_CHECK(d - min >= (int64_t)count - 1, SL_ERR_ARG,
           "cannot fit %d distinct prefixes between min = %lld and d = %lld", count, (long long)min,
           (long long)d);
  if (count == 1) {
    out[0] = d;
    return SL_OK;
  }
  const double ratio = log((double)d / (double)min);
  for (int i = 0; i < count; i++) {
    int64_t v = (int64_t)llround((double)min * exp(ratio * i / (count - 1)));
    if (v < min) v = min;
    if (v > d) v = d;
    if (i > 0 && v <= out[i - 1]) v = out[i - 1] + 1; /* rounding collisions at the small end */
    out[i] = v;
  }
  out[count - 1] = d;
  for (int i = count - 2; i >= 0; i--) /* keep the big end strictly increasing too */
    if (out[i] >= out[i + 1]) out[i] = out[i + 1] - 1;
  out[0] = min; /* exact ends; the room check above makes this consistent */
  return SL_OK;
}
