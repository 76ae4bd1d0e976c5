/* The compression-bound part of `slingshot analyze` (SCIENCE.md section 3): what /bounds says,
 * as /analysis/bounds, a section of report.md, bounds.csv and three figures. */
#ifndef SLINGSHOT_REPORT_BOUNDS_H
#define SLINGSHOT_REPORT_BOUNDS_H

#include <mpi.h>
#include <stddef.h>

/* Collective over comm. Cells of a grid variant other than the first (e.g. subspace training)
 * train differently, so the scaling-law fits leave them out: for each such cell with
 * drop_reason[i] == NULL, writes why into reasons + i * reason_len and points drop_reason[i] at
 * it. Rank 0 reads /grid/variant of file and broadcasts; a file without it changes nothing. */
int sl_bounds_variant_mask(const char *file, size_t n_cells, const char **drop_reason,
                           char *reasons, size_t reason_len, MPI_Comm comm);

/* Not collective (rank 0, after /analysis is written). Reads /bounds of into (a working copy
 * of file, see sl_h5_edit_begin; file names the results in the figures) and writes
 * /analysis/bounds into it, and into dir: bounds.csv, the figures bound_vs_n, slack_vs_n and
 * slack_vs_d (gnuplot script, data, PNG when figures and gnuplot is on PATH), and a section
 * appended to report.md. A file without /bounds gets a one-line note in report.md. */
int sl_report_bounds(const char *file, const char *into, const char *dir, int figures);

#endif
