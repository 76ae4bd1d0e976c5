/* Part files of a job array: ownership, resume checks, merge, status totals (see parts.h). */
#include "slingshot/parts.h"

#include <errno.h>
#include <hdf5.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "slingshot/error.h"
#include "slingshot/results.h"
#include "slingshot/train.h"

#define ALLOC_GOTO(ptr, count, label)                                                              \
  do {                                                                                             \
    (ptr) = sl_calloc((size_t)(count), sizeof(*(ptr)));                                            \
    SL_CHECK_GOTO((ptr) != NULL || (count) == 0, SL_ERR_NOMEM, label,                              \
                  "out of memory allocating %zu x %zu B", (size_t)(count), sizeof(*(ptr)));        \
  } while (0)

/* ------------------------------------------------------------------ reading a file */

static int64_t attr_i64_or(hid_t obj, const char *name, int64_t fallback) {
  int64_t v = fallback;
  if (H5Aexists(obj, name) > 0) {
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a >= 0) {
      if (H5Aread(a, H5T_NATIVE_INT64, &v) < 0) v = fallback;
      H5Aclose(a);
    }
  }
  return v;
}

/* A fixed-length string attribute into buf ("" when absent). */
static void attr_str_or(hid_t obj, const char *name, char *buf, size_t size) {
  buf[0] = '\0';
  if (H5Aexists(obj, name) <= 0) return;
  hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
  if (a < 0) return;
  hid_t t = H5Aget_type(a);
  if (H5Tget_class(t) == H5T_STRING && !H5Tis_variable_str(t)) {
    size_t n = H5Tget_size(t);
    char *tmp = calloc(n + 1, 1);
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, n + 1);
    if (tmp && H5Aread(a, mt, tmp) >= 0) snprintf(buf, size, "%s", tmp);
    H5Tclose(mt);
    free(tmp);
  } else if (H5Tget_class(t) == H5T_STRING) { /* variable length, as h5py writes them */
    char *v = NULL;
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, H5T_VARIABLE);
    H5Tset_cset(mt, H5Tget_cset(t)); /* h5py writes UTF-8; HDF5 converts no charsets */
    if (H5Aread(a, mt, &v) >= 0 && v) {
      snprintf(buf, size, "%s", v);
      H5free_memory(v);
    }
    H5Tclose(mt);
  }
  H5Tclose(t);
  H5Aclose(a);
}

