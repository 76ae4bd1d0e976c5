/* slingshot export FILE --csv: the per-cell columns of a results file as one tidy CSV table, one
 * row per cell, readable by any spreadsheet, R or pandas without HDF5.
 *
 * Only rank 0 reads and writes; the other ranks wait and return the same status (collective in
 * that sense only). The output is written to a temporary file in the same directory and renamed
 * into place, so a failed export never leaves half a table under the final name. */
#include <errno.h>
#include <hdf5.h>
#include <libgen.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "slingshot/cli.h"
#include "slingshot/config.h"
#include "slingshot/error.h"
#include "slingshot/results.h"
#include "slingshot/train.h"
#include "options.h"

/* The groups whose 1-D per-cell datasets become columns, in this order; /grid and /cells are in
 * every results file, the measurement groups only when the config measured them. */
static const struct {
  const char *name;
  int required;
} EXPORT_GROUPS[] = {{"grid", 1}, {"cells", 1}, {"skills", 0}, {"bounds", 0}, {"flatness", 0}};
#define N_EXPORT_GROUPS (sizeof EXPORT_GROUPS / sizeof EXPORT_GROUPS[0])

/* 1-D datasets of those groups that are not per cell (their length may equal the cell count by
 * chance: 8 smoothing levels in a grid of 8 cells). */
static const char *const NOT_PER_CELL[] = {"bounds/alphas"};
#define N_NOT_PER_CELL (sizeof NOT_PER_CELL / sizeof NOT_PER_CELL[0])

typedef struct export_args {
  const char *file;
  const char *out; /* NULL: FILE without .h5 + ".csv"; "-": stdout */
  int csv, force, help;
} export_args;

static void export_usage(FILE *f) {
  fprintf(f, "usage: slingshot export FILE --csv [-o OUT.csv] [--force] [--help]\n\n"
             "Writes the per-cell columns of a results file as one tidy CSV table: a header line,\n"
             "then one row per cell (all cells, whatever their status), in cell order.\n\n"
             "Columns: `cell` (the row index of /grid and /cells), then every one-dimensional\n"
             "per-cell dataset of /grid, /cells, and of /skills, /bounds and /flatness when the\n"
             "file has them, each group's in alphabetical order, named GROUP.NAME (grid.n_params,\n"
             "cells.val_loss, bounds.best_bound, ...): always with the group, so a name never\n"
             "changes with the file and /grid/n_params and /cells/n_params stay apart.\n"
             "Multi-dimensional datasets (/curves, /unique, /skills/competence, /bounds/bound,\n"
             "...) are not exported (h5dump or h5py).\n\n"
             "Values: grid.status as text (todo, done, diverged, failed); other integers as\n"
             "integers; floating point as %%.17g (reads back to the same double); NaN (a cell not\n"
             "run yet, or a value that does not apply) as an EMPTY field, which R, pandas and\n"
             "spreadsheets read as missing; +-infinity as inf and -inf; strings quoted as in\n"
             "RFC 4180 when they hold a comma, a double quote or a line break (quotes doubled).\n\n"
             "  --csv        the format (the only one so far; required)\n"
             "  -o OUT.csv   the output (default: FILE without .h5, plus .csv); - for stdout\n"
             "  --force      overwrite an existing OUT.csv (refused otherwise)\n");
}

static const char *const g_export_options[] = {"--csv", "-o", "--output", "--force", "--help"};
#define N_EXPORT_OPTIONS (sizeof g_export_options / sizeof g_export_options[0])

