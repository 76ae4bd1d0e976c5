/* The end of a run's cell loop under preemption. See run_preempt.h. */
#include "run_preempt.h"

#include <time.h>

#include "slingshot/error.h"
#include "slingshot/preempt.h"

int sl_run_wait_agree(sl_sched *sched, const long long mine[3], long long all[3], MPI_Comm comm) {
  MPI_Request req;
  SL_CALL_MPI(MPI_Iallreduce(mine, all, 3, MPI_LONG_LONG, MPI_MAX, comm, &req));
  const struct timespec nap = {0, 5000000}; /* 5 ms: idle ranks leave the cores to busy ones */
  for (;;) {
    int done = 0;
    SL_CALL_MPI(MPI_Test(&req, &done, MPI_STATUS_IGNORE));
    if (done) break;
    if (sl_preempt_requested()) {
      int stopped;
      SL_CALL(sl_sched_poll_stop(sched, &stopped));
    }
    nanosleep(&nap, NULL);
  }
  return SL_OK;
}
