/* Slices of the grid for job arrays (see include/slingshot/slice.h). */
#include "slingshot/slice.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/error.h"

static const double *g_cost;
static int by_cost_desc(const void *a, const void *b) {
  int64_t i = *(const int64_t *)a, j = *(const int64_t *)b;
  if (g_cost[i] != g_cost[j]) return g_cost[i] < g_cost[j] ? 1 : -1;
  return i < j ? -1 : (i > j);
}

/* A binary min-heap of slices keyed by (load, slice index): the least loaded slice on top, the
 * lowest index among equal loads, so the assignment is deterministic. */
typedef struct heap {
  double *load;
  int64_t *slice; /* heap position -> slice */
  int64_t n;
} heap;

static int less(const heap *h, int64_t a, int64_t b) {
  double la = h->load[h->slice[a]], lb = h->load[h->slice[b]];
  return la < lb || (la == lb && h->slice[a] < h->slice[b]);
}

static void sift_down(heap *h, int64_t p) {
  for (;;) {
    int64_t l = 2 * p + 1, r = l + 1, m = p;
    if (l < h->n && less(h, l, m)) m = l;
    if (r < h->n && less(h, r, m)) m = r;
    if (m == p) return;
    int64_t t = h->slice[p];
    h->slice[p] = h->slice[m];
    h->slice[m] = t;
    p = m;
  }
}

int sl_slice_assign(const double *cost, int64_t n, int64_t k, int64_t *owner) {
  SL_CHECK(k >= 1, SL_ERR_ARG, "the number of slices must be at least 1 (got %lld)", (long long)k);
  int64_t *order = NULL;
  heap h = {0};
  int err = SL_OK;
  SL_ALLOC(order, n);
  h.load = calloc((size_t)k, sizeof *h.load);
  h.slice = calloc((size_t)k, sizeof *h.slice);
  SL_CHECK_GOTO(h.load && h.slice, SL_ERR_NOMEM, done, "out of memory for %lld slices",
                (long long)k);
  for (int64_t i = 0; i < n; i++)
    order[i] = i;
  g_cost = cost;
  qsort(order, (size_t)n, sizeof *order, by_cost_desc);
  h.n = k;
  for (int64_t s = 0; s < k; s++) /* all loads 0: index order is already a heap */
    h.slice[s] = s;
  for (int64_t j = 0; j < n; j++) {
    int64_t s = h.slice[0];
    owner[order[j]] = s;
    h.load[s] += cost[order[j]];
    sift_down(&h, 0);
  }
done:
  free(order);
  free(h.load);
  free(h.slice);
  return err;
}

int sl_slice_mask(const double *cost, int64_t n, int64_t task, int64_t count, int64_t first,
                  int64_t last, uint8_t *owned) {
  for (int64_t i = 0; i < n; i++)
    owned[i] = first < 0 || (i >= first && i <= last);
  if (count <= 0) return SL_OK;
  SL_CHECK(task >= 0 && task < count, SL_ERR_ARG,
           "array task %lld is outside 0..%lld (--array-count %lld): slices are numbered from 0",
           (long long)task, (long long)count - 1, (long long)count);
  int64_t *owner;
  SL_ALLOC(owner, n);
  int err = sl_slice_assign(cost, n, count, owner);
  for (int64_t i = 0; i < n && err == SL_OK; i++)
    owned[i] = owned[i] && owner[i] == task;
  free(owner);
  return err == SL_OK ? SL_OK : sl_error_trace(err, __func__, __FILE__, __LINE__);
}

static int parse_index(const char *s, char **end, int64_t *v) {
  errno = 0;
  if (*s < '0' || *s > '9') return 0;
  long long x = strtoll(s, end, 10);
  if (errno) return 0;
  *v = x;
  return 1;
}

int sl_slice_parse_cells(const char *s, int64_t *first, int64_t *last) {
  char *end;
  int ok = parse_index(s, &end, first);
  if (ok && *end == '-')
    ok = parse_index(end + 1, &end, last);
  else
    *last = *first;
  SL_CHECK(ok && *end == '\0', SL_ERR_ARG,
           "--cells %s: give a cell index or an inclusive range A-B of indices (e.g. --cells 0-7)",
           s);
  SL_CHECK(*first <= *last, SL_ERR_ARG, "--cells %s: the range is empty (A > B)", s);
  return SL_OK;
}

