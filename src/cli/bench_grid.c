/* slingshot bench grid: the scheduler's makespan against its lower bound, the scaling of a rank
 * group, and a simulation of the same policy on 64 to 4096 ranks. See bench/README.md.
 *
 * 1. A heterogeneous synthetic grid (cells whose costs span a factor of 32, each cell a real sleep
 *    of its cost so that the figure measures the scheduling policy and its MPI overhead, not the
 *    two shared cores) runs through sl_sched, the scheduler of `slingshot run`, on 1, 2 and 4 of
 *    the bench's ranks. Makespan against max(total / P, largest cell).
 * 2. One training step of a rank group (dp.h) of 1, 2, 4 ranks: strong scaling (a fixed batch
 *    split into 4 shards) and weak scaling (one fixed shard per rank).
 * 3. Simulation: the measured cell times (or a results file's /cells/wall_s) replayed through the
 *    same policy (most expensive first, each to the first rank free: what the shared counter does
 *    when costs are known) for 64 to 4096 ranks, with the grid replicated K times. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "slingshot/bench.h"
#include "slingshot/dp.h"
#include "slingshot/error.h"
#include "slingshot/grid.h"
#include "slingshot/model.h"
#include "slingshot/optim.h"
#include "slingshot/rng.h"
#include "slingshot/timer.h"

typedef struct grid_args {
  int cells, replicate, steps, help, no_groups;
  double seconds;
  const char *simulate;
} grid_args;

static void grid_usage(FILE *f) {
  fprintf(
      f,
      "usage: mpirun -np 4 slingshot bench grid [options]\n\n"
      "Makespan of a heterogeneous grid under the run's scheduler at 1, 2 and 4 ranks against\n"
      "its lower bound max(total work / ranks, largest cell); the strong and weak scaling of\n"
      "a rank group's training step; and a simulation of the same scheduling policy on 64 to\n"
      "4096 ranks from measured cell times. Run with 4 ranks (fewer: fewer columns).\n\n"
      "options:\n"
      "  --cells N          cells of the synthetic grid (default 24)\n"
      "  --seconds S        their total cost, sleep seconds on one rank (default 3)\n"
      "  --steps S          training steps timed per rank-group size (default 30)\n"
      "  --no-groups        skip the rank-group scaling\n"
      "  --simulate FILE    replay FILE's /cells/wall_s (done cells) instead of the bench's\n"
      "                     own cell times\n"
      "  --replicate K      the replayed grid repeated K times (default 512; 1 with --simulate)\n"
      "  -h, --help         this help\n");
}

static int parse(int argc, char **argv, grid_args *a) {
  memset(a, 0, sizeof *a);
  a->cells = 24;
  a->seconds = 3.0;
  a->steps = 30;
  a->replicate = -1;
  for (int i = 1; i < argc; i++) {
    const char *s = argv[i];
    int more = i + 1 < argc;
    char *end = NULL;
    if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
      a->help = 1;
    } else if (!strcmp(s, "--no-groups")) {
      a->no_groups = 1;
    } else if (!strcmp(s, "--cells") && more) {
      a->cells = (int)strtol(argv[++i], &end, 10);
      SL_CHECK(*end == '\0' && a->cells >= 1 && a->cells <= 100000, SL_ERR_ARG,
               "--cells %s: give a count from 1 to 100000", argv[i]);
    } else if (!strcmp(s, "--seconds") && more) {
      a->seconds = strtod(argv[++i], &end);
      SL_CHECK(*end == '\0' && a->seconds > 0 && a->seconds <= 3600, SL_ERR_ARG,
               "--seconds %s: give seconds in (0, 3600]", argv[i]);
    } else if (!strcmp(s, "--steps") && more) {
      a->steps = (int)strtol(argv[++i], &end, 10);
      SL_CHECK(*end == '\0' && a->steps >= 1, SL_ERR_ARG, "--steps %s: give a positive count",
               argv[i]);
    } else if (!strcmp(s, "--replicate") && more) {
      a->replicate = (int)strtol(argv[++i], &end, 10);
      SL_CHECK(*end == '\0' && a->replicate >= 1 && a->replicate <= 1000000, SL_ERR_ARG,
               "--replicate %s: give a count from 1 to 1000000", argv[i]);
    } else if (!strcmp(s, "--simulate") && more) {
      a->simulate = argv[++i];
      SL_CHECK(access(a->simulate, R_OK) == 0, SL_ERR_IO,
               "--simulate %s: no such readable file (give a results file of slingshot run)",
               a->simulate);
    } else {
      return SL_ERROR(SL_ERR_ARG, "bench grid: unknown option or missing value '%s' (see --help)",
                      s);
    }
  }
  if (a->replicate < 0) a->replicate = a->simulate ? 1 : 512;
  return SL_OK;
}

/* ------------------------------------------------------------- 1. the scheduler on real ranks */

