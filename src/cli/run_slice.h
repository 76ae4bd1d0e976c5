/* Private to src/cli: `slingshot run --array-task I --array-count K --cells A-B`, the slice of
 * the grid a job-array task runs into its own part file (include/slingshot/slice.h). */
#ifndef SLINGSHOT_CLI_RUN_SLICE_H
#define SLINGSHOT_CLI_RUN_SLICE_H

#include <mpi.h>
#include <stdint.h>
#include <stdio.h>

#include "slingshot/config.h"
#include "slingshot/grid.h"
#include "slingshot/slice.h"

typedef struct sl_run_slice {
  int active;        /* 1: this run is a part (a slice and/or --cells) */
  sl_part_info part; /* part.owned points into owned */
  uint8_t *owned;    /* [n_cells] */
  int64_t n_owned;
  double cost_owned, cost_total, cost_max_slice, cost_bound; /* FLOPs; max over the K slices
                                                                 and max(total/K, largest cell) */
  char source[64];                                           /* "command line", "SLURM" or "PBS" */
} sl_run_slice;

/* Collective: the slice from the options (task < 0, count <= 0, cells NULL when absent) or, for
 * what they leave out, the job array's environment as rank 0 sees it. Same on every rank. */
int sl_run_slice_setup(const sl_grid *g, long long task, long long count, const char *cells,
                       MPI_Comm comm, sl_run_slice *s);
void sl_run_slice_free(sl_run_slice *s);
/* The default output name of a part: NAME.part-I-of-K.h5, NAME.cells-A-B.h5 or both. */
void sl_run_slice_output(const sl_run_slice *s, const char *name, char *buf, size_t size);
/* One line saying what the slice is ("slice 1 of 4 (SLURM): 3 of 8 cells, 26% of the FLOPs"). */
void sl_run_slice_describe(const sl_run_slice *s, char *buf, size_t size);
/* Not collective (rank 0): the dry run of the slice's cells only, after a line describing it. */
int sl_run_slice_dry_run(const sl_config *cfg, const sl_grid *g, const sl_run_slice *s, int ranks,
                         FILE *out);

#endif