/* Reads a whole 1-D dataset of n elements as mem_type into buf. */
static int read_column(hid_t f, const char *path, const char *file, hid_t mem_type, int64_t n,
                       void *buf) {
  SL_CHECK(H5Lexists(f, path, H5P_DEFAULT) > 0, SL_ERR_FORMAT, "%s has no dataset %s", file, path);
  hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
  SL_CHECK(d >= 0, SL_ERR_FORMAT, "%s: cannot open %s", file, path);
  hid_t sp = H5Dget_space(d);
  hsize_t dims[1] = {0};
  int ok = H5Sget_simple_extent_ndims(sp) == 1 && H5Sget_simple_extent_dims(sp, dims, NULL) == 1 &&
           (int64_t)dims[0] == n && H5Dread(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0;
  H5Sclose(sp);
  H5Dclose(d);
  SL_CHECK(ok, SL_ERR_FORMAT, "%s: %s is not a readable column of %lld cells", file, path,
           (long long)n);
  return SL_OK;
}

int sl_part_open(const char *path, sl_part_file *p) {
  memset(p, 0, sizeof *p);
  p->array_task = -1;
  p->cells_first = p->cells_last = -1;
  SL_CALL(sl_results_read_status(path, &p->n_cells, &p->status));
  int err = SL_OK;
  hid_t f = -1;
  p->path = strdup(path);
  p->owned = malloc((size_t)p->n_cells + 1);
  p->cost = malloc(((size_t)p->n_cells + 1) * sizeof(double));
  SL_CHECK_GOTO(p->path && p->owned && p->cost, SL_ERR_NOMEM, fail, "out of memory reading %s",
                path);
  f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  SL_CHECK_GOTO(f >= 0, SL_ERR_FORMAT, fail, "cannot open %s", path);
  p->format_version = attr_i64_or(f, "format_version", -1);
  attr_str_or(f, "config_sha256", p->config_sha256, sizeof p->config_sha256);
  attr_str_or(f, "slingshot_version", p->slingshot_version, sizeof p->slingshot_version);
  p->array_task = attr_i64_or(f, "array_task", -1);
  p->array_count = attr_i64_or(f, "array_count", 0);
  p->cells_first = attr_i64_or(f, "cells_first", -1);
  p->cells_last = attr_i64_or(f, "cells_last", -1);
  if (!p->config_sha256[0]) { /* older files: the hash of the stored text */
    char *text = NULL;
    SL_CALL_GOTO(sl_results_read_config(path, &text), fail);
    sl_sha256_hex(text, strlen(text), p->config_sha256);
    free(text);
  }
  SL_CALL_GOTO(read_column(f, "/grid/cost", path, H5T_NATIVE_DOUBLE, p->n_cells, p->cost), fail);
  p->is_part = H5Lexists(f, "/grid/owned", H5P_DEFAULT) > 0;
  if (p->is_part)
    SL_CALL_GOTO(read_column(f, "/grid/owned", path, H5T_NATIVE_UINT8, p->n_cells, p->owned), fail);
  else
    memset(p->owned, 1, (size_t)p->n_cells);
  H5Fclose(f);
  return SL_OK;
fail:
  if (f >= 0) H5Fclose(f);
  sl_part_free(p);
  return err;
}

void sl_part_free(sl_part_file *p) {
  free(p->path);
  free(p->status);
  free(p->owned);
  free(p->cost);
  memset(p, 0, sizeof *p);
}

/* "slice 1 of 4", "cells 3-7", "slice 1 of 4 within cells 0-9", or "the whole grid". */
static void describe(int64_t task, int64_t count, int64_t first, int64_t last, char *buf,
                     size_t size) {
  size_t len = 0;
  buf[0] = '\0';
  if (count > 0)
    len += (size_t)snprintf(buf, size, "slice %lld of %lld", (long long)task, (long long)count);
  if (first >= 0)
    snprintf(buf + len, size - len, "%scells %lld-%lld", len ? " within " : "", (long long)first,
             (long long)last);
  if (!buf[0]) snprintf(buf, size, "the whole grid");
}

int sl_part_check_resume(const char *path, const sl_part_info *want, int64_t n_cells,
                         MPI_Comm comm) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  int err = SL_OK;
  if (rank == 0) {
    sl_part_file p;
    err = sl_part_open(path, &p);
    if (err == SL_OK) {
      char have[128], asked[128];
      describe(p.array_task, p.array_count, p.cells_first, p.cells_last, have, sizeof have);
      if (want)
        describe(want->array_task, want->array_count, want->cells_first, want->cells_last, asked,
                 sizeof asked);
      else
        snprintf(asked, sizeof asked, "the whole grid");
      int same = p.n_cells == n_cells;
      if (same && want && want->owned)
        same = p.is_part && memcmp(p.owned, want->owned, (size_t)n_cells) == 0;
      else if (same)
        same = !p.is_part;
      if (!same && !p.is_part)
        err = SL_ERROR(SL_ERR_STATE,
                       "%s holds the whole grid, but %s was asked for: resume it without "
                       "--array-task/--array-count/--cells, or write the part elsewhere with -o",
                       path, asked);
      else if (!same)
        err = SL_ERROR(SL_ERR_STATE,
                       "%s is a part file of %s, but %s was asked for: resume it with the "
                       "options it was made with, or merge the parts (slingshot merge)",
                       path, have, asked);
      sl_part_free(&p);
    }
  }
  int worst = err;
  MPI_Allreduce(&err, &worst, 1, MPI_INT, MPI_MAX, comm);
  if (worst != SL_OK && err == SL_OK)
    err = SL_ERROR(worst, "rank 0 refused the file (see its message)");
  return err;
}

