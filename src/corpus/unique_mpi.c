/* Distinct n-grams of a corpus split across ranks (include/slingshot/corpus_mpi.h): merged
 * HyperLogLog sketches and exact counts by hash-partitioned keys. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/corpus.h"
#include "slingshot/corpus_mpi.h"
#include "slingshot/error.h"
#include "unique_impl.h"

/* The keys are those of sl_corpus_count_unique: both take them from unique_impl.h (the n-gram
 * starting at local position g is the one that ends at g + n), and the tests hold the counts
 * equal. Keys are made UQ_CHUNK at a time into buf. */
static int ngram_keys_add(const int32_t *tokens, size_t m, int n, int bits, uint64_t *buf,
                          sl_hll *h, uq_set *set) {
  for (size_t g0 = 0; g0 < m; g0 += UQ_CHUNK) {
    const size_t c = m - g0 < UQ_CHUNK ? m - g0 : UQ_CHUNK;
    uq_ngram_keys(tokens, g0 + (size_t)n, c, n, bits, buf);
    if (h)
      for (size_t i = 0; i < c; i++)
        sl_hll_add(h, buf[i]);
    if (set) SL_CALL(uq_set_insert(set, buf, c));
  }
  return SL_OK;
}

void sl_corpus_split(size_t N, int size, int rank, size_t *start, size_t *count) {
  const size_t sz = size > 0 ? (size_t)size : 1, r = rank > 0 ? (size_t)rank : 0;
  const size_t base = N / sz, rem = N % sz;
  *count = base + (r < rem);
  *start = r * base + (r < rem ? r : rem);
}

/* Collective: checks the split on every rank (so that all ranks agree on an error), agrees on
 * the digit width, and returns how many n-grams this rank counts (those starting at local
 * positions 0..*m-1). */
static int prepare(const int32_t *tokens, size_t n_local, size_t n_ext, int n, MPI_Comm comm,
                   int *bits, size_t *m) {
  int size, rank;
  SL_CALL_MPI(MPI_Comm_size(comm, &size));
  SL_CALL_MPI(MPI_Comm_rank(comm, &rank));
  /* Local facts: largest token of the slice (UINT64_MAX if one is negative or tokens is NULL). */
  uint64_t mine[4] = {n_local, n_ext, (uint64_t)(n < 0 ? 0 : n), 0};
  if (tokens == NULL && n_local + n_ext > 0) mine[3] = UINT64_MAX;
  for (size_t i = 0; i < n_local && mine[3] != UINT64_MAX; i++) {
    if (tokens[i] < 0)
      mine[3] = UINT64_MAX;
    else if ((uint64_t)tokens[i] > mine[3])
      mine[3] = (uint64_t)tokens[i];
  }
  uint64_t *all = malloc(4 * (size_t)size * sizeof *all);
  int ok_alloc = all != NULL, ok_all = 0;
  SL_CALL_MPI(MPI_Allreduce(&ok_alloc, &ok_all, 1, MPI_INT, MPI_MIN, comm));
  if (!ok_all) {
    free(all);
    return SL_ERROR(SL_ERR_NOMEM, "out of memory for the split of %d ranks", size);
  }
  int e = MPI_Allgather(mine, 4, MPI_UINT64_T, all, 4, MPI_UINT64_T, comm);
  if (e != MPI_SUCCESS) {
    free(all);
    SL_CALL_MPI(e);
  }
  uint64_t N = 0, tmax = 0;
  int bad_tok = 0, bad_n = 0;
  for (int q = 0; q < size; q++) {
    N += all[4 * q];
    bad_tok |= all[4 * q + 3] == UINT64_MAX;
    bad_n |= all[4 * q + 2] != (uint64_t)n;
    if (all[4 * q + 3] != UINT64_MAX && all[4 * q + 3] > tmax) tmax = all[4 * q + 3];
  }
  int short_rank = -1;
  const uint64_t overlap = n > 1 ? (uint64_t)(n - 1) : 0;
  uint64_t s = 0, need_r = 0;
  for (int q = 0; q < size; q++) {
    const uint64_t after = N - s - all[4 * q]; /* corpus tokens after rank q's slice */
    const uint64_t need = after < overlap ? after : overlap;
    if (all[4 * q + 1] < need && short_rank < 0) short_rank = q;
    if (q == rank) need_r = need;
    s += all[4 * q];
  }
  const uint64_t n_ext_short = short_rank >= 0 ? all[4 * short_rank + 1] : 0;
  free(all);
  SL_CHECK(n >= 1 && n <= SL_CORPUS_MAX_NGRAM, SL_ERR_ARG,
           "n-gram length %d is out of range: it must be between 1 and %d", n, SL_CORPUS_MAX_NGRAM);
  SL_CHECK(!bad_n, SL_ERR_ARG, "the ranks passed different n-gram lengths");
  SL_CHECK(!bad_tok, SL_ERR_ARG, "a rank's tokens are NULL or negative");
  SL_CHECK(short_rank < 0, SL_ERR_ARG,
           "rank %d passed n_ext = %llu tokens of overlap but needs min(n - 1, tokens after its "
           "slice) for n-grams crossing its boundary",
           short_rank, (unsigned long long)n_ext_short);
  *bits = uq_digit_bits(tmax);
  const uint64_t avail = n_local + need_r; /* tokens this rank may read */
  *m = avail >= (uint64_t)n
           ? (size_t)(avail - (uint64_t)n + 1 < n_local ? avail - (uint64_t)n + 1 : n_local)
           : 0;
  return SL_OK;
}

