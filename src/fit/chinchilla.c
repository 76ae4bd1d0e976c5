/* Chinchilla law L(N, D) = E + A / N^alpha + B / D^beta (docs/SCIENCE.md section 5).
 *
 * Fitted on log L as LSE(a - alpha ln N, b - beta ln D, e), A = e^a, B = e^b, E = e^e, by
 * minimising sum_i w_i Huber_delta(r_i), r_i = LSE_i - ln L_i, with GSL's BFGS2 and the analytic
 * gradient, from every start of the grid; the best start wins. Bootstrap: resample the points
 * (multiplicities w_i), refit from the full-data optimum and a few perturbed starts.
 *
 * Determinism at any rank count: every start and every resample is a pure function of the data,
 * the options and its own index (resample r draws from the stream (seed, r)); the ranks only
 * share out the indices (starts by a hash of the index, resamples in contiguous blocks). The best
 * start is reduced with MPI_MINLOC, whose ties go to the lower start index, and the replicates are
 * gathered in resample order. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_multimin.h>
#include <gsl/gsl_vector.h>

#include "fit_impl.h"
#include "slingshot/error.h"
#include "slingshot/rng.h"
#include "slingshot/timer.h"

/* Internal parameter vector: th = (a, b, e, alpha, beta). */
enum { TH_A, TH_B, TH_E, TH_AL, TH_BE, N_TH };

static const char *const g_names[] = {"E", "A", "B", "alpha", "beta", "a", "b", "e"};

typedef struct chin_problem {
  size_t n;
  double mean_ln_n, mean_ln_d; /* ln_n and ln_d are centred on these */
  const double *ln_n, *ln_d, *ln_l;
  const double *w; /* multiplicities (NULL: all 1) */
  double delta;
  double fixed_e; /* ln E when E is held fixed (known entropy rate), NaN when E is fitted */
} chin_problem;

/* The objective and (when g != NULL) its gradient. */
static double chin_fg(const double *th, const chin_problem *p, double *g) {
  const double a = th[TH_A], b = th[TH_B], al = th[TH_AL], be = th[TH_BE];
  /* A held E: its coordinate is ignored and gets no gradient, so BFGS never moves it. */
  const int e_fixed = !isnan(p->fixed_e);
  const double e = e_fixed ? p->fixed_e : th[TH_E];
  const double delta = p->delta;
  double f = 0, g_a = 0, g_b = 0, g_e = 0, g_al = 0, g_be = 0;
  for (size_t i = 0; i < p->n; i++) {
    double w = p->w ? p->w[i] : 1.0;
    if (w == 0) continue;
    double t1 = a - al * p->ln_n[i], t2 = b - be * p->ln_d[i], t3 = e;
    /* LSE with the largest term factored out: its exponential is 1. */
    double m, e1, e2, e3;
    if (t1 >= t2 && t1 >= t3) {
      m = t1, e1 = 1.0, e2 = exp(t2 - m), e3 = exp(t3 - m);
    } else if (t2 >= t3) {
      m = t2, e1 = exp(t1 - m), e2 = 1.0, e3 = exp(t3 - m);
    } else {
      m = t3, e1 = exp(t1 - m), e2 = exp(t2 - m), e3 = 1.0;
    }
    double s = e1 + e2 + e3;
    double r = m + log(s) - p->ln_l[i];
    double ar = fabs(r), dh;
    if (ar <= delta) {
      f += w * 0.5 * r * r;
      dh = r;
    } else {
      f += w * delta * (ar - 0.5 * delta);
      dh = r > 0 ? delta : -delta;
    }
    if (g) {
      /* d LSE / d t_k = e_k / s (softmax) */
      double c = w * dh / s;
      g_a += c * e1;
      g_b += c * e2;
      g_e += c * e3;
      g_al -= c * e1 * p->ln_n[i];
      g_be -= c * e2 * p->ln_d[i];
    }
  }
  if (g) {
    g[TH_A] = g_a;
    g[TH_B] = g_b;
    g[TH_E] = e_fixed ? 0.0 : g_e;
    g[TH_AL] = g_al;
    g[TH_BE] = g_be;
  }
  return f;
}

