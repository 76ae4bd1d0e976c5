/* Emergence curves (docs/SCIENCE.md section 5): a sigmoid in log scale,
 *   y = lo + (hi - lo) / (1 + exp(-(ln x - m) / w)),
 * fitted by nonlinear least squares (GSL multifit_nlinear, trust region with Levenberg-Marquardt
 * steps, analytic Jacobian). m and w are always fitted; lo and hi are held at the options' values
 * (0 and 1 by default: competence is a fraction) unless the options ask to fit them. Standard
 * errors from the covariance scaled by chi^2 / dof, 95% t intervals. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_multifit_nlinear.h>
#include <gsl/gsl_vector.h>

#include "fit_impl.h"
#include "slingshot/error.h"

static const char *const g_names[] = {"m", "w", "lo", "hi"};

typedef struct sg_problem {
  size_t n;
  const double *u, *y; /* u = ln x */
  int fit_lo, fit_hi;
  double lo, hi; /* the fixed values */
} sg_problem;

/* Free vector p = (m, w, [lo], [hi]) to the four parameters. */
static void sg_unpack(const gsl_vector *p, const sg_problem *pr, double *m, double *w, double *lo,
                      double *hi) {
  size_t k = 2;
  *m = gsl_vector_get(p, 0);
  *w = gsl_vector_get(p, 1);
  *lo = pr->fit_lo ? gsl_vector_get(p, k++) : pr->lo;
  *hi = pr->fit_hi ? gsl_vector_get(p, k) : pr->hi;
}

static int sg_f(const gsl_vector *p, void *params, gsl_vector *f) {
  const sg_problem *pr = params;
  double m, w, lo, hi;
  sg_unpack(p, pr, &m, &w, &lo, &hi);
  for (size_t i = 0; i < pr->n; i++) {
    double s = 1.0 / (1.0 + exp(-(pr->u[i] - m) / w));
    gsl_vector_set(f, i, lo + (hi - lo) * s - pr->y[i]);
  }
  return GSL_SUCCESS;
}

static int sg_df(const gsl_vector *p, void *params, gsl_matrix *J) {
  const sg_problem *pr = params;
  double m, w, lo, hi;
  sg_unpack(p, pr, &m, &w, &lo, &hi);
  for (size_t i = 0; i < pr->n; i++) {
    double t = (pr->u[i] - m) / w;
    double s = 1.0 / (1.0 + exp(-t));
    double ds = (hi - lo) * s * (1.0 - s); /* d y / d t */
    size_t k = 2;
    gsl_matrix_set(J, i, 0, -ds / w);
    gsl_matrix_set(J, i, 1, -ds * t / w);
    if (pr->fit_lo) gsl_matrix_set(J, i, k++, 1.0 - s);
    if (pr->fit_hi) gsl_matrix_set(J, i, k, s);
  }
  return GSL_SUCCESS;
}

/* Start: m where the data cross the middle of [lo, hi] (in increasing u), w a tenth of the span. */
static void sg_start(const sg_problem *pr, double lo, double hi, double *m0, double *w0) {
  double umin = INFINITY, umax = -INFINITY, mid = 0.5 * (lo + hi), usum = 0;
  for (size_t i = 0; i < pr->n; i++) {
    umin = fmin(umin, pr->u[i]);
    umax = fmax(umax, pr->u[i]);
    usum += pr->u[i];
  }
  *m0 = usum / (double)pr->n;
  *w0 = umax > umin ? (umax - umin) / 10.0 : 1.0;
  /* The crossing nearest the middle of the range among pairs (i, j) adjacent in u. */
  double best_gap = INFINITY;
  for (size_t i = 0; i < pr->n; i++) {
    size_t j = pr->n; /* the next point up in u */
    for (size_t q = 0; q < pr->n; q++)
      if (pr->u[q] > pr->u[i] && (j == pr->n || pr->u[q] < pr->u[j])) j = q;
    if (j == pr->n) continue;
    double a = pr->y[i] - mid, b = pr->y[j] - mid;
    if (a * b > 0 || a == b) continue;
    double uc = pr->u[i] + (pr->u[j] - pr->u[i]) * a / (a - b);
    double gap = fabs(uc - 0.5 * (umin + umax));
    if (gap < best_gap) {
      best_gap = gap;
      *m0 = uc;
    }
  }
  if (hi < lo) *w0 = -*w0; /* a decreasing curve: data going down is a negative width */
}