static int export_parse(int argc, char **argv, export_args *a) {
  memset(a, 0, sizeof *a);
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (arg[0] != '-' || arg[1] == '\0') {
      SL_CHECK(a->file == NULL, SL_ERR_ARG,
               "export takes one results file, got '%s' and '%s' (export them one by one)", a->file,
               arg);
      a->file = arg;
    } else if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
      a->help = 1;
    } else if (!strcmp(arg, "--csv")) {
      a->csv = 1;
    } else if (!strcmp(arg, "--force")) {
      a->force = 1;
    } else if (!strcmp(arg, "-o") || !strcmp(arg, "--output")) {
      SL_CHECK(i + 1 < argc && argv[i + 1][0] != '\0', SL_ERR_ARG,
               "export: %s needs a file name, or - for stdout (see --help)", arg);
      a->out = argv[++i];
    } else if (!strncmp(arg, "--output=", 9) && arg[9] != '\0') {
      a->out = arg + 9;
    } else {
      return SL_ERROR(SL_ERR_ARG, "export: unknown option '%s' (did you mean %s? see --help)", arg,
                      sl_opt_nearest(arg, g_export_options, N_EXPORT_OPTIONS));
    }
  }
  if (a->help) return SL_OK;
  SL_CHECK(a->file != NULL, SL_ERR_ARG,
           "export needs a results file: slingshot export results.h5 --csv (see --help)");
  SL_CHECK(a->csv, SL_ERR_ARG,
           "export needs an output format: add --csv (the only one so far; see --help)");
  return SL_OK;
}

/* FILE without a trailing .h5, plus ".csv". */
static int default_out(const char *file, char **out) {
  size_t n = strlen(file);
  if (n > 3 && strcmp(file + n - 3, ".h5") == 0) n -= 3;
  char *o = malloc(n + 5);
  SL_CHECK(o, SL_ERR_NOMEM, "out of memory");
  memcpy(o, file, n);
  memcpy(o + n, ".csv", 5);
  *out = o;
  return SL_OK;
}

/* ------------------------------------------------------------------ columns */

typedef enum { COL_INT, COL_FLOAT, COL_STR, COL_STATUS } col_kind;

typedef struct export_col {
  char name[160]; /* GROUP.NAME */
  col_kind kind;
  int64_t *i;  /* [n] COL_INT, COL_STATUS */
  double *f;   /* [n] COL_FLOAT */
  char *s;     /* [n x slen] COL_STR, each NUL-terminated */
  size_t slen; /* bytes per string, with its NUL */
} export_col;

typedef struct export_table {
  size_t n_cells;
  size_t n_cols, cap;
  export_col *cols;
} export_table;

static void table_free(export_table *t) {
  for (size_t k = 0; k < t->n_cols; k++) {
    free(t->cols[k].i);
    free(t->cols[k].f);
    free(t->cols[k].s);
  }
  free(t->cols);
  memset(t, 0, sizeof *t);
}

static int table_push(export_table *t, export_col **out) {
  if (t->n_cols == t->cap) {
    size_t cap = t->cap ? 2 * t->cap : 32;
    export_col *c = realloc(t->cols, cap * sizeof *c);
    SL_CHECK(c, SL_ERR_NOMEM, "out of memory for %zu columns", cap);
    t->cols = c;
    t->cap = cap;
  }
  *out = &t->cols[t->n_cols++];
  memset(*out, 0, sizeof **out);
  return SL_OK;
}

/* Reads dataset name of group g (path gname) as a column if it is 1-D with one value per cell
 * and of integer, float or fixed-length string type; *taken = 0 (and no error) otherwise. */
