/* Reading the columns an analysis needs and writing /analysis (see include/slingshot/analysis.h).
 */
#include "slingshot/analysis.h"

#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "slingshot/error.h"
#include "slingshot/h5util.h"
#include "slingshot/results.h"

/* ------------------------------------------------------------------ reading */

/* The 1-D per-cell columns read as doubles, and where they go. */
typedef struct read_column {
  const char *path;
  size_t offset; /* of the double * member in sl_analysis_data */
} read_column;

static const read_column READ_COLUMNS[] = {
    {"/cells/n_params", offsetof(sl_analysis_data, n_params)},
    {"/cells/n_params_no_embed", offsetof(sl_analysis_data, n_no_embed)},
    {"/cells/d_tokens", offsetof(sl_analysis_data, d_tokens)},
    {"/cells/tokens_trained", offsetof(sl_analysis_data, tokens)},
    {"/cells/val_loss", offsetof(sl_analysis_data, val_loss)},
    {"/cells/train_loss", offsetof(sl_analysis_data, train_loss)},
    {"/cells/excess_loss", offsetof(sl_analysis_data, excess_loss)},
    {"/cells/flops_6nd", offsetof(sl_analysis_data, flops_6nd)},
    {"/grid/seed", offsetof(sl_analysis_data, seed)},
};
#define N_READ_COLUMNS (sizeof READ_COLUMNS / sizeof READ_COLUMNS[0])

static double **column_ptr(sl_analysis_data *d, size_t k) {
  return (double **)((char *)d + READ_COLUMNS[k].offset);
}

/* A string attribute of obj into buf (size len); "" when absent or not a fixed string. */
static void read_str_opt(hid_t obj, const char *name, char *buf, size_t len) {
  buf[0] = '\0';
  if (H5Aexists(obj, name) <= 0) return;
  hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
  if (a < 0) return;
  hid_t t = H5Aget_type(a);
  if (t >= 0 && H5Tget_class(t) == H5T_STRING && !H5Tis_variable_str(t)) {
    size_t size = H5Tget_size(t);
    char *tmp = calloc(size + 1, 1);
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, size + 1);
    if (tmp && H5Aread(a, mt, tmp) >= 0) snprintf(buf, len, "%s", tmp);
    H5Tclose(mt);
    free(tmp);
  }
  if (t >= 0) H5Tclose(t);
  H5Aclose(a);
}

/* The dimensions of the dataset at dpath, which must have rank `rank_want`. */
static int dataset_dims(hid_t f, const char *path, const char *dpath, int rank_want,
                        hsize_t *dims) {
  SL_CHECK(H5Lexists(f, dpath, H5P_DEFAULT) > 0, SL_ERR_FORMAT,
           "%s has no dataset %s: not a complete slingshot results file", path, dpath);
  hid_t d = H5Dopen2(f, dpath, H5P_DEFAULT);
  SL_CHECK(d >= 0, SL_ERR_FORMAT, "%s: cannot open %s", path, dpath);
  hid_t sp = H5Dget_space(d);
  int rank = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
  if (rank == rank_want) H5Sget_simple_extent_dims(sp, dims, NULL);
  if (sp >= 0) H5Sclose(sp);
  H5Dclose(d);
  SL_CHECK(rank == rank_want, SL_ERR_FORMAT, "%s: %s has %d dimensions, expected %d", path, dpath,
           rank, rank_want);
  return SL_OK;
}

/* Reads the whole dataset dpath as memory type mt into buf, checking its element count. */
static int read_dataset(hid_t f, const char *path, const char *dpath, hid_t mt, size_t count,
                        void *buf) {
  hsize_t dims[2] = {0, 0};
  hid_t d = H5Dopen2(f, dpath, H5P_DEFAULT);
  SL_CHECK(d >= 0, SL_ERR_FORMAT, "%s has no dataset %s: not a complete slingshot results file",
           path, dpath);
  hid_t sp = H5Dget_space(d);
  int rank = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
  size_t n = 0;
  if (rank >= 1 && rank <= 2) {
    H5Sget_simple_extent_dims(sp, dims, NULL);
    n = (size_t)dims[0] * (rank == 2 ? (size_t)dims[1] : 1);
  }
  herr_t r = -1;
  if (n == count && count > 0) r = H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
  if (sp >= 0) H5Sclose(sp);
  H5Dclose(d);
  SL_CHECK(n == count, SL_ERR_FORMAT, "%s: %s holds %zu values, expected %zu (one per cell)", path,
           dpath, n, count);
  SL_CHECK(r >= 0, SL_ERR_FORMAT, "%s: cannot read %s (truncated or damaged file?)", path, dpath);
  return SL_OK;
}

