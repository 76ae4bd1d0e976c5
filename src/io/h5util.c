/* HDF5 writing helpers (see include/slingshot/h5util.h). */
#include "slingshot/h5util.h"

#include <string.h>

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
