/* The skills part of `slingshot analyze` (docs/SCIENCE.md sections 1 and 5): emergence curves
 * fitted with a sigmoid in log scale, the slingshot test, the measured competence distributions
 * against the skill theorem, unseen tuples against single skills across scale. Reads /skills,
 * writes /analysis/skills, figures and a section of report.md. Runs on rank 0, not collective. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gnuplot.h"
#include "slingshot/cli.h"
#include "slingshot/error.h"
#include "slingshot/fit.h"
#include "slingshot/theory.h"

#define NSPLIT 3
#define MAXQ (1 + 8 * NSPLIT)
#define NBETA 12

static const char *const SPLIT[NSPLIT] = {"seen", "unseen", "longer"};
static const double BETAS[NBETA] = {1.1, 1.25, 1.5, 1.75, 2, 2.5, 3, 4, 5, 6, 8, 10};

typedef struct skills_data {
  size_t n;         /* cells */
  int S, K, T, thr; /* skills, tuple sizes, tuples per split, thresholds */
  double pieces;    /* held-out pieces per cell */
  char thresholds[256];
  double *theta, *excess, *comp, *pieces_s, *frac_s, *tmean, *tvals, *ftup;
} skills_data;

static void sd_free(skills_data *d) {
  free(d->theta), free(d->excess), free(d->comp), free(d->pieces_s), free(d->frac_s);
  free(d->tmean), free(d->tvals), free(d->ftup);
}

static int read_ds(hid_t f, const char *path, size_t want, double **out) {
  hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
  SL_CHECK(d >= 0, SL_ERR_FORMAT, "cannot open %s", path);
  hid_t sp = H5Dget_space(d);
  hssize_t n = H5Sget_simple_extent_npoints(sp);
  H5Sclose(sp);
  double *buf = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
  herr_t r = buf && (size_t)n == want
                 ? H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf)
                 : -1;
  H5Dclose(d);
  if (r < 0) {
    free(buf);
    return SL_ERROR(SL_ERR_FORMAT, "%s has %lld values, expected %zu (or is unreadable)", path,
                    (long long)n, want);
  }
  *out = buf;
  return SL_OK;
}

static int64_t attr_i64(hid_t obj, const char *name) {
  int64_t v = 0;
  if (H5Aexists(obj, name) <= 0) return 0;
  hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
  H5Aread(a, H5T_NATIVE_INT64, &v);
  H5Aclose(a);
  return v;
}

static void attr_text(hid_t obj, const char *name, char *buf, size_t len) {
  buf[0] = '\0';
  if (H5Aexists(obj, name) <= 0) return;
  hid_t a = H5Aopen(obj, name, H5P_DEFAULT), t = H5Aget_type(a);
  size_t size = H5Tget_size(t);
  if (H5Tget_class(t) == H5T_STRING && !H5Tis_variable_str(t) && size < len) {
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, len);
    H5Aread(a, mt, buf);
    H5Tclose(mt);
  }
  H5Tclose(t);
  H5Aclose(a);
}

/* 0: read; 1: the file has no /skills (made before skill competence). */
static int read_skills(const char *path, size_t n_cells, skills_data *d, int *absent) {
  memset(d, 0, sizeof *d);
  *absent = 0;
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  SL_CHECK(f >= 0, SL_ERR_IO, "cannot open %s", path);
  int err = SL_OK;
  if (H5Lexists(f, "/skills", H5P_DEFAULT) <= 0) {
    *absent = 1;
    H5Fclose(f);
    return SL_OK;
  }
  hid_t g = H5Gopen2(f, "/skills", H5P_DEFAULT);
  d->n = n_cells;
  d->K = (int)attr_i64(g, "K");
  d->T = (int)attr_i64(g, "tuples");
  d->pieces = (double)attr_i64(g, "pieces");
  attr_text(g, "thresholds", d->thresholds, sizeof d->thresholds);
  H5Gclose(g);
  d->thr = 0;
  for (const char *p = d->thresholds; *p; p++)
    d->thr += *p == ',';
  d->thr += d->thresholds[0] != '\0';
  const int thr = d->thr ? d->thr : 1;
  hid_t ds = H5Dopen2(f, "/skills/competence", H5P_DEFAULT);
  SL_CHECK_GOTO(ds >= 0, SL_ERR_FORMAT, done, "%s: /skills/competence missing", path);
  hsize_t dims[2] = {0, 0};
  hid_t sp = H5Dget_space(ds);
  H5Sget_simple_extent_dims(sp, dims, NULL);
  H5Sclose(sp);
  H5Dclose(ds);
  d->S = (int)dims[1];
  const size_t n = n_cells, ks = (size_t)d->K * NSPLIT;
  SL_CALL_GOTO(read_ds(f, "/skills/theta", n, &d->theta), done);
  SL_CALL_GOTO(read_ds(f, "/skills/excess_kl", n, &d->excess), done);
  SL_CALL_GOTO(read_ds(f, "/skills/competence", n * d->S, &d->comp), done);
  SL_CALL_GOTO(read_ds(f, "/skills/skill_pieces", n * d->S, &d->pieces_s), done);
  SL_CALL_GOTO(read_ds(f, "/skills/frac_skills_above", n * thr, &d->frac_s), done);
  SL_CALL_GOTO(read_ds(f, "/skills/tuple_competence", n * ks, &d->tmean), done);
  SL_CALL_GOTO(read_ds(f, "/skills/tuple_values", n * ks * d->T, &d->tvals), done);
  SL_CALL_GOTO(read_ds(f, "/skills/frac_tuples_above", n * ks * thr, &d->ftup), done);
done:
  H5Fclose(f);
  return err;
}

