/* The compression-bound analysis: /bounds of a results file into /analysis/bounds, report.md,
 * bounds.csv and figures. See include/slingshot/report_bounds.h. */
#include "slingshot/report_bounds.h"

#include "gnuplot.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "slingshot/error.h"
#include "slingshot/fit.h"

#define VSTR 256 /* fixed-length strings of /grid (SL_RESULTS_ERROR_LEN) */
#define MAX_VARIANTS 16

/* ------------------------------------------------------------------ reading */

static int read_strings(hid_t f, const char *path, size_t n, char *out) {
  hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
  SL_CHECK(d >= 0, SL_ERR_FORMAT, "cannot open %s", path);
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, VSTR);
  H5Tset_strpad(t, H5T_STR_NULLTERM);
  hid_t sp = H5Dget_space(d);
  hssize_t np = H5Sget_simple_extent_npoints(sp);
  herr_t r = (size_t)np == n ? H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) : -1;
  H5Sclose(sp);
  H5Tclose(t);
  H5Dclose(d);
  SL_CHECK(r >= 0, SL_ERR_FORMAT, "cannot read %s as %zu strings", path, n);
  return SL_OK;
}

/* A [n] or [n x w] dataset as doubles (w from the file; *w may be NULL for 1-D). */
static int read_f64(hid_t f, const char *path, size_t n, double **out, size_t *w) {
  hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
  SL_CHECK(d >= 0, SL_ERR_FORMAT, "cannot open %s", path);
  hid_t sp = H5Dget_space(d);
  hsize_t dims[2] = {0, 1};
  int nd = H5Sget_simple_extent_ndims(sp);
  H5Sget_simple_extent_dims(sp, dims, NULL);
  H5Sclose(sp);
  size_t cols = nd == 2 ? (size_t)dims[1] : 1;
  double *v = (nd == 1 || nd == 2) && dims[0] == n ? calloc(n * cols + 1, sizeof *v) : NULL;
  herr_t r = v ? H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) : -1;
  H5Dclose(d);
  if (r < 0) {
    free(v);
    return SL_ERROR(SL_ERR_FORMAT, "cannot read %s as %zu rows of numbers", path, n);
  }
  if (w) *w = cols;
  *out = v;
  return SL_OK;
}

int sl_bounds_variant_mask(const char *file, size_t n_cells, const char **drop_reason,
                           char *reasons, size_t reason_len, MPI_Comm comm) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  char *names = calloc(n_cells ? n_cells : 1, VSTR);
  SL_CHECK(names, SL_ERR_NOMEM, "out of memory for %zu variant names", n_cells);
  int have = 0;
  if (rank == 0) {
    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f >= 0 && H5Lexists(f, "/grid/variant", H5P_DEFAULT) > 0 &&
        read_strings(f, "/grid/variant", n_cells, names) == SL_OK)
      have = 1;
    sl_error_clear();
    if (f >= 0) H5Fclose(f);
  }
  int err = MPI_Bcast(&have, 1, MPI_INT, 0, comm);
  if (err == MPI_SUCCESS && have) err = MPI_Bcast(names, (int)(n_cells * VSTR), MPI_CHAR, 0, comm);
  if (err != MPI_SUCCESS) {
    free(names);
    return SL_ERROR(SL_ERR_MPI, "broadcasting the cells' variants failed");
  }
  /* Cell 0 is of the first variant (the grid expands variants outside N and D). */
  for (size_t i = 0; have && i < n_cells; i++)
    if (!drop_reason[i] && strcmp(names + i * VSTR, names) != 0) {
      snprintf(reasons + i * reason_len, reason_len,
               "variant \"%.60s\": the laws are fitted on the first variant (\"%.60s\") alone; "
               "its bound is in the bounds section",
               names + i * VSTR, names);
      drop_reason[i] = reasons + i * reason_len;
    }
  free(names);
  return SL_OK;
}

typedef struct bdata {
  size_t n, w; /* cells, alphas */
  char *variant;
  double *status, *n_params, *d_tokens, *d, *subspace, *levels, *c_bits, *m, *best, *alpha, *pop,
      *pop_se, *slack, *log2v, *top1_bound, *top1_pop, *topk_bound, *topk_pop, *prune, *n_eff, *k;
  double entropy_bits;
  size_t nv;
  char vname[MAX_VARIANTS][VSTR];
} bdata;