/* ------------------------------------------------------------------ which slices have work */

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* The common K of files that are all slices (no --cells), else 0. */
static int64_t common_count(const sl_part_file *files, int n) {
  int64_t k = n > 0 ? files[0].array_count : 0;
  for (int i = 0; i < n; i++)
    if (files[i].array_count != k || !files[i].is_part || files[i].cells_first >= 0) return 0;
  return k;
}

/* The slices that own the cells with work[i] != 0, as "1,3-4" (and how many). A cell no file
 * owns is placed by the slicing rule when all files are slices of one K. */
static int slices_with_work(const sl_part_file *files, int n, const uint8_t *work, char *buf,
                            size_t size, int64_t *n_slices) {
  const int64_t cells = files[0].n_cells, k = common_count(files, n);
  int64_t *owner = NULL, *list = NULL, m = 0;
  int err = SL_OK;
  SL_ALLOC(list, cells + n + 1);
  if (k > 0) {
    ALLOC_GOTO(owner, cells, done);
    SL_CALL_GOTO(sl_slice_assign(files[0].cost, cells, k, owner), done);
  }
  for (int64_t i = 0; i < cells; i++) {
    if (!work[i]) continue;
    int found = 0;
    for (int f = 0; f < n; f++)
      if (files[f].owned[i] && files[f].array_task >= 0) {
        list[m++] = files[f].array_task;
        found = 1;
        break;
      }
    if (!found && owner) list[m++] = owner[i];
  }
  qsort(list, (size_t)m, sizeof *list, cmp_i64);
  int64_t u = 0;
  for (int64_t j = 0; j < m; j++)
    if (u == 0 || list[j] != list[u - 1]) list[u++] = list[j];
  sl_slice_format_list(list, u, buf, size);
  *n_slices = u;
done:
  free(owner);
  free(list);
  return err;
}

/* Orders statuses: todo < failed < finished (done or diverged). */
static int status_rank(int s) {
  return s == SL_CELL_DONE || s == SL_CELL_DIVERGED ? 2 : s == SL_CELL_FAILED ? 1 : 0;
}

int sl_status_totals(const sl_part_file *files, int n, sl_status_total *t) {
  memset(t, 0, sizeof *t);
  if (n < 1) return SL_OK;
  t->same_run = 1;
  for (int f = 1; f < n; f++)
    if (files[f].n_cells != files[0].n_cells ||
        strcmp(files[f].config_sha256, files[0].config_sha256) != 0)
      t->same_run = 0;
  if (!t->same_run) return SL_OK;
  const int64_t cells = files[0].n_cells;
  t->n_cells = cells;
  t->array_count = common_count(files, n);
  uint8_t *work;
  SL_ALLOC(work, cells);
  for (int64_t i = 0; i < cells; i++) {
    int best = SL_CELL_TODO;
    for (int f = 0; f < n; f++)
      if (files[f].owned[i] && status_rank(files[f].status[i]) > status_rank(best))
        best = files[f].status[i];
    t->count[best == SL_CELL_DONE       ? 1
             : best == SL_CELL_DIVERGED ? 2
             : best == SL_CELL_FAILED   ? 3
                                        : 0]++;
    work[i] = status_rank(best) < 2;
  }
  int err = slices_with_work(files, n, work, t->slices, sizeof t->slices, &t->n_slices_left);
  free(work);
  return err == SL_OK ? SL_OK : sl_error_trace(err, __func__, __FILE__, __LINE__);
}

/* ------------------------------------------------------------------ merge */

typedef struct dset_list {
  char **path;
  int n, cap;
  int64_t n_cells;
  int err;
} dset_list;

/* H5Lvisit: every dataset whose first dimension is the cell count, but /grid/owned and
 * /analysis (a part's own analysis is not the merged file's). */