/* ------------------------------------------------------------------ the numbers */

typedef struct quantity {
  char name[32], label[64];
  double *y; /* [n] per cell (NaN: not usable) */
  int ok_c, ok_e;
  char why_c[160], why_e[160];
  double m_c[3], w_c[3], m_e[3], w_e[3]; /* value, lo, hi */
  size_t used_c, used_e;
} quantity;

typedef struct skills_out {
  skills_data d;
  size_t n_use;
  size_t *use;      /* usable cells */
  double *C, *invE; /* [n] compute (6ND) and 1 / excess */
  double k_eff;     /* mean skills per held-out piece */
  int nq;
  quantity q[MAXQ];
  /* slingshot: [K x NSPLIT] mean |tuple(theta) - skills(k' theta)|, signed mean, points */
  double *sl_abs, *sl_signed, *sl_n;
  /* theorem: [n] min over betas of (measured fraction - bound), violations, betas with a bound */
  double *margin, *viol, *nbound;
} skills_out;

static int fit_one(const double *x, const double *y, const size_t *use, size_t n_use, double *m,
                   double *w, size_t *used, char *why, size_t why_len) {
  double *xx = malloc(sizeof(double) * (n_use + 1)), *yy = malloc(sizeof(double) * (n_use + 1));
  SL_CHECK(xx && yy, SL_ERR_NOMEM, "out of memory");
  size_t k = 0;
  for (size_t i = 0; i < n_use; i++)
    if (isfinite(y[use[i]]) && isfinite(x[use[i]]) && x[use[i]] > 0)
      xx[k] = x[use[i]], yy[k] = y[use[i]], k++;
  sl_fit_options opt;
  sl_fit_options_default(&opt);
  sl_fit_data data = {k, xx, NULL, yy};
  sl_fit_result r;
  memset(&r, 0, sizeof r);
  int ok = 0;
  if (k < 3) {
    snprintf(why, why_len, "%zu usable cells (3 needed)", k);
  } else {
    int e = sl_fit_run("sigmoid_log", &data, &opt, &r);
    if (e == SL_OK) {
      ok = 1;
      m[0] = r.value[SL_SG_M], m[1] = r.lo[SL_SG_M], m[2] = r.hi[SL_SG_M];
      w[0] = r.value[SL_SG_W], w[1] = r.lo[SL_SG_W], w[2] = r.hi[SL_SG_W];
      *used = r.n_used;
    } else {
      snprintf(why, why_len, "%s", sl_error_message());
      sl_error_clear();
    }
    sl_fit_result_free(&r);
  }
  free(xx);
  free(yy);
  return ok;
}

/* y(x) by linear interpolation in ln x over points sorted by x; NaN outside their range. */
static double interp(const double *x, const double *y, size_t n, double at) {
  if (n < 2 || !(at >= x[0] && at <= x[n - 1])) return n == 1 && at == x[0] ? y[0] : NAN;
  for (size_t i = 1; i < n; i++)
    if (at <= x[i]) {
      double t = (log(at) - log(x[i - 1])) / (log(x[i]) - log(x[i - 1]));
      return x[i] == x[i - 1] ? y[i] : y[i - 1] + t * (y[i] - y[i - 1]);
    }
  return NAN;
}

typedef struct pt {
  double x, y;
} pt;
static int pt_cmp(const void *a, const void *b) {
  const pt *p = a, *q = b;
  return (p->x > q->x) - (p->x < q->x);
}

