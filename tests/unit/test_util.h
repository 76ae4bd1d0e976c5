/* Shared scaffolding for the CUnit tests: a main that runs the suite and fails on any failure. */
#ifndef SLINGSHOT_TEST_UTIL_H
#define SLINGSHOT_TEST_UTIL_H

#include <CUnit/Basic.h>
#include <mpi.h>
#include <stdio.h>

#include "slingshot/error.h"

typedef struct sl_test {
  const char *name;
  void (*fn)(void);
} sl_test;

/* Asserts a status is SL_OK and prints the error when it is not. */
#define SL_ASSERT_OK(expr)                                                                         \
  do {                                                                                             \
    int sl_t_e_ = (expr);                                                                          \
    if (sl_t_e_ != SL_OK) sl_error_print(stderr);                                                  \
    CU_ASSERT_EQUAL_FATAL(sl_t_e_, SL_OK);                                                         \
  } while (0)

/* Runs the tests under MPI_Init (singleton) and returns non-zero on any failure. */
static inline int sl_test_main(int argc, char **argv, const char *suite_name,
                               const sl_test *tests) {
  MPI_Init(&argc, &argv);
  if (CU_initialize_registry() != CUE_SUCCESS) return 2;
  CU_pSuite suite = CU_add_suite(suite_name, NULL, NULL);
  for (const sl_test *t = tests; t->name; t++)
    CU_add_test(suite, t->name, t->fn);
  CU_basic_set_mode(CU_BRM_VERBOSE);
  CU_basic_run_tests();
  unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
  unsigned run = CU_get_number_of_tests_run();
  CU_cleanup_registry();
  MPI_Finalize();
  return (failed > 0 || run == 0) ? 1 : 0;
}

#endif
