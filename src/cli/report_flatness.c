/* The flatness analysis of `slingshot analyze` (src/cli/report_flatness.h): trace of the Hessian
 * against downstream ability among cells at the same loss (SCIENCE.md section 4; Liu et al.).
 *
 * The loss held equal is the training loss (/cells/train_loss: the pre-training objective the
 * Hessian is the curvature of). Downstream ability is the first of DOWNSTREAM found in the file:
 * the competence columns of /skills (issue 5) once they exist, else the held-out loss
 * (generalisation beyond the training corpus). Rank correlation: Spearman's rho (GSL, average
 * ranks for ties); its 95% interval from the percentiles of `bootstrap` resamples of the matched
 * cells with replacement (stream (seed, 0, "flatness-bootstrap")). */
#include "report_flatness.h"
#include "gnuplot.h"

#include <errno.h>
#include <fcntl.h>
#include <gsl/gsl_statistics_double.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "slingshot/error.h"
#include "slingshot/rng.h"

#define FL_STR 256

/* Downstream ability, in order of preference: dataset, its sense (+1: higher is better), label.
 * The first one present in the file is used, and the report names it. /skills/tuple_competence
 * ([cell, k'-1, split]) is reduced per cell to the mean over k' of the never-seen and the
 * longer-chain splits (transfer beyond the training corpus; read_transfer). */
static const struct {
  const char *path;
  int sense;
  const char *label;
} DOWNSTREAM[] = {
    {"/skills/tuple_competence", +1,
     "competence on never-seen skill tuples and longer chains (mean over k', /skills)"},
    {"/cells/val_loss", -1, "held-out loss (nats/token; lower is better)"},
};
#define N_DOWNSTREAM (sizeof DOWNSTREAM / sizeof DOWNSTREAM[0])

typedef struct flat_an {
  int ok; /* 1: /flatness found with some measured cell; else why */
  char why[512];
  size_t n;          /* cells in the file */
  size_t n_measured; /* done cells with a finite trace, loss and downstream */
  int8_t *status;
  char *variant; /* [n x FL_STR] */
  double *n_params, *train_loss, *val_loss, *trace, *trace_se, *exact, *neg_mass, *lmax,
      *downstream;
  const char *down_path, *down_label;
  int down_sense;
  uint8_t *matched; /* [n] in the loss window */
  double loss_lo, loss_hi;
  size_t n_matched;
  double rho, rho_lo, rho_hi;          /* trace vs downstream (sense-adjusted: see below) */
  double rho_pp, rho_pp_lo, rho_pp_hi; /* trace / N vs downstream */
  double rho_all;                      /* over every measured cell, unmatched */
  size_t n_exact, n_within_2se;        /* Hutchinson against the exact trace */
  double max_abs_z, max_rel;
} flat_an;

/* ------------------------------------------------------------------ reading */

static int has_path(hid_t f, const char *path);

static int read_col(hid_t f, const char *path, size_t n, double *out, int required) {
  if (!has_path(f, path)) {
    for (size_t i = 0; i < n; i++)
      out[i] = NAN;
    SL_CHECK(!required, SL_ERR_FORMAT, "the results file has no %s", path);
    return SL_OK;
  }
  hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
  SL_CALL_HDF5(d);
  hid_t sp = H5Dget_space(d);
  hssize_t cnt = H5Sget_simple_extent_npoints(sp);
  H5Sclose(sp);
  herr_t r =
      cnt == (hssize_t)n ? H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) : -1;
  H5Dclose(d);
  SL_CHECK(r >= 0, SL_ERR_FORMAT, "cannot read %s as %zu numbers", path, n);
  return SL_OK;
}

/* Per cell, the mean of the finite entries of splits 1 (never seen together in training) and 2
 * (longer than any training piece) of /skills/tuple_competence [n, K, 3]. */
