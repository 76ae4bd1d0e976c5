/* slingshot fit --csv FILE: the Chinchilla law, its compute-optimal frontier and the Kausik
 * reconstruction for a table of (N, D, loss) from elsewhere. Collective over comm: rank 0 reads
 * the table and broadcasts it; the fit's starts and bootstrap resamples are shared among the
 * ranks; rank 0 prints. The printed results are the same at any rank count. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/cli.h"
#include "slingshot/csv.h"
#include "slingshot/error.h"
#include "slingshot/fit.h"
#include "slingshot/log.h"
#include "slingshot/timer.h"
#include "options.h"

typedef struct fit_args {
  const char *csv;
  const char *n_col, *d_col, *c_col, *loss_col;
  size_t bootstrap;
  uint64_t seed;
  int bench, help;
} fit_args;

static void fit_usage(FILE *f) {
  fprintf(f,
          "usage: slingshot fit --csv FILE [--n-col N] [--d-col D | --c-col C] [--loss-col loss]\n"
          "                     [--bootstrap R] [--seed S] [--bench] [--help]\n\n"
          "Fits L(N, D) = E + A/N^alpha + B/D^beta to a table (docs/SCIENCE.md section 5): Huber\n"
          "(delta 1e-3) on log L, BFGS from the grid of 4500 starts, R bootstrap resamples of the\n"
          "rows for standard errors and 95%% percentile intervals. Prints the parameters, the\n"
          "compute-optimal frontier (C = 6ND) and the Kausik gamma reconstruction from beta.\n\n"
          "  --csv FILE       table with a header row; one row per run\n"
          "  --n-col NAME     column of parameter counts N (default N)\n"
          "  --d-col NAME     column of training tokens D (default D)\n"
          "  --c-col NAME     column of compute C instead of D: D = C / (6 N)\n"
          "  --loss-col NAME  column of losses (default loss)\n"
          "  --bootstrap R    resamples (default 1000; 0: no intervals)\n"
          "  --seed S         seed of the resamples (default 1)\n"
          "  --bench          print the time of each phase (max/min/mean over ranks)\n\n"
          "N, D (or C) and loss must be positive numbers. Run under MPI to share the work:\n"
          "  mpirun -np 4 slingshot fit --csv runs.csv\n");
}

static const char *const g_options[] = {"--csv",   "--n-col",    "--d-col",
                                        "--c-col", "--loss-col", "--bootstrap",
                                        "--seed",  "--bench",    "--help"};
#define N_OPTIONS (sizeof g_options / sizeof g_options[0])

static int parse_size(const char *opt, const char *s, uint64_t *out) {
  char *end = NULL;
  SL_CHECK(s[0] >= '0' && s[0] <= '9', SL_ERR_ARG, "%s needs a non-negative integer, got '%s'", opt,
           s);
  unsigned long long v = strtoull(s, &end, 10);
  SL_CHECK(*end == '\0', SL_ERR_ARG, "%s needs a non-negative integer, got '%s'", opt, s);
  *out = (uint64_t)v;
  return SL_OK;
}

static int fit_parse(int argc, char **argv, fit_args *a) {
  memset(a, 0, sizeof *a);
  a->n_col = "N";
  a->d_col = "D";
  a->loss_col = "loss";
  a->bootstrap = 1000;
  a->seed = 1;
  int d_given = 0;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    /* --opt=value or --opt value */
    char name[64];
    const char *val;
    sl_opt_split(arg, name, sizeof name, &val);
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
      a->help = 1;
      continue;
    }
    if (strcmp(name, "--bench") == 0) {
      a->bench = 1;
      continue;
    }
    if (!sl_opt_known(name, g_options, N_OPTIONS))
      return SL_ERROR(SL_ERR_ARG, "fit: unknown option '%s' (did you mean %s? see --help)", arg,
                      sl_opt_nearest(name, g_options, N_OPTIONS));
    if (!val) {
      SL_CHECK(i + 1 < argc, SL_ERR_ARG, "fit: %s needs a value", name);
      val = argv[++i];
    }
    if (strcmp(name, "--csv") == 0) {
      a->csv = val;
    } else if (strcmp(name, "--n-col") == 0) {
      a->n_col = val;
    } else if (strcmp(name, "--d-col") == 0) {
      a->d_col = val;
      d_given = 1;
    } else if (strcmp(name, "--c-col") == 0) {
      a->c_col = val;
    } else if (strcmp(name, "--loss-col") == 0) {
      a->loss_col = val;
    } else if (strcmp(name, "--bootstrap") == 0) {
      uint64_t r;
      SL_CALL(parse_size(name, val, &r));
      SL_CHECK(r <= 1000000, SL_ERR_ARG, "fit: --bootstrap %llu is too many (at most 1000000)",
               (unsigned long long)r);
      a->bootstrap = (size_t)r;
    } else if (strcmp(name, "--seed") == 0) {
      SL_CALL(parse_size(name, val, &a->seed));
    }
  }
  if (a->help) return SL_OK;
  SL_CHECK(a->csv != NULL, SL_ERR_ARG, "fit: --csv FILE is required (see slingshot fit --help)");
  SL_CHECK(!(d_given && a->c_col), SL_ERR_ARG,
           "fit: give --d-col or --c-col, not both (with C, D = C / (6 N))");
  return SL_OK;
}

