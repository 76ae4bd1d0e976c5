/* gnuplot and HDF5 helpers of the skills and theory outputs (see gnuplot.h). */
#include "gnuplot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "slingshot/error.h"

int sl_gnuplot_found(void) {
  const char *path = getenv("PATH");
  if (!path) return 0;
  char *copy = strdup(path), *save = NULL;
  if (!copy) return 0;
  int found = 0;
  for (char *p = strtok_r(copy, ":", &save); p && !found; p = strtok_r(NULL, ":", &save)) {
    char full[PATH_MAX];
    snprintf(full, sizeof full, "%s/gnuplot", p[0] ? p : ".");
    found = access(full, X_OK) == 0;
  }
  free(copy);
  return found;
}

int sl_gnuplot_run(const char *dir, const char *name) {
  char png[PATH_MAX];
  snprintf(png, sizeof png, "%s/%s.png", dir, name);
  remove(png); /* a stale PNG must not pass for this one */
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) return 127;
  if (pid == 0) { /* the child: only async-signal-safe calls, then exec or _exit */
    char script[256];
    snprintf(script, sizeof script, "%s.gp", name);
    if (chdir(dir) != 0) _exit(127);
    int fd = open("gnuplot.log", O_WRONLY | O_CREAT | O_APPEND, 0666);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    execlp("gnuplot", "gnuplot", script, (char *)NULL);
    _exit(127);
  }
  int st = 0;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return 127;
  int rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
  if (rc == 0 && access(png, R_OK) != 0) rc = -1;
  return rc;
}

static int put_attr(hid_t obj, const char *name, hid_t type, const void *value) {
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
  int err = put_attr(obj, name, t, value);
  H5Tclose(t);
  return err;
}

int sl_h5_attr_f64(hid_t obj, const char *name, double v) {
  return put_attr(obj, name, H5T_NATIVE_DOUBLE, &v);
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
