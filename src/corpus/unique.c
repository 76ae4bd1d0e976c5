/* Unique sequences U(D) of one stream (SCIENCE.md section 2): exact 64-bit key sets, HyperLogLog
 * sketches, and the one-pass counter over log-spaced prefixes.
 *
 * Keys. An n-gram (or piece) of L tokens is packed as L digits t + 1 of b bits each, b the bits of
 * (largest token + 1). While L b <= 64 the packing is injective (digits are never 0, so different
 * lengths differ too) and the mixer is a bijection: the key identifies the sequence. Longer
 * sequences fall back to a chained hash h_L = mix(h_{L-1} + (t + 1) K). The keys are defined once,
 * in unique_impl.h, for this file and unique_mpi.c.
 *
 * Speed (issue 4). Per position and length the packed key is rolled in O(1) (no chained hash when
 * the packing fits), keys are made in blocks of UQ_CHUNK and inserted with the slot of a later
 * key prefetched, the table lives on transparent huge pages, and for a long exact pass the table
 * is sized once from a HyperLogLog pre-pass over the same keys (no rehash, no old-plus-new peak)
 * at load 0.7 with a capacity that is not rounded up to a power of two. Memory, not arithmetic,
 * limits a first exact count: measured with perf on the development VM, zeroing the fresh huge
 * pages of the table (clear_page, slowed by the host backing the guest's freed memory anew) took
 * as long as all the inserts, so the table was cut from ~20 B to ~12 B per distinct key.
 * None of this changes a key, so the counts and the sketches are those of the plain loop. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "slingshot/corpus.h"
#include "slingshot/error.h"
#include "unique_impl.h"

#define HASH_STEP UQ_HASH_STEP
#define HASH_SEED UQ_HASH_SEED
#define USET_MIN_CAP 64
/* Prefetch distance of uq_set_insert, in keys: enough misses in flight to cover DRAM latency. */
#define UQ_PREFETCH 16
/* uq_set grows unless it has room for this many new keys (or all that remain), so that a set
 * close to its load limit still inserts in long prefetched runs. */
#define UQ_MIN_ROOM ((size_t)256)
/* Tables from this size on are mmap'ed and advised for huge pages. */
#define UQ_MAP_BYTES ((size_t)4 << 20)
#define UQ_HUGE_PAGE ((size_t)2 << 20)
/* An exact pass over at least this many positions is pre-sized from a HyperLogLog pass; the
 * margin covers 6 standard errors of the estimate (p = UQ_PRESIZE_P: 0.8 %). */
#define UQ_PRESIZE_MIN ((size_t)1 << 20)
#define UQ_PRESIZE_P 14
#define UQ_PRESIZE_MARGIN 1.05

uint64_t sl_hash_mix64(uint64_t x) {
  /* Each step (xor-shift, odd multiply) is invertible, so the whole map is a bijection. */
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBull;
  x ^= x >> 31;
  return x;
}

