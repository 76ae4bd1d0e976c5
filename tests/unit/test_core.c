/* Core: error traceback, rng determinism and distribution, timers. */
#include <math.h>
#include <string.h>

#include "slingshot/error.h"
#include "slingshot/rng.h"
#include "slingshot/timer.h"
#include "test_util.h"

static int inner(int x) {
  SL_CHECK(x > 0, SL_ERR_ARG, "x must be positive, got %d", x);
  return SL_OK;
}
static int outer(int x) {
  SL_CALL(inner(x));
  return SL_OK;
}

static void test_error_traceback(void) {
  sl_error_clear();
  CU_ASSERT_EQUAL(outer(1), SL_OK);
  CU_ASSERT_EQUAL(outer(-3), SL_ERR_ARG);
  CU_ASSERT_STRING_EQUAL(sl_error_message(), "x must be positive, got -3");
  CU_ASSERT_EQUAL(sl_error_code(), SL_ERR_ARG);
  char buf[2048] = {0};
  FILE *f = fmemopen(buf, sizeof buf - 1, "w");
  sl_error_print(f);
  fclose(f);
  CU_ASSERT_PTR_NOT_NULL(strstr(buf, "at inner"));
  CU_ASSERT_PTR_NOT_NULL(strstr(buf, "at outer"));
  CU_ASSERT_TRUE(strstr(buf, "at inner") < strstr(buf, "at outer")); /* innermost first */
  sl_error_clear();
  CU_ASSERT_EQUAL(sl_error_code(), SL_OK);
}

static void test_rng_streams(void) {
  sl_rng a, b, c;
  sl_rng_stream(&a, 42, 7, "init");
  sl_rng_stream(&b, 42, 7, "init");
  sl_rng_stream(&c, 42, 8, "init");
  int same_ab = 1, same_ac = 1;
  for (int i = 0; i < 100; i++) {
    uint64_t x = sl_rng_u64(&a), y = sl_rng_u64(&b), z = sl_rng_u64(&c);
    same_ab &= x == y;
    same_ac &= x == z;
  }
  CU_ASSERT_TRUE(same_ab);
  CU_ASSERT_FALSE(same_ac);
  sl_rng_stream(&c, 42, 7, "batch");
  sl_rng_stream(&a, 42, 7, "init");
  CU_ASSERT_NOT_EQUAL(sl_rng_u64(&a), sl_rng_u64(&c));
}

static void test_rng_moments(void) {
  sl_rng r;
  sl_rng_seed(&r, 1);
  const int n = 200000;
  double s = 0, s2 = 0, g = 0, g2 = 0;
  long counts[10] = {0};
  for (int i = 0; i < n; i++) {
    double u = sl_rng_uniform(&r);
    CU_ASSERT_TRUE_FATAL(u >= 0.0 && u < 1.0);
    s += u;
    s2 += u * u;
    double z = sl_rng_normal(&r);
    g += z;
    g2 += z * z;
    counts[sl_rng_below(&r, 10)]++;
  }
  /* Means within 5 standard errors of the exact values. */
  CU_ASSERT_DOUBLE_EQUAL(s / n, 0.5, 5 * sqrt(1.0 / 12 / n));
  CU_ASSERT_DOUBLE_EQUAL(s2 / n, 1.0 / 3, 5 * sqrt(4.0 / 45 / n));
  CU_ASSERT_DOUBLE_EQUAL(g / n, 0.0, 5 * sqrt(1.0 / n));
  CU_ASSERT_DOUBLE_EQUAL(g2 / n, 1.0, 5 * sqrt(2.0 / n));
  /* Chi-square of sl_rng_below over 10 bins, 9 dof: 99.99% quantile ~ 33.7. */
  double chi2 = 0, e = n / 10.0;
  for (int k = 0; k < 10; k++)
    chi2 += (counts[k] - e) * (counts[k] - e) / e;
  CU_ASSERT_TRUE(chi2 < 33.7);
}

static void test_timers(void) {
  sl_timers_reset();
  sl_timer_start("phase");
  volatile double x = 0;
  for (int i = 0; i < 1000000; i++)
    x += i;
  sl_timer_stop("phase");
  CU_ASSERT_TRUE(sl_timer_total("phase") > 0.0);
  CU_ASSERT_EQUAL(sl_timer_total("never"), 0.0);
  char buf[4096] = {0};
  FILE *f = fmemopen(buf, sizeof buf - 1, "w");
  CU_ASSERT_EQUAL(sl_timers_report(MPI_COMM_WORLD, f), 0);
  fclose(f);
  CU_ASSERT_PTR_NOT_NULL(strstr(buf, "phase"));
}

int main(int argc, char **argv) {
  static const sl_test tests[] = {{"error traceback", test_error_traceback},
                                  {"rng streams", test_rng_streams},
                                  {"rng moments", test_rng_moments},
                                  {"timers", test_timers},
                                  {NULL, NULL}};
  return sl_test_main(argc, argv, "core", tests);
}
