/* slingshot bench gemm: slingshot's own sgemm (src/model/gemm.c) against cblas_sgemm at the
 * products of one training step of the `mlp` model of bench train (V 256, T 8, C 32, H 256,
 * B 512; the table path, with all V rows per table as uniform tokens nearly give), in one run.
 *
 * For each product: the best and the median time of R calls of each backend, alternating call by
 * call so that a noisy neighbour slows both alike, as GFLOP/s (2 M N K per call); then the step's
 * products summed, with the backend the MLP uses for each. Operands are random, resident in
 * cache after the first call (the step's own products see colder caches). Rank 0 measures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "../model/model_impl.h" /* sl_gemm: private to the models, benchmarked here */
#include "slingshot/bench.h"
#include "slingshot/error.h"
#include "slingshot/rng.h"
#include "slingshot/timer.h"

typedef struct gemm_case {
  const char *name;
  int ta, tb;
  size_t M, N, K;
  float beta;
  int bias, calls; /* calls per step (one per position t for the tables) */
  int mlp_blas;    /* the MLP sends this one to OpenBLAS (faster there) */
} gemm_case;

static const gemm_case CASES[] = {
    {"Tab_t = emb . W1_t", 0, 0, 256, 256, 32, 0.0f, 0, 8, 0},
    {"logits = h . W2 + b2", 0, 0, 512, 256, 256, 0.0f, 1, 1, 0},
    {"dh = dlogits . W2^T", 0, 1, 512, 256, 256, 0.0f, 0, 1, 0},
    {"dW2 = h^T . dlogits", 1, 0, 256, 256, 512, 1.0f, 0, 1, 1},
    {"dW1_t^T = G_t^T . emb", 1, 0, 256, 32, 256, 0.0f, 0, 8, 0},
    {"demb_t = G_t . W1_t^T", 0, 1, 256, 32, 256, 0.0f, 0, 8, 0},
};
#define N_CASES (sizeof CASES / sizeof CASES[0])

static void usage(FILE *f) {
  fprintf(f, "usage: slingshot bench gemm [--reps R] [--help]\n"
             "  slingshot's own AVX2 sgemm against cblas_sgemm at the products of one step of\n"
             "  bench train's mlp model: best and median GFLOP/s of R calls each (default 300),\n"
             "  the two backends alternating call by call. Run with OPENBLAS_NUM_THREADS=1.\n");
}

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Times R calls of each backend at one shape: best[2], median[2] in seconds (0: own, 1: blas). */
static int time_case(const gemm_case *c, int reps, double best[2], double med[2]) {
  const size_t na = c->M * c->K, nb = c->K * c->N, nc = c->M * c->N;
  float *a = malloc(na * sizeof *a), *b = malloc(nb * sizeof *b), *cc = malloc(nc * sizeof *cc);
  float *bias = malloc(c->N * sizeof *bias), *work = malloc(sl_gemm_work_floats(c->K, c->N) * 4);
  double *t = malloc(2 * (size_t)reps * sizeof *t);
  int err = SL_OK;
  SL_CHECK_GOTO(a && b && cc && bias && work && t, SL_ERR_NOMEM, done, "bench gemm: out of memory");
  sl_rng r;
  sl_rng_seed(&r, 3);
  for (size_t i = 0; i < na; i++)
    a[i] = (float)sl_rng_uniform(&r) - 0.5f;
  for (size_t i = 0; i < nb; i++)
    b[i] = (float)sl_rng_uniform(&r) - 0.5f;
  for (size_t i = 0; i < nc; i++)
    cc[i] = 0.0f;
  for (size_t i = 0; i < c->N; i++)
    bias[i] = 0.1f;
  for (int i = -2; i < reps; i++) /* two untimed calls of each first */
    for (int k = 0; k < 2; k++) {
      sl_gemm_set_backend(k ? SL_GEMM_BLAS : SL_GEMM_OWN);
      const double t0 = sl_wtime();
      for (int q = 0; q < c->calls; q++)
        SL_CALL_GOTO(sl_gemm(c->ta, c->tb, c->M, c->N, c->K, a, c->ta ? c->M : c->K, b,
                             c->tb ? c->K : c->N, c->beta, c->bias ? bias : NULL, cc, c->N, work),
                     done);
      if (i >= 0) t[k * reps + i] = sl_wtime() - t0;
    }
  for (int k = 0; k < 2; k++) {
    qsort(t + k * reps, (size_t)reps, sizeof *t, cmp_double);
    best[k] = t[k * reps];
    med[k] = t[k * reps + reps / 2];
  }
done:
  sl_gemm_set_backend(SL_GEMM_AUTO);
  free(a), free(b), free(cc), free(bias), free(work), free(t);
  return err;
}

int sl_bench_gemm(int argc, char **argv, MPI_Comm comm) {
  int rank, reps = 300;
  MPI_Comm_rank(comm, &rank);
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      if (rank == 0) usage(stdout);
      return SL_OK;
    } else if (!strcmp(argv[i], "--reps")) {
      SL_CALL(sl_opt_int("--reps", i + 1 < argc ? argv[++i] : NULL, 1, 100000, &reps));
    } else {
      if (rank == 0) usage(stderr);
      return SL_ERROR(SL_ERR_ARG, "bench gemm: unknown option '%s' (see --help)", argv[i]);
    }
  }
  int err = SL_OK;
  if (rank == 0) {
    if (!sl_gemm_own_supported()) {
      printf("slingshot bench gemm: this CPU has no AVX2+FMA, so slingshot uses cblas_sgemm for "
             "every product; nothing to compare\n");
    } else {
      printf("slingshot bench gemm: own AVX2 sgemm vs cblas_sgemm, one thread, %d calls each "
             "(alternating), GFLOP/s of the best and the median call\n\n",
             reps);
      printf("  %-24s %-14s %5s  %7s %7s  %7s %7s  %6s  %s\n", "product (mlp step)", "M x N x K",
             "calls", "own", "(med)", "blas", "(med)", "own/bl", "the MLP uses");
      double step[2] = {0, 0}, used = 0;
      for (size_t i = 0; i < N_CASES && err == SL_OK; i++) {
        const gemm_case *c = &CASES[i];
        double best[2], med[2];
        err = time_case(c, reps, best, med);
        if (err != SL_OK) break;
        const double fl = 2.0 * (double)(c->M * c->N * c->K) * c->calls;
        char shape[32];
        snprintf(shape, sizeof shape, "%zux%zux%zu", c->M, c->N, c->K);
        printf("  %-24s %-14s %5d  %7.1f %7.1f  %7.1f %7.1f  %5.2fx  %s\n", c->name, shape,
               c->calls, fl / best[0] / 1e9, fl / med[0] / 1e9, fl / best[1] / 1e9,
               fl / med[1] / 1e9, best[1] / best[0], c->mlp_blas ? "blas" : "own");
        step[0] += med[0];
        step[1] += med[1];
        used += med[c->mlp_blas ? 1 : 0];
        fflush(stdout);
      }
      if (err == SL_OK)
        printf("\n  the step's products, medians summed: all own %.3f ms, all blas %.3f ms, as the "
               "MLP runs them %.3f ms (%.2fx faster than all blas)\n",
               1e3 * step[0], 1e3 * step[1], 1e3 * used, step[1] / used);
    }
  }
  int all = err;
  MPI_Allreduce(&err, &all, 1, MPI_INT, MPI_MAX, comm);
  if (all != SL_OK && err == SL_OK) return SL_ERROR(all, "bench gemm failed on rank 0");
  return err;
}
