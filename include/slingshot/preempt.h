/* Preemption: SIGTERM and SIGUSR1 (what SLURM sends before a wall-time limit or a preemption with
 * --signal, and what mpirun forwards to its ranks) ask the run to stop cleanly.
 *
 * The handler only sets a volatile sig_atomic_t flag (async-signal-safe); the training loop reads
 * it at every step boundary, saves the cell's checkpoint and returns SL_ERR_INTERRUPTED, and the
 * run stops taking cells, closes the results file and exits with SL_EXIT_INTERRUPTED. Nothing here
 * is collective; spreading a stop to ranks that got no signal is the scheduler's job (grid.h). */
#ifndef SLINGSHOT_PREEMPT_H
#define SLINGSHOT_PREEMPT_H

/* The process exit code of a run stopped by a signal: EX_TEMPFAIL of sysexits.h ("try again
 * later"), distinct from 1 (an error). Rerunning with --resume continues the grid. */
#define SL_EXIT_INTERRUPTED 75

/* Installs the handlers for SIGTERM and SIGUSR1 (SA_RESTART, so interrupted system calls resume).
 * Returns SL_ERR_INTERNAL if sigaction fails. */
int sl_preempt_install(void);
/* Restores the handlers that were in place before sl_preempt_install. */
void sl_preempt_uninstall(void);
/* The signal that asked to stop (SIGTERM, SIGUSR1), -1 for a stop raised by sl_preempt_raise, or
 * 0 when no stop was asked for. */
int sl_preempt_requested(void);
/* Asks this process to stop as if a signal had come (used when another rank got the signal). */
void sl_preempt_raise(void);
/* Forgets a request (for tests and for a process that runs several commands). */
void sl_preempt_clear(void);

#endif
