/* A full disk or a kill on demand, for tests/mpi/test_disk_full.sh and test_fault.sh: an
 * LD_PRELOAD library that makes writes to one file fail with ENOSPC ("No space left on
 * device"), as a full file system does, or kills the process at a chosen write, as kill -9 or a
 * node failure does; without root or a real small file system.
 *
 *   SL_ENOSPC_PATH   writes to files whose path ends with this string, or with it followed by
 *                    ".create-tmp" or ".edit-tmp" (the working names of a results file being
 *                    set up or edited, src/io/results.c and h5util.c), are watched
 *   SL_ENOSPC_CELLS  after this many one-byte writes to them (slingshot writes a cell's status
 *                    byte last, alone: one per finished cell), every further write to them fails
 *   SL_ENOSPC_LOG    optional: a file to which each watched write's size is appended
 *   SL_KILL_AT       optional: the process sends itself SIGKILL at its n-th watched write
 *                    (1 = the first), before that write reaches the file
 *
 * Counts are per process (per rank). Built by the test: cc -shared -fPIC ... -ldl. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static long g_single = 0; /* one-byte writes seen */

static int watched(int fd) {
  const char *want = getenv("SL_ENOSPC_PATH");
  if (!want || !*want || fd < 0) return 0;
  char link[64], path[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  if (n <= 0) return 0;
  path[n] = '\0';
  /* The path ends with it (not Open MPI's side files), or with it and a working name's suffix. */
  static const char *const suffix[] = {"", ".create-tmp", ".edit-tmp"};
  size_t lp = (size_t)n, lw = strlen(want);
  for (size_t k = 0; k < sizeof suffix / sizeof *suffix; k++) {
    size_t ls = strlen(suffix[k]);
    if (lp >= lw + ls && strcmp(path + lp - ls, suffix[k]) == 0 &&
        strncmp(path + lp - ls - lw, want, lw) == 0)
      return 1;
  }
  return 0;
}

static long g_writes = 0; /* watched writes seen */

/* 1: this write must fail. Counts the write otherwise. */
static int full(int fd, size_t bytes) {
  if (!watched(fd)) return 0;
  const char *kill_at = getenv("SL_KILL_AT");
  if (kill_at && *kill_at && ++g_writes >= atol(kill_at)) raise(SIGKILL);
  const char *cells = getenv("SL_ENOSPC_CELLS");
  long limit = cells && *cells ? atol(cells) : -1;
  if (limit >= 0 && g_single >= limit) return 1;
  if (bytes == 1) g_single++;
  const char *log = getenv("SL_ENOSPC_LOG");
  if (log && *log) {
    FILE *f = fopen(log, "a");
    if (f) {
      fprintf(f, "%zu\n", bytes);
      fclose(f);
    }
  }
  return 0;
}

typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef ssize_t (*writev_fn)(int, const struct iovec *, int);
typedef ssize_t (*pwritev_fn)(int, const struct iovec *, int, off_t);

#define REAL(name, type)                                                                           \
  static type real_##name;                                                                         \
  if (!real_##name) real_##name = (type)dlsym(RTLD_NEXT, #name)

ssize_t write(int fd, const void *buf, size_t count) {
  REAL(write, write_fn);
  if (full(fd, count)) return errno = ENOSPC, -1;
  return real_write(fd, buf, count);
}

ssize_t pwrite(int fd, const void *buf, size_t count, off_t off) {
  REAL(pwrite, pwrite_fn);
  if (full(fd, count)) return errno = ENOSPC, -1;
  return real_pwrite(fd, buf, count, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t count, off_t off) {
  REAL(pwrite64, pwrite_fn);
  if (full(fd, count)) return errno = ENOSPC, -1;
  return real_pwrite64(fd, buf, count, off);
}

static size_t iov_bytes(const struct iovec *iov, int n) {
  size_t b = 0;
  for (int i = 0; i < n; i++)
    b += iov[i].iov_len;
  return b;
}

ssize_t writev(int fd, const struct iovec *iov, int n) {
  REAL(writev, writev_fn);
  if (full(fd, iov_bytes(iov, n))) return errno = ENOSPC, -1;
  return real_writev(fd, iov, n);
}

ssize_t pwritev(int fd, const struct iovec *iov, int n, off_t off) {
  REAL(pwritev, pwritev_fn);
  if (full(fd, iov_bytes(iov, n))) return errno = ENOSPC, -1;
  return real_pwritev(fd, iov, n, off);
}

ssize_t pwritev64(int fd, const struct iovec *iov, int n, off_t off) {
  REAL(pwritev64, pwritev_fn);
  if (full(fd, iov_bytes(iov, n))) return errno = ENOSPC, -1;
  return real_pwritev64(fd, iov, n, off);
}