static int read_transfer(hid_t f, const char *path, size_t n, double *out) {
  hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
  SL_CALL_HDF5(d);
  hid_t sp = H5Dget_space(d);
  hsize_t dims[3] = {0, 0, 0};
  int rank = H5Sget_simple_extent_ndims(sp);
  if (rank == 3) H5Sget_simple_extent_dims(sp, dims, NULL);
  H5Sclose(sp);
  double *all = NULL;
  if (rank == 3 && dims[0] == n && dims[2] == 3) all = malloc(sizeof(double) * n * dims[1] * 3);
  herr_t r = all ? H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, all) : -1;
  H5Dclose(d);
  if (r < 0) {
    free(all);
    return SL_ERROR(SL_ERR_FORMAT, "cannot read %s as [%zu, K, 3] numbers", path, n);
  }
  for (size_t i = 0; i < n; i++) {
    double sum = 0;
    int cnt = 0;
    for (hsize_t k = 0; k < dims[1]; k++)
      for (int split = 1; split <= 2; split++) {
        double v = all[(i * dims[1] + k) * 3 + (hsize_t)split];
        if (isfinite(v)) sum += v, cnt++;
      }
    out[i] = cnt ? sum / cnt : NAN;
  }
  free(all);
  return SL_OK;
}

/* Does the file hold path? Group by group, since H5Lexists fails on a missing parent. */
static int has_path(hid_t f, const char *path) {
  char buf[FL_STR];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = strchr(buf + 1, '/');; p = strchr(p + 1, '/')) {
    if (p) *p = '\0';
    if (H5Lexists(f, buf, H5P_DEFAULT) <= 0) return 0;
    if (!p) return 1;
    *p = '/';
  }
}

static int read_file(const char *file, flat_an *a) {
  hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
  SL_CHECK(f >= 0, SL_ERR_IO, "cannot open %s", file);
  int err = SL_OK;
  hid_t d = H5Dopen2(f, "/grid/status", H5P_DEFAULT);
  SL_CHECK_GOTO(d >= 0, SL_ERR_FORMAT, done, "%s has no /grid/status", file);
  hid_t sp = H5Dget_space(d);
  a->n = (size_t)H5Sget_simple_extent_npoints(sp);
  H5Sclose(sp);
  const size_t n = a->n ? a->n : 1;
  a->status = calloc(n, 1);
  a->variant = calloc(n, FL_STR);
  a->matched = calloc(n, 1);
  double **cols[] = {&a->n_params, &a->train_loss, &a->val_loss, &a->trace,     &a->trace_se,
                     &a->exact,    &a->neg_mass,   &a->lmax,     &a->downstream};
  for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++)
    *cols[k] = calloc(n, sizeof(double));
  int all = a->status && a->variant && a->matched;
  for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++)
    all = all && *cols[k];
  if (!all) {
    H5Dclose(d);
    SL_CHECK_GOTO(0, SL_ERR_NOMEM, done, "out of memory for %zu cells", a->n);
  }
  herr_t r = H5Dread(d, H5T_NATIVE_INT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, a->status);
  H5Dclose(d);
  SL_CHECK_GOTO(r >= 0, SL_ERR_FORMAT, done, "cannot read /grid/status of %s", file);
  if (has_path(f, "/grid/variant")) {
    hid_t v = H5Dopen2(f, "/grid/variant", H5P_DEFAULT);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, FL_STR);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    r = H5Dread(v, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, a->variant);
    H5Tclose(t);
    H5Dclose(v);
    SL_CHECK_GOTO(r >= 0, SL_ERR_FORMAT, done, "cannot read /grid/variant of %s", file);
  }
  SL_CALL_GOTO(read_col(f, "/cells/n_params", a->n, a->n_params, 1), done);
  SL_CALL_GOTO(read_col(f, "/cells/train_loss", a->n, a->train_loss, 1), done);
  SL_CALL_GOTO(read_col(f, "/cells/val_loss", a->n, a->val_loss, 1), done);
  if (!has_path(f, "/flatness/trace")) {
    snprintf(a->why, sizeof a->why,
             "the file has no /flatness (made before flatness was measured, or with an older "
             "slingshot)");
    goto done;
  }
  SL_CALL_GOTO(read_col(f, "/flatness/trace", a->n, a->trace, 1), done);
  SL_CALL_GOTO(read_col(f, "/flatness/trace_stderr", a->n, a->trace_se, 1), done);
  SL_CALL_GOTO(read_col(f, "/flatness/exact_trace", a->n, a->exact, 1), done);
  SL_CALL_GOTO(read_col(f, "/flatness/negative_mass", a->n, a->neg_mass, 1), done);
  SL_CALL_GOTO(read_col(f, "/flatness/lambda_max", a->n, a->lmax, 1), done);
  for (size_t k = 0; k < N_DOWNSTREAM; k++)
    if (has_path(f, DOWNSTREAM[k].path)) {
      if (strcmp(DOWNSTREAM[k].path, "/skills/tuple_competence") == 0)
        SL_CALL_GOTO(read_transfer(f, DOWNSTREAM[k].path, a->n, a->downstream), done);
      else
        SL_CALL_GOTO(read_col(f, DOWNSTREAM[k].path, a->n, a->downstream, 1), done);
      a->down_path = DOWNSTREAM[k].path;
      a->down_label = DOWNSTREAM[k].label;
      a->down_sense = DOWNSTREAM[k].sense;
      break;
    }
  a->ok = 1;