static herr_t collect(hid_t g, const char *name, const H5L_info_t *info, void *op) {
  dset_list *l = op;
  (void)info;
  if (strncmp(name, "analysis", 8) == 0 && (name[8] == '\0' || name[8] == '/')) return 0;
  if (strcmp(name, "grid/owned") == 0) return 0;
  hid_t o = H5Oopen(g, name, H5P_DEFAULT);
  if (o < 0) return 0;
  int take = 0;
  if (H5Iget_type(o) == H5I_DATASET) {
    hid_t sp = H5Dget_space(o);
    hsize_t dims[H5S_MAX_RANK];
    int nd = H5Sget_simple_extent_dims(sp, dims, NULL);
    take = nd >= 1 && (int64_t)dims[0] == l->n_cells;
    H5Sclose(sp);
  }
  H5Oclose(o);
  if (!take) return 0;
  if (l->n == l->cap) {
    int cap = l->cap ? 2 * l->cap : 32;
    char **p = realloc(l->path, (size_t)cap * sizeof *p);
    if (!p) return (herr_t)(l->err = SL_ERR_NOMEM, -1);
    l->path = p;
    l->cap = cap;
  }
  size_t len = strlen(name) + 2;
  l->path[l->n] = malloc(len);
  if (!l->path[l->n]) return (herr_t)(l->err = SL_ERR_NOMEM, -1);
  snprintf(l->path[l->n++], len, "/%s", name);
  return 0;
}

static void dset_list_free(dset_list *l) {
  for (int i = 0; i < l->n; i++)
    free(l->path[i]);
  free(l->path);
  memset(l, 0, sizeof *l);
}

static int list_datasets(hid_t f, const char *file, int64_t n_cells, dset_list *l) {
  memset(l, 0, sizeof *l);
  l->n_cells = n_cells;
  herr_t r = H5Lvisit(f, H5_INDEX_NAME, H5_ITER_INC, collect, l);
  if (l->err) {
    dset_list_free(l);
    return SL_ERROR(SL_ERR_NOMEM, "out of memory listing the datasets of %s", file);
  }
  if (r < 0) {
    dset_list_free(l);
    return SL_ERROR(SL_ERR_FORMAT, "cannot list the datasets of %s", file);
  }
  return SL_OK;
}

/* Per-run datasets, left out when duplicates are compared. */
static int per_run(hid_t d, const char *path) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  if (!strcmp(base, "wall_s") || !strcmp(base, "rank")) return 1;
  char units[32];
  attr_str_or(d, "units", units, sizeof units);
  return strcmp(units, "s") == 0;
}

/* Rows [start, start+count) of dataset d as raw bytes of its own type into *buf (grown). */
static int read_rows(hid_t d, const char *path, const char *file, int64_t start, int64_t count,
                     void **buf, size_t *cap, size_t *row_bytes) {
  hid_t sp = H5Dget_space(d), t = H5Dget_type(d);
  hsize_t dims[H5S_MAX_RANK], off[H5S_MAX_RANK] = {0}, cnt[H5S_MAX_RANK];
  int nd = H5Sget_simple_extent_dims(sp, dims, NULL);
  size_t row = H5Tget_size(t);
  for (int k = 1; k < nd; k++)
    row *= dims[k];
  for (int k = 0; k < nd; k++)
    cnt[k] = dims[k];
  off[0] = (hsize_t)start;
  cnt[0] = (hsize_t)count;
  int err = SL_OK;
  size_t need = row * (size_t)count + 1;
  if (need > *cap) {
    void *b = realloc(*buf, need);
    SL_CHECK_GOTO(b, SL_ERR_NOMEM, done, "out of memory reading %s of %s", path, file);
    *buf = b;
    *cap = need;
  }
  memset(*buf, 0, need);
  H5Sselect_hyperslab(sp, H5S_SELECT_SET, off, NULL, cnt, NULL);
  hid_t ms = H5Screate_simple(nd, cnt, NULL);
  herr_t r = H5Dread(d, t, ms, sp, H5P_DEFAULT, *buf);
  H5Sclose(ms);
  SL_CHECK_GOTO(r >= 0, SL_ERR_FORMAT, done, "%s: cannot read rows %lld.. of %s (damaged?)", file,
                (long long)start, path);
  *row_bytes = row;
done:
  H5Tclose(t);
  H5Sclose(sp);
  return err;
}

