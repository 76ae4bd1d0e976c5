/* Slices of the grid for job arrays: balance against brute-force optimum, a naive LPT, every
 * cell in exactly one slice, determinism, the job-array environment, --cells and list parsing. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/error.h"
#include "slingshot/rng.h"
#include "slingshot/slice.h"
#include "test_util.h"

/* The textbook LPT, O(n K): independent of the heap in src/grid/slice.c. */
static void naive_lpt(const double *cost, int64_t n, int64_t k, int64_t *owner) {
  int64_t *order = malloc((size_t)n * sizeof *order);
  double *load = calloc((size_t)k, sizeof *load);
  for (int64_t i = 0; i < n; i++)
    order[i] = i;
  for (int64_t i = 0; i < n; i++) /* selection sort: cost descending, index ascending */
    for (int64_t j = i + 1; j < n; j++) {
      double a = cost[order[i]], b = cost[order[j]];
      if (b > a || (b == a && order[j] < order[i])) {
        int64_t t = order[i];
        order[i] = order[j];
        order[j] = t;
      }
    }
  for (int64_t j = 0; j < n; j++) {
    int64_t best = 0;
    for (int64_t s = 1; s < k; s++)
      if (load[s] < load[best]) best = s;
    owner[order[j]] = best;
    load[best] += cost[order[j]];
  }
  free(order);
  free(load);
}

static double max_load(const double *cost, int64_t n, int64_t k, const int64_t *owner) {
  double *load = calloc((size_t)k, sizeof *load), m = 0;
  for (int64_t i = 0; i < n; i++)
    load[owner[i]] += cost[i];
  for (int64_t s = 0; s < k; s++)
    if (load[s] > m) m = load[s];
  free(load);
  return m;
}

/* The optimal makespan by enumerating every assignment (k^n). */
static double brute_force_opt(const double *cost, int n, int k) {
  int64_t total = 1;
  for (int i = 0; i < n; i++)
    total *= k;
  double best = INFINITY;
  int64_t owner[16];
  for (int64_t code = 0; code < total; code++) {
    int64_t c = code;
    for (int i = 0; i < n; i++, c /= k)
      owner[i] = c % k;
    double m = max_load(cost, n, k, owner);
    if (m < best) best = m;
  }
  return best;
}

/* Costs like a grid's: log-uniform over four decades, some ties. */
static void random_costs(sl_rng *r, double *cost, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    cost[i] = i % 5 == 4 ? cost[i - 1] : pow(10.0, 6 + 4 * sl_rng_uniform(r));
}

static void test_balance_against_optimum(void) {
  sl_rng r;
  sl_rng_stream(&r, 11, 0, "test_slice");
  double worst = 0;
  for (int trial = 0; trial < 40; trial++) {
    int n = 5 + trial % 5, k = 2 + trial % 3;
    double cost[16];
    int64_t owner[16];
    random_costs(&r, cost, n);
    SL_ASSERT_OK(sl_slice_assign(cost, n, k, owner));
    double lpt = max_load(cost, n, k, owner), opt = brute_force_opt(cost, n, k);
    /* Graham (1969): LPT <= (4/3 - 1/(3K)) OPT. */
    CU_ASSERT_TRUE(lpt <= (4.0 / 3.0 - 1.0 / (3.0 * k)) * opt * (1 + 1e-12));
    CU_ASSERT_TRUE(lpt >= opt * (1 - 1e-12));
    if (lpt / opt > worst) worst = lpt / opt;
  }
  printf("\n  worst LPT / optimum over 40 instances: %.4f", worst);
}

static void test_large_grid_balance(void) {
  sl_rng r;
  sl_rng_stream(&r, 12, 0, "test_slice");
  const int64_t n = 2000;
  double *cost = malloc(n * sizeof *cost);
  int64_t *owner = malloc(n * sizeof *owner), *naive = malloc(n * sizeof *naive);
  random_costs(&r, cost, n);
  const int64_t ks[] = {1, 2, 7, 64, 500};
  for (size_t t = 0; t < sizeof ks / sizeof *ks; t++) {
    int64_t k = ks[t];
    SL_ASSERT_OK(sl_slice_assign(cost, n, k, owner));
    naive_lpt(cost, n, k, naive);
    CU_ASSERT_EQUAL(memcmp(owner, naive, n * sizeof *owner), 0); /* the same rule */
    double total = 0, largest = 0;
    int64_t *count = calloc((size_t)k, sizeof *count);
    for (int64_t i = 0; i < n; i++) {
      CU_ASSERT_TRUE_FATAL(owner[i] >= 0 && owner[i] < k); /* every cell in exactly one slice */
      count[owner[i]]++;
      total += cost[i];
      if (cost[i] > largest) largest = cost[i];
    }
    double bound = total / k > largest ? total / k : largest, m = max_load(cost, n, k, owner);
    printf("\n  K = %3lld: largest slice / max(total/K, largest cell) = %.4f", (long long)k,
           m / bound);
    CU_ASSERT_TRUE(m <= total / k + largest); /* list scheduling's bound */
    CU_ASSERT_TRUE(m <= 4.0 / 3.0 * bound);
    if (k <= 64) CU_ASSERT_TRUE(m <= 1.05 * bound); /* many small cells: near perfect */
    int64_t sum = 0;
    for (int64_t s = 0; s < k; s++)
      sum += count[s];
    CU_ASSERT_EQUAL(sum, n);
    free(count);
  }
  free(cost);
  free(owner);
  free(naive);
}

