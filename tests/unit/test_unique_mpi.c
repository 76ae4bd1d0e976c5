/* Distributed distinct n-gram counting against the serial sl_corpus_count_unique: exact counts
 * equal, HyperLogLog estimates bitwise equal, on MPI_COMM_WORLD (1 rank under ctest; 2 and 4 under
 * tests/mpi/test_unique_ranks.sh), on MPI_COMM_SELF, with even and uneven splits (empty slices,
 * slices shorter than the overlap, more overlap than needed), and a too-short overlap reported on
 * every rank. Every rank builds the whole corpus from one seed and checks its own result. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/corpus.h"
#include "slingshot/corpus_mpi.h"
#include "slingshot/error.h"
#include "slingshot/hmm.h"
#include "slingshot/lang.h"
#include "slingshot/rng.h"
#include "test_util.h"

#define HLL_P 14

static const int LENGTHS[5] = {1, 2, 5, 8, 24}; /* 24 tokens of 5 bits: the hashed keys */

static int32_t *skills_corpus(size_t N) {
  sl_skills_params p;
  memset(&p, 0, sizeof p);
  p.M = 12;
  p.S = 6;
  p.k_max = 3;
  for (int k = 0; k < 3; k++)
    p.arity_weights[k] = 1;
  p.zipf = 1.0;
  sl_skills_lang *L = NULL;
  int32_t *t = malloc(N * sizeof *t);
  sl_rng r;
  sl_rng_seed(&r, 2024);
  if (sl_skills_create(&p, 7, &L) != SL_OK || !t ||
      sl_skills_generate(L, &r, t, N, NULL, 0, NULL) != SL_OK) {
    free(t);
    t = NULL;
  }
  sl_skills_destroy(L);
  return t;
}

static void serial_counts(const int32_t *t, size_t N, double *exact, double *hll) {
  const int64_t pre[1] = {(int64_t)N};
  SL_ASSERT_OK(sl_corpus_count_unique(t, N, NULL, 0, LENGTHS, 5, pre, 1, 0, 0, NULL, exact));
  SL_ASSERT_OK(sl_corpus_count_unique(t, N, NULL, 0, LENGTHS, 5, pre, 1, 1, HLL_P, NULL, hll));
}

/* Runs both distributed counters on comm with this rank's slice [start, start + cnt) and the
 * given overlap, and compares with the serial counts. */
static void check_split(const int32_t *t, size_t N, MPI_Comm comm, size_t start, size_t cnt,
                        size_t extra, const double *exact, const double *hll, const char *what) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  for (int l = 0; l < 5; l++) {
    const int n = LENGTHS[l];
    const size_t after = N - start - cnt;
    size_t ext = (size_t)(n - 1) + extra;
    if (ext > after) ext = after;
    uint64_t c = 0;
    double e = -1;
    SL_ASSERT_OK(sl_corpus_unique_exact_mpi(t + start, cnt, ext, n, comm, &c));
    SL_ASSERT_OK(sl_corpus_unique_hll_mpi(t + start, cnt, ext, n, HLL_P, comm, &e));
    if (rank == 0)
      printf("\n  %s, n = %2d: exact %llu (serial %.0f), HLL %.3f (serial %.3f)", what, n,
             (unsigned long long)c, exact[l], e, hll[l]);
    CU_ASSERT_EQUAL(c, (uint64_t)exact[l]);
    CU_ASSERT(e == hll[l]); /* bitwise: the same registers */
  }
}

static void test_even_split(void) {
  const size_t N = 200003;
  int32_t *t = skills_corpus(N);
  CU_ASSERT_FATAL(t != NULL);
  double exact[5], hll[5];
  serial_counts(t, N, exact, hll);
  CU_ASSERT(exact[2] > 1000 && exact[2] < N / 2); /* 5-grams: repeats and variety both */
  int size, rank;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  size_t start, cnt;
  sl_corpus_split(N, size, rank, &start, &cnt);
  check_split(t, N, MPI_COMM_WORLD, start, cnt, 0, exact, hll, "even split, world");
  check_split(t, N, MPI_COMM_SELF, 0, N, 0, exact, hll, "whole corpus, self");
  /* The split helper covers [0, N) in order. */
  size_t s_next = 0;
  for (int q = 0; q < 5; q++) {
    sl_corpus_split(N, 5, q, &start, &cnt);
    CU_ASSERT_EQUAL(start, s_next);
    s_next = start + cnt;
  }
  CU_ASSERT_EQUAL(s_next, N);
  free(t);
}

