/* HDF5 writing helpers (see include/slingshot/h5util.h). */
#include "slingshot/h5util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "slingshot/error.h"

int sl_h5_attr(hid_t obj, const char *name, hid_t type, const void *value) {
  if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
  hid_t sp = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(obj, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
  herr_t w = a >= 0 ? H5Awrite(a, type, value) : -1;
  if (a >= 0) H5Aclose(a);
  H5Sclose(sp);
  SL_CHECK(w >= 0, SL_ERR_HDF5, "cannot write attribute '%s'", name);
  return SL_OK;
}

int sl_h5_attr_str(hid_t obj, const char *name, const char *value) {
  hid_t t = H5Tcopy(H5T_C_S1);
  SL_CALL_HDF5(t);
  H5Tset_size(t, strlen(value) + 1);
  H5Tset_strpad(t, H5T_STR_NULLTERM);
  int err = sl_h5_attr(obj, name, t, value);
  H5Tclose(t);
  return err;
}

int sl_h5_attr_f64(hid_t obj, const char *name, double v) {
  return sl_h5_attr(obj, name, H5T_NATIVE_DOUBLE, &v);
}

int sl_h5_attr_i64(hid_t obj, const char *name, int64_t v) {
  return sl_h5_attr(obj, name, H5T_NATIVE_INT64, &v);
}

int sl_h5_write_f64(hid_t loc, const char *path, int rank, const size_t *dims, const double *v,
                    const char *units, const char *description) {
  hsize_t d[4];
  SL_CHECK(rank >= 1 && rank <= 4, SL_ERR_INTERNAL, "dataset rank %d", rank);
  for (int i = 0; i < rank; i++)
    d[i] = (hsize_t)dims[i];
  hid_t sp = H5Screate_simple(rank, d, NULL);
  hid_t ds = H5Dcreate2(loc, path, H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Sclose(sp);
  SL_CHECK(ds >= 0, SL_ERR_HDF5, "cannot create dataset %s", path);
  herr_t w = H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
  int e1 = w >= 0 ? sl_h5_attr_str(ds, "units", units) : SL_ERR_HDF5;
  int e2 = w >= 0 ? sl_h5_attr_str(ds, "description", description) : SL_ERR_HDF5;
  H5Dclose(ds);
  SL_CHECK(w >= 0 && !e1 && !e2, SL_ERR_HDF5, "cannot write dataset %s (disk full?)", path);
  return SL_OK;
}

/* ------------------------------------------------------------------ safe edits */

void sl_path_target(const char *path, char *out, size_t size) {
  char *real = realpath(path, NULL);
  if (real) {
    snprintf(out, size, "%s", real);
    free(real);
    return;
  }
  /* A missing file, or a dangling symbolic link: follow the links by hand to the name that does
   * not exist yet (as a shell's > does), so that writing creates the file the link names and the
   * link stays. A link's relative target is taken from the link's directory. 40 hops at most
   * (Linux's own limit); a longer chain is left to fail when the file is created. */
  char cur[PATH_MAX], next[2 * PATH_MAX], link[PATH_MAX];
  snprintf(cur, sizeof cur, "%s", path);
  for (int hop = 0; hop < 40; hop++) {
    struct stat st;
    if (lstat(cur, &st) != 0 || !S_ISLNK(st.st_mode)) break;
    const ssize_t n = readlink(cur, link, sizeof link - 1);
    if (n < 0) break;
    link[n] = '\0';
    const char *slash = strrchr(cur, '/');
    if (link[0] == '/' || !slash)
      snprintf(next, sizeof next, "%s", link);
    else
      snprintf(next, sizeof next, "%.*s/%s", (int)(slash - cur), cur, link);
    if (strlen(next) >= sizeof cur) break; /* too long a name: left to fail at the create */
    memcpy(cur, next, strlen(next) + 1);
  }
  snprintf(out, size, "%s", cur);
}

static int copy_file(const char *from, const char *to) {
  int in = open(from, O_RDONLY);
  SL_CHECK(in >= 0, SL_ERR_IO, "cannot read %s: %s", from, strerror(errno));
  struct stat st;
  if (fstat(in, &st) != 0) {
    close(in);
    return SL_ERROR(SL_ERR_IO, "cannot stat %s: %s", from, strerror(errno));
  }
  unlink(to); /* a working file left by a kill, whatever its permissions */
  int out = open(to, O_WRONLY | O_CREAT | O_TRUNC, st.st_mode & 07777);
  if (out < 0) {
    int e = errno;
    close(in);
    return SL_ERROR(SL_ERR_IO, "cannot write %s: %s (the folder must be writable)", to,
                    strerror(e));
  }
  int err = SL_OK;
  enum { BUF = 1 << 16 };
  char *buf = malloc(BUF);
  if (!buf) {
    close(in);
    close(out);
    unlink(to);
    return SL_ERROR(SL_ERR_NOMEM, "out of memory");
  }
  for (;;) {
    ssize_t n = read(in, buf, BUF);
    if (n == 0) break;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      err = SL_ERROR(SL_ERR_IO, "cannot read %s: %s", from, strerror(errno));
      break;
    }
    for (ssize_t done = 0; done < n && err == SL_OK;) {
      ssize_t w = write(out, buf + done, (size_t)(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0)
        err = SL_ERROR(SL_ERR_IO, "cannot write %s: %s", to, strerror(errno));
      else
        done += w;
    }
    if (err != SL_OK) break;
  }
  free(buf);
  /* an existing file's permissions are not changed by O_CREAT */
  if (err == SL_OK && fchmod(out, st.st_mode & 07777) != 0)
    err = SL_ERROR(SL_ERR_IO, "cannot set the permissions of %s: %s", to, strerror(errno));
  close(in);
  if (close(out) != 0 && err == SL_OK)
    err = SL_ERROR(SL_ERR_IO, "cannot write %s: %s", to, strerror(errno));
  if (err != SL_OK) unlink(to);
  return err;
}

int sl_h5_edit_check(const char *path, const char *what) {
  SL_CHECK(access(path, W_OK) == 0, SL_ERR_IO,
           "cannot write %s into %s: %s (make it writable, or work on a copy)", what, path,
           strerror(errno));
  char target[4096];
  sl_path_target(path, target, sizeof target);
  char *slash = strrchr(target, '/');
  if (slash == target)
    slash[1] = '\0';
  else if (slash)
    *slash = '\0';
  else
    snprintf(target, sizeof target, ".");
  SL_CHECK(access(target, W_OK) == 0, SL_ERR_IO,
           "cannot write %s into %s: its folder %s is not writable (the file is edited through a "
           "copy beside it, renamed over it at the end; work on a copy elsewhere)",
           what, path, target);
  return SL_OK;
}

int sl_h5_edit_begin(const char *path, int copy, char *work, size_t size) {
  char target[4096];
  sl_path_target(path, target, sizeof target);
  const int n = snprintf(work, size, "%s.edit-tmp", target);
  SL_CHECK(n > 0 && (size_t)n < size, SL_ERR_ARG, "path too long: %s", path);
  if (!copy) {
    unlink(work); /* a working file left by a kill */
    return SL_OK;
  }
  return copy_file(target, work);
}

int sl_h5_edit_end(const char *work, const char *path, int err) {
  if (err == SL_OK) {
    int fd = open(work, O_RDONLY);
    if (fd < 0 || fsync(fd) != 0)
      err = SL_ERROR(SL_ERR_IO, "cannot flush %s to disk: %s", work, strerror(errno));
    if (fd >= 0) close(fd);
  }
  if (err == SL_OK) {
    char target[4096];
    sl_path_target(path, target, sizeof target);
    if (rename(work, target) != 0)
      err = SL_ERROR(SL_ERR_IO, "cannot rename %s to %s: %s", work, target, strerror(errno));
  }
  if (err != SL_OK) unlink(work);
  return err;
}
