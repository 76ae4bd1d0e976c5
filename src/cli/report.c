/* The report folder of `slingshot analyze`: report.md, a CSV per table, and figures kept as
 * gnuplot script + data + PNG, each script runnable on its own in the folder so a user can
 * restyle it. Runs on one rank (rank 0); nothing here is collective. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "gnuplot.h"
#include "slingshot/analysis.h"
#include "slingshot/cli.h"
#include "slingshot/error.h"
#include "slingshot/fit.h"
#include "slingshot/train.h"

#define PATH_LEN 4096
/* Above this many cells report.md lists the cells in cells.csv only. */
#define MD_MAX_CELLS 64

enum { FIG_LOSS_D, FIG_ISO, FIG_EFF, FIG_CURVES, FIG_UNIQUE, N_FIGS };
static const char *const FIG_NAME[N_FIGS] = {"loss_vs_d", "iso_loss", "efficient_frontier",
                                             "loss_curves", "unique"};
static const char *const FIG_CAPTION[N_FIGS] = {
    "Held-out loss against training tokens, one colour per model size; lines: the fitted law",
    "Iso-loss contours of the fitted L(N, D) over compute C = 6ND and model size N, with the "
    "compute-optimal N_opt(C) and the cells",
    "Efficient frontier: the smallest N within the tolerance of the best loss at each corpus "
    "size, and its power-law fit",
    "Held-out loss along training for every fitted cell, coloured by model size, marked by "
    "corpus size",
    "Unique sequences U(D): distinct pieces and distinct n-grams in the first D tokens of the "
    "corpus, with their fitted power laws (solid over the fitted prefixes, dashed beyond)"};

/* What became of each figure. */
typedef enum { FIG_NOT_ASKED, FIG_SKIPPED, FIG_SCRIPT_ONLY, FIG_PNG, FIG_FAILED } fig_state;

typedef struct report_ctx {
  sl_analyze_out *o;
  fig_state fig[N_FIGS];
  char fig_why[N_FIGS][256];
  int have_gnuplot;
} report_ctx;

/* ------------------------------------------------------------------ files */

int sl_report_prepare_dir(const char *dir) {
  struct stat st;
  if (stat(dir, &st) == 0) {
    SL_CHECK(S_ISDIR(st.st_mode), SL_ERR_IO,
             "cannot write the report into %s: it exists and is not a directory (pass -o DIR)",
             dir);
    SL_CHECK(access(dir, W_OK | X_OK) == 0, SL_ERR_IO,
             "cannot write the report into %s: the directory is not writable (pass -o DIR)", dir);
    return SL_OK;
  }
  if (mkdir(dir, 0777) == 0) return SL_OK;
  int e = errno;
  SL_CHECK(e != ENOENT, SL_ERR_IO,
           "cannot create the report directory %s: its parent directory does not exist (create "
           "it first, or pass -o DIR)",
           dir);
  return SL_ERROR(SL_ERR_IO, "cannot create the report directory %s: %s (pass -o DIR)", dir,
                  strerror(e));
}

static int open_in(const char *dir, const char *name, FILE **f) {
  char path[PATH_LEN];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  *f = fopen(path, "w");
  SL_CHECK(*f != NULL, SL_ERR_IO, "cannot write %s: %s", path, strerror(errno));
  return SL_OK;
}

static int close_in(const char *dir, const char *name, FILE *f) {
  int bad = ferror(f);
  bad = fclose(f) != 0 || bad;
  SL_CHECK(!bad, SL_ERR_IO, "writing %s/%s failed (disk full?)", dir, name);
  return SL_OK;
}

/* A number for a table: "nan" reads badly in Markdown, so undefined values are "n/a". */
static const char *num(char *buf, size_t len, const char *fmt, double v) {
  if (!isfinite(v))
    snprintf(buf, len, "n/a");
  else
    snprintf(buf, len, fmt, v);
  return buf;
}

/* A parameter count for a legend: 850, 12.3k, 4.56M, 7.89G. */
static void human(char *buf, size_t len, double v) {
  if (v < 1e4)
    snprintf(buf, len, "%.0f", v);
  else if (v < 1e6)
    snprintf(buf, len, "%.3gk", v / 1e3);
  else if (v < 1e9)
    snprintf(buf, len, "%.3gM", v / 1e6);
  else
    snprintf(buf, len, "%.3gG", v / 1e9);
}

static const char *status_name(int s) {
  switch (s) {
  case SL_CELL_DONE:
    return "done";
  case SL_CELL_TODO:
    return "todo";
  case SL_CELL_DIVERGED:
    return "diverged";
  default:
    return "failed";
  }
}

/* ------------------------------------------------------------------ CSV */

/* A CSV field: quoted when it holds a comma, quote or newline. */
static void csv_str(FILE *f, const char *s) {
  if (!strpbrk(s, ",\"\n")) {
    fputs(s, f);
    return;
  }
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"') fputc('"', f);
    fputc(*s == '\n' ? ' ' : *s, f);
  }
  fputc('"', f);
}

static int write_cells_csv(const sl_analyze_out *o) {
  const sl_analysis_data *d = o->data;
  FILE *f;
  SL_CALL(open_in(o->dir, "cells.csv", &f));
  fprintf(f, "cell,status,n_params,n_params_no_embed,d_tokens,tokens_trained,flops_6nd,"
             "train_loss,val_loss,excess_loss,used_in_fit,note\n");
  for (size_t i = 0; i < d->n_cells; i++) {
    fprintf(f, "%zu,%s,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%d,", i,
            status_name(d->status[i]), d->n_params[i], d->n_no_embed[i], d->d_tokens[i],
            d->tokens[i], d->flops_6nd[i], d->train_loss[i], d->val_loss[i], d->excess_loss[i],
            o->drop_reason[i] == NULL);
    csv_str(f, o->drop_reason[i] ? o->drop_reason[i] : "");
    fputc('\n', f);
  }
  SL_CALL(close_in(o->dir, "cells.csv", f));
  return SL_OK;
}

static int write_chinchilla_csv(const sl_analyze_out *o) {
  FILE *f;
  SL_CALL(open_in(o->dir, "chinchilla.csv", &f));
  fprintf(f, "parameter,value,se,lo95,hi95,published\n");
  if (o->chin_ok) {
    const double pub[8] = {1.69, 406.4, 410.7, 0.34, 0.28, log(406.4), log(410.7), log(1.69)};
    const sl_fit_result *r = &o->chin;
    for (size_t k = 0; k < r->n_params; k++)
      fprintf(f, "%s,%.17g,%.17g,%.17g,%.17g,%.17g\n", r->names[k], r->value[k], r->se[k], r->lo[k],
              r->hi[k], pub[k]);
  }
  SL_CALL(close_in(o->dir, "chinchilla.csv", f));
  return SL_OK;
}

static void est_row(FILE *f, const char *q, double c, const sl_estimate *e) {
  fprintf(f, "%s,%.17g,%.17g,%.17g,%.17g,%.17g\n", q, c, e->value, e->se, e->lo, e->hi);
}

static int write_frontier_csv(const sl_analyze_out *o) {
  FILE *f;
  SL_CALL(open_in(o->dir, "frontier.csv", &f));
  fprintf(f, "quantity,compute_flop,value,se,lo95,hi95\n");
  if (o->frontier_ok) {
    est_row(f, "G", NAN, &o->frontier.G);
    est_row(f, "a_N", NAN, &o->frontier.a_N);
    est_row(f, "a_D", NAN, &o->frontier.a_D);
    for (size_t k = 0; k < 3; k++) {
      est_row(f, "N_opt", o->budget[k], &o->n_opt[k]);
      est_row(f, "D_opt", o->budget[k], &o->d_opt[k]);
      est_row(f, "tokens_per_param", o->budget[k], &o->tokens_per_param[k]);
    }
  }
  SL_CALL(close_in(o->dir, "frontier.csv", f));
  return SL_OK;
}

