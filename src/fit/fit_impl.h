/* Helpers shared by the fit families (src/fit only; not a public header). */
#ifndef SLINGSHOT_FIT_IMPL_H
#define SLINGSHOT_FIT_IMPL_H

#include <stddef.h>

#include "slingshot/fit.h"

/* Clears res and sets the family, parameter count and names from ops. */
void sl_fit_result_init(sl_fit_result *res, const sl_fit_ops *ops);
/* Appends formatted text to res->notes (truncated at the buffer's end, with "..."). */
void sl_fit_note(sl_fit_result *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Which inputs must be finite and which must be positive (for a logarithm). */
enum { SL_FIT_X_POS = 1, SL_FIT_Z_POS = 2, SL_FIT_Y_POS = 4, SL_FIT_USE_Z = 8 };
/* Drops the points with a non-finite input, or a non-positive one where flags ask for positive;
 * records them in res (n_points, n_used, n_dropped, dropped, notes with the reasons) and returns
 * the kept indices in *keep (owned by the caller). */
int sl_fit_select(const sl_fit_data *data, unsigned flags, sl_fit_result *res, size_t **keep);

/* Standard deviation (n - 1) and 95% percentile interval of column j of the rows x stride
 * replicates rep; NaN when fewer than 2 rows. Non-finite entries are skipped. */
int sl_fit_boot_summary(const double *rep, size_t rows, size_t stride, size_t j, double *se,
                        double *lo, double *hi);

/* Two-sided 95% quantile of Student's t with dof degrees of freedom. */
double sl_fit_t975(double dof);

#endif
