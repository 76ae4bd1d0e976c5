/* Dynamic scheduler: a shared counter in an MPI window on rank 0 (see grid.h). */
#include <stdlib.h>

#include "slingshot/error.h"
#include "slingshot/grid.h"
#include "slingshot/preempt.h"

/* Window layout on rank 0, int64 slots. FLOPs are kept in units of 1e6 to stay in range. */
enum { SLOT_NEXT, SLOT_DONE, SLOT_MFLOPS, SLOT_TOKENS, SLOT_STOP, N_SLOTS };

struct sl_sched {
  MPI_Comm comm;
  MPI_Win win;
  int64_t *base;  /* rank 0's slots (NULL elsewhere) */
  int64_t *order; /* cell indices, most expensive first */
  int64_t n_todo;
  double total_cost;
  int told; /* this rank has set SLOT_STOP */
};

static const sl_grid *g_sort_grid;
static int by_cost_desc(const void *a, const void *b) {
  const sl_cell *x = &g_sort_grid->cells[*(const int64_t *)a];
  const sl_cell *y = &g_sort_grid->cells[*(const int64_t *)b];
  if (x->cost != y->cost) return x->cost < y->cost ? 1 : -1;
  return x->index < y->index ? -1 : (x->index > y->index);
}

int sl_sched_create(const sl_grid *grid, const uint8_t *todo, MPI_Comm comm, sl_sched **out) {
  sl_sched *s;
  SL_ALLOC(s, 1);
  s->comm = comm;
  SL_ALLOC(s->order, grid->n_cells);
  for (int64_t i = 0; i < grid->n_cells; i++)
    if (todo[i]) {
      s->order[s->n_todo++] = i;
      s->total_cost += grid->cells[i].cost;
    }
  g_sort_grid = grid;
  qsort(s->order, (size_t)s->n_todo, sizeof(int64_t), by_cost_desc);
  int rank;
  MPI_Comm_rank(comm, &rank);
  MPI_Aint size = rank == 0 ? (MPI_Aint)(N_SLOTS * sizeof(int64_t)) : 0;
  SL_CALL_MPI(MPI_Win_allocate(size, sizeof(int64_t), MPI_INFO_NULL, comm, &s->base, &s->win));
  if (rank == 0) {
    MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, s->win);
    for (int i = 0; i < N_SLOTS; i++)
      s->base[i] = 0;
    MPI_Win_unlock(0, s->win);
  }
  SL_CALL_MPI(MPI_Barrier(comm));
  *out = s;
  return SL_OK;
}

static int fetch_add(sl_sched *s, int slot, int64_t add, int64_t *old) {
  SL_CALL_MPI(MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, s->win));
  SL_CALL_MPI(MPI_Fetch_and_op(&add, old, MPI_INT64_T, 0, slot, MPI_SUM, s->win));
  SL_CALL_MPI(MPI_Win_unlock(0, s->win));
  return SL_OK;
}

int sl_sched_next(sl_sched *s, int64_t *cell) {
  *cell = -1;
  int stopped;
  SL_CALL(sl_sched_poll_stop(s, &stopped));
  if (stopped) return SL_OK; /* preempted: take no more cells */
  int64_t pos;
  SL_CALL(fetch_add(s, SLOT_NEXT, 1, &pos));
  *cell = pos < s->n_todo ? s->order[pos] : -1;
  return SL_OK;
}

int sl_sched_poll_stop(sl_sched *s, int *stopped) {
  int64_t got, add = sl_preempt_requested() ? 1 : 0, zero = 0;
  if (add && !s->told) { /* this rank got the signal: tell the others */
    SL_CALL(fetch_add(s, SLOT_STOP, 1, &got));
    s->told = 1;
    *stopped = 1;
    return SL_OK;
  }
  if (add) {
    *stopped = 1;
    return SL_OK;
  }
  SL_CALL_MPI(MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, s->win));
  SL_CALL_MPI(MPI_Fetch_and_op(&zero, &got, MPI_INT64_T, 0, SLOT_STOP, MPI_NO_OP, s->win));
  SL_CALL_MPI(MPI_Win_unlock(0, s->win));
  if (got) sl_preempt_raise(); /* another rank got it: stop here too */
  *stopped = got != 0;
  return SL_OK;
}

int sl_sched_report(sl_sched *s, int64_t cells_done, double flops, int64_t tokens) {
  int64_t add[3] = {cells_done, (int64_t)(flops / 1e6), tokens};
  SL_CALL_MPI(MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, s->win));
  SL_CALL_MPI(MPI_Accumulate(add, 3, MPI_INT64_T, 0, SLOT_DONE, 3, MPI_INT64_T, MPI_SUM, s->win));
  SL_CALL_MPI(MPI_Win_unlock(0, s->win));
  return SL_OK;
}

int sl_sched_progress(sl_sched *s, int64_t *cells_done, double *flops, int64_t *tokens) {
  int64_t got[3], zero[3] = {0, 0, 0};
  SL_CALL_MPI(MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, s->win));
  /* An atomic read: get-accumulate with MPI_NO_OP, consistent with concurrent accumulates. */
  SL_CALL_MPI(MPI_Get_accumulate(zero, 3, MPI_INT64_T, got, 3, MPI_INT64_T, 0, SLOT_DONE, 3,
                                 MPI_INT64_T, MPI_NO_OP, s->win));
  SL_CALL_MPI(MPI_Win_unlock(0, s->win));
  *cells_done = got[0];
  *flops = (double)got[1] * 1e6;
  *tokens = got[2];
  return SL_OK;
}

int64_t sl_sched_total(const sl_sched *s, double *cost) {
  if (cost) *cost = s->total_cost;
  return s->n_todo;
}

int sl_sched_destroy(sl_sched *s) {
  if (!s) return SL_OK;
  SL_CALL_MPI(MPI_Win_free(&s->win));
  free(s->order);
  free(s);
  return SL_OK;
}
