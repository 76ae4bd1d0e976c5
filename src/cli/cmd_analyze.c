/* slingshot analyze FILE: the laws fitted to the done cells of a results file (docs/SCIENCE.md
 * sections 2 and 5), written into FILE:/analysis and into a report folder.
 *
 * Collective over comm. Rank 0 reads the file and broadcasts the columns; every rank joins the
 * Chinchilla fit, whose grid of starts and bootstrap resamples are shared among the ranks (the
 * result is bitwise the same at any rank count); rank 0 derives the frontiers and the Kausik
 * reconstruction, writes /analysis (serial HDF5, the run's groups untouched) and the report, and
 * prints a summary. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "slingshot/analysis.h"
#include "slingshot/cli.h"
#include "slingshot/h5util.h"
#include "slingshot/report_bounds.h"
#include "slingshot/config.h"
#include "slingshot/error.h"
#include "slingshot/fit.h"
#include "slingshot/log.h"
#include "slingshot/timer.h"
#include "slingshot/train.h"
#include "options.h"
#include "report_flatness.h"

#ifndef SLINGSHOT_VERSION
#define SLINGSHOT_VERSION "unknown"
#endif
#ifndef SLINGSHOT_GIT_SHA
#define SLINGSHOT_GIT_SHA "unknown"
#endif

#define REASON_LEN 320
/* Fewer done cells than this and the Chinchilla fit is skipped (5 parameters need 6 points). */
#define MIN_CHIN_CELLS 6

typedef struct analyze_args {
  const char *file;
  const char *dir; /* NULL: FILE without .h5 + "_report" */
  size_t bootstrap;
  uint64_t seed;
  double tolerance;
  int figures, help;
} analyze_args;

static void analyze_usage(FILE *f) {
  fprintf(f,
          "usage: slingshot analyze FILE [-o DIR] [--bootstrap R] [--seed S] [--tolerance T]\n"
          "                         [--no-figures] [--help]\n\n"
          "Fits the laws to the done cells of a results file and writes them into FILE:/analysis\n"
          "(replacing an earlier analysis; the run's data are not touched) and into a report\n"
          "folder (report.md, a CSV per table, gnuplot figures with their scripts and data).\n"
          "FILE is edited through a copy beside it (FILE.edit-tmp, so its folder must be\n"
          "writable), renamed over it at the end: a kill never damages it.\n\n"
          "  Chinchilla  L(N, D) = E + A/N^alpha + B/D^beta (docs/SCIENCE.md section 5) with\n"
          "              N = parameters without embeddings, D = tokens processed in training,\n"
          "              L = held-out loss (nats/token); Huber on log L from 4500 starts,\n"
          "              R bootstrap resamples of the cells for 95%% intervals. Skipped (with a\n"
          "              note) below %d done cells.\n"
          "  frontier    G, a_N, a_D and N_opt, D_opt, D/N at 3 budgets spanning C = 6ND.\n"
          "  efficient   for each corpus size D, the smallest N within T of the best loss\n"
          "              (losses averaged over seeds); N_eff = c D^gamma (section 2).\n"
          "  U(D)        distinct pieces and distinct L-grams against corpus prefix D\n"
          "              (/unique): for each seed the done cell with the largest D, averaged\n"
          "              over seeds; U = c D^gamma per quantity, with 2^(1/gamma) the corpus\n"
          "              factor that doubles them. Pieces saturate at the language's finite\n"
          "              number: only prefixes with U below half of it are fitted, and the\n"
          "              slope between the last two prefixes is reported. Files without\n"
          "              /unique are analysed without it (a note says so).\n"
          "  Kausik      gamma from the fitted beta: a RECONSTRUCTION, not the paper's\n"
          "              derivation (section 2).\n\n"
          "  -o DIR          report folder (default: FILE without .h5, plus _report); created\n"
          "  --bootstrap R   resamples (default 1000; 0: no intervals)\n"
          "  --seed S        seed of the resamples (default 1)\n"
          "  --tolerance T   efficient-frontier tolerance in nats/token (default 0.02)\n"
          "  --no-figures    no gnuplot scripts, data or PNGs\n"
          "  --log-level L   error, warn, info (default: timings on stderr) or debug\n\n"
          "Partial grids are analysed: the done cells are fitted, the others listed with why.\n"
          "Run under MPI to share the fit: mpirun -np 4 slingshot analyze results.h5\n",
          MIN_CHIN_CELLS);
}

static const char *const g_options[] = {"-o",          "--output",     "--bootstrap", "--seed",
                                        "--tolerance", "--no-figures", "--log-level", "--help"};
#define N_OPTIONS (sizeof g_options / sizeof g_options[0])

static int parse_uint(const char *opt, const char *s, uint64_t *out) {
  char *end = NULL;
  SL_CHECK(s[0] >= '0' && s[0] <= '9', SL_ERR_ARG,
           "analyze: %s needs a non-negative integer, got '%s'", opt, s);
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  SL_CHECK(*end == '\0' && errno == 0, SL_ERR_ARG,
           "analyze: %s needs a non-negative integer, got '%s'", opt, s);
  *out = (uint64_t)v;
  return SL_OK;
}

static int analyze_parse(int argc, char **argv, analyze_args *a) {
  memset(a, 0, sizeof *a);
  a->bootstrap = 1000;
  a->seed = 1;
  a->tolerance = 0.02;
  a->figures = 1;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (arg[0] != '-' || arg[1] == '\0') { /* the results file */
      SL_CHECK(a->file == NULL, SL_ERR_ARG,
               "analyze takes one results file, got '%s' and '%s' (analyse them one by one)",
               a->file, arg);
      a->file = arg;
      continue;
    }
    char name[64];
    const char *val;
    sl_opt_split(arg, name, sizeof name, &val);
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
      a->help = 1;
      continue;
    }
    if (strcmp(name, "--no-figures") == 0) {
      a->figures = 0;
      continue;
    }
    if (!sl_opt_known(name, g_options, N_OPTIONS))
      return SL_ERROR(SL_ERR_ARG, "analyze: unknown option '%s' (did you mean %s? see --help)", arg,
                      sl_opt_nearest(name, g_options, N_OPTIONS));
    if (!val) {
      SL_CHECK(i + 1 < argc, SL_ERR_ARG, "analyze: %s needs a value (see --help)", name);
      val = argv[++i];
    }
    if (strcmp(name, "-o") == 0 || strcmp(name, "--output") == 0) {
      SL_CHECK(val[0] != '\0', SL_ERR_ARG, "analyze: %s needs a directory name", name);
      a->dir = val;
    } else if (strcmp(name, "--bootstrap") == 0) {
      uint64_t r;
      SL_CALL(parse_uint(name, val, &r));
      SL_CHECK(r <= 1000000, SL_ERR_ARG, "analyze: --bootstrap %llu is too many (at most 1000000)",
               (unsigned long long)r);
      a->bootstrap = (size_t)r;
    } else if (strcmp(name, "--seed") == 0) {
      SL_CALL(parse_uint(name, val, &a->seed));
    } else if (strcmp(name, "--log-level") == 0) {
      SL_CALL(sl_opt_log_level("analyze", val));
    } else if (strcmp(name, "--tolerance") == 0) {
      char *end = NULL;
      double t = strtod(val, &end);
      SL_CHECK(end != val && *end == '\0' && isfinite(t) && t >= 0, SL_ERR_ARG,
               "analyze: --tolerance needs a loss difference >= 0 in nats/token (e.g. 0.02), got "
               "'%s'",
               val);
      a->tolerance = t;
    }
  }
  if (a->help) return SL_OK;
  SL_CHECK(a->file != NULL, SL_ERR_ARG,
           "analyze needs a results file: slingshot analyze results.h5 (see --help)");
  return SL_OK;
}

/* FILE without a trailing .h5, plus "_report". */
static int default_dir(const char *file, char **out) {
  size_t n = strlen(file);
  if (n > 3 && strcmp(file + n - 3, ".h5") == 0) n -= 3;
  char *d = malloc(n + 8);
  SL_CHECK(d, SL_ERR_NOMEM, "out of memory");
  memcpy(d, file, n);
  memcpy(d + n, "_report", 8);
  *out = d;
  return SL_OK;
}