static double gsl_f(const gsl_vector *x, void *params) {
  double th[N_TH];
  for (size_t k = 0; k < N_TH; k++)
    th[k] = gsl_vector_get(x, k);
  return chin_fg(th, params, NULL);
}

static void gsl_fdf(const gsl_vector *x, void *params, double *f, gsl_vector *g) {
  double th[N_TH], gr[N_TH];
  for (size_t k = 0; k < N_TH; k++)
    th[k] = gsl_vector_get(x, k);
  *f = chin_fg(th, params, gr);
  for (size_t k = 0; k < N_TH; k++)
    gsl_vector_set(g, k, gr[k]);
}

static void gsl_df(const gsl_vector *x, void *params, gsl_vector *g) {
  double f;
  gsl_fdf(x, params, &f, g);
}

/* One BFGS run from start; *f_out = +inf when it produced nothing finite. */
typedef struct chin_solver {
  gsl_multimin_fdfminimizer *s;
  gsl_multimin_function_fdf fdf;
  gsl_vector *x;
  size_t max_iter, screen_iter, polish_top;
  double grad_tol, f_rel_tol;
} chin_solver;

#define CHIN_WINDOW 10

static int chin_solver_init(chin_solver *cs, chin_problem *p, const sl_fit_options *opt) {
  memset(cs, 0, sizeof *cs);
  cs->fdf.n = N_TH;
  cs->fdf.f = gsl_f;
  cs->fdf.df = gsl_df;
  cs->fdf.fdf = gsl_fdf;
  cs->fdf.params = p;
  cs->max_iter = opt->max_iter;
  cs->screen_iter = opt->screen_iter;
  cs->polish_top = opt->polish_top;
  cs->grad_tol = opt->grad_tol;
  cs->f_rel_tol = opt->f_rel_tol;
  cs->s = gsl_multimin_fdfminimizer_alloc(gsl_multimin_fdfminimizer_vector_bfgs2, N_TH);
  cs->x = gsl_vector_alloc(N_TH);
  if (!cs->s || !cs->x) {
    if (cs->s) gsl_multimin_fdfminimizer_free(cs->s);
    if (cs->x) gsl_vector_free(cs->x);
    cs->s = NULL;
    cs->x = NULL;
    return SL_ERROR(SL_ERR_NOMEM, "out of memory allocating the BFGS minimiser");
  }
  return SL_OK;
}

static void chin_solver_free(chin_solver *cs) {
  if (cs->s) gsl_multimin_fdfminimizer_free(cs->s);
  if (cs->x) gsl_vector_free(cs->x);
  cs->s = NULL;
  cs->x = NULL;
}

static void chin_minimise(chin_solver *cs, const double *start, double *th_out, double *f_out) {
  *f_out = INFINITY;
  for (size_t k = 0; k < N_TH; k++)
    gsl_vector_set(cs->x, k, start[k]);
  /* Initial step 0.1 in parameter space; line-search tolerance 0.1 as GSL advises for BFGS. */
  if (gsl_multimin_fdfminimizer_set(cs->s, &cs->fdf, cs->x, 0.1, 0.1) != GSL_SUCCESS) return;
  /* Stops: no progress possible (GSL_ENOPROG), a small gradient, or a relative decrease of f
   * below f_rel_tol over the last CHIN_WINDOW iterations (the Huber kinks make the last digits
   * slow, and they are far below any bootstrap error). */
  double f_hist[CHIN_WINDOW];
  for (size_t it = 0; it < cs->max_iter; it++) {
    int st = gsl_multimin_fdfminimizer_iterate(cs->s);
    if (st != GSL_SUCCESS) break;
    double f = cs->s->f;
    if (!isfinite(f)) break;
    if (gsl_multimin_test_gradient(cs->s->gradient, cs->grad_tol) == GSL_SUCCESS) break;
    if (it >= CHIN_WINDOW && f_hist[it % CHIN_WINDOW] - f <= cs->f_rel_tol * fabs(f)) break;
    f_hist[it % CHIN_WINDOW] = f;
  }
  const gsl_vector *x = gsl_multimin_fdfminimizer_x(cs->s);
  double f = gsl_multimin_fdfminimizer_minimum(cs->s);
  int ok = isfinite(f);
  for (size_t k = 0; k < N_TH; k++) {
    th_out[k] = gsl_vector_get(x, k);
    ok = ok && isfinite(th_out[k]);
  }
  if (ok) *f_out = f;
}