static int write_efficient_csv(const sl_analyze_out *o) {
  FILE *f;
  SL_CALL(open_in(o->dir, "efficient_frontier.csv", &f));
  fprintf(f, "d_tokens,n_eff,best_loss,n_eff_fitted\n");
  if (o->eff_ok) {
    double c = o->eff.value[SL_PL_C], k = o->eff.value[SL_PL_K];
    for (size_t i = 0; i < o->n_eff; i++)
      fprintf(f, "%.17g,%.17g,%.17g,%.17g\n", o->eff_d[i], o->eff_n[i], o->eff_loss[i],
              c * pow(o->eff_d[i], k));
  }
  SL_CALL(close_in(o->dir, "efficient_frontier.csv", f));
  return SL_OK;
}

static int write_kausik_csv(const sl_analyze_out *o) {
  FILE *f;
  SL_CALL(open_in(o->dir, "kausik_reconstruction.csv", &f));
  fprintf(f, "quantity,value,lo95,hi95,doubling_factor\n");
  if (o->kausik_ok) {
    const sl_kausik *k = &o->kausik, *l = &o->kausik_at_lo, *h = &o->kausik_at_hi;
    fprintf(f, "beta,%.17g,%.17g,%.17g,\n", k->beta, o->chin.lo[SL_CH_BETA],
            o->chin.hi[SL_CH_BETA]);
    fprintf(f, "gamma_hi,%.17g,%.17g,%.17g,%.17g\n", k->gamma_hi, l->gamma_hi, h->gamma_hi,
            k->doubling_hi);
    fprintf(f, "gamma_mid,%.17g,%.17g,%.17g,%.17g\n", k->gamma_mid, l->gamma_mid, h->gamma_mid,
            k->doubling_mid);
    fprintf(f, "gamma_lo,%.17g,%.17g,%.17g,%.17g\n", k->gamma_lo, l->gamma_lo, h->gamma_lo,
            k->doubling_lo);
  }
  SL_CALL(close_in(o->dir, "kausik_reconstruction.csv", f));
  return SL_OK;
}

/* A CSV number: NaN as an empty field. */
static void csv_num(FILE *f, double v) {
  if (!isnan(v)) fprintf(f, "%.17g", v);
}

static int write_unique_csv(const sl_analyze_out *o) {
  FILE *f;
  SL_CALL(open_in(o->dir, "unique.csv", &f));
  fprintf(f, "prefix_tokens");
  for (size_t q = 0; q < o->uq_nq; q++)
    fprintf(f, ",%s", o->uq[q].name);
  fprintf(f, ",n_seeds\n");
  for (size_t j = 0; o->unique_ok && j < o->uq_p; j++) {
    csv_num(f, o->uq_d[j]);
    for (size_t q = 0; q < o->uq_nq; q++) {
      fputc(',', f);
      csv_num(f, o->uq_u[q * o->uq_p + j]);
    }
    fprintf(f, ",%.0f\n", o->uq_seeds[j]);
  }
  SL_CALL(close_in(o->dir, "unique.csv", f));
  return SL_OK;
}

static int write_unique_fit_csv(const sl_analyze_out *o) {
  FILE *f;
  SL_CALL(open_in(o->dir, "unique_fit.csv", &f));
  fprintf(f, "quantity,gamma,lo,hi,doubling,doubling_lo,doubling_hi,se,prefixes_fitted,"
             "prefixes_finite,largest_prefix_fitted,local_slope_last_two\n");
  for (size_t q = 0; o->unique_ok && q < o->uq_nq; q++) {
    const sl_unique_fit *u = &o->uq[q];
    const double v[] = {u->ok ? u->fit.value[SL_PL_K] : NAN,
                        u->ok ? u->fit.lo[SL_PL_K] : NAN,
                        u->ok ? u->fit.hi[SL_PL_K] : NAN,
                        u->doubling,
                        u->doubling_lo,
                        u->doubling_hi,
                        u->ok ? u->fit.se[SL_PL_K] : NAN};
    fprintf(f, "%s", u->name);
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
      fputc(',', f);
      csv_num(f, v[k]);
    }
    fprintf(f, ",%zu,%zu,", u->ok ? u->n_fit : 0, u->n_finite);
    csv_num(f, u->ok ? u->fit_max_d : NAN);
    fputc(',', f);
    csv_num(f, u->local_slope);
    fputc('\n', f);
  }
  /* Kausik's reconstruction beside the measurement, labelled as what it is. */
  if (o->kausik_ok) {
    const sl_kausik *k = &o->kausik, *l = &o->kausik_at_lo, *h = &o->kausik_at_hi;
    const char *nm[3] = {"RECONSTRUCTION gamma_hi = 1 - beta", "RECONSTRUCTION gamma_mid",
                         "RECONSTRUCTION gamma_lo = 1 - 2 beta"};
    const double g[3][4] = {{k->gamma_hi, l->gamma_hi, h->gamma_hi, k->doubling_hi},
                            {k->gamma_mid, l->gamma_mid, h->gamma_mid, k->doubling_mid},
                            {k->gamma_lo, l->gamma_lo, h->gamma_lo, k->doubling_lo}};
    for (size_t r = 0; r < 3; r++) {
      fprintf(f, "%s", nm[r]);
      for (size_t c = 0; c < 4; c++) {
        fputc(',', f);
        csv_num(f, g[r][c]);
      }
      fprintf(f, ",,,,,,,\n");
    }
  }
  SL_CALL(close_in(o->dir, "unique_fit.csv", f));
  return SL_OK;
}

/* ------------------------------------------------------------------ figures */

static double law(const sl_fit_result *r, double n, double d) {
  const double *v = r->value;
  return v[SL_CH_E] + v[SL_CH_A] / pow(n, v[SL_CH_ALPHA]) + v[SL_CH_B] / pow(d, v[SL_CH_BETA]);
}

/* The distinct values of x over the fitted cells, increasing; returns their count. */
static size_t distinct_used(const sl_analyze_out *o, const double *x, double *out) {
  size_t m = 0;
  for (size_t i = 0; i < o->data->n_cells; i++) {
    if (o->drop_reason[i]) continue;
    size_t j = 0;
    while (j < m && out[j] != x[i])
      j++;
    if (j == m) out[m++] = x[i];
  }
  for (size_t a = 1; a < m; a++) /* insertion sort: a handful of values */
    for (size_t b = a; b > 0 && out[b - 1] > out[b]; b--) {
      double t = out[b];
      out[b] = out[b - 1];
      out[b - 1] = t;
    }
  return m;
}

/* The opening of every script: what it draws, how to redraw it, the terminal. */
static void gp_head(FILE *g, const char *name, const char *what, const sl_analyze_out *o) {
  fprintf(g,
          "# %s\n"
          "# Written by slingshot analyze from %s. Redraw with `gnuplot %s.gp` in this folder:\n"
          "# it reads %s.dat (blocks separated by two blank lines are `index` 0, 1, ...) and\n"
          "# writes %s.png. Restyle freely.\n"
          "set terminal pngcairo size 1100,750 enhanced font \"DejaVu Sans,14\"\n"
          "set output \"%s.png\"\n"
          "set grid lw 0.5 lc rgb \"#d0d0d0\"\n"
          "set border lw 1.2\n",
          what, o->file, name, name, name, name);
}

static void gp_palette(FILE *g) {
  fprintf(g, "set palette defined (0 \"#440154\", 1 \"#3b528b\", 2 \"#21918c\", 3 \"#5ec962\", "
             "4 \"#e0c000\")\n");
}

static void gp_entropy(FILE *g, const sl_analyze_out *o) {
  if (isfinite(o->data->entropy_nats)) fprintf(g, "entropy = %.10g\n", o->data->entropy_nats);
}

