/* The slice of the grid a job-array task runs (see run_slice.h). */
#include "run_slice.h"

#include <stdlib.h>
#include <string.h>

#include "run_plan.h"
#include "slingshot/error.h"

static const char *env_lookup(const char *name) {
  return getenv(name);
}

int sl_run_slice_setup(const sl_grid *g, long long task, long long count, const char *cells,
                       MPI_Comm comm, sl_run_slice *s) {
  memset(s, 0, sizeof *s);
  int rank;
  MPI_Comm_rank(comm, &rank);
  int64_t v[3] = {task, count, SL_OK};
  if (rank == 0) {
    v[2] = sl_slice_from_env(env_lookup, &v[0], &v[1], s->source, sizeof s->source);
  }
  SL_CALL_MPI(MPI_Bcast(v, 3, MPI_INT64_T, 0, comm));
  SL_CALL_MPI(MPI_Bcast(s->source, sizeof s->source, MPI_CHAR, 0, comm));
  if (v[2] != SL_OK)
    return rank == 0
               ? sl_error_trace((int)v[2], __func__, __FILE__, __LINE__)
               : SL_ERROR((int)v[2], "rank 0 could not find the array task (see its message)");
  s->part.array_task = v[1] > 0 ? v[0] : -1;
  s->part.array_count = v[1] > 0 ? v[1] : 0;
  s->part.cells_first = s->part.cells_last = -1;
  if (cells) {
    SL_CALL(sl_slice_parse_cells(cells, &s->part.cells_first, &s->part.cells_last));
    SL_CHECK(s->part.cells_last < g->n_cells, SL_ERR_ARG,
             "--cells %s: the grid has cells 0 to %lld", cells, (long long)g->n_cells - 1);
  }
  s->active = s->part.array_count > 0 || cells != NULL;
  if (!s->active) return SL_OK;
  const int64_t n = g->n_cells;
  double *cost = NULL;
  int64_t *owner = NULL;
  int err = SL_OK;
  SL_ALLOC(s->owned, n);
  SL_ALLOC(cost, n);
  for (int64_t i = 0; i < n; i++) {
    cost[i] = g->cells[i].cost;
    s->cost_total += cost[i];
    if (cost[i] > s->cost_bound) s->cost_bound = cost[i];
  }
  SL_CALL_GOTO(sl_slice_mask(cost, n, s->part.array_task, s->part.array_count, s->part.cells_first,
                             s->part.cells_last, s->owned),
               done);
  s->part.owned = s->owned;
  for (int64_t i = 0; i < n; i++)
    if (s->owned[i]) s->n_owned++, s->cost_owned += cost[i];
  if (s->part.array_count > 0) {
    int64_t k = s->part.array_count;
    double *load = calloc((size_t)k, sizeof *load);
    owner = calloc((size_t)n, sizeof *owner);
    SL_CHECK_GOTO(load && owner, SL_ERR_NOMEM, done, "out of memory");
    err = sl_slice_assign(cost, n, k, owner);
    for (int64_t i = 0; i < n && err == SL_OK; i++)
      load[owner[i]] += cost[i];
    for (int64_t j = 0; j < k; j++)
      if (load[j] > s->cost_max_slice) s->cost_max_slice = load[j];
    free(load);
    if (s->cost_total / (double)k > s->cost_bound) s->cost_bound = s->cost_total / (double)k;
    if (err != SL_OK) goto done;
  }
done:
  free(cost);
  free(owner);
  if (err != SL_OK) sl_run_slice_free(s);
  return err;
}

void sl_run_slice_free(sl_run_slice *s) {
  free(s->owned);
  memset(s, 0, sizeof *s);
}

void sl_run_slice_output(const sl_run_slice *s, const char *name, char *buf, size_t size) {
  size_t len = (size_t)snprintf(buf, size, "%s", name);
  if (s->part.array_count > 0 && len < size)
    len += (size_t)snprintf(buf + len, size - len, ".part-%lld-of-%lld",
                            (long long)s->part.array_task, (long long)s->part.array_count);
  if (s->part.cells_first >= 0 && len < size)
    len += (size_t)snprintf(buf + len, size - len, ".cells-%lld-%lld",
                            (long long)s->part.cells_first, (long long)s->part.cells_last);
  if (len < size) snprintf(buf + len, size - len, ".h5");
}

void sl_run_slice_describe(const sl_run_slice *s, char *buf, size_t size) {
  size_t len = 0;
  if (s->part.array_count > 0)
    len += (size_t)snprintf(buf, size, "slice %lld of %lld (%s)", (long long)s->part.array_task,
                            (long long)s->part.array_count, s->source);
  if (s->part.cells_first >= 0 && len < size)
    len += (size_t)snprintf(buf + len, size - len, "%scells %lld-%lld", len ? ", " : "",
                            (long long)s->part.cells_first, (long long)s->part.cells_last);
  if (len < size)
    len += (size_t)snprintf(buf + len, size - len, ": %lld cell%s, %.1f%% of the grid's FLOPs",
                            (long long)s->n_owned, s->n_owned == 1 ? "" : "s",
                            s->cost_total > 0 ? 100 * s->cost_owned / s->cost_total : 0.0);
  if (s->part.array_count > 0 && len < size)
    snprintf(buf + len, size - len,
             " (largest slice %.3g FLOP; lower bound max(total/K, largest cell) %.3g)",
             s->cost_max_slice, s->cost_bound);
}

int sl_run_slice_dry_run(const sl_config *cfg, const sl_grid *g, const sl_run_slice *s, int ranks,
                         FILE *out) {
  char line[512];
  sl_run_slice_describe(s, line, sizeof line);
  fprintf(out, "%s\n\n", line);
  sl_grid sub = {0, NULL};
  SL_ALLOC(sub.cells, s->n_owned);
  for (int64_t i = 0; i < g->n_cells; i++)
    if (s->owned[i]) sub.cells[sub.n_cells++] = g->cells[i];
  int err = sub.n_cells > 0 ? sl_run_dry_run(cfg, &sub, ranks, out) : SL_OK;
  if (sub.n_cells == 0) fprintf(out, "this slice holds no cells: its run does nothing\n");
  free(sub.cells);
  return err;
}