/* Start s of the grid, s in [0, 4500): alpha, beta in {0, .5, .., 2}, e in {-1, -.5, .., 1},
 * a, b in {0, 5, .., 25} (section 5). */
static void chin_grid_start(size_t s, const chin_problem *p, double *th) {
  th[TH_B] = 5.0 * (double)(s % 6);
  s /= 6;
  th[TH_A] = 5.0 * (double)(s % 6);
  s /= 6;
  th[TH_E] = -1.0 + 0.5 * (double)(s % 5);
  s /= 5;
  th[TH_BE] = 0.5 * (double)(s % 5);
  s /= 5;
  th[TH_AL] = 0.5 * (double)(s % 5);
  th[TH_A] -= th[TH_AL] * p->mean_ln_n; /* the same point in the centred parameters */
  th[TH_B] -= th[TH_BE] * p->mean_ln_d;
}

/* Internal (centred) parameters to the reported ones: a = a_c + alpha mean(ln N), same for b. */
static void chin_report(const double *th, const chin_problem *p, double *out) {
  double a = th[TH_A] + th[TH_AL] * p->mean_ln_n, b = th[TH_B] + th[TH_BE] * p->mean_ln_d;
  double e = isnan(p->fixed_e) ? th[TH_E] : p->fixed_e;
  out[SL_CH_E] = exp(e);
  out[SL_CH_A] = exp(a);
  out[SL_CH_B] = exp(b);
  out[SL_CH_ALPHA] = th[TH_AL];
  out[SL_CH_BETA] = th[TH_BE];
  out[SL_CH_LA] = a;
  out[SL_CH_LB] = b;
  out[SL_CH_LE] = e;
}

/* Agrees on a status across comm: the worst (max) over ranks. */
static int chin_agree(int err, MPI_Comm comm, int *worst) {
  SL_CALL_MPI(MPI_Allreduce(&err, worst, 1, MPI_INT, MPI_MAX, comm));
  return SL_OK;
}

/* The rank that runs start s. Neighbouring starts of the grid differ in cost (b varies fastest),
 * so a plain stride would hand one rank the slow ones: a hash of s spreads them evenly. */
static int chin_owner(size_t s, int size) {
  return (int)(sl_seed_mix((uint64_t)s, 0x5354415254ull) % (uint64_t)size);
}

/* Screened starts ordered by (objective, index): the same order on every rank. */
typedef struct chin_rank {
  double f;
  size_t index;
} chin_rank;

static int chin_rank_cmp(const void *pa, const void *pb) {
  const chin_rank *a = pa, *b = pb;
  if (a->f != b->f) return a->f < b->f ? -1 : 1;
  return (a->index > b->index) - (a->index < b->index);
}

/* The multi-start, in two sweeps. Screen: every start of the grid (spread over the ranks) runs
 * at most screen_iter iterations; the objective of every start is shared. Polish: the polish_top
 * best starts (ties: lower index) continue from where they stopped, up to max_iter iterations, on
 * the rank that screened them; the best polished start wins (MINLOC: ties to the lower index). */
