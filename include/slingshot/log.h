/* Rank-aware logging. Not collective.
 * INFO and DEBUG print on rank 0 only (sl_log) or on every rank with a "[rank r]" prefix
 * (sl_log_all); WARN and ERROR print on whichever rank calls them, prefixed with the rank when
 * the job has more than one. Output goes to stderr so that stdout stays machine-readable. */
#ifndef SLINGSHOT_LOG_H
#define SLINGSHOT_LOG_H

typedef enum sl_log_level {
  SL_LOG_ERROR = 0,
  SL_LOG_WARN = 1,
  SL_LOG_INFO = 2,
  SL_LOG_DEBUG = 3
} sl_log_level;

void sl_log_init(int rank, int size, sl_log_level level);
void sl_log_set_level(sl_log_level level);
sl_log_level sl_log_get_level(void);
int sl_log_rank(void);
/* Parses "error", "warn", "info", "debug"; returns -1 if unknown. */
int sl_log_level_parse(const char *s);
void sl_log(sl_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sl_log_all(sl_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
