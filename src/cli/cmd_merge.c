/* slingshot merge: the part files of a job array into one results file (src/io/parts.c).
 * Only rank 0 works (serial HDF5); under mpirun the other ranks wait. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/cli.h"
#include "slingshot/error.h"
#include "slingshot/parts.h"

static void merge_usage(void) {
  printf(
      "usage: slingshot merge PART... [-o results.h5] [--force]\n\n"
      "Merges the part files of a job array (slingshot run --array-task I --array-count K, or\n"
      "--cells A-B) into one normal results file, which status, analyze and export read.\n"
      "Every part must come from the same config (config_sha256), format and slingshot version;\n"
      "the error names the part that differs. A cell finished in two parts is taken once when\n"
      "both agree on every dataset (wall time and rank aside), and refused otherwise, naming the\n"
      "cell and both parts. Cells no part finished are reported and left todo in the output, so\n"
      "slingshot run CONFIG -o results.h5 --resume completes them (or resubmit the slices listed\n"
      "and merge again). Every per-cell dataset is copied, whatever module wrote it.\n\n"
      "options:\n"
      "  -o, --output FILE  the merged file (default: NAME.h5 for parts named "
      "NAME.part-I-of-K.h5)\n"
      "  --force            replace an existing output (it is kept until the merge succeeds)\n"
      "  -h, --help         this help\n");
}

/* NAME.h5 from NAME.part-... or NAME.cells-... (0: the name does not say). */
static int default_output(const char *part, char *buf, size_t size) {
  const char *base = strrchr(part, '/');
  base = base ? base + 1 : part;
  const char *cut = strstr(base, ".part-");
  if (!cut) cut = strstr(base, ".cells-");
  if (!cut || cut == base) return 0;
  snprintf(buf, size, "%.*s.h5", (int)(cut - part), part);
  return 1;
}

static int merge_rank0(const char **parts, int n, const char *out, int force) {
  sl_merge_report r;
  SL_CALL(sl_merge(parts, n, out, force, &r));
  printf("merged %d part%s into %s: %lld cells: %lld done, %lld diverged, %lld failed, %lld "
         "missing; %lld identical duplicate%s taken once; %lld per-cell datasets\n",
         n, n > 1 ? "s" : "", out, (long long)r.n_cells, (long long)r.n_done,
         (long long)r.n_diverged, (long long)r.n_failed, (long long)r.n_missing,
         (long long)r.n_duplicates, r.n_duplicates == 1 ? "" : "s", (long long)r.n_datasets);
  if (r.n_missing > 0) {
    printf("missing: %lld cell%s (%s), left todo in %s.\n", (long long)r.n_missing,
           r.n_missing > 1 ? "s" : "", r.missing, out);
    if (r.slices[0])
      printf("  finish them: resubmit --array=%s (the runs pass --resume) and merge again,\n"
             "  or: mpirun -np RANKS slingshot run CONFIG -o %s --resume\n",
             r.slices, out);
    else
      printf("  finish them: mpirun -np RANKS slingshot run CONFIG -o %s --resume\n", out);
  }
  fflush(stdout);
  return SL_OK;
}

int sl_cmd_merge(int argc, char **argv, MPI_Comm comm) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  const char **parts = calloc((size_t)argc + 1, sizeof *parts);
  SL_CHECK(parts, SL_ERR_NOMEM, "out of memory");
  const char *out = NULL;
  int n = 0, force = 0, err = SL_OK;
  for (int i = 1; i < argc && err == SL_OK; i++) {
    const char *s = argv[i];
    if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
      if (rank == 0) merge_usage();
      free(parts);
      return SL_OK;
    } else if (!strcmp(s, "-o") || !strcmp(s, "--output")) {
      if (i + 1 < argc)
        out = argv[++i];
      else
        err = SL_ERROR(SL_ERR_ARG, "%s needs a file name", s);
    } else if (!strcmp(s, "--force")) {
      force = 1;
    } else if (s[0] == '-') {
      err = SL_ERROR(SL_ERR_ARG, "unknown option '%s' for merge (see slingshot merge --help)", s);
    } else {
      parts[n++] = s;
    }
  }
  char name[1024];
  if (err == SL_OK && n == 0)
    err = SL_ERROR(SL_ERR_ARG, "merge needs part files: slingshot merge part*.h5 -o results.h5");
  if (err == SL_OK && !out) {
    if (default_output(parts[0], name, sizeof name))
      out = name;
    else
      err = SL_ERROR(SL_ERR_ARG, "give the merged file with -o results.h5");
  }
  if (err == SL_OK && rank == 0) err = merge_rank0(parts, n, out, force);
  free(parts);
  int worst = err;
  MPI_Allreduce(&err, &worst, 1, MPI_INT, MPI_MAX, comm);
  if (worst != SL_OK && err == SL_OK) err = SL_ERROR(worst, "rank 0 failed (see its message)");
  return err;
}