static int alloc_numbers(sl_analysis_data *d) {
  const size_t n = d->n_cells, w = d->n_cells * d->points;
  SL_ALLOC(d->status, n > 0 ? n : 1);
  for (size_t k = 0; k < N_READ_COLUMNS; k++)
    SL_ALLOC(*column_ptr(d, k), n > 0 ? n : 1);
  SL_ALLOC(d->curve_loss, w > 0 ? w : 1);
  SL_ALLOC(d->curve_tokens, w > 0 ? w : 1);
  return SL_OK;
}

/* Room for the /unique arrays, once n_cells, prefixes and n_ngrams are known. */
static int alloc_unique(sl_analysis_data *d) {
  const size_t p = d->prefixes, w = d->n_cells * d->prefixes;
  SL_ALLOC(d->prefix_tokens, p > 0 ? p : 1);
  SL_ALLOC(d->unique_pieces, w > 0 ? w : 1);
  SL_ALLOC(d->ngram_len, d->n_ngrams > 0 ? d->n_ngrams : 1);
  SL_ALLOC(d->unique_ngrams, d->n_ngrams * w > 0 ? d->n_ngrams * w : 1);
  return SL_OK;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* The n-gram lengths L of the datasets /unique/ngrams_L, increasing, into d->ngram_len (whose
 * room is allocated here, before alloc_unique replaces it). */
static int find_ngrams(hid_t g, const char *path, sl_analysis_data *d, int64_t **lens) {
  H5G_info_t info;
  SL_CHECK(H5Gget_info(g, &info) >= 0, SL_ERR_FORMAT, "%s: cannot list /unique", path);
  int64_t *len = sl_calloc(info.nlinks > 0 ? info.nlinks : 1, sizeof *len);
  SL_CHECK(len, SL_ERR_NOMEM, "out of memory listing /unique");
  size_t m = 0;
  for (hsize_t k = 0; k < info.nlinks; k++) {
    char name[64];
    ssize_t r =
        H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, k, name, sizeof name, H5P_DEFAULT);
    if (r < 0 || (size_t)r >= sizeof name) continue; /* not one of ours: too long a name */
    long long L = 0;
    int used = 0;
    if (sscanf(name, "ngrams_%lld%n", &L, &used) == 1 && name[used] == '\0' && L > 0)
      len[m++] = (int64_t)L;
  }
  qsort(len, m, sizeof *len, cmp_i64);
  d->n_ngrams = m;
  *lens = len;
  return SL_OK;
}

/* /unique, when the file has it (files made before unique counting do not). */
static int read_unique(hid_t f, const char *path, sl_analysis_data *d) {
  if (H5Lexists(f, "/unique", H5P_DEFAULT) <= 0) return SL_OK;
  hsize_t dims[2] = {0, 0};
  SL_CALL(dataset_dims(f, path, "/unique/prefix_tokens", 1, dims));
  d->prefixes = (size_t)dims[0];
  SL_CHECK(d->prefixes > 0, SL_ERR_FORMAT, "%s: /unique/prefix_tokens is empty", path);
  SL_CALL(dataset_dims(f, path, "/unique/pieces", 2, dims));
  SL_CHECK((size_t)dims[0] == d->n_cells && (size_t)dims[1] == d->prefixes, SL_ERR_FORMAT,
           "%s: /unique/pieces is [%llu x %llu], expected [%zu cells x %zu prefixes]", path,
           (unsigned long long)dims[0], (unsigned long long)dims[1], d->n_cells, d->prefixes);
  hid_t g = H5Gopen2(f, "/unique", H5P_DEFAULT);
  SL_CHECK(g >= 0, SL_ERR_FORMAT, "%s: cannot open /unique", path);
  int64_t *lens = NULL;
  int err = find_ngrams(g, path, d, &lens);
  if (err == SL_OK) read_str_opt(g, "method", d->unique_method, sizeof d->unique_method);
  H5Gclose(g);
  if (err != SL_OK) return sl_error_trace(err, __func__, __FILE__, __LINE__);
  err = alloc_unique(d);
  if (err == SL_OK) memcpy(d->ngram_len, lens, d->n_ngrams * sizeof *lens);
  free(lens);
  SL_CALL(err);
  const size_t w = d->n_cells * d->prefixes;
  SL_CALL(read_dataset(f, path, "/unique/prefix_tokens", H5T_NATIVE_DOUBLE, d->prefixes,
                       d->prefix_tokens));
  SL_CALL(read_dataset(f, path, "/unique/pieces", H5T_NATIVE_DOUBLE, w, d->unique_pieces));
  for (size_t q = 0; q < d->n_ngrams; q++) {
    char name[64];
    snprintf(name, sizeof name, "/unique/ngrams_%lld", (long long)d->ngram_len[q]);
    SL_CALL(read_dataset(f, path, name, H5T_NATIVE_DOUBLE, w, d->unique_ngrams + q * w));
  }
  d->has_unique = 1;
  return SL_OK;
}

