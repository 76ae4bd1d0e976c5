/* Rank groups in `slingshot run`. See run_groups.h and include/slingshot/dp.h. */
#include "run_groups.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "slingshot/dp.h"
#include "slingshot/error.h"
#include "slingshot/log.h"
#include "slingshot/timer.h"

int64_t sl_run_groups_split(const sl_config *cfg, const sl_grid *grid, uint8_t *todo,
                            uint8_t **large, double *cost) {
  *large = calloc((size_t)grid->n_cells + 1, 1);
  if (!*large) return 0; /* no room for the mask: every cell runs on one rank */
  int64_t n = 0;
  for (int64_t i = 0; i < grid->n_cells; i++)
    if (todo[i] && sl_cell_group_size(cfg, &grid->cells[i]) > 1) {
      todo[i] = 0;
      (*large)[i] = 1;
      *cost += grid->cells[i].cost;
      n++;
    }
  return n;
}

int sl_run_groups(const sl_run_groups_ctx *c, const uint8_t *large, MPI_Comm comm,
                  sl_sched **sched_g, long long *n_interrupted, int *local_err) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  const int G = c->cfg->grid.group_size;
  const int R = G < size ? G : size, n_groups = size / R;
  MPI_Comm gc = MPI_COMM_NULL;
  SL_CALL_MPI(MPI_Comm_split(comm, rank < n_groups * R ? rank / R : MPI_UNDEFINED, rank, &gc));
  SL_CALL(sl_sched_create(c->grid, large, comm, sched_g));
  if (gc == MPI_COMM_NULL) return SL_OK; /* left over: straight to the single-rank cells */
  int grank;
  MPI_Comm_rank(gc, &grank);
  int err = SL_OK;
  for (;;) {
    int64_t ci = -1;
    if (grank == 0) {
      int stopped; /* a signal here, or one passed on by another rank */
      SL_CALL_GOTO(sl_sched_poll_stop(c->sched, &stopped), done);
      if (!stopped) SL_CALL_GOTO(sl_sched_next(*sched_g, &ci), done);
    }
    SL_CALL_MPI(MPI_Bcast(&ci, 1, MPI_INT64_T, 0, gc));
    if (ci < 0) break;
    const sl_cell *cell = &c->grid->cells[ci];
    char ckpath[700];
    snprintf(ckpath, sizeof ckpath, "%s/cell_%lld.ckpt", c->ckdir, (long long)ci);
    sl_dp dp;
    SL_CALL_GOTO(sl_dp_create(gc, G, cell->n_params, &dp), done);
    c->ck->path = ckpath;
    c->ck->dp = &dp;
    int e = sl_train_cell_ckpt(c->cfg, cell, c->ck, c->hook, c->hook_ctx, c->cr);
    c->ck->dp = NULL;
    sl_dp_free(&dp);
    if (e == SL_ERR_INTERRUPTED) { /* every member stopped at the same step; the root saved it */
      if (grank == 0) {
        sl_log_all(SL_LOG_INFO, "%s", sl_error_message());
        (*n_interrupted)++;
      }
      sl_error_clear();
      break;
    }
    if (e != SL_OK) {
      sl_log_all(SL_LOG_WARN, "cell %lld failed: %s", (long long)ci, sl_error_message());
      sl_error_clear();
    }
    if (grank != 0) continue;
    sl_timer_start("write");
    *local_err = sl_results_write_cell(c->res, cell, c->cr, rank);
    sl_timer_stop("write");
    if (*local_err != SL_OK) break;
    unlink(ckpath);
    sl_sched_report(c->sched, 1, 0.0, 0);
    sl_log_all(SL_LOG_INFO, "cell %lld N=%zu D=%lld: %s val_loss %.4f (%.1f s, group of %d ranks)",
               (long long)ci, cell->n_params, (long long)cell->d_tokens,
               c->cr->status == SL_CELL_DONE ? "done" : "not done", c->cr->val_loss, c->cr->wall_s,
               R);
  }
done:
  MPI_Comm_free(&gc);
  return err;
}
