/* Private to src/cli: what `slingshot run` checks and prints before training. */
#ifndef SLINGSHOT_CLI_RUN_PLAN_H
#define SLINGSHOT_CLI_RUN_PLAN_H

#include <mpi.h>
#include <stdio.h>

#include "slingshot/config.h"
#include "slingshot/grid.h"

/* "1h02m", "3m05s", or "--" for a negative or non-finite time. */
void sl_fmt_duration(double seconds, char *buf, size_t size);
/* "1.5 GiB". */
void sl_fmt_bytes(double bytes, char *buf, size_t size);
/* Collective: every problem with memory (the largest cell times the ranks of a node against
 * MemAvailable) and disk (the results file against the free space of its directory), at once. */
int sl_run_check_resources(const sl_config *cfg, const sl_grid *g, const char *output,
                           MPI_Comm comm);
/* Not collective (rank 0): the expanded grid with each cell's FLOPs, memory and a measured time
 * estimate, and the expected wall time on `ranks` under the scheduler's rule. */
int sl_run_dry_run(const sl_config *cfg, const sl_grid *g, int ranks, FILE *out);

#endif