static int read_all(hid_t f, const char *path, sl_analysis_data *d) {
  hsize_t dims[2] = {0, 0};
  SL_CALL(dataset_dims(f, path, "/grid/status", 1, dims));
  d->n_cells = (size_t)dims[0];
  SL_CHECK(d->n_cells > 0, SL_ERR_FORMAT, "%s: /grid/status is empty (a grid with no cells)", path);
  SL_CALL(dataset_dims(f, path, "/curves/loss", 2, dims));
  SL_CHECK((size_t)dims[0] == d->n_cells, SL_ERR_FORMAT,
           "%s: /curves/loss has %llu rows for %zu cells", path, (unsigned long long)dims[0],
           d->n_cells);
  d->points = (size_t)dims[1];
  SL_CALL(alloc_numbers(d));
  const size_t n = d->n_cells;
  SL_CALL(read_dataset(f, path, "/grid/status", H5T_NATIVE_INT8, n, d->status));
  for (size_t k = 0; k < N_READ_COLUMNS; k++)
    SL_CALL(read_dataset(f, path, READ_COLUMNS[k].path, H5T_NATIVE_DOUBLE, n, *column_ptr(d, k)));
  SL_CALL(read_dataset(f, path, "/curves/loss", H5T_NATIVE_DOUBLE, n * d->points, d->curve_loss));
  SL_CALL(
      read_dataset(f, path, "/curves/tokens", H5T_NATIVE_DOUBLE, n * d->points, d->curve_tokens));

  /* Optional: why cells failed, the entropy rate, descriptive attributes. */
  if (H5Lexists(f, "/grid/error", H5P_DEFAULT) > 0) {
    d->cell_error = sl_calloc(n, SL_ANALYSIS_STR_LEN);
    SL_CHECK(d->cell_error, SL_ERR_NOMEM, "out of memory for %zu error strings", n);
    hid_t st = H5Tcopy(H5T_C_S1);
    H5Tset_size(st, SL_ANALYSIS_STR_LEN);
    H5Tset_strpad(st, H5T_STR_NULLTERM);
    if (read_dataset(f, path, "/grid/error", st, n, d->cell_error) != SL_OK) {
      sl_error_clear(); /* the reasons are a courtesy: go on without them */
      free(d->cell_error);
      d->cell_error = NULL;
    }
    H5Tclose(st);
  }
  d->entropy_nats = NAN;
  if (H5Lexists(f, "/language", H5P_DEFAULT) > 0) {
    hid_t g = H5Gopen2(f, "/language", H5P_DEFAULT);
    if (g >= 0 && H5Aexists(g, "entropy_nats_per_token") > 0) {
      hid_t a = H5Aopen(g, "entropy_nats_per_token", H5P_DEFAULT);
      if (a >= 0 && H5Aread(a, H5T_NATIVE_DOUBLE, &d->entropy_nats) < 0) d->entropy_nats = NAN;
      if (a >= 0) H5Aclose(a);
    }
    if (g >= 0) H5Gclose(g);
  }
  SL_CALL(read_unique(f, path, d));
  read_str_opt(f, "config_origin", d->origin, sizeof d->origin);
  read_str_opt(f, "created_utc", d->created, sizeof d->created);
  read_str_opt(f, "slingshot_version", d->version, sizeof d->version);
  read_str_opt(f, "git_sha", d->git_sha, sizeof d->git_sha);
  read_str_opt(f, "config_sha256", d->config_sha, sizeof d->config_sha);
  return SL_OK;
}

