/* Error state: one message and a traceback of frames, per process. */
#include "slingshot/error.h"

#include <mpi.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define SL_MAX_FRAMES 32

static struct {
  int code;
  char message[4096];
  int n_frames;
  struct {
    const char *func, *file;
    int line;
  } frames[SL_MAX_FRAMES];
} g_err;

static void push_frame(const char *func, const char *file, int line) {
  if (g_err.n_frames >= SL_MAX_FRAMES) return;
  g_err.frames[g_err.n_frames].func = func;
  g_err.frames[g_err.n_frames].file = file;
  g_err.frames[g_err.n_frames].line = line;
  g_err.n_frames++;
}

int sl_error_set(int code, const char *func, const char *file, int line, const char *fmt, ...) {
  g_err.code = code;
  g_err.n_frames = 0;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(g_err.message, sizeof g_err.message, fmt, ap);
  va_end(ap);
  push_frame(func, file, line);
  return code;
}

int sl_error_trace(int code, const char *func, const char *file, int line) {
  if (g_err.code == SL_OK) { /* a status returned without a message: still say where */
    g_err.code = code;
    snprintf(g_err.message, sizeof g_err.message, "%s", sl_status_name(code));
  }
  push_frame(func, file, line);
  return code;
}

int sl_error_mpi(int mpi_code, const char *expr, const char *func, const char *file, int line) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(mpi_code, text, &len) != MPI_SUCCESS) snprintf(text, sizeof text, "?");
  return sl_error_set(SL_ERR_MPI, func, file, line, "MPI call failed: %s: %s", expr, text);
}

const char *sl_error_message(void) {
  return g_err.message;
}
int sl_error_code(void) {
  return g_err.code;
}

void sl_error_clear(void) {
  g_err.code = SL_OK;
  g_err.message[0] = '\0';
  g_err.n_frames = 0;
}

void sl_error_print(FILE *f) {
  if (g_err.code == SL_OK) return;
  fprintf(f, "error: %s\n", g_err.message);
  for (int i = 0; i < g_err.n_frames; i++) {
    const char *file = g_err.frames[i].file;
    const char *src = strstr(file, "src/");
    fprintf(f, "  at %s (%s:%d)\n", g_err.frames[i].func, src ? src : file, g_err.frames[i].line);
  }
}

const char *sl_status_name(int code) {
  switch (code) {
  case SL_OK:
    return "ok";
  case SL_ERR_ARG:
    return "invalid argument";
  case SL_ERR_CONFIG:
    return "invalid config";
  case SL_ERR_NOMEM:
    return "out of memory";
  case SL_ERR_IO:
    return "I/O error";
  case SL_ERR_HDF5:
    return "HDF5 error";
  case SL_ERR_MPI:
    return "MPI error";
  case SL_ERR_NUMERIC:
    return "numerical error";
  case SL_ERR_STATE:
    return "state mismatch";
  case SL_ERR_FORMAT:
    return "bad file format";
  case SL_ERR_INTERNAL:
    return "internal error";
  case SL_ERR_INTERRUPTED:
    return "interrupted by a signal";
  default:
    return "unknown error";
  }
}

void *sl_calloc(size_t count, size_t size) {
  if (count == 0 || size == 0) return calloc(1, 1);
  return calloc(count, size);
}
