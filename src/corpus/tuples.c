/* The record of seen skill tuples (include/slingshot/tuples.h, SCIENCE.md sections 0 and 1).
 *
 * Legend: S skills, K largest tuple size, k tuple size, k_p a piece's arity.
 *
 * One map per k: open addressing with linear probing, load <= 1/2, slot = top bits of
 * mix(key) (key 0 never occurs: packed digits are s + 1 >= 1, and a hash of 0 is moved to 1). */
#include <stdlib.h>
#include <string.h>

#include "slingshot/corpus.h"
#include "slingshot/error.h"
#include "slingshot/tuples.h"

#define TUPLES_MIN_CAP 64
#define TUPLES_HASH_STEP 0x9E3779B97F4A7C15ull
#define TUPLES_HASH_SEED 0x7A3D1C5B9E8F2461ull
/* A tuple's skills are stored as 16-bit values: S <= SL_SKILLS_MAX_SIZE = 65536. */
typedef uint16_t tskill;

typedef struct tmap {
  int k;
  size_t cap, count;
  uint64_t *keys;   /* [cap], 0 = empty */
  uint64_t *counts; /* [cap] */
  tskill *tup;      /* [cap * k] sorted skills */
} tmap;

struct sl_tuples {
  int S, K;
  int bits;     /* digit width: the bits of S */
  int64_t D;    /* prefix covered */
  size_t added; /* pieces added */
  int64_t last_start;
  tmap map[SL_MAX_ARITY + 1]; /* map[k], k = 1..K */
};

/* ------------------------------------------------------------------ keys and the map */

static void sort_small(int *t, int k) { /* insertion sort: k <= SL_MAX_ARITY */
  for (int i = 1; i < k; i++) {
    const int v = t[i];
    int j = i - 1;
    while (j >= 0 && t[j] > v) {
      t[j + 1] = t[j];
      j--;
    }
    t[j + 1] = v;
  }
}

/* The key of a sorted tuple: the packing while k bits <= 64, else a chained hash (never 0). */
static uint64_t tuple_key(const int *t, int k, int bits) {
  if ((size_t)k * (size_t)bits <= 64) {
    uint64_t packed = 0;
    for (int i = 0; i < k; i++)
      packed = (packed << bits) | (uint64_t)(t[i] + 1);
    return packed;
  }
  uint64_t h = TUPLES_HASH_SEED;
  for (int i = 0; i < k; i++)
    h = sl_hash_mix64(h + (uint64_t)(t[i] + 1) * TUPLES_HASH_STEP);
  return h != 0 ? h : 1;
}

static inline size_t tmap_slot(uint64_t key, size_t cap) {
  return (size_t)(sl_hash_mix64(key) >> (64 - __builtin_ctzll((unsigned long long)cap)));
}

static int tmap_alloc(tmap *m, int k, size_t cap) {
  m->k = k;
  m->cap = cap;
  m->count = 0;
  SL_ALLOC(m->keys, cap);
  SL_ALLOC(m->counts, cap);
  SL_ALLOC(m->tup, cap * (size_t)k);
  return SL_OK;
}

static void tmap_free(tmap *m) {
  free(m->keys);
  free(m->counts);
  free(m->tup);
  memset(m, 0, sizeof *m);
}

static int tuple_equal(const tskill *a, const int *t, int k) {
  for (int i = 0; i < k; i++)
    if (a[i] != (tskill)t[i]) return 0;
  return 1;
}

/* The slot holding tuple t (key), or the empty slot where it would go. */
static size_t tmap_find(const tmap *m, uint64_t key, const int *t) {
  const size_t mask = m->cap - 1;
  size_t i = tmap_slot(key, m->cap);
  while (m->keys[i] != 0 && !(m->keys[i] == key && tuple_equal(&m->tup[i * (size_t)m->k], t, m->k)))
    i = (i + 1) & mask;
  return i;
}

static int tmap_grow(tmap *m) {
  tmap big;
  memset(&big, 0, sizeof big);
  int err = SL_OK;
  SL_CALL_GOTO(tmap_alloc(&big, m->k, 2 * m->cap), fail);
  const size_t k = (size_t)m->k;
  for (size_t i = 0; i < m->cap; i++) {
    if (m->keys[i] == 0) continue;
    size_t j = tmap_slot(m->keys[i], big.cap);
    while (big.keys[j] != 0) /* every key is distinct here: no comparison needed */
      j = (j + 1) & (big.cap - 1);
    big.keys[j] = m->keys[i];
    big.counts[j] = m->counts[i];
    memcpy(&big.tup[j * k], &m->tup[i * k], k * sizeof *big.tup);
  }
  big.count = m->count;
  tmap_free(m);
  *m = big;
  return SL_OK;
fail:
  tmap_free(&big);
  return err;
}

