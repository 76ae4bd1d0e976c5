/* Before a run: resource checks and --dry-run (see run_plan.h). */
#include "run_plan.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "slingshot/error.h"
#include "slingshot/train.h"

void sl_fmt_duration(double s, char *buf, size_t size) {
  if (!isfinite(s) || s < 0) {
    snprintf(buf, size, "--");
    return;
  }
  long t = lround(s);
  if (t >= 3600)
    snprintf(buf, size, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else
    snprintf(buf, size, "%ldm%02lds", t / 60, t % 60);
}

void sl_fmt_bytes(double b, char *buf, size_t size) {
  const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4)
    b /= 1024, u++;
  snprintf(buf, size, "%.*f %s", u ? 1 : 0, b, unit[u]);
}

/* Bytes available on this node (0 if unknown): see sl_run_node_memory. */
static double mem_available(void) {
  return sl_run_node_memory();
}

/* The results file's size, roughly: every dataset is allocated up front. */
static double file_bytes(const sl_config *cfg, int64_t n_cells) {
  double per_cell = 40 * 8 + 2 * 256 + 2 * 8 * cfg->eval.points +
                    8.0 * cfg->unique.prefixes * (1 + cfg->unique.n_ngrams);
  return 65536.0 + per_cell * (double)n_cells;
}

int sl_run_check_resources(const sl_config *cfg, const sl_grid *g, const char *output,
                           MPI_Comm comm) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  int err = SL_OK;
  char msg[4096] = "", a[32], b[32];
  size_t len = 0;
  /* Memory per node (every node's ranks against its memory) and the MPI layout. */
  err = sl_run_check_layout(cfg, g, output, comm, msg, sizeof msg, &len);
  if (rank == 0 && err == SL_OK) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s", output);
    char *slash = strrchr(dir, '/');
    if (!slash)
      snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
      dir[1] = '\0';
    else
      *slash = '\0';
    struct statvfs vfs;
    double est = file_bytes(cfg, g->n_cells);
    if (statvfs(dir, &vfs) == 0) {
      double free_b = (double)vfs.f_bavail * (double)vfs.f_frsize;
      /* Twice the estimate plus 1 MiB: room for the estimate's error, HDF5's metadata and the
       * running cells' checkpoints (a checkpoint that cannot be written is only warned about). */
      const double need = 2 * est + (1 << 20);
      if (free_b < need) {
        char c[32];
        sl_fmt_bytes(est, a, sizeof a);
        sl_fmt_bytes(free_b, b, sizeof b);
        sl_fmt_bytes(need, c, sizeof c);
        len += (size_t)snprintf(msg + len, sizeof msg - len,
                                "%sthe results file needs about %s (the run asks for %s free: "
                                "twice that plus 1 MiB, for metadata and checkpoints) but '%s' "
                                "has %s free: free space, or write elsewhere with -o",
                                len ? "\n" : "", a, c, dir, b);
      }
    }
    if (len) err = SL_ERROR(SL_ERR_IO, "%s", msg);
  }
  int worst_err = err;
  MPI_Allreduce(&err, &worst_err, 1, MPI_INT, MPI_MAX, comm);
  if (worst_err != SL_OK && err == SL_OK)
    err = SL_ERROR(worst_err, "rank 0 found the run would not fit (see its message)");
  return err;
}

static const sl_grid *g_by_cost;
static int cost_desc(const void *x, const void *y) {
  double a = g_by_cost->cells[*(const int64_t *)x].cost,
         b = g_by_cost->cells[*(const int64_t *)y].cost;
  return a < b ? 1 : a > b ? -1 : 0;
}

/* Seconds of evaluation per second of training step: eval.points passes over the held-out
 * tokens and one over the corpus, forward only (about a third of a step per batch). */
static double eval_steps(const sl_config *cfg, const sl_cell *c) {
  double preds = (double)c->spec.B * (c->spec.family == SL_MODEL_GPT ? c->spec.T : 1);
  return (cfg->eval.points + 1) * (double)cfg->eval.tokens / preds / 3.0;
}

int sl_run_dry_run(const sl_config *cfg, const sl_grid *g, int ranks, FILE *out) {
  const int64_t n = g->n_cells;
  int err = SL_OK;
  double *step = calloc((size_t)n, sizeof *step); /* seconds per step, -1: does not fit */
  double *cell = calloc((size_t)n, sizeof *cell); /* seconds of the whole cell */
  double *load = calloc((size_t)ranks, sizeof *load);
  int64_t *order = calloc((size_t)n, sizeof *order);
  SL_CHECK_GOTO(step && cell && load && order, SL_ERR_NOMEM, done,
                "out of memory planning %lld cells", (long long)n);
  double avail = mem_available(), total = 0, largest = 0, flops = 0;
  fprintf(out, "%6s %10s %11s %8s %12s %10s %10s %10s\n", "cell", "N", "D", "steps", "tokens",
          "FLOP", "memory", "est. s");
  for (int64_t i = 0; i < n; i++) {
    const sl_cell *c = &g->cells[i];
    size_t mem = sl_cell_memory_bytes(cfg, c);
    step[i] = 0;
    for (int64_t j = 0; j < i && step[i] == 0; j++) /* one timing per model shape */
      if (g->cells[j].n_params == c->n_params) step[i] = step[j];
    if (avail > 0 && (double)mem > avail)
      step[i] = -1;
    else if (step[i] <= 0)
      SL_CALL_GOTO(sl_train_step_seconds(cfg, c, 3, &step[i]), done);
    cell[i] = step[i] < 0 ? -1 : step[i] * ((double)c->steps + eval_steps(cfg, c));
    char mb[32];
    sl_fmt_bytes((double)mem, mb, sizeof mb);
    fprintf(out, "%6lld %10zu %11lld %8lld %12lld %10.3g %10s %10.1f\n", (long long)c->index,
            c->n_params, (long long)c->d_tokens, (long long)c->steps, (long long)c->tokens_trained,
            c->cost, mb, cell[i]);
    flops += c->cost;
    if (cell[i] > 0) total += cell[i];
    if (cell[i] > largest) largest = cell[i];
    order[i] = i;
  }
  /* The scheduler's rule on the estimates: most expensive first, to the least loaded rank. */
  g_by_cost = g;
  qsort(order, (size_t)n, sizeof *order, cost_desc);
  for (int64_t k = 0; k < n; k++) {
    int best = 0;
    for (int r = 1; r < ranks; r++)
      if (load[r] < load[best]) best = r;
    if (cell[order[k]] > 0) load[best] += cell[order[k]];
  }
  double makespan = 0;
  for (int r = 0; r < ranks; r++)
    if (load[r] > makespan) makespan = load[r];
  double bound = total / ranks > largest ? total / ranks : largest;
  char a[32], b[32], c2[32];
  sl_fmt_duration(total, a, sizeof a);
  sl_fmt_duration(makespan, b, sizeof b);
  sl_fmt_duration(bound, c2, sizeof c2);
  fprintf(out,
          "\n%lld cells, %.3g training FLOP, %s of work: expected wall time on %d rank%s %s "
          "(lower bound %s). Step times measured here on rank 0; -1: the cell would not fit "
          "in this node's memory.\n",
          (long long)n, flops, a, ranks, ranks > 1 ? "s" : "", b, c2);
done:
  free(step);
  free(cell);
  free(load);
  free(order);
  return err;
}
