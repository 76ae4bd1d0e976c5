/* Part files of a job array (include/slingshot/slice.h): reading what a part owns, checking a
 * part before --resume, merging parts into one results file, and status over several files.
 *
 * Merge (`slingshot merge`). Every part must hold the same format, format_version,
 * slingshot_version, config_sha256 and number of cells as the first; an error names the file
 * that differs. A cell's source is the first part (in the order given) that owns the cell and
 * has it finished (status done, diverged or failed). A cell finished in several parts must agree
 * there on every per-cell dataset (bitwise, NaN included), except the per-run ones (datasets
 * named wall_s or rank, or with units "s"): then it is taken once; otherwise the merge is
 * refused, naming the cell, the dataset and both files. Per-cell datasets are found generically:
 * every dataset whose first dimension is the number of cells (other than /grid/owned, and
 * outside /analysis), so datasets that other modules add are merged without code here. Cells no
 * part finished are "missing": they stay todo (status 0) in the output, so `slingshot run
 * --resume` on it completes them. The output is a normal results file (no /grid/owned, no
 * array attributes; a root attribute merged_parts); it is written to a temporary name and
 * renamed at the end, so a failed merge leaves no output, and an existing output is replaced
 * only with force.
 *
 * Nothing here is collective except sl_part_check_resume; the rest uses serial HDF5 (rank 0). */
#ifndef SLINGSHOT_PARTS_H
#define SLINGSHOT_PARTS_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "slingshot/slice.h"

typedef struct sl_part_file {
  char *path;
  int64_t n_cells;
  int8_t *status;                  /* [n_cells] /grid/status */
  uint8_t *owned;                  /* [n_cells] /grid/owned, or all 1 without it */
  double *cost;                    /* [n_cells] /grid/cost */
  int is_part;                     /* 1: the file has /grid/owned */
  int64_t array_task, array_count; /* -1, 0 when not a slice */
  int64_t cells_first, cells_last; /* -1, -1 without --cells */
  int64_t format_version;
  char config_sha256[65];
  char slingshot_version[64];
} sl_part_file;

/* Not collective: reads and checks a results file (format, version) and its ownership. */
int sl_part_open(const char *path, sl_part_file *out);
void sl_part_free(sl_part_file *p);

/* Collective over comm (rank 0 reads): before `run --resume` of an existing file, checks that it
 * is the same part as the one asked for (want NULL: the whole grid), naming both otherwise. */
int sl_part_check_resume(const char *path, const sl_part_info *want, int64_t n_cells,
                         MPI_Comm comm);

typedef struct sl_merge_report {
  int64_t n_cells, n_done, n_diverged, n_failed, n_missing, n_duplicates;
  int64_t n_datasets;  /* per-cell datasets copied */
  char missing[1024];  /* the missing cells, e.g. "3-5,9" */
  char slices[1024];   /* the slices that own missing cells (when known), e.g. "1,3" */
  int64_t array_count; /* K of the parts (0 when they are not slices of one K) */
} sl_merge_report;

/* Not collective: merges parts[0..n) into out (see above). */
int sl_merge(const char *const *parts, int n, const char *out, int force, sl_merge_report *rep);

/* Work left over a set of files of one run (status over parts). */
typedef struct sl_status_total {
  int same_run;        /* 1: every file has the same config and cell count: totals below */
  int64_t n_cells;     /* cells of the grid */
  int64_t count[4];    /* todo, done, diverged, failed over the union (best status per cell,
                          cells owned by no file counted todo) */
  int64_t array_count; /* K when every part is a slice of the same K, else 0 */
  char slices[1024];   /* slices with work left ("" when none or not slices) */
  int64_t n_slices_left;
} sl_status_total;

/* Not collective: totals over files[0..n) opened with sl_part_open. */
int sl_status_totals(const sl_part_file *files, int n, sl_status_total *t);

#endif