/* (a) loss vs D per N, with the fitted law. */
static int fig_loss_vs_d(report_ctx *c, FILE *g, FILE *dat) {
  const sl_analyze_out *o = c->o;
  const sl_analysis_data *d = o->data;
  double *ns = NULL;
  SL_ALLOC(ns, d->n_cells);
  size_t m = distinct_used(o, d->n_no_embed, ns);
  double dmin = INFINITY, dmax = 0;
  for (size_t i = 0; i < d->n_cells; i++)
    if (!o->drop_reason[i]) dmin = fmin(dmin, d->tokens[i]), dmax = fmax(dmax, d->tokens[i]);
  gp_head(g, FIG_NAME[FIG_LOSS_D], FIG_CAPTION[FIG_LOSS_D], o);
  fprintf(g, "set title \"Held-out loss vs training tokens%s\"\n",
          o->chin_ok ? " (points: cells; lines: fitted L(N, D))" : " (no fit)");
  fprintf(g, "set logscale x\nset format x \"10^{%%L}\"\n"
             "set xlabel \"training tokens D (tokens processed)\"\n"
             "set ylabel \"held-out loss (nats/token)\"\n"
             "set key outside right top title \"N (parameters, no embeddings)\" box\n");
  gp_entropy(g, o);
  fprintf(g, "plot \\\n");
  for (size_t k = 0; k < m; k++) {
    char h[32];
    human(h, sizeof h, ns[k]);
    /* block 2k: the cells of this N; block 2k+1: the fitted law */
    fprintf(dat, "# N = %.17g (without embeddings): cells (tokens trained, held-out loss)\n",
            ns[k]);
    for (size_t i = 0; i < d->n_cells; i++)
      if (!o->drop_reason[i] && d->n_no_embed[i] == ns[k])
        fprintf(dat, "%.10g %.10g\n", d->tokens[i], d->val_loss[i]);
    fprintf(dat, "\n\n# N = %.17g: fitted L(N, D)\n", ns[k]);
    if (o->chin_ok) {
      const size_t steps = 60;
      double lo = log(dmin / 1.5), hi = log(dmax * 1.5);
      for (size_t s = 0; s <= steps; s++) {
        double dd = exp(lo + (hi - lo) * (double)s / (double)steps);
        fprintf(dat, "%.10g %.10g\n", dd, law(&o->chin, ns[k], dd));
      }
    } else {
      fprintf(dat, "NaN NaN\n");
    }
    fprintf(dat, "\n\n");
    fprintf(g, "  \"%s.dat\" index %zu using 1:2 with points pt 7 ps 1.6 lc %zu title \"%s\", \\\n",
            FIG_NAME[FIG_LOSS_D], 2 * k, k + 1, h);
    if (o->chin_ok)
      fprintf(g, "  \"%s.dat\" index %zu using 1:2 with lines lw 2 lc %zu notitle, \\\n",
              FIG_NAME[FIG_LOSS_D], 2 * k + 1, k + 1);
  }
  if (isfinite(d->entropy_nats))
    fprintf(g, "  entropy with lines dt 2 lw 2 lc rgb \"gray40\" title \"entropy rate\"\n");
  else
    fprintf(g, "  NaN notitle\n");
  free(ns);
  return SL_OK;
}

/* (b) iso-loss contours over (C, N) with N_opt(C) and the cells. */
static int fig_iso(report_ctx *c, FILE *g, FILE *dat) {
  const sl_analyze_out *o = c->o;
  const sl_analysis_data *d = o->data;
  double cmin = INFINITY, cmax = 0, nmin = INFINITY, nmax = 0, lmin = INFINITY, lmax = -INFINITY;
  for (size_t i = 0; i < d->n_cells; i++) {
    if (o->drop_reason[i]) continue;
    double cc = 6.0 * d->n_no_embed[i] * d->tokens[i];
    cmin = fmin(cmin, cc), cmax = fmax(cmax, cc);
    nmin = fmin(nmin, d->n_no_embed[i]), nmax = fmax(nmax, d->n_no_embed[i]);
    lmin = fmin(lmin, d->val_loss[i]), lmax = fmax(lmax, d->val_loss[i]);
  }
  /* The plane: a decade-ish margin around the cells, in log10 coordinates. */
  const double x0 = log10(cmin) - 0.5, x1 = log10(cmax) + 0.5;
  const double y0 = log10(nmin) - 0.5, y1 = log10(nmax) + 0.5;
  const size_t grid = 80;
  fprintf(dat, "# index 0: grid of log10 C, log10 N, fitted L(N, D = C / (6N)) in nats/token\n");
  for (size_t a = 0; a <= grid; a++) {
    double x = x0 + (x1 - x0) * (double)a / (double)grid;
    for (size_t b = 0; b <= grid; b++) {
      double y = y0 + (y1 - y0) * (double)b / (double)grid;
      double n = pow(10.0, y), dd = pow(10.0, x) / (6.0 * n);
      fprintf(dat, "%.6f %.6f %.8g\n", x, y, law(&o->chin, n, dd));
    }
    fprintf(dat, "\n");
  }
  fprintf(dat, "\n# index 1: cells: C = 6 N D (FLOP), N (parameters, no embeddings), loss\n");
  for (size_t i = 0; i < d->n_cells; i++)
    if (!o->drop_reason[i])
      fprintf(dat, "%.10g %.10g %.10g\n", 6.0 * d->n_no_embed[i] * d->tokens[i], d->n_no_embed[i],
              d->val_loss[i]);
  fprintf(dat, "\n\n# index 2: compute-optimal N_opt(C) = G (C/6)^a_N\n");
  if (o->frontier_ok) {
    for (size_t s = 0; s <= 50; s++) {
      double x = x0 + (x1 - x0) * (double)s / 50.0, cc = pow(10.0, x);
      double n = o->frontier.G.value * pow(cc / 6.0, o->frontier.a_N.value);
      fprintf(dat, "%.10g %.10g\n", cc, n);
    }
  } else {
    fprintf(dat, "NaN NaN\n");
  }
  /* Contour levels spread over the cells' losses (and a little beyond). */
  double pad = 0.15 * (lmax - lmin) + 1e-3;
  double l0 = lmin - pad, l1 = lmax + pad;
  gp_head(g, FIG_NAME[FIG_ISO], FIG_CAPTION[FIG_ISO], o);
  fprintf(g, "# Contours are traced in log10 coordinates into $contours, then drawn on log axes.\n"
             "set contour base\nunset surface\nset view map\nset cntrparam linear\n"
             "set cntrparam levels discrete ");
  const size_t nlev = 10;
  for (size_t k = 0; k < nlev; k++)
    fprintf(g, "%s%.4g", k ? ", " : "", l0 + (l1 - l0) * (double)k / (double)(nlev - 1));
  fprintf(g,
          "\nset table $contours\n"
          "splot \"%s.dat\" index 0 using 1:2:3 with lines notitle\n"
          "unset table\nunset contour\n",
          FIG_NAME[FIG_ISO]);
  fprintf(g,
          "set title \"Fitted L(N, D): iso-loss contours over compute and model size\"\n"
          "set logscale xy\nset format x \"10^{%%L}\"\nset format y \"10^{%%L}\"\n"
          "set xrange [%.6g:%.6g]\nset yrange [%.6g:%.6g]\n"
          "set xlabel \"compute C = 6 N D (FLOP)\"\n"
          "set ylabel \"model size N (parameters, without embeddings)\"\n"
          "set cblabel \"loss (nats/token): lines fitted, points measured\"\n"
          "set cbrange [%.4g:%.4g]\n"
          "set key top left box opaque\n",
          pow(10.0, x0), pow(10.0, x1), pow(10.0, y0), pow(10.0, y1), l0, l1);
  gp_palette(g);
  fprintf(g,
          "plot $contours using (10**$1):(10**$2):3 with lines lw 2 lc palette title \"iso-loss "
          "contours\", \\\n"
          "  \"%s.dat\" index 1 using 1:2:3 with points pt 7 ps 1.8 lc palette title \"cells "
          "(colour: measured loss)\", \\\n"
          "  \"%s.dat\" index 1 using 1:2 with points pt 6 ps 1.8 lc rgb \"black\" notitle",
          FIG_NAME[FIG_ISO], FIG_NAME[FIG_ISO]);
  if (o->frontier_ok)
    fprintf(g,
            ", \\\n  \"%s.dat\" index 2 using 1:2 with lines lw 3 dt 2 lc rgb \"#d62728\" "
            "title \"compute-optimal N_{opt}(C)\"",
            FIG_NAME[FIG_ISO]);
  fprintf(g, "\n");
  return SL_OK;
}

