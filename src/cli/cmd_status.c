/* slingshot status: how far one or several results files (the parts of a job array) have come.
 * Only rank 0 reads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/cli.h"
#include "slingshot/error.h"
#include "slingshot/parts.h"
#include "slingshot/results.h"
#include "slingshot/train.h"

static void status_usage(void) {
  printf("usage: slingshot status [--array] FILE...\n\n"
         "Prints the number of done, todo, diverged and failed cells of each results file. Given\n"
         "the part files of a job array (slingshot run --array-task I --array-count K), it also\n"
         "prints the totals over the grid (a part counts only the cells it owns; slices with no\n"
         "file given count as todo) and the --array= list of the slices that still have work:\n"
         "resubmitting those array tasks, whose runs pass --resume, finishes the grid.\n\n"
         "options:\n"
         "  --array      print only that list (e.g. 1,3-4; an empty line when nothing is left),\n"
         "               for scripts: sbatch --array=$(slingshot status --array part*.h5) ...\n"
         "  -h, --help   this help\n\n"
         "Exit status 0 when every file was read.\n");
}

static void count_owned(const sl_part_file *p, int64_t count[4], int64_t *owned) {
  memset(count, 0, 4 * sizeof *count);
  *owned = 0;
  for (int64_t c = 0; c < p->n_cells; c++) {
    if (!p->owned[c]) continue;
    int s = p->status[c];
    count[s == SL_CELL_DONE ? 1 : s == SL_CELL_DIVERGED ? 2 : s == SL_CELL_FAILED ? 3 : 0]++;
    (*owned)++;
  }
}

static int status_files(char **paths, int n, int array_only) {
  sl_part_file *f;
  SL_ALLOC(f, n);
  int err = SL_OK, opened = 0, parts = 0;
  for (; opened < n && err == SL_OK; opened++)
    err = sl_part_open(paths[opened], &f[opened]);
  if (err != SL_OK) goto done;
  for (int i = 0; i < n; i++) {
    int64_t count[4], owned;
    count_owned(&f[i], count, &owned);
    parts += f[i].is_part;
    if (array_only) continue;
    char what[96] = "";
    if (f[i].array_count > 0)
      snprintf(what, sizeof what, " (slice %lld of %lld)", (long long)f[i].array_task,
               (long long)f[i].array_count);
    else if (f[i].is_part)
      snprintf(what, sizeof what, " (cells %lld-%lld)", (long long)f[i].cells_first,
               (long long)f[i].cells_last);
    char of[48] = "";
    if (f[i].is_part) snprintf(of, sizeof of, " of %lld", (long long)f[i].n_cells);
    printf("%s%s: %lld%s cells: %lld done, %lld todo, %lld diverged, %lld failed\n", paths[i], what,
           (long long)owned, of, (long long)count[1], (long long)count[0], (long long)count[2],
           (long long)count[3]);
    if (!f[i].is_part && count[0] + count[3] > 0)
      printf("  finish with: mpirun -np RANKS slingshot run CONFIG -o %s --resume\n", paths[i]);
  }
  sl_status_total t;
  SL_CALL_GOTO(sl_status_totals(f, n, &t), done);
  if (array_only) {
    printf("%s\n", t.slices);
    goto done;
  }
  if (n == 1 && !parts) goto done;
  if (!t.same_run) {
    printf("(no totals: these files come from different configs or grids)\n");
    goto done;
  }
  printf("total over %d file%s: %lld cells: %lld done, %lld todo, %lld diverged, %lld failed\n", n,
         n > 1 ? "s" : "", (long long)t.n_cells, (long long)t.count[1], (long long)t.count[0],
         (long long)t.count[2], (long long)t.count[3]);
  if (t.array_count > 0) {
    /* Slices with no file among those given. */
    int64_t *absent = calloc((size_t)t.array_count + 1, sizeof *absent), m = 0;
    SL_CHECK_GOTO(absent, SL_ERR_NOMEM, done, "out of memory");
    for (int64_t k = 0; k < t.array_count; k++) {
      int seen = 0;
      for (int i = 0; i < n && !seen; i++)
        seen = f[i].array_task == k;
      if (!seen) absent[m++] = k;
    }
    if (m > 0) {
      char list[1024];
      sl_slice_format_list(absent, m, list, sizeof list);
      printf("no file given for slice%s %s of %lld (counted as todo)\n", m > 1 ? "s" : "", list,
             (long long)t.array_count);
    }
    free(absent);
  }
  if (t.count[0] + t.count[3] == 0)
    printf("nothing left to run: merge the parts with slingshot merge FILE... -o results.h5\n");
  else if (t.slices[0])
    printf("slices with work left: --array=%s\n"
           "  resubmit them (the runs pass --resume, so they continue), e.g.\n"
           "  hpc/submit-slurm.sh CONFIG %lld --array %s   (or sbatch --array=%s "
           "hpc/slurm-array.sh CONFIG %lld)\n",
           t.slices, (long long)t.array_count, t.slices, t.slices, (long long)t.array_count);
done:
  for (int i = 0; i < n; i++)
    sl_part_free(&f[i]);
  free(f);
  return err;
}

int sl_cmd_status(int argc, char **argv, MPI_Comm comm) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  int n_files = 0, array_only = 0;
  char **files = calloc((size_t)argc + 1, sizeof *files);
  SL_CHECK(files, SL_ERR_NOMEM, "out of memory");
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      if (rank == 0) status_usage();
      free(files);
      return SL_OK;
    }
    if (!strcmp(argv[i], "--array")) {
      array_only = 1;
      continue;
    }
    if (argv[i][0] == '-') {
      free(files);
      return SL_ERROR(SL_ERR_ARG, "unknown option '%s' for status (see slingshot status --help)",
                      argv[i]);
    }
    files[n_files++] = argv[i];
  }
  if (n_files == 0) free(files);
  SL_CHECK(n_files > 0, SL_ERR_ARG, "status needs a results file: slingshot status results.h5");
  int err = rank == 0 ? status_files(files, n_files, array_only) : SL_OK;
  free(files);
  int worst = err;
  MPI_Allreduce(&err, &worst, 1, MPI_INT, MPI_MAX, comm);
  return err;
}