int sl_analysis_read(const char *path, sl_analysis_data *d) {
  memset(d, 0, sizeof *d);
  d->entropy_nats = NAN;
  /* The format checks (HDF5 at all, format, format_version) are those of every reader. */
  SL_CALL(sl_results_read_config(path, &d->config));
  { /* and those of /grid/status (rows against n_cells, codes a run writes) */
    int64_t n_status = 0;
    int8_t *status = NULL;
    int e = sl_results_read_status(path, &n_status, &status);
    free(status);
    if (e != SL_OK) {
      free(d->config);
      d->config = NULL;
      return sl_error_trace(e, __func__, __FILE__, __LINE__);
    }
  }
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  SL_CHECK(f >= 0, SL_ERR_FORMAT, "cannot open %s as HDF5 (truncated or damaged?)", path);
  int err = read_all(f, path, d);
  H5Fclose(f);
  if (err != SL_OK) {
    sl_analysis_data_free(d);
    return sl_error_trace(err, __func__, __FILE__, __LINE__);
  }
  return SL_OK;
}

int sl_analysis_data_bcast(sl_analysis_data *d, int root, MPI_Comm comm) {
  int rank;
  SL_CALL_MPI(MPI_Comm_rank(comm, &rank));
  uint64_t dims[2] = {d->n_cells, d->points};
  SL_CALL_MPI(MPI_Bcast(dims, 2, MPI_UINT64_T, root, comm));
  /* Allocation may fail on one rank: the ranks agree before the large broadcasts. */
  int err = SL_OK;
  if (rank != root) {
    memset(d, 0, sizeof *d);
    d->n_cells = (size_t)dims[0];
    d->points = (size_t)dims[1];
    err = alloc_numbers(d);
  }
  int worst = SL_OK;
  SL_CALL_MPI(MPI_Allreduce(&err, &worst, 1, MPI_INT, MPI_MAX, comm));
  if (err != SL_OK) return sl_error_trace(err, __func__, __FILE__, __LINE__);
  SL_CHECK(worst == SL_OK, worst, "another rank could not allocate the analysis data");
  const size_t n = d->n_cells, w = d->n_cells * d->points;
  SL_CHECK(w <= (size_t)0x7fffffff && n <= (size_t)0x7fffffff, SL_ERR_ARG,
           "too many cells to broadcast (%zu x %zu)", n, d->points);
  SL_CALL_MPI(MPI_Bcast(d->status, (int)n, MPI_INT8_T, root, comm));
  for (size_t k = 0; k < N_READ_COLUMNS; k++)
    SL_CALL_MPI(MPI_Bcast(*column_ptr(d, k), (int)n, MPI_DOUBLE, root, comm));
  SL_CALL_MPI(MPI_Bcast(d->curve_loss, (int)w, MPI_DOUBLE, root, comm));
  SL_CALL_MPI(MPI_Bcast(d->curve_tokens, (int)w, MPI_DOUBLE, root, comm));
  SL_CALL_MPI(MPI_Bcast(&d->entropy_nats, 1, MPI_DOUBLE, root, comm));

  /* /unique, when the file has it. */
  uint64_t u[3] = {(uint64_t)d->has_unique, d->prefixes, d->n_ngrams};
  SL_CALL_MPI(MPI_Bcast(u, 3, MPI_UINT64_T, root, comm));
  if (u[0] == 0) return SL_OK;
  err = SL_OK;
  if (rank != root) {
    d->has_unique = 1;
    d->prefixes = (size_t)u[1];
    d->n_ngrams = (size_t)u[2];
    err = alloc_unique(d);
  }
  SL_CALL_MPI(MPI_Allreduce(&err, &worst, 1, MPI_INT, MPI_MAX, comm));
  if (err != SL_OK) return sl_error_trace(err, __func__, __FILE__, __LINE__);
  SL_CHECK(worst == SL_OK, worst, "another rank could not allocate the /unique counts");
  const size_t wu = n * d->prefixes;
  SL_CHECK(wu * (d->n_ngrams > 0 ? d->n_ngrams : 1) <= (size_t)0x7fffffff, SL_ERR_ARG,
           "too many unique counts to broadcast (%zu cells x %zu prefixes x %zu n-grams)", n,
           d->prefixes, d->n_ngrams);
  SL_CALL_MPI(MPI_Bcast(d->prefix_tokens, (int)d->prefixes, MPI_DOUBLE, root, comm));
  SL_CALL_MPI(MPI_Bcast(d->unique_pieces, (int)wu, MPI_DOUBLE, root, comm));
  if (d->n_ngrams > 0) {
    SL_CALL_MPI(MPI_Bcast(d->ngram_len, (int)d->n_ngrams, MPI_INT64_T, root, comm));
    SL_CALL_MPI(MPI_Bcast(d->unique_ngrams, (int)(wu * d->n_ngrams), MPI_DOUBLE, root, comm));
  }
  return SL_OK;
}