done:
  H5Fclose(f);
  return err;
}

/* ------------------------------------------------------------------ statistics */

static double spearman(const double *x, const double *y, size_t n, double *work) {
  if (n < 3) return NAN;
  /* constant columns have no ranks to correlate */
  int cx = 1, cy = 1;
  for (size_t i = 1; i < n; i++) {
    cx &= x[i] == x[0];
    cy &= y[i] == y[0];
  }
  if (cx || cy) return NAN;
  return gsl_stats_spearman(x, 1, y, 1, n, work);
}

static int cmp_d(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* rho of (x, y) and its bootstrap 95% percentile interval. */
static int rho_with_ci(const double *x, const double *y, size_t n, size_t reps, uint64_t seed,
                       double *rho, double *lo, double *hi) {
  *rho = *lo = *hi = NAN;
  if (n < 3) return SL_OK;
  double *bx = malloc(n * sizeof *bx), *by = malloc(n * sizeof *by);
  double *work = malloc(2 * n * sizeof *work), *r = malloc((reps ? reps : 1) * sizeof *r);
  int err = SL_OK;
  SL_CHECK_GOTO(bx && by && work && r, SL_ERR_NOMEM, done, "out of memory for the bootstrap");
  *rho = spearman(x, y, n, work);
  sl_rng g;
  sl_rng_stream(&g, seed, 0, "flatness-bootstrap");
  size_t m = 0;
  for (size_t k = 0; k < reps; k++) {
    for (size_t i = 0; i < n; i++) {
      const size_t j = (size_t)sl_rng_below(&g, n);
      bx[i] = x[j];
      by[i] = y[j];
    }
    const double v = spearman(bx, by, n, work);
    if (isfinite(v)) r[m++] = v;
  }
  if (m >= 20) {
    qsort(r, m, sizeof *r, cmp_d);
    *lo = r[(size_t)floor(0.025 * (double)(m - 1))];
    *hi = r[(size_t)ceil(0.975 * (double)(m - 1))];
  }
done:
  free(bx);
  free(by);
  free(work);
  free(r);
  return err;
}

int sl_flatness_analyze(sl_analyze_out *o) {
  flat_an *a = calloc(1, sizeof *a);
  SL_CHECK(a, SL_ERR_NOMEM, "out of memory");
  o->flatness = a;
  a->rho = a->rho_lo = a->rho_hi = a->rho_pp = a->rho_pp_lo = a->rho_pp_hi = a->rho_all = NAN;
  a->loss_lo = a->loss_hi = a->max_abs_z = a->max_rel = NAN;
  SL_CALL(read_file(o->file, a));
  if (!a->ok) return SL_OK;
  if (!a->down_path) {
    a->ok = 0;
    snprintf(a->why, sizeof a->why, "the file has no downstream column");
    return SL_OK;
  }
  const size_t n = a->n;
  size_t *idx = malloc((n ? n : 1) * sizeof *idx);
  double *x = malloc((n ? n : 1) * sizeof *x), *y = malloc((n ? n : 1) * sizeof *y);
  double *xp = malloc((n ? n : 1) * sizeof *xp), *loss = malloc((n ? n : 1) * sizeof *loss);
  int err = SL_OK;
  SL_CHECK_GOTO(idx && x && y && xp && loss, SL_ERR_NOMEM, done, "out of memory");
  /* Hutchinson against the exact trace, wherever both exist. */
  a->max_abs_z = a->max_rel = 0;
  for (size_t i = 0; i < n; i++) {
    if (a->status[i] != 1 || !isfinite(a->exact[i]) || !isfinite(a->trace[i])) continue;
    const double z = (a->trace[i] - a->exact[i]) / a->trace_se[i];
    a->n_exact++;
    a->n_within_2se += fabs(z) <= 2;
    a->max_abs_z = fmax(a->max_abs_z, fabs(z));
    a->max_rel = fmax(a->max_rel, fabs(a->trace[i] - a->exact[i]) / fabs(a->exact[i]));
  }
  /* The measured cells, by training loss. */
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    if (a->status[i] == 1 && isfinite(a->trace[i]) && isfinite(a->train_loss[i]) &&
        isfinite(a->downstream[i]))
      idx[m++] = i;
  a->n_measured = m;
  if (m == 0) {
    a->ok = 0;
    snprintf(a->why, sizeof a->why,
             "no done cell has a trace (flatness.probes = 0 in the config, or no cell is done)");
    goto done;
  }
  for (size_t k = 0; k < m; k++)
    loss[k] = a->train_loss[idx[k]];
  qsort(loss, m, sizeof *loss, cmp_d);
  /* The window [L, L + tol] of training losses holding the most cells (the lowest such L). */
  size_t best = 0, best_at = 0;
  for (size_t s = 0, e = 0; s < m; s++) {
    while (e < m && loss[e] <= loss[s] + o->tolerance)
      e++;
    if (e - s > best) best = e - s, best_at = s;
  }
  a->loss_lo = loss[best_at];
  a->loss_hi = loss[best_at] + o->tolerance;
  size_t k = 0;
  for (size_t j = 0; j < m; j++) {
    const size_t i = idx[j];
    if (a->train_loss[i] < a->loss_lo || a->train_loss[i] > a->loss_hi) continue;
    a->matched[i] = 1;
    x[k] = a->trace[i];
    xp[k] = a->trace[i] / a->n_params[i];
    /* sense-adjusted so that a positive rho means "flatter (smaller trace) is better
     * downstream" is NEGATIVE: rho(trace, ability), ability = sense * downstream */
    y[k] = a->down_sense * a->downstream[i];
    k++;
  }
  a->n_matched = k;
  SL_CALL_GOTO(rho_with_ci(x, y, k, o->bootstrap, o->seed, &a->rho, &a->rho_lo, &a->rho_hi), done);
  SL_CALL_GOTO(
      rho_with_ci(xp, y, k, o->bootstrap, o->seed, &a->rho_pp, &a->rho_pp_lo, &a->rho_pp_hi), done);
  for (size_t j = 0; j < m; j++) {
    x[j] = a->trace[idx[j]];
    y[j] = a->down_sense * a->downstream[idx[j]];
  }
  {
    double *work = malloc(2 * m * sizeof *work);
    SL_CHECK_GOTO(work, SL_ERR_NOMEM, done, "out of memory");
    a->rho_all = spearman(x, y, m, work);
    free(work);
  }
done:
  free(idx);
  free(x);
  free(y);
  free(xp);
  free(loss);
  return err;
}

void sl_flatness_free(sl_analyze_out *o) {
  flat_an *a = o->flatness;
  if (!a) return;
  free(a->status);
  free(a->variant);
  free(a->matched);
  double *cols[] = {a->n_params, a->train_loss, a->val_loss, a->trace,     a->trace_se,
                    a->exact,    a->neg_mass,   a->lmax,     a->downstream};
  for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++)
    free(cols[k]);
  free(a);
  o->flatness = NULL;
}