static int chin_multistart(chin_solver *cs, const chin_problem *p, MPI_Comm comm, int rank,
                           int size, double *th_best, double *f_best, size_t *best_index) {
  const size_t ns = SL_CHINCHILLA_N_STARTS;
  int err = SL_OK, worst = SL_OK;
  double *f_all = sl_calloc(ns, sizeof *f_all);
  double *th_end = sl_calloc(ns * N_TH, sizeof *th_end);
  chin_rank *order = sl_calloc(ns, sizeof *order);
  if (!f_all || !th_end || !order) err = SL_ERROR(SL_ERR_NOMEM, "out of memory for %zu starts", ns);
  SL_CALL_GOTO(chin_agree(err, comm, &worst), done);
  if (err != SL_OK) goto done;
  SL_CHECK_GOTO(worst == SL_OK, worst, done, "multi-start allocation failed on another rank");

  double start[N_TH], f;
  const size_t max_iter = cs->max_iter;
  cs->max_iter = cs->screen_iter < max_iter ? cs->screen_iter : max_iter;
  sl_timer_start("fit.chinchilla.screen");
  for (size_t s = 0; s < ns; s++) {
    f_all[s] = -INFINITY; /* others' starts: the MAX reduction takes the owner's value */
    if (chin_owner(s, size) != rank) continue;
    chin_grid_start(s, p, start);
    chin_minimise(cs, start, th_end + s * N_TH, &f);
    f_all[s] = f;
  }
  cs->max_iter = max_iter;
  sl_timer_stop("fit.chinchilla.screen");
  {
    int mpi_e = MPI_Allreduce(MPI_IN_PLACE, f_all, (int)ns, MPI_DOUBLE, MPI_MAX, comm);
    if (mpi_e != MPI_SUCCESS) {
      err = sl_error_mpi(mpi_e, "MPI_Allreduce(screen)", __func__, __FILE__, __LINE__);
      goto done;
    }
  }
  /* The polish_top best screened starts, by (objective, index); every rank sorts the same. */
  for (size_t s = 0; s < ns; s++)
    order[s] = (chin_rank){f_all[s], s};
  qsort(order, ns, sizeof *order, chin_rank_cmp);
  struct {
    double f;
    int idx;
  } mine = {INFINITY, (int)ns}, best;
  double th_mine[N_TH] = {0}, th[N_TH];
  sl_timer_start("fit.chinchilla.polish");
  size_t top = cs->polish_top < ns ? cs->polish_top : ns;
  for (size_t k = 0; k < top; k++) {
    size_t s = order[k].index;
    if (chin_owner(s, size) != rank || !isfinite(f_all[s])) continue;
    chin_minimise(cs, th_end + s * N_TH, th, &f);
    if (f > f_all[s]) { /* never worse than the screen */
      f = f_all[s];
      memcpy(th, th_end + s * N_TH, sizeof th);
    }
    if (f < mine.f || (f == mine.f && (int)s < mine.idx)) {
      mine.f = f;
      mine.idx = (int)s;
      memcpy(th_mine, th, sizeof th);
    }
  }
  sl_timer_stop("fit.chinchilla.polish");
  /* MPI_MINLOC on +inf works; no rank holds NaN (chin_minimise gives +inf for failures). */
  {
    int mpi_e = MPI_Allreduce(&mine, &best, 1, MPI_DOUBLE_INT, MPI_MINLOC, comm);
    if (mpi_e != MPI_SUCCESS) {
      err = sl_error_mpi(mpi_e, "MPI_Allreduce(best start)", __func__, __FILE__, __LINE__);
      goto done;
    }
  }
  SL_CHECK_GOTO(isfinite(best.f), SL_ERR_NUMERIC, done,
                "Chinchilla fit: no start of the grid reached a finite optimum");
  int owner = chin_owner((size_t)best.idx, size);
  if (rank == owner) memcpy(th_best, th_mine, sizeof th_mine);
  {
    int mpi_e = MPI_Bcast(th_best, N_TH, MPI_DOUBLE, owner, comm);
    if (mpi_e != MPI_SUCCESS) {
      err = sl_error_mpi(mpi_e, "MPI_Bcast(best start)", __func__, __FILE__, __LINE__);
      goto done;
    }
  }
  *f_best = best.f;
  *best_index = (size_t)best.idx;
done:
  free(f_all);
  free(th_end);
  free(order);
  return err;
}