/* Slices of 0..10 tokens on all ranks but the last (so an n-gram of 24 spans several ranks),
 * and 7 more overlap tokens than needed. */
static void test_uneven_split(void) {
  const size_t N = 3000;
  int32_t *t = skills_corpus(N);
  CU_ASSERT_FATAL(t != NULL);
  double exact[5], hll[5];
  serial_counts(t, N, exact, hll);
  int size, rank;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  size_t start = 0, cnt = 0;
  for (int q = 0; q <= rank; q++) {
    start += cnt;
    cnt = q == size - 1 ? N - start : (size_t)((q * 7 + 3) % 11);
  }
  check_split(t, N, MPI_COMM_WORLD, start, cnt, 7, exact, hll, "uneven split, world");
  free(t);
}

/* Rank 0 passes no overlap: every rank returns SL_ERR_ARG (none is left in a collective). */
static void test_short_overlap(void) {
  int size, rank;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  const size_t N = 1000;
  int32_t *t = skills_corpus(N);
  CU_ASSERT_FATAL(t != NULL);
  size_t start, cnt;
  sl_corpus_split(N, size, rank, &start, &cnt);
  size_t ext = N - start - cnt < 4 ? N - start - cnt : 4;
  if (rank == 0 && size > 1) ext = 0;
  uint64_t c;
  const int st = sl_corpus_unique_exact_mpi(t + start, cnt, ext, 5, MPI_COMM_WORLD, &c);
  if (size > 1) {
    CU_ASSERT_EQUAL(st, SL_ERR_ARG);
    CU_ASSERT(strstr(sl_error_message(), "rank 0") != NULL);
  } else {
    CU_ASSERT_EQUAL(st, SL_OK);
  }
  /* A bad n-gram length is refused on every rank too. */
  double e;
  CU_ASSERT_EQUAL(sl_corpus_unique_hll_mpi(t + start, cnt, ext, 0, HLL_P, MPI_COMM_WORLD, &e),
                  SL_ERR_ARG);
  sl_error_clear();
  free(t);
}

/* An HMM corpus with a large vocabulary (17-bit digits): the packed and the hashed keys. */
static void test_hmm_corpus(void) {
  const size_t N = 100000;
  sl_hmm_params p;
  memset(&p, 0, sizeof p);
  p.H = 30;
  p.V = 100000;
  p.trans_k = 3;
  p.emit_k = 4;
  p.trans_alpha = p.emit_alpha = 0.5;
  sl_hmm *L = NULL;
  SL_ASSERT_OK(sl_hmm_create(&p, 3, &L));
  int32_t *t = malloc(N * sizeof *t);
  CU_ASSERT_FATAL(t != NULL);
  sl_rng r;
  sl_rng_seed(&r, 5);
  int h = -1;
  SL_ASSERT_OK(sl_hmm_generate(L, &r, &h, t, NULL, N));
  double exact[5], hll[5];
  serial_counts(t, N, exact, hll);
  int size, rank;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  size_t start, cnt;
  sl_corpus_split(N, size, rank, &start, &cnt);
  check_split(t, N, MPI_COMM_WORLD, start, cnt, 0, exact, hll, "HMM corpus, world");
  free(t);
  sl_hmm_destroy(L);
}

int main(int argc, char **argv) {
  const sl_test tests[] = {{"even split: exact and HLL equal the serial counts", test_even_split},
                           {"uneven split with empty and short slices", test_uneven_split},
                           {"too short an overlap fails on every rank", test_short_overlap},
                           {"HMM corpus, large vocabulary", test_hmm_corpus},
                           {NULL, NULL}};
  return sl_test_main(argc, argv, "unique_mpi", tests);
}