/* ------------------------------------------------------------------ /analysis/flatness */

#define G_FL "/analysis/flatness"

int sl_flatness_write(sl_analysis_writer *w, const sl_analyze_out *o) {
  const flat_an *a = o->flatness;
  SL_CALL(sl_analysis_group(w, G_FL,
                            "trace of the Hessian of the training loss against downstream "
                            "ability among cells at the same training loss (SCIENCE.md section "
                            "4): Spearman rank correlation with a bootstrap 95% interval"));
  if (!a || !a->ok) {
    SL_CALL(sl_analysis_attr_str(w, G_FL, "notes", a ? a->why : "not analysed"));
    return SL_OK;
  }
  SL_CALL(sl_analysis_attr_str(w, G_FL, "downstream", a->down_path));
  SL_CALL(sl_analysis_attr_str(w, G_FL, "downstream_meaning", a->down_label));
  SL_CALL(sl_analysis_attr_i64(w, G_FL, "downstream_sense", a->down_sense));
  SL_CALL(sl_analysis_attr_str(w, G_FL, "loss", "/cells/train_loss"));
  SL_CALL(sl_analysis_attr_f64(w, G_FL, "tolerance", o->tolerance));
  SL_CALL(sl_analysis_attr_f64(w, G_FL, "loss_lo", a->loss_lo));
  SL_CALL(sl_analysis_attr_f64(w, G_FL, "loss_hi", a->loss_hi));
  SL_CALL(sl_analysis_attr_i64(w, G_FL, "n_measured", (int64_t)a->n_measured));
  SL_CALL(sl_analysis_attr_i64(w, G_FL, "n_matched", (int64_t)a->n_matched));
  SL_CALL(sl_analysis_attr_i64(w, G_FL, "bootstrap", (int64_t)o->bootstrap));
  SL_CALL(sl_analysis_attr_str(w, G_FL, "sign_convention",
                               "rho = Spearman(trace, ability), ability = downstream_sense x "
                               "downstream: negative rho means flatter cells do better"));
  const double rho[3] = {a->rho, a->rho_lo, a->rho_hi},
               rpp[3] = {a->rho_pp, a->rho_pp_lo, a->rho_pp_hi};
  SL_CALL(sl_analysis_write_f64(w, G_FL "/spearman", 3, 0, rho, "1",
                                "Spearman rho of trace vs ability over the matched cells, and "
                                "its bootstrap 95% interval [rho, lo, hi]"));
  SL_CALL(sl_analysis_write_f64(w, G_FL "/spearman_per_param", 3, 0, rpp, "1",
                                "the same for trace / n_params [rho, lo, hi]"));
  SL_CALL(sl_analysis_attr_f64(w, G_FL, "spearman_all_cells", a->rho_all));
  SL_CALL(sl_analysis_attr_i64(w, G_FL, "hutchinson_checked", (int64_t)a->n_exact));
  SL_CALL(sl_analysis_attr_i64(w, G_FL, "hutchinson_within_2se", (int64_t)a->n_within_2se));
  SL_CALL(sl_analysis_attr_f64(w, G_FL, "hutchinson_max_abs_z", a->max_abs_z));
  SL_CALL(sl_analysis_attr_f64(w, G_FL, "hutchinson_max_rel_error", a->max_rel));
  int64_t *cells = malloc((a->n_matched ? a->n_matched : 1) * sizeof *cells);
  SL_CHECK(cells, SL_ERR_NOMEM, "out of memory");
  size_t k = 0;
  for (size_t i = 0; i < a->n; i++)
    if (a->matched[i]) cells[k++] = (int64_t)i;
  int err = sl_analysis_write_i64(w, G_FL "/cells", k, cells, "1",
                                  "indices of the cells whose training loss lies in [loss_lo, "
                                  "loss_hi]: the matched set");
  free(cells);
  return err;
}