static int write_rows(hid_t d, const char *path, const char *file, int64_t start, int64_t count,
                      const void *buf) {
  hid_t sp = H5Dget_space(d), t = H5Dget_type(d);
  hsize_t dims[H5S_MAX_RANK], off[H5S_MAX_RANK] = {0}, cnt[H5S_MAX_RANK];
  int nd = H5Sget_simple_extent_dims(sp, dims, NULL);
  for (int k = 0; k < nd; k++)
    cnt[k] = dims[k];
  off[0] = (hsize_t)start;
  cnt[0] = (hsize_t)count;
  H5Sselect_hyperslab(sp, H5S_SELECT_SET, off, NULL, cnt, NULL);
  hid_t ms = H5Screate_simple(nd, cnt, NULL);
  herr_t r = H5Dwrite(d, t, ms, sp, H5P_DEFAULT, buf);
  H5Sclose(ms);
  H5Tclose(t);
  H5Sclose(sp);
  SL_CHECK(r >= 0, SL_ERR_IO, "writing %s of %s failed (disk full?)", path, file);
  return SL_OK;
}

/* Opens path in f, checking it has the shape of the same dataset in the first part. */
static int open_same(hid_t f, const char *file, const char *path, const char *first, hid_t ref,
                     hid_t *out) {
  SL_CHECK(H5Lexists(f, path, H5P_DEFAULT) > 0, SL_ERR_STATE,
           "%s has no dataset %s but %s has: parts written by different slingshot builds?", file,
           path, first);
  hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
  SL_CHECK(d >= 0, SL_ERR_FORMAT, "%s: cannot open %s", file, path);
  hid_t s1 = H5Dget_space(d), s2 = H5Dget_space(ref), t1 = H5Dget_type(d), t2 = H5Dget_type(ref);
  int same = H5Sextent_equal(s1, s2) > 0 && H5Tequal(t1, t2) > 0;
  H5Sclose(s1);
  H5Sclose(s2);
  H5Tclose(t1);
  H5Tclose(t2);
  if (!same) {
    H5Dclose(d);
    return SL_ERROR(SL_ERR_STATE, "%s: %s has another shape or type than in %s", file, path, first);
  }
  *out = d;
  return SL_OK;
}

/* Compares cell i of parts a and b on every dataset but the per-run ones; *differs receives the
 * first dataset that differs (NULL: identical). */