static void bdata_free(bdata *b) {
  double **p[] = {&b->status,   &b->n_params,   &b->d_tokens, &b->d,     &b->subspace,
                  &b->levels,   &b->c_bits,     &b->m,        &b->best,  &b->alpha,
                  &b->pop,      &b->pop_se,     &b->slack,    &b->log2v, &b->top1_bound,
                  &b->top1_pop, &b->topk_bound, &b->topk_pop, &b->prune, &b->n_eff,
                  &b->k};
  for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
    free(*p[i]), *p[i] = NULL;
  free(b->variant);
  b->variant = NULL;
}

static int measured(const bdata *b, size_t i) {
  return b->status[i] == 1 && isfinite(b->best[i]) && b->best[i] > 0;
}

static int vindex(const bdata *b, size_t i) {
  for (size_t v = 0; v < b->nv; v++)
    if (strcmp(b->vname[v], b->variant + i * VSTR) == 0) return (int)v;
  return -1;
}

static int bdata_read(hid_t f, bdata *b) {
  hid_t st = H5Dopen2(f, "/grid/status", H5P_DEFAULT);
  SL_CHECK(st >= 0, SL_ERR_FORMAT, "no /grid/status");
  hid_t sp = H5Dget_space(st);
  b->n = (size_t)H5Sget_simple_extent_npoints(sp);
  H5Sclose(sp);
  H5Dclose(st);
  b->variant = calloc(b->n + 1, VSTR);
  SL_CHECK(b->variant, SL_ERR_NOMEM, "out of memory");
  SL_CALL(read_strings(f, "/grid/variant", b->n, b->variant));
  struct {
    const char *path;
    double **out;
  } cols[] = {{"/grid/status", &b->status},
              {"/cells/n_params", &b->n_params},
              {"/cells/d_tokens", &b->d_tokens},
              {"/bounds/d", &b->d},
              {"/bounds/subspace_d", &b->subspace},
              {"/bounds/levels", &b->levels},
              {"/bounds/c_bits", &b->c_bits},
              {"/bounds/m", &b->m},
              {"/bounds/best_bound", &b->best},
              {"/bounds/best_alpha", &b->alpha},
              {"/bounds/best_risk_pop", &b->pop},
              {"/bounds/best_risk_pop_stderr", &b->pop_se},
              {"/bounds/slack", &b->slack},
              {"/bounds/log2_vocab", &b->log2v},
              {"/bounds/top1_bound", &b->top1_bound},
              {"/bounds/top1_pop", &b->top1_pop},
              {"/bounds/topk_bound", &b->topk_bound},
              {"/bounds/topk_pop", &b->topk_pop},
              {"/bounds/prune_fraction", &b->prune},
              {"/bounds/n_effective", &b->n_eff},
              {"/bounds/top_k", &b->k}};
  for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++)
    SL_CALL(read_f64(f, cols[c].path, b->n, cols[c].out, NULL));
  b->entropy_bits = NAN;
  hid_t lg =
      H5Lexists(f, "/language", H5P_DEFAULT) > 0 ? H5Gopen2(f, "/language", H5P_DEFAULT) : -1;
  if (lg >= 0) {
    if (H5Aexists(lg, "entropy_bits_per_token") > 0) {
      hid_t a = H5Aopen(lg, "entropy_bits_per_token", H5P_DEFAULT);
      H5Aread(a, H5T_NATIVE_DOUBLE, &b->entropy_bits);
      H5Aclose(a);
    }
    H5Gclose(lg);
  }
  for (size_t i = 0; i < b->n; i++)
    if (vindex(b, i) < 0 && b->nv < MAX_VARIANTS)
      snprintf(b->vname[b->nv++], VSTR, "%s", b->variant + i * VSTR);
  return SL_OK;
}

/* ------------------------------------------------------------------ numbers */

/* The distinct values of x over measured cells of variant v (v < 0: all), ascending. */
static size_t distinct(const bdata *b, const double *x, int v, double *out) {
  size_t k = 0;
  for (size_t i = 0; i < b->n; i++) {
    if (!measured(b, i) || (v >= 0 && vindex(b, i) != v)) continue;
    size_t j = 0;
    while (j < k && out[j] != x[i])
      j++;
    if (j == k) out[k++] = x[i];
  }
  for (size_t a = 1; a < k; a++) /* insertion sort */
    for (size_t c = a; c > 0 && out[c - 1] > out[c]; c--) {
      double t = out[c];
      out[c] = out[c - 1];
      out[c - 1] = t;
    }
  return k;
}