/* ------------------------------------------------------------------ report folder */

static FILE *open_out(const char *dir, const char *name, const char *mode) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return fopen(path, mode);
}

static void num(FILE *f, double v) {
  if (isfinite(v)) fprintf(f, "%.10g", v);
}

static int write_csv(const sl_analyze_out *o, const flat_an *a) {
  FILE *f = open_out(o->dir, "flatness.csv", "w");
  SL_CHECK(f, SL_ERR_IO, "cannot write %s/flatness.csv: %s", o->dir, strerror(errno));
  fprintf(f, "cell,variant,n_params,train_loss,val_loss,downstream,trace,trace_stderr,"
             "trace_per_param,exact_trace,negative_mass,lambda_max,matched\n");
  for (size_t i = 0; i < a->n; i++) {
    if (a->status[i] != 1 || !isfinite(a->trace[i])) continue;
    fprintf(f, "%zu,\"%s\",%.0f,", i, a->variant + i * FL_STR, a->n_params[i]);
    const double v[] = {a->train_loss[i], a->val_loss[i], a->downstream[i],
                        a->trace[i],      a->trace_se[i], a->trace[i] / a->n_params[i],
                        a->exact[i],      a->neg_mass[i], a->lmax[i]};
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
      num(f, v[k]);
      fputc(',', f);
    }
    fprintf(f, "%d\n", a->matched[i]);
  }
  SL_CHECK(fclose(f) == 0, SL_ERR_IO, "writing %s/flatness.csv failed", o->dir);
  return SL_OK;
}

