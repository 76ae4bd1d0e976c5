#include "slingshot/timer.h"

#include <string.h>
#include <time.h>

#define SL_MAX_TIMERS 64
#define SL_TIMER_NAME 32

static struct {
  char name[SL_TIMER_NAME];
  double total, started;
  long calls;
  int running;
} g_timers[SL_MAX_TIMERS];
static int g_n_timers;

double sl_wtime(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int find(const char *phase, int create) {
  for (int i = 0; i < g_n_timers; i++)
    if (strncmp(g_timers[i].name, phase, SL_TIMER_NAME - 1) == 0) return i;
  if (!create || g_n_timers == SL_MAX_TIMERS) return -1;
  int i = g_n_timers++;
  memset(&g_timers[i], 0, sizeof g_timers[i]);
  strncpy(g_timers[i].name, phase, SL_TIMER_NAME - 1);
  return i;
}

void sl_timer_start(const char *phase) {
  int i = find(phase, 1);
  if (i < 0) return;
  g_timers[i].started = sl_wtime();
  g_timers[i].running = 1;
}

void sl_timer_stop(const char *phase) {
  int i = find(phase, 0);
  if (i < 0 || !g_timers[i].running) return;
  g_timers[i].total += sl_wtime() - g_timers[i].started;
  g_timers[i].calls++;
  g_timers[i].running = 0;
}

double sl_timer_total(const char *phase) {
  int i = find(phase, 0);
  return i < 0 ? 0.0 : g_timers[i].total;
}

void sl_timers_reset(void) {
  g_n_timers = 0;
}

int sl_timers_report(MPI_Comm comm, FILE *out) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  /* Phases may differ between ranks: gather every rank's names, then reduce over the union. */
  char names[SL_MAX_TIMERS][SL_TIMER_NAME];
  int n_union = 0;
  for (int r = 0; r < size; r++) {
    int n = rank == r ? g_n_timers : 0;
    MPI_Bcast(&n, 1, MPI_INT, r, comm);
    char buf[SL_MAX_TIMERS * SL_TIMER_NAME];
    if (rank == r)
      for (int i = 0; i < n; i++)
        memcpy(buf + i * SL_TIMER_NAME, g_timers[i].name, SL_TIMER_NAME);
    MPI_Bcast(buf, n * SL_TIMER_NAME, MPI_CHAR, r, comm);
    for (int i = 0; i < n; i++) {
      int seen = 0;
      for (int j = 0; j < n_union; j++)
        if (strcmp(names[j], buf + i * SL_TIMER_NAME) == 0) seen = 1;
      if (!seen && n_union < SL_MAX_TIMERS)
        memcpy(names[n_union++], buf + i * SL_TIMER_NAME, SL_TIMER_NAME);
    }
  }
  if (rank == 0 && n_union > 0)
    fprintf(out, "%-20s %10s %10s %10s %8s\n", "phase", "max s", "min s", "mean s", "calls");
  for (int j = 0; j < n_union; j++) {
    int i = find(names[j], 0);
    double t = i < 0 ? 0.0 : g_timers[i].total;
    long calls = i < 0 ? 0 : g_timers[i].calls;
    double tmax, tmin, tsum;
    long csum;
    MPI_Reduce(&t, &tmax, 1, MPI_DOUBLE, MPI_MAX, 0, comm);
    MPI_Reduce(&t, &tmin, 1, MPI_DOUBLE, MPI_MIN, 0, comm);
    MPI_Reduce(&t, &tsum, 1, MPI_DOUBLE, MPI_SUM, 0, comm);
    MPI_Reduce(&calls, &csum, 1, MPI_LONG, MPI_SUM, 0, comm);
    if (rank == 0)
      fprintf(out, "%-20s %10.3f %10.3f %10.3f %8ld\n", names[j], tmax, tmin, tsum / size, csum);
  }
  return 0;
}
