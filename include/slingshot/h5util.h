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

#endif
