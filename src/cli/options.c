/* Option parsing shared by the subcommands (see options.h). */
#include "options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/config.h"
#include "slingshot/error.h"
#include "slingshot/log.h"

int sl_opt_int(const char *opt, const char *value, int lo, int hi, int *out) {
  char *end = NULL;
  const long v = value ? strtol(value, &end, 10) : 0;
  SL_CHECK(value && *value && *end == '\0' && v >= lo && v <= hi, SL_ERR_ARG,
           "%s needs an integer from %d to %d, got '%s'", opt, lo, hi, value ? value : "(nothing)");
  *out = (int)v;
  return SL_OK;
}

int sl_opt_log_level(const char *cmd, const char *value) {
  const int level = value ? sl_log_level_parse(value) : -1;
  SL_CHECK(level >= 0, SL_ERR_ARG, "%s: --log-level %s: choose error, warn, info or debug", cmd,
           value ? value : "needs a value");
  sl_log_set_level((sl_log_level)level);
  return SL_OK;
}

void sl_opt_split(const char *arg, char *name, size_t size, const char **value) {
  const char *eq = strchr(arg, '=');
  *value = NULL;
  if (strncmp(arg, "--", 2) == 0 && eq && (size_t)(eq - arg) < size) {
    memcpy(name, arg, (size_t)(eq - arg));
    name[eq - arg] = '\0';
    *value = eq + 1;
  } else {
    snprintf(name, size, "%s", arg);
  }
}

int sl_opt_known(const char *name, const char *const *options, size_t n) {
  for (size_t k = 0; k < n; k++)
    if (strcmp(name, options[k]) == 0) return 1;
  return 0;
}

const char *sl_opt_nearest(const char *name, const char *const *options, size_t n) {
  const char *near = options[0];
  int best = -1, is_long = strncmp(name, "--", 2) == 0;
  for (size_t k = 0; k < n; k++) {
    if (is_long != (strncmp(options[k], "--", 2) == 0)) continue;
    int d = sl_edit_distance(name, options[k]);
    if (best < 0 || d < best) best = d, near = options[k];
  }
  return near;
}