int sl_corpus_unique_hll_mpi(const int32_t *tokens, size_t n_local, size_t n_ext, int n, int hll_p,
                             MPI_Comm comm, double *estimate) {
  SL_CHECK(estimate != NULL, SL_ERR_ARG, "estimate is NULL");
  int bits;
  size_t m;
  SL_CALL(prepare(tokens, n_local, n_ext, n, comm, &bits, &m));
  sl_hll h;
  uint64_t *buf = malloc(UQ_CHUNK * sizeof *buf);
  int ok = sl_hll_init(&h, hll_p) == SL_OK, ok_all;
  if (ok && !buf) {
    sl_hll_free(&h);
    ok = 0;
  }
  SL_CALL_MPI(MPI_Allreduce(&ok, &ok_all, 1, MPI_INT, MPI_MIN, comm));
  if (!ok_all) {
    if (ok) sl_hll_free(&h);
    free(buf);
    return SL_ERROR(SL_ERR_ARG,
                    "could not create HyperLogLog sketches of precision %d (or out of memory)",
                    hll_p);
  }
  (void)ngram_keys_add(tokens, m, n, bits, buf, &h, NULL); /* cannot fail without a set */
  free(buf);
  const int e = MPI_Allreduce(MPI_IN_PLACE, h.reg, (int)h.m, MPI_UINT8_T, MPI_MAX, comm);
  if (e == MPI_SUCCESS) *estimate = sl_hll_estimate(&h);
  sl_hll_free(&h);
  SL_CALL_MPI(e);
  return SL_OK;
}

