#include "slingshot/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int g_rank = 0, g_size = 1;
static sl_log_level g_level = SL_LOG_INFO;

void sl_log_init(int rank, int size, sl_log_level level) {
  g_rank = rank;
  g_size = size;
  g_level = level;
}
void sl_log_set_level(sl_log_level level) {
  g_level = level;
}
sl_log_level sl_log_get_level(void) {
  return g_level;
}
int sl_log_rank(void) {
  return g_rank;
}

int sl_log_level_parse(const char *s) {
  static const char *names[] = {"error", "warn", "info", "debug"};
  for (int i = 0; i < 4; i++)
    if (strcmp(s, names[i]) == 0) return i;
  return -1;
}

static void emit(sl_log_level level, int with_rank, const char *fmt, va_list ap) {
  static const char *tag[] = {"error: ", "warning: ", "", "debug: "};
  char line[2048];
  int n = 0;
  if (with_rank && g_size > 1) n = snprintf(line, sizeof line, "[rank %d] ", g_rank);
  n += snprintf(line + n, sizeof line - (size_t)n, "%s", tag[level]);
  vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
  fprintf(stderr, "%s\n", line); /* one call: lines from different ranks do not interleave */
}

void sl_log(sl_log_level level, const char *fmt, ...) {
  if (level > g_level) return;
  if (level >= SL_LOG_INFO && g_rank != 0) return;
  va_list ap;
  va_start(ap, fmt);
  emit(level, level <= SL_LOG_WARN, fmt, ap);
  va_end(ap);
}

void sl_log_all(sl_log_level level, const char *fmt, ...) {
  if (level > g_level) return;
  va_list ap;
  va_start(ap, fmt);
  emit(level, 1, fmt, ap);
  va_end(ap);
}