/* Cell i's share of the work: weights 1, 2, 4, ..., 32 in turn, times 1.0 .. 1.4. */
static double cell_weight(int i) {
  return (double)(1 << (i % 6)) * (1.0 + 0.1 * (double)(i * 7 % 5));
}

static void nap(double s) {
  struct timespec t = {(time_t)s, (long)((s - floor(s)) * 1e9)};
  while (nanosleep(&t, &t) != 0) {
  }
}

/* Collective over sub: runs the grid through sl_sched; *makespan on every rank. Each rank also
 * adds its measured cell times into measured[] (indexed by cell). */
static int run_grid(const sl_grid *g, MPI_Comm sub, double *makespan, double *measured) {
  uint8_t *todo;
  SL_ALLOC(todo, g->n_cells);
  memset(todo, 1, (size_t)g->n_cells);
  sl_sched *s = NULL;
  int err = SL_OK;
  SL_CALL_GOTO(sl_sched_create(g, todo, sub, &s), done);
  MPI_Barrier(sub);
  double t0 = sl_wtime();
  for (;;) {
    int64_t ci;
    SL_CALL_GOTO(sl_sched_next(s, &ci), done);
    if (ci < 0) break;
    double c0 = sl_wtime();
    nap(g->cells[ci].cost);
    measured[ci] = sl_wtime() - c0;
  }
  double mine = sl_wtime() - t0;
  MPI_Allreduce(&mine, makespan, 1, MPI_DOUBLE, MPI_MAX, sub);
done:
  if (s) sl_sched_destroy(s);
  free(todo);
  return err;
}

/* ------------------------------------------------------------- 3. simulation of the policy */

static int by_desc(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? 1 : x > y ? -1 : 0;
}

/* List scheduling, most expensive first, each cell to the rank that is free first (a binary
 * min-heap of free times): the policy of sl_sched when cell costs are the times they take. */
static double simulate(const double *sorted, size_t n, int P, double *heap) {
  for (int r = 0; r < P; r++)
    heap[r] = 0.0;
  double end = 0.0;
  for (size_t i = 0; i < n; i++) {
    double t = heap[0] + sorted[i];
    if (t > end) end = t;
    heap[0] = t; /* sift down */
    int k = 0;
    for (;;) {
      int l = 2 * k + 1, r = l + 1, m = k;
      if (l < P && heap[l] < heap[m]) m = l;
      if (r < P && heap[r] < heap[m]) m = r;
      if (m == k) break;
      double tmp = heap[k];
      heap[k] = heap[m];
      heap[m] = tmp;
      k = m;
    }
  }
  return end;
}