static int read_column(hid_t g, const char *path, const char *gname, const char *name,
                       export_table *t, int *taken) {
  *taken = 0;
  H5O_info_t oi;
#if H5_VERSION_GE(1, 12, 0)
  herr_t got = H5Oget_info_by_name3(g, name, &oi, H5O_INFO_BASIC, H5P_DEFAULT);
#else
  herr_t got = H5Oget_info_by_name2(g, name, &oi, H5O_INFO_BASIC, H5P_DEFAULT);
#endif
  /* An object that is listed but cannot be read is damage, not a column to leave out. */
  SL_CHECK(got >= 0, SL_ERR_FORMAT, "%s: cannot read /%s/%s: the file is damaged", path, gname,
           name);
  if (oi.type != H5O_TYPE_DATASET) return SL_OK;
  hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
  SL_CHECK(d >= 0, SL_ERR_FORMAT, "%s: cannot open /%s/%s", path, gname, name);
  hid_t sp = H5Dget_space(d), ty = H5Dget_type(d);
  int err = SL_OK;
  hsize_t dim = 0;
  int rank = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
  if (rank == 1) H5Sget_simple_extent_dims(sp, &dim, NULL);
  H5T_class_t cls = ty >= 0 ? H5Tget_class(ty) : H5T_NO_CLASS;
  int fixed_str = cls == H5T_STRING && H5Tis_variable_str(ty) == 0;
  if (rank != 1 || (size_t)dim != t->n_cells ||
      !(cls == H5T_INTEGER || cls == H5T_FLOAT || fixed_str))
    goto done; /* not a per-cell column: left out, as --help says */
  export_col *c = NULL;
  SL_CALL_GOTO(table_push(t, &c), done);
  snprintf(c->name, sizeof c->name, "%s.%s", gname, name);
  const size_t n = t->n_cells;
  herr_t r = -1;
  if (cls == H5T_INTEGER) {
    c->kind = !strcmp(gname, "grid") && !strcmp(name, "status") ? COL_STATUS : COL_INT;
    c->i = sl_calloc(n, sizeof *c->i);
    SL_CHECK_GOTO(c->i, SL_ERR_NOMEM, done, "out of memory for %zu cells", n);
    r = H5Dread(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, c->i);
  } else if (cls == H5T_FLOAT) {
    c->kind = COL_FLOAT;
    c->f = sl_calloc(n, sizeof *c->f);
    SL_CHECK_GOTO(c->f, SL_ERR_NOMEM, done, "out of memory for %zu cells", n);
    r = H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, c->f);
  } else {
    c->kind = COL_STR;
    c->slen = H5Tget_size(ty) + 1;
    c->s = sl_calloc(n, c->slen);
    SL_CHECK_GOTO(c->s, SL_ERR_NOMEM, done, "out of memory for %zu strings", n);
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, c->slen);
    H5Tset_strpad(mt, H5T_STR_NULLTERM);
    r = H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, c->s);
    H5Tclose(mt);
  }
  SL_CHECK_GOTO(r >= 0, SL_ERR_FORMAT, done, "%s: cannot read /%s/%s (truncated or damaged file?)",
                path, gname, name);
  *taken = 1;
done:
  if (ty >= 0) H5Tclose(ty);
  if (sp >= 0) H5Sclose(sp);
  H5Dclose(d);
  return err;
}

