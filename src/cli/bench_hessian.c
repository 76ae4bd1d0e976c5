/* slingshot bench hessian: the cost of one Hessian-vector product against one gradient of the
 * same loss (issue 7 target: at most 3x), and the time of the full Hessian spectrum (building
 * the Hessian from HVPs of unit vectors on a 1 x P BLACS grid, then pdsyevd) on 1, 2 and 4
 * ranks (the sub-communicators of the first 1, 2, 4 ranks of comm; run under mpirun -np 4).
 *
 * Legend: B batch, T context, C channels, H hidden, V vocabulary, N params.
 * Times are medians over repetitions, so that another process on a shared machine spoils one
 * repetition rather than the figure. The gradient baseline is the model's own forward and
 * backward (sl_model_forward + sl_model_backward) on the same batch, measured in the same run. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"
#include "slingshot/bench.h"
#include "slingshot/error.h"
#include "slingshot/hessian.h"
#include "slingshot/model.h"
#include "slingshot/rng.h"
#include "slingshot/timer.h"

typedef struct hb_model {
  const char *name;
  sl_model_spec spec;
} hb_model;

/* The engine's benchmark shapes (bench train) and the default experiment's largest MLP. */
static const hb_model HB_MODELS[] = {
    {"mlp (V 256, T 8, C 32, H 256, B 512)",
     {.family = SL_MODEL_MLP, .V = 256, .T = 8, .B = 512, .C = 32, .H = 256, .n_layer = 1}},
    {"mlp (default grid's largest: V 49, T 8, C 16, H 557, B 64)",
     {.family = SL_MODEL_MLP, .V = 49, .T = 8, .B = 64, .C = 16, .H = 557, .n_layer = 1}},
    {"gpt (V 256, T 64, C 128, 2 layers, 4 heads, B 32)",
     {.family = SL_MODEL_GPT,
      .V = 256,
      .T = 64,
      .B = 32,
      .C = 128,
      .n_layer = 2,
      .n_head = 4,
      .tied = 1}},
};
#define HB_N_MODELS (sizeof HB_MODELS / sizeof HB_MODELS[0])

