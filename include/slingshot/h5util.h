/* Small HDF5 writing helpers shared by the analysis writer and the skills and theory outputs:
 * scalar attributes (replaced when they exist) and a float64 dataset with its units and
 * description. Not collective. */
#ifndef SLINGSHOT_H5UTIL_H
#define SLINGSHOT_H5UTIL_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

/* A scalar attribute of file and memory type `type` on obj (an existing one is replaced). */
int sl_h5_attr(hid_t obj, const char *name, hid_t type, const void *value);
int sl_h5_attr_str(hid_t obj, const char *name, const char *value);
int sl_h5_attr_f64(hid_t obj, const char *name, double v);
int sl_h5_attr_i64(hid_t obj, const char *name, int64_t v);

/* A float64 dataset of rank dims (1..4) at path under loc (groups on the way must exist), with
 * `units` and `description` attributes. */
int sl_h5_write_f64(hid_t loc, const char *path, int rank, const size_t *dims, const double *v,
                    const char *units, const char *description);

/* The file that writing PATH replaces or creates: its real path when it exists (a symbolic link
 * is followed to its target); for a dangling symbolic link, the missing file it names (so that
 * the link is kept and its target created); else PATH itself. At most size - 1 characters. */
void sl_path_target(const char *path, char *out, size_t size);

/* Safe edits of a finished file (the analysis and theory outputs): HDF5 rewrites its metadata in
 * place, so a kill (or Ctrl-C) while a file is open for writing can leave all of it unreadable,
 * finished cells included. The edits go to a working file instead, `work` = PATH.edit-tmp in the
 * same folder (PATH resolved through symbolic links): sl_h5_edit_begin makes it a copy of PATH
 * (copy = 1, same permissions) or leaves it to the caller to create (copy = 0), and
 * sl_h5_edit_end, when err is SL_OK, flushes it to disk and renames it over PATH; otherwise, or
 * if that fails, it removes it and PATH is as it was. A working file left by a kill is replaced
 * by the next edit. Returns err, or the error of the copy or the rename. */
int sl_h5_edit_begin(const char *path, int copy, char *work, size_t size);
int sl_h5_edit_end(const char *work, const char *path, int err);
/* Before any work: an error naming what to change unless PATH is a writable file in a writable
 * folder (`what` says what would be written, for the message). */
int sl_h5_edit_check(const char *path, const char *what);

#endif
