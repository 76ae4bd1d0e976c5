/* Wall-clock timers per named phase, reduced across ranks at the end of a run.
 * sl_timer_start/stop are local; sl_timers_report is collective over comm. */
#ifndef SLINGSHOT_TIMER_H
#define SLINGSHOT_TIMER_H

#include <mpi.h>
#include <stdio.h>

double sl_wtime(void);
void sl_timer_start(const char *phase);
void sl_timer_stop(const char *phase);
/* Seconds accumulated in phase on this rank (0 if never started). */
double sl_timer_total(const char *phase);
void sl_timers_reset(void);
/* Collective over comm: rank 0 prints one line per phase (union over ranks) with the max, min and
 * mean seconds across ranks and the call count, like a profile. */
int sl_timers_report(MPI_Comm comm, FILE *out);

#endif