static int compute(const sl_analyze_out *o, skills_out *s) {
  skills_data *d = &s->d;
  const size_t n = d->n;
  SL_ALLOC(s->use, n);
  SL_ALLOC(s->C, n);
  SL_ALLOC(s->invE, n);
  for (size_t i = 0; i < n; i++) {
    s->C[i] = o->data->flops_6nd[i];
    s->invE[i] = d->excess[i] > 0 ? 1.0 / d->excess[i] : NAN;
    if (!o->drop_reason[i] && isfinite(d->theta[i])) s->use[s->n_use++] = i;
  }
  /* Mean skills per held-out piece: the k of the theorem for this language's mixture. */
  double tot = 0;
  size_t cnt = 0;
  for (size_t u = 0; u < s->n_use; u++) {
    double sum = 0;
    for (int a = 0; a < d->S; a++)
      sum += isfinite(d->pieces_s[s->use[u] * d->S + a]) ? d->pieces_s[s->use[u] * d->S + a] : 0;
    tot += sum / d->pieces, cnt++;
  }
  s->k_eff = cnt ? tot / cnt : NAN;

  /* Quantities: the mean skill competence, then each k' and split with data. */
  quantity *q = &s->q[0];
  snprintf(q->name, sizeof q->name, "skills");
  snprintf(q->label, sizeof q->label, "single skills (held-out pieces)");
  SL_ALLOC(q->y, n);
  for (size_t i = 0; i < n; i++) {
    double sum = 0;
    int k = 0;
    for (int a = 0; a < d->S; a++)
      if (isfinite(d->comp[i * d->S + a])) sum += d->comp[i * d->S + a], k++;
    q->y[i] = k ? sum / k : NAN;
  }
  s->nq = 1;
  for (int k = 1; k <= d->K; k++)
    for (int sp = 0; sp < NSPLIT; sp++) {
      int any = 0;
      for (size_t u = 0; u < s->n_use; u++)
        any |= isfinite(d->tmean[(s->use[u] * d->K + (k - 1)) * NSPLIT + sp]);
      if (!any) continue;
      q = &s->q[s->nq++];
      snprintf(q->name, sizeof q->name, "k%d_%s", k, SPLIT[sp]);
      snprintf(q->label, sizeof q->label, "%d-tuples, %s", k, SPLIT[sp]);
      SL_ALLOC(q->y, n);
      for (size_t i = 0; i < n; i++)
        q->y[i] = d->tmean[(i * d->K + (k - 1)) * NSPLIT + sp];
    }
  for (int j = 0; j < s->nq; j++) {
    q = &s->q[j];
    q->ok_c = fit_one(s->C, q->y, s->use, s->n_use, q->m_c, q->w_c, &q->used_c, q->why_c,
                      sizeof q->why_c);
    q->ok_e = fit_one(s->invE, q->y, s->use, s->n_use, q->m_e, q->w_e, &q->used_e, q->why_e,
                      sizeof q->why_e);
  }

  /* Slingshot test: tuple mean at theta vs the skills curve at k' theta (tensorisation). */
  const size_t ks = (size_t)d->K * NSPLIT;
  SL_ALLOC(s->sl_abs, ks);
  SL_ALLOC(s->sl_signed, ks);
  SL_ALLOC(s->sl_n, ks);
  pt *curve = malloc(sizeof(pt) * (n + 1));
  SL_CHECK(curve, SL_ERR_NOMEM, "out of memory");
  size_t nc = 0;
  for (size_t u = 0; u < s->n_use; u++) {
    size_t i = s->use[u];
    if (isfinite(s->q[0].y[i]) && d->theta[i] > 0) curve[nc++] = (pt){d->theta[i], s->q[0].y[i]};
  }
  qsort(curve, nc, sizeof *curve, pt_cmp);
  double *cx = malloc(sizeof(double) * (nc + 1)), *cy = malloc(sizeof(double) * (nc + 1));
  SL_CHECK(cx && cy, SL_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < nc; i++)
    cx[i] = curve[i].x, cy[i] = curve[i].y;
  for (int k = 1; k <= d->K; k++)
    for (int sp = 0; sp < NSPLIT; sp++) {
      double sa = 0, ss = 0;
      int m = 0;
      for (size_t u = 0; u < s->n_use; u++) {
        size_t i = s->use[u];
        double t = d->tmean[(i * d->K + (k - 1)) * NSPLIT + sp];
        double ref = interp(cx, cy, nc, k * d->theta[i]);
        if (!isfinite(t) || !isfinite(ref)) continue;
        sa += fabs(t - ref), ss += t - ref, m++;
      }
      size_t at = (size_t)(k - 1) * NSPLIT + sp;
      s->sl_abs[at] = m ? sa / m : NAN;
      s->sl_signed[at] = m ? ss / m : NAN;
      s->sl_n[at] = m;
    }
  free(curve);
  free(cx);
  free(cy);

  /* The theorem against each cell's measured skill competences. */
  SL_ALLOC(s->margin, n);
  SL_ALLOC(s->viol, n);
  SL_ALLOC(s->nbound, n);
  for (size_t i = 0; i < n; i++)
    s->margin[i] = s->viol[i] = s->nbound[i] = NAN;
  for (size_t u = 0; u < s->n_use; u++) {
    size_t i = s->use[u];
    double mn = INFINITY;
    int v = 0, nb = 0, with = 0;
    for (int a = 0; a < d->S; a++)
      with += isfinite(d->comp[i * d->S + a]);
    for (int b = 0; b < NBETA; b++) {
      double al = sl_theory_alpha(d->theta[i], s->k_eff, BETAS[b]);
      if (isnan(al) || with == 0) continue;
      double c = 1 - BETAS[b] * d->theta[i];
      int above = 0;
      for (int a = 0; a < d->S; a++)
        above += isfinite(d->comp[i * d->S + a]) && d->comp[i * d->S + a] >= c;
      double gap = (double)above / with - (1 - al);
      mn = gap < mn ? gap : mn;
      v += gap < 0, nb++;
    }
    s->margin[i] = nb ? mn : NAN;
    s->viol[i] = v;
    s->nbound[i] = nb;
  }
  return SL_OK;
}