/* Resample r: multiplicities from the stream (seed, r), then the best of the full-data optimum
 * and boot_starts perturbed starts. out[0..7] reported parameters, NaN when nothing finite. */
static void chin_resample(chin_solver *cs, chin_problem *p, const double *th_full,
                          const sl_fit_options *opt, size_t r, double *w, double *out) {
  sl_rng rng;
  sl_rng_stream(&rng, opt->seed, (uint64_t)r, "fit.chinchilla.bootstrap");
  memset(w, 0, p->n * sizeof *w);
  for (size_t i = 0; i < p->n; i++)
    w[sl_rng_below(&rng, (uint64_t)p->n)] += 1.0;
  p->w = w;
  double best_f = INFINITY, best_th[N_TH] = {0}, th[N_TH], start[N_TH], f;
  for (size_t k = 0; k <= opt->boot_starts; k++) {
    memcpy(start, th_full, sizeof start);
    if (k > 0) { /* perturbed starts: log-scale terms shifted, exponents scaled */
      start[TH_A] += 0.5 * sl_rng_normal(&rng);
      start[TH_B] += 0.5 * sl_rng_normal(&rng);
      start[TH_E] += 0.2 * sl_rng_normal(&rng);
      start[TH_AL] *= exp(0.2 * sl_rng_normal(&rng));
      start[TH_BE] *= exp(0.2 * sl_rng_normal(&rng));
    }
    chin_minimise(cs, start, th, &f);
    if (f < best_f) {
      best_f = f;
      memcpy(best_th, th, sizeof th);
    }
  }
  p->w = NULL;
  if (isfinite(best_f))
    chin_report(best_th, p, out);
  else
    for (size_t j = 0; j < SL_FIT_MAX_PARAMS; j++)
      out[j] = NAN;
}

/* The bootstrap: resamples in contiguous blocks per rank, gathered in resample order. */
static int chin_bootstrap(chin_solver *cs, chin_problem *p, const double *th_full,
                          const sl_fit_options *opt, MPI_Comm comm, int rank, int size,
                          sl_fit_result *res) {
  const size_t R = opt->bootstrap, np = SL_FIT_MAX_PARAMS;
  int err = SL_OK, worst = SL_OK;
  double *all = NULL, *w = NULL;
  int *counts = NULL, *displs = NULL;
  all = sl_calloc(R * np, sizeof *all);
  w = sl_calloc(p->n, sizeof *w);
  counts = sl_calloc((size_t)size, sizeof *counts);
  displs = sl_calloc((size_t)size, sizeof *displs);
  if (!all || !w || !counts || !displs)
    err = SL_ERROR(SL_ERR_NOMEM, "out of memory for %zu bootstrap replicates", R);
  SL_CALL_GOTO(chin_agree(err, comm, &worst), done);
  if (err != SL_OK) goto done;
  SL_CHECK_GOTO(worst == SL_OK, worst, done, "bootstrap allocation failed on another rank");
  SL_CHECK_GOTO(R * np <= (size_t)0x7fffffff, SL_ERR_ARG, done, "too many bootstrap resamples");
  for (int q = 0; q < size; q++) {
    size_t r0 = R * (size_t)q / (size_t)size, r1 = R * (size_t)(q + 1) / (size_t)size;
    counts[q] = (int)((r1 - r0) * np);
    displs[q] = (int)(r0 * np);
  }
  size_t r0 = R * (size_t)rank / (size_t)size, r1 = R * (size_t)(rank + 1) / (size_t)size;
  sl_timer_start("fit.chinchilla.bootstrap");
  for (size_t r = r0; r < r1; r++)
    chin_resample(cs, p, th_full, opt, r, w, all + r * np);
  sl_timer_stop("fit.chinchilla.bootstrap");
  {
    int mpi_e =
        MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, all, counts, displs, MPI_DOUBLE, comm);
    if (mpi_e != MPI_SUCCESS) {
      err = sl_error_mpi(mpi_e, "MPI_Allgatherv(bootstrap)", __func__, __FILE__, __LINE__);
      goto done;
    }
  }
  /* Keep the replicates whose every parameter is finite, in resample order. */
  size_t kept = 0;
  for (size_t r = 0; r < R; r++) {
    int ok = 1;
    for (size_t j = 0; j < np; j++)
      ok = ok && isfinite(all[r * np + j]);
    if (ok) {
      if (kept != r) memmove(all + kept * np, all + r * np, np * sizeof *all);
      kept++;
    }
  }
  res->n_boot = kept;
  res->n_boot_failed = R - kept;
  res->boot = all;
  all = NULL;
  for (size_t j = 0; j < np; j++)
    SL_CALL_GOTO(sl_fit_boot_summary(res->boot, kept, np, j, &res->se[j], &res->lo[j], &res->hi[j]),
                 done);