/* ------------------------------------------------------------------ which cells */

/* Counts the statuses and says, per cell, why it is not fitted (NULL: it is). */
static void classify(const sl_analysis_data *d, sl_analyze_out *o, char *reasons) {
  for (size_t i = 0; i < d->n_cells; i++) {
    char *r = reasons + i * REASON_LEN;
    const char *why = d->cell_error ? d->cell_error + i * SL_ANALYSIS_STR_LEN : "";
    o->drop_reason[i] = r;
    switch (d->status[i]) {
    case SL_CELL_DONE:
      o->n_done++;
      if (d->n_no_embed[i] > 0 && d->tokens[i] > 0 && d->val_loss[i] > 0 &&
          isfinite(d->val_loss[i]) && isfinite(d->n_no_embed[i]) && isfinite(d->tokens[i]))
        o->drop_reason[i] = NULL;
      else
        snprintf(r, REASON_LEN,
                 "done, but N without embeddings, tokens trained or val_loss is missing or not "
                 "positive");
      break;
    case SL_CELL_TODO:
      o->n_todo++;
      snprintf(r, REASON_LEN, "todo: not run yet");
      break;
    case SL_CELL_DIVERGED:
      o->n_diverged++;
      snprintf(r, REASON_LEN, "diverged%s%.250s", why[0] ? ": " : "", why);
      break;
    default:
      o->n_failed++;
      snprintf(r, REASON_LEN, "failed (status %d)%s%.250s", d->status[i], why[0] ? ": " : "", why);
      break;
    }
  }
}

/* ------------------------------------------------------------------ the fits */

/* An error that means "this fit cannot be made from these data" (recorded, not fatal). */
static int soft_error(int e) {
  return e == SL_ERR_ARG || e == SL_ERR_NUMERIC;
}

/* Collective: the Chinchilla fit on the usable cells; E is fitted (fixed_E = 0) or held at
 * fixed_E. The result goes to *res, with *ok and why saying whether it ran. */
static int fit_chinchilla(const analyze_args *a, const sl_analysis_data *d, size_t n_use,
                          const size_t *use, MPI_Comm comm, double fixed_E, sl_fit_result *res,
                          int *ok, char *why, size_t why_size) {
  if (n_use < MIN_CHIN_CELLS) {
    snprintf(why, why_size,
             "skipped: %zu usable done cell%s, and L(N, D) has 5 free parameters: it needs at "
             "least %d (finish the grid with slingshot run --resume)",
             n_use, n_use == 1 ? "" : "s", MIN_CHIN_CELLS);
    return SL_OK;
  }
  double *xs = sl_calloc(3 * n_use, sizeof *xs);
  int err = xs ? SL_OK : SL_ERROR(SL_ERR_NOMEM, "out of memory for %zu cells", n_use);
  int worst = SL_OK;
  SL_CALL_MPI(MPI_Allreduce(&err, &worst, 1, MPI_INT, MPI_MAX, comm));
  if (err != SL_OK) return err;
  if (worst != SL_OK) {
    free(xs);
    return SL_ERROR(worst, "another rank could not allocate the fit data");
  }
  for (size_t k = 0; k < n_use; k++) {
    xs[k] = d->n_no_embed[use[k]];
    xs[n_use + k] = d->tokens[use[k]];
    xs[2 * n_use + k] = d->val_loss[use[k]];
  }
  sl_fit_options opt;
  sl_fit_options_default(&opt);
  opt.comm = comm;
  opt.bootstrap = a->bootstrap;
  opt.seed = a->seed;
  opt.fixed_E = fixed_E;
  sl_fit_data data = {n_use, xs, xs + n_use, xs + 2 * n_use};
  err = sl_fit_run("chinchilla", &data, &opt, res);
  free(xs);
  /* The data are the same everywhere, so the ranks fail alike; a rank failing its own way
   * (memory, MPI) makes the command fail. */
  int e = err;
  SL_CALL_MPI(MPI_Allreduce(&e, &worst, 1, MPI_INT, MPI_MAX, comm));
  if (err == SL_OK && worst == SL_OK) {
    *ok = 1;
    return SL_OK;
  }
  if (soft_error(err) && (worst == err)) {
    snprintf(why, why_size, "the fit failed on these data: %s", sl_error_message());
    sl_error_clear();
    return SL_OK;
  }
  if (err != SL_OK) return sl_error_trace(err, __func__, __FILE__, __LINE__);
  return SL_ERROR(worst, "the Chinchilla fit failed on another rank");
}

/* Rank 0: compute-optimal frontier at 3 budgets spanning the fitted cells' C = 6ND. */
static int derive_frontier(const sl_analysis_data *d, sl_analyze_out *o, size_t n_use,
                           const size_t *use) {
  if (!o->chin_ok) {
    snprintf(o->frontier_why, sizeof o->frontier_why, "no Chinchilla fit");
    return SL_OK;
  }
  const double *v = o->chin.value;
  if (!sl_frontier_defined(v[SL_CH_A], v[SL_CH_B], v[SL_CH_ALPHA], v[SL_CH_BETA])) {
    snprintf(o->frontier_why, sizeof o->frontier_why,
             "undefined: it needs A, B, alpha, beta > 0 and finite (the fit gave A = %.4g, B = "
             "%.4g, alpha = %.4g, beta = %.4g)",
             v[SL_CH_A], v[SL_CH_B], v[SL_CH_ALPHA], v[SL_CH_BETA]);
    return SL_OK;
  }
  double cmin = INFINITY, cmax = 0;
  for (size_t k = 0; k < n_use; k++) {
    double c = 6.0 * d->n_no_embed[use[k]] * d->tokens[use[k]];
    cmin = fmin(cmin, c);
    cmax = fmax(cmax, c);
  }
  o->budget[0] = cmin;
  o->budget[1] = sqrt(cmin * cmax);
  o->budget[2] = cmax;
  SL_CALL(sl_frontier_from_fit(&o->chin, &o->frontier));
  for (size_t k = 0; k < 3; k++)
    SL_CALL(sl_frontier_fit_at(&o->chin, o->budget[k], &o->n_opt[k], &o->d_opt[k],
                               &o->tokens_per_param[k]));
  o->frontier_ok = 1;
  return SL_OK;
}

/* Rank 0: the efficient frontier over (N without embeddings, corpus size D), val loss averaged
 * over the seeds of each (N, D). */
static int derive_efficient(const analyze_args *a, const sl_analysis_data *d, sl_analyze_out *o,
                            size_t n_use, const size_t *use) {
  int err = SL_OK;
  double *pn = NULL, *pd = NULL, *pl = NULL, *cnt = NULL;
  SL_ALLOC(pn, n_use + 1);
  pd = sl_calloc(n_use + 1, sizeof *pd);
  pl = sl_calloc(n_use + 1, sizeof *pl);
  cnt = sl_calloc(n_use + 1, sizeof *cnt);
  o->eff_d = sl_calloc(n_use + 1, sizeof *o->eff_d);
  o->eff_n = sl_calloc(n_use + 1, sizeof *o->eff_n);
  o->eff_loss = sl_calloc(n_use + 1, sizeof *o->eff_loss);
  SL_CHECK_GOTO(pd && pl && cnt && o->eff_d && o->eff_n && o->eff_loss, SL_ERR_NOMEM, done,
                "out of memory for %zu cells", n_use);
  size_t m = 0;
  for (size_t k = 0; k < n_use; k++) {
    size_t i = use[k], j = 0;
    while (j < m && !(pn[j] == d->n_no_embed[i] && pd[j] == d->d_tokens[i]))
      j++;
    if (j == m) pn[m] = d->n_no_embed[i], pd[m] = d->d_tokens[i], m++;
    pl[j] += d->val_loss[i];
    cnt[j] += 1;
  }
  for (size_t j = 0; j < m; j++)
    pl[j] /= cnt[j];
  err = sl_fit_efficient_frontier(pn, pd, pl, m, a->tolerance, o->eff_d, o->eff_n, &o->n_eff,
                                  &o->eff);
  if (err != SL_OK) {
    if (!soft_error(err)) goto done;
    snprintf(o->eff_why, sizeof o->eff_why, "not fitted: %s", sl_error_message());
    sl_error_clear();
    o->n_eff = 0;
    err = SL_OK;
    goto done;
  }
  for (size_t f = 0; f < o->n_eff; f++) {
    double best = INFINITY;
    for (size_t j = 0; j < m; j++)
      if (pd[j] == o->eff_d[f]) best = fmin(best, pl[j]);
    o->eff_loss[f] = best;
  }
  o->eff_ok = 1;
done:
  free(pn);
  free(pd);
  free(pl);
  free(cnt);
  return err;
}