/* Every per-cell column of /grid, /cells and the measurement groups present. */
static int read_table(const char *path, export_table *t) {
  int64_t n = 0;
  int8_t *st = NULL;
  /* The format checks (exists, HDF5, slingshot-results, format_version) and n_cells. */
  SL_CALL(sl_results_read_status(path, &n, &st));
  free(st);
  t->n_cells = (size_t)n;
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  SL_CHECK(f >= 0, SL_ERR_FORMAT, "cannot open %s as HDF5 (truncated or damaged?)", path);
  int err = SL_OK;
  for (size_t gi = 0; gi < N_EXPORT_GROUPS && err == SL_OK; gi++) {
    const char *gname = EXPORT_GROUPS[gi].name;
    char gpath[32];
    snprintf(gpath, sizeof gpath, "/%s", gname);
    if (H5Lexists(f, gpath, H5P_DEFAULT) <= 0) {
      if (!EXPORT_GROUPS[gi].required) continue; /* not measured by this config */
      err = SL_ERROR(SL_ERR_FORMAT, "%s has no %s group: not a complete slingshot results file",
                     path, gpath);
      break;
    }
    hid_t g = H5Gopen2(f, gpath, H5P_DEFAULT);
    H5G_info_t info;
    if (g < 0 || H5Gget_info(g, &info) < 0) {
      if (g >= 0) H5Gclose(g);
      err = SL_ERROR(SL_ERR_FORMAT, "%s: cannot list %s", path, gpath);
      break;
    }
    for (hsize_t k = 0; k < info.nlinks && err == SL_OK; k++) {
      char name[128];
      ssize_t len =
          H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, k, name, sizeof name, H5P_DEFAULT);
      if (len < 0) {
        err = SL_ERROR(SL_ERR_FORMAT, "%s: cannot list %s: the file is damaged", path, gpath);
        break;
      }
      if ((size_t)len >= sizeof name) continue;
      char full[192];
      snprintf(full, sizeof full, "%s/%s", gname, name);
      int skip = 0;
      for (size_t x = 0; x < N_NOT_PER_CELL; x++)
        skip = skip || strcmp(full, NOT_PER_CELL[x]) == 0;
      if (skip) continue;
      int taken = 0;
      err = read_column(g, path, gname, name, t, &taken);
    }
    H5Gclose(g);
  }
  H5Fclose(f);
  SL_CALL(err);
  int have_status = 0;
  for (size_t k = 0; k < t->n_cols; k++)
    have_status = have_status || t->cols[k].kind == COL_STATUS;
  SL_CHECK(have_status, SL_ERR_FORMAT, "%s: /grid/status is not an integer column", path);
  return SL_OK;
}

/* ------------------------------------------------------------------ writing */

/* A CSV field, quoted (RFC 4180) when it holds a comma, a quote or a line break. */
static void csv_field(FILE *f, const char *s) {
  if (!strpbrk(s, ",\"\r\n")) {
    fputs(s, f);
    return;
  }
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"') fputc('"', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

static const char *status_text(int64_t s) {
  switch (s) {
  case SL_CELL_TODO:
    return "todo";
  case SL_CELL_DONE:
    return "done";
  case SL_CELL_DIVERGED:
    return "diverged";
  case SL_CELL_FAILED:
    return "failed";
  default:
    return NULL;
  }
}

static void write_table(FILE *f, const export_table *t) {
  fputs("cell", f);
  for (size_t k = 0; k < t->n_cols; k++) {
    fputc(',', f);
    csv_field(f, t->cols[k].name);
  }
  fputc('\n', f);
  for (size_t i = 0; i < t->n_cells; i++) {
    fprintf(f, "%zu", i);
    for (size_t k = 0; k < t->n_cols; k++) {
      const export_col *c = &t->cols[k];
      fputc(',', f);
      switch (c->kind) {
      case COL_INT:
        fprintf(f, "%lld", (long long)c->i[i]);
        break;
      case COL_STATUS: {
        const char *s = status_text(c->i[i]);
        if (s)
          fputs(s, f);
        else
          fprintf(f, "unknown(%lld)", (long long)c->i[i]);
        break;
      }
      case COL_FLOAT: {
        double v = c->f[i];
        if (isnan(v)) break; /* missing: an empty field */
        if (isinf(v))
          fputs(v > 0 ? "inf" : "-inf", f);
        else
          fprintf(f, "%.17g", v);
        break;
      }
      case COL_STR:
        csv_field(f, c->s + i * c->slen);
        break;
      }
    }
    fputc('\n', f);
  }
}

/* The output may be written: refused when it exists (unless force) or its folder is missing. */
static int check_out(const char *out, int force) {
  struct stat st;
  if (stat(out, &st) == 0) {
    SL_CHECK(!S_ISDIR(st.st_mode), SL_ERR_IO, "cannot write %s: it is a directory (pass -o FILE)",
             out);
    SL_CHECK(force, SL_ERR_IO,
             "%s already exists: pass --force to overwrite it, or -o NEW.csv to write elsewhere",
             out);
  }
  char *copy = strdup(out);
  SL_CHECK(copy, SL_ERR_NOMEM, "out of memory");
  const char *dir = dirname(copy);
  int ok = access(dir, W_OK | X_OK) == 0;
  int e = errno;
  int err = SL_OK;
  if (!ok)
    err = SL_ERROR(SL_ERR_IO, "cannot write %s: directory '%s' %s", out, dir,
                   e == ENOENT ? "does not exist (create it first)" : "is not writable");
  free(copy);
  return err;
}

/* Writes the table to out through a temporary file in the same folder, renamed into place. */
static int write_file(const char *out, const export_table *t) {
  size_t n = strlen(out);
  char *tmp = malloc(n + 16);
  SL_CHECK(tmp, SL_ERR_NOMEM, "out of memory");
  snprintf(tmp, n + 16, "%s.tmp.XXXXXX", out);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    int e = errno;
    free(tmp);
    return SL_ERROR(SL_ERR_IO, "cannot write %s: %s", out, strerror(e));
  }
  mode_t mask = umask(0);
  umask(mask);
  fchmod(fd, 0666 & ~mask); /* mkstemp makes 0600; a table is as readable as any new file */
  FILE *f = fdopen(fd, "w");
  if (!f) {
    close(fd);
    remove(tmp);
    free(tmp);
    return SL_ERROR(SL_ERR_IO, "cannot write %s: %s", out, strerror(errno));
  }
  write_table(f, t);
  int bad = ferror(f);
  bad = fclose(f) != 0 || bad;
  int err = SL_OK;
  if (bad)
    err = SL_ERROR(SL_ERR_IO, "writing %s failed (disk full?)", out);
  else if (rename(tmp, out) != 0)
    err = SL_ERROR(SL_ERR_IO, "cannot rename %s to %s: %s", tmp, out, strerror(errno));
  if (err != SL_OK) remove(tmp);
  free(tmp);
  return err;
}

