/* Private to src/cli: running gnuplot on a script in a report folder. Not collective. (The HDF5
 * writing helpers the report code uses with it are in slingshot/h5util.h.) */
#ifndef SLINGSHOT_CLI_GNUPLOT_H
#define SLINGSHOT_CLI_GNUPLOT_H

#include "slingshot/h5util.h"

/* 1 if gnuplot is on PATH. */
int sl_gnuplot_found(void);
/* Runs `gnuplot NAME.gp` in dir (messages appended to dir/gnuplot.log); 0 when it succeeded and
 * NAME.png exists, else the exit status (127: could not start, -1: no PNG). */
int sl_gnuplot_run(const char *dir, const char *name);

#endif