static void derive_kausik(sl_analyze_out *o) {
  if (!o->chin_ok || !isfinite(o->chin.value[SL_CH_BETA])) return;
  sl_kausik_reconstruct(o->chin.value[SL_CH_BETA], &o->kausik);
  /* gamma falls as beta grows: the interval's ends swap. NaN where beta has no interval. */
  double lo = o->chin.lo[SL_CH_BETA], hi = o->chin.hi[SL_CH_BETA];
  if (isfinite(lo) && isfinite(hi)) {
    sl_kausik_reconstruct(hi, &o->kausik_at_lo);
    sl_kausik_reconstruct(lo, &o->kausik_at_hi);
  } else {
    sl_kausik nan_k = {NAN, NAN, NAN, NAN, NAN, NAN, NAN};
    o->kausik_at_lo = o->kausik_at_hi = nan_k;
  }
  o->kausik_ok = 1;
}

/* ------------------------------------------------------------------ U(D) */

/* Prefixes with U below this fraction of the language's distinct pieces are fitted. */
#define UNIQUE_SAT_FRACTION 0.5
/* Fewer prefixes below it than this and every finite prefix is fitted (with a note). */
#define UNIQUE_MIN_FIT 3

/* The number of distinct pieces of the skills language (docs/SCIENCE.md section 0): a piece is
 * fixed by its skill tuple (k distinct skills in order, for each arity k of positive weight) and
 * its first symbol x, the y's following from them: M sum_k S! / (S - k)!. NaN when the stored
 * config does not parse or names another language. */
static double pieces_ceiling(const char *config) {
  if (!config) return NAN;
  sl_config cfg;
  if (sl_config_parse(config, "the results file's config", &cfg) != SL_OK) {
    sl_error_clear();
    return NAN;
  }
  if (strcmp(cfg.language.kind, "skills") != 0) return NAN;
  double total = 0, tuples = 1;
  for (int k = 1; k <= cfg.language.k_max && k <= cfg.language.S; k++) {
    tuples *= (double)(cfg.language.S - k + 1);
    if (k - 1 < cfg.language.n_arity && cfg.language.arity_weights[k - 1] > 0) total += tuples;
  }
  return total > 0 ? (double)cfg.language.M * total : NAN;
}

/* Rank 0: one quantity's fit over the prefixes. u is its seed-averaged row [uq_p]. */
static int fit_unique_one(const sl_analyze_out *o, const double *u, double ceiling,
                          sl_unique_fit *q) {
  const size_t p = o->uq_p;
  int err = SL_OK;
  double *xd = NULL, *yu = NULL;
  q->local_slope = NAN;
  q->doubling = q->doubling_lo = q->doubling_hi = NAN;
  xd = sl_calloc(p + 1, sizeof *xd);
  yu = sl_calloc(p + 1, sizeof *yu);
  SL_CHECK_GOTO(xd && yu, SL_ERR_NOMEM, done, "out of memory for %zu prefixes", p);
  /* The finite points, and of them those below the saturation threshold. */
  size_t last = p, prev = p, n_below = 0;
  for (size_t j = 0; j < p; j++) {
    if (!(isfinite(u[j]) && u[j] > 0 && o->uq_d[j] > 0)) continue;
    q->n_finite++;
    prev = last, last = j;
    if (!isfinite(ceiling) || u[j] < UNIQUE_SAT_FRACTION * ceiling) n_below++;
  }
  if (prev < p) q->local_slope = log(u[last] / u[prev]) / log(o->uq_d[last] / o->uq_d[prev]);
  if (q->n_finite < 2) {
    snprintf(q->why, sizeof q->why, "%zu prefix%s with a finite count > 0: a power law needs 2",
             q->n_finite, q->n_finite == 1 ? "" : "es");
    goto done;
  }
  int rule = isfinite(ceiling) && n_below >= UNIQUE_MIN_FIT;
  for (size_t j = 0; j < p; j++) {
    if (!(isfinite(u[j]) && u[j] > 0 && o->uq_d[j] > 0)) continue;
    if (rule && !(u[j] < UNIQUE_SAT_FRACTION * ceiling)) continue;
    xd[q->n_fit] = o->uq_d[j];
    yu[q->n_fit++] = u[j];
    q->fit_max_d = o->uq_d[j];
  }
  err = sl_fit_unique_exponent(xd, yu, q->n_fit, &q->fit);
  if (err != SL_OK) {
    if (!soft_error(err)) goto done;
    snprintf(q->why, sizeof q->why, "not fitted: %.200s", sl_error_message());
    sl_error_clear();
    err = SL_OK;
    goto done;
  }
  if (isfinite(ceiling) && !rule) {
    size_t len = strlen(q->fit.notes);
    snprintf(q->fit.notes + len, sizeof q->fit.notes - len,
             "fewer than %d prefixes below %g of the %.0f distinct pieces: every finite prefix "
             "fitted, so saturation biases gamma low; ",
             UNIQUE_MIN_FIT, UNIQUE_SAT_FRACTION, ceiling);
  }
  const double g = q->fit.value[SL_PL_K], lo = q->fit.lo[SL_PL_K], hi = q->fit.hi[SL_PL_K];
  q->doubling = g > 0 ? pow(2.0, 1.0 / g) : NAN;
  q->doubling_lo = hi > 0 ? pow(2.0, 1.0 / hi) : NAN;
  q->doubling_hi = lo > 0 ? pow(2.0, 1.0 / lo) : isfinite(lo) ? INFINITY : NAN;
  q->ok = 1;
done:
  free(xd);
  free(yu);
  return err;
}

/* Rank 0: U(D) from /unique. Corpora are nested across D, so for each grid seed the done cell
 * with the largest D has the counts of every prefix up to its D; several seeds are averaged
 * prefix by prefix over the seeds that reach it. */
static int derive_unique(const sl_analysis_data *d, sl_analyze_out *o) {
  o->uq_ceiling = NAN;
  o->uq_method = d->unique_method[0] ? d->unique_method : "exact";
  if (!d->has_unique) {
    snprintf(o->unique_why, sizeof o->unique_why,
             "the file has no /unique group (it was made before slingshot counted unique "
             "sequences); rerun the grid to measure U(D)");
    return SL_OK;
  }
  const size_t n = d->n_cells, p = d->prefixes, nq = 1 + d->n_ngrams;
  int err = SL_OK;
  size_t *best = NULL; /* [n] per distinct seed: its representative cell */
  double *seeds = NULL;
  SL_ALLOC(best, n);
  seeds = sl_calloc(n, sizeof *seeds);
  o->uq_d = sl_calloc(p, sizeof *o->uq_d);
  o->uq_seeds = sl_calloc(p, sizeof *o->uq_seeds);
  o->uq_u = sl_calloc(nq * p, sizeof *o->uq_u);
  o->uq = sl_calloc(nq, sizeof *o->uq);
  SL_CHECK_GOTO(seeds && o->uq_d && o->uq_seeds && o->uq_u && o->uq, SL_ERR_NOMEM, done,
                "out of memory for U(D)");
  o->uq_p = p;
  o->uq_nq = nq;
  memcpy(o->uq_d, d->prefix_tokens, p * sizeof *o->uq_d);
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    if (d->status[i] != SL_CELL_DONE || !(d->d_tokens[i] > 0)) continue;
    size_t s = 0;
    while (s < m && seeds[s] != d->seed[i])
      s++;
    if (s == m)
      seeds[m] = d->seed[i], best[m++] = i;
    else if (d->d_tokens[i] > d->d_tokens[best[s]])
      best[s] = i;
  }
  o->uq_n_seeds = m;
  if (m == 0) {
    snprintf(o->unique_why, sizeof o->unique_why, "no done cell, hence no counts");
    goto done;
  }
  for (size_t q = 0; q < nq; q++) {
    sl_unique_fit *f = &o->uq[q];
    f->ngram = q == 0 ? 0 : d->ngram_len[q - 1];
    if (q == 0)
      snprintf(f->name, sizeof f->name, "pieces");
    else
      snprintf(f->name, sizeof f->name, "ngrams_%lld", (long long)f->ngram);
    const double *src = q == 0 ? d->unique_pieces : d->unique_ngrams + (q - 1) * n * p;
    for (size_t j = 0; j < p; j++) {
      double sum = 0, cnt = 0;
      for (size_t s = 0; s < m; s++) {
        double v = src[best[s] * p + j];
        if (isfinite(v)) sum += v, cnt += 1;
      }
      o->uq_u[q * p + j] = cnt > 0 ? sum / cnt : NAN;
      if (q == 0) o->uq_seeds[j] = cnt;
    }
  }
  o->uq_ceiling = pieces_ceiling(d->config);
  for (size_t q = 0; q < nq; q++)
    SL_CALL_GOTO(fit_unique_one(o, o->uq_u + q * p, q == 0 ? o->uq_ceiling : NAN, &o->uq[q]), done);
  o->unique_ok = 1;
