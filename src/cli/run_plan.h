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
/* Bytes of memory this node's ranks may use: MemAvailable, or less under a cgroup limit (Slurm,
 * containers); SLINGSHOT_MEM_AVAILABLE (bytes) overrides both. 0 if unknown. Not collective. */
double sl_run_node_memory(void);
/* Collective: the MPI layout against the grid. Every node's first rank reports its ranks, memory
 * and whether it can write the output's directory; rank 0 appends one line per problem to msg
 * (at *len, advanced) and warns when ranks outnumber cells. Only rank 0's msg is filled. */
int sl_run_check_layout(const sl_config *cfg, const sl_grid *g, const char *output, MPI_Comm comm,
                        char *msg, size_t size, size_t *len);
/* Not collective (rank 0): the expanded grid with each cell's FLOPs, memory and a measured time
 * estimate, and the expected wall time on `ranks` under the scheduler's rule. */
int sl_run_dry_run(const sl_config *cfg, const sl_grid *g, int ranks, FILE *out);

#endif