done:
  free(all);
  free(w);
  free(counts);
  free(displs);
  return err;
}

static int chin_fit(const sl_fit_data *data, const sl_fit_options *opt, sl_fit_result *res) {
  sl_fit_result_init(res, &sl_fit_chinchilla_ops);
  SL_CHECK(opt != NULL, SL_ERR_ARG, "Chinchilla fit: NULL options");
  SL_CHECK(opt->huber_delta > 0 && opt->max_iter > 0 && opt->screen_iter > 0 &&
               opt->polish_top > 0 && opt->grad_tol >= 0 && opt->f_rel_tol >= 0,
           SL_ERR_ARG,
           "Chinchilla fit: huber_delta, max_iter, screen_iter and polish_top must be positive "
           "and the tolerances >= 0 (got %g, %zu, %zu, %zu, %g, %g)",
           opt->huber_delta, opt->max_iter, opt->screen_iter, opt->polish_top, opt->grad_tol,
           opt->f_rel_tol);
  MPI_Comm comm = opt->comm;
  int rank, size;
  SL_CALL_MPI(MPI_Comm_rank(comm, &rank));
  SL_CALL_MPI(MPI_Comm_size(comm, &size));

  int err = SL_OK;
  size_t *keep = NULL;
  double *logs = NULL;
  chin_solver cs = {0};
  gsl_error_handler_t *old_handler = gsl_set_error_handler_off();

  /* Every rank has the same data, so the selection and the checks agree without communication. */
  SL_CALL_GOTO(
      sl_fit_select(data, SL_FIT_USE_Z | SL_FIT_X_POS | SL_FIT_Z_POS | SL_FIT_Y_POS, res, &keep),
      done);
  const size_t n = res->n_used;
  SL_CHECK_GOTO(n > sl_fit_chinchilla_ops.n_free, SL_ERR_ARG, done,
                "Chinchilla fit needs more points than its %zu parameters: %zu usable of %zu",
                sl_fit_chinchilla_ops.n_free, n, data->n);
  /* Allocation can fail on one rank only: the ranks agree before the first collective. */
  chin_problem p = {0};
  logs = sl_calloc(3 * n, sizeof *logs);
  if (!logs) {
    err = SL_ERROR(SL_ERR_NOMEM, "out of memory for %zu points", n);
  } else {
    for (size_t i = 0; i < n; i++) {
      logs[i] = log(data->x[keep[i]]);
      logs[n + i] = log(data->z[keep[i]]);
      logs[2 * n + i] = log(data->y[keep[i]]);
    }
    /* ln N and ln D centred on their means: a_c = a - alpha mean(ln N) decouples a from alpha,
     * which conditions BFGS far better; the reported a, A are mapped back. */
    double mn = 0, md = 0;
    for (size_t i = 0; i < n; i++) {
      mn += logs[i];
      md += logs[n + i];
    }
    mn /= (double)n;
    md /= (double)n;
    for (size_t i = 0; i < n; i++) {
      logs[i] -= mn;
      logs[n + i] -= md;
    }
    p = (chin_problem){n, mn, md, logs, logs + n, logs + 2 * n, NULL, opt->huber_delta, NAN};
    if (opt->fixed_E > 0) p.fixed_e = log(opt->fixed_E);
    err = chin_solver_init(&cs, &p, opt);
  }
  int worst = SL_OK, err_local = err;
  SL_CALL_GOTO(chin_agree(err_local, comm, &worst), done);
  err = err_local;
  if (err != SL_OK) goto done;
  SL_CHECK_GOTO(worst == SL_OK, worst, done,
                "Chinchilla fit: minimiser allocation failed on another rank");

  double th[N_TH] = {0}, f = INFINITY;
  size_t best_index = 0;
  SL_CALL_GOTO(chin_multistart(&cs, &p, comm, rank, size, th, &f, &best_index), done);
  chin_report(th, &p, res->value);
  if (opt->fixed_E > 0) {
    res->fixed[SL_CH_E] = res->fixed[SL_CH_LE] = 1;
    sl_fit_note(res, "E held at %.10g (given, not fitted); ", opt->fixed_E);
  }
  res->objective = f;
  res->n_starts = SL_CHINCHILLA_N_STARTS;
  res->best_start = best_index;
  sl_fit_note(res,
              "fitted log L = LSE(a - alpha ln N, b - beta ln D, e), sum of Huber(delta=%g) "
              "residuals, BFGS2 (analytic gradient, ln N and ln D centred) from %d grid starts "
              "screened at %zu iterations, best %zu polished at up to %zu, best start %zu; ",
              opt->huber_delta, SL_CHINCHILLA_N_STARTS, opt->screen_iter, opt->polish_top,
              opt->max_iter, best_index);

  if (opt->bootstrap > 0) {
    SL_CALL_GOTO(chin_bootstrap(&cs, &p, th, opt, comm, rank, size, res), done);
    sl_fit_note(res,
                "bootstrap over points: %zu resamples (seed %llu, each from the full optimum "
                "+ %zu perturbed starts), %zu kept, %zu without a finite optimum; intervals are "
                "95%% percentile; ",
                opt->bootstrap, (unsigned long long)opt->seed, opt->boot_starts, res->n_boot,
                res->n_boot_failed);
  } else {
    sl_fit_note(res, "no bootstrap: no standard errors or intervals; ");
  }
done:
  gsl_set_error_handler(old_handler);
  chin_solver_free(&cs);
  free(keep);
  free(logs);
  return err;
}

static int chin_predict(const sl_fit_result *res, const double *x, const double *z, size_t n,
                        double *out) {
  SL_CHECK(x != NULL && z != NULL && out != NULL, SL_ERR_ARG,
           "Chinchilla predict needs N (x) and D (z)");
  const double *v = res->value;
  for (size_t i = 0; i < n; i++)
    out[i] =
        v[SL_CH_E] + v[SL_CH_A] / pow(x[i], v[SL_CH_ALPHA]) + v[SL_CH_B] / pow(z[i], v[SL_CH_BETA]);
  return SL_OK;
}

const sl_fit_ops sl_fit_chinchilla_ops = {
    .name = "chinchilla",
    .formula = "L(N,D) = E + A/N^alpha + B/D^beta",
    .n_params = 8,
    .n_free = 5,
    .param_names = g_names,
    .n_inputs = 2,
    .fit = chin_fit,
    .predict = chin_predict,
};
