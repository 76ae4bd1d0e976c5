/* Rank groups in `slingshot run`: the large cells of a grid (dp.h) trained data-parallel.
 *
 * Placement: a run has two phases. In the first, the ranks split (MPI_Comm_split) into
 * floor(P / R) groups of R = min(grid.group_size, P) consecutive ranks; each group's root takes the
 * next large cell (most expensive first) from a shared counter of its own and broadcasts it, and
 * the group trains it. The P mod R ranks left over start on the single-rank cells at once, and
 * every group joins them when no large cell is left: large cells first (they are the longest, so
 * the longest-processing-time rule puts them first anyway), the rest filling the gaps. */
#ifndef SLINGSHOT_RUN_GROUPS_H
#define SLINGSHOT_RUN_GROUPS_H

#include <mpi.h>
#include <stdint.h>

#include "slingshot/config.h"
#include "slingshot/grid.h"
#include "slingshot/results.h"
#include "slingshot/train.h"

typedef struct sl_run_groups_ctx {
  const sl_config *cfg;
  const sl_grid *grid;
  sl_results *res;
  sl_train_ckpt *ck; /* path is set per cell; dp is set and cleared here */
  const char *ckdir;
  sl_train_hook hook; /* progress: called by a group's root only */
  void *hook_ctx;
  sl_sched *sched; /* the run's single-cell scheduler: progress counters and the stop flag */
  sl_cell_result *cr;
} sl_run_groups_ctx;

/* Not collective: moves the large cells of todo into *large (allocated, [n_cells]); returns their
 * number and adds their cost to *cost. */
int64_t sl_run_groups_split(const sl_config *cfg, const sl_grid *grid, uint8_t *todo,
                            uint8_t **large, double *cost);

/* Collective over comm: the first phase. *sched_g receives the large cells' counter, to be freed
 * with sl_sched_destroy (collective) after the second phase. *n_interrupted counts cells this rank
 * saved on a signal (roots only); *local_err is set on an I/O error writing a row. */
int sl_run_groups(const sl_run_groups_ctx *c, const uint8_t *large, MPI_Comm comm,
                  sl_sched **sched_g, long long *n_interrupted, int *local_err);

#endif