/* Per variant at its largest D: bound = c N^k (least squares in log-log). */
typedef struct vsum {
  double d_max;
  size_t n_points;
  int fit_ok;
  double k, k_lo, k_hi;
  double min_bound, min_bound_n;
  size_t nonvacuous, measured;
} vsum;

static void summarise(const bdata *b, vsum *s) {
  double *x = calloc(b->n + 1, sizeof *x), *y = calloc(b->n + 1, sizeof *y);
  for (size_t v = 0; v < b->nv; v++) {
    vsum *o = &s[v];
    memset(o, 0, sizeof *o);
    o->min_bound = INFINITY;
    o->k = o->k_lo = o->k_hi = NAN;
    for (size_t i = 0; i < b->n; i++) {
      if (!measured(b, i) || vindex(b, i) != (int)v) continue;
      o->measured++;
      o->nonvacuous += b->best[i] < b->log2v[i];
      if (b->d_tokens[i] > o->d_max) o->d_max = b->d_tokens[i];
      if (b->best[i] < o->min_bound) o->min_bound = b->best[i], o->min_bound_n = b->n_params[i];
    }
    if (!x || !y) continue;
    size_t m = 0;
    for (size_t i = 0; i < b->n; i++)
      if (measured(b, i) && vindex(b, i) == (int)v && b->d_tokens[i] == o->d_max)
        x[m] = b->n_params[i], y[m++] = b->best[i];
    o->n_points = m;
    sl_fit_result r;
    memset(&r, 0, sizeof r);
    if (m >= 3 && sl_fit_powerlaw(x, y, m, &r) == SL_OK) {
      o->fit_ok = 1;
      o->k = r.value[SL_PL_K];
      o->k_lo = r.lo[SL_PL_K];
      o->k_hi = r.hi[SL_PL_K];
    }
    sl_error_clear();
    sl_fit_result_free(&r);
  }
  free(x);
  free(y);
}

/* ------------------------------------------------------------------ /analysis/bounds */