static int read_wall(const char *path, double **out, size_t *n_out) {
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  SL_CHECK(f >= 0, SL_ERR_IO, "cannot open %s as an HDF5 results file", path);
  int err = SL_OK;
  double *wall = NULL;
  int8_t *status = NULL;
  hid_t dw = H5Dopen2(f, "/cells/wall_s", H5P_DEFAULT),
        ds = H5Dopen2(f, "/grid/status", H5P_DEFAULT);
  SL_CHECK_GOTO(dw >= 0 && ds >= 0, SL_ERR_FORMAT, done,
                "%s has no /cells/wall_s or /grid/status: is it a slingshot results file?", path);
  hid_t sp = H5Dget_space(dw);
  hsize_t n = 0;
  H5Sget_simple_extent_dims(sp, &n, NULL);
  H5Sclose(sp);
  SL_CHECK_GOTO(n > 0, SL_ERR_FORMAT, done, "%s has no cells", path);
  wall = malloc(n * sizeof *wall);
  status = malloc(n);
  SL_CHECK_GOTO(wall && status, SL_ERR_NOMEM, done, "out of memory");
  SL_CHECK_GOTO(H5Dread(dw, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, wall) >= 0 &&
                    H5Dread(ds, H5T_NATIVE_INT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, status) >= 0,
                SL_ERR_HDF5, done, "cannot read the cells of %s", path);
  size_t k = 0;
  for (hsize_t i = 0; i < n; i++)
    if (status[i] == 1 && isfinite(wall[i]) && wall[i] > 0) wall[k++] = wall[i];
  SL_CHECK_GOTO(k > 0, SL_ERR_STATE, done, "%s has no done cell with a wall time to replay", path);
  *out = wall;
  *n_out = k;
  wall = NULL;
done:
  if (dw >= 0) H5Dclose(dw);
  if (ds >= 0) H5Dclose(ds);
  H5Fclose(f);
  free(wall);
  free(status);
  return err;
}

static int print_simulation(const double *costs, size_t n, int K, const char *what) {
  const size_t total_n = n * (size_t)K;
  double *all = malloc(total_n * sizeof *all), *heap = malloc(4096 * sizeof *heap);
  if (!all || !heap) {
    free(all);
    free(heap);
    return SL_ERROR(SL_ERR_NOMEM, "out of memory for %zu cells", total_n);
  }
  double sum = 0, big = 0;
  for (size_t i = 0; i < total_n; i++) {
    all[i] = costs[i % n];
    sum += all[i];
    if (all[i] > big) big = all[i];
  }
  qsort(all, total_n, sizeof *all, by_desc);
  printf("\n3. simulation: %s, %zu cells x %d = %zu cells, %.4g s of work, largest cell %.3g s\n",
         what, n, K, total_n, sum, big);
  printf("   same policy as `slingshot run` (most expensive first, first free rank)\n");
  printf("   %6s %14s %14s %10s %11s\n", "ranks", "makespan s", "lower bound s", "ratio",
         "efficiency");
  for (int P = 64; P <= 4096; P *= 2) {
    double ms = simulate(all, total_n, P, heap);
    double lb = fmax(sum / P, big);
    printf("   %6d %14.4g %14.4g %10.3f %10.1f%%\n", P, ms, lb, ms / lb, 100.0 * sum / (P * ms));
  }
  free(all);
  free(heap);
  return SL_OK;
}

/* ------------------------------------------------------------- 2. a rank group's step */

/* Collective over sub (its size R): seconds per data-parallel step of a batch of B rows in G
 * shards (G = 0: the ordinary unsharded step, the baseline), the max over members, the best of
 * three repetitions of `steps` steps. */