static int sg_fit(const sl_fit_data *data, const sl_fit_options *opt, sl_fit_result *res) {
  sl_fit_result_init(res, &sl_fit_sigmoid_log_ops);
  SL_CHECK(opt != NULL, SL_ERR_ARG, "sigmoid fit: NULL options");
  int err = SL_OK;
  size_t *keep = NULL;
  double *buf = NULL;
  gsl_vector *p0 = NULL;
  gsl_matrix *cov = NULL;
  gsl_multifit_nlinear_workspace *ws = NULL;
  gsl_error_handler_t *old_handler = gsl_set_error_handler_off();

  SL_CALL_GOTO(sl_fit_select(data, SL_FIT_X_POS, res, &keep), done);
  const size_t n = res->n_used;
  const size_t nf = 2 + (opt->sigmoid_fit_lo ? 1 : 0) + (opt->sigmoid_fit_hi ? 1 : 0);
  SL_CHECK_GOTO(n >= nf, SL_ERR_ARG, done,
                "sigmoid fit of %zu parameters needs at least %zu usable points (x > 0), got %zu "
                "of %zu",
                nf, nf, n, data->n);
  buf = sl_calloc(2 * n, sizeof *buf);
  SL_CHECK_GOTO(buf != NULL, SL_ERR_NOMEM, done, "out of memory for %zu points", n);
  for (size_t i = 0; i < n; i++) {
    buf[i] = log(data->x[keep[i]]);
    buf[n + i] = data->y[keep[i]];
  }
  sg_problem pr = {
      n, buf, buf + n, opt->sigmoid_fit_lo, opt->sigmoid_fit_hi, opt->sigmoid_lo, opt->sigmoid_hi};
  double lo0 = opt->sigmoid_lo, hi0 = opt->sigmoid_hi;
  double m0, w0;
  sg_start(&pr, lo0, hi0, &m0, &w0);

  gsl_multifit_nlinear_fdf fdf;
  memset(&fdf, 0, sizeof fdf);
  fdf.f = sg_f;
  fdf.df = sg_df;
  fdf.fvv = NULL;
  fdf.n = n;
  fdf.p = nf;
  fdf.params = &pr;
  gsl_multifit_nlinear_parameters fp = gsl_multifit_nlinear_default_parameters();
  ws = gsl_multifit_nlinear_alloc(gsl_multifit_nlinear_trust, &fp, n, nf);
  p0 = gsl_vector_alloc(nf);
  cov = gsl_matrix_alloc(nf, nf);
  SL_CHECK_GOTO(ws && p0 && cov, SL_ERR_NOMEM, done, "out of memory for the sigmoid fit");
  gsl_vector_set(p0, 0, m0);
  gsl_vector_set(p0, 1, w0);
  {
    size_t k = 2;
    if (pr.fit_lo) gsl_vector_set(p0, k++, lo0);
    if (pr.fit_hi) gsl_vector_set(p0, k, hi0);
  }
  int st = gsl_multifit_nlinear_init(p0, &fdf, ws);
  SL_CHECK_GOTO(st == GSL_SUCCESS, SL_ERR_NUMERIC, done, "sigmoid fit: init failed (%s)",
                gsl_strerror(st));
  int info = 0;
  st = gsl_multifit_nlinear_driver(500, 1e-12, 1e-12, 1e-12, NULL, NULL, &info, ws);
  SL_CHECK_GOTO(st == GSL_SUCCESS, SL_ERR_NUMERIC, done,
                "sigmoid fit did not converge (%s) from m = %g, w = %g: does the data rise or "
                "fall across the range?",
                gsl_strerror(st), m0, w0);

  const gsl_vector *p = gsl_multifit_nlinear_position(ws);
  const gsl_vector *fres = gsl_multifit_nlinear_residual(ws);
  double chisq = 0;
  for (size_t i = 0; i < n; i++)
    chisq += gsl_vector_get(fres, i) * gsl_vector_get(fres, i);
  double m, w, lo, hi;
  sg_unpack(p, &pr, &m, &w, &lo, &hi);
  SL_CHECK_GOTO(isfinite(m) && isfinite(w) && isfinite(lo) && isfinite(hi), SL_ERR_NUMERIC, done,
                "sigmoid fit produced non-finite parameters");
  res->value[SL_SG_M] = m;
  res->value[SL_SG_W] = w;
  res->value[SL_SG_LO] = lo;
  res->value[SL_SG_HI] = hi;
  res->objective = chisq;
  res->fixed[SL_SG_LO] = !pr.fit_lo;
  res->fixed[SL_SG_HI] = !pr.fit_hi;
  if (!pr.fit_lo) res->se[SL_SG_LO] = 0, res->lo[SL_SG_LO] = res->hi[SL_SG_LO] = lo;
  if (!pr.fit_hi) res->se[SL_SG_HI] = 0, res->lo[SL_SG_HI] = res->hi[SL_SG_HI] = hi;

  sl_fit_note(res,
              "nonlinear least squares (GSL multifit_nlinear, trust region/LM), %zu iterations; ",
              gsl_multifit_nlinear_niter(ws));
  sl_fit_note(res, "lo %s %g, hi %s %g; midpoint x = exp(m) = %g; ",
              pr.fit_lo ? "fitted, start" : "fixed at", lo0,
              pr.fit_hi ? "fitted, start" : "fixed at", hi0, exp(m));
  if (n > nf) {
    const gsl_matrix *J = gsl_multifit_nlinear_jac(ws);
    st = gsl_multifit_nlinear_covar(J, 0.0, cov);
    SL_CHECK_GOTO(st == GSL_SUCCESS, SL_ERR_NUMERIC, done, "sigmoid fit: covariance failed (%s)",
                  gsl_strerror(st));
    double dof = (double)(n - nf), s2 = chisq / dof, t = sl_fit_t975(dof);
    size_t k = 0;
    for (size_t j = 0; j < 4; j++) {
      if (res->fixed[j]) continue;
      double se = sqrt(s2 * gsl_matrix_get(cov, k, k));
      k++;
      res->se[j] = se;
      res->lo[j] = res->value[j] - t * se;
      res->hi[j] = res->value[j] + t * se;
    }
    sl_fit_note(res, "errors from covariance x chi^2/dof, 95%% t intervals (%zu dof); ", n - nf);
  } else {
    sl_fit_note(res, "as many points as parameters: no standard errors; ");
  }
done:
  gsl_set_error_handler(old_handler);
  if (ws) gsl_multifit_nlinear_free(ws);
  if (p0) gsl_vector_free(p0);
  if (cov) gsl_matrix_free(cov);
  free(keep);
  free(buf);
  return err;
}

static int sg_predict(const sl_fit_result *res, const double *x, const double *z, size_t n,
                      double *out) {
  SL_CHECK(x != NULL && out != NULL, SL_ERR_ARG, "sigmoid predict needs x");
  const double *v = res->value;
  for (size_t i = 0; i < n; i++)
    out[i] = v[SL_SG_LO] +
             (v[SL_SG_HI] - v[SL_SG_LO]) / (1.0 + exp(-(log(x[i]) - v[SL_SG_M]) / v[SL_SG_W]));
  return SL_OK;
}

const sl_fit_ops sl_fit_sigmoid_log_ops = {
    .name = "sigmoid_log",
    .formula = "y = lo + (hi - lo) / (1 + exp(-(ln x - m) / w))",
    .n_params = 4,
    .n_free = 2,
    .param_names = g_names,
    .n_inputs = 1,
    .fit = sg_fit,
    .predict = sg_predict,
};