/* (c) the efficient frontier with its power law. */
static int fig_efficient(report_ctx *c, FILE *g, FILE *dat) {
  const sl_analyze_out *o = c->o;
  const sl_analysis_data *d = o->data;
  fprintf(dat, "# index 0: fitted cells: corpus size D (tokens), N (parameters, no embeddings)\n");
  for (size_t i = 0; i < d->n_cells; i++)
    if (!o->drop_reason[i]) fprintf(dat, "%.10g %.10g\n", d->d_tokens[i], d->n_no_embed[i]);
  fprintf(dat, "\n\n# index 1: frontier points: D, N_eff, best loss (nats/token)\n");
  for (size_t k = 0; k < o->n_eff; k++)
    fprintf(dat, "%.10g %.10g %.10g\n", o->eff_d[k], o->eff_n[k], o->eff_loss[k]);
  double cfit = o->eff.value[SL_PL_C], gam = o->eff.value[SL_PL_K];
  fprintf(dat, "\n\n# index 2: the fit N_eff = %.6g D^%.6f\n", cfit, gam);
  double lo = log(o->eff_d[0] / 1.5), hi = log(o->eff_d[o->n_eff - 1] * 1.5);
  for (size_t s = 0; s <= 40; s++) {
    double dd = exp(lo + (hi - lo) * (double)s / 40.0);
    fprintf(dat, "%.10g %.10g\n", dd, cfit * pow(dd, gam));
  }
  gp_head(g, FIG_NAME[FIG_EFF], FIG_CAPTION[FIG_EFF], o);
  fprintf(
      g,
      "set title \"Efficient frontier: smallest N within %g nats/token of the best loss at D\"\n"
      "set logscale xy\nset format x \"10^{%%L}\"\nset format y \"10^{%%L}\"\n"
      "set xlabel \"corpus size D (tokens)\"\n"
      "set ylabel \"model size N (parameters, without embeddings)\"\n"
      "set key top left box opaque\nset offsets graph 0.05, graph 0.05, graph 0.1, graph 0.1\n",
      o->tolerance);
  char k_lo[32], k_hi[32];
  num(k_lo, sizeof k_lo, "%.3f", o->eff.lo[SL_PL_K]);
  num(k_hi, sizeof k_hi, "%.3f", o->eff.hi[SL_PL_K]);
  fprintf(g,
          "plot \"%s.dat\" index 0 using 1:2 with points pt 6 ps 1.8 lc rgb \"gray50\" title "
          "\"cells\", \\\n"
          "  \"%s.dat\" index 1 using 1:2 with points pt 7 ps 2 lc rgb \"#1f77b4\" title "
          "\"frontier N_{eff}\", \\\n"
          "  \"%s.dat\" index 2 using 1:2 with lines lw 2.5 lc rgb \"#d62728\" title "
          "\"N_{eff} = %.3g D^{%.3f}  (95%%: %s to %s)\"\n",
          FIG_NAME[FIG_EFF], FIG_NAME[FIG_EFF], FIG_NAME[FIG_EFF], cfit, gam, k_lo, k_hi);
  return SL_OK;
}

/* (d) loss curves per cell: colour = log10 N, marker = corpus size D. */
static int fig_curves(report_ctx *c, FILE *g, FILE *dat) {
  static const int PT[] = {7, 5, 9, 11, 13, 15};
  const size_t n_pt = sizeof PT / sizeof PT[0];
  const sl_analyze_out *o = c->o;
  const sl_analysis_data *d = o->data;
  double *ds = NULL;
  SL_ALLOC(ds, d->n_cells);
  size_t m = distinct_used(o, d->d_tokens, ds);
  double nmin = INFINITY, nmax = 0;
  fprintf(dat, "# one block per fitted cell: tokens processed, held-out loss (nats/token), "
               "gnuplot point type (one per corpus size D), log10 N (no embeddings); the point at "
               "0 tokens is left out (log axis)\n");
  for (size_t i = 0; i < d->n_cells; i++) {
    if (o->drop_reason[i]) continue;
    size_t j = 0;
    while (j < m && ds[j] != d->d_tokens[i])
      j++;
    nmin = fmin(nmin, d->n_no_embed[i]), nmax = fmax(nmax, d->n_no_embed[i]);
    fprintf(dat, "# cell %zu: N = %.17g, D = %.17g\n", i, d->n_no_embed[i], d->d_tokens[i]);
    for (size_t p = 0; p < d->points; p++) {
      double t = d->curve_tokens[i * d->points + p], l = d->curve_loss[i * d->points + p];
      if (t > 0 && isfinite(t) && isfinite(l))
        fprintf(dat, "%.10g %.10g %d %.6f\n", t, l, PT[j % n_pt], log10(d->n_no_embed[i]));
    }
    fprintf(dat, "\n");
  }
  gp_head(g, FIG_NAME[FIG_CURVES], FIG_CAPTION[FIG_CURVES], o);
  fprintf(g, "set title \"Held-out loss along training, one line per cell\"\n"
             "set logscale x\nset format x \"10^{%%L}\"\n"
             "set xlabel \"training tokens processed\"\n"
             "set ylabel \"held-out loss (nats/token)\"\n"
             "set cblabel \"log_{10} N (parameters, without embeddings)\"\n");
  if (nmax > nmin)
    fprintf(g, "set cbrange [%.4f:%.4f]\n", log10(nmin), log10(nmax));
  else
    fprintf(g, "set cbrange [%.4f:%.4f]\n", log10(nmin) - 0.5, log10(nmin) + 0.5);
  gp_palette(g);
  gp_entropy(g, o);
  fprintf(g, "set key top right box opaque title \"marker: corpus size D\"\n");
  fprintf(g,
          "plot \"%s.dat\" using 1:2:3:4 with linespoints pt variable ps 1.1 lw 1.8 "
          "lc palette notitle",
          FIG_NAME[FIG_CURVES]);
  for (size_t j = 0; j < m; j++) {
    char h[32];
    human(h, sizeof h, ds[j]);
    fprintf(g, ", \\\n  NaN with points pt %d ps 1.3 lc rgb \"gray30\" title \"D = %s tokens\"",
            PT[j % n_pt], h);
  }
  if (isfinite(d->entropy_nats))
    fprintf(g, ", \\\n  entropy with lines dt 2 lw 2 lc rgb \"gray40\" title \"entropy rate\"");
  fprintf(g, "\n");
  free(ds);
  return SL_OK;
}