static int group_step(MPI_Comm sub, int G, int B, int steps, double *sec) {
  sl_model_spec spec = {
      .family = SL_MODEL_MLP, .V = 256, .T = 8, .B = B, .C = 32, .H = 512, .n_layer = 1};
  sl_model *m = NULL;
  sl_optim *o = NULL;
  int32_t *rows = NULL;
  sl_dp dp = {0};
  int err = SL_OK;
  SL_CALL_GOTO(sl_model_create(&spec, &m), done);
  sl_rng rng;
  sl_rng_stream(&rng, 1, 0, "bench-grid");
  SL_CALL_GOTO(sl_model_init(m, &rng), done);
  sl_optim_spec os = {.kind = SL_OPTIM_ADAMW, .beta1 = 0.9, .beta2 = 0.99, .eps = 1e-8};
  SL_CALL_GOTO(sl_optim_create(&os, m->n_params, &o), done);
  SL_ALLOC(rows, (size_t)B * (spec.T + 1));
  for (size_t i = 0; i < (size_t)B * (spec.T + 1); i++)
    rows[i] = (int32_t)sl_rng_below(&rng, (uint64_t)spec.V);
  if (G > 0) SL_CALL_GOTO(sl_dp_create(sub, G, m->n_params, &dp), done);
  *sec = INFINITY;
  for (int rep = 0; rep < 3; rep++) {
    MPI_Barrier(sub);
    double t0 = sl_wtime();
    for (int s = 0; s < steps; s++) {
      float loss;
      if (G > 0) {
        SL_CALL_GOTO(sl_dp_step(&dp, m, rows, B, &loss), done);
      } else { /* the baseline: the ordinary step of `slingshot run` */
        SL_CALL_GOTO(sl_model_forward(m, rows, B, &loss), done);
        SL_CALL_GOTO(sl_model_backward(m, rows, B), done);
      }
      SL_CALL_GOTO(sl_optim_step(o, m->params, m->grads, m->decay, 1e-4), done);
    }
    double mine = (sl_wtime() - t0) / steps, worst;
    MPI_Allreduce(&mine, &worst, 1, MPI_DOUBLE, MPI_MAX, sub);
    if (worst < *sec) *sec = worst;
  }
done:
  sl_dp_free(&dp);
  free(rows);
  sl_optim_destroy(o);
  sl_model_destroy(m);
  return err;
}

/* ------------------------------------------------------------- the bench */

