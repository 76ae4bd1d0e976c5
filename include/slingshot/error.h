/* Error codes and the macros that carry them to main.
 *
 * Every library function returns an int status (SL_OK or an sl_status). The first failure records
 * a message with SL_ERROR/SL_CHECK; each caller on the way up adds a frame with SL_CALL, so main
 * prints a short traceback ending in a message that says what to change. Library code never calls
 * exit(). None of these calls is collective; the error state is per process (per rank). */
#ifndef SLINGSHOT_ERROR_H
#define SLINGSHOT_ERROR_H

#include <stdio.h>

typedef enum sl_status {
  SL_OK = 0,
  SL_ERR_ARG = 1,         /* bad argument or command-line usage */
  SL_ERR_CONFIG = 2,      /* the experiment config is invalid */
  SL_ERR_NOMEM = 3,       /* allocation failed */
  SL_ERR_IO = 4,          /* file system: open, write, space */
  SL_ERR_HDF5 = 5,        /* an HDF5 call failed */
  SL_ERR_MPI = 6,         /* an MPI call failed */
  SL_ERR_NUMERIC = 7,     /* NaN/Inf, a solver that did not converge */
  SL_ERR_STATE = 8,       /* a file or state that does not match (resume of another config) */
  SL_ERR_FORMAT = 9,      /* a file that is not what it claims to be */
  SL_ERR_INTERNAL = 10,   /* a bug: an invariant that should hold did not */
  SL_ERR_INTERRUPTED = 11 /* stopped by a signal (preemption): state saved, rerun with --resume */
} sl_status;

/* Records a new error (clearing any earlier traceback) and returns code. */
int sl_error_set(int code, const char *func, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Adds a traceback frame to the current error and returns code. */
int sl_error_trace(int code, const char *func, const char *file, int line);
/* The message of the current error ("" if none). */
const char *sl_error_message(void);
/* The code of the current error (SL_OK if none). */
int sl_error_code(void);
/* Prints "error: message" and the traceback (innermost first) to f. */
void sl_error_print(FILE *f);
void sl_error_clear(void);
const char *sl_status_name(int code);

#define SL_ERROR(code, ...) sl_error_set((code), __func__, __FILE__, __LINE__, __VA_ARGS__)

/* Return an error with a message when cond is false. */
#define SL_CHECK(cond, code, ...)                                                                  \
  do {                                                                                             \
    if (!(cond)) return SL_ERROR((code), __VA_ARGS__);                                             \
  } while (0)

/* Call a function returning a status; on failure add a frame and return. */
#define SL_CALL(expr)                                                                              \
  do {                                                                                             \
    int sl_call_e_ = (expr);                                                                       \
    if (sl_call_e_ != SL_OK) return sl_error_trace(sl_call_e_, __func__, __FILE__, __LINE__);      \
  } while (0)

/* Variants for functions that own resources: they set the local `err` and jump to `label`. */
#define SL_CALL_GOTO(expr, label)                                                                  \
  do {                                                                                             \
    err = (expr);                                                                                  \
    if (err != SL_OK) {                                                                            \
      sl_error_trace(err, __func__, __FILE__, __LINE__);                                           \
      goto label;                                                                                  \
    }                                                                                              \
  } while (0)

#define SL_CHECK_GOTO(cond, code, label, ...)                                                      \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      err = SL_ERROR((code), __VA_ARGS__);                                                         \
      goto label;                                                                                  \
    }                                                                                              \
  } while (0)

/* MPI calls: any return other than MPI_SUCCESS becomes SL_ERR_MPI with MPI's error string. */
int sl_error_mpi(int mpi_code, const char *expr, const char *func, const char *file, int line);
#define SL_CALL_MPI(expr)                                                                          \
  do {                                                                                             \
    int sl_mpi_e_ = (expr);                                                                        \
    if (sl_mpi_e_ != 0) return sl_error_mpi(sl_mpi_e_, #expr, __func__, __FILE__, __LINE__);       \
  } while (0)

/* HDF5 calls: a negative herr_t or hid_t becomes SL_ERR_HDF5 naming the call. */
#define SL_CALL_HDF5(expr)                                                                         \
  do {                                                                                             \
    if ((long long)(expr) < 0) return SL_ERROR(SL_ERR_HDF5, "HDF5 call failed: %s", #expr);        \
  } while (0)

/* Allocation that fails with SL_ERR_NOMEM naming the size. calloc-initialised. */
void *sl_calloc(size_t count, size_t size);
#define SL_ALLOC(ptr, count)                                                                       \
  do {                                                                                             \
    (ptr) = sl_calloc((size_t)(count), sizeof(*(ptr)));                                            \
    SL_CHECK((ptr) != NULL || (count) == 0, SL_ERR_NOMEM, "out of memory allocating %zu x %zu B",  \
             (size_t)(count), sizeof(*(ptr)));                                                     \
  } while (0)

#endif