static int compare_cell(const sl_part_file *a, const sl_part_file *b, const dset_list *l, int64_t i,
                        const char **differs) {
  *differs = NULL;
  hid_t fa = H5Fopen(a->path, H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t fb = H5Fopen(b->path, H5F_ACC_RDONLY, H5P_DEFAULT);
  int err = SL_OK;
  void *ba = NULL, *bb = NULL;
  size_t ca = 0, cb = 0, ra = 0, rb = 0;
  SL_CHECK_GOTO(fa >= 0 && fb >= 0, SL_ERR_IO, done, "cannot open %s", fa < 0 ? a->path : b->path);
  for (int k = 0; k < l->n && !*differs; k++) {
    hid_t da = H5Dopen2(fa, l->path[k], H5P_DEFAULT), db = -1;
    SL_CHECK_GOTO(da >= 0, SL_ERR_FORMAT, done, "%s: cannot open %s", a->path, l->path[k]);
    int e = open_same(fb, b->path, l->path[k], a->path, da, &db);
    if (e == SL_OK && !per_run(da, l->path[k])) {
      e = read_rows(da, l->path[k], a->path, i, 1, &ba, &ca, &ra);
      if (e == SL_OK) e = read_rows(db, l->path[k], b->path, i, 1, &bb, &cb, &rb);
      if (e == SL_OK && (ra != rb || memcmp(ba, bb, ra) != 0)) *differs = l->path[k];
    }
    H5Dclose(da);
    if (db >= 0) H5Dclose(db);
    if (e != SL_OK) {
      err = sl_error_trace(e, __func__, __FILE__, __LINE__);
      goto done;
    }
  }
done:
  if (fa >= 0) H5Fclose(fa);
  if (fb >= 0) H5Fclose(fb);
  free(ba);
  free(bb);
  return err;
}

/* Root attributes of the first part, but the ones that make a file a part. */
static herr_t copy_attr(hid_t loc, const char *name, const H5A_info_t *info, void *op) {
  (void)info;
  static const char *skip[] = {"array_task", "array_count", "cells_first", "cells_last",
                               "merged_parts"};
  for (size_t k = 0; k < sizeof skip / sizeof *skip; k++)
    if (!strcmp(name, skip[k])) return 0;
  hid_t dst = *(hid_t *)op;
  hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
  if (a < 0) return -1;
  hid_t t = H5Aget_type(a), sp = H5Aget_space(a);
  hssize_t npts = H5Sget_simple_extent_npoints(sp);
  size_t bytes = H5Tget_size(t) * (size_t)(npts > 0 ? npts : 1);
  void *buf = calloc(bytes + 1, 1);
  herr_t r = -1;
  if (buf && H5Aread(a, t, buf) >= 0) {
    hid_t b = H5Acreate2(dst, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (b >= 0) {
      r = H5Awrite(b, t, buf);
      H5Aclose(b);
    }
    if (H5Tdetect_class(t, H5T_VLEN) > 0 || H5Tis_variable_str(t) > 0)
      H5Dvlen_reclaim(t, sp, H5P_DEFAULT, buf);
  }
  free(buf);
  H5Sclose(sp);
  H5Tclose(t);
  H5Aclose(a);
  return r;
}

/* The groups and datasets at the root of the first part (but /analysis) into the new file. */
static herr_t copy_link(hid_t g, const char *name, const H5L_info_t *info, void *op) {
  (void)info;
  if (!strcmp(name, "analysis")) return 0;
  return H5Ocopy(g, name, *(hid_t *)op, name, H5P_DEFAULT, H5P_DEFAULT);
}

/* Copies the rows of cells whose source is part p from that part into out. */
static int copy_from(const sl_part_file *p, int pi, const int *source, const dset_list *l,
                     hid_t out, const char *out_path, const char *first) {
  const int64_t n = p->n_cells;
  hid_t f = H5Fopen(p->path, H5F_ACC_RDONLY, H5P_DEFAULT);
  SL_CHECK(f >= 0, SL_ERR_IO, "cannot open %s", p->path);
  int err = SL_OK;
  void *buf = NULL;
  size_t cap = 0, row = 0;
  for (int k = 0; k < l->n; k++) {
    hid_t dout = H5Dopen2(out, l->path[k], H5P_DEFAULT), din = -1;
    SL_CHECK_GOTO(dout >= 0, SL_ERR_HDF5, done, "cannot open %s in %s", l->path[k], out_path);
    int e = open_same(f, p->path, l->path[k], first, dout, &din);
    for (int64_t i = 0; i < n && e == SL_OK;) {
      if (source[i] != pi) {
        i++;
        continue;
      }
      int64_t j = i;
      while (j + 1 < n && source[j + 1] == pi)
        j++;
      e = read_rows(din, l->path[k], p->path, i, j - i + 1, &buf, &cap, &row);
      if (e == SL_OK) e = write_rows(dout, l->path[k], out_path, i, j - i + 1, buf);
      i = j + 1;
    }
    H5Dclose(dout);
    if (din >= 0) H5Dclose(din);
    if (e != SL_OK) {
      err = sl_error_trace(e, __func__, __FILE__, __LINE__);
      goto done;
    }
  }
done:
  free(buf);
  H5Fclose(f);
  return err;
}

/* The parts must come from one run: same format, versions, config and grid. */
static int check_same_run(const sl_part_file *a, const sl_part_file *b) {
  SL_CHECK(b->format_version == a->format_version, SL_ERR_STATE,
           "%s has format_version %lld but %s has %lld: merge only parts of one run", b->path,
           (long long)b->format_version, a->path, (long long)a->format_version);
  SL_CHECK(!strcmp(b->slingshot_version, a->slingshot_version), SL_ERR_STATE,
           "%s was written by slingshot %s but %s by slingshot %s: merge only parts of one run "
           "(resume the odd part with the same slingshot)",
           b->path, b->slingshot_version, a->path, a->slingshot_version);
  SL_CHECK(!strcmp(b->config_sha256, a->config_sha256), SL_ERR_STATE,
           "%s was made with another config than %s (config_sha256 %.12s... vs %.12s...): merge "
           "only parts of one run",
           b->path, a->path, b->config_sha256, a->config_sha256);
  SL_CHECK(b->n_cells == a->n_cells, SL_ERR_STATE, "%s has %lld cells but %s has %lld", b->path,
           (long long)b->n_cells, a->path, (long long)a->n_cells);
  return SL_OK;
}

int sl_merge(const char *const *paths, int n, const char *out, int force, sl_merge_report *rep) {
  memset(rep, 0, sizeof *rep);
  SL_CHECK(n >= 1, SL_ERR_ARG, "merge needs at least one part file");
  SL_CHECK(force || access(out, F_OK) != 0, SL_ERR_IO,
           "%s already exists: pass --force to replace it, or -o NEW.h5", out);
  char real_out[PATH_MAX] = "";
  if (access(out, F_OK) == 0 && !realpath(out, real_out)) real_out[0] = '\0';
  sl_part_file *parts = NULL;
  int *source = NULL;
  uint8_t *missing = NULL;
  int8_t *status = NULL;
  dset_list l = {0};
  hid_t fo = -1, first = -1;
  char tmp[PATH_MAX + 32] = "";
  int err = SL_OK, opened = 0;
  SL_ALLOC(parts, n);
  for (; opened < n; opened++) {
    char real_in[PATH_MAX];
    SL_CHECK_GOTO(!real_out[0] || !realpath(paths[opened], real_in) || strcmp(real_in, real_out),
                  SL_ERR_ARG, done, "the output %s is also one of the parts: give another -o", out);
    SL_CALL_GOTO(sl_part_open(paths[opened], &parts[opened]), done);
    if (opened > 0) SL_CALL_GOTO(check_same_run(&parts[0], &parts[opened]), done);
  }
  const int64_t cells = parts[0].n_cells;
  rep->n_cells = cells;
  first = H5Fopen(parts[0].path, H5F_ACC_RDONLY, H5P_DEFAULT);
  SL_CHECK_GOTO(first >= 0, SL_ERR_IO, done, "cannot open %s", parts[0].path);
  SL_CALL_GOTO(list_datasets(first, parts[0].path, cells, &l), done);
  rep->n_datasets = l.n;

  /* Each cell's source: the first part that owns it finished; duplicates must agree. */
  ALLOC_GOTO(source, cells, done);
  ALLOC_GOTO(missing, cells, done);
  ALLOC_GOTO(status, cells, done);
  for (int64_t i = 0; i < cells; i++) {
    source[i] = -1;
    for (int p = 0; p < n; p++) {
      if (!parts[p].owned[i] || parts[p].status[i] == SL_CELL_TODO) continue;
      if (source[i] < 0) {
        source[i] = p;
        continue;
      }
      const char *differs = NULL;
      SL_CALL_GOTO(compare_cell(&parts[source[i]], &parts[p], &l, i, &differs), done);
      SL_CHECK_GOTO(!differs, SL_ERR_STATE, done,
                    "cell %lld is in %s and in %s with different values (%s differs): remove "
                    "the wrong part, or rerun that cell",
                    (long long)i, parts[source[i]].path, parts[p].path, differs);
      rep->n_duplicates++;
    }
    status[i] = source[i] >= 0 ? parts[source[i]].status[i] : SL_CELL_TODO;
    missing[i] = source[i] < 0;
    rep->n_done += status[i] == SL_CELL_DONE;
    rep->n_diverged += status[i] == SL_CELL_DIVERGED;
    rep->n_failed += status[i] == SL_CELL_FAILED;
    rep->n_missing += missing[i];
  }

  /* The output: the first part's structure and data, then every other part's rows, status
   * last; under a temporary name until complete. */
  snprintf(tmp, sizeof tmp, "%s.merge-tmp", out);
  unlink(tmp);
  {
    /* HDF5 1.10 format, as the run writes it: checksummed metadata (results.c). */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_V110, H5F_LIBVER_V110);
    fo = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
  }
  SL_CHECK_GOTO(fo >= 0, SL_ERR_IO, done,
                "cannot create %s (does its directory exist and is it "
                "writable?)",
                tmp);
  SL_CHECK_GOTO(H5Aiterate2(first, H5_INDEX_NAME, H5_ITER_INC, NULL, copy_attr, &fo) >= 0,
                SL_ERR_HDF5, done, "cannot copy the attributes of %s", parts[0].path);
  SL_CHECK_GOTO(H5Literate(first, H5_INDEX_NAME, H5_ITER_INC, NULL, copy_link, &fo) >= 0,
                SL_ERR_HDF5, done, "cannot copy the structure of %s into %s", parts[0].path, tmp);
  H5Fclose(first);
  first = -1;
  if (H5Lexists(fo, "/grid/owned", H5P_DEFAULT) > 0)
    SL_CHECK_GOTO(H5Ldelete(fo, "/grid/owned", H5P_DEFAULT) >= 0, SL_ERR_HDF5, done,
                  "cannot drop /grid/owned in %s", tmp);
  int64_t merged = n;
  hid_t sp = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(fo, "merged_parts", H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
  herr_t w = a >= 0 ? H5Awrite(a, H5T_NATIVE_INT64, &merged) : -1;
  if (a >= 0) H5Aclose(a);
  H5Sclose(sp);
  SL_CHECK_GOTO(w >= 0, SL_ERR_HDF5, done, "cannot write the attribute merged_parts");
  for (int p = 1; p < n; p++)
    SL_CALL_GOTO(copy_from(&parts[p], p, source, &l, fo, tmp, parts[0].path), done);
  hid_t ds = H5Dopen2(fo, "/grid/status", H5P_DEFAULT);
  SL_CHECK_GOTO(ds >= 0, SL_ERR_HDF5, done, "cannot open /grid/status in %s", tmp);
  w = H5Dwrite(ds, H5T_NATIVE_INT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, status);
  H5Dclose(ds);
  SL_CHECK_GOTO(w >= 0, SL_ERR_IO, done, "writing /grid/status of %s failed (disk full?)", tmp);
  herr_t c = H5Fclose(fo);
  fo = -1;
  SL_CHECK_GOTO(c >= 0, SL_ERR_IO, done, "closing %s failed (disk full?)", tmp);
  SL_CHECK_GOTO(rename(tmp, out) == 0, SL_ERR_IO, done, "cannot rename %s to %s: %s", tmp, out,
                strerror(errno));
  tmp[0] = '\0';

  /* What is missing, and which slices would finish it. */
  int64_t *list = NULL, m = 0;
  ALLOC_GOTO(list, rep->n_missing + 1, done);
  for (int64_t i = 0; i < cells; i++)
    if (missing[i]) list[m++] = i;
  sl_slice_format_list(list, m, rep->missing, sizeof rep->missing);
  free(list);
  int64_t n_slices = 0;
  rep->array_count = common_count(parts, n);
  SL_CALL_GOTO(slices_with_work(parts, n, missing, rep->slices, sizeof rep->slices, &n_slices),
               done);
done:
  if (first >= 0) H5Fclose(first);
  if (fo >= 0) H5Fclose(fo);
  if (tmp[0]) unlink(tmp);
  for (int p = 0; p < n && parts; p++)
    sl_part_free(&parts[p]);
  free(parts);
  dset_list_free(&l);
  free(source);
  free(missing);
  free(status);
  return err;
}