static int tmap_add(tmap *m, const int *t, int bits) {
  if (2 * (m->count + 1) > m->cap) SL_CALL(tmap_grow(m));
  const uint64_t key = tuple_key(t, m->k, bits);
  const size_t i = tmap_find(m, key, t);
  if (m->keys[i] == 0) {
    m->keys[i] = key;
    for (int j = 0; j < m->k; j++)
      m->tup[i * (size_t)m->k + (size_t)j] = (tskill)t[j];
    m->count++;
  }
  m->counts[i]++;
  return SL_OK;
}

/* ------------------------------------------------------------------ the record */

int sl_tuples_create(int S, int K, sl_tuples **out) {
  SL_CHECK(out != NULL, SL_ERR_ARG, "out is NULL");
  *out = NULL;
  SL_CHECK(S >= 1 && S <= SL_SKILLS_MAX_SIZE, SL_ERR_ARG,
           "skill count S = %d is out of range: it must be between 1 and %d", S,
           SL_SKILLS_MAX_SIZE);
  SL_CHECK(K >= 1 && K <= SL_MAX_ARITY, SL_ERR_ARG,
           "largest tuple size K = %d is out of range: it must be between 1 and %d", K,
           SL_MAX_ARITY);
  sl_tuples *T = sl_calloc(1, sizeof *T);
  SL_CHECK(T != NULL, SL_ERR_NOMEM, "out of memory for the tuple record");
  T->S = S;
  T->K = K;
  T->last_start = -1;
  T->bits = 1;
  while (((uint64_t)S >> T->bits) != 0)
    T->bits++;
  int err = SL_OK;
  for (int k = 1; k <= K; k++)
    SL_CALL_GOTO(tmap_alloc(&T->map[k], k, TUPLES_MIN_CAP), fail);
  *out = T;
  return SL_OK;
fail:
  sl_tuples_destroy(T);
  return err;
}

void sl_tuples_destroy(sl_tuples *T) {
  if (!T) return;
  for (int k = 1; k <= SL_MAX_ARITY; k++)
    tmap_free(&T->map[k]);
  free(T);
}

/* Adds the k-subsets of the piece's (sorted) skills s[0..kp) for k = 1..min(kp, K). The subsets
 * are walked as index combinations c[0] < ... < c[k-1] in lexicographic order. */
static int add_piece(sl_tuples *T, const int *s, int kp) {
  const int top = kp < T->K ? kp : T->K;
  for (int k = 1; k <= top; k++) {
    int c[SL_MAX_ARITY], t[SL_MAX_ARITY];
    for (int i = 0; i < k; i++)
      c[i] = i;
    for (;;) {
      for (int i = 0; i < k; i++)
        t[i] = s[c[i]];
      SL_CALL(tmap_add(&T->map[k], t, T->bits));
      int i = k - 1; /* the rightmost index that can still move */
      while (i >= 0 && c[i] == kp - k + i)
        i--;
      if (i < 0) break;
      c[i]++;
      for (int j = i + 1; j < k; j++)
        c[j] = c[j - 1] + 1;
    }
  }
  return SL_OK;
}

int sl_tuples_add(sl_tuples *T, const sl_piece *pieces, size_t n_pieces, int64_t D) {
  SL_CHECK(T != NULL, SL_ERR_ARG, "tuple record is NULL");
  SL_CHECK(pieces != NULL || n_pieces == 0, SL_ERR_ARG, "pieces is NULL");
  SL_CHECK(D >= T->D, SL_ERR_ARG,
           "prefix D = %lld is below the %lld tokens already recorded: prefixes only grow",
           (long long)D, (long long)T->D);
  SL_CHECK(n_pieces >= T->added, SL_ERR_ARG,
           "%zu pieces passed but %zu already recorded: pass the same stream's pieces", n_pieces,
           T->added);
  while (T->added < n_pieces) {
    const size_t q = T->added;
    const sl_piece *pc = &pieces[q];
    SL_CHECK(pc->arity >= 0 && pc->arity <= SL_MAX_ARITY && pc->start > T->last_start, SL_ERR_ARG,
             "piece %zu (start %lld, arity %d) is not in stream order or has an arity outside "
             "0..%d",
             q, (long long)pc->start, pc->arity, SL_MAX_ARITY);
    if (pc->start + 2 * (int64_t)pc->arity + 2 > D) break; /* not wholly inside the prefix */
    int s[SL_MAX_ARITY];
    for (int i = 0; i < pc->arity; i++) {
      s[i] = pc->skills[i];
      SL_CHECK(s[i] >= 0 && s[i] < T->S, SL_ERR_ARG,
               "piece %zu has skill %d out of range: skills must lie in [0, S = %d)", q, s[i],
               T->S);
    }
    sort_small(s, pc->arity);
    for (int i = 1; i < pc->arity; i++)
      SL_CHECK(s[i] != s[i - 1], SL_ERR_ARG, "piece %zu uses skill %d twice", q, s[i]);
    SL_CALL(add_piece(T, s, pc->arity));
    T->last_start = pc->start;
    T->added++;
  }
  T->D = D;
  return SL_OK;
}