/* An environment variable as a non-negative integer: 1 found, 0 absent, -1 not a number. */
static int env_int(const char *(*get)(const char *), const char *name, int64_t *v) {
  const char *s = get(name);
  if (!s || !*s) return 0;
  char *end;
  errno = 0;
  long long x = strtoll(s, &end, 10);
  if (errno || *end || x < 0) return -1;
  *v = x;
  return 1;
}

int sl_slice_from_env(const char *(*get)(const char *), int64_t *task, int64_t *count, char *source,
                      size_t size) {
  int has_task = *task >= 0, has_count = *count > 0;
  snprintf(source, size, "%s", has_task || has_count ? "command line" : "");
  if (has_task && has_count) return SL_OK;
  int64_t id = 0, min = 0, max = 0, n = 0;
  int e_id = env_int(get, "SLURM_ARRAY_TASK_ID", &id);
  if (e_id != 0) {
    SL_CHECK(e_id > 0, SL_ERR_ARG, "SLURM_ARRAY_TASK_ID='%s' is not an index",
             get("SLURM_ARRAY_TASK_ID"));
    snprintf(source, size, "SLURM");
    if (has_count) { /* task ids are slice indices */
      if (!has_task) *task = id;
      return SL_OK;
    }
    int e_min = env_int(get, "SLURM_ARRAY_TASK_MIN", &min);
    int e_max = env_int(get, "SLURM_ARRAY_TASK_MAX", &max);
    int e_n = env_int(get, "SLURM_ARRAY_TASK_COUNT", &n);
    SL_CHECK(e_min > 0 && e_n > 0 && n > 0, SL_ERR_ARG,
             "SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_MIN/COUNT are not: give "
             "--array-count K (the number of slices)");
    SL_CHECK(e_max <= 0 || max - min + 1 == n, SL_ERR_ARG,
             "the job array's task ids (%lld..%lld, %lld tasks) are not a full range, as after "
             "resubmitting some slices: give --array-count K (the number of slices of the first "
             "submission); the task ids are then the slice indices",
             (long long)min, (long long)max, (long long)n);
    if (!has_task) *task = id - min;
    *count = n;
    return SL_OK;
  }
  int e_pbs = env_int(get, "PBS_ARRAY_INDEX", &id);
  const char *pbs_name = "PBS_ARRAY_INDEX";
  if (e_pbs == 0) {
    e_pbs = env_int(get, "PBS_ARRAYID", &id);
    pbs_name = "PBS_ARRAYID";
  }
  if (e_pbs != 0) {
    SL_CHECK(e_pbs > 0, SL_ERR_ARG, "%s='%s' is not an index", pbs_name, get(pbs_name));
    snprintf(source, size, "PBS");
    SL_CHECK(has_count, SL_ERR_ARG,
             "%s is set but PBS gives no task count: give --array-count K (the number of "
             "slices; submit with -J 0-(K-1))",
             pbs_name);
    if (!has_task) *task = id;
    return SL_OK;
  }
  SL_CHECK(!has_task && !has_count, SL_ERR_ARG,
           "%s given without %s (and no SLURM or PBS job array around): give both "
           "--array-task I and --array-count K",
           has_task ? "--array-task" : "--array-count",
           has_task ? "--array-count" : "--array-task");
  return SL_OK;
}

void sl_slice_format_list(const int64_t *list, int64_t n, char *buf, size_t size) {
  size_t len = 0;
  buf[0] = '\0';
  for (int64_t i = 0; i < n;) {
    int64_t j = i;
    while (j + 1 < n && list[j + 1] == list[j] + 1)
      j++;
    char item[64];
    if (j > i)
      snprintf(item, sizeof item, "%s%lld-%lld", i ? "," : "", (long long)list[i],
               (long long)list[j]);
    else
      snprintf(item, sizeof item, "%s%lld", i ? "," : "", (long long)list[i]);
    if (len + strlen(item) + 4 >= size) {
      snprintf(buf + len, size - len, "...");
      return;
    }
    len += (size_t)snprintf(buf + len, size - len, "%s", item);
    i = j + 1;
  }
}