/* (e) U(D): one colour per quantity, points measured, line fitted. */
static int fig_unique(report_ctx *c, FILE *g, FILE *dat) {
  const sl_analyze_out *o = c->o;
  const size_t p = o->uq_p;
  double dmin = INFINITY, dmax = 0;
  for (size_t j = 0; j < p; j++)
    if (o->uq_d[j] > 0) dmin = fmin(dmin, o->uq_d[j]), dmax = fmax(dmax, o->uq_d[j]);
  gp_head(g, FIG_NAME[FIG_UNIQUE], FIG_CAPTION[FIG_UNIQUE], o);
  fprintf(g,
          "set title \"Distinct sequences in the first D tokens (%s counts%s)\"\n"
          "set logscale xy\nset format x \"10^{%%L}\"\nset format y \"10^{%%L}\"\n"
          "set xlabel \"corpus prefix D (tokens)\"\n"
          "set ylabel \"distinct sequences U(D)\"\n"
          "set key bottom right box opaque title \"points: measured; lines: U = c D^{/Symbol g}\"\n"
          "set xrange [%.6g:%.6g]\n",
          o->uq_method, o->uq_n_seeds > 1 ? ", mean of the seeds" : "", dmin / 1.4, dmax * 1.4);
  fprintf(g, "plot \\\n");
  for (size_t q = 0; q < o->uq_nq; q++) {
    const sl_unique_fit *u = &o->uq[q];
    /* block 3q: measured; 3q+1: the fit over the fitted prefixes; 3q+2: the same law beyond */
    fprintf(dat, "# %s: prefix D (tokens), distinct count\n", u->name);
    size_t pts = 0;
    for (size_t j = 0; j < p; j++) {
      double v = o->uq_u[q * p + j];
      if (isfinite(v) && v > 0 && o->uq_d[j] > 0) {
        fprintf(dat, "%.10g %.10g\n", o->uq_d[j], v);
        pts++;
      }
    }
    if (pts == 0) fprintf(dat, "NaN NaN\n");
    const double cc = u->ok ? u->fit.value[SL_PL_C] : NAN, k = u->ok ? u->fit.value[SL_PL_K] : NAN;
    const double split = u->ok ? u->fit_max_d : dmax;
    fprintf(dat, "\n\n# %s: fitted U = %.6g D^%.6f over the fitted prefixes\n", u->name, cc, k);
    for (size_t s = 0; s <= 30 && u->ok; s++) {
      double dd = exp(log(dmin) + (log(split) - log(dmin)) * (double)s / 30.0);
      fprintf(dat, "%.10g %.10g\n", dd, cc * pow(dd, k));
    }
    if (!u->ok) fprintf(dat, "NaN NaN\n");
    fprintf(dat, "\n\n# %s: the same law beyond the fitted prefixes\n", u->name);
    for (size_t s = 0; s <= 20 && u->ok && split < dmax; s++) {
      double dd = exp(log(split) + (log(dmax) - log(split)) * (double)s / 20.0);
      fprintf(dat, "%.10g %.10g\n", dd, cc * pow(dd, k));
    }
    if (!u->ok || !(split < dmax)) fprintf(dat, "NaN NaN\n");
    fprintf(dat, "\n\n");
    char nm[64], label[128];
    if (q == 0)
      snprintf(nm, sizeof nm, "pieces");
    else
      snprintf(nm, sizeof nm, "%lld-grams", (long long)u->ngram);
    if (u->ok)
      snprintf(label, sizeof label, "%s, {/Symbol g} = %.3f", nm, k);
    else
      snprintf(label, sizeof label, "%s (not fitted)", nm);
    fprintf(g,
            "  \"%s.dat\" index %zu using 1:2 with points pt 7 ps 1.5 lc %zu title \"%s\", \\\n"
            "  \"%s.dat\" index %zu using 1:2 with lines lw 2.5 lc %zu notitle, \\\n"
            "  \"%s.dat\" index %zu using 1:2 with lines lw 1.5 dt 2 lc %zu notitle, \\\n",
            FIG_NAME[FIG_UNIQUE], 3 * q, q + 1, label, FIG_NAME[FIG_UNIQUE], 3 * q + 1, q + 1,
            FIG_NAME[FIG_UNIQUE], 3 * q + 2, q + 1);
  }
  if (isfinite(o->uq_ceiling))
    fprintf(g,
            "  %.10g with lines dt 3 lw 2 lc rgb \"gray40\" title \"distinct pieces of the "
            "language\"\n",
            o->uq_ceiling);
  else
    fprintf(g, "  NaN notitle\n");
  return SL_OK;
}

typedef int (*fig_fn)(report_ctx *c, FILE *g, FILE *dat);

static int make_figure(report_ctx *c, size_t k, fig_fn fn) {
  const char *dir = c->o->dir, *name = FIG_NAME[k];
  char gp[128], dat[128], png[PATH_LEN];
  snprintf(gp, sizeof gp, "%s.gp", name);
  snprintf(dat, sizeof dat, "%s.dat", name);
  snprintf(png, sizeof png, "%s/%s.png", dir, name);
  FILE *g = NULL, *d = NULL;
  SL_CALL(open_in(dir, gp, &g));
  int err = open_in(dir, dat, &d);
  if (err == SL_OK) err = fn(c, g, d);
  int e1 = close_in(dir, gp, g), e2 = d ? close_in(dir, dat, d) : SL_OK;
  SL_CALL(err);
  SL_CALL(e1);
  SL_CALL(e2);
  remove(png); /* a stale PNG must not pass for this analysis's */
  if (!c->have_gnuplot) {
    c->fig[k] = FIG_SCRIPT_ONLY;
    return SL_OK;
  }
  int rc = sl_gnuplot_run(dir, name);
  if (rc == 0 && access(png, R_OK) == 0) {
    c->fig[k] = FIG_PNG;
  } else {
    c->fig[k] = FIG_FAILED;
    snprintf(c->fig_why[k], sizeof c->fig_why[k], "gnuplot %s exited with status %d", gp, rc);
    c->o->figures_failed++;
  }
  return SL_OK;
}

static int make_figures(report_ctx *c) {
  sl_analyze_out *o = c->o;
  for (size_t k = 0; k < N_FIGS; k++)
    c->fig[k] = FIG_NOT_ASKED;
  if (!o->figures) return SL_OK;
  c->have_gnuplot = sl_gnuplot_found();
  o->gnuplot_missing = !c->have_gnuplot;
  char log_path[PATH_LEN];
  snprintf(log_path, sizeof log_path, "%s/gnuplot.log", o->dir);
  remove(log_path);
  size_t n_use = 0;
  for (size_t i = 0; i < o->data->n_cells; i++)
    n_use += o->drop_reason[i] == NULL;
  if (n_use == 0) {
    for (size_t k = 0; k < N_FIGS; k++) {
      c->fig[k] = FIG_SKIPPED;
      snprintf(c->fig_why[k], sizeof c->fig_why[k], "no done cells to draw");
    }
    return SL_OK;
  }
  SL_CALL(make_figure(c, FIG_LOSS_D, fig_loss_vs_d));
  if (o->chin_ok) {
    SL_CALL(make_figure(c, FIG_ISO, fig_iso));
  } else {
    c->fig[FIG_ISO] = FIG_SKIPPED;
    snprintf(c->fig_why[FIG_ISO], sizeof c->fig_why[FIG_ISO], "no Chinchilla fit to draw");
  }
  if (o->eff_ok && o->n_eff > 0) {
    SL_CALL(make_figure(c, FIG_EFF, fig_efficient));
  } else {
    c->fig[FIG_EFF] = FIG_SKIPPED;
    snprintf(c->fig_why[FIG_EFF], sizeof c->fig_why[FIG_EFF], "no efficient-frontier fit");
  }
  SL_CALL(make_figure(c, FIG_CURVES, fig_curves));
  if (o->unique_ok) {
    SL_CALL(make_figure(c, FIG_UNIQUE, fig_unique));
  } else {
    c->fig[FIG_UNIQUE] = FIG_SKIPPED;
    snprintf(c->fig_why[FIG_UNIQUE], sizeof c->fig_why[FIG_UNIQUE], "no U(D) counts");
  }
  /* An empty log is clutter. */
  struct stat st;
  if (stat(log_path, &st) == 0 && st.st_size == 0) remove(log_path);
  return SL_OK;
}

/* ------------------------------------------------------------------ report.md */