done:
  free(best);
  free(seeds);
  return err;
}

/* ------------------------------------------------------------------ /analysis */

static const double PUBLISHED[8] = {1.69, 406.4, 410.7, 0.34, 0.28, NAN, NAN, NAN};

static void published(double *p) {
  memcpy(p, PUBLISHED, sizeof PUBLISHED);
  p[SL_CH_LA] = log(PUBLISHED[SL_CH_A]);
  p[SL_CH_LB] = log(PUBLISHED[SL_CH_B]);
  p[SL_CH_LE] = log(PUBLISHED[SL_CH_E]);
}

#define G_CH "/analysis/chinchilla"
#define G_FR "/analysis/frontier"
#define G_EF "/analysis/efficient_frontier"
#define G_KA "/analysis/kausik"

/* value, se, lo, hi of a fit under group g. */
static int write_params(sl_analysis_writer *w, const char *g, const sl_fit_result *r,
                        const char *units) {
  char p[128];
  snprintf(p, sizeof p, "%s/parameter_names", g);
  SL_CALL(sl_analysis_write_str(w, p, r->n_params, (const char *const *)r->names, "1",
                                "names of the parameters, in the order of value, se, lo, hi"));
  const struct {
    const char *name, *desc;
    const double *v;
  } cols[4] = {{"value", "point estimate from all the fitted points", r->value},
               {"se", "bootstrap standard error (NaN without replicates)", r->se},
               {"lo", "lower end of the 95% interval", r->lo},
               {"hi", "upper end of the 95% interval", r->hi}};
  for (size_t k = 0; k < 4; k++) {
    snprintf(p, sizeof p, "%s/%s", g, cols[k].name);
    SL_CALL(sl_analysis_write_f64(w, p, r->n_params, 0, cols[k].v, units, cols[k].desc));
  }
  return SL_OK;
}

static int write_chinchilla(sl_analysis_writer *w, const sl_analyze_out *o, size_t n_use,
                            const size_t *use) {
  const sl_analysis_data *d = o->data;
  SL_CALL(sl_analysis_group(w, G_CH,
                            "Chinchilla law L(N, D) = E + A/N^alpha + B/D^beta fitted to the done "
                            "cells (docs/SCIENCE.md section 5)"));
  SL_CALL(sl_analysis_attr_str(w, G_CH, "formula", sl_fit_chinchilla_ops.formula));
  SL_CALL(sl_analysis_attr_str(w, G_CH, "N_used", "/cells/n_params_no_embed"));
  SL_CALL(sl_analysis_attr_str(w, G_CH, "N_meaning",
                               "N without embeddings (token and position tables excluded, as in "
                               "Kaplan et al.)"));
  SL_CALL(sl_analysis_attr_str(w, G_CH, "D_used", "/cells/tokens_trained"));
  SL_CALL(sl_analysis_attr_str(w, G_CH, "D_meaning",
                               "tokens processed in training (steps x batch x targets per row): "
                               "about d_tokens x epochs, more where train.min_steps clamps"));
  SL_CALL(sl_analysis_attr_str(w, G_CH, "loss_used", "/cells/val_loss"));
  SL_CALL(sl_analysis_attr_i64(w, G_CH, "bootstrap_requested", (int64_t)o->bootstrap));
  SL_CALL(sl_analysis_attr_i64(w, G_CH, "seed", (int64_t)o->seed));
  /* Which cells: used ones, and the others with why (whether or not the fit ran). */
  int64_t *idx = NULL;
  const char **why = NULL;
  size_t n_drop = 0;
  int err = SL_OK;
  idx = sl_calloc(d->n_cells, sizeof *idx);
  why = sl_calloc(d->n_cells, sizeof *why);
  SL_CHECK_GOTO(idx && why, SL_ERR_NOMEM, done, "out of memory");
  for (size_t k = 0; k < n_use; k++)
    idx[k] = (int64_t)use[k];
  SL_CALL_GOTO(sl_analysis_write_i64(w, G_CH "/cells_used", n_use, idx, "1",
                                     "cell indices (rows of /cells) the fit used"),
               done);
  for (size_t i = 0; i < d->n_cells; i++)
    if (o->drop_reason[i]) idx[n_drop] = (int64_t)i, why[n_drop++] = o->drop_reason[i];
  SL_CALL_GOTO(sl_analysis_write_i64(w, G_CH "/dropped_cells", n_drop, idx, "1",
                                     "cell indices left out of the fit (see dropped_reason)"),
               done);
  SL_CALL_GOTO(sl_analysis_write_str(w, G_CH "/dropped_reason", n_drop, why, "1",
                                     "why each of dropped_cells was left out"),
               done);
  if (!o->chin_ok) {
    SL_CALL_GOTO(sl_analysis_attr_str(w, G_CH, "status", "skipped"), done);
    SL_CALL_GOTO(sl_analysis_attr_str(w, G_CH, "notes", o->chin_why), done);
    goto done;
  }
  const sl_fit_result *r = &o->chin;
  SL_CALL_GOTO(sl_analysis_attr_str(w, G_CH, "status", "fitted"), done);
  SL_CALL_GOTO(sl_analysis_attr_str(w, G_CH, "notes", r->notes), done);
  SL_CALL_GOTO(sl_analysis_attr_f64(w, G_CH, "objective", r->objective), done);
  SL_CALL_GOTO(sl_analysis_attr_i64(w, G_CH, "n_points", (int64_t)r->n_points), done);
  SL_CALL_GOTO(sl_analysis_attr_i64(w, G_CH, "n_used", (int64_t)r->n_used), done);
  SL_CALL_GOTO(sl_analysis_attr_i64(w, G_CH, "n_starts", (int64_t)r->n_starts), done);
  SL_CALL_GOTO(sl_analysis_attr_i64(w, G_CH, "best_start", (int64_t)r->best_start), done);
  SL_CALL_GOTO(sl_analysis_attr_i64(w, G_CH, "n_boot", (int64_t)r->n_boot), done);
  SL_CALL_GOTO(sl_analysis_attr_i64(w, G_CH, "n_boot_failed", (int64_t)r->n_boot_failed), done);
  SL_CALL_GOTO(write_params(w, G_CH, r,
                            "E, A, B in nats/token (A and B per N^-alpha and D^-beta); alpha, "
                            "beta, a = ln A, b = ln B, e = ln E dimensionless"),
               done);
  double pub[8];
  published(pub);
  SL_CALL_GOTO(sl_analysis_write_f64(w, G_CH "/published", 8, 0, pub, "as value",
                                     "Hoffmann et al. (Chinchilla) constants for reference: E "
                                     "1.69, A 406.4, B 410.7, alpha 0.34, beta 0.28"),
               done);
  SL_CALL_GOTO(sl_analysis_write_f64(w, G_CH "/bootstrap", r->n_boot, r->n_params, r->boot,
                                     "as value",
                                     "bootstrap replicates [replicate, parameter] in resample "
                                     "order, parameters as parameter_names"),
               done);
  /* A fit's points were given in cell order, so its dropped indices map back through use. */
  for (size_t k = 0; k < r->n_dropped; k++)
    idx[k] = (int64_t)use[r->dropped[k]];
  SL_CALL_GOTO(sl_analysis_write_i64(w, G_CH "/fit_dropped_cells", r->n_dropped, idx, "1",
                                     "cells the fit itself dropped (see notes)"),
               done);
done:
  free(idx);
  free(why);
  return err;
}