/* ------------------------------------------------------------------ /analysis/skills */

static int write_h5(const char *path, const skills_out *s) {
  hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  SL_CHECK(f >= 0, SL_ERR_IO, "cannot open %s for writing /analysis/skills", path);
  int err = SL_OK;
  if (H5Lexists(f, "/analysis", H5P_DEFAULT) <= 0) {
    hid_t a = H5Gcreate2(f, "/analysis", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0) H5Gclose(a);
  }
  if (H5Lexists(f, "/analysis/skills", H5P_DEFAULT) > 0)
    H5Ldelete(f, "/analysis/skills", H5P_DEFAULT);
  hid_t g = H5Gcreate2(f, "/analysis/skills", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  SL_CHECK_GOTO(g >= 0, SL_ERR_HDF5, done, "cannot create /analysis/skills in %s", path);
  char names[1024] = "";
  for (int j = 0; j < s->nq; j++)
    snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", j ? ", " : "",
             s->q[j].name);
  SL_CALL_GOTO(sl_h5_attr_str(g, "description",
                              "emergence fits (sigmoid in log scale, SCIENCE.md section 5), the "
                              "slingshot test and the skill theorem against the measurements"),
               done);
  SL_CALL_GOTO(sl_h5_attr_str(g, "quantities", names), done);
  SL_CALL_GOTO(sl_h5_attr_f64(g, "k_eff", s->k_eff), done);
  double *fc = calloc((size_t)s->nq * 8, sizeof(double)), *fe = calloc((size_t)s->nq * 8, 8);
  SL_CHECK_GOTO(fc && fe, SL_ERR_NOMEM, done, "out of memory");
  for (int j = 0; j < s->nq; j++) {
    const quantity *q = &s->q[j];
    double c[8] = {q->m_c[0], q->m_c[1], q->m_c[2],      q->w_c[0],
                   q->w_c[1], q->w_c[2], exp(q->m_c[0]), (double)q->used_c};
    double e[8] = {q->m_e[0], q->m_e[1], q->m_e[2],       q->w_e[0],
                   q->w_e[1], q->w_e[2], exp(-q->m_e[0]), (double)q->used_e};
    for (int a = 0; a < 8; a++) {
      fc[j * 8 + a] = q->ok_c ? c[a] : NAN;
      fe[j * 8 + a] = q->ok_e ? e[a] : NAN;
    }
  }
  size_t d2[2] = {(size_t)s->nq, 8}, d1[1] = {s->d.n}, dk[2] = {(size_t)s->d.K, NSPLIT};
  err = sl_h5_write_f64(g, "fit_compute", 2, d2, fc, "1",
                        "competence vs training compute C = 6ND: sigmoid y = 1/(1+exp(-(ln C - "
                        "m)/w)); rows = quantities (attribute of the group), columns m, m_lo, "
                        "m_hi, w, w_lo, w_hi (95%), midpoint exp(m) in FLOP, cells used");
  if (!err)
    err = sl_h5_write_f64(g, "fit_excess", 2, d2, fe, "1",
                          "competence vs exact excess loss E (x = 1/E so the curve rises): "
                          "columns m, m_lo, m_hi, w, w_lo, w_hi, midpoint exp(-m) in nats/token, "
                          "cells used");
  free(fc);
  free(fe);
  SL_CALL_GOTO(err, done);
  SL_CALL_GOTO(sl_h5_write_f64(g, "slingshot_abs", 2, dk, s->sl_abs, "1",
                               "slingshot test: mean over cells of |k'-tuple competence at theta "
                               "- single-skill competence at k' theta| (interpolated in ln "
                               "theta), [k'-1, split]"),
               done);
  SL_CALL_GOTO(sl_h5_write_f64(g, "slingshot_signed", 2, dk, s->sl_signed, "1",
                               "the same, signed (tuple minus skills), [k'-1, split]"),
               done);
  SL_CALL_GOTO(sl_h5_write_f64(g, "slingshot_cells", 2, dk, s->sl_n, "cells",
                               "cells in the comparison (k' theta inside the measured range)"),
               done);
  SL_CALL_GOTO(sl_h5_write_f64(g, "bound_margin", 1, d1, s->margin, "1",
                               "per cell, the smallest over betas of (measured fraction of skills "
                               "with competence >= 1 - beta theta) - (the theorem's 1 - alpha at "
                               "k = k_eff); negative: the bound is broken"),
               done);
  SL_CALL_GOTO(sl_h5_write_f64(g, "bound_violations", 1, d1, s->viol, "betas",
                               "per cell, betas at which the measured fraction is below the bound"),
               done);
done:
  if (g >= 0) H5Gclose(g);
  H5Fclose(f);
  return err;
}

/* ------------------------------------------------------------------ figures */