static void md_estimate_row(FILE *f, const char *name, const sl_estimate *e, const char *fmt,
                            const char *meaning) {
  char v[32], s[32], l[32], h[32];
  fprintf(f, "| %s | %s | %s | %s to %s | %s |\n", name, num(v, sizeof v, fmt, e->value),
          num(s, sizeof s, "%.2g", e->se), num(l, sizeof l, fmt, e->lo),
          num(h, sizeof h, fmt, e->hi), meaning);
}

static void md_header(FILE *f, const sl_analyze_out *o) {
  const sl_analysis_data *d = o->data;
  fprintf(f, "# slingshot analysis of `%s`\n\n", o->file);
  fprintf(f,
          "This folder was written by `slingshot analyze`. The results file `%s` is a slingshot "
          "results file (format `slingshot-results`, version 1): one row per grid cell (a model "
          "of N parameters trained on D tokens of a synthetic language whose entropy is known "
          "exactly).\n\n",
          o->file);
  fprintf(f, "- run: slingshot %s (git %s), created %s\n", d->version[0] ? d->version : "?",
          d->git_sha[0] ? d->git_sha : "?", d->created[0] ? d->created : "?");
  fprintf(f, "- config: `%s` (sha256 `%.16s...`; the full text is at the end of this page)\n",
          d->origin[0] ? d->origin : "?", d->config_sha[0] ? d->config_sha : "?");
  fprintf(f,
          "- analysis: %zu bootstrap resamples (seed %llu), efficient-frontier tolerance %g "
          "nats/token, on %d MPI rank%s; the same numbers are in `%s:/analysis`\n",
          o->bootstrap, (unsigned long long)o->seed, o->tolerance, o->mpi_ranks,
          o->mpi_ranks == 1 ? "" : "s", o->file);
  char e[32];
  fprintf(f,
          "- entropy rate of the language: %s nats/token (the lowest loss any model can "
          "reach)\n\n",
          num(e, sizeof e, "%.4f", d->entropy_nats));
}

static void md_cells(FILE *f, const sl_analyze_out *o) {
  const sl_analysis_data *d = o->data;
  size_t n_use = 0;
  for (size_t i = 0; i < d->n_cells; i++)
    n_use += o->drop_reason[i] == NULL;
  fprintf(f, "## Cells\n\n");
  fprintf(f,
          "%zu cells: **%zu done, %zu missing (todo), %zu diverged, %zu failed**. The fits use "
          "the %zu done cells with finite values%s.\n\n",
          d->n_cells, o->n_done, o->n_todo, o->n_diverged, o->n_failed, n_use,
          n_use < d->n_cells ? "; the others are listed below with why" : "");
  if (d->n_cells <= MD_MAX_CELLS) {
    fprintf(f, "| cell | status | N | N without embeddings | D (corpus, tokens) | tokens trained | "
               "held-out loss (nats/token) | excess loss (nats/token) |\n"
               "|---:|---|---:|---:|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < d->n_cells; i++) {
      char b[6][32];
      fprintf(f, "| %zu | %s | %s | %s | %s | %s | %s | %s |\n", i, status_name(d->status[i]),
              num(b[0], 32, "%.0f", d->n_params[i]), num(b[1], 32, "%.0f", d->n_no_embed[i]),
              num(b[2], 32, "%.0f", d->d_tokens[i]), num(b[3], 32, "%.0f", d->tokens[i]),
              num(b[4], 32, "%.4f", d->val_loss[i]), num(b[5], 32, "%.4f", d->excess_loss[i]));
    }
  }
  fprintf(f, "\nEvery cell, with its training loss and 6ND FLOPs: [cells.csv](cells.csv).\n\n");
  if (n_use < d->n_cells) {
    fprintf(f, "Left out of the fits:\n\n");
    for (size_t i = 0; i < d->n_cells; i++)
      if (o->drop_reason[i]) fprintf(f, "- cell %zu: %s\n", i, o->drop_reason[i]);
    fprintf(f, "\n");
  }
}

static void md_chinchilla(FILE *f, const sl_analyze_out *o) {
  fprintf(f, "## Chinchilla law L(N, D) = E + A / N^alpha + B / D^beta\n\n");
  fprintf(
      f,
      "Fitted (docs/SCIENCE.md section 5) with **N = parameters without embeddings** "
      "(`/cells/n_params_no_embed`; the token and position tables are left out, as in Kaplan "
      "et al.), **D = tokens processed in training** (`/cells/tokens_trained`: d_tokens "
      "times epochs, more where `train.min_steps` clamps a small corpus; the corpus size "
      "d_tokens is in cells.csv) and **L = held-out loss** (`/cells/val_loss`, nats/token).\n\n");
  if (!o->chin_ok) {
    fprintf(f, "**Not fitted**: %s.\n\n", o->chin_why);
    return;
  }
  const sl_fit_result *r = &o->chin;
  const double pub[5] = {1.69, 406.4, 410.7, 0.34, 0.28};
  const char *meaning[5] = {"irreducible loss (nats/token)", "N term coefficient",
                            "D term coefficient", "N exponent", "D exponent"};
  fprintf(f, "| parameter | fitted | std. err. | 95%% interval | published (Chinchilla) | |\n"
             "|---|---:|---:|---|---:|---|\n");
  for (size_t k = 0; k <= SL_CH_BETA; k++) {
    char v[32], s[32], l[32], h[32];
    fprintf(f, "| %s | %s | %s | %s to %s | %g | %s |\n", r->names[k],
            num(v, sizeof v, "%.4g", r->value[k]), num(s, sizeof s, "%.2g", r->se[k]),
            num(l, sizeof l, "%.4g", r->lo[k]), num(h, sizeof h, "%.4g", r->hi[k]), pub[k],
            meaning[k]);
  }
  fprintf(f, "\nThe published constants (Hoffmann et al. 2022: E = 1.69, A = 406.4, B = 410.7, "
             "alpha = 0.34, beta = 0.28) are for natural text and large transformers and are shown "
             "for reference only; on a synthetic language compare the exponents, not E.\n\n");
  fprintf(f,
          "%zu cells fitted (%zu dropped by the fit), objective %.6g (sum of Huber residuals on "
          "log L), %zu grid starts, %zu bootstrap replicates kept (%zu without an optimum). "
          "Intervals are 95%% bootstrap percentiles; with few cells they are wide and the "
          "parameters strongly correlated. Details: [chinchilla.csv](chinchilla.csv).\n\n",
          r->n_used, r->n_dropped, r->objective, r->n_starts, r->n_boot, r->n_boot_failed);
  fprintf(f, "Fit notes: %s\n\n", r->notes);
}

static void md_chinchilla_fixed(FILE *f, const sl_analyze_out *o) {
  fprintf(f, "### The same law with E held at the exact entropy rate\n\n");
  if (!o->chin_fixed_ok) {
    fprintf(f, "**Not fitted**: %s.\n\n", o->chin_fixed_why);
    return;
  }
  const sl_fit_result *r = &o->chin_fixed;
  fprintf(f,
          "The language's entropy rate is known exactly (%.6g nats/token), and no model can go "
          "below it, so E can be held there and only A, B, alpha and beta fitted. With few cells "
          "this is far better determined than the free fit, whose E can drift below the entropy "
          "rate. `/analysis/chinchilla_fixed_E` in the results file.\n\n",
          r->value[SL_CH_E]);
  fprintf(f, "| parameter | fitted | std. err. | 95%% interval |\n|---|---:|---:|---|\n");
  for (size_t k = 0; k <= SL_CH_BETA; k++) {
    char v[32], s[32], l[32], h[32];
    if (r->fixed[k])
      fprintf(f, "| %s | %s | held | |\n", r->names[k], num(v, sizeof v, "%.6g", r->value[k]));
    else
      fprintf(f, "| %s | %s | %s | %s to %s |\n", r->names[k],
              num(v, sizeof v, "%.4g", r->value[k]), num(s, sizeof s, "%.2g", r->se[k]),
              num(l, sizeof l, "%.4g", r->lo[k]), num(h, sizeof h, "%.4g", r->hi[k]));
  }
  fprintf(f, "\nObjective %.6g (free fit: %.6g), %zu bootstrap replicates.\n\n", r->objective,
          o->chin_ok ? o->chin.objective : NAN, r->n_boot);
}

