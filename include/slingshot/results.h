/* The results file: one parallel HDF5 file per run, laid out as in DESIGN.md ("The results
 * file"), readable with h5py or h5dump alone.
 *
 * How it is written, and why. All ranks create the structure collectively at the start: every
 * dataset, sized for every cell of the grid, allocated at once (contiguous, NaN/0 fill), with
 * its units and description, then the file is flushed. After that a finished cell's row is
 * written by the rank that ran it, at once, with independent MPI-IO transfers into those
 * pre-allocated datasets; the cell's status byte goes last. No metadata changes after the
 * flush, so a run killed at any moment leaves a readable file in which every cell marked done is
 * complete (a collective write per cell would make every rank wait for the slowest cell). */
#ifndef SLINGSHOT_RESULTS_H
#define SLINGSHOT_RESULTS_H

#include <mpi.h>
#include <stdint.h>

#include "slingshot/config.h"
#include "slingshot/grid.h"
#include "slingshot/lang.h"
#include "slingshot/slice.h"
#include "slingshot/train.h"

#define SL_RESULTS_FORMAT "slingshot-results"
#define SL_RESULTS_VERSION 1
#define SL_RESULTS_ERROR_LEN 256
/* The attribute `formula` of /bounds: how every bound in the file is recomputed by hand. */
#define SL_BOUNDS_FORMULA                                                                          \
  "Per cell and smoothing level a (SCIENCE.md section 3): bound[a] = risk_emp[a] + delta[a] * "    \
  "(term_m + term_n), delta[a] = log2(1 + (1 - a) V / a) with V = 2^log2_vocab, term_m = "         \
  "sqrt((k_nats - ln(r eps)) / (2 m)), term_n = sqrt(-ln((1 - r) eps) / (2 n)), r = n / (n + m), " \
  "k_nats = (c_bits + 2 log2(c_bits) + extra_bits) ln 2, c_bits = code_bits + codebook_bits + "    \
  "count_bits. best_bound = min over a; slack = best_bound - best_risk_pop. Top-k: topk_bound = "  \
  "topk_emp + term_m + term_n (Delta = 1). A piece is one text piece of the skills language, "     \
  "scored after a fixed context ending in EOS; risks are bits per token, the mean over a "         \
  "piece's tokens, averaged over pieces."

typedef struct sl_results sl_results;

typedef struct sl_run_info {
  const sl_config *cfg;
  const char *config_text; /* the resolved text (sl_config_to_text) */
  const sl_grid *grid;
  const sl_skills_lang *lang; /* for /language (any seed: the entropy does not depend on it) */
  int mpi_ranks;
  const sl_part_info *part; /* NULL: the whole grid; else a part file (slice.h): /grid/owned and
                               the array_task/array_count/cells_first/cells_last attributes */
  const struct sl_language *language; /* language.kind hmm or pcfg (lang NULL): /language from it */
} sl_run_info;

/* Collective. Creates a new results file at path with the whole structure. Refuses an existing
 * file unless force. */
int sl_results_create(const char *path, const sl_run_info *info, int force, MPI_Comm comm,
                      sl_results **out);
/* Collective. Opens an existing file to continue it: refuses a file that is not a slingshot
 * results file, of another format version, or made with another config (naming the keys that
 * differ). status (all ranks) receives /grid/status, [grid->n_cells]. */
int sl_results_resume(const char *path, const sl_run_info *info, MPI_Comm comm, sl_results **out,
                      int8_t *status);
/* Not collective: writes one finished (or failed) cell, status last. */
int sl_results_write_cell(sl_results *r, const sl_cell *cell, const sl_cell_result *res, int rank);
/* Collective. */
int sl_results_close(sl_results *r);

/* Not collective: gives up a file whose writes failed (disk full, I/O error) without closing it
 * (closing would fail and leave HDF5 to crash at exit); the caller then ends the process without
 * MPI_Finalize when sl_results_abandoned() is true. The cells marked done stay readable. */
void sl_results_abandon(sl_results *r);
int sl_results_abandoned(void);
/* Not collective (serial HDF5): reads n_cells and /grid/status of a results file; checks the
 * format. *status is malloc'ed. */
int sl_results_read_status(const char *path, int64_t *n_cells, int8_t **status);
/* Not collective: reads the root attribute `config` (malloc'ed). */
int sl_results_read_config(const char *path, char **text);

#endif
