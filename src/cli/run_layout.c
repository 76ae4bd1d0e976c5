/* Before a run: the MPI layout against the grid (see run_plan.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run_plan.h"
#include "slingshot/error.h"
#include "slingshot/log.h"
#include "slingshot/train.h"

/* A number of bytes from a one-line file ("max" or unreadable: 0). */
static double read_bytes_file(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  char line[64] = "";
  double v = 0;
  if (fgets(line, sizeof line, f) && strncmp(line, "max", 3) != 0) v = strtod(line, NULL);
  fclose(f);
  return v > 0 ? v : 0;
}

double sl_run_node_memory(void) {
  const char *env = getenv("SLINGSHOT_MEM_AVAILABLE");
  if (env && *env) {
    char *end;
    double v = strtod(env, &end);
    if (*end == '\0' && v > 0) return v;
  }
  double avail = 0, kb = 0;
  FILE *f = fopen("/proc/meminfo", "r");
  if (f) {
    char line[256];
    while (fgets(line, sizeof line, f))
      if (sscanf(line, "MemAvailable: %lf kB", &kb) == 1) break;
    fclose(f);
    avail = kb * 1024.0;
  }
  /* A batch system's cgroup limit (Slurm, containers) is lower than what the node has free, and
   * /proc/meminfo does not show it: exceeding it kills the job. v2, then v1. */
  double limit = read_bytes_file("/sys/fs/cgroup/memory.max");
  double used = read_bytes_file("/sys/fs/cgroup/memory.current");
  if (limit <= 0) {
    limit = read_bytes_file("/sys/fs/cgroup/memory/memory.limit_in_bytes");
    used = read_bytes_file("/sys/fs/cgroup/memory/memory.usage_in_bytes");
    if (limit >= 1e18) limit = 0; /* v1 writes "no limit" as a huge number */
  }
  if (limit > 0) {
    double room = limit > used ? limit - used : 0;
    if (avail <= 0 || room < avail) avail = room;
  }
  return avail;
}

/* What each node's first rank finds, gathered on rank 0. */
typedef struct node_info {
  int leader;    /* 1 on the first rank of its node */
  int ranks;     /* ranks on this node */
  double mem;    /* bytes available to this node's ranks (0: unknown) */
  int dir_errno; /* 0 if the output's directory is writable from this node */
  char host[64];
} node_info;

static void output_dir(const char *output, char *dir, size_t size) {
  snprintf(dir, size, "%s", output);
  char *slash = strrchr(dir, '/');
  if (!slash)
    snprintf(dir, size, ".");
  else if (slash == dir)
    dir[1] = '\0';
  else
    *slash = '\0';
}

int sl_run_check_layout(const sl_config *cfg, const sl_grid *g, const char *output, MPI_Comm comm,
                        char *msg, size_t size, size_t *len) {
  int rank, nranks;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &nranks);
  node_info me = {0};
  MPI_Comm node;
  int node_rank = 0;
  me.ranks = 1;
  if (MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
    MPI_Comm_size(node, &me.ranks);
    MPI_Comm_rank(node, &node_rank);
    MPI_Comm_free(&node);
  }
  me.leader = node_rank == 0;
  if (me.leader) {
    me.mem = sl_run_node_memory();
    char dir[512];
    output_dir(output, dir, sizeof dir);
    me.dir_errno = access(dir, W_OK) == 0 ? 0 : (errno ? errno : EACCES);
    if (gethostname(me.host, sizeof me.host) != 0) snprintf(me.host, sizeof me.host, "?");
    me.host[sizeof me.host - 1] = '\0';
  }
  node_info *all = NULL;
  if (rank == 0) {
    all = calloc((size_t)nranks, sizeof *all);
    SL_CHECK(all, SL_ERR_NOMEM, "out of memory checking the layout of %d ranks", nranks);
  }
  int e = MPI_Gather(&me, (int)sizeof me, MPI_BYTE, all, (int)sizeof me, MPI_BYTE, 0, comm);
  if (e != MPI_SUCCESS) {
    free(all);
    return sl_error_mpi(e, "MPI_Gather", __func__, __FILE__, __LINE__);
  }
  if (rank != 0) return SL_OK;

  int64_t worst = 0;
  size_t worst_bytes = 0;
  for (int64_t i = 0; i < g->n_cells; i++) {
    size_t bytes = sl_cell_memory_bytes(cfg, &g->cells[i]);
    if (bytes > worst_bytes) worst_bytes = bytes, worst = i;
  }
  int n_nodes = 0, reported_dir = 0;
  for (int r = 0; r < nranks; r++) {
    const node_info *n = &all[r];
    if (!n->leader) continue;
    n_nodes++;
    if (n->mem > 0 && (double)worst_bytes * n->ranks > n->mem) {
      char a[32], b[32], c[32];
      sl_fmt_bytes((double)worst_bytes, a, sizeof a);
      sl_fmt_bytes((double)worst_bytes * n->ranks, b, sizeof b);
      sl_fmt_bytes(n->mem, c, sizeof c);
      *len += (size_t)snprintf(
          msg + *len, size > *len ? size - *len : 0,
          "%scell %lld (N=%zu, D=%lld) needs %s on each of the %d rank%s of node %s (first "
          "rank %d), %s in all, but %s is available: run fewer ranks per node, or lower "
          "grid.n_params, grid.d_tokens or train.batch",
          *len ? "\n" : "", (long long)worst, g->cells[worst].n_params,
          (long long)g->cells[worst].d_tokens, a, n->ranks, n->ranks > 1 ? "s" : "", n->host, r, b,
          c);
      if (*len >= size) *len = size - 1;
    }
    if (n->dir_errno != 0 && r != 0 && !reported_dir) {
      /* Rank 0's own view of the directory is checked when the file is created; a directory
       * other nodes cannot write would fail or hang the collective create. */
      char dir[512];
      output_dir(output, dir, sizeof dir);
      *len += (size_t)snprintf(msg + *len, size > *len ? size - *len : 0,
                               "%sthe output directory '%s' is not writable from node %s (rank "
                               "%d): %s; write the results to a file system every node shares",
                               *len ? "\n" : "", dir, n->host, r, strerror(n->dir_errno));
      if (*len >= size) *len = size - 1;
      reported_dir = 1;
    }
  }
  if (nranks > g->n_cells)
    sl_log(SL_LOG_WARN,
           "%d ranks for %lld cell%s: %lld rank%s will have nothing to do; run with at most %lld "
           "rank%s (or a larger grid)",
           nranks, (long long)g->n_cells, g->n_cells > 1 ? "s" : "",
           (long long)(nranks - g->n_cells), nranks - g->n_cells > 1 ? "s" : "",
           (long long)g->n_cells, g->n_cells > 1 ? "s" : "");
  sl_log(SL_LOG_DEBUG, "layout: %d rank%s on %d node%s", nranks, nranks > 1 ? "s" : "", n_nodes,
         n_nodes > 1 ? "s" : "");
  free(all);
  return SL_OK;
}