void sl_analysis_data_free(sl_analysis_data *d) {
  if (!d) return;
  free(d->status);
  for (size_t k = 0; k < N_READ_COLUMNS; k++)
    free(*column_ptr(d, k));
  free(d->curve_loss);
  free(d->curve_tokens);
  free(d->prefix_tokens);
  free(d->unique_pieces);
  free(d->ngram_len);
  free(d->unique_ngrams);
  free(d->config);
  free(d->cell_error);
  memset(d, 0, sizeof *d);
}

/* ------------------------------------------------------------------ writing */

struct sl_analysis_writer {
  hid_t file;
  char path[4096];
};

int sl_analysis_open(const char *path, sl_analysis_writer **out) {
  SL_CHECK(access(path, W_OK) == 0, SL_ERR_IO,
           "cannot write the analysis into %s: %s (analyze adds /analysis to the results file; "
           "make it writable or analyse a copy)",
           path, strerror(errno));
  sl_analysis_writer *w;
  SL_ALLOC(w, 1);
  snprintf(w->path, sizeof w->path, "%s", path);
  /* Serial HDF5 on one rank: the run is over, so no other process writes the file. */
  w->file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  if (w->file < 0) {
    free(w);
    return SL_ERROR(SL_ERR_IO,
                    "cannot open %s for writing (is a run or another program still using it?)",
                    path);
  }
  int err = SL_OK;
  /* Analysing twice replaces the analysis. HDF5 does not reclaim the space of a deleted object,
   * so each analysis grows the file by the size of the old one (kilobytes; h5repack compacts
   * it). The run's groups are never opened for writing. */
  if (H5Lexists(w->file, "/analysis", H5P_DEFAULT) > 0)
    SL_CHECK_GOTO(H5Ldelete(w->file, "/analysis", H5P_DEFAULT) >= 0, SL_ERR_HDF5, fail,
                  "%s: cannot delete the previous /analysis", path);
  SL_CALL_GOTO(sl_analysis_group(w, "/analysis",
                                 "written by slingshot analyze: fits of the laws to the done "
                                 "cells of this file, with what each fit used"),
               fail);
  *out = w;
  return SL_OK;
fail:
  H5Fclose(w->file);
  free(w);
  return err;
}

int sl_analysis_close(sl_analysis_writer *w) {
  if (!w) return SL_OK;
  herr_t e = H5Fclose(w->file);
  char path[sizeof w->path];
  memcpy(path, w->path, sizeof path);
  free(w);
  SL_CHECK(e >= 0, SL_ERR_IO, "closing %s after writing /analysis failed (disk full?)", path);
  return SL_OK;
}

/* Opens the object at path for attributes. */
static hid_t open_obj(sl_analysis_writer *w, const char *path) {
  return H5Oopen(w->file, path, H5P_DEFAULT);
}