/* Variants in first-seen order, for the figure's point styles and the summary table. */
static size_t variants(const flat_an *a, const char **names, size_t max) {
  size_t nv = 0;
  for (size_t i = 0; i < a->n; i++) {
    if (a->status[i] != 1 || !isfinite(a->trace[i])) continue;
    const char *v = a->variant + i * FL_STR;
    size_t j = 0;
    while (j < nv && strcmp(names[j], v) != 0)
      j++;
    if (j == nv && nv < max) names[nv++] = v;
  }
  return nv;
}

/* flatness.gp + flatness.dat: downstream against trace, one block per variant; matched cells
 * filled, the others open. Returns 1 when the PNG was drawn. */
static int write_figure(const sl_analyze_out *o, const flat_an *a, int *drawn) {
  *drawn = 0;
  const char *names[32];
  const size_t nv = variants(a, names, 32);
  FILE *d = open_out(o->dir, "flatness.dat", "w"), *g = open_out(o->dir, "flatness.gp", "w");
  if (!d || !g) {
    if (d) fclose(d);
    if (g) fclose(g);
    return SL_ERROR(SL_ERR_IO, "cannot write the flatness figure into %s", o->dir);
  }
  for (size_t v = 0; v < nv; v++) {
    fprintf(d, "# variant %s: trace downstream matched n_params\n", names[v]);
    for (size_t i = 0; i < a->n; i++)
      if (a->status[i] == 1 && isfinite(a->trace[i]) && isfinite(a->downstream[i]) &&
          strcmp(a->variant + i * FL_STR, names[v]) == 0)
        fprintf(d, "%.10g %.10g %d %.0f\n", a->trace[i], a->downstream[i], a->matched[i],
                a->n_params[i]);
    fprintf(d, "\n\n");
  }
  fprintf(
      g,
      "# Trace of the Hessian against downstream ability (SCIENCE.md section 4).\n"
      "# Written by slingshot analyze from %s. Redraw with `gnuplot flatness.gp` in this\n"
      "# folder: it reads flatness.dat (one block per variant) and writes flatness.png.\n"
      "set terminal pngcairo size 1100,750 enhanced font \"DejaVu Sans,14\"\n"
      "set output \"flatness.png\"\n"
      "set grid lw 0.5 lc rgb \"#d0d0d0\"\n"
      "set logscale x\n"
      "set xlabel \"Tr(H) of the training loss (Hutchinson)\"\n"
      "set ylabel \"%s\"\n"
      "set key outside right\n"
      "set title \"filled: training loss in [%.4f, %.4f] (Spearman %.2f [%.2f, %.2f], n = %zu)\"\n",
      o->file, a->down_label, a->loss_lo, a->loss_hi, a->rho, a->rho_lo, a->rho_hi, a->n_matched);
  fprintf(g, "plot ");
  for (size_t v = 0; v < nv; v++)
    fprintf(g,
            "%s\"flatness.dat\" index %zu using 1:($3 == 1 ? $2 : 1/0) with points pt 7 ps 1.6 "
            "lc %zu title \"%s\", \"\" index %zu using 1:($3 == 0 ? $2 : 1/0) with points pt 6 "
            "ps 1.2 lc %zu notitle",
            v ? ", \\\n     " : "", v, v + 1, names[v], v, v + 1);
  fprintf(g, "\n");
  int e1 = fclose(d), e2 = fclose(g);
  SL_CHECK(e1 == 0 && e2 == 0, SL_ERR_IO, "writing the flatness figure into %s failed", o->dir);
  if (!o->figures || o->gnuplot_missing || nv == 0) return SL_OK;
  char png[4096];
  snprintf(png, sizeof png, "%s/flatness.png", o->dir);
  remove(png);
  *drawn = sl_gnuplot_run(o->dir, "flatness") == 0 && access(png, R_OK) == 0;
  return SL_OK;
}