uint64_t sl_hash_tokens(const int32_t *tokens, size_t n) {
  uint64_t h = HASH_SEED ^ sl_hash_mix64((uint64_t)n);
  for (size_t i = 0; i < n; i++)
    h = uq_hash_step(h, tokens[i]);
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

/* ------------------------------------------------------------------ batched exact set */

static size_t uq_map_bytes(size_t cap) {
  return (cap * sizeof(uint64_t) + UQ_HUGE_PAGE - 1) / UQ_HUGE_PAGE * UQ_HUGE_PAGE;
}

/* Zeroed slots for cap keys; *mapped says how to free them. */
static int uq_alloc(size_t cap, uint64_t **slots, int *mapped) {
  SL_CHECK(cap <= SIZE_MAX / sizeof(uint64_t) / 2, SL_ERR_NOMEM, "a set of %zu slots is too large",
           cap);
  *mapped = 0;
  if (cap * sizeof(uint64_t) >= UQ_MAP_BYTES) {
    void *p = mmap(NULL, uq_map_bytes(cap), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                   0); /* anonymous memory is zero */
    if (p != MAP_FAILED) {
#ifdef MADV_HUGEPAGE
      (void)madvise(p, uq_map_bytes(cap), MADV_HUGEPAGE); /* advice: a refusal costs only speed */
#endif
      *slots = p;
      *mapped = 1;
      return SL_OK;
    }
  }
  SL_ALLOC(*slots, cap);
  return SL_OK;
}

static void uq_release(uint64_t *slots, size_t cap, int mapped) {
  if (!slots) return;
  if (mapped)
    munmap(slots, uq_map_bytes(cap));
  else
    free(slots);
}

/* The home slot of key in a table of cap slots: the high word of (key phi) cap. It is monotone in
 * key phi, so a table scanned in order is rehashed in order (the grow below streams). */
static inline size_t uq_slot(uint64_t key, size_t cap) {
  return (size_t)(((unsigned __int128)(key * HASH_STEP) * cap) >> 64);
}

/* Sized for expected keys at load UQ_LOAD_INIT; grows past UQ_LOAD_MAX. */
#define UQ_LOAD_INIT 0.7
#define UQ_LOAD_MAX_NUM 3
#define UQ_LOAD_MAX_DEN 4

static void uq_set_sizes(uq_set *s, size_t cap) {
  s->cap = cap;
  s->limit = cap / UQ_LOAD_MAX_DEN * UQ_LOAD_MAX_NUM;
}

int uq_set_init(uq_set *s, size_t expected) {
  SL_CHECK(s != NULL, SL_ERR_ARG, "set is NULL");
  memset(s, 0, sizeof *s);
  double want = ceil((double)expected / UQ_LOAD_INIT);
  SL_CHECK(want < 0x1p58, SL_ERR_NOMEM, "a set for %zu keys is too large", expected);
  size_t cap = (size_t)want < USET_MIN_CAP ? USET_MIN_CAP : (size_t)want;
  cap = (cap + 7) & ~(size_t)7; /* whole cache lines */
  SL_CALL(uq_alloc(cap, &s->slots, &s->mapped));
  uq_set_sizes(s, cap);
  s->peak_bytes = cap * sizeof(uint64_t);
  return SL_OK;
}

void uq_set_free(uq_set *s) {
  if (!s) return;
  uq_release(s->slots, s->cap, s->mapped);
  memset(s, 0, sizeof *s);
}

static void uq_put(uint64_t *slots, size_t cap, uint64_t key) {
  size_t i = uq_slot(key, cap);
  while (slots[i] != 0)
    i = i + 1 == cap ? 0 : i + 1;
  slots[i] = key;
}

/* Doubling: uq_slot is monotone, so a scan of the old table in order writes the new one nearly
 * in order (keys that wrapped round the end come first and land near the start again). */
static int uq_set_grow(uq_set *s) {
  uint64_t *bigger;
  int mapped;
  const size_t cap2 = 2 * s->cap;
  SL_CALL(uq_alloc(cap2, &bigger, &mapped));
  for (size_t i = 0; i < s->cap; i++)
    if (s->slots[i] != 0) uq_put(bigger, cap2, s->slots[i]);
  const size_t both = (s->cap + cap2) * sizeof(uint64_t);
  if (both > s->peak_bytes) s->peak_bytes = both;
  uq_release(s->slots, s->cap, s->mapped);
  s->slots = bigger;
  s->mapped = mapped;
  uq_set_sizes(s, cap2);
  return SL_OK;
}

int uq_set_insert(uq_set *s, const uint64_t *keys, size_t m) {
  size_t i = 0;
  while (i < m) {
    /* A run that cannot pass the load limit even if every key is new. */
    const size_t want = m - i < UQ_MIN_ROOM ? m - i : UQ_MIN_ROOM;
    while (s->count + want > s->limit)
      SL_CALL(uq_set_grow(s));
    const size_t room = s->limit - s->count;
    const size_t run = m - i < room ? m - i : room;
    uint64_t *slots = s->slots;
    const size_t cap = s->cap;
    const uint64_t *k = keys + i;
    size_t added = 0;
    for (size_t j = 0; j < run && j < UQ_PREFETCH; j++)
      __builtin_prefetch(&slots[uq_slot(k[j], cap)], 1, 1);
    for (size_t j = 0; j < run; j++) {
      if (j + UQ_PREFETCH < run) __builtin_prefetch(&slots[uq_slot(k[j + UQ_PREFETCH], cap)], 1, 1);
      const uint64_t key = k[j];
      if (key == 0) {
        added += !s->has_zero;
        s->has_zero = 1;
        continue;
      }
      size_t at = uq_slot(key, cap);
      while (slots[at] != 0 && slots[at] != key)
        at = at + 1 == cap ? 0 : at + 1;
      if (slots[at] == 0) {
        slots[at] = key;
        added++;
      }
    }
    s->count += added;
    i += run;
  }
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

void uq_ngram_keys(const int32_t *tokens, size_t e_first, size_t m, int L, int bits,
                   uint64_t *out) {
  const size_t len = (size_t)L;
  if (len * (size_t)bits <= 64) {
    const int top = bits * (L - 1);
    uint64_t packed = 0;
    for (size_t i = e_first - len; i + 1 < e_first; i++) /* the first L - 1 digits */
      packed = (packed >> bits) | (((uint64_t)(uint32_t)tokens[i] + 1) << top);
    const int32_t *t = tokens + e_first - 1;
    for (size_t i = 0; i < m; i++) {
      packed = (packed >> bits) | (((uint64_t)(uint32_t)t[i] + 1) << top);
      out[i] = sl_hash_mix64(packed);
    }
    return;
  }
  for (size_t i = 0; i < m; i++) {
    const int32_t *end = tokens + e_first + i;
    uint64_t h = HASH_SEED;
    for (size_t l = 1; l <= len; l++)
      h = uq_hash_step(h, end[-(ptrdiff_t)l]);
    out[i] = h;
  }
}

/* The key of tokens[0..len) read forwards (pieces): packing when it fits, else sl_hash_tokens. */
static uint64_t sequence_key(const int32_t *t, size_t len, int bits) {
  if (len * (size_t)bits <= 64) {
    uint64_t packed = 0;
    for (size_t i = 0; i < len; i++)
      packed = (packed << bits) | ((uint64_t)(uint32_t)t[i] + 1);
    return sl_hash_mix64(packed);
  }
  return sl_hash_tokens(t, len);
}

/* Everything that makes the keys of one stream, for the blocked passes below. */
typedef struct keyer {
  const int32_t *tokens;
  const sl_piece *pieces;    /* NULL: no pieces (unless spans) */
  const int64_t *span_start; /* pieces as spans [start, start + len) instead of sl_piece */
  const int32_t *span_len;
  size_t n_pieces;
  size_t q; /* the next piece not yet keyed */
  int bits;
  int n_lengths;
  const int *lengths;
  int hashed_of[SL_CORPUS_MAX_NGRAM + 1]; /* index of a hashed length (L bits > 64), or -1 */
  int hashed_max;                         /* the longest hashed length, 0 if none */
} keyer;

/* The keys of the n-grams that end in (e0, e1] (e1 - e0 <= UQ_CHUNK), length l into bufs[l],
 * m[l] of them. Packed keys roll; the chained hashes of all hashed lengths share one chain per
 * end (the chain of length L extends that of length L - 1). */
static void keyer_ngrams(const keyer *kr, size_t e0, size_t e1, uint64_t **bufs, size_t *m) {
  size_t first[SL_CORPUS_MAX_NGRAM + 1];
  for (int l = 0; l < kr->n_lengths; l++) {
    const size_t L = (size_t)kr->lengths[l];
    first[l] = e0 + 1 > L ? e0 + 1 : L;
    m[l] = first[l] <= e1 ? e1 - first[l] + 1 : 0;
    if (kr->hashed_of[L] < 0 && m[l] > 0)
      uq_ngram_keys(kr->tokens, first[l], m[l], (int)L, kr->bits, bufs[l]);
  }
  if (kr->hashed_max == 0) return;
  for (size_t e = e0 + 1; e <= e1; e++) {
    const size_t top = (size_t)kr->hashed_max < e ? (size_t)kr->hashed_max : e;
    uint64_t h = HASH_SEED;
    for (size_t L = 1; L <= top; L++) {
      h = uq_hash_step(h, kr->tokens[e - L]);
      const int l = kr->hashed_of[L];
      if (l >= 0) bufs[l][e - first[l]] = h;
    }
  }
}

/* The keys of the pieces that end by e1, in stream order, into out (room for UQ_CHUNK); *m is
 * their number. A piece is keyed once the ends of all the pieces before it are <= e1 too (in a
 * stream pieces never overlap). Pieces that do not fit are left: *m == UQ_CHUNK asks for more. */
static int keyer_pieces(keyer *kr, size_t e1, uint64_t *out, size_t *m) {
  size_t k = 0;
  while (kr->q < kr->n_pieces && k < UQ_CHUNK) {
    const size_t q = kr->q;
    size_t start, end;
    if (kr->span_start) {
      const int64_t s0 = kr->span_start[q];
      const int32_t len = kr->span_len[q];
      SL_CHECK(s0 >= 0 && len >= 1 && (q == 0 || s0 >= kr->span_start[q - 1] + kr->span_len[q - 1]),
               SL_ERR_ARG, "piece %zu (start %lld, length %d) is not in stream order", q,
               (long long)s0, len);
      start = (size_t)s0;
      end = start + (size_t)len;
    } else {
      const sl_piece *pc = &kr->pieces[q];
      SL_CHECK(pc->start >= 0 && pc->arity >= 0 && (q == 0 || pc->start > kr->pieces[q - 1].start),
               SL_ERR_ARG, "piece %zu (start %lld, arity %d) is not in stream order", q,
               (long long)pc->start, pc->arity);
      start = (size_t)pc->start;
      end = start + 2 * (size_t)pc->arity + 2;
    }
    if (end > e1) break;
    out[k++] = sequence_key(kr->tokens + start, end - start, kr->bits);
    kr->q++;
  }
  *m = k;
  return SL_OK;
}

/* One distinct counter, exact or sketched. */
typedef struct counter {
  int use_hll;
  uq_set set;
  sl_hll hll;
} counter;

static void counter_free(counter *c) {
  uq_set_free(&c->set);
  sl_hll_free(&c->hll);
}

static int counter_add(counter *c, const uint64_t *keys, size_t m) {
  if (!c->use_hll) return uq_set_insert(&c->set, keys, m);
  for (size_t i = 0; i < m; i++)
    sl_hll_add(&c->hll, keys[i]);
  return SL_OK;
}

static double counter_value(const counter *c) {
  return c->use_hll ? sl_hll_estimate(&c->hll) : (double)c->set.count;
}

/* One pass over the stream up to the last prefix: counters [0, n_lengths) take the n-grams,
 * [n_lengths] the pieces (if kr->pieces), and their values are read at every prefix. Blocks of
 * at most UQ_CHUNK positions end at every prefix, so the values are those of a position-by-
 * position loop. bufs: n_lengths + 1 arrays of UQ_CHUNK keys. */
static int count_pass(keyer *kr, counter *cnt, const int64_t *prefixes, int n_prefixes,
                      uint64_t **bufs, double *out_pieces, double *out_ngrams) {
  const int n_l = kr->n_lengths;
  size_t m[SL_CORPUS_MAX_NGRAM + 1];
  size_t e0 = 0;
  kr->q = 0;
  for (int j = 0; j < n_prefixes;) {
    const size_t D = (size_t)prefixes[j];
    while (e0 < D) {
      const size_t e1 = D - e0 < UQ_CHUNK ? D : e0 + UQ_CHUNK;
      keyer_ngrams(kr, e0, e1, bufs, m);
      for (int l = 0; l < n_l; l++)
        SL_CALL(counter_add(&cnt[l], bufs[l], m[l]));
      if (kr->pieces || kr->span_start) {
        size_t mp;
        do {
          SL_CALL(keyer_pieces(kr, e1, bufs[n_l], &mp));
          SL_CALL(counter_add(&cnt[n_l], bufs[n_l], mp));
        } while (mp == UQ_CHUNK);
      }
      e0 = e1;
    }
    for (; j < n_prefixes && (size_t)prefixes[j] == D; j++) {
      if (out_pieces) out_pieces[j] = kr->pieces || kr->span_start ? counter_value(&cnt[n_l]) : 0.0;
      for (int l = 0; l < n_l; l++)
        out_ngrams[(size_t)l * (size_t)n_prefixes + (size_t)j] = counter_value(&cnt[l]);
    }
  }
  return SL_OK;
}

static int count_unique(const int32_t *tokens, size_t n, const sl_piece *pieces,
                        const int64_t *span_start, const int32_t *span_len, size_t n_pieces,
                        const int *ngram_lengths, int n_lengths, const int64_t *prefixes,
                        int n_prefixes, int use_hll, int hll_p, double *out_pieces,
                        double *out_ngrams, size_t *peak_bytes) {
  if (peak_bytes) *peak_bytes = 0;
  SL_CHECK(n_lengths >= 0 && n_prefixes >= 0, SL_ERR_ARG,
           "n_lengths = %d and n_prefixes = %d must be >= 0", n_lengths, n_prefixes);
  SL_CHECK(tokens != NULL || n == 0, SL_ERR_ARG, "tokens is NULL");
  SL_CHECK(n_prefixes == 0 || prefixes != NULL, SL_ERR_ARG, "prefixes is NULL");
  SL_CHECK(n_lengths == 0 || (ngram_lengths != NULL && out_ngrams != NULL), SL_ERR_ARG,
           "ngram_lengths or out_ngrams is NULL");
  SL_CHECK((pieces == NULL && span_start == NULL) || out_pieces != NULL, SL_ERR_ARG,
           "pieces given but out_pieces is NULL");
  SL_CHECK((span_start == NULL) == (span_len == NULL) || n_pieces == 0, SL_ERR_ARG,
           "piece spans need both starts and lengths");
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
  int listed[SL_CORPUS_MAX_NGRAM + 1] = {0};
  for (int l = 0; l < n_lengths; l++) {
    int L = ngram_lengths[l];
    SL_CHECK(L >= 1 && L <= SL_CORPUS_MAX_NGRAM, SL_ERR_ARG,
             "n-gram length %d is out of range: lengths must be between 1 and %d", L,
             SL_CORPUS_MAX_NGRAM);
    SL_CHECK(!listed[L], SL_ERR_ARG, "n-gram length %d is listed twice", L);
    listed[L] = 1;
  }
  if (n_prefixes == 0) return SL_OK;
  const size_t d_max = (size_t)prefixes[n_prefixes - 1];

  /* Digit width b for the packing: the bits of (largest token + 1). */
  int32_t t_max = 0, t_min = 0;
  for (size_t i = 0; i < d_max; i++) { /* no early exit: a branch-free max and min vectorise */
    t_max = tokens[i] > t_max ? tokens[i] : t_max;
    t_min = tokens[i] < t_min ? tokens[i] : t_min;
  }
  if (t_min < 0)
    for (size_t i = 0; i < d_max; i++)
      SL_CHECK(tokens[i] >= 0, SL_ERR_ARG, "token %d at position %zu is negative", tokens[i], i);

  keyer kr = {.tokens = tokens,
              .pieces = span_start ? NULL : pieces,
              .span_start = span_start,
              .span_len = span_len,
              .n_pieces = pieces || span_start ? n_pieces : 0,
              .bits = uq_digit_bits((uint64_t)t_max),
              .n_lengths = n_lengths,
              .lengths = ngram_lengths};
  for (int L = 0; L <= SL_CORPUS_MAX_NGRAM; L++)
    kr.hashed_of[L] = -1;
  for (int l = 0; l < n_lengths; l++) {
    const int L = ngram_lengths[l];
    if ((size_t)L * (size_t)kr.bits > 64) {
      kr.hashed_of[L] = l;
      if (L > kr.hashed_max) kr.hashed_max = L;
    }
  }

  /* Counters [0, n_lengths) for the n-grams, [n_lengths] for the pieces; one key buffer each. */
  const int n_cnt = n_lengths + 1;
  int err = SL_OK;
  counter *cnt = sl_calloc((size_t)n_cnt, sizeof *cnt), *pre = NULL;
  uint64_t *bufs[SL_CORPUS_MAX_NGRAM + 1] = {NULL};
  uint64_t *buf_all = malloc((size_t)n_cnt * UQ_CHUNK * sizeof *buf_all);
  SL_CHECK_GOTO(cnt && buf_all, SL_ERR_NOMEM, done, "out of memory for %d counters", n_cnt);
  for (int c = 0; c < n_cnt; c++)
    bufs[c] = buf_all + (size_t)c * UQ_CHUNK;
  double expected[SL_CORPUS_MAX_NGRAM + 1] = {0};
  if (!use_hll && d_max >= UQ_PRESIZE_MIN) {
    /* Sketch every counter's keys once, then size each set for its estimate. */
    pre = sl_calloc((size_t)n_cnt, sizeof *pre);
    SL_CHECK_GOTO(pre != NULL, SL_ERR_NOMEM, done, "out of memory for %d sketches", n_cnt);
    for (int c = 0; c < n_cnt; c++) {
      pre[c].use_hll = 1;
      SL_CALL_GOTO(sl_hll_init(&pre[c].hll, UQ_PRESIZE_P), done);
    }
    SL_CALL_GOTO(
        count_pass(&kr, pre, &prefixes[n_prefixes - 1], 1, bufs, &expected[n_lengths], expected),
        done);
  }
  for (int c = 0; c < n_cnt; c++) {
    cnt[c].use_hll = use_hll;
    if (use_hll)
      SL_CALL_GOTO(sl_hll_init(&cnt[c].hll, hll_p), done);
    else
      SL_CALL_GOTO(uq_set_init(&cnt[c].set, (size_t)(UQ_PRESIZE_MARGIN * expected[c])), done);
  }
  SL_CALL_GOTO(count_pass(&kr, cnt, prefixes, n_prefixes, bufs, out_pieces, out_ngrams), done);
  if (peak_bytes) {
    /* The sets coexist: the sum of their peaks bounds their joint peak; plus the key blocks and
     * the pre-pass sketches. */
    size_t b = (size_t)n_cnt * UQ_CHUNK * sizeof *buf_all;
    for (int c = 0; c < n_cnt; c++)
      b += use_hll ? cnt[c].hll.m : cnt[c].set.peak_bytes + (pre ? pre[c].hll.m : 0);
    *peak_bytes = b;
  }
done:
  for (int c = 0; c < n_cnt; c++) {
    if (cnt) counter_free(&cnt[c]);
    if (pre) counter_free(&pre[c]);
  }
  free(cnt);
  free(pre);
  free(buf_all);
  return err;
}

int sl_corpus_count_unique(const int32_t *tokens, size_t n, const sl_piece *pieces, size_t n_pieces,
                           const int *ngram_lengths, int n_lengths, const int64_t *prefixes,
                           int n_prefixes, int use_hll, int hll_p, double *out_pieces,
                           double *out_ngrams) {
  return count_unique(tokens, n, pieces, NULL, NULL, n_pieces, ngram_lengths, n_lengths, prefixes,
                      n_prefixes, use_hll, hll_p, out_pieces, out_ngrams, NULL);
}

int sl_corpus_count_unique_spans(const int32_t *tokens, size_t n, const int64_t *span_start,
                                 const int32_t *span_len, size_t n_spans, const int *ngram_lengths,
                                 int n_lengths, const int64_t *prefixes, int n_prefixes,
                                 int use_hll, int hll_p, double *out_pieces, double *out_ngrams,
                                 size_t *peak_bytes) {
  return count_unique(tokens, n, NULL, span_start, span_len, n_spans, ngram_lengths, n_lengths,
                      prefixes, n_prefixes, use_hll, hll_p, out_pieces, out_ngrams, peak_bytes);
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
