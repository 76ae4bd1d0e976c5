/* Private to src/cli: the small pieces every subcommand's option parsing shares. */
#ifndef SLINGSHOT_CLI_OPTIONS_H
#define SLINGSHOT_CLI_OPTIONS_H

#include <stddef.h>

/* Splits "--name=value" into name and *value; any other argument is copied whole into name with
 * *value = NULL. */
void sl_opt_split(const char *arg, char *name, size_t size, const char **value);
/* 1 if name is one of the n options. */
int sl_opt_known(const char *name, const char *const *options, size_t n);
/* The known option nearest to name (by edit distance, a long option for a long one), for "did
 * you mean" in the error. */
const char *sl_opt_nearest(const char *name, const char *const *options, size_t n);

/* *out = the integer value of option opt, which must lie in [lo, hi]; an error naming the option
 * and its range when value is missing (NULL), not a whole integer, or out of range. */
int sl_opt_int(const char *opt, const char *value, int lo, int hi, int *out);

/* --log-level VALUE of command cmd: sets the level, or an error naming the choices when value is
 * missing (NULL) or not one of error, warn, info, debug. */
int sl_opt_log_level(const char *cmd, const char *value);

#endif