#define G_CF "/analysis/chinchilla_fixed_E"

/* The fit with E held at the exact entropy rate: what the synthetic language adds. */
static int write_chinchilla_fixed(sl_analysis_writer *w, const sl_analyze_out *o) {
  SL_CALL(sl_analysis_group(w, G_CF,
                            "Chinchilla law with E held at the language's exact entropy rate "
                            "(/language entropy_nats_per_token): A, B, alpha, beta fitted"));
  SL_CALL(sl_analysis_attr_str(w, G_CF, "formula", sl_fit_chinchilla_ops.formula));
  SL_CALL(sl_analysis_attr_str(w, G_CF, "cells", "the cells of /analysis/chinchilla/cells_used"));
  if (!o->chin_fixed_ok) {
    SL_CALL(sl_analysis_attr_str(w, G_CF, "status", "skipped"));
    SL_CALL(sl_analysis_attr_str(w, G_CF, "notes", o->chin_fixed_why));
    return SL_OK;
  }
  const sl_fit_result *r = &o->chin_fixed;
  SL_CALL(sl_analysis_attr_str(w, G_CF, "status", "fitted"));
  SL_CALL(sl_analysis_attr_str(w, G_CF, "notes", r->notes));
  SL_CALL(sl_analysis_attr_f64(w, G_CF, "E_held", r->value[SL_CH_E]));
  SL_CALL(sl_analysis_attr_f64(w, G_CF, "objective", r->objective));
  SL_CALL(sl_analysis_attr_i64(w, G_CF, "n_used", (int64_t)r->n_used));
  SL_CALL(sl_analysis_attr_i64(w, G_CF, "n_boot", (int64_t)r->n_boot));
  SL_CALL(
      write_params(w, G_CF, r, "E (held), A, B in nats/token; alpha, beta, a, b, e dimensionless"));
  SL_CALL(sl_analysis_write_f64(w, G_CF "/bootstrap", r->n_boot, r->n_params, r->boot, "as value",
                                "bootstrap replicates [replicate, parameter], as parameter_names"));
  return SL_OK;
}

static int write_estimates(sl_analysis_writer *w, const char *path, const sl_estimate *e, size_t n,
                           const char *units, const char *desc) {
  double v[3 * 4];
  for (size_t k = 0; k < n && k < 3; k++) {
    v[4 * k] = e[k].value;
    v[4 * k + 1] = e[k].se;
    v[4 * k + 2] = e[k].lo;
    v[4 * k + 3] = e[k].hi;
  }
  char full[256];
  snprintf(full, sizeof full, "%s [budget, (value, se, lo95, hi95)]", desc);
  SL_CALL(sl_analysis_write_f64(w, path, n, 4, v, units, full));
  return SL_OK;
}

static int write_frontier(sl_analysis_writer *w, const sl_analyze_out *o) {
  SL_CALL(sl_analysis_group(w, G_FR,
                            "compute-optimal frontier of the Chinchilla fit under C = 6 N D "
                            "(docs/SCIENCE.md section 5)"));
  SL_CALL(sl_analysis_attr_str(w, G_FR, "formula",
                               "N_opt = G (C/6)^a_N, D_opt = G^-1 (C/6)^a_D, G = (alpha A / (beta "
                               "B))^(1/(alpha+beta)), a_N = beta/(alpha+beta), a_D = "
                               "alpha/(alpha+beta)"));
  SL_CALL(sl_analysis_attr_str(w, G_FR, "C_meaning",
                               "C = 6 N D FLOPs with N = parameters without embeddings and D = "
                               "tokens trained (the fit's N and D)"));
  if (!o->frontier_ok) {
    SL_CALL(sl_analysis_attr_str(w, G_FR, "status", "skipped"));
    SL_CALL(sl_analysis_attr_str(w, G_FR, "notes", o->frontier_why));
    return SL_OK;
  }
  SL_CALL(sl_analysis_attr_str(w, G_FR, "status", "computed"));
  SL_CALL(sl_analysis_attr_i64(w, G_FR, "n_boot", (int64_t)o->frontier.n_boot));
  const char *names[3] = {"G", "a_N", "a_D"};
  const sl_estimate *e[3] = {&o->frontier.G, &o->frontier.a_N, &o->frontier.a_D};
  double v[4][3];
  for (size_t k = 0; k < 3; k++) {
    v[0][k] = e[k]->value;
    v[1][k] = e[k]->se;
    v[2][k] = e[k]->lo;
    v[3][k] = e[k]->hi;
  }
  SL_CALL(sl_analysis_write_str(w, G_FR "/parameter_names", 3, names, "1",
                                "G, a_N, a_D: the order of value, se, lo, hi"));
  SL_CALL(sl_analysis_write_f64(w, G_FR "/value", 3, 0, v[0],
                                "G in parameters/FLOP^a_N; a_N, "
                                "a_D dimensionless",
                                "point estimate from the fit"));
  SL_CALL(sl_analysis_write_f64(w, G_FR "/se", 3, 0, v[1], "as value",
                                "bootstrap standard error (replicates with alpha, beta > 0)"));
  SL_CALL(sl_analysis_write_f64(w, G_FR "/lo", 3, 0, v[2], "as value",
                                "lower end of the 95% interval"));
  SL_CALL(sl_analysis_write_f64(w, G_FR "/hi", 3, 0, v[3], "as value",
                                "upper end of the 95% interval"));
  SL_CALL(sl_analysis_write_f64(w, G_FR "/compute", 3, 0, o->budget, "FLOP",
                                "budgets: the smallest, geometric middle and largest C = 6ND of "
                                "the fitted cells"));
  SL_CALL(write_estimates(w, G_FR "/n_opt", o->n_opt, 3, "parameters",
                          "compute-optimal N (without embeddings) at each budget"));
  SL_CALL(write_estimates(w, G_FR "/d_opt", o->d_opt, 3, "tokens",
                          "compute-optimal tokens trained at each budget"));
  SL_CALL(write_estimates(w, G_FR "/tokens_per_param", o->tokens_per_param, 3, "tokens/parameter",
                          "D_opt / N_opt at each budget"));
  return SL_OK;
}

static int write_efficient(sl_analysis_writer *w, const sl_analyze_out *o) {
  SL_CALL(sl_analysis_group(w, G_EF,
                            "efficient frontier (docs/SCIENCE.md section 2): for each corpus "
                            "size D, the smallest N whose loss is within the tolerance of the "
                            "best loss at that D, and N_eff = c D^gamma"));
  SL_CALL(sl_analysis_attr_f64(w, G_EF, "tolerance", o->tolerance));
  SL_CALL(sl_analysis_attr_str(w, G_EF, "tolerance_units", "nats/token"));
  SL_CALL(sl_analysis_attr_str(w, G_EF, "N_used", "/cells/n_params_no_embed"));
  SL_CALL(sl_analysis_attr_str(w, G_EF, "D_used", "/cells/d_tokens (corpus size)"));
  SL_CALL(sl_analysis_attr_str(w, G_EF, "loss_used",
                               "/cells/val_loss averaged over the seeds of each (N, D)"));
  if (!o->eff_ok) {
    SL_CALL(sl_analysis_attr_str(w, G_EF, "status", "skipped"));
    SL_CALL(sl_analysis_attr_str(w, G_EF, "notes", o->eff_why));
    return SL_OK;
  }
  SL_CALL(sl_analysis_attr_str(w, G_EF, "status", "fitted"));
  SL_CALL(sl_analysis_attr_str(w, G_EF, "notes", o->eff.notes));
  SL_CALL(sl_analysis_attr_f64(w, G_EF, "gamma", o->eff.value[SL_PL_K]));
  SL_CALL(sl_analysis_write_f64(w, G_EF "/d_tokens", o->n_eff, 0, o->eff_d, "tokens",
                                "frontier points: corpus size D, increasing"));
  SL_CALL(sl_analysis_write_f64(w, G_EF "/n_eff", o->n_eff, 0, o->eff_n, "parameters",
                                "frontier points: smallest N (without embeddings) within the "
                                "tolerance of the best loss at D"));
  SL_CALL(sl_analysis_write_f64(w, G_EF "/best_loss", o->n_eff, 0, o->eff_loss, "nats/token",
                                "the best seed-averaged loss at D"));
  SL_CALL(write_params(w, G_EF, &o->eff,
                       "k = gamma dimensionless; c in parameters/tokens^gamma; log_c = ln c"));
  return SL_OK;
}

