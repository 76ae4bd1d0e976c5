/* Distinct n-grams of one corpus split across the ranks of a communicator (SCIENCE.md section 2,
 * issue 4 item 5): HyperLogLog sketches merged by a register-wise max, and exact counts by
 * hash-partitioning the keys across ranks.
 *
 * The boundary convention. The corpus tokens[0..N) is split into contiguous slices in rank order:
 * rank r owns positions [s_r, s_r + n_r) with s_r = n_0 + ... + n_{r-1} (n_r may be 0). Each rank
 * passes its slice followed by n_ext further tokens of the corpus (the beginning of the following
 * slices, whichever ranks own them), with n_ext >= min(n - 1, N - s_r - n_r). The n-gram that
 * starts at global position g is counted by the rank that owns g, and only when g + n <= N; any
 * extra tokens beyond the n - 1 needed are ignored. So an n-gram crossing a boundary is counted
 * once, by the owner of its first token, and none is lost. The ranks exchange (n_r, n_ext) first,
 * so a rank that passes too short an overlap makes every rank return SL_ERR_ARG.
 *
 * The keys are those of sl_corpus_count_unique (the digit width is the bits of the largest token
 * of the whole corpus + 1, agreed by an all-reduce), so the distributed exact count equals the
 * serial one, and the merged sketch has the same registers as the serial sketch: the estimates
 * agree bitwise whatever the number of ranks.
 *
 * Both counting functions are collective over comm, and every rank gets the result. */
#ifndef SLINGSHOT_CORPUS_MPI_H
#define SLINGSHOT_CORPUS_MPI_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

/* The even split of N tokens over size ranks: the first N mod size ranks get one more. Not
 * collective. */
void sl_corpus_split(size_t N, int size, int rank, size_t *start, size_t *count);

/* HyperLogLog estimate of the distinct n-grams (1 <= n <= SL_CORPUS_MAX_NGRAM) of the whole
 * corpus, precision hll_p: each rank sketches its n-grams, then MPI_Allreduce(MPI_MAX) on the
 * registers. Collective. */
int sl_corpus_unique_hll_mpi(const int32_t *tokens, size_t n_local, size_t n_ext, int n, int hll_p,
                             MPI_Comm comm, double *estimate);

/* The exact number of distinct n-grams of the whole corpus. Each rank deduplicates its keys in a
 * local set, sends each key to rank (key mod size) with MPI_Alltoallv, the owner inserts what it
 * receives into its own set, and an MPI_Allreduce sums the owners' counts. Memory per rank: about
 * 16 B per locally distinct key plus 16 B per key received (send and receive buffers and the
 * owner set). Collective. */
int sl_corpus_unique_exact_mpi(const int32_t *tokens, size_t n_local, size_t n_ext, int n,
                               MPI_Comm comm, uint64_t *count);

#endif