static void test_masks_partition_and_determinism(void) {
  double cost[10] = {5, 1, 5, 3, 2, 2, 8, 1, 1, 4};
  uint8_t owned[4][10], again[10];
  int seen[10] = {0};
  for (int t = 0; t < 4; t++) {
    SL_ASSERT_OK(sl_slice_mask(cost, 10, t, 4, -1, -1, owned[t]));
    SL_ASSERT_OK(sl_slice_mask(cost, 10, t, 4, -1, -1, again));
    CU_ASSERT_EQUAL(memcmp(owned[t], again, 10), 0);
    for (int i = 0; i < 10; i++)
      seen[i] += owned[t][i];
  }
  for (int i = 0; i < 10; i++)
    CU_ASSERT_EQUAL(seen[i], 1);
  /* By hand: sorted 8(6) 5(0) 5(2) 4(9) 3(3) 2(4) 2(5) 1(1) 1(7) 1(8) onto 4 slices. */
  int64_t owner[10];
  SL_ASSERT_OK(sl_slice_assign(cost, 10, 4, owner));
  const int64_t want[10] = {1, 1, 2, 3, 1, 2, 0, 2, 3, 3};
  for (int i = 0; i < 10; i++)
    CU_ASSERT_EQUAL(owner[i], want[i]);
  /* Equal costs: cells go to slices in index order, round robin. */
  double same[6] = {1, 1, 1, 1, 1, 1};
  SL_ASSERT_OK(sl_slice_assign(same, 6, 3, owner));
  for (int i = 0; i < 6; i++)
    CU_ASSERT_EQUAL(owner[i], i % 3);
  /* --cells intersects; count 0 means no slicing. */
  SL_ASSERT_OK(sl_slice_mask(cost, 10, 0, 0, 3, 5, again));
  for (int i = 0; i < 10; i++)
    CU_ASSERT_EQUAL(again[i], i >= 3 && i <= 5);
  SL_ASSERT_OK(sl_slice_mask(cost, 10, 2, 4, 0, 4, again));
  for (int i = 0; i < 10; i++)
    CU_ASSERT_EQUAL(again[i], i <= 4 && owned[2][i]);
  sl_error_clear();
  CU_ASSERT_EQUAL(sl_slice_mask(cost, 10, 4, 4, -1, -1, again), SL_ERR_ARG);
  CU_ASSERT_EQUAL(sl_slice_assign(cost, 10, 0, owner), SL_ERR_ARG);
  sl_error_clear();
}

/* A fake environment for sl_slice_from_env. */
static const char *const *g_env;
static const char *fake_getenv(const char *name) {
  for (const char *const *e = g_env; e && *e; e += 2)
    if (!strcmp(e[0], name)) return e[1];
  return NULL;
}

static int resolve(const char *const *env, int64_t task, int64_t count, int64_t *t, int64_t *k,
                   char *src) {
  g_env = env;
  *t = task;
  *k = count;
  int e = sl_slice_from_env(fake_getenv, t, k, src, 64);
  sl_error_clear();
  return e;
}