static void md_frontier(FILE *f, const sl_analyze_out *o) {
  fprintf(f, "## Compute-optimal frontier (C = 6 N D)\n\n");
  if (!o->frontier_ok) {
    fprintf(f, "**Not computed**: %s.\n\n", o->frontier_why);
    return;
  }
  fprintf(f,
          "N_opt = G (C/6)^a_N, D_opt = G^-1 (C/6)^a_D with G = (alpha A / (beta B))^(1 / "
          "(alpha + beta)); N and D as in the fit. Intervals from %zu bootstrap replicates "
          "with alpha, beta > 0.\n\n",
          o->frontier.n_boot);
  fprintf(f,
          "| quantity | value | std. err. | 95%% interval | meaning |\n|---|---:|---:|---|---|\n");
  md_estimate_row(f, "G", &o->frontier.G, "%.4g", "(alpha A / (beta B))^(1/(alpha+beta))");
  md_estimate_row(f, "a_N", &o->frontier.a_N, "%.3f", "N_opt ~ C^a_N, = beta/(alpha+beta)");
  md_estimate_row(f, "a_D", &o->frontier.a_D, "%.3f", "D_opt ~ C^a_D, = alpha/(alpha+beta)");
  fprintf(f, "\nAt three budgets spanning the fitted cells' C = 6ND (smallest, geometric middle, "
             "largest):\n\n");
  fprintf(f, "| C (FLOP) | N_opt (parameters) | 95%% interval | D_opt (tokens) | 95%% interval | "
             "tokens per parameter | 95%% interval |\n|---:|---:|---|---:|---|---:|---|\n");
  for (size_t k = 0; k < 3; k++) {
    char b[9][32];
    fprintf(f, "| %.3g | %s | %s to %s | %s | %s to %s | %s | %s to %s |\n", o->budget[k],
            num(b[0], 32, "%.4g", o->n_opt[k].value), num(b[1], 32, "%.3g", o->n_opt[k].lo),
            num(b[2], 32, "%.3g", o->n_opt[k].hi), num(b[3], 32, "%.4g", o->d_opt[k].value),
            num(b[4], 32, "%.3g", o->d_opt[k].lo), num(b[5], 32, "%.3g", o->d_opt[k].hi),
            num(b[6], 32, "%.3g", o->tokens_per_param[k].value),
            num(b[7], 32, "%.3g", o->tokens_per_param[k].lo),
            num(b[8], 32, "%.3g", o->tokens_per_param[k].hi));
  }
  fprintf(f, "\nTable: [frontier.csv](frontier.csv).\n\n");
}

static void md_efficient(FILE *f, const sl_analyze_out *o) {
  fprintf(f, "## Efficient frontier (Kausik, measured)\n\n");
  fprintf(f,
          "For each corpus size D (`/cells/d_tokens`), the smallest N (without embeddings) whose "
          "held-out loss, averaged over seeds, is within %g nats/token of the best loss at that "
          "D; then N_eff = c D^gamma by least squares in log-log (docs/SCIENCE.md section 2).\n\n",
          o->tolerance);
  if (!o->eff_ok) {
    fprintf(f, "**Not fitted**: %s.\n\n", o->eff_why);
    return;
  }
  fprintf(f, "| D (tokens) | N_eff (parameters) | best loss (nats/token) |\n|---:|---:|---:|\n");
  for (size_t k = 0; k < o->n_eff; k++)
    fprintf(f, "| %.0f | %.0f | %.4f |\n", o->eff_d[k], o->eff_n[k], o->eff_loss[k]);
  char v[32], l[32], h[32];
  fprintf(f, "\n**gamma = %s** (95%% interval %s to %s; %zu frontier points",
          num(v, sizeof v, "%.3f", o->eff.value[SL_PL_K]),
          num(l, sizeof l, "%.3f", o->eff.lo[SL_PL_K]),
          num(h, sizeof h, "%.3f", o->eff.hi[SL_PL_K]), o->n_eff);
  fprintf(f,
          "%s). A frontier point can only be one of the grid's N, so with a coarse N axis "
          "gamma is coarse too. Table: [efficient_frontier.csv](efficient_frontier.csv).\n\n",
          o->n_eff <= 2 ? "; with 2 points the line passes through both and has no interval" : "");
}

static void md_unique(FILE *f, const sl_analyze_out *o) {
  fprintf(f, "## Unique sequences U(D) = c D^gamma (Kausik, measured)\n\n");
  fprintf(f, "Distinct text pieces and distinct n-grams in the first D tokens of the corpus "
             "(`/unique` of the results file), counted at log-spaced prefixes D; then U(D) = c "
             "D^gamma by least squares in log-log for each quantity, with 95%% t intervals, and "
             "the corpus factor 2^(1/gamma) that doubles the distinct sequences (Kausik: "
             "doubling the skills of a corpus; docs/SCIENCE.md section 2).\n\n");
  if (!o->unique_ok) {
    fprintf(f, "**Not measured**: %s.\n\n", o->unique_why);
    return;
  }
  fprintf(f,
          "Corpora are nested across D, so for each grid seed the done cell with the largest D "
          "holds the counts of every prefix up to its D; %s. Counts are %s.\n\n",
          o->uq_n_seeds > 1 ? "the counts of the seeds are averaged prefix by prefix, over the "
                              "seeds whose largest done D reaches that prefix (unique.csv, "
                              "column n_seeds)"
                            : "this file has one seed",
          strcmp(o->uq_method, "hll") == 0 ? "HyperLogLog estimates (see `/unique` hll_rel_stderr)"
                                           : "exact");
  char b[8][32];
  fprintf(f, "**Saturation.** The skills language has a finite number of distinct pieces");
  if (isfinite(o->uq_ceiling)) fprintf(f, " (here M sum_k S!/(S-k)! = **%.0f**)", o->uq_ceiling);
  fprintf(f,
          ", so U(D) for pieces flattens once the corpus has drawn most of them, and a power law "
          "over every prefix would understate gamma. The rule: for pieces, only prefixes with U "
          "below %s of that number are fitted (every finite prefix when fewer than 3 are, with a "
          "note); for n-grams, every prefix with a count. The last column, the slope between the "
          "last two prefixes, shows where the growth has slowed: well below gamma means "
          "saturation.\n\n",
          "half");
  fprintf(f, "| quantity | gamma | 95%% interval | corpus factor 2^(1/gamma) | 95%% interval | "
             "prefixes fitted (of finite) | up to D (tokens) | slope, last two prefixes |\n"
             "|---|---:|---|---:|---|---:|---:|---:|\n");
  for (size_t q = 0; q < o->uq_nq; q++) {
    const sl_unique_fit *u = &o->uq[q];
    char nm[48];
    if (q == 0)
      snprintf(nm, sizeof nm, "distinct pieces");
    else
      snprintf(nm, sizeof nm, "distinct %lld-grams", (long long)u->ngram);
    if (!u->ok) {
      fprintf(f, "| %s | not fitted: %s | | | | %zu | | %s |\n", nm, u->why, u->n_finite,
              num(b[0], 32, "%.3f", u->local_slope));
      continue;
    }
    fprintf(f, "| %s | **%s** | %s to %s | %s | %s to %s | %zu (%zu) | %.3g | %s |\n", nm,
            num(b[0], 32, "%.3f", u->fit.value[SL_PL_K]), num(b[1], 32, "%.3f", u->fit.lo[SL_PL_K]),
            num(b[2], 32, "%.3f", u->fit.hi[SL_PL_K]), num(b[3], 32, "%.3g", u->doubling),
            num(b[4], 32, "%.3g", u->doubling_lo),
            isinf(u->doubling_hi) ? "unbounded" : num(b[5], 32, "%.3g", u->doubling_hi), u->n_fit,
            u->n_finite, u->fit_max_d, num(b[6], 32, "%.3f", u->local_slope));
  }
  if (o->kausik_ok)
    fprintf(f,
            "| *RECONSTRUCTION* gamma_hi / mid / lo from beta = %s | %s / %s / %s | | %s / %s / "
            "%s | | | | |\n",
            num(b[0], 32, "%.3f", o->kausik.beta), num(b[1], 32, "%.3f", o->kausik.gamma_hi),
            num(b[2], 32, "%.3f", o->kausik.gamma_mid), num(b[3], 32, "%.3f", o->kausik.gamma_lo),
            num(b[4], 32, "%.3g", o->kausik.doubling_hi),
            num(b[5], 32, "%.3g", o->kausik.doubling_mid),
            num(b[6], 32, "%.3g", o->kausik.doubling_lo));
  fprintf(f,
          "\nThe last row is Kausik's exponent **reconstructed** from the fitted Chinchilla beta "
          "(next section), not measured; Kausik reports gamma between 0.44 and 0.72 for natural "
          "corpora (doubling factors 4.8 to 2.6). Counts: [unique.csv](unique.csv); fits: "
          "[unique_fit.csv](unique_fit.csv); `/analysis/unique` in the results file.\n\n");
}