int sl_bench_grid(int argc, char **argv, MPI_Comm comm) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  grid_args a;
  SL_CALL(parse(argc, argv, &a));
  if (a.help) {
    if (rank == 0) grid_usage(stdout);
    return SL_OK;
  }
  int err = SL_OK;
  sl_grid g = {.n_cells = a.cells};
  double *measured = NULL, *file_costs = NULL;
  SL_ALLOC(g.cells, a.cells);
  SL_ALLOC(measured, a.cells);
  double wsum = 0;
  for (int i = 0; i < a.cells; i++)
    wsum += cell_weight(i);
  double total = 0, big = 0;
  for (int i = 0; i < a.cells; i++) {
    g.cells[i].index = i;
    g.cells[i].cost = a.seconds * cell_weight(i) / wsum;
    total += g.cells[i].cost;
    big = fmax(big, g.cells[i].cost);
  }
  if (rank == 0) {
    double load = NAN;
    FILE *la = fopen("/proc/loadavg", "r");
    if (la) {
      if (fscanf(la, "%lf", &load) != 1) load = NAN;
      fclose(la);
    }
    printf("slingshot bench grid: %d MPI ranks, %ld cores, load average %.1f before starting\n",
           size, sysconf(_SC_NPROCESSORS_ONLN), load);
    printf("\n1. scheduler (sl_sched) on a synthetic grid: %d cells, costs %.3g .. %.3g s (sleeps),"
           " %.3g s of work\n",
           a.cells, a.seconds * cell_weight(0) / wsum, big, total);
    printf("   %6s %12s %14s %8s %14s\n", "ranks", "makespan s", "lower bound s", "ratio",
           "simulated s");
  }
  double *heap = malloc(4096 * sizeof *heap), *sorted = malloc((size_t)a.cells * sizeof *sorted);
  SL_CHECK_GOTO(heap && sorted, SL_ERR_NOMEM, done, "out of memory");
  for (int P = 1; P <= 4 && P <= size; P *= 2) {
    MPI_Comm sub;
    SL_CALL_MPI(MPI_Comm_split(comm, rank < P ? 0 : MPI_UNDEFINED, rank, &sub));
    double ms = 0;
    for (int i = 0; i < a.cells; i++)
      measured[i] = 0;
    if (sub != MPI_COMM_NULL) {
      SL_CALL_GOTO(run_grid(&g, sub, &ms, measured), done);
      MPI_Comm_free(&sub);
    }
    MPI_Allreduce(MPI_IN_PLACE, measured, a.cells, MPI_DOUBLE, MPI_SUM, comm);
    if (rank == 0) {
      memcpy(sorted, measured, (size_t)a.cells * sizeof *sorted);
      qsort(sorted, (size_t)a.cells, sizeof *sorted, by_desc);
      double lb = fmax(total / P, big);
      printf("   %6d %12.4f %14.4f %8.3f %14.4f%s\n", P, ms, lb, ms / lb,
             simulate(sorted, (size_t)a.cells, P, heap),
             ms / lb <= 1.10 ? "" : "   (over the 10% target)");
    }
  }
  if (rank == 0 && size < 4) printf("   (run with 4 ranks for the 4-rank row)\n");

  if (!a.no_groups) {
    const int B = 64, G = 4;
    if (rank == 0) {
      printf(
          "\n2. rank group (dp.h): one AdamW training step of an MLP (V 256, T 8, C 32, H 512)\n");
      printf("   %6s %22s %9s %10s %22s %10s\n", "ranks", "strong: B=64, 4 shards", "speedup",
             "efficiency", "weak: 16 rows per rank", "efficiency");
    }
    double plain = 0;
    if (rank == 0) {
      SL_CALL_GOTO(group_step(MPI_COMM_SELF, 0, B, a.steps, &plain), done);
      printf("   baseline, the ordinary step on one rank (B=64, no shards): %.3f ms\n",
             1e3 * plain);
    }
    double strong1 = 0, weak1 = 0;
    for (int R = 1; R <= 4 && R <= size; R *= 2) {
      MPI_Comm sub;
      SL_CALL_MPI(MPI_Comm_split(comm, rank < R ? 0 : MPI_UNDEFINED, rank, &sub));
      double strong = 0, weak = 0;
      if (sub != MPI_COMM_NULL) {
        SL_CALL_GOTO(group_step(sub, G, B, a.steps, &strong), done);
        SL_CALL_GOTO(group_step(sub, R, 16 * R, a.steps, &weak), done);
        MPI_Comm_free(&sub);
      }
      if (R == 1) strong1 = strong, weak1 = weak;
      if (rank == 0)
        printf("   %6d %19.3f ms %9.2f %9.0f%% %19.3f ms %9.0f%%\n", R, 1e3 * strong,
               strong1 / strong, 100 * strong1 / (R * strong), 1e3 * weak, 100 * weak1 / weak);
    }
  }

  if (rank == 0) {
    if (a.simulate) {
      size_t n = 0;
      SL_CALL_GOTO(read_wall(a.simulate, &file_costs, &n), done);
      char what[600];
      snprintf(what, sizeof what, "/cells/wall_s of %s", a.simulate);
      SL_CALL_GOTO(print_simulation(file_costs, n, a.replicate, what), done);
    } else {
      /* The last run of part 1: the real time each cell took. */
      SL_CALL_GOTO(print_simulation(measured, (size_t)a.cells, a.replicate,
                                    "the synthetic grid's measured cell times"),
                   done);
    }
  }
done:;
  int worst = err;
  MPI_Allreduce(&err, &worst, 1, MPI_INT, MPI_MAX, comm);
  if (worst != SL_OK && err == SL_OK) err = SL_ERROR(worst, "rank 0 failed (see its message)");
  free(heap);
  free(sorted);
  free(file_costs);
  free(measured);
  free(g.cells);
  return err;
}
