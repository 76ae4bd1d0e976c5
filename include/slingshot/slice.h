/* Slices of the grid for job arrays: `slingshot run --array-task I --array-count K` runs slice I
 * of K into its own file (a "part"), and `slingshot merge` puts the parts together.
 *
 * Slices are balanced by cost (planned training FLOPs, /grid/cost), not by count, with the
 * longest-processing-time rule: cells sorted by cost (descending, ties by index), each given to
 * the slice with the least cost so far (ties: the lowest slice index). Deterministic: it depends
 * only on the costs, which depend only on the config, so every array task computes the same
 * slices on its own, and status/merge recompute them from /grid/cost. LPT's largest slice is at
 * most 4/3 - 1/(3K) times the optimum, and at most (total / K) + (largest cell).
 *
 * A part file records what it owns (written at creation, see results.h): /grid/owned (int8 per
 * cell, 1: this file runs the cell) and root attributes array_task, array_count (-1, 0 without
 * slicing) and cells_first, cells_last (-1 without --cells). Cells it does not own stay todo
 * (status 0) there. A file without /grid/owned owns every cell.
 *
 * Nothing here is collective. */
#ifndef SLINGSHOT_SLICE_H
#define SLINGSHOT_SLICE_H

#include <stddef.h>
#include <stdint.h>

typedef struct sl_part_info {
  const uint8_t *owned;            /* [n_cells] 1: this file runs the cell; NULL: every cell */
  int64_t array_task, array_count; /* slice I of K; -1, 0 without slicing */
  int64_t cells_first, cells_last; /* the --cells range, inclusive; -1, -1 without */
} sl_part_info;

/* owner[i] = the slice (0..k-1) of cell i, by LPT on cost[0..n) (see above). */
int sl_slice_assign(const double *cost, int64_t n, int64_t k, int64_t *owner);

/* owned[i] = 1 when cell i is in slice task of count (every cell when count == 0) and in
 * [first, last] (every cell when first < 0). */
int sl_slice_mask(const double *cost, int64_t n, int64_t task, int64_t count, int64_t first,
                  int64_t last, uint8_t *owned);

/* Parses "A-B" or "A" (inclusive cell indices) for --cells; checks A <= B. */
int sl_slice_parse_cells(const char *s, int64_t *first, int64_t *last);

/* The slice of this array task when the command line gave none (task < 0 or count <= 0 on
 * entry; a value given on the command line is kept). getenv_fn looks up the environment (getenv,
 * or a table in tests). Read, in order:
 *   SLURM: task = SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN and count = SLURM_ARRAY_TASK_COUNT
 *          when --array-count is absent (a first submission, e.g. --array=0-3 or --array=1-4;
 *          a sparse list such as --array=1,3 is refused: it needs --array-count);
 *          task = SLURM_ARRAY_TASK_ID when --array-count K is given (the task ids are then the
 *          slice indices, as `slingshot status` lists them for resubmission).
 *   PBS:   task = PBS_ARRAY_INDEX (PBS Pro) or PBS_ARRAYID (Torque); PBS has no count variable,
 *          so --array-count is required.
 * source (>= 64 chars) receives where the values came from ("command line", "SLURM", "PBS"), or
 * "" when nothing asks for slicing (then count stays 0). */
int sl_slice_from_env(const char *(*getenv_fn)(const char *), int64_t *task, int64_t *count,
                      char *source, size_t source_size);

/* Writes the sorted indices list[0..n) as "0-3,5,7-8" into buf (truncated with "..." if long). */
void sl_slice_format_list(const int64_t *list, int64_t n, char *buf, size_t size);

#endif
