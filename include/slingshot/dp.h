/* Data-parallel training of one large cell by a group of ranks (issue 9, rank groups).
 *
 * A cell is large when grid.group_size G > 1 and its target N >= grid.group_min_params. Its batch
 * of B rows is split into G equal shards of B/G consecutive rows (G divides B, checked by the
 * config). The R ranks of its group (R <= G, from MPI_Comm_split) each compute the forward and
 * backward of shards r, r+R, r+2R, ...; the gradient is the mean of the G shard gradients and the
 * loss the mean of the G shard losses. Since every shard has the same number of predicted tokens,
 * that mean equals the gradient of the whole batch's mean loss: a group run equals a one-rank run
 * of the unsharded batch up to floating-point reordering (tests/mpi/test_groups.sh: relative 1e-4
 * on the loss curve).
 *
 * Determinism: the shard gradients are summed exactly. Every shard gradient is scaled by a common
 * power of two (from the largest |g| over all shards) into 64-bit integers, summed with
 * MPI_Allreduce (integer addition is associative, so the order of the reduction does not matter)
 * and scaled back. The sum is exact for every component within 2^-38 of the largest and within
 * 2^-58 of the largest in absolute terms for the rest, so a large cell's numbers depend on G, not
 * on R: 1, 2 or 4 ranks give bitwise the same row. Every member applies the same AdamW step to
 * bitwise the same parameters; the group's root writes the row and the checkpoints.
 *
 * Every function taking an sl_dp is collective over dp->comm (each step: three all-reduces). */
#ifndef SLINGSHOT_DP_H
#define SLINGSHOT_DP_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "slingshot/config.h"
#include "slingshot/model.h"
#include "slingshot/train.h"

typedef struct sl_dp {
  MPI_Comm comm; /* the group; MPI_COMM_SELF: this rank computes every shard */
  int rank, size;
  int shards;         /* G */
  size_t n;           /* parameters */
  float *shard_grads; /* [ceil(G / size) x n] this rank's shards' gradients */
  int64_t *acc;       /* [n] fixed-point sum */
  double *losses;     /* [G] */
} sl_dp;

/* Not collective: G for this cell (1: not large, trained by one rank as before). */
int sl_cell_group_size(const sl_config *cfg, const sl_cell *cell);

/* Not collective (local allocation): a data-parallel context over comm with G shards. */
int sl_dp_create(MPI_Comm comm, int shards, size_t n_params, sl_dp *dp);
void sl_dp_free(sl_dp *dp);

/* Collective over dp->comm: forward and backward of this rank's shards of rows [B x (T+1)], then
 * m->grads = mean of the shard gradients on every member and *loss = mean of the shard losses.
 * A non-finite loss or gradient on any shard gives *loss = NaN on every member (a divergence). */
int sl_dp_step(sl_dp *dp, sl_model *m, const int32_t *rows, int B, float *loss);

/* Collective over dp->comm: *any = 1 on every member when flag != 0 on some member. */
int sl_dp_any(sl_dp *dp, int flag, int *any);

#endif
