/* Fitting the laws (docs/SCIENCE.md section 5): fit families behind one ops table, the
 * compute-optimal frontier, power-law helpers and the Kausik reconstruction (section 2).
 *
 * Families, chosen by name:
 *   "chinchilla"   L(N, D) = E + A / N^alpha + B / D^beta, Huber on log L, BFGS2 from every
 *                  start of the grid (each run screen_iter iterations, the polish_top best then
 *                  continued to convergence), bootstrap intervals (percentile). COLLECTIVE over
 *                  opt->comm: the starts and the bootstrap resamples are shared among the ranks
 *                  and the result is bitwise the same at any rank count.
 *   "powerlaw"     y = c x^k, least squares in log-log, t intervals. Not collective.
 *   "sigmoid_log"  y = lo + (hi - lo) / (1 + exp(-(ln x - m) / w)), nonlinear least squares, t
 *                  intervals; lo and hi are fixed (0 and 1 by default) unless asked. Not
 *                  collective.
 *
 * Every result records what it used: points given, used and dropped (with the reason in notes),
 * the method, the number of starts and resamples. Points with a non-finite value, or a value that
 * must be positive for a logarithm and is not, are dropped and listed, never silently used. */
#ifndef SLINGSHOT_FIT_H
#define SLINGSHOT_FIT_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SL_FIT_MAX_PARAMS 8
#define SL_FIT_NOTES_LEN 2048

/* The points of a fit. Chinchilla: x = N, z = D, y = loss. One-input families: x, y (z unused). */
typedef struct sl_fit_data {
  size_t n;
  const double *x;
  const double *z;
  const double *y;
} sl_fit_data;

typedef struct sl_fit_options {
  MPI_Comm comm;      /* chinchilla: the ranks sharing the work (MPI_COMM_SELF: serial) */
  uint64_t seed;      /* bootstrap resample r uses the stream (seed, r) only */
  size_t bootstrap;   /* chinchilla: resamples R (0: no intervals) */
  size_t boot_starts; /* chinchilla: perturbed starts per resample, besides the full optimum */
  double huber_delta; /* chinchilla: 1e-3 */
  size_t max_iter;    /* chinchilla: BFGS iterations per start (polish and bootstrap) */
  size_t screen_iter; /* chinchilla: iterations of every grid start in the screening sweep */
  size_t polish_top;  /* chinchilla: best screened starts polished up to max_iter */
  double grad_tol;    /* chinchilla: stop when |gradient| < grad_tol */
  double f_rel_tol;   /* chinchilla: or when f fell by < f_rel_tol f over 10 iterations */
  double sigmoid_lo;  /* sigmoid_log: lower asymptote (start value if fitted) */
  double sigmoid_hi;  /* sigmoid_log: upper asymptote (start value if fitted) */
  int sigmoid_fit_lo; /* sigmoid_log: 1 fits lo, 0 holds it at sigmoid_lo */
  int sigmoid_fit_hi; /* sigmoid_log: 1 fits hi, 0 holds it at sigmoid_hi */
  double fixed_E;     /* chinchilla: > 0 holds E at this value (a known entropy rate), 0 fits it */
} sl_fit_options;

/* Defaults: MPI_COMM_SELF, seed 1, bootstrap 1000, boot_starts 4, huber_delta 1e-3, max_iter
 * 1000, screen_iter 50, polish_top 16, grad_tol 1e-10, f_rel_tol 1e-10, sigmoid lo = 0 and hi = 1
 * held fixed. Not collective. */
void sl_fit_options_default(sl_fit_options *opt);

/* A fit's parameters with standard errors and 95% intervals, and what it used. */
typedef struct sl_fit_result {
  const char *family;
  size_t n_params;                 /* reported parameters */
  const char *const *names;        /* their names (static strings) */
  double value[SL_FIT_MAX_PARAMS]; /* point estimates (full data) */
  double se[SL_FIT_MAX_PARAMS];    /* standard errors (NaN when not estimable) */
  double lo[SL_FIT_MAX_PARAMS];    /* 95% interval */
  double hi[SL_FIT_MAX_PARAMS];
  int fixed[SL_FIT_MAX_PARAMS]; /* 1: held fixed, not fitted (se 0) */
  double objective;             /* the minimised objective at the estimate */
  size_t n_points;              /* given */
  size_t n_used;                /* fitted */
  size_t n_dropped;             /* n_points - n_used */
  size_t *dropped;              /* [n_dropped] indices of the dropped points (owned) */
  size_t n_starts;              /* starts tried (chinchilla) */
  size_t best_start;            /* index of the winning start in the grid */
  size_t n_boot;                /* bootstrap replicates kept */
  size_t n_boot_failed;         /* bootstrap replicates without a finite optimum */
  double *boot;                 /* [n_boot x n_params] replicates, in resample order (owned) */
  char notes[SL_FIT_NOTES_LEN]; /* method, drops and their reasons, caveats */
} sl_fit_result;

/* A fit family. fit() fills res (which it initialises; free it with sl_fit_result_free), predict()
 * evaluates the fitted law at n points (z used by two-input families only). */
typedef struct sl_fit_ops {
  const char *name;
  const char *formula;
  size_t n_params; /* reported parameters */
  size_t n_free;   /* fitted parameters: a fit needs more points than this */
  const char *const *param_names;
  size_t n_inputs; /* 1 (x) or 2 (x, z) */
  int (*fit)(const sl_fit_data *data, const sl_fit_options *opt, sl_fit_result *res);
  int (*predict)(const sl_fit_result *res, const double *x, const double *z, size_t n, double *out);
} sl_fit_ops;