/* Rank 0's work: read, check, write; a summary on stderr when the table goes to stdout. */
static int export_run(const export_args *a) {
  char *out_alloc = NULL;
  const char *out = a->out;
  if (!out) {
    SL_CALL(default_out(a->file, &out_alloc));
    out = out_alloc;
  }
  int to_stdout = strcmp(out, "-") == 0;
  export_table t;
  memset(&t, 0, sizeof t);
  int err = SL_OK;
  /* Every input problem before any output. */
  SL_CALL_GOTO(read_table(a->file, &t), done);
  if (!to_stdout) SL_CALL_GOTO(check_out(out, a->force), done);
  if (to_stdout) {
    write_table(stdout, &t);
    SL_CHECK_GOTO(fflush(stdout) == 0 && !ferror(stdout), SL_ERR_IO, done,
                  "writing the table to stdout failed");
  } else {
    SL_CALL_GOTO(write_file(out, &t), done);
    printf("slingshot export: %s: %zu cells x %zu columns -> %s\n", a->file, t.n_cells,
           t.n_cols + 1, out);
  }
done:
  table_free(&t);
  free(out_alloc);
  return err;
}

int sl_cmd_export(int argc, char **argv, MPI_Comm comm) {
  int rank;
  SL_CALL_MPI(MPI_Comm_rank(comm, &rank));
  export_args a;
  int err = export_parse(argc, argv, &a);
  if (err != SL_OK) { /* every rank saw the same arguments: rank 0 alone reports */
    if (rank != 0) sl_error_clear();
    return err;
  }
  if (a.help) {
    if (rank == 0) export_usage(stdout);
    return SL_OK;
  }
  if (rank == 0) err = export_run(&a);
  /* The other ranks return rank 0's status (main prints rank 0's message only). */
  int root_err = err;
  SL_CALL_MPI(MPI_Bcast(&root_err, 1, MPI_INT, 0, comm));
  if (rank != 0 && root_err != SL_OK)
    return SL_ERROR(root_err, "export failed on rank 0 (it reports why)");
  return err;
}
