/* slingshot: the command line. Only this file ends the program. */
#include <hdf5.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "slingshot/cli.h"
#include "slingshot/error.h"
#include "slingshot/log.h"
#include "slingshot/preempt.h"
#include "slingshot/results.h"

static void usage(FILE *f) {
  fprintf(f,
          "slingshot: an MPI simulator of scaling laws and emergence on synthetic languages\n\n"
          "usage: slingshot COMMAND [options]   (slingshot COMMAND --help for each)\n\n"
          "  run [CONFIG] [-o results.h5] [--resume] [--force]   train the grid into one file\n"
          "  status results.h5                                  done / todo / failed cells\n"
          "  merge part*.h5 -o results.h5                       job-array parts into one file\n"
          "  fit --csv table.csv                                 fit L(N,D) to external data\n"
          "  analyze results.h5 [-o DIR]                        fits into /analysis, report\n"
          "  export results.h5 --csv [-o OUT.csv]               one CSV row per cell\n"
          "  bench train|corpus|hessian|grid                    benchmarks that print figures\n"
          "  theory [CONFIG] [-o theory.h5]                     skill-theorem curves, Monte Carlo\n"
          "\nRun under MPI: mpirun -np 2 slingshot run\n");
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  sl_log_init(rank, size, SL_LOG_INFO);
  /* HDF5 would print its own error stack for every expected failure (a file that is not HDF5);
   * slingshot reports errors itself. SLINGSHOT_HDF5_ERRORS=1 shows the stacks for debugging. */
  if (!getenv("SLINGSHOT_HDF5_ERRORS")) H5Eset_auto2(H5E_DEFAULT, NULL, NULL);

  int err = SL_OK;
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    if (rank == 0) usage(argc < 2 ? stderr : stdout);
    err = argc < 2 ? SL_ERR_ARG : SL_OK;
    if (err) sl_error_set(err, __func__, __FILE__, __LINE__, "no command given");
  } else if (strcmp(argv[1], "run") == 0) {
    err = sl_cmd_run(argc - 1, argv + 1, MPI_COMM_WORLD);
  } else if (strcmp(argv[1], "status") == 0) {
    err = sl_cmd_status(argc - 1, argv + 1, MPI_COMM_WORLD);
  } else if (strcmp(argv[1], "fit") == 0) {
    err = sl_cmd_fit(argc - 1, argv + 1, MPI_COMM_WORLD);
  } else if (strcmp(argv[1], "analyze") == 0) {
    err = sl_cmd_analyze(argc - 1, argv + 1, MPI_COMM_WORLD);
  } else if (strcmp(argv[1], "export") == 0) {
    err = sl_cmd_export(argc - 1, argv + 1, MPI_COMM_WORLD);
  } else if (strcmp(argv[1], "merge") == 0) {
    err = sl_cmd_merge(argc - 1, argv + 1, MPI_COMM_WORLD);
  } else if (strcmp(argv[1], "theory") == 0) {
    err = sl_cmd_theory(argc - 1, argv + 1, MPI_COMM_WORLD);
  } else if (strcmp(argv[1], "bench") == 0) {
    err = sl_cmd_bench(argc - 1, argv + 1, MPI_COMM_WORLD);
  } else {
    if (rank == 0) usage(stderr);
    err = sl_error_set(SL_ERR_ARG, __func__, __FILE__, __LINE__,
                       "unknown command '%s' (commands: run, status, merge, analyze, fit, export, "
                       "bench, theory)",
                       argv[1]);
  }
  /* Ranks may disagree (an error seen by one rank only). Rank 0 prints its error; another rank
   * prints its own only when rank 0 has none, so an error all ranks share appears once. The exit
   * code is the worst over ranks, so mpirun exits non-zero. */
  int worst = err, root_err = err;
  MPI_Allreduce(&err, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Bcast(&root_err, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (err != SL_OK && (rank == 0 || root_err == SL_OK)) {
    if (size > 1) fprintf(stderr, "[rank %d] ", rank);
    /* A mistake of the user's is one line that says what to change; the traceback is for bugs
     * and failures of the system underneath (or --log-level debug). */
    int user = err == SL_ERR_ARG || err == SL_ERR_CONFIG || err == SL_ERR_IO ||
               err == SL_ERR_STATE || err == SL_ERR_FORMAT || err == SL_ERR_INTERRUPTED;
    if (err == SL_ERR_INTERRUPTED)
      fprintf(stderr, "slingshot: %s\n", sl_error_message());
    else if (user && sl_log_get_level() < SL_LOG_DEBUG)
      fprintf(stderr, "error: %s\n", sl_error_message());
    else
      sl_error_print(stderr);
  }
  if (sl_results_abandoned()) { /* see results.h: HDF5's shutdown would crash on the file */
    fflush(stdout);
    fflush(stderr);
    MPI_Barrier(MPI_COMM_WORLD);
    _exit(1);
  }
  MPI_Finalize();
  /* A run stopped by SIGTERM/SIGUSR1 saved its state: a distinct code says "rerun --resume". */
  if (worst == SL_ERR_INTERRUPTED) return SL_EXIT_INTERRUPTED;
  return worst == SL_OK ? 0 : 1;
}
