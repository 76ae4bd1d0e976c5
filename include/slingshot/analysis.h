/* What `slingshot analyze` reads from a results file and how it writes /analysis into it.
 *
 * Reading: rank 0 opens the file read-only with serial HDF5 (it was closed by the run), checks
 * that it is a slingshot results file of the version this program reads, and reads the per-cell
 * columns an analysis needs; sl_analysis_data_bcast then gives every rank the numbers (the
 * descriptive strings stay on the root).
 *
 * Writing: /analysis is the only part of the file analyze changes. The writer opens the file
 * read-write with serial HDF5 on one rank, deletes an earlier /analysis group (so analysing twice
 * replaces the analysis) and creates the new one; datasets under it carry `units` and
 * `description` attributes like the rest of the file. The writer knows nothing about fits: the
 * command decides what goes where (io sits below fit in the layering).
 *
 * Nothing here is collective except sl_analysis_data_bcast. */
#ifndef SLINGSHOT_ANALYSIS_H
#define SLINGSHOT_ANALYSIS_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#define SL_ANALYSIS_STR_LEN 256

/* The columns of a results file used by an analysis. Integer columns are read as doubles
 * (exact below 2^53). Unfinished cells hold NaN, as in the file. */
typedef struct sl_analysis_data {
  size_t n_cells;
  size_t points;        /* curve points per cell */
  int8_t *status;       /* [n_cells] /grid/status: 0 todo, 1 done, 2 diverged, -1 failed */
  double *n_params;     /* [n_cells] /cells/n_params */
  double *n_no_embed;   /* [n_cells] /cells/n_params_no_embed */
  double *d_tokens;     /* [n_cells] /cells/d_tokens (corpus size) */
  double *tokens;       /* [n_cells] /cells/tokens_trained (tokens processed in training) */
  double *val_loss;     /* [n_cells] /cells/val_loss, nats/token */
  double *train_loss;   /* [n_cells] /cells/train_loss, nats/token */
  double *excess_loss;  /* [n_cells] /cells/excess_loss, nats/token */
  double *flops_6nd;    /* [n_cells] /cells/flops_6nd, FLOP */
  double *seed;         /* [n_cells] /grid/seed: each grid seed has its own corpus */
  double *curve_loss;   /* [n_cells x points] /curves/loss, nats/token */
  double *curve_tokens; /* [n_cells x points] /curves/tokens */
  double entropy_nats;  /* /language entropy_nats_per_token (NaN if absent) */
  /* Unique sequences U(D) (/unique). Files made before unique counting have no /unique group:
   * has_unique = 0, prefixes = n_ngrams = 0 and the pointers NULL. */
  int has_unique;
  size_t prefixes;       /* P: corpus prefixes where U is counted */
  size_t n_ngrams;       /* n-gram lengths found (datasets /unique/ngrams_L) */
  double *prefix_tokens; /* [P] /unique/prefix_tokens, tokens */
  double *unique_pieces; /* [n_cells x P] /unique/pieces (NaN beyond a cell's D, or not run) */
  int64_t *ngram_len;    /* [n_ngrams] the lengths L, increasing */
  double *unique_ngrams; /* [n_ngrams x n_cells x P] /unique/ngrams_L in the order of ngram_len */
  /* Root only (not broadcast): descriptive text, "" when the file lacks it. */
  char *config;                     /* root attribute `config` (malloc'ed; NULL elsewhere) */
  char *cell_error;                 /* [n_cells x SL_ANALYSIS_STR_LEN] /grid/error, or NULL */
  char origin[SL_ANALYSIS_STR_LEN]; /* config_origin */
  char created[64];                 /* created_utc */
  char version[64];                 /* slingshot_version of the run */
  char git_sha[64];
  char config_sha[72];
  char unique_method[16]; /* /unique attribute method: "exact" or "hll" ("" if absent) */
} sl_analysis_data;

/* Not collective. Reads path; SL_ERR_IO for a missing or unreadable file, SL_ERR_FORMAT for a
 * file that is not HDF5, not a slingshot results file, of another format version, or lacking a
 * column (each message names the file). /unique is optional (has_unique 0 without it), but a
 * /unique group that is there must be complete: prefix_tokens [P], pieces [cells x P] and every
 * ngrams_L [cells x P]. Free d with sl_analysis_data_free. */
int sl_analysis_read(const char *path, sl_analysis_data *d);
/* Collective over comm: root's numbers (not its strings) to every rank. Others' d is
 * initialised here. */
int sl_analysis_data_bcast(sl_analysis_data *d, int root, MPI_Comm comm);
void sl_analysis_data_free(sl_analysis_data *d);

/* ------------------------------------------------------------------ writing /analysis */

typedef struct sl_analysis_writer sl_analysis_writer;

/* Not collective. Opens path read-write, deletes /analysis if present and creates it anew. */
int sl_analysis_open(const char *path, sl_analysis_writer **w);
/* Closes the file (flushing it). Safe on NULL. */
int sl_analysis_close(sl_analysis_writer *w);

/* A group at path (absolute, under /analysis), with a description attribute. */
int sl_analysis_group(sl_analysis_writer *w, const char *path, const char *description);
/* Attributes on the object at path (a group or dataset). */
int sl_analysis_attr_str(sl_analysis_writer *w, const char *path, const char *name,
                         const char *value);
int sl_analysis_attr_f64(sl_analysis_writer *w, const char *path, const char *name, double v);
int sl_analysis_attr_i64(sl_analysis_writer *w, const char *path, const char *name, int64_t v);
/* Datasets with units and description. rows x cols values (cols = 0: one-dimensional rows),
 * row-major; rows may be 0 (an empty dataset records "none"). */
int sl_analysis_write_f64(sl_analysis_writer *w, const char *path, size_t rows, size_t cols,
                          const double *v, const char *units, const char *description);
int sl_analysis_write_i64(sl_analysis_writer *w, const char *path, size_t n, const int64_t *v,
                          const char *units, const char *description);
/* n fixed-length strings (the longest sets the length). */
int sl_analysis_write_str(sl_analysis_writer *w, const char *path, size_t n, const char *const *s,
                          const char *units, const char *description);

#endif