int sl_tuples_extent(const sl_tuples *T, int64_t *D, size_t *n_pieces) {
  SL_CHECK(T != NULL, SL_ERR_ARG, "tuple record is NULL");
  if (D) *D = T->D;
  if (n_pieces) *n_pieces = T->added;
  return SL_OK;
}

/* Checks a query tuple and writes it sorted to t. */
static int query_tuple(const sl_tuples *T, const int *tuple, int k, int *t) {
  SL_CHECK(k >= 1 && k <= T->K, SL_ERR_ARG,
           "tuple size %d is out of range: this record holds sizes 1 to K = %d", k, T->K);
  SL_CHECK(tuple != NULL, SL_ERR_ARG, "tuple is NULL");
  for (int i = 0; i < k; i++) {
    t[i] = tuple[i];
    SL_CHECK(t[i] >= 0 && t[i] < T->S, SL_ERR_ARG,
             "skill %d out of range: skills must lie in [0, S = %d)", t[i], T->S);
  }
  sort_small(t, k);
  for (int i = 1; i < k; i++)
    SL_CHECK(t[i] != t[i - 1], SL_ERR_ARG, "skill %d appears twice in the tuple", t[i]);
  return SL_OK;
}

static uint64_t lookup(const sl_tuples *T, const int *t, int k) {
  const tmap *m = &T->map[k];
  const size_t i = tmap_find(m, tuple_key(t, k, T->bits), t);
  return m->keys[i] != 0 ? m->counts[i] : 0;
}

int sl_tuples_count(const sl_tuples *T, const int *tuple, int k, uint64_t *count) {
  SL_CHECK(T != NULL && count != NULL, SL_ERR_ARG, "tuple record or count is NULL");
  int t[SL_MAX_ARITY];
  SL_CALL(query_tuple(T, tuple, k, t));
  *count = lookup(T, t, k);
  return SL_OK;
}

/* C(S, k) as a double (exact below 2^53). */
static double binomial(int S, int k) {
  double c = 1;
  for (int i = 0; i < k; i++)
    c = c * (double)(S - i) / (double)(i + 1);
  return c;
}

int sl_tuples_distinct(const sl_tuples *T, int k, size_t *seen, double *possible) {
  SL_CHECK(T != NULL && seen != NULL, SL_ERR_ARG, "tuple record or seen is NULL");
  SL_CHECK(k >= 1 && k <= T->K, SL_ERR_ARG,
           "tuple size %d is out of range: this record holds sizes 1 to K = %d", k, T->K);
  *seen = T->map[k].count;
  if (possible) *possible = k <= T->S ? binomial(T->S, k) : 0.0;
  return SL_OK;
}

/* A seen tuple with its count, padded with zeros past k so that rows of one size compare in
 * full. */
typedef struct trow {
  tskill s[SL_MAX_ARITY];
  uint64_t count;
} trow;

static int trow_cmp(const void *a, const void *b) {
  const trow *x = a, *y = b;
  for (int i = 0; i < SL_MAX_ARITY; i++)
    if (x->s[i] != y->s[i]) return x->s[i] < y->s[i] ? -1 : 1;
  return 0;
}