static void write_md(FILE *f, const sl_analyze_out *o, const flat_an *a, int drawn) {
  fprintf(f, "\n## Flatness: trace of the Hessian against downstream ability\n\n");
  if (!a || !a->ok) {
    fprintf(f, "Not analysed: %s.\n", a ? a->why : "no flatness data");
    return;
  }
  fprintf(f,
          "SCIENCE.md section 4. The loss held equal is the training loss; downstream ability is "
          "the %s (`%s`). Of %zu cells with a measured trace, %zu have a training loss in "
          "[%.4f, %.4f] (the window of width --tolerance %.3g nats holding the most cells).\n\n",
          a->down_label, a->down_path, a->n_measured, a->n_matched, a->loss_lo, a->loss_hi,
          o->tolerance);
  fprintf(f, "| quantity | Spearman rho | 95%% interval (bootstrap, %zu) |\n|---|---:|---|\n",
          o->bootstrap);
  fprintf(f, "| trace vs ability, matched cells | %.3f | [%.3f, %.3f] |\n", a->rho, a->rho_lo,
          a->rho_hi);
  fprintf(f, "| trace / N vs ability, matched cells | %.3f | [%.3f, %.3f] |\n", a->rho_pp,
          a->rho_pp_lo, a->rho_pp_hi);
  fprintf(f, "| trace vs ability, all measured cells | %.3f | |\n\n", a->rho_all);
  fprintf(f,
          "Ability = %s: a negative rho means flatter (smaller trace) cells do better "
          "downstream, as Liu et al. report.\n\n",
          a->down_sense > 0 ? "the downstream column" : "minus the downstream column");
  if (a->n_exact)
    fprintf(f,
            "Hutchinson against the exact trace (full spectrum, %zu cells): %zu within 2 "
            "standard errors, largest |z| %.2f, largest relative error %.3f.\n\n",
            a->n_exact, a->n_within_2se, a->max_abs_z, a->max_rel);
  const char *names[32];
  const size_t nv = variants(a, names, 32);
  fprintf(f, "| variant | cells | matched | mean train loss | mean downstream | mean trace | "
             "mean trace / N |\n|---|---:|---:|---:|---:|---:|---:|\n");
  for (size_t v = 0; v < nv; v++) {
    double s[4] = {0, 0, 0, 0};
    size_t c = 0, mc = 0;
    for (size_t i = 0; i < a->n; i++)
      if (a->status[i] == 1 && isfinite(a->trace[i]) && isfinite(a->downstream[i]) &&
          strcmp(a->variant + i * FL_STR, names[v]) == 0) {
        s[0] += a->train_loss[i];
        s[1] += a->downstream[i];
        s[2] += a->trace[i];
        s[3] += a->trace[i] / a->n_params[i];
        c++;
        mc += a->matched[i];
      }
    if (c)
      fprintf(f, "| %s | %zu | %zu | %.4f | %.4f | %.4g | %.4g |\n", names[v], c, mc, s[0] / c,
              s[1] / c, s[2] / c, s[3] / c);
  }
  fprintf(f, "\nEvery measured cell: `flatness.csv`. ");
  if (drawn)
    fprintf(f, "Figure:\n\n![trace against downstream](flatness.png)\n");
  else
    fprintf(f, "Figure: `flatness.gp` (run gnuplot on it to draw flatness.png).\n");
}

int sl_flatness_report(sl_analyze_out *o) {
  flat_an *a = o->flatness;
  int drawn = 0;
  if (a && a->ok) {
    SL_CALL(write_csv(o, a));
    SL_CALL(write_figure(o, a, &drawn));
  }
  FILE *f = open_out(o->dir, "report.md", "a");
  SL_CHECK(f, SL_ERR_IO, "cannot append to %s/report.md: %s", o->dir, strerror(errno));
  write_md(f, o, a, drawn);
  SL_CHECK(fclose(f) == 0, SL_ERR_IO, "writing %s/report.md failed", o->dir);
  if (a && a->ok)
    printf("flatness: %zu of %zu measured cells at training loss %.4f..%.4f: Spearman(trace, "
           "ability) = %.3f [%.3f, %.3f] (ability: %s)%s\n",
           a->n_matched, a->n_measured, a->loss_lo, a->loss_hi, a->rho, a->rho_lo, a->rho_hi,
           a->down_label, "");
  else
    printf("flatness: not analysed: %s\n", a ? a->why : "no data");
  if (a && a->n_exact)
    printf("flatness: Hutchinson vs exact trace on %zu cells: %zu within 2 se, max |z| %.2f\n",
           a->n_exact, a->n_within_2se, a->max_abs_z);
  return SL_OK;
}