static void test_environment(void) {
  int64_t t, k;
  char src[64];
  const char *none[] = {NULL};
  CU_ASSERT_EQUAL(resolve(none, -1, 0, &t, &k, src), SL_OK);
  CU_ASSERT_EQUAL(k, 0);
  CU_ASSERT_STRING_EQUAL(src, "");
  CU_ASSERT_EQUAL(resolve(none, 2, 5, &t, &k, src), SL_OK);
  CU_ASSERT_TRUE(t == 2 && k == 5);
  CU_ASSERT_EQUAL(resolve(none, 2, 0, &t, &k, src), SL_ERR_ARG); /* half given */
  /* sbatch --array=1-4: task ids 1..4 are slices 0..3 */
  const char *slurm[] = {"SLURM_ARRAY_TASK_ID",
                         "3",
                         "SLURM_ARRAY_TASK_MIN",
                         "1",
                         "SLURM_ARRAY_TASK_MAX",
                         "4",
                         "SLURM_ARRAY_TASK_COUNT",
                         "4",
                         NULL};
  CU_ASSERT_EQUAL(resolve(slurm, -1, 0, &t, &k, src), SL_OK);
  CU_ASSERT_TRUE(t == 2 && k == 4);
  CU_ASSERT_STRING_EQUAL(src, "SLURM");
  /* with --array-count the task id is the slice index (resubmission of a list) */
  CU_ASSERT_EQUAL(resolve(slurm, -1, 6, &t, &k, src), SL_OK);
  CU_ASSERT_TRUE(t == 3 && k == 6);
  /* sbatch --array=1,3 without --array-count: ambiguous, refused */
  const char *sparse[] = {"SLURM_ARRAY_TASK_ID",
                          "3",
                          "SLURM_ARRAY_TASK_MIN",
                          "1",
                          "SLURM_ARRAY_TASK_MAX",
                          "3",
                          "SLURM_ARRAY_TASK_COUNT",
                          "2",
                          NULL};
  CU_ASSERT_EQUAL(resolve(sparse, -1, 0, &t, &k, src), SL_ERR_ARG);
  CU_ASSERT_EQUAL(resolve(sparse, -1, 4, &t, &k, src), SL_OK);
  CU_ASSERT_TRUE(t == 3 && k == 4);
  const char *bad[] = {"SLURM_ARRAY_TASK_ID", "x", NULL};
  CU_ASSERT_EQUAL(resolve(bad, -1, 0, &t, &k, src), SL_ERR_ARG);
  /* PBS: the index, and the count from the command line */
  const char *pbs[] = {"PBS_ARRAY_INDEX", "5", NULL};
  CU_ASSERT_EQUAL(resolve(pbs, -1, 0, &t, &k, src), SL_ERR_ARG);
  CU_ASSERT_EQUAL(resolve(pbs, -1, 8, &t, &k, src), SL_OK);
  CU_ASSERT_TRUE(t == 5 && k == 8);
  CU_ASSERT_STRING_EQUAL(src, "PBS");
  const char *torque[] = {"PBS_ARRAYID", "1", NULL};
  CU_ASSERT_EQUAL(resolve(torque, -1, 2, &t, &k, src), SL_OK);
  CU_ASSERT_TRUE(t == 1 && k == 2);
  /* the command line wins over the environment */
  CU_ASSERT_EQUAL(resolve(slurm, 0, 2, &t, &k, src), SL_OK);
  CU_ASSERT_TRUE(t == 0 && k == 2);
  CU_ASSERT_STRING_EQUAL(src, "command line");
}

static void test_parsing(void) {
  int64_t a, b;
  SL_ASSERT_OK(sl_slice_parse_cells("3-7", &a, &b));
  CU_ASSERT_TRUE(a == 3 && b == 7);
  SL_ASSERT_OK(sl_slice_parse_cells("12", &a, &b));
  CU_ASSERT_TRUE(a == 12 && b == 12);
  const char *bad[] = {"", "-3", "7-3", "3-", "a-b", "3-7x", "1,2"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    CU_ASSERT_EQUAL(sl_slice_parse_cells(bad[i], &a, &b), SL_ERR_ARG);
  sl_error_clear();
  char buf[64];
  const int64_t list[] = {0, 1, 2, 5, 7, 8};
  sl_slice_format_list(list, 6, buf, sizeof buf);
  CU_ASSERT_STRING_EQUAL(buf, "0-2,5,7-8");
  sl_slice_format_list(list, 0, buf, sizeof buf);
  CU_ASSERT_STRING_EQUAL(buf, "");
  int64_t many[100];
  for (int i = 0; i < 100; i++)
    many[i] = 2 * i;
  sl_slice_format_list(many, 100, buf, 20);
  CU_ASSERT_TRUE(strlen(buf) < 20 && strstr(buf, "...") != NULL);
}

int main(int argc, char **argv) {
  static const sl_test tests[] = {
      {"LPT within Graham's bound of the brute-force optimum", test_balance_against_optimum},
      {"large grids: same as naive LPT, every cell once, near the bound", test_large_grid_balance},
      {"masks partition the grid, deterministic, by hand", test_masks_partition_and_determinism},
      {"job-array environment (SLURM, PBS)", test_environment},
      {"--cells and list formatting", test_parsing},
      {NULL, NULL}};
  return sl_test_main(argc, argv, "slice", tests);
}