static int write_kausik(sl_analysis_writer *w, const sl_analyze_out *o) {
  SL_CALL(sl_analysis_group(w, G_KA,
                            "Kausik N ~ D^gamma: a RECONSTRUCTION from the fitted Chinchilla beta "
                            "(gamma_hi = 1 - beta, gamma_lo = 1 - 2 beta, gamma_mid = their "
                            "mean), not the paper's derivation (docs/SCIENCE.md section 2)"));
  SL_CALL(sl_analysis_attr_str(w, G_KA, "label", "RECONSTRUCTION"));
  if (!o->kausik_ok) {
    SL_CALL(sl_analysis_attr_str(w, G_KA, "status", "skipped"));
    SL_CALL(sl_analysis_attr_str(w, G_KA, "notes", "no Chinchilla fit, hence no beta"));
    return SL_OK;
  }
  SL_CALL(sl_analysis_attr_str(w, G_KA, "status", "computed"));
  SL_CALL(sl_analysis_attr_f64(w, G_KA, "beta", o->kausik.beta));
  SL_CALL(sl_analysis_attr_f64(w, G_KA, "beta_lo", o->chin.lo[SL_CH_BETA]));
  SL_CALL(sl_analysis_attr_f64(w, G_KA, "beta_hi", o->chin.hi[SL_CH_BETA]));
  SL_CALL(sl_analysis_attr_f64(w, G_KA, "measured_gamma_efficient_frontier",
                               o->eff_ok ? o->eff.value[SL_PL_K] : NAN));
  SL_CALL(sl_analysis_attr_f64(w, G_KA, "measured_gamma_unique_pieces",
                               o->unique_ok && o->uq[0].ok ? o->uq[0].fit.value[SL_PL_K] : NAN));
  const char *names[3] = {"gamma_hi", "gamma_mid", "gamma_lo"};
  const sl_kausik *k[3] = {&o->kausik, &o->kausik_at_lo, &o->kausik_at_hi};
  double g[3][3], f[3][3];
  for (size_t j = 0; j < 3; j++) {
    g[j][0] = k[j]->gamma_hi, g[j][1] = k[j]->gamma_mid, g[j][2] = k[j]->gamma_lo;
    f[j][0] = k[j]->doubling_hi, f[j][1] = k[j]->doubling_mid, f[j][2] = k[j]->doubling_lo;
  }
  SL_CALL(sl_analysis_write_str(w, G_KA "/names", 3, names, "1",
                                "the three reconstructed exponents, in the order of the others"));
  SL_CALL(sl_analysis_write_f64(w, G_KA "/gamma", 3, 0, g[0], "1",
                                "reconstructed gamma at the fitted beta"));
  SL_CALL(sl_analysis_write_f64(w, G_KA "/gamma_lo", 3, 0, g[1], "1",
                                "gamma at the upper end of beta's 95% interval"));
  SL_CALL(sl_analysis_write_f64(w, G_KA "/gamma_hi", 3, 0, g[2], "1",
                                "gamma at the lower end of beta's 95% interval"));
  SL_CALL(sl_analysis_write_f64(w, G_KA "/doubling", 3, 0, f[0], "1",
                                "corpus factor 2^(1/gamma) that doubles the skills (NaN where "
                                "gamma <= 0)"));
  return SL_OK;
}

#define G_UQ "/analysis/unique"

static int write_unique(sl_analysis_writer *w, const sl_analyze_out *o) {
  SL_CALL(sl_analysis_group(w, G_UQ,
                            "unique sequences U(D) = c D^gamma (docs/SCIENCE.md section 2): "
                            "distinct pieces and distinct L-grams in the first D tokens of the "
                            "corpus, from /unique"));
  SL_CALL(sl_analysis_attr_str(w, G_UQ, "formula", "U(D) = c D^gamma, least squares in log-log"));
  if (!o->unique_ok) {
    SL_CALL(sl_analysis_attr_str(w, G_UQ, "status", "skipped"));
    SL_CALL(sl_analysis_attr_str(w, G_UQ, "notes", o->unique_why));
    return SL_OK;
  }
  const size_t p = o->uq_p, nq = o->uq_nq;
  SL_CALL(sl_analysis_attr_str(w, G_UQ, "status", "computed"));
  SL_CALL(sl_analysis_attr_str(w, G_UQ, "method", o->uq_method));
  SL_CALL(sl_analysis_attr_i64(w, G_UQ, "seeds", (int64_t)o->uq_n_seeds));
  SL_CALL(sl_analysis_attr_str(w, G_UQ, "cells_used",
                               "for each grid seed the done cell with the largest d_tokens (its "
                               "corpus holds every smaller prefix); counts averaged over the "
                               "seeds that reach each prefix (see n_seeds)"));
  SL_CALL(sl_analysis_attr_f64(w, G_UQ, "pieces_ceiling", o->uq_ceiling));
  SL_CALL(sl_analysis_attr_str(w, G_UQ, "fit_rule",
                               "pieces: only prefixes with U < 0.5 x pieces_ceiling (the "
                               "language's number of distinct pieces), unless fewer than 3 are, "
                               "then every finite prefix; n-grams: every prefix with a finite "
                               "count > 0. local_slope shows saturation"));
  SL_CALL(sl_analysis_write_f64(w, G_UQ "/prefix_tokens", p, 0, o->uq_d, "tokens",
                                "corpus prefix lengths D"));
  SL_CALL(sl_analysis_write_f64(w, G_UQ "/n_seeds", p, 0, o->uq_seeds, "1",
                                "seeds averaged at each prefix"));
  const char **names = sl_calloc(nq, sizeof *names);
  double *col = sl_calloc(9 * nq, sizeof *col);
  int64_t *nfit = sl_calloc(nq, sizeof *nfit);
  int err = SL_OK;
  SL_CHECK_GOTO(names && col && nfit, SL_ERR_NOMEM, done, "out of memory");
  for (size_t q = 0; q < nq; q++) {
    const sl_unique_fit *f = &o->uq[q];
    char path[128], desc[256];
    snprintf(path, sizeof path, G_UQ "/%s", f->name);
    if (q == 0)
      snprintf(desc, sizeof desc,
               "distinct text pieces in the first prefix_tokens[j] tokens, "
               "averaged over seeds (NaN: no seed reaches the prefix)");
    else
      snprintf(desc, sizeof desc,
               "distinct %lld-grams in the first prefix_tokens[j] tokens, averaged over seeds "
               "(NaN: no seed reaches the prefix)",
               (long long)f->ngram);
    SL_CALL_GOTO(
        sl_analysis_write_f64(w, path, p, 0, o->uq_u + q * p, q == 0 ? "pieces" : "n-grams", desc),
        done);
    names[q] = f->name;
    double nan = NAN;
    col[0 * nq + q] = f->ok ? f->fit.value[SL_PL_K] : nan;
    col[1 * nq + q] = f->ok ? f->fit.se[SL_PL_K] : nan;
    col[2 * nq + q] = f->ok ? f->fit.lo[SL_PL_K] : nan;
    col[3 * nq + q] = f->ok ? f->fit.hi[SL_PL_K] : nan;
    col[4 * nq + q] = f->ok ? f->fit.value[SL_PL_C] : nan;
    col[5 * nq + q] = f->doubling;
    col[6 * nq + q] = f->doubling_lo;
    col[7 * nq + q] = f->doubling_hi;
    col[8 * nq + q] = f->local_slope;
    nfit[q] = f->ok ? (int64_t)f->n_fit : 0;
  }
  SL_CALL_GOTO(sl_analysis_write_str(w, G_UQ "/quantities", nq, names, "1",
                                     "the quantities, in the order of gamma, doubling, ..."),
               done);
  const struct {
    const char *name, *units, *desc;
  } out[9] = {
      {"gamma", "1", "fitted exponent gamma of U(D) = c D^gamma (NaN: not fitted)"},
      {"gamma_se", "1", "standard error of gamma from the residual scatter (NaN: 2 points)"},
      {"gamma_lo", "1", "lower end of gamma's 95% t interval"},
      {"gamma_hi", "1", "upper end of gamma's 95% t interval"},
      {"c", "sequences/tokens^gamma", "fitted prefactor c"},
      {"doubling", "1", "corpus factor 2^(1/gamma) that doubles the distinct sequences"},
      {"doubling_lo", "1", "2^(1/gamma_hi)"},
      {"doubling_hi", "1", "2^(1/gamma_lo) (inf when gamma_lo <= 0)"},
      {"local_slope", "1",
       "d ln U / d ln D between the last two prefixes with counts: well below gamma when U "
       "saturates"},
  };
  for (size_t k = 0; k < 9; k++) {
    char path[128];
    snprintf(path, sizeof path, G_UQ "/%s", out[k].name);
    SL_CALL_GOTO(sl_analysis_write_f64(w, path, nq, 0, col + k * nq, out[k].units, out[k].desc),
                 done);
  }
  SL_CALL_GOTO(sl_analysis_write_i64(w, G_UQ "/n_fit", nq, nfit, "1",
                                     "prefixes each fit used (0: not fitted)"),
               done);
done:
  free(names);
  free(col);
  free(nfit);
  return err;
}

