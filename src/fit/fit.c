/* The fit family interface: lookup by name, results, selection of usable points, summaries. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "fit_impl.h"
#include "slingshot/error.h"

static const sl_fit_ops *const g_families[] = {&sl_fit_chinchilla_ops, &sl_fit_powerlaw_ops,
                                               &sl_fit_sigmoid_log_ops};
#define N_FAMILIES (sizeof g_families / sizeof g_families[0])

void sl_fit_options_default(sl_fit_options *opt) {
  memset(opt, 0, sizeof *opt);
  opt->comm = MPI_COMM_SELF;
  opt->seed = 1;
  opt->bootstrap = 1000;
  opt->boot_starts = 4;
  opt->huber_delta = 1e-3;
  opt->max_iter = 1000;
  opt->screen_iter = 50;
  opt->polish_top = 16;
  opt->grad_tol = 1e-10;
  opt->f_rel_tol = 1e-10;
  opt->sigmoid_lo = 0.0;
  opt->sigmoid_hi = 1.0;
  opt->sigmoid_fit_lo = 0;
  opt->sigmoid_fit_hi = 0;
}

int sl_fit_family(const char *name, const sl_fit_ops **ops) {
  SL_CHECK(name != NULL && ops != NULL, SL_ERR_ARG, "sl_fit_family: NULL argument");
  for (size_t i = 0; i < N_FAMILIES; i++)
    if (strcmp(g_families[i]->name, name) == 0) {
      *ops = g_families[i];
      return SL_OK;
    }
  char known[256] = "";
  for (size_t i = 0; i < N_FAMILIES; i++) {
    strncat(known, g_families[i]->name, sizeof known - strlen(known) - 1);
    if (i + 1 < N_FAMILIES) strncat(known, ", ", sizeof known - strlen(known) - 1);
  }
  return SL_ERROR(SL_ERR_ARG, "unknown fit family '%s' (known: %s)", name, known);
}

int sl_fit_run(const char *name, const sl_fit_data *data, const sl_fit_options *opt,
               sl_fit_result *res) {
  const sl_fit_ops *ops = NULL;
  SL_CALL(sl_fit_family(name, &ops));
  SL_CALL(ops->fit(data, opt, res));
  return SL_OK;
}

int sl_fit_param(const sl_fit_result *res, const char *name, size_t *index) {
  for (size_t i = 0; i < res->n_params; i++)
    if (strcmp(res->names[i], name) == 0) {
      *index = i;
      return SL_OK;
    }
  char known[256] = "";
  for (size_t i = 0; i < res->n_params; i++) {
    strncat(known, res->names[i], sizeof known - strlen(known) - 1);
    if (i + 1 < res->n_params) strncat(known, ", ", sizeof known - strlen(known) - 1);
  }
  return SL_ERROR(SL_ERR_ARG, "fit '%s' has no parameter '%s' (parameters: %s)",
                  res->family ? res->family : "?", name, known);
}

void sl_fit_result_free(sl_fit_result *res) {
  if (!res) return;
  free(res->dropped);
  free(res->boot);
  res->dropped = NULL;
  res->boot = NULL;
  res->n_dropped = 0;
  res->n_boot = 0;
}

void sl_fit_result_init(sl_fit_result *res, const sl_fit_ops *ops) {
  memset(res, 0, sizeof *res);
  res->family = ops->name;
  res->n_params = ops->n_params;
  res->names = ops->param_names;
  for (size_t i = 0; i < SL_FIT_MAX_PARAMS; i++)
    res->value[i] = res->se[i] = res->lo[i] = res->hi[i] = NAN;
  res->objective = NAN;
}

void sl_fit_note(sl_fit_result *res, const char *fmt, ...) {
  size_t used = strlen(res->notes);
  if (used + 1 >= sizeof res->notes) return;
  va_list ap;
  va_start(ap, fmt);
  int w = vsnprintf(res->notes + used, sizeof res->notes - used, fmt, ap);
  va_end(ap);
  if (w >= 0 && (size_t)w >= sizeof res->notes - used)
    memcpy(res->notes + sizeof res->notes - 4, "...", 4);
}

int sl_fit_select(const sl_fit_data *data, unsigned flags, sl_fit_result *res, size_t **keep) {
  SL_CHECK(data != NULL && data->x != NULL && data->y != NULL, SL_ERR_ARG,
           "fit data needs x and y arrays");
  SL_CHECK(!(flags & SL_FIT_USE_Z) || data->z != NULL, SL_ERR_ARG,
           "fit family '%s' needs a second input (z = D)", res->family);
  size_t n = data->n;
  size_t *k = NULL, *dropped = NULL;
  SL_ALLOC(k, n > 0 ? n : 1);
  dropped = sl_calloc(n > 0 ? n : 1, sizeof *dropped);
  if (!dropped) {
    free(k);
    return SL_ERROR(SL_ERR_NOMEM, "out of memory for %zu dropped indices", n);
  }
  size_t n_keep = 0, n_drop = 0, shown = 0;
  for (size_t i = 0; i < n; i++) {
    const char *why = NULL;
    double x = data->x[i], y = data->y[i], z = (flags & SL_FIT_USE_Z) ? data->z[i] : 1.0;
    if (!isfinite(x))
      why = "x not finite";
    else if ((flags & SL_FIT_X_POS) && x <= 0)
      why = "x <= 0";
    else if (!isfinite(z))
      why = "z not finite";
    else if ((flags & SL_FIT_Z_POS) && z <= 0)
      why = "z <= 0";
    else if (!isfinite(y))
      why = "y not finite";
    else if ((flags & SL_FIT_Y_POS) && y <= 0)
      why = "y <= 0";
    if (why) {
      dropped[n_drop++] = i;
      if (shown++ < 8) sl_fit_note(res, "dropped point %zu (%s); ", i, why);
    } else {
      k[n_keep++] = i;
    }
  }
  if (shown > 8) sl_fit_note(res, "... %zu points dropped in all; ", n_drop);
  free(res->dropped);
  res->n_points = n;
  res->n_used = n_keep;
  res->n_dropped = n_drop;
  res->dropped = dropped;
  *keep = k;
  return SL_OK;
}

int sl_fit_boot_summary(const double *rep, size_t rows, size_t stride, size_t j, double *se,
                        double *lo, double *hi) {
  *se = *lo = *hi = NAN;
  double *col = NULL;
  SL_ALLOC(col, rows > 0 ? rows : 1);
  size_t m = 0;
  for (size_t r = 0; r < rows; r++) {
    double v = rep[r * stride + j];
    if (isfinite(v)) col[m++] = v;
  }
  if (m >= 2) {
    *se = gsl_stats_sd(col, 1, m);
    gsl_sort(col, 1, m);
    *lo = gsl_stats_quantile_from_sorted_data(col, 1, m, 0.025);
    *hi = gsl_stats_quantile_from_sorted_data(col, 1, m, 0.975);
  }
  free(col);
  return SL_OK;
}

double sl_fit_t975(double dof) {
  if (!(dof >= 1)) return NAN;
  return gsl_cdf_tdist_Pinv(0.975, dof);
}

int sl_fit_result_print(const sl_fit_result *res, FILE *f) {
  fprintf(f, "%-10s %14s %14s %14s %14s\n", "parameter", "value", "std.err", "95% low", "95% high");
  for (size_t i = 0; i < res->n_params; i++) {
    if (res->fixed[i]) {
      fprintf(f, "%-10s %14.6g %14s %14s %14s\n", res->names[i], res->value[i], "(fixed)", "", "");
      continue;
    }
    fprintf(f, "%-10s %14.6g %14.4g %14.6g %14.6g\n", res->names[i], res->value[i], res->se[i],
            res->lo[i], res->hi[i]);
  }
  fprintf(f, "points: %zu given, %zu used, %zu dropped\n", res->n_points, res->n_used,
          res->n_dropped);
  if (res->notes[0]) fprintf(f, "notes: %s\n", res->notes);
  return SL_OK;
}