static void gp_head(FILE *g, const char *name, const char *what, const char *file) {
  fprintf(
      g,
      "# %s\n# Written by slingshot analyze from %s. Redraw with `gnuplot %s.gp` here.\n"
      "set terminal pngcairo size 1000,650 enhanced font \"DejaVu Sans,13\"\n"
      "set output \"%s.png\"\nset grid lw 0.5 lc rgb \"#d0d0d0\"\nset key top left box opaque\n",
      what, file, name, name);
}

static double sig(double x, double m, double w) {
  return 1.0 / (1.0 + exp(-(log(x) - m) / w));
}

/* Emergence against compute (by = 0) or excess loss (by = 1). */
static int fig_emergence(const char *dir, const char *file, const skills_out *s, int by) {
  const char *name = by ? "skills_excess" : "skills_compute";
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.dat", dir, name);
  FILE *d = fopen(path, "w");
  SL_CHECK(d, SL_ERR_IO, "cannot write %s", path);
  double lo = INFINITY, hi = 0;
  for (size_t u = 0; u < s->n_use; u++) {
    double x = by ? s->d.excess[s->use[u]] : s->C[s->use[u]];
    if (x > 0) lo = fmin(lo, x), hi = fmax(hi, x);
  }
  for (int j = 0; j < s->nq; j++) {
    fprintf(d, "# %s: x y (cells), then the fit\n", s->q[j].name);
    for (size_t u = 0; u < s->n_use; u++) {
      size_t i = s->use[u];
      double x = by ? s->d.excess[i] : s->C[i];
      if (isfinite(s->q[j].y[i]) && x > 0) fprintf(d, "%.8g %.8g\n", x, s->q[j].y[i]);
    }
    fprintf(d, "\n\n");
    const quantity *q = &s->q[j];
    for (int t = 0; t <= 60 && (by ? q->ok_e : q->ok_c); t++) {
      double x = lo * pow(hi / lo, t / 60.0);
      fprintf(d, "%.8g %.8g\n", x,
              by ? sig(1 / x, q->m_e[0], q->w_e[0]) : sig(x, q->m_c[0], q->w_c[0]));
    }
    fprintf(d, "\n\n");
  }
  fclose(d);
  snprintf(path, sizeof path, "%s/%s.gp", dir, name);
  FILE *g = fopen(path, "w");
  SL_CHECK(g, SL_ERR_IO, "cannot write %s", path);
  gp_head(g, name, by ? "competence against excess loss" : "competence against compute", file);
  fprintf(g, "set logscale x\nset yrange [-0.02:1.02]\nset ylabel \"competence\"\n");
  if (by)
    fprintf(g, "set xlabel \"exact excess loss (nats/token)\"\nset xrange [*:*] reverse\n");
  else
    fprintf(g, "set xlabel \"training compute 6ND (FLOP)\"\n");
  fprintf(g, "plot ");
  for (int j = 0; j < s->nq; j++)
    fprintf(g,
            "%s\"%s.dat\" index %d with points pt %d ps 1.3 lc %d title \"%s\", \"%s.dat\" "
            "index %d with lines lw 2 lc %d notitle",
            j ? ", \\\n  " : "", name, 2 * j, 5 + j % 4, j + 1, s->q[j].label, name, 2 * j + 1,
            j + 1);
  fprintf(g, "\n");
  fclose(g);
  return sl_gnuplot_run(dir, name);
}

static int fig_slingshot(const char *dir, const char *file, const skills_out *s) {
  const char *name = "skills_slingshot";
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.dat", dir, name);
  FILE *d = fopen(path, "w");
  SL_CHECK(d, SL_ERR_IO, "cannot write %s", path);
  int blocks = 0;
  char titles[MAXQ][64];
  fprintf(d, "# single skills: theta competence\n");
  for (size_t u = 0; u < s->n_use; u++)
    fprintf(d, "%.8g %.8g\n", s->d.theta[s->use[u]], s->q[0].y[s->use[u]]);
  fprintf(d, "\n\n");
  snprintf(titles[blocks++], 64, "single skills at theta");
  for (int k = 2; k <= s->d.K; k++)
    for (int sp = 0; sp < NSPLIT; sp++) {
      int any = 0;
      for (size_t u = 0; u < s->n_use; u++)
        any |= isfinite(s->d.tmean[(s->use[u] * s->d.K + (k - 1)) * NSPLIT + sp]);
      if (!any || blocks >= MAXQ) continue;
      fprintf(d, "# %d-tuples %s: k' theta, competence\n", k, SPLIT[sp]);
      for (size_t u = 0; u < s->n_use; u++) {
        size_t i = s->use[u];
        double t = s->d.tmean[(i * s->d.K + (k - 1)) * NSPLIT + sp];
        if (isfinite(t)) fprintf(d, "%.8g %.8g\n", k * s->d.theta[i], t);
      }
      fprintf(d, "\n\n");
      snprintf(titles[blocks++], 64, "%d-tuples %s, at %d theta", k, SPLIT[sp], k);
    }
  fclose(d);
  snprintf(path, sizeof path, "%s/%s.gp", dir, name);
  FILE *g = fopen(path, "w");
  SL_CHECK(g, SL_ERR_IO, "cannot write %s", path);
  gp_head(g, name, "slingshot test: k'-tuple competence at k' theta on the single-skill curve",
          file);
  fprintf(g, "set logscale x\nset yrange [-0.02:1.02]\nset xlabel \"theta (tuples: k' theta)\"\n"
             "set ylabel \"mean competence\"\nplot ");
  for (int b = 0; b < blocks; b++)
    fprintf(g, "%s\"%s.dat\" index %d %s lc %d title \"%s\"", b ? ", \\\n  " : "", name, b,
            b ? "with points pt 7 ps 1.2" : "smooth unique with linespoints lw 2 pt 5", b + 1,
            titles[b]);
  fprintf(g, "\n");
  fclose(g);
  return sl_gnuplot_run(dir, name);
}