static int write_analysis(const analyze_args *a, const sl_analyze_out *o, size_t n_use,
                          const size_t *use, int argc, char **argv) {
  sl_analysis_writer *w = NULL;
  SL_CALL(sl_analysis_open(o->into, &w));
  int err = SL_OK;
  char when[64], cmd[1024] = "slingshot";
  time_t now = time(NULL);
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
  for (int i = 0; i < argc; i++) {
    size_t len = strlen(cmd);
    snprintf(cmd + len, sizeof cmd - len, " %s", argv[i]);
  }
  SL_CALL_GOTO(sl_analysis_attr_str(w, "/analysis", "slingshot_version", SLINGSHOT_VERSION), done);
  SL_CALL_GOTO(sl_analysis_attr_str(w, "/analysis", "git_sha", SLINGSHOT_GIT_SHA), done);
  SL_CALL_GOTO(sl_analysis_attr_str(w, "/analysis", "created_utc", when), done);
  SL_CALL_GOTO(sl_analysis_attr_str(w, "/analysis", "command", cmd), done);
  SL_CALL_GOTO(sl_analysis_attr_i64(w, "/analysis", "mpi_ranks", o->mpi_ranks), done);
  SL_CALL_GOTO(sl_analysis_attr_i64(w, "/analysis", "n_cells", (int64_t)o->data->n_cells), done);
  SL_CALL_GOTO(sl_analysis_attr_i64(w, "/analysis", "n_done", (int64_t)o->n_done), done);
  SL_CALL_GOTO(sl_analysis_attr_i64(w, "/analysis", "n_todo", (int64_t)o->n_todo), done);
  SL_CALL_GOTO(sl_analysis_attr_i64(w, "/analysis", "n_diverged", (int64_t)o->n_diverged), done);
  SL_CALL_GOTO(sl_analysis_attr_i64(w, "/analysis", "n_failed", (int64_t)o->n_failed), done);
  SL_CALL_GOTO(sl_analysis_attr_str(w, "/analysis", "report", a->dir), done);
  SL_CALL_GOTO(write_chinchilla(w, o, n_use, use), done);
  SL_CALL_GOTO(write_chinchilla_fixed(w, o), done);
  SL_CALL_GOTO(write_frontier(w, o), done);
  SL_CALL_GOTO(write_efficient(w, o), done);
  SL_CALL_GOTO(write_unique(w, o), done);
  SL_CALL_GOTO(write_kausik(w, o), done);
  SL_CALL_GOTO(sl_flatness_write(w, o), done);
done:;
  int e = sl_analysis_close(w);
  if (err == SL_OK && e != SL_OK) err = e;
  return err;
}

/* ------------------------------------------------------------------ summary */

static void print_unique(const sl_analyze_out *o, FILE *f) {
  if (!o->unique_ok) {
    fprintf(f, "unique sequences U(D): not measured: %s\n", o->unique_why);
    return;
  }
  fprintf(f, "unique sequences U(D) = c D^gamma (%s counts; ", o->uq_method);
  if (o->uq_n_seeds > 1)
    fprintf(f, "averaged over %zu seeds, each its largest-D done cell", o->uq_n_seeds);
  else
    fprintf(f, "1 seed, its largest-D done cell");
  if (isfinite(o->uq_ceiling)) fprintf(f, "; the language has %.0f distinct pieces", o->uq_ceiling);
  fprintf(f, "):\n");
  for (size_t q = 0; q < o->uq_nq; q++) {
    const sl_unique_fit *u = &o->uq[q];
    if (!u->ok) {
      fprintf(f, "  %-10s %s\n", u->name, u->why);
      continue;
    }
    fprintf(f,
            "  %-10s gamma = %.3f [%.3f, %.3f], doubling x%.2f, on %zu of %zu prefixes (to D = "
            "%.3g); slope at the last two prefixes %.3f\n",
            u->name, u->fit.value[SL_PL_K], u->fit.lo[SL_PL_K], u->fit.hi[SL_PL_K], u->doubling,
            u->n_fit, u->n_finite, u->fit_max_d, u->local_slope);
  }
}

static void print_summary(const sl_analyze_out *o, FILE *f) {
  if (o->chin_ok) {
    const sl_fit_result *r = &o->chin;
    double pub[8];
    published(pub);
    fprintf(f,
            "\nChinchilla %s on %zu cells (N without embeddings, D = tokens trained, held-out "
            "loss), %zu bootstrap replicates:\n",
            sl_fit_chinchilla_ops.formula, r->n_used, r->n_boot);
    fprintf(f, "  %-6s %12s %25s %10s\n", "param", "value", "95% interval", "published");
    for (size_t k = 0; k <= SL_CH_BETA; k++)
      fprintf(f, "  %-6s %12.5g   [%10.4g, %10.4g] %10.4g\n", r->names[k], r->value[k], r->lo[k],
              r->hi[k], pub[k]);
  } else {
    fprintf(f, "\nChinchilla fit: %s\n", o->chin_why);
  }
  if (o->chin_fixed_ok) {
    const sl_fit_result *r = &o->chin_fixed;
    fprintf(f, "with E held at the exact entropy rate %.5g nats/token:\n", r->value[SL_CH_E]);
    for (size_t k = SL_CH_A; k <= SL_CH_BETA; k++)
      fprintf(f, "  %-6s %12.5g   [%10.4g, %10.4g]\n", r->names[k], r->value[k], r->lo[k],
              r->hi[k]);
  }
  if (o->frontier_ok) {
    const sl_frontier_fit *fr = &o->frontier;
    fprintf(f,
            "compute-optimal frontier: N_opt ~ C^%.3f [%.3f, %.3f], D_opt ~ C^%.3f [%.3f, %.3f]\n",
            fr->a_N.value, fr->a_N.lo, fr->a_N.hi, fr->a_D.value, fr->a_D.lo, fr->a_D.hi);
    fprintf(f, "  at C = %.3g FLOP: N_opt = %.3g, D_opt = %.3g, %.3g tokens/parameter\n",
            o->budget[2], o->n_opt[2].value, o->d_opt[2].value, o->tokens_per_param[2].value);
  } else {
    fprintf(f, "compute-optimal frontier: %s\n", o->frontier_why);
  }
  if (o->eff_ok && isfinite(o->eff.lo[SL_PL_K]))
    fprintf(f,
            "efficient frontier (tolerance %g nats/token, %zu corpus sizes): gamma = %.3f "
            "[%.3f, %.3f]\n",
            o->tolerance, o->n_eff, o->eff.value[SL_PL_K], o->eff.lo[SL_PL_K], o->eff.hi[SL_PL_K]);
  else if (o->eff_ok)
    fprintf(f,
            "efficient frontier (tolerance %g nats/token, %zu corpus sizes): gamma = %.3f (no "
            "interval from %zu points)\n",
            o->tolerance, o->n_eff, o->eff.value[SL_PL_K], o->n_eff);
  else
    fprintf(f, "efficient frontier: %s\n", o->eff_why);
  print_unique(o, f);
  if (o->kausik_ok)
    fprintf(f,
            "Kausik RECONSTRUCTION from beta = %.3f: gamma_hi %.3f, gamma_mid %.3f, gamma_lo "
            "%.3f; doubling factors %.2f, %.2f, %.2f\n",
            o->kausik.beta, o->kausik.gamma_hi, o->kausik.gamma_mid, o->kausik.gamma_lo,
            o->kausik.doubling_hi, o->kausik.doubling_mid, o->kausik.doubling_lo);
  fprintf(f, "written: %s:/analysis and %s/report.md", o->file, o->dir);
  if (o->figures && o->gnuplot_missing) fprintf(f, " (gnuplot not found: scripts without PNGs)");
  if (o->figures && o->figures_failed)
    fprintf(f, " (%d figure%s failed: see %s/gnuplot.log)", o->figures_failed,
            o->figures_failed == 1 ? "" : "s", o->dir);
  fprintf(f, "\n");
}