/* Rank 0: the table's columns into xs = [N | D | loss], checked. */
static int fit_load(const fit_args *a, double **xs, size_t *n_out) {
  sl_csv csv;
  SL_CALL(sl_csv_read(a->csv, &csv));
  int err = SL_OK;
  double *v = NULL;
  const size_t n = csv.n_rows;
  const char *cols[3] = {a->n_col, a->c_col ? a->c_col : a->d_col, a->loss_col};
  size_t idx;
  for (size_t k = 0; k < 3; k++) /* a missing column is reported before any bad cell */
    SL_CALL_GOTO(sl_csv_column(&csv, cols[k], &idx), done);
  v = sl_calloc(n > 0 ? 3 * n : 1, sizeof *v);
  SL_CHECK_GOTO(v != NULL, SL_ERR_NOMEM, done, "out of memory for %zu rows", n);
  for (size_t k = 0; k < 3; k++) {
    SL_CALL_GOTO(sl_csv_column_double(&csv, cols[k], v + k * n), done);
    for (size_t i = 0; i < n; i++)
      SL_CHECK_GOTO(v[k * n + i] > 0, SL_ERR_ARG, done,
                    "%s:%zu: column '%s' must be positive, got %g", a->csv, csv.line[i], cols[k],
                    v[k * n + i]);
  }
  SL_CHECK_GOTO(n > sl_fit_chinchilla_ops.n_free, SL_ERR_ARG, done,
                "%s: %zu data rows, but the Chinchilla law has %zu parameters: it needs at least "
                "%zu rows",
                a->csv, n, sl_fit_chinchilla_ops.n_free, sl_fit_chinchilla_ops.n_free + 1);
  if (a->c_col) /* C = 6 N D */
    for (size_t i = 0; i < n; i++)
      v[n + i] = v[n + i] / (6.0 * v[i]);
  *xs = v;
  *n_out = n;
  v = NULL;
done:
  free(v);
  sl_csv_free(&csv);
  return err;
}

static void print_estimate(FILE *f, const char *name, const sl_estimate *e, const char *what) {
  fprintf(f, "%-10s %14.6g %14.4g %14.6g %14.6g   %s\n", name, e->value, e->se, e->lo, e->hi, what);
}

static int fit_report_frontier(const sl_fit_result *res, FILE *f);

