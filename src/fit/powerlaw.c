/* Power law y = c x^k by least squares in log-log (docs/SCIENCE.md section 5), with standard errors
 * from the residual scatter and 95% intervals from Student's t with n - 2 degrees of freedom. */
#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_fit.h>

#include "fit_impl.h"
#include "slingshot/error.h"

static const char *const g_names[] = {"k", "c", "log_c"};

static int pl_fit(const sl_fit_data *data, const sl_fit_options *opt, sl_fit_result *res) {
  sl_fit_result_init(res, &sl_fit_powerlaw_ops);
  int err = SL_OK;
  size_t *keep = NULL;
  double *lx = NULL, *ly = NULL;
  gsl_error_handler_t *old_handler = gsl_set_error_handler_off();
  SL_CALL_GOTO(sl_fit_select(data, SL_FIT_X_POS | SL_FIT_Y_POS, res, &keep), done);
  const size_t n = res->n_used;
  SL_CHECK_GOTO(n >= 2, SL_ERR_ARG, done,
                "power-law fit needs at least 2 usable points (x > 0, y > 0), got %zu of %zu", n,
                data->n);
  lx = sl_calloc(n, sizeof *lx);
  ly = sl_calloc(n, sizeof *ly);
  SL_CHECK_GOTO(lx && ly, SL_ERR_NOMEM, done, "out of memory for %zu points", n);
  for (size_t i = 0; i < n; i++) {
    lx[i] = log(data->x[keep[i]]);
    ly[i] = log(data->y[keep[i]]);
  }
  double c0, c1, cov00, cov01, cov11, sumsq;
  int st = gsl_fit_linear(lx, 1, ly, 1, n, &c0, &c1, &cov00, &cov01, &cov11, &sumsq);
  SL_CHECK_GOTO(st == GSL_SUCCESS && isfinite(c0) && isfinite(c1), SL_ERR_NUMERIC, done,
                "power-law fit failed (%s): are all x equal?", gsl_strerror(st));
  res->value[SL_PL_K] = c1;
  res->value[SL_PL_LOGC] = c0;
  res->value[SL_PL_C] = exp(c0);
  res->objective = sumsq;
  if (n > 2) {
    double t = sl_fit_t975((double)(n - 2));
    double se_k = sqrt(cov11), se_l = sqrt(cov00);
    res->se[SL_PL_K] = se_k;
    res->lo[SL_PL_K] = c1 - t * se_k;
    res->hi[SL_PL_K] = c1 + t * se_k;
    res->se[SL_PL_LOGC] = se_l;
    res->lo[SL_PL_LOGC] = c0 - t * se_l;
    res->hi[SL_PL_LOGC] = c0 + t * se_l;
    /* c = exp(log c): delta-method error, interval mapped through exp */
    res->se[SL_PL_C] = exp(c0) * se_l;
    res->lo[SL_PL_C] = exp(c0 - t * se_l);
    res->hi[SL_PL_C] = exp(c0 + t * se_l);
    sl_fit_note(res,
                "least squares of ln y on ln x (gsl_fit_linear), errors from the residual "
                "scatter, 95%% t intervals (%zu dof); ",
                n - 2);
  } else {
    sl_fit_note(res, "2 points: the line is exact, no standard errors or intervals; ");
  }
  (void)opt;
done:
  gsl_set_error_handler(old_handler);
  free(keep);
  free(lx);
  free(ly);
  return err;
}

static int pl_predict(const sl_fit_result *res, const double *x, const double *z, size_t n,
                      double *out) {
  SL_CHECK(x != NULL && out != NULL, SL_ERR_ARG, "power-law predict needs x");
  for (size_t i = 0; i < n; i++)
    out[i] = res->value[SL_PL_C] * pow(x[i], res->value[SL_PL_K]);
  return SL_OK;
}

const sl_fit_ops sl_fit_powerlaw_ops = {
    .name = "powerlaw",
    .formula = "y = c x^k",
    .n_params = 3,
    .n_free = 2,
    .param_names = g_names,
    .n_inputs = 1,
    .fit = pl_fit,
    .predict = pl_predict,
};

int sl_fit_powerlaw(const double *x, const double *y, size_t n, sl_fit_result *res) {
  sl_fit_data d = {n, x, NULL, y};
  sl_fit_options opt;
  sl_fit_options_default(&opt);
  SL_CALL(pl_fit(&d, &opt, res));
  return SL_OK;
}
