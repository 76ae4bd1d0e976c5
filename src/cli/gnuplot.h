/* Private to src/cli: running gnuplot on a script in a report folder, and small HDF5 writing
 * helpers for the skills and theory outputs. Not collective. */
#ifndef SLINGSHOT_CLI_GNUPLOT_H
#define SLINGSHOT_CLI_GNUPLOT_H

#include <hdf5.h>
#include <stddef.h>

/* 1 if gnuplot is on PATH. */
int sl_gnuplot_found(void);
/* Runs `gnuplot NAME.gp` in dir (messages appended to dir/gnuplot.log); 0 when it succeeded and
 * NAME.png exists, else the exit status (127: could not start, -1: no PNG). */
int sl_gnuplot_run(const char *dir, const char *name);

/* A float64 dataset of rank dims (1..4) at path under loc (groups on the way must exist), with
 * `units` and `description` attributes. */
int sl_h5_write_f64(hid_t loc, const char *path, int rank, const size_t *dims, const double *v,
                    const char *units, const char *description);
int sl_h5_attr_str(hid_t obj, const char *name, const char *value);
int sl_h5_attr_f64(hid_t obj, const char *name, double v);

#endif