int sl_analysis_group(sl_analysis_writer *w, const char *path, const char *description) {
  hid_t g = H5Gcreate2(w->file, path, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  SL_CHECK(g >= 0, SL_ERR_HDF5, "%s: cannot create group %s", w->path, path);
  int err = sl_h5_attr_str(g, "description", description);
  H5Gclose(g);
  SL_CALL(err);
  return SL_OK;
}

int sl_analysis_attr_str(sl_analysis_writer *w, const char *path, const char *name,
                         const char *value) {
  hid_t o = open_obj(w, path);
  SL_CHECK(o >= 0, SL_ERR_HDF5, "%s: cannot open %s", w->path, path);
  int err = sl_h5_attr_str(o, name, value ? value : "");
  H5Oclose(o);
  SL_CALL(err);
  return SL_OK;
}

int sl_analysis_attr_f64(sl_analysis_writer *w, const char *path, const char *name, double v) {
  hid_t o = open_obj(w, path);
  SL_CHECK(o >= 0, SL_ERR_HDF5, "%s: cannot open %s", w->path, path);
  int err = sl_h5_attr_f64(o, name, v);
  H5Oclose(o);
  SL_CALL(err);
  return SL_OK;
}

int sl_analysis_attr_i64(sl_analysis_writer *w, const char *path, const char *name, int64_t v) {
  hid_t o = open_obj(w, path);
  SL_CHECK(o >= 0, SL_ERR_HDF5, "%s: cannot open %s", w->path, path);
  int err = sl_h5_attr_i64(o, name, v);
  H5Oclose(o);
  SL_CALL(err);
  return SL_OK;
}

/* Creates and writes one dataset (file type ft, memory type mt), then its units and description.
 */
static int put_dataset(sl_analysis_writer *w, const char *path, int rank, const hsize_t *dims,
                       hid_t ft, hid_t mt, const void *v, const char *units,
                       const char *description) {
  hid_t sp = H5Screate_simple(rank, dims, NULL);
  SL_CHECK(sp >= 0, SL_ERR_HDF5, "%s: cannot make the dataspace of %s", w->path, path);
  hid_t d = H5Dcreate2(w->file, path, ft, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Sclose(sp);
  SL_CHECK(d >= 0, SL_ERR_HDF5, "%s: cannot create dataset %s", w->path, path);
  hsize_t count = 1;
  for (int k = 0; k < rank; k++)
    count *= dims[k];
  herr_t r = count > 0 ? H5Dwrite(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) : 0;
  int err = SL_OK;
  if (r < 0) err = SL_ERROR(SL_ERR_IO, "%s: writing %s failed (disk full?)", w->path, path);
  if (err == SL_OK) err = sl_h5_attr_str(d, "units", units);
  if (err == SL_OK) err = sl_h5_attr_str(d, "description", description);
  H5Dclose(d);
  SL_CALL(err);
  return SL_OK;
}

int sl_analysis_write_f64(sl_analysis_writer *w, const char *path, size_t rows, size_t cols,
                          const double *v, const char *units, const char *description) {
  hsize_t dims[2] = {(hsize_t)rows, (hsize_t)cols};
  SL_CALL(put_dataset(w, path, cols > 0 ? 2 : 1, dims, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, v, units,
                      description));
  return SL_OK;
}

int sl_analysis_write_i64(sl_analysis_writer *w, const char *path, size_t n, const int64_t *v,
                          const char *units, const char *description) {
  hsize_t dims[1] = {(hsize_t)n};
  SL_CALL(put_dataset(w, path, 1, dims, H5T_STD_I64LE, H5T_NATIVE_INT64, v, units, description));
  return SL_OK;
}

int sl_analysis_write_str(sl_analysis_writer *w, const char *path, size_t n, const char *const *s,
                          const char *units, const char *description) {
  size_t len = 1;
  for (size_t i = 0; i < n; i++)
    if (strlen(s[i]) + 1 > len) len = strlen(s[i]) + 1;
  char *buf = sl_calloc(n > 0 ? n * len : 1, 1);
  SL_CHECK(buf, SL_ERR_NOMEM, "out of memory for %zu strings", n);
  for (size_t i = 0; i < n; i++)
    memcpy(buf + i * len, s[i], strlen(s[i]));
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, len);
  H5Tset_strpad(t, H5T_STR_NULLTERM);
  hsize_t dims[1] = {(hsize_t)n};
  int err = put_dataset(w, path, 1, dims, t, t, buf, units, description);
  H5Tclose(t);
  free(buf);
  SL_CALL(err);
  return SL_OK;
}
