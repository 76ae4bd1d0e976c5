/* slingshot status: how far a results file has come. Only rank 0 reads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/cli.h"
#include "slingshot/error.h"
#include "slingshot/results.h"
#include "slingshot/train.h"

int sl_cmd_status(int argc, char **argv, MPI_Comm comm) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  int n_files = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      if (rank == 0)
        printf("usage: slingshot status FILE...\n\n"
               "Prints the number of done, todo, diverged and failed cells of each results file.\n"
               "Exit status 0 when every file was read.\n");
      return SL_OK;
    }
    if (argv[i][0] == '-')
      return SL_ERROR(SL_ERR_ARG, "unknown option '%s' for status (see slingshot status --help)",
                      argv[i]);
    n_files++;
  }
  SL_CHECK(n_files > 0, SL_ERR_ARG, "status needs a results file: slingshot status results.h5");
  int err = SL_OK;
  if (rank == 0) {
    for (int i = 1; i < argc && err == SL_OK; i++) {
      int64_t n = 0;
      int8_t *st = NULL;
      err = sl_results_read_status(argv[i], &n, &st);
      if (err != SL_OK) break;
      int64_t count[4] = {0, 0, 0, 0}; /* todo, done, diverged, failed */
      for (int64_t c = 0; c < n; c++) {
        int s = st[c];
        count[s == SL_CELL_DONE ? 1 : s == SL_CELL_DIVERGED ? 2 : s == SL_CELL_FAILED ? 3 : 0]++;
      }
      printf("%s: %lld cells: %lld done, %lld todo, %lld diverged, %lld failed\n", argv[i],
             (long long)n, (long long)count[1], (long long)count[0], (long long)count[2],
             (long long)count[3]);
      if (count[0] + count[3] > 0)
        printf("  finish with: mpirun -np RANKS slingshot run CONFIG -o %s --resume\n", argv[i]);
      free(st);
    }
  }
  int worst = err;
  MPI_Allreduce(&err, &worst, 1, MPI_INT, MPI_MAX, comm);
  return err;
}