/* The measured fraction of skills above each competence, against the theorem, for three cells:
 * least, median and most compute. */
static int fig_bound(const char *dir, const char *file, const skills_out *s, size_t pick[3]) {
  const char *name = "skills_bound";
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.dat", dir, name);
  FILE *d = fopen(path, "w");
  SL_CHECK(d, SL_ERR_IO, "cannot write %s", path);
  const skills_data *sd = &s->d;
  for (int p = 0; p < 3; p++) {
    size_t i = pick[p];
    fprintf(d, "# cell %zu measured: competence c, fraction of skills >= c\n", i);
    for (int t = 0; t <= 100; t++) {
      double c = t / 100.0;
      int with = 0, above = 0;
      for (int a = 0; a < sd->S; a++)
        if (isfinite(sd->comp[i * sd->S + a])) with++, above += sd->comp[i * sd->S + a] >= c;
      fprintf(d, "%.4f %.6f\n", c, with ? (double)above / with : NAN);
    }
    fprintf(d, "\n\n# cell %zu theorem (theta %.4g, k %.3g)\n", i, sd->theta[i], s->k_eff);
    for (int b = 0; b < 200; b++) {
      double beta = 1.01 * pow(1 / sd->theta[i] / 1.01, b / 199.0);
      double al = sl_theory_alpha(sd->theta[i], s->k_eff, beta);
      if (!isnan(al)) fprintf(d, "%.6f %.6f\n", 1 - beta * sd->theta[i], 1 - al);
    }
    fprintf(d, "\n\n");
  }
  fclose(d);
  snprintf(path, sizeof path, "%s/%s.gp", dir, name);
  FILE *g = fopen(path, "w");
  SL_CHECK(g, SL_ERR_IO, "cannot write %s", path);
  gp_head(g, name, "measured skill competence distribution against the skill theorem", file);
  fprintf(g, "set xrange [0:1]\nset yrange [0:1.02]\nset xlabel \"competence c\"\n"
             "set ylabel \"fraction of skills with competence >= c\"\nplot ");
  for (int p = 0; p < 3; p++) {
    size_t i = pick[p];
    fprintf(g,
            "%s\"%s.dat\" index %d with steps lw 2 lc %d title \"cell %zu (C %.2g, theta %.3f)\", "
            "\"%s.dat\" index %d with lines dt 2 lw 2 lc %d title \"theorem at its theta\"",
            p ? ", \\\n  " : "", name, 2 * p, p + 1, i, s->C[i], sd->theta[i], name, 2 * p + 1,
            p + 1);
  }
  fprintf(g, "\n");
  fclose(g);
  return sl_gnuplot_run(dir, name);
}

/* ------------------------------------------------------------------ report.md */

static void fmt_ci(char *b, size_t len, double v, double lo, double hi, int expo, int neg) {
  if (expo) {
    double a = exp(neg ? -v : v), l = exp(neg ? -hi : lo), h = exp(neg ? -lo : hi);
    snprintf(b, len, "%.3g [%.3g, %.3g]", a, l, h);
  } else {
    snprintf(b, len, "%.3f [%.3f, %.3f]", v, lo, hi);
  }
}

