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
int sl_cmd_export(int argc, char **argv, MPI_Comm comm);
int sl_cmd_merge(int argc, char **argv, MPI_Comm comm);
int sl_cmd_theory(int argc, char **argv, MPI_Comm comm);

/* U(D) = c D^gamma for one quantity of /unique (distinct pieces, or distinct L-grams). */
typedef struct sl_unique_fit {
  char name[32]; /* "pieces" or "ngrams_L" (the /unique dataset) */
  int64_t ngram; /* L; 0 for pieces */
  int ok;        /* 1: fitted; else why says why not */
  char why[256];
  sl_fit_result fit;  /* gamma is the parameter "k" (SL_PL_K) */
  size_t n_finite;    /* prefixes with a finite count > 0 */
  size_t n_fit;       /* of them, fitted (the saturation rule may leave some out) */
  double fit_max_d;   /* the largest prefix fitted, tokens */
  double doubling;    /* 2^(1/gamma): corpus factor that doubles the distinct sequences */
  double doubling_lo; /* at gamma's upper interval end */
  double doubling_hi; /* at gamma's lower end (INFINITY when it is <= 0) */
  double local_slope; /* d ln U / d ln D between the last two finite prefixes (NaN: < 2) */
} sl_unique_fit;

/* What `slingshot analyze` found (src/cli/cmd_analyze.c), for its report (src/cli/report.c).
 * The report functions run on one rank and are not collective. */
typedef struct sl_analyze_out {
  const char *file, *dir; /* the results file and the report folder */
  const char *into;       /* where the HDF5 outputs go: a working copy of file (sl_h5_edit_begin) */
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
  /* U(D) (docs/SCIENCE.md section 2): for each grid seed the done cell with the largest D (its
   * corpus holds every smaller prefix), averaged over seeds prefix by prefix. */
  int unique_ok; /* 1: counts found (some fits may still have failed: uq[q].ok) */
  char unique_why[512];
  size_t uq_p;           /* prefixes */
  double *uq_d;          /* [uq_p] prefix lengths, tokens */
  double *uq_seeds;      /* [uq_p] seeds averaged at each prefix (0: no count there) */
  size_t uq_n_seeds;     /* seeds with a done cell */
  size_t uq_nq;          /* quantities: pieces, then each n-gram length */
  double *uq_u;          /* [uq_nq x uq_p] seed-averaged counts, NaN where none */
  sl_unique_fit *uq;     /* [uq_nq] */
  double uq_ceiling;     /* distinct pieces the language has (NaN: unknown) */
  const char *uq_method; /* "exact" or "hll" */
  int gnuplot_missing;   /* set by sl_report_write */
  int figures_failed;    /* figures whose gnuplot run failed */
  void *flatness;        /* the flatness analysis (src/cli/report_flatness.c), or NULL */
} sl_analyze_out;

/* Creates dir (one level) or checks that it is a writable directory; errors name the path. */
int sl_report_prepare_dir(const char *dir);
/* report.md, the CSVs and the figures (gnuplot scripts, data, PNGs) into a->dir. */
int sl_report_write(sl_analyze_out *a);
/* The skills analysis (src/cli/report_skills.c): reads /skills of a->file, writes
 * /analysis/skills, figures and a section of a->dir/report.md (after sl_report_write). */
int sl_report_skills(sl_analyze_out *a);

#endif