static int fit_report(const fit_args *a, const double *xs, size_t n, const sl_fit_result *res,
                      FILE *f) {
  double lo[3], hi[3];
  for (size_t k = 0; k < 3; k++) {
    lo[k] = INFINITY;
    hi[k] = -INFINITY;
    for (size_t i = 0; i < n; i++) {
      lo[k] = fmin(lo[k], xs[k * n + i]);
      hi[k] = fmax(hi[k], xs[k * n + i]);
    }
  }
  fprintf(f, "slingshot fit: Chinchilla law %s\n", sl_fit_chinchilla_ops.formula);
  fprintf(f, "data: %s, %zu rows; N = column '%s' [%.4g, %.4g], ", a->csv, n, a->n_col, lo[0],
          hi[0]);
  if (a->c_col)
    fprintf(f, "D = C / (6 N) with C = column '%s', D in [%.4g, %.4g], ", a->c_col, lo[1], hi[1]);
  else
    fprintf(f, "D = column '%s' [%.4g, %.4g], ", a->d_col, lo[1], hi[1]);
  fprintf(f, "loss = column '%s' [%.4g, %.4g]\n", a->loss_col, lo[2], hi[2]);
  fprintf(f, "objective (sum of Huber residuals on log L): %.10g\n\n", res->objective);
  SL_CALL(sl_fit_result_print(res, f));

  const double *v = res->value;
  if (!(v[SL_CH_A] > 0 && v[SL_CH_B] > 0 && v[SL_CH_ALPHA] > 0 && v[SL_CH_BETA] > 0)) {
    fprintf(f,
            "\nCompute-optimal frontier: undefined (it needs alpha, beta > 0; the fit gave "
            "alpha = %.4g, beta = %.4g)\n",
            v[SL_CH_ALPHA], v[SL_CH_BETA]);
  } else {
    SL_CALL(fit_report_frontier(res, f));
  }
  sl_kausik k;
  SL_CALL(sl_kausik_reconstruct(v[SL_CH_BETA], &k));
  fprintf(f, "\n");
  SL_CALL(sl_kausik_print(&k, f));
  return SL_OK;
}

static int fit_report_frontier(const sl_fit_result *res, FILE *f) {
  sl_frontier_fit fr;
  SL_CALL(sl_frontier_from_fit(res, &fr));
  fprintf(f,
          "\nCompute-optimal frontier, C = 6 N D: N_opt = G (C/6)^a_N, D_opt = G^-1 (C/6)^a_D\n");
  fprintf(f, "%-10s %14s %14s %14s %14s\n", "quantity", "value", "std.err", "95% low", "95% high");
  print_estimate(f, "G", &fr.G, "(alpha A / (beta B))^(1/(alpha+beta))");
  print_estimate(f, "a_N", &fr.a_N, "beta / (alpha+beta)");
  print_estimate(f, "a_D", &fr.a_D, "alpha / (alpha+beta)");
  if (res->n_boot > 0)
    fprintf(f, "(intervals from %zu bootstrap replicates with alpha, beta > 0)\n", fr.n_boot);
  const double cs[] = {1e19, 1e21, 1e23, 5.76e23, 1e25};
  fprintf(f, "\n%-10s %12s %21s %12s %21s %10s\n", "C (FLOPs)", "N_opt", "95% interval", "D_opt",
          "95% interval", "D/N");
  for (size_t k = 0; k < sizeof cs / sizeof cs[0]; k++) {
    sl_estimate no, dopt, tpp;
    SL_CALL(sl_frontier_fit_at(res, cs[k], &no, &dopt, &tpp));
    fprintf(f, "%-10.3g %12.4g [%9.3g, %9.3g] %12.4g [%9.3g, %9.3g] %10.4g\n", cs[k], no.value,
            no.lo, no.hi, dopt.value, dopt.lo, dopt.hi, tpp.value);
  }
  return SL_OK;
}