static int write_md(const char *dir, const sl_analyze_out *o, const skills_out *s,
                    const int *fig_rc, int have_gp) {
  char path[4096];
  snprintf(path, sizeof path, "%s/report.md", dir);
  FILE *f = fopen(path, "r");
  char *old = NULL;
  size_t len = 0;
  if (f) {
    fseek(f, 0, SEEK_END);
    len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    old = malloc(len + 1);
    if (old) len = fread(old, 1, len, f), old[len] = '\0';
    fclose(f);
  }
  const char *mark = "## The config of the run";
  char *cut = old ? strstr(old, mark) : NULL;
  f = fopen(path, "w");
  if (!f) {
    free(old);
    return SL_ERROR(SL_ERR_IO, "cannot write %s", path);
  }
  if (old) fwrite(old, 1, cut ? (size_t)(cut - old) : len, f);
  const skills_data *d = &s->d;
  fprintf(f,
          "## Skills: emergence and slingshot generalisation\n\n"
          "docs/SCIENCE.md sections 0, 1 and 5. Per cell (`/skills`): theta = fraction of "
          "%.0f held-out pieces with a wrong teacher-forced cloze answer (answers y1..yk must "
          "each be the top-1 token); competence of every skill; competence of sampled "
          "k'-tuples (k' = 1..%d, %d per split, each probed by pieces using exactly its "
          "skills) seen together in training, never seen, or longer than any training piece. "
          "Fits: `/analysis/skills`. %zu cells used.\n\n",
          d->pieces, d->K, d->T, s->n_use);
  fprintf(f, "### Emergence (sigmoid in log scale, lo 0 and hi 1 fixed, 95%% intervals)\n\n"
             "| quantity | midpoint in compute (FLOP) | width w (ln C) | midpoint in excess loss "
             "(nats/token) | width w (ln 1/E) |\n|---|---|---|---|---|\n");
  for (int j = 0; j < s->nq; j++) {
    const quantity *q = &s->q[j];
    char a[96], b[96], c[96], e[96];
    if (q->ok_c) {
      fmt_ci(a, sizeof a, q->m_c[0], q->m_c[1], q->m_c[2], 1, 0);
      fmt_ci(b, sizeof b, q->w_c[0], q->w_c[1], q->w_c[2], 0, 0);
    } else {
      snprintf(a, sizeof a, "no fit: %.80s", q->why_c), b[0] = '\0';
    }
    if (q->ok_e) {
      fmt_ci(c, sizeof c, q->m_e[0], q->m_e[1], q->m_e[2], 1, 1);
      fmt_ci(e, sizeof e, q->w_e[0], q->w_e[1], q->w_e[2], 0, 0);
    } else {
      snprintf(c, sizeof c, "no fit: %.80s", q->why_e), e[0] = '\0';
    }
    fprintf(f, "| %s | %s | %s | %s | %s |\n", q->label, a, b, c, e);
  }
  if (s->q[0].ok_c) {
    fprintf(f, "\nMidpoint in compute relative to single skills (> 1: emerges later):");
    for (int j = 1; j < s->nq; j++)
      if (s->q[j].ok_c) fprintf(f, " %s %.3g;", s->q[j].name, exp(s->q[j].m_c[0] - s->q[0].m_c[0]));
    fprintf(f, "\n");
  }
  fprintf(f, "\n### Slingshot test (tensorisation)\n\nThe theory says the k'-tuple curve of a "
             "model at theta equals the single-skill curve at k' theta. For every cell, its "
             "mean k'-tuple competence is compared with the single-skill competence of the "
             "cells interpolated (in ln theta) at k' theta; cells where k' theta lies outside "
             "the measured thetas are left out.\n\n| k' | split | mean abs distance | mean "
             "signed (tuples - skills) | cells |\n|---|---|---|---|---|\n");
  for (int k = 1; k <= d->K; k++)
    for (int sp = 0; sp < NSPLIT; sp++) {
      size_t at = (size_t)(k - 1) * NSPLIT + sp;
      if (s->sl_n[at] > 0)
        fprintf(f, "| %d | %s | %.3f | %+.3f | %.0f |\n", k, SPLIT[sp], s->sl_abs[at],
                s->sl_signed[at], s->sl_n[at]);
    }
  size_t resp = 0, with = 0, total_viol = 0;
  double worst = INFINITY;
  for (size_t u = 0; u < s->n_use; u++) {
    size_t i = s->use[u];
    if (!(s->nbound[i] > 0)) continue;
    with++;
    resp += s->viol[i] == 0;
    total_viol += (size_t)s->viol[i];
    worst = fmin(worst, s->margin[i]);
  }
  fprintf(f,
          "\n### The skill theorem against the measurements\n\nFor each cell, at betas %g..%g "
          "with a valid alpha at the cell's theta and k = %.3f (the mean skills per held-out "
          "piece; the theorem assumes a fixed k and N2 >> N1, so this is a heuristic check): "
          "is the measured fraction of skills with competence >= 1 - beta theta at least the "
          "bound 1 - alpha?\n\n",
          BETAS[0], BETAS[NBETA - 1], s->k_eff);
  if (with == 0)
    fprintf(f, "No cell has a theta small enough for the bound to say anything.\n");
  else
    fprintf(f,
            "Bound respected in %zu of %zu cells (%zu violations over all betas); smallest "
            "margin (measured - bound) %.3f.\n",
            resp, with, total_viol, worst);
  fprintf(f, "\n### Unseen tuples against single skills, across scale\n\nMean competence "
             "per cell, by compute.\n\n| N | D | C (FLOP) | theta | excess (nats/token) |");
  for (int j = 0; j < s->nq; j++)
    fprintf(f, " %s |", s->q[j].name);
  fprintf(f, "\n|---|---|---|---|---|");
  for (int j = 0; j < s->nq; j++)
    fprintf(f, "---|");
  fprintf(f, "\n");
  size_t *ord = malloc(sizeof(size_t) * (s->n_use + 1));
  if (ord) {
    memcpy(ord, s->use, sizeof(size_t) * s->n_use);
    for (size_t a = 1; a < s->n_use; a++) /* insertion sort by compute */
      for (size_t b = a; b > 0 && s->C[ord[b - 1]] > s->C[ord[b]]; b--) {
        size_t t = ord[b];
        ord[b] = ord[b - 1], ord[b - 1] = t;
      }
    for (size_t u = 0; u < s->n_use; u++) {
      size_t i = ord[u];
      fprintf(f, "| %.0f | %.0f | %.3g | %.3f | %.3f |", o->data->n_params[i], o->data->d_tokens[i],
              s->C[i], d->theta[i], d->excess[i]);
      for (int j = 0; j < s->nq; j++)
        fprintf(f, isfinite(s->q[j].y[i]) ? " %.3f |" : " |", s->q[j].y[i]);
      fprintf(f, "\n");
    }
    free(ord);
  }
  static const char *const figs[4] = {"skills_compute", "skills_excess", "skills_slingshot",
                                      "skills_bound"};
  static const char *const caps[4] = {
      "Competence against training compute, with the fitted sigmoids",
      "Competence against the exact excess loss (falling to the right), with the fits",
      "Slingshot test: k'-tuple competence placed at k' theta on the single-skill curve",
      "Measured fraction of skills above each competence (steps) against the theorem's bound "
      "(dashed) for the cells of least, median and most compute"};
  fprintf(f, "\n### Figures\n\n");
  if (s->n_use == 0)
    fprintf(f, "None: no done cell has skill measurements (skills.pieces = 0?).\n");
  for (int k = 0; k < 4 && s->n_use > 0; k++) {
    if (fig_rc[k] == 0)
      fprintf(f, "![%s](%s.png)\n\n*%s.* Script [%s.gp](%s.gp), data [%s.dat](%s.dat).\n\n",
              caps[k], figs[k], caps[k], figs[k], figs[k], figs[k], figs[k]);
    else
      fprintf(f, "- %s: not drawn (%s); script [%s.gp](%s.gp)\n", caps[k],
              have_gp ? "gnuplot failed, see gnuplot.log" : "gnuplot not found", figs[k], figs[k]);
  }
  fprintf(f, "\n");
  if (cut) fputs(cut, f);
  fclose(f);
  free(old);
  return SL_OK;
}