/* ------------------------------------------------------------------ the command */

static void out_free(sl_analyze_out *o) {
  sl_fit_result_free(&o->chin);
  sl_fit_result_free(&o->chin_fixed);
  sl_fit_result_free(&o->eff);
  free(o->eff_d);
  free(o->eff_n);
  free(o->eff_loss);
  free(o->drop_reason);
  for (size_t q = 0; o->uq && q < o->uq_nq; q++)
    sl_fit_result_free(&o->uq[q].fit);
  free(o->uq);
  free(o->uq_d);
  free(o->uq_seeds);
  free(o->uq_u);
  sl_flatness_free(o);
}

int sl_cmd_analyze(int argc, char **argv, MPI_Comm comm) {
  int rank, size;
  SL_CALL_MPI(MPI_Comm_rank(comm, &rank));
  SL_CALL_MPI(MPI_Comm_size(comm, &size));
  analyze_args a;
  int err = analyze_parse(argc, argv, &a);
  if (err != SL_OK) { /* every rank saw the same arguments: rank 0 alone reports */
    if (rank != 0) sl_error_clear();
    return err;
  }
  if (a.help) {
    if (rank == 0) analyze_usage(stdout);
    return SL_OK;
  }
  char *dir_alloc = NULL;
  if (!a.dir) {
    SL_CALL(default_dir(a.file, &dir_alloc));
    a.dir = dir_alloc;
  }

  sl_analysis_data data;
  memset(&data, 0, sizeof data);
  sl_analyze_out o;
  memset(&o, 0, sizeof o);
  char *reasons = NULL;
  size_t *use = NULL;
  double t0 = sl_wtime();
  if (rank == 0) {
    /* Every input problem before any work: the file, then the report folder. */
    err = sl_analysis_read(a.file, &data);
    if (err == SL_OK) err = sl_h5_edit_check(a.file, "the analysis (/analysis)");
    if (err == SL_OK) err = sl_report_prepare_dir(a.dir);
  }
  /* Rank 0's status first, so no rank waits in a broadcast that will not come. */
  if (MPI_Bcast(&err, 1, MPI_INT, 0, comm) != MPI_SUCCESS) {
    err = SL_ERROR(SL_ERR_MPI, "analyze: broadcasting rank 0's status failed");
    goto done;
  }
  if (err != SL_OK) goto done; /* the message is on rank 0 */
  SL_CALL_GOTO(sl_analysis_data_bcast(&data, 0, comm), done);
  double t_read = sl_wtime() - t0;

  const size_t n = data.n_cells;
  o.file = a.file;
  o.dir = a.dir;
  o.data = &data;
  o.bootstrap = a.bootstrap;
  o.seed = a.seed;
  o.tolerance = a.tolerance;
  o.figures = a.figures;
  o.mpi_ranks = size;
  reasons = sl_calloc(n, REASON_LEN);
  o.drop_reason = sl_calloc(n, sizeof *o.drop_reason);
  use = sl_calloc(n, sizeof *use);
  SL_CHECK_GOTO(reasons && o.drop_reason && use, SL_ERR_NOMEM, done, "out of memory for %zu cells",
                n);
  classify(&data, &o, reasons);
  SL_CALL_GOTO(sl_bounds_variant_mask(a.file, n, o.drop_reason, reasons, REASON_LEN, comm), done);
  size_t n_use = 0;
  for (size_t i = 0; i < n; i++)
    if (!o.drop_reason[i]) use[n_use++] = i;
  if (rank == 0) {
    printf("slingshot analyze: %s: %zu cells: %zu done, %zu missing (todo), %zu diverged, %zu "
           "failed; fitting the %zu usable done cell%s\n",
           a.file, n, o.n_done, o.n_todo, o.n_diverged, o.n_failed, n_use, n_use == 1 ? "" : "s");
    fflush(stdout);
  }

  if (n_use >= MIN_CHIN_CELLS)
    sl_log(SL_LOG_INFO,
           "analyze: Chinchilla fit, %d starts and %zu bootstrap resamples over %d rank(s)",
           SL_CHINCHILLA_N_STARTS, a.bootstrap, size);
  double t1 = sl_wtime();
  SL_CALL_GOTO(fit_chinchilla(&a, &data, n_use, use, comm, 0.0, &o.chin, &o.chin_ok, o.chin_why,
                              sizeof o.chin_why),
               done);
  if (isfinite(data.entropy_nats) && data.entropy_nats > 0) {
    SL_CALL_GOTO(fit_chinchilla(&a, &data, n_use, use, comm, data.entropy_nats, &o.chin_fixed,
                                &o.chin_fixed_ok, o.chin_fixed_why, sizeof o.chin_fixed_why),
                 done);
  } else {
    snprintf(o.chin_fixed_why, sizeof o.chin_fixed_why,
             "the file has no /language entropy_nats_per_token");
  }
  double t_fit = sl_wtime() - t1;

  if (rank == 0) {
    double t2 = sl_wtime();
    err = derive_frontier(&data, &o, n_use, use);
    if (err == SL_OK) err = derive_efficient(&a, &data, &o, n_use, use);
    if (err == SL_OK) derive_kausik(&o);
    if (err == SL_OK) err = derive_unique(&data, &o);
    if (err == SL_OK) err = sl_flatness_analyze(&o);
    /* The HDF5 outputs go into a copy of the file, renamed over it once all are written: HDF5
     * rewrites metadata in place, so a kill or Ctrl-C while the file itself was open for
     * writing could leave it unreadable, finished cells and all. */
    char work[4200];
    int began = 0;
    if (err == SL_OK) err = sl_h5_edit_begin(a.file, 1, work, sizeof work), began = err == SL_OK;
    o.into = work;
    if (err == SL_OK) err = write_analysis(&a, &o, n_use, use, argc, argv);
    if (err == SL_OK) err = sl_report_write(&o);
    if (err == SL_OK) err = sl_report_bounds(a.file, work, a.dir, a.figures);
    if (err == SL_OK) err = sl_report_skills(&o); /* issue 5 */
    if (began) err = sl_h5_edit_end(work, a.file, err);
    if (err == SL_OK) print_summary(&o, stdout);
    if (err == SL_OK) err = sl_flatness_report(&o); /* appends to report.md, prints a line */
    fflush(stdout);
    sl_log(SL_LOG_INFO,
           "analyze: read %.3f s, Chinchilla fit %.3f s on %d rank(s), frontiers, "
           "file and report %.3f s",
           t_read, t_fit, size, sl_wtime() - t2);
  }
  /* Only rank 0 can fail after the fit; main's reduction turns that into the exit status. */
done:
  free(reasons);
  free(use);
  out_free(&o);
  sl_analysis_data_free(&data);
  free(dir_alloc);
  return err;
}
