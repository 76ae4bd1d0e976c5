/* The grid of cells and the MPI scheduler that hands them out.
 *
 * A cell is (N target, D tokens, seed, variant). Its index is its position in the expansion
 * order seeds x variants x N x D (D fastest), and its numbers depend only on (config, index).
 *
 * Scheduling is dynamic and without a dedicated master: cells are sorted by cost (most expensive
 * first, the longest-processing-time rule) and every rank takes the next one from a shared counter
 * with MPI_Fetch_and_op, so a rank that finishes early takes more cells. The same window carries
 * counters for progress (cells done, FLOPs done, tokens trained) that rank 0 reads, and a stop flag
 * by which a rank that got SIGTERM/SIGUSR1 tells the others to stop taking cells. */
#ifndef SLINGSHOT_GRID_H
#define SLINGSHOT_GRID_H

#include <mpi.h>
#include <stdint.h>

#include "slingshot/config.h"
#include "slingshot/model.h"
#include "slingshot/train.h"

typedef struct sl_grid {
  int64_t n_cells;
  sl_cell *cells;
} sl_grid;

/* Expands cfg into cells (not collective; identical on every rank). V is the vocabulary. */
int sl_grid_expand(const sl_config *cfg, int V, sl_grid *grid);
void sl_grid_free(sl_grid *grid);

typedef struct sl_sched sl_sched;

/* Collective over comm: sets up the shared counter over the cells with todo[i] != 0, ordered by
 * cost (descending, ties by index). */
int sl_sched_create(const sl_grid *grid, const uint8_t *todo, MPI_Comm comm, sl_sched **out);
/* Not collective: the next cell index for this rank, or -1 when the grid is exhausted. */
int sl_sched_next(sl_sched *s, int64_t *cell);
/* Not collective: preemption across ranks. If this rank was asked to stop (preempt.h), records
 * the stop in the shared window so that every rank sees it; if another rank recorded one, raises
 * the stop here (sl_preempt_raise). *stopped = 1 when the run is stopping. sl_sched_next calls it
 * and returns -1 once stopped. */
int sl_sched_poll_stop(sl_sched *s, int *stopped);
/* Not collective: adds to the shared progress counters (one-sided). */
int sl_sched_report(sl_sched *s, int64_t cells_done, double flops, int64_t tokens);
/* Not collective: reads the shared counters (cells done, FLOPs done, tokens). */
int sl_sched_progress(sl_sched *s, int64_t *cells_done, double *flops, int64_t *tokens);
/* Number of cells to do and their total cost. */
int64_t sl_sched_total(const sl_sched *s, double *cost);
/* Collective: frees the window. */
int sl_sched_destroy(sl_sched *s);

#endif