extern const sl_fit_ops sl_fit_chinchilla_ops;
extern const sl_fit_ops sl_fit_powerlaw_ops;
extern const sl_fit_ops sl_fit_sigmoid_log_ops;

/* The family called name; an error listing the known names otherwise. Not collective. */
int sl_fit_family(const char *name, const sl_fit_ops **ops);
/* Runs the family called name (collective over opt->comm for "chinchilla"). */
int sl_fit_run(const char *name, const sl_fit_data *data, const sl_fit_options *opt,
               sl_fit_result *res);
/* The index of the parameter called name in res; an error naming the parameters otherwise. */
int sl_fit_param(const sl_fit_result *res, const char *name, size_t *index);
void sl_fit_result_free(sl_fit_result *res);
/* A readable table of parameters, standard errors and intervals, then what the fit used. */
int sl_fit_result_print(const sl_fit_result *res, FILE *f);

/* Chinchilla reported parameters, in this order: E, A, B, alpha, beta, a = ln A, b = ln B,
 * e = ln E. The grid of starts (section 5): alpha, beta in {0, 0.5, .., 2}, e in {-1, -0.5, .., 1},
 * a, b in {0, 5, .., 25}: 4500 starts. */
enum { SL_CH_E, SL_CH_A, SL_CH_B, SL_CH_ALPHA, SL_CH_BETA, SL_CH_LA, SL_CH_LB, SL_CH_LE };
#define SL_CHINCHILLA_N_STARTS 4500

/* A value with its bootstrap standard error and 95% percentile interval. */
typedef struct sl_estimate {
  double value, se, lo, hi;
} sl_estimate;

/* Compute-optimal frontier under C = 6 N D (section 5):
 * G = (alpha A / (beta B))^(1 / (alpha + beta)), a_N = beta / (alpha + beta),
 * a_D = alpha / (alpha + beta), N_opt = G (C/6)^a_N, D_opt = G^-1 (C/6)^a_D. Not collective. */
typedef struct sl_frontier {
  double G, a_N, a_D;
} sl_frontier;

/* 1 when the frontier exists: A, B, alpha, beta all > 0 and finite (a degenerate fit can give
 * A = inf, or alpha <= 0), else 0. */
int sl_frontier_defined(double A, double B, double alpha, double beta);
int sl_frontier_from_params(double A, double B, double alpha, double beta, sl_frontier *f);
/* N_opt and D_opt at compute C (FLOPs, > 0). */
int sl_frontier_at(const sl_frontier *f, double C, double *n_opt, double *d_opt);

/* The frontier of a Chinchilla fit with intervals from its bootstrap replicates (se and interval
 * NaN when the fit has no replicates). Not collective. */
typedef struct sl_frontier_fit {
  sl_estimate G, a_N, a_D;
  size_t n_boot; /* replicates with a defined frontier */
} sl_frontier_fit;

int sl_frontier_from_fit(const sl_fit_result *chin, sl_frontier_fit *out);
/* N_opt, D_opt and tokens per parameter D_opt / N_opt at compute C, with intervals. */
int sl_frontier_fit_at(const sl_fit_result *chin, double C, sl_estimate *n_opt, sl_estimate *d_opt,
                       sl_estimate *tokens_per_param);

/* Power law y = c x^k (family "powerlaw"): parameters k, c, log_c. Not collective. */
enum { SL_PL_K, SL_PL_C, SL_PL_LOGC };
int sl_fit_powerlaw(const double *x, const double *y, size_t n, sl_fit_result *res);

/* U(D) = c D^gamma from unique-sequence counts U at prefix lengths D (section 2); gamma is the
 * parameter "k". Not collective. */
int sl_fit_unique_exponent(const double *d, const double *u, size_t n, sl_fit_result *res);

/* Efficient frontier (section 2): for each distinct D among the n cells, the smallest N whose loss
 * is within tol (absolute, loss units) of the best loss at that D; then N_eff = c D^gamma fitted
 * (gamma is the parameter "k" of res). d_out and n_out (capacity n each) receive the n_frontier
 * frontier points in increasing D; either may be NULL. Not collective. */
int sl_fit_efficient_frontier(const double *n_params, const double *d_tokens, const double *loss,
                              size_t n, double tol, double *d_out, double *n_out,
                              size_t *n_frontier, sl_fit_result *res);

/* Sigmoid in log scale (family "sigmoid_log"): parameters m, w, lo, hi; the midpoint in x is
 * exp(m). Not collective. */
enum { SL_SG_M, SL_SG_W, SL_SG_LO, SL_SG_HI };

/* Kausik (section 2), a RECONSTRUCTION, not the paper's derivation: from the Chinchilla data
 * exponent beta, gamma_hi = 1 - beta, gamma_lo = 1 - 2 beta, gamma_mid = their mean, and the
 * corpus factor that doubles the skills, 2^(1/gamma) (NaN where gamma <= 0). Not collective. */
typedef struct sl_kausik {
  double beta;
  double gamma_hi, gamma_lo, gamma_mid;
  double doubling_hi, doubling_lo, doubling_mid;
} sl_kausik;

int sl_kausik_reconstruct(double beta, sl_kausik *k);
/* Prints the reconstruction, labelled as such. */
int sl_kausik_print(const sl_kausik *k, FILE *f);

#endif
