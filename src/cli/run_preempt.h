/* The end of a run's cell loop under preemption (see include/slingshot/preempt.h). */
#ifndef SLINGSHOT_RUN_PREEMPT_H
#define SLINGSHOT_RUN_PREEMPT_H

#include <mpi.h>

#include "slingshot/grid.h"

/* Collective over comm: the element-wise maximum of mine[3] over ranks into all[3]. A rank waits
 * in a non-blocking all-reduce, sleeping between tests, and while it waits passes a SIGTERM or
 * SIGUSR1 it gets on to the ranks still training (through the scheduler's stop flag), so a signal
 * that reaches only an idle rank still stops the run. */
int sl_run_wait_agree(sl_sched *sched, const long long mine[3], long long all[3], MPI_Comm comm);

#endif