int sl_cmd_fit(int argc, char **argv, MPI_Comm comm) {
  int rank, size;
  SL_CALL_MPI(MPI_Comm_rank(comm, &rank));
  SL_CALL_MPI(MPI_Comm_size(comm, &size));
  fit_args a;
  int err = fit_parse(argc, argv, &a);
  if (err != SL_OK) { /* every rank saw the same arguments: rank 0 alone reports */
    if (rank != 0) sl_error_clear();
    return err;
  }
  if (a.help) {
    if (rank == 0) fit_usage(stdout);
    return SL_OK;
  }

  double *xs = NULL;
  uint64_t n64 = 0;
  size_t n = 0;
  sl_fit_result res;
  memset(&res, 0, sizeof res);
  double t0 = sl_wtime();
  if (rank == 0) {
    err = fit_load(&a, &xs, &n);
    n64 = (uint64_t)n;
  }
  /* Rank 0's status first, so no rank waits in a broadcast that will not come. */
  SL_CALL_MPI(MPI_Bcast(&err, 1, MPI_INT, 0, comm));
  if (err != SL_OK) return err; /* the message is on rank 0 */
  SL_CALL_MPI(MPI_Bcast(&n64, 1, MPI_UINT64_T, 0, comm));
  n = (size_t)n64;
  if (rank != 0) {
    xs = sl_calloc(3 * n, sizeof *xs);
    err = xs ? SL_OK : SL_ERROR(SL_ERR_NOMEM, "out of memory for %zu rows", n);
  }
  int worst = SL_OK;
  SL_CALL_MPI(MPI_Allreduce(&err, &worst, 1, MPI_INT, MPI_MAX, comm));
  if (worst != SL_OK) {
    free(xs);
    if (err != SL_OK) return err;
    return rank == 0 ? SL_ERROR(worst, "fit: another rank could not allocate the table") : worst;
  }
  SL_CHECK_GOTO(3 * n <= (size_t)0x7fffffff, SL_ERR_ARG, done, "fit: table too large (%zu rows)",
                n);
  {
    int mpi_e = MPI_Bcast(xs, (int)(3 * n), MPI_DOUBLE, 0, comm);
    if (mpi_e != MPI_SUCCESS) {
      err = sl_error_mpi(mpi_e, "MPI_Bcast(table)", __func__, __FILE__, __LINE__);
      goto done;
    }
  }
  double t_read = sl_wtime() - t0;

  sl_fit_options opt;
  sl_fit_options_default(&opt);
  opt.comm = comm;
  opt.bootstrap = a.bootstrap;
  opt.seed = a.seed;
  sl_fit_data data = {n, xs, xs + n, xs + 2 * n};
  sl_log(SL_LOG_INFO, "fit: %zu rows, %d starts and %zu bootstrap resamples over %d rank(s)", n,
         SL_CHINCHILLA_N_STARTS, a.bootstrap, size);
  double t1 = sl_wtime();
  err = sl_fit_run("chinchilla", &data, &opt, &res);
  double t_fit = sl_wtime() - t1;
  {
    /* The data are the same on every rank, so the fit fails alike: rank 0 alone reports unless
     * a rank failed in its own way. */
    int e0 = err;
    SL_CALL_MPI(MPI_Bcast(&e0, 1, MPI_INT, 0, comm));
    if (err != SL_OK) {
      if (rank != 0 && e0 == err) sl_error_clear();
      goto done;
    }
    if (e0 != SL_OK) {
      err = e0;
      goto done;
    }
  }
  sl_log(SL_LOG_INFO, "fit: read %.3f s, fit (starts + bootstrap) %.3f s on %d rank(s)", t_read,
         t_fit, size);
  if (rank == 0) err = fit_report(&a, xs, n, &res, stdout);
  if (a.bench) { /* collective: every rank joins, whatever rank 0's report did */
    if (rank == 0) {
      printf("\nbench: %zu rows, %d starts, %zu resamples, %d rank(s): read %.3f s, fit %.3f s\n",
             n, SL_CHINCHILLA_N_STARTS, a.bootstrap, size, t_read, t_fit);
      fflush(stdout);
    }
    int e_t = sl_timers_report(comm, stdout);
    if (err == SL_OK) err = e_t;
  }
  fflush(stdout);
done:
  sl_fit_result_free(&res);
  free(xs);
  return err;
}