int sl_tuples_list(const sl_tuples *T, int k, int *tuples, uint64_t *counts, size_t max,
                   size_t *n) {
  SL_CHECK(T != NULL && n != NULL, SL_ERR_ARG, "tuple record or n is NULL");
  SL_CHECK(k >= 1 && k <= T->K, SL_ERR_ARG,
           "tuple size %d is out of range: this record holds sizes 1 to K = %d", k, T->K);
  const tmap *m = &T->map[k];
  *n = m->count;
  SL_CHECK(max >= m->count, SL_ERR_ARG,
           "room for %zu tuples but %zu distinct tuples of size %d are seen", max, m->count, k);
  if (m->count == 0) return SL_OK;
  SL_CHECK(tuples != NULL, SL_ERR_ARG, "tuples is NULL");
  trow *rows = sl_calloc(m->count, sizeof *rows);
  SL_CHECK(rows != NULL, SL_ERR_NOMEM, "out of memory listing %zu tuples", m->count);
  size_t r = 0;
  for (size_t i = 0; i < m->cap; i++) {
    if (m->keys[i] == 0) continue;
    memcpy(rows[r].s, &m->tup[i * (size_t)k], (size_t)k * sizeof(tskill));
    rows[r++].count = m->counts[i];
  }
  qsort(rows, m->count, sizeof *rows, trow_cmp);
  for (size_t i = 0; i < m->count; i++) {
    for (int j = 0; j < k; j++)
      tuples[i * (size_t)k + (size_t)j] = rows[i].s[j];
    if (counts) counts[i] = rows[i].count;
  }
  free(rows);
  return SL_OK;
}

/* A uniform k-subset of [0, S), sorted: k distinct uniform draws (rejecting repeats). */
static void draw_subset(sl_rng *rng, int S, int k, int *t) {
  for (int i = 0; i < k; i++) {
    int s, fresh;
    do {
      s = (int)sl_rng_below(rng, (uint64_t)S);
      fresh = 1;
      for (int j = 0; j < i; j++)
        fresh &= t[j] != s;
    } while (!fresh);
    t[i] = s;
  }
  sort_small(t, k);
}

int sl_tuples_sample_unseen(const sl_tuples *T, int k, sl_rng *rng, size_t n, int *out) {
  SL_CHECK(T != NULL && rng != NULL && (out != NULL || n == 0), SL_ERR_ARG,
           "tuple record, rng or out is NULL");
  SL_CHECK(k >= 1 && k <= T->K, SL_ERR_ARG,
           "tuple size %d is out of range: this record holds sizes 1 to K = %d", k, T->K);
  SL_CHECK(k <= T->S, SL_ERR_ARG, "no tuple of %d distinct skills exists among S = %d", k, T->S);
  const double possible = binomial(T->S, k), seen = (double)T->map[k].count;
  SL_CHECK(seen < possible, SL_ERR_ARG,
           "every one of the %.0f tuples of size %d is seen: none is left to sample", possible, k);
  if ((possible - seen) * SL_TUPLES_REJECT_MAX >= possible) {
    /* Rejection: a uniform k-subset conditioned on unseen is uniform over the unseen ones. */
    for (size_t i = 0; i < n; i++) {
      int *t = out + i * (size_t)k;
      do
        draw_subset(rng, T->S, k, t);
      while (lookup(T, t, k) != 0);
    }
    return SL_OK;
  }
  /* Few unseen: list them (possible < SL_TUPLES_REJECT_MAX / (SL_TUPLES_REJECT_MAX - 1) seen, so
   * the walk over all k-subsets is about as long as the record). */
  const size_t n_unseen = (size_t)(possible - seen);
  int *list = malloc(n_unseen * (size_t)k * sizeof *list);
  SL_CHECK(list != NULL, SL_ERR_NOMEM, "out of memory listing %zu unseen tuples", n_unseen);
  int c[SL_MAX_ARITY];
  for (int i = 0; i < k; i++)
    c[i] = i;
  size_t u = 0;
  for (;;) {
    if (lookup(T, c, k) == 0 && u < n_unseen) {
      memcpy(&list[u * (size_t)k], c, (size_t)k * sizeof *c);
      u++;
    }
    int i = k - 1;
    while (i >= 0 && c[i] == T->S - k + i)
      i--;
    if (i < 0) break;
    c[i]++;
    for (int j = i + 1; j < k; j++)
      c[j] = c[j - 1] + 1;
  }
  int err = SL_OK;
  SL_CHECK_GOTO(u == n_unseen, SL_ERR_INTERNAL, done,
                "found %zu unseen tuples of size %d, expected %zu", u, k, n_unseen);
  for (size_t i = 0; i < n; i++)
    memcpy(out + i * (size_t)k, &list[sl_rng_below(rng, n_unseen) * (size_t)k],
           (size_t)k * sizeof *out);
done:
  free(list);
  return err;
}