static void out_free(skills_out *s) {
  sd_free(&s->d);
  free(s->use), free(s->C), free(s->invE);
  for (int j = 0; j < s->nq; j++)
    free(s->q[j].y);
  free(s->sl_abs), free(s->sl_signed), free(s->sl_n);
  free(s->margin), free(s->viol), free(s->nbound);
}

int sl_report_skills(sl_analyze_out *o) {
  skills_out s;
  memset(&s, 0, sizeof s);
  int absent = 0, err = SL_OK;
  SL_CALL(read_skills(o->file, o->data->n_cells, &s.d, &absent));
  if (absent) {
    char path[4096];
    snprintf(path, sizeof path, "%s/report.md", o->dir);
    FILE *f = fopen(path, "a");
    if (f) {
      fprintf(f, "\n## Skills\n\nThis file has no /skills (made before skill competence was "
                 "measured).\n");
      fclose(f);
    }
    return SL_OK;
  }
  SL_CALL_GOTO(compute(o, &s), done);
  SL_CALL_GOTO(write_h5(o->into, &s), done);
  int rc[4] = {127, 127, 127, 127};
  int have = o->figures && sl_gnuplot_found();
  if (o->figures && s.n_use > 0) {
    rc[0] = fig_emergence(o->dir, o->file, &s, 0);
    rc[1] = fig_emergence(o->dir, o->file, &s, 1);
    rc[2] = fig_slingshot(o->dir, o->file, &s);
    size_t pick[3] = {s.use[0], s.use[0], s.use[0]};
    size_t *ord = malloc(sizeof(size_t) * s.n_use);
    SL_CHECK_GOTO(ord, SL_ERR_NOMEM, done, "out of memory");
    memcpy(ord, s.use, sizeof(size_t) * s.n_use);
    for (size_t a = 1; a < s.n_use; a++)
      for (size_t b = a; b > 0 && s.C[ord[b - 1]] > s.C[ord[b]]; b--) {
        size_t t = ord[b];
        ord[b] = ord[b - 1], ord[b - 1] = t;
      }
    pick[0] = ord[0], pick[1] = ord[s.n_use / 2], pick[2] = ord[s.n_use - 1];
    free(ord);
    rc[3] = fig_bound(o->dir, o->file, &s, pick);
  }
  SL_CALL_GOTO(write_md(o->dir, o, &s, rc, have), done);
  printf("skills: %zu cells; ", s.n_use);
  for (int j = 0; j < s.nq; j++)
    if (s.q[j].ok_c) printf("%s midpoint %.3g FLOP; ", s.q[j].name, exp(s.q[j].m_c[0]));
  printf("\n");
done:
  out_free(&s);
  return err;
}
