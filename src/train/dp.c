/* Data-parallel steps of a rank group with an exact fixed-point gradient sum. See dp.h. */
#include "slingshot/dp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/error.h"

int sl_cell_group_size(const sl_config *cfg, const sl_cell *cell) {
  if (cfg->grid.group_size <= 1) return 1;
  return cell->n_target >= cfg->grid.group_min_params ? cfg->grid.group_size : 1;
}

int sl_dp_create(MPI_Comm comm, int shards, size_t n_params, sl_dp *dp) {
  memset(dp, 0, sizeof *dp);
  SL_CHECK(shards >= 1, SL_ERR_ARG, "a rank group needs at least one shard, got %d", shards);
  dp->comm = comm;
  MPI_Comm_rank(comm, &dp->rank);
  MPI_Comm_size(comm, &dp->size);
  SL_CHECK(dp->size <= shards, SL_ERR_INTERNAL, "a group of %d ranks for %d shards", dp->size,
           shards);
  dp->shards = shards;
  dp->n = n_params;
  const int mine = (shards + dp->size - 1) / dp->size;
  SL_ALLOC(dp->shard_grads, (size_t)mine * n_params);
  SL_ALLOC(dp->acc, n_params);
  SL_ALLOC(dp->losses, (size_t)shards);
  return SL_OK;
}

void sl_dp_free(sl_dp *dp) {
  free(dp->shard_grads);
  free(dp->acc);
  free(dp->losses);
  memset(dp, 0, sizeof *dp);
}

int sl_dp_any(sl_dp *dp, int flag, int *any) {
  int f = flag != 0;
  SL_CALL_MPI(MPI_Allreduce(&f, any, 1, MPI_INT, MPI_MAX, dp->comm));
  return SL_OK;
}

int sl_dp_step(sl_dp *dp, sl_model *m, const int32_t *rows, int B, float *loss) {
  const int G = dp->shards, T = m->spec.T;
  const size_t n = dp->n;
  SL_CHECK(n <= (size_t)INT32_MAX, SL_ERR_ARG, "%zu parameters are too many for one all-reduce", n);
  SL_CHECK(B % G == 0 && n == m->n_params, SL_ERR_ARG,
           "a batch of %d rows cannot be split into %d equal shards", B, G);
  const int Bs = B / G;
  /* 1. This rank's shards: loss and gradient of each, and the largest |g| over them. */
  double stat[2] = {0.0, 0.0}; /* max |g|, 1 if anything was not finite */
  for (int s = 0; s < G; s++)
    dp->losses[s] = 0.0;
  int k = 0;
  for (int s = dp->rank; s < G; s += dp->size, k++) {
    float l;
    int e = sl_model_forward(m, rows + (size_t)s * Bs * (T + 1), Bs, &l);
    float *g = dp->shard_grads + (size_t)k * n;
    if (e == SL_ERR_NUMERIC || !isfinite(l)) { /* a divergence: decided below, by all */
      sl_error_clear();
      stat[1] = 1.0;
      memset(g, 0, n * sizeof *g);
      continue;
    }
    SL_CALL(e);
    SL_CALL(sl_model_backward(m, rows + (size_t)s * Bs * (T + 1), Bs));
    memcpy(g, m->grads, n * sizeof *g);
    dp->losses[s] = l;
    for (size_t i = 0; i < n; i++) {
      double a = fabs((double)g[i]);
      if (!(a <= 1e300))
        stat[1] = 1.0; /* NaN or Inf */
      else if (a > stat[0])
        stat[0] = a;
    }
  }
  double all[2];
  SL_CALL_MPI(MPI_Allreduce(stat, all, 2, MPI_DOUBLE, MPI_MAX, dp->comm));
  /* Losses: each shard's slot is non-zero on one rank only, so the sum is exact in any order. */
  SL_CALL_MPI(MPI_Allreduce(MPI_IN_PLACE, dp->losses, G, MPI_DOUBLE, MPI_SUM, dp->comm));
  if (all[1] != 0.0) {
    *loss = NAN;
    return SL_OK;
  }
  double sum = 0.0;
  for (int s = 0; s < G; s++) /* shard order: the same on every member */
    sum += dp->losses[s];
  *loss = (float)(sum / G);
  /* 2. Fixed point: |g| <= 2^e; G such terms fit in 2^62 after scaling by 2^(62 - e - lg G). */
  int e = 0, lg = 0;
  if (all[0] > 0) frexp(all[0], &e);
  while ((1 << lg) < G)
    lg++;
  /* Multiplying by a power of two is exact; the conversion truncates (an error below one unit of
   * 2^-shift, far below a float's precision at the scale of the largest gradient). */
  const double scale = ldexp(1.0, 62 - e - lg), unscale = ldexp(1.0, e + lg - 62) / G;
  memset(dp->acc, 0, n * sizeof *dp->acc);
  k = 0;
  for (int s = dp->rank; s < G; s += dp->size, k++) {
    const float *g = dp->shard_grads + (size_t)k * n;
    for (size_t i = 0; i < n; i++)
      dp->acc[i] += (int64_t)((double)g[i] * scale);
  }
  SL_CALL_MPI(MPI_Allreduce(MPI_IN_PLACE, dp->acc, (int)n, MPI_INT64_T, MPI_SUM, dp->comm));
  for (size_t i = 0; i < n; i++)
    m->grads[i] = (float)((double)dp->acc[i] * unscale);
  return SL_OK;
}