static int write_h5(hid_t f, const bdata *b, const vsum *s, size_t best_i, size_t violations) {
  if (H5Lexists(f, "/analysis", H5P_DEFAULT) <= 0) {
    hid_t a = H5Gcreate2(f, "/analysis", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    SL_CALL_HDF5(a);
    H5Gclose(a);
  }
  if (H5Lexists(f, "/analysis/bounds", H5P_DEFAULT) > 0)
    H5Ldelete(f, "/analysis/bounds", H5P_DEFAULT);
  hid_t g = H5Gcreate2(f, "/analysis/bounds", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  SL_CALL_HDF5(g);
  int err = SL_OK;
  double col[7][MAX_VARIANTS];
  size_t nonvac = 0, meas = 0;
  for (size_t v = 0; v < b->nv; v++) {
    col[0][v] = s[v].d_max;
    col[1][v] = s[v].k;
    col[2][v] = s[v].k_lo;
    col[3][v] = s[v].k_hi;
    col[4][v] = s[v].min_bound;
    col[5][v] = (double)s[v].nonvacuous;
    col[6][v] = (double)s[v].measured;
    nonvac += s[v].nonvacuous;
    meas += s[v].measured;
  }
  const char *names = "variants, in the order of the per-variant datasets: ";
  char list[2048];
  size_t len = (size_t)snprintf(list, sizeof list, "%s", names);
  for (size_t v = 0; v < b->nv && len < sizeof list; v++)
    len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", v ? ", " : "", b->vname[v]);
  SL_CALL_GOTO(
      sl_h5_attr_str(g, "description",
                     "compression bounds of the cells (SCIENCE.md section 3; ingredients in "
                     "/bounds): per variant, the bound against N at the variant's largest "
                     "D, and counts"),
      done);
  SL_CALL_GOTO(sl_h5_attr_str(g, "variants", list), done);
  SL_CALL_GOTO(sl_h5_attr_f64(g, "log2_vocab", meas ? b->log2v[best_i] : NAN), done);
  SL_CALL_GOTO(sl_h5_attr_f64(g, "best_bound", meas ? b->best[best_i] : NAN), done);
  SL_CALL_GOTO(sl_h5_attr_f64(g, "best_cell", meas ? (double)best_i : NAN), done);
  SL_CALL_GOTO(sl_h5_attr_f64(g, "measured_cells", (double)meas), done);
  SL_CALL_GOTO(sl_h5_attr_f64(g, "nonvacuous_cells", (double)nonvac), done);
  SL_CALL_GOTO(sl_h5_attr_f64(g, "violations", (double)violations), done);
  SL_CALL_GOTO(
      sl_h5_write_f64(g, "largest_d", 1, &b->nv, col[0], "tokens",
                      "per variant: the largest D with a bound (the power law is fitted there)"),
      done);
  SL_CALL_GOTO(
      sl_h5_write_f64(g, "bound_vs_n_exponent", 1, &b->nv, col[1], "1",
                      "per variant: k of best_bound = c N^k over the cells of the largest D "
                      "(NaN: fewer than 3 sizes); k < 0 means larger models get better bounds"),
      done);
  SL_CALL_GOTO(
      sl_h5_write_f64(g, "bound_vs_n_exponent_lo", 1, &b->nv, col[2], "1", "95% interval, low end"),
      done);
  SL_CALL_GOTO(sl_h5_write_f64(g, "bound_vs_n_exponent_hi", 1, &b->nv, col[3], "1",
                               "95% interval, high end"),
               done);
  SL_CALL_GOTO(
      sl_h5_write_f64(g, "min_bound", 1, &b->nv, col[4], "bits/token", "per variant: lowest bound"),
      done);
  SL_CALL_GOTO(sl_h5_write_f64(g, "nonvacuous", 1, &b->nv, col[5], "cells",
                               "per variant: cells whose bound is below log2 V (random guessing)"),
               done);
  SL_CALL_GOTO(
      sl_h5_write_f64(g, "measured", 1, &b->nv, col[6], "cells", "per variant: cells with a bound"),
      done);
done:
  H5Gclose(g);
  return err;
}

/* ------------------------------------------------------------------ figures */

static FILE *open_in(const char *dir, const char *name) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return fopen(path, "w");
}

static void gp_head(FILE *g, const char *name, const char *what, const char *file) {
  fprintf(g,
          "# %s\n"
          "# Written by slingshot analyze from %s. Redraw with `gnuplot %s.gp` in this folder:\n"
          "# it reads %s.dat (blocks separated by two blank lines are `index` 0, 1, ...) and\n"
          "# writes %s.png. Restyle freely.\n"
          "set terminal pngcairo size 1100,750 enhanced font \"DejaVu Sans,14\"\n"
          "set output \"%s.png\"\n"
          "set grid lw 0.5 lc rgb \"#d0d0d0\"\nset border lw 1.2\nset logscale x\n"
          "set format x \"10^{%%L}\"\nset key outside right top box\n",
          what, file, name, name, name, name);
}

/* Writes NAME.gp and NAME.dat; *drawn = 1 when gnuplot made NAME.png. */
static int figure(const char *dir, const char *name, const bdata *b, const char *file, int which,
                  int figures, int *drawn) {
  *drawn = 0;
  char gpn[128], datn[128];
  snprintf(gpn, sizeof gpn, "%s.gp", name);
  snprintf(datn, sizeof datn, "%s.dat", name);
  FILE *g = open_in(dir, gpn), *d = open_in(dir, datn);
  if (!g || !d) {
    if (g) fclose(g);
    if (d) fclose(d);
    return SL_ERROR(SL_ERR_IO, "cannot write %s/%s", dir, gpn);
  }
  double *xs = calloc(b->n + 1, sizeof *xs), *ys = calloc(b->n + 1, sizeof *ys);
  size_t block = 0;
  double log2v = NAN;
  for (size_t i = 0; i < b->n; i++)
    if (measured(b, i)) log2v = b->log2v[i];
  if (which == 0) {
    gp_head(g, name,
            "Compression bound vs model size N at each variant's largest D, with the population "
            "risk of the same quantised model and random guessing (log2 V)",
            file);
    fprintf(g, "set title \"Bound (bits/token) vs N at fixed d, largest D\"\n"
               "set xlabel \"parameters N\"\nset ylabel \"bits per token\"\n");
    fprintf(g, "plot \\\n");
    for (size_t v = 0; v < b->nv; v++) {
      double dmax = 0;
      for (size_t i = 0; i < b->n; i++)
        if (measured(b, i) && vindex(b, i) == (int)v && b->d_tokens[i] > dmax)
          dmax = b->d_tokens[i];
      size_t k = distinct(b, b->n_params, (int)v, xs);
      fprintf(d, "# variant %s, D = %.17g: N, best bound, population risk\n", b->vname[v], dmax);
      for (size_t j = 0; j < k; j++)
        for (size_t i = 0; i < b->n; i++)
          if (measured(b, i) && vindex(b, i) == (int)v && b->d_tokens[i] == dmax &&
              b->n_params[i] == xs[j])
            fprintf(d, "%.10g %.10g %.10g\n", xs[j], b->best[i], b->pop[i]);
      fprintf(d, "\n\n");
      fprintf(g,
              "  \"%s\" index %zu using 1:2 with linespoints pt 7 ps 1.6 lw 2 lc %zu title "
              "\"bound, %s\", \\\n"
              "  \"%s\" index %zu using 1:3 with linespoints pt 6 ps 1.4 lw 2 dt 2 lc %zu title "
              "\"population risk, %s\", \\\n",
              datn, block, v + 1, b->vname[v], datn, block, v + 1, b->vname[v]);
      block++;
    }
    fprintf(g, "  %.10g with lines lw 2 lc rgb \"black\" title \"log2 V (random guessing)\"",
            log2v);
    if (isfinite(b->entropy_bits))
      fprintf(g, ", \\\n  %.10g with lines dt 3 lw 2 lc rgb \"gray40\" title \"entropy rate\"",
              b->entropy_bits);
    fprintf(g, "\n");
  } else {
    /* which 1: slack vs N, one line per (variant, D); which 2: slack vs D per (variant, N). */
    const double *line = which == 1 ? b->d_tokens : b->n_params;
    const double *x = which == 1 ? b->n_params : b->d_tokens;
    gp_head(g, name,
            which == 1 ? "Slack (bound minus population risk) vs N, one line per variant and D"
                       : "Slack (bound minus population risk) vs D, one line per variant and N",
            file);
    fprintf(g,
            "set title \"Slack of the bound (bits/token)\"\nset xlabel \"%s\"\n"
            "set ylabel \"bound - population risk (bits/token)\"\nset logscale y\n",
            which == 1 ? "parameters N" : "corpus tokens D");
    fprintf(g, "plot \\\n");
    for (size_t v = 0; v < b->nv; v++) {
      size_t nl = distinct(b, line, (int)v, ys);
      for (size_t l = 0; l < nl; l++) {
        size_t k = distinct(b, x, (int)v, xs);
        fprintf(d, "# variant %s, %s = %.17g: %s, slack\n", b->vname[v], which == 1 ? "D" : "N",
                ys[l], which == 1 ? "N" : "D");
        for (size_t j = 0; j < k; j++)
          for (size_t i = 0; i < b->n; i++)
            if (measured(b, i) && vindex(b, i) == (int)v && line[i] == ys[l] && x[i] == xs[j])
              fprintf(d, "%.10g %.10g\n", xs[j], b->slack[i]);
        fprintf(d, "\n\n");
        fprintf(g,
                "  \"%s\" index %zu using 1:2 with linespoints pt %d ps 1.4 lw 2 lc %zu dt %zu "
                "title \"%s, %s = %.3g\"%s\n",
                datn, block, v == 0 ? 7 : 5, l + 1, v + 1, b->vname[v], which == 1 ? "D" : "N",
                ys[l], ", \\");
        block++;
      }
    }
    fprintf(g, "  NaN notitle\n");
  }
  free(xs);
  free(ys);
  int e1 = fclose(g), e2 = fclose(d);
  SL_CHECK(e1 == 0 && e2 == 0, SL_ERR_IO, "cannot write %s/%s (disk full?)", dir, gpn);
  char png[4096];
  snprintf(png, sizeof png, "%s/%s.png", dir, name);
  remove(png);
  if (figures && sl_gnuplot_run(dir, name) == 0 && access(png, R_OK) == 0) *drawn = 1;
  return SL_OK;
}

/* ------------------------------------------------------------------ report */

static void md(FILE *f, const bdata *b, const vsum *s, size_t best_i, size_t violations,
               const int *drawn) {
  fprintf(f, "\n## Compression bounds (SCIENCE.md section 3)\n\n");
  size_t meas = 0, nonvac = 0;
  for (size_t v = 0; v < b->nv; v++)
    meas += s[v].measured, nonvac += s[v].nonvacuous;
  if (meas == 0) {
    fprintf(f, "No cell has a bound (bound.enabled = false, or no cell is done).\n");
    return;
  }
  fprintf(f,
          "Each cell's trained vector (the subspace coordinates w for subspace variants, all N "
          "weights otherwise) is quantised, arithmetic-coded (C measured by encoding and decoding) "
          "and bounded with prediction smoothing and a subsample of its training pieces; every "
          "ingredient is in `/bounds` with the formula in its `formula` attribute. A text piece "
          "is the i.i.d. document. Random guessing costs log2 V = %.4f bits/token%s.\n\n",
          b->log2v[best_i], isfinite(b->entropy_bits) ? "" : "");
  if (isfinite(b->entropy_bits))
    fprintf(f, "The entropy rate of the language is %.4f bits/token.\n\n", b->entropy_bits);
  fprintf(f,
          "- **%zu of %zu cells non-vacuous** (bound below log2 V). Lowest bound: **%.4f "
          "bits/token** (cell %zu: variant %s, N = %.0f, D = %.4g, d = %.0f, L = %.0f, C = %.0f "
          "bits, a = %g), whose quantised model's population risk is %.4f +- %.4f bits/token "
          "(slack %.4f).\n",
          nonvac, meas, b->best[best_i], best_i, b->variant + best_i * VSTR, b->n_params[best_i],
          b->d_tokens[best_i], b->d[best_i], b->levels[best_i], b->c_bits[best_i], b->alpha[best_i],
          b->pop[best_i], b->pop_se[best_i], b->slack[best_i]);
  fprintf(f,
          "- Bound below the measured population risk (a violation: a bug, or the population "
          "estimate's noise): **%zu cells**.\n",
          violations);
  for (size_t v = 0; v < b->nv; v++) {
    if (s[v].fit_ok)
      fprintf(f,
              "- Variant %s at D = %.4g: bound = c N^k with k = %.4f (95%% interval %.4f to "
              "%.4f) over %zu sizes: %s.\n",
              b->vname[v], s[v].d_max, s[v].k, s[v].k_lo, s[v].k_hi, s[v].n_points,
              s[v].k_hi < 0   ? "larger models get better bounds (the source's finding)"
              : s[v].k_lo > 0 ? "larger models get worse bounds here (against the source's "
                                "finding for GPT-2-sized models)"
                              : "no clear trend with N");
    else
      fprintf(f, "- Variant %s: fewer than 3 sizes at its largest D, no trend fitted.\n",
              b->vname[v]);
  }
  fprintf(f, "\n| variant | N | D | d | L | C (bits) | m pieces | a | bound | population risk | "
             "slack | top-1 bound | top-1 pop | top-k bound | top-k pop | pruned | N_eff |\n"
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
             "---:|\n");
  for (size_t v = 0; v < b->nv; v++)
    for (size_t i = 0; i < b->n; i++)
      if (measured(b, i) && vindex(b, i) == (int)v)
        fprintf(f,
                "| %s | %.0f | %.4g | %.0f | %.0f | %.0f | %.0f | %g | %s%.4f%s | %.4f | %.4f | "
                "%.4f | %.4f | %.4f | %.4f | %.3f | %.0f |\n",
                b->vname[v], b->n_params[i], b->d_tokens[i], b->d[i], b->levels[i], b->c_bits[i],
                b->m[i], b->alpha[i], b->best[i] < b->log2v[i] ? "**" : "", b->best[i],
                b->best[i] < b->log2v[i] ? "**" : "", b->pop[i], b->slack[i], b->top1_bound[i],
                b->top1_pop[i], b->topk_bound[i], b->topk_pop[i], b->prune[i], b->n_eff[i]);
  fprintf(f,
          "\nBold: non-vacuous. Top-k with k = %.0f. pruned: the fraction of weights magnitude "
          "pruning zeroes within bound.prune_tol of the held-out loss; N_eff = N (1 - pruned). "
          "Values in `bounds.csv` and `/analysis/bounds`.\n\n",
          b->k[best_i]);
  const char *figs[3] = {"bound_vs_n", "slack_vs_n", "slack_vs_d"};
  const char *caps[3] = {"Bound and population risk vs N at each variant's largest D, against "
                         "random guessing",
                         "Slack vs N, per variant and D", "Slack vs D, per variant and N"};
  for (int k = 0; k < 3; k++)
    if (drawn[k])
      fprintf(f, "![%s](%s.png)\n\n*%s* (`%s.gp`, `%s.dat`)\n\n", caps[k], figs[k], caps[k],
              figs[k], figs[k]);
    else
      fprintf(f, "Figure `%s.gp` (data `%s.dat`) was not drawn (no gnuplot, or --no-figures).\n\n",
              figs[k], figs[k]);
}

static int write_csv(const char *dir, const bdata *b) {
  FILE *f = open_in(dir, "bounds.csv");
  SL_CHECK(f, SL_ERR_IO, "cannot write %s/bounds.csv", dir);
  fprintf(f, "cell,variant,n_params,d_tokens,d,levels,c_bits,m,best_alpha,best_bound,"
             "best_risk_pop,best_risk_pop_stderr,slack,log2_vocab,top1_bound,top1_pop,"
             "topk_bound,topk_pop,prune_fraction,n_effective\n");
  for (size_t i = 0; i < b->n; i++)
    if (measured(b, i))
      fprintf(f,
              "%zu,\"%s\",%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,"
              "%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g\n",
              i, b->variant + i * VSTR, b->n_params[i], b->d_tokens[i], b->d[i], b->levels[i],
              b->c_bits[i], b->m[i], b->alpha[i], b->best[i], b->pop[i], b->pop_se[i], b->slack[i],
              b->log2v[i], b->top1_bound[i], b->top1_pop[i], b->topk_bound[i], b->topk_pop[i],
              b->prune[i], b->n_eff[i]);
  SL_CHECK(fclose(f) == 0, SL_ERR_IO, "cannot write %s/bounds.csv (disk full?)", dir);
  return SL_OK;
}

int sl_report_bounds(const char *file, const char *into, const char *dir, int figures) {
  char mdpath[4096];
  snprintf(mdpath, sizeof mdpath, "%s/report.md", dir);
  hid_t f = H5Fopen(into, H5F_ACC_RDWR, H5P_DEFAULT);
  SL_CHECK(f >= 0, SL_ERR_IO, "cannot open %s to add /analysis/bounds", into);
  int err = SL_OK;
  bdata b;
  memset(&b, 0, sizeof b);
  if (H5Lexists(f, "/bounds", H5P_DEFAULT) <= 0) {
    H5Fclose(f);
    FILE *m = fopen(mdpath, "a");
    SL_CHECK(m, SL_ERR_IO, "cannot append to %s", mdpath);
    fprintf(m, "\n## Compression bounds\n\nThis file has no /bounds (made before they existed).\n");
    fclose(m);
    return SL_OK;
  }
  SL_CALL_GOTO(bdata_read(f, &b), done);
  vsum s[MAX_VARIANTS];
  summarise(&b, s);
  size_t best_i = 0, violations = 0;
  double best = INFINITY;
  for (size_t i = 0; i < b.n; i++) {
    if (!measured(&b, i)) continue;
    if (b.best[i] < best) best = b.best[i], best_i = i;
    violations += b.best[i] < b.pop[i];
  }
  SL_CALL_GOTO(write_h5(f, &b, s, best_i, violations), done);
  SL_CALL_GOTO(write_csv(dir, &b), done);
  int drawn[3] = {0, 0, 0};
  const char *figs[3] = {"bound_vs_n", "slack_vs_n", "slack_vs_d"};
  for (int k = 0; k < 3; k++)
    SL_CALL_GOTO(figure(dir, figs[k], &b, file, k, figures, &drawn[k]), done);
  FILE *m = fopen(mdpath, "a");
  SL_CHECK_GOTO(m, SL_ERR_IO, done, "cannot append to %s", mdpath);
  md(m, &b, s, best_i, violations, drawn);
  SL_CHECK_GOTO(fclose(m) == 0, SL_ERR_IO, done, "cannot write %s (disk full?)", mdpath);
done:
  bdata_free(&b);
  H5Fclose(f);
  return err;
}