int sl_corpus_unique_exact_mpi(const int32_t *tokens, size_t n_local, size_t n_ext, int n,
                               MPI_Comm comm, uint64_t *count) {
  SL_CHECK(count != NULL, SL_ERR_ARG, "count is NULL");
  int bits;
  size_t m;
  SL_CALL(prepare(tokens, n_local, n_ext, n, comm, &bits, &m));
  int size;
  SL_CALL_MPI(MPI_Comm_size(comm, &size));
  int err = SL_OK, ok = 1, ok_all = 1;
  uq_set local, owned;
  memset(&local, 0, sizeof local);
  memset(&owned, 0, sizeof owned);
  uint64_t *sendbuf = NULL, *recvbuf = NULL;
  int *scount = NULL, *sdispl = NULL, *rcount = NULL, *rdispl = NULL;
  /* 1. Deduplicate locally. Every rank reaches each collective below: failures are combined
   * with an all-reduce first. */
  uint64_t *keybuf = malloc(UQ_CHUNK * sizeof *keybuf);
  if (!keybuf || uq_set_init(&local, m / 4) != SL_OK) ok = 0;
  if (ok && ngram_keys_add(tokens, m, n, bits, keybuf, NULL, &local) != SL_OK) ok = 0;
  free(keybuf);
  /* 2. Bucket the distinct keys by owner = key mod size. */
  scount = sl_calloc((size_t)size, sizeof *scount);
  sdispl = sl_calloc((size_t)size, sizeof *sdispl);
  rcount = sl_calloc((size_t)size, sizeof *rcount);
  rdispl = sl_calloc((size_t)size, sizeof *rdispl);
  const size_t n_keys = local.count;
  sendbuf = sl_calloc(n_keys > 0 ? n_keys : 1, sizeof *sendbuf);
  size_t *fill = sl_calloc((size_t)size, sizeof *fill);
  if (!scount || !sdispl || !rcount || !rdispl || !sendbuf || !fill) ok = 0;
  if (ok) {
    size_t *per = fill;
    if (local.has_zero) per[0]++;
    for (size_t i = 0; i < local.cap; i++)
      if (local.slots[i] != 0) per[local.slots[i] % (uint64_t)size]++;
    size_t at = 0;
    for (int q = 0; q < size; q++) {
      if (per[q] > INT_MAX || at > INT_MAX) ok = 0;
      scount[q] = (int)per[q];
      sdispl[q] = (int)at;
      per[q] = at; /* now the fill position */
      at += (size_t)scount[q];
    }
    if (ok) {
      if (local.has_zero) sendbuf[fill[0]++] = 0;
      for (size_t i = 0; i < local.cap; i++)
        if (local.slots[i] != 0) sendbuf[fill[local.slots[i] % (uint64_t)size]++] = local.slots[i];
    }
  }
  free(fill);
  uq_set_free(&local);
  SL_CHECK_GOTO(MPI_Allreduce(&ok, &ok_all, 1, MPI_INT, MPI_MIN, comm) == MPI_SUCCESS, SL_ERR_MPI,
                done, "MPI_Allreduce failed");
  SL_CHECK_GOTO(ok_all, SL_ERR_NOMEM, done,
                "a rank ran out of memory (or over 2^31 keys for one owner) deduplicating its "
                "n-grams");
  /* 3. Exchange: counts, then the keys. */
  SL_CHECK_GOTO(MPI_Alltoall(scount, 1, MPI_INT, rcount, 1, MPI_INT, comm) == MPI_SUCCESS,
                SL_ERR_MPI, done, "MPI_Alltoall of the key counts failed");
  size_t n_recv = 0;
  for (int q = 0; q < size; q++) {
    if (n_recv > INT_MAX) ok = 0;
    rdispl[q] = (int)n_recv;
    n_recv += (size_t)rcount[q];
  }
  recvbuf = sl_calloc(n_recv > 0 ? n_recv : 1, sizeof *recvbuf);
  if (!recvbuf || n_recv > INT_MAX) ok = 0;
  SL_CHECK_GOTO(MPI_Allreduce(&ok, &ok_all, 1, MPI_INT, MPI_MIN, comm) == MPI_SUCCESS, SL_ERR_MPI,
                done, "MPI_Allreduce failed");
  SL_CHECK_GOTO(ok_all, SL_ERR_NOMEM, done, "a rank cannot receive its share of the keys");
  SL_CHECK_GOTO(MPI_Alltoallv(sendbuf, scount, sdispl, MPI_UINT64_T, recvbuf, rcount, rdispl,
                              MPI_UINT64_T, comm) == MPI_SUCCESS,
                SL_ERR_MPI, done, "MPI_Alltoallv of the keys failed");
  free(sendbuf);
  sendbuf = NULL;
  /* 4. The owner's set; the sum of the owners' counts is the answer. */
  if (uq_set_init(&owned, n_recv) != SL_OK || uq_set_insert(&owned, recvbuf, n_recv) != SL_OK)
    ok = 0;
  uint64_t mine[2] = {ok ? (uint64_t)owned.count : 0, ok ? 0 : 1}, tot[2] = {0, 0};
  SL_CHECK_GOTO(MPI_Allreduce(mine, tot, 2, MPI_UINT64_T, MPI_SUM, comm) == MPI_SUCCESS, SL_ERR_MPI,
                done, "MPI_Allreduce of the counts failed");
  SL_CHECK_GOTO(tot[1] == 0, SL_ERR_NOMEM, done, "a rank ran out of memory for its owned keys");
  *count = tot[0];
done:
  uq_set_free(&owned);
  free(sendbuf);
  free(recvbuf);
  free(scount);
  free(sdispl);
  free(rcount);
  free(rdispl);
  return err;
}