static void usage(FILE *f) {
  fprintf(
      f,
      "usage: slingshot bench hessian [--reps R] [--n N] [--no-spectrum] [--help]\n"
      "  1. One Hessian-vector product over one gradient (target <= 3x) for the MLP (exact\n"
      "     R-operator and central differences) and the GPT (central differences), medians\n"
      "     of R repetitions (default 9).\n"
      "  2. The full spectrum of an MLP's Hessian with about N parameters (default 2000):\n"
      "     assembly from N HVPs, pdsyevr and pdsyevd, on the first 1, 2 and 4 ranks of the run\n"
      "     (mpirun -np 4 for all three; fewer ranks measure fewer counts). Prints the\n"
      "     largest N whose matrix fits this machine's memory and the time extrapolated\n"
      "     to it (n^3).\n"
      "  Run with OPENBLAS_NUM_THREADS=1.\n");
}

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *x, int n) {
  qsort(x, (size_t)n, sizeof *x, cmp_double);
  return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

/* Median seconds of one gradient and of one HVP (method) of a model on one batch. */
static int time_hvp(const sl_model_spec *spec, sl_hvp_method method, int reps, double *t_grad,
                    double *t_hvp) {
  sl_model *m = NULL;
  sl_hvp *h = NULL;
  int32_t *rows = NULL;
  double *v = NULL, *hv = NULL, *tg = NULL, *th = NULL;
  int err = SL_OK;
  SL_CALL_GOTO(sl_model_create(spec, &m), done);
  sl_rng r;
  sl_rng_seed(&r, 42);
  SL_CALL_GOTO(sl_model_init(m, &r), done);
  const size_t nrow = (size_t)spec->B * (size_t)(spec->T + 1), N = m->n_params;
  rows = malloc(nrow * sizeof *rows);
  v = malloc(N * sizeof *v);
  hv = malloc(N * sizeof *hv);
  tg = malloc((size_t)reps * sizeof *tg);
  th = malloc((size_t)reps * sizeof *th);
  SL_CHECK_GOTO(rows && v && hv && tg && th, SL_ERR_NOMEM, done, "out of memory");
  for (size_t i = 0; i < nrow; i++)
    rows[i] = (int32_t)sl_rng_below(&r, (uint64_t)spec->V);
  for (size_t i = 0; i < N; i++)
    v[i] = sl_rng_u64(&r) >> 63 ? 1.0 : -1.0;
  SL_CALL_GOTO(sl_hvp_create(m, rows, spec->B, 1, method, &h), done);
  for (int k = -1; k < reps; k++) { /* k = -1 warms caches and BLAS up */
    float loss;
    double t0 = sl_wtime();
    SL_CALL_GOTO(sl_model_forward(m, rows, spec->B, &loss), done);
    SL_CALL_GOTO(sl_model_backward(m, rows, spec->B), done);
    double t1 = sl_wtime();
    SL_CALL_GOTO(sl_hvp_apply(h, v, hv), done);
    double t2 = sl_wtime();
    if (k >= 0) {
      tg[k] = t1 - t0;
      th[k] = t2 - t1;
    }
  }
  *t_grad = median(tg, reps);
  *t_hvp = median(th, reps);
done:
  sl_hvp_destroy(h);
  sl_model_destroy(m);
  free(rows);
  free(v);
  free(hv);
  free(tg);
  free(th);
  return err;
}

/* The spectrum of an MLP with about n parameters (V 32, T 8, C 4, H from n) on comm. */
static int time_spectrum(MPI_Comm comm, int n_target, sl_eigensolver solver, double *secs,
                         size_t *N_out, double *lmax) {
  sl_model_spec spec = {.family = SL_MODEL_MLP, .V = 32, .T = 8, .B = 64, .C = 4, .n_layer = 1};
  /* N = V C + T C H + H + H V + V = 160 + 65 H */
  spec.H = (n_target - 160) / 65 > 1 ? (n_target - 160) / 65 : 1;
  sl_model *m = NULL;
  sl_hvp *h = NULL;
  int32_t *rows = NULL;
  double *eig = NULL;
  int err = SL_OK;
  SL_CALL_GOTO(sl_model_create(&spec, &m), done);
  sl_rng r;
  sl_rng_seed(&r, 7);
  SL_CALL_GOTO(sl_model_init(m, &r), done);
  const size_t nrow = (size_t)spec.B * (size_t)(spec.T + 1);
  rows = malloc(nrow * sizeof *rows);
  eig = malloc(m->n_params * sizeof *eig);
  SL_CHECK_GOTO(rows && eig, SL_ERR_NOMEM, done, "out of memory");
  for (size_t i = 0; i < nrow; i++)
    rows[i] = (int32_t)sl_rng_below(&r, (uint64_t)spec.V);
  SL_CALL_GOTO(sl_hvp_create(m, rows, spec.B, 1, SL_HVP_EXACT, &h), done);
  SL_CALL_GOTO(sl_hessian_spectrum(comm, h, 0, solver, eig, NULL, secs), done);
  *N_out = m->n_params;
  *lmax = eig[m->n_params - 1];
done:
  sl_hvp_destroy(h);
  sl_model_destroy(m);
  free(rows);
  free(eig);
  return err;
}

/* A barrier that sleeps while it waits: Open MPI busy-polls in a blocking collective, and on a
 * machine with fewer cores than ranks the idle ranks would take the cores the measured ones use. */
static void polite_barrier(MPI_Comm comm) {
  MPI_Request req;
  int done = 0;
  MPI_Ibarrier(comm, &req);
  while (!done) {
    MPI_Test(&req, &done, MPI_STATUS_IGNORE);
    if (!done) usleep(2000);
  }
}

int sl_bench_hessian(int argc, char **argv, MPI_Comm comm) {
  int rank, size, reps = 9, n_spec = 2000, spectrum = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      if (rank == 0) usage(stdout);
      return SL_OK;
    } else if (!strcmp(argv[i], "--reps")) {
      SL_CALL(sl_opt_int("--reps", i + 1 < argc ? argv[++i] : NULL, 1, 1000, &reps));
    } else if (!strcmp(argv[i], "--n")) {
      SL_CALL(sl_opt_int("--n", i + 1 < argc ? argv[++i] : NULL, 300, 46340, &n_spec));
    } else if (!strcmp(argv[i], "--no-spectrum")) {
      spectrum = 0;
    } else {
      if (rank == 0) usage(stderr);
      return SL_ERROR(SL_ERR_ARG, "bench hessian: unknown option '%s' (see --help)", argv[i]);
    }
  }

  /* 1. HVP over gradient, rank 0 alone (the others wait). */
  int err = SL_OK;
  if (rank == 0) {
    printf("slingshot bench hessian: one Hessian-vector product over one gradient (forward +\n"
           "backward of the same batch), medians of %d repetitions, one thread\n\n",
           reps);
    printf("%-58s %-6s %9s %9s %7s %s\n", "model", "method", "grad ms", "HVP ms", "ratio",
           "target <= 3x");
    for (size_t k = 0; k < HB_N_MODELS && err == SL_OK; k++) {
      const sl_hvp_method ms[2] = {SL_HVP_EXACT, SL_HVP_FD};
      for (int j = 0; j < 2 && err == SL_OK; j++) {
        if (ms[j] == SL_HVP_EXACT && HB_MODELS[k].spec.family != SL_MODEL_MLP) continue;
        double tg = 0, th = 0;
        err = time_hvp(&HB_MODELS[k].spec, ms[j], reps, &tg, &th);
        if (err == SL_OK)
          printf("%-58s %-6s %9.3f %9.3f %6.2fx %s\n", HB_MODELS[k].name, sl_hvp_method_name(ms[j]),
                 1e3 * tg, 1e3 * th, th / tg, th / tg <= 3.0 ? "met" : "NOT met");
        fflush(stdout);
      }
    }
  }
  int all = err;
  polite_barrier(comm);
  MPI_Allreduce(&err, &all, 1, MPI_INT, MPI_MAX, comm);
  if (all != SL_OK) return err != SL_OK ? err : SL_ERROR(all, "rank 0 failed (it says why)");
  if (!spectrum) return SL_OK;

  /* 2. The spectrum on the first 1, 2, 4 ranks, with each eigensolver. */
  /* pdsyevr (no vectors) holds A, A^T and its workspace: about 3 n^2 doubles over the ranks;
   * pdsyevd adds the eigenvector matrix Z. */
  long pages = sysconf(_SC_AVPHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
  const double avail = (double)pages * (double)psize;
  const double n_mem = fmin(sqrt(avail / (3.0 * 8.0)), 46340);
  if (rank == 0) {
    printf("\nfull spectrum of an MLP Hessian: build = N HVPs of unit vectors, each rank the\n"
           "columns it owns of a 1 x P block-cyclic matrix (nb 32), then symmetrised; eigensolve\n"
           "= pdsyevr (jobz N) or pdsyevd. %d rank(s) in this run; the machine is shared with\n"
           "other jobs (ranks above its free cores make the figures mean little)\n\n",
           size);
    printf("memory: %.1f GiB available -> largest n whose matrices fit (pdsyevr): about %.0f\n\n",
           avail / 1073741824.0, n_mem);
    printf("%6s %7s %9s %10s %10s %10s %10s %10s\n", "ranks", "N", "build s", "pdsyevr s",
           "speed-up", "pdsyevd s", "speed-up", "lambda_max");
  }
  double t1[2] = {0, 0};
  size_t n_last = 0;
  for (int p = 1; p <= 4 && p <= size; p *= 2) {
    double secs[2][2] = {{0, 0}, {0, 0}}, lmax = 0;
    size_t N = 0;
    for (int solver = 0; solver < 2; solver++) {
      MPI_Comm sub;
      MPI_Comm_split(comm, rank < p ? 0 : MPI_UNDEFINED, rank, &sub);
      err = SL_OK;
      if (sub != MPI_COMM_NULL) {
        err = time_spectrum(sub, n_spec, (sl_eigensolver)solver, secs[solver], &N, &lmax);
        MPI_Comm_free(&sub);
      }
      polite_barrier(comm);
      MPI_Allreduce(&err, &all, 1, MPI_INT, MPI_MAX, comm);
      if (all != SL_OK) return err != SL_OK ? err : SL_ERROR(all, "another rank failed");
    }
    if (rank == 0) {
      if (p == 1) t1[0] = secs[0][1], t1[1] = secs[1][1];
      printf("%6d %7zu %9.2f %10.2f %9.2fx %10.2f %9.2fx %10.4f\n", p, N, secs[0][0], secs[0][1],
             t1[0] / secs[0][1], secs[1][1], t1[1] / secs[1][1], lmax);
      fflush(stdout);
      n_last = N;
    }
  }
  if (rank == 0)
    printf("\nat the memory limit n = %.0f, one rank's pdsyevr would take about %.0f s (n^3 from "
           "the 1-rank figure)\n",
           n_mem, t1[0] * pow(n_mem / (double)n_last, 3));
  return SL_OK;
}
