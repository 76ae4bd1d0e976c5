/* Subcommands. Each is called by main after MPI_Init on every rank (collective over comm) and
 * returns a status; main prints the error and sets the exit code. argv[0] is the subcommand. */
#ifndef SLINGSHOT_CLI_H
#define SLINGSHOT_CLI_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "slingshot/analysis.h"
#include "slingshot/fit.h"

int sl_cmd_run(int argc, char **argv, MPI_Comm comm);
int sl_cmd_status(int argc, char **argv, MPI_Comm comm);
int sl_cmd_fit(int argc, char **argv, MPI_Comm comm);
int sl_cmd_analyze(int argc, char **argv, MPI_Comm comm);
int sl_cmd_bench(int argc, char **argv, MPI_Comm comm);

/* What `slingshot analyze` found (src/cli/cmd_analyze.c), for its report (src/cli/report.c).
 * The report functions run on one rank and are not collective. */
typedef struct sl_analyze_out {
  const char *file, *dir;       /* the results file and the report folder */
  const sl_analysis_data *data; /* the file's columns (with its strings: the root's copy) */
  size_t n_todo, n_done, n_diverged, n_failed;
  const char **drop_reason; /* [n_cells] why a cell is not in the fits, NULL if it is */
  size_t bootstrap;         /* resamples asked for */
  uint64_t seed;
  double tolerance; /* efficient frontier, nats/token */
  int figures;      /* 0: --no-figures */
  int mpi_ranks;
  int chin_ok, frontier_ok, eff_ok, kausik_ok; /* 1: computed; else *_why says why not */
  char chin_why[512], frontier_why[512], eff_why[512];
  sl_fit_result chin; /* x = N without embeddings, z = tokens trained, y = val loss */
  /* The same with E held at the language's exact entropy rate (slingshot knows it). */
  int chin_fixed_ok;
  char chin_fixed_why[512];
  sl_fit_result chin_fixed;
  sl_frontier_fit frontier;
  double budget[3]; /* compute budgets (FLOP) spanning the grid's 6ND */
  sl_estimate n_opt[3], d_opt[3], tokens_per_param[3];
  sl_fit_result eff;                /* N_eff = c D^gamma (gamma is "k") */
  size_t n_eff;                     /* frontier points */
  double *eff_d, *eff_n, *eff_loss; /* [n_eff] corpus size, smallest N, best loss at that D */
  sl_kausik kausik, kausik_at_lo, kausik_at_hi; /* at beta and at its 95% interval's ends */
  int gnuplot_missing;                          /* set by sl_report_write */
  int figures_failed;                           /* figures whose gnuplot run failed */
} sl_analyze_out;

/* Creates dir (one level) or checks that it is a writable directory; errors name the path. */
int sl_report_prepare_dir(const char *dir);
/* report.md, the CSVs and the figures (gnuplot scripts, data, PNGs) into a->dir. */
int sl_report_write(sl_analyze_out *a);

#endif