static void md_kausik(FILE *f, const sl_analyze_out *o) {
  fprintf(f, "## Kausik N ~ D^gamma: RECONSTRUCTION from the fitted beta\n\n");
  fprintf(f, "**This is a reconstruction, not the paper's derivation** (which could not be read; "
             "docs/SCIENCE.md section 2): gamma_hi = 1 - beta, gamma_lo = 1 - 2 beta, gamma_mid = "
             "their mean, and 2^(1/gamma) the corpus factor that doubles the skills. With the "
             "published beta = 0.28 it gives 0.72, 0.44, 0.58 and factors 2.62, 4.83, 3.30.\n\n");
  if (!o->kausik_ok) {
    fprintf(f, "**Not computed**: no Chinchilla fit, hence no beta.\n\n");
    return;
  }
  char b[4][32];
  fprintf(f, "From the fitted beta = %s (95%% interval %s to %s):\n\n",
          num(b[0], 32, "%.3f", o->kausik.beta), num(b[1], 32, "%.3f", o->chin.lo[SL_CH_BETA]),
          num(b[2], 32, "%.3f", o->chin.hi[SL_CH_BETA]));
  fprintf(f, "| reconstructed | gamma | 95%% interval (from beta's) | corpus factor 2^(1/gamma) |\n"
             "|---|---:|---|---:|\n");
  const char *names[3] = {"gamma_hi = 1 - beta", "gamma_mid", "gamma_lo = 1 - 2 beta"};
  const double g[3] = {o->kausik.gamma_hi, o->kausik.gamma_mid, o->kausik.gamma_lo};
  const double gl[3] = {o->kausik_at_lo.gamma_hi, o->kausik_at_lo.gamma_mid,
                        o->kausik_at_lo.gamma_lo};
  const double gh[3] = {o->kausik_at_hi.gamma_hi, o->kausik_at_hi.gamma_mid,
                        o->kausik_at_hi.gamma_lo};
  const double fac[3] = {o->kausik.doubling_hi, o->kausik.doubling_mid, o->kausik.doubling_lo};
  for (size_t k = 0; k < 3; k++)
    fprintf(f, "| %s | %s | %s to %s | %s |\n", names[k], num(b[0], 32, "%.3f", g[k]),
            num(b[1], 32, "%.3f", gl[k]), num(b[2], 32, "%.3f", gh[k]),
            num(b[3], 32, "%.3g", fac[k]));
  fprintf(f,
          "\nSide by side, measured: the efficient-frontier exponent gamma = %s, and U(D) of "
          "distinct pieces gamma = %s (doubling factor %s).\n"
          "Table: [kausik_reconstruction.csv](kausik_reconstruction.csv).\n\n",
          o->eff_ok ? num(b[0], 32, "%.3f", o->eff.value[SL_PL_K]) : "not fitted",
          o->unique_ok && o->uq[0].ok ? num(b[1], 32, "%.3f", o->uq[0].fit.value[SL_PL_K])
                                      : "not measured",
          o->unique_ok && o->uq[0].ok ? num(b[2], 32, "%.3g", o->uq[0].doubling) : "n/a");
}

static void md_figures(FILE *f, const report_ctx *c) {
  const sl_analyze_out *o = c->o;
  fprintf(f, "## Figures\n\n");
  if (!o->figures) {
    fprintf(f, "Not drawn (`--no-figures`).\n\n");
    return;
  }
  if (!c->have_gnuplot)
    fprintf(f, "**gnuplot was not found**, so the PNGs were not drawn. The scripts and their "
               "data are here: install gnuplot (Debian: `apt-get install gnuplot-nox`) and run "
               "`gnuplot NAME.gp` in this folder.\n\n");
  for (size_t k = 0; k < N_FIGS; k++) {
    const char *name = FIG_NAME[k];
    switch (c->fig[k]) {
    case FIG_PNG:
      fprintf(f, "![%s](%s.png)\n\n*%s.* Script [%s.gp](%s.gp), data [%s.dat](%s.dat).\n\n",
              FIG_CAPTION[k], name, FIG_CAPTION[k], name, name, name, name);
      break;
    case FIG_SCRIPT_ONLY:
      fprintf(f, "- %s: [%s.gp](%s.gp) with [%s.dat](%s.dat) (no PNG: gnuplot missing)\n",
              FIG_CAPTION[k], name, name, name, name);
      break;
    case FIG_FAILED:
      fprintf(f, "- %s: **not drawn**, %s (see gnuplot.log); script [%s.gp](%s.gp)\n",
              FIG_CAPTION[k], c->fig_why[k], name, name);
      break;
    case FIG_SKIPPED:
      fprintf(f, "- %s: not drawn (%s)\n", FIG_CAPTION[k], c->fig_why[k]);
      break;
    case FIG_NOT_ASKED:
      break;
    }
  }
  fprintf(f, "\n");
}

static int write_report_md(const report_ctx *c) {
  const sl_analyze_out *o = c->o;
  FILE *f;
  SL_CALL(open_in(o->dir, "report.md", &f));
  md_header(f, o);
  md_cells(f, o);
  md_chinchilla(f, o);
  md_chinchilla_fixed(f, o);
  md_frontier(f, o);
  md_efficient(f, o);
  md_unique(f, o);
  md_kausik(f, o);
  md_figures(f, c);
  fprintf(f, "## The config of the run\n\n```\n%s%s```\n",
          o->data->config ? o->data->config : "(not stored)\n",
          o->data->config && o->data->config[0] &&
                  o->data->config[strlen(o->data->config) - 1] != '\n'
              ? "\n"
              : "");
  SL_CALL(close_in(o->dir, "report.md", f));
  return SL_OK;
}

int sl_report_write(sl_analyze_out *o) {
  report_ctx c;
  memset(&c, 0, sizeof c);
  c.o = o;
  SL_CALL(write_cells_csv(o));
  SL_CALL(write_chinchilla_csv(o));
  SL_CALL(write_frontier_csv(o));
  SL_CALL(write_efficient_csv(o));
  SL_CALL(write_kausik_csv(o));
  SL_CALL(write_unique_csv(o));
  SL_CALL(write_unique_fit_csv(o));
  SL_CALL(make_figures(&c));
  SL_CALL(write_report_md(&c));
  return SL_OK;
}
