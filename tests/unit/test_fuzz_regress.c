/* Inputs the fuzzers (tests/fuzz) found crashing, fed back to the code they crashed, plus the
 * bug's smallest form written out. Under the sanitizer build (CI) an overflow here aborts. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/config.h"
#include "slingshot/csv.h"
#include "slingshot/error.h"
#include "test_util.h"

#define REGRESS SLINGSHOT_SOURCE_DIR "/tests/fuzz/regress"

/* Reads every file of REGRESS/sub into fn; returns how many. */
static int each_file(const char *sub, void (*fn)(const char *path, const char *data, size_t n)) {
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/%s", REGRESS, sub);
  DIR *d = opendir(dir);
  CU_ASSERT_PTR_NOT_NULL_FATAL(d);
  struct dirent *e;
  int count = 0;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    FILE *f = fopen(path, "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc((size_t)n + 1);
    CU_ASSERT_EQUAL_FATAL(fread(data, 1, (size_t)n, f), (size_t)n);
    data[n] = '\0';
    fclose(f);
    fn(path, data, (size_t)n);
    free(data);
    count++;
  }
  closedir(d);
  return count;
}

/* What fuzz_csv does with an input: parse, then look up a column that is not there. */
static void csv_input(const char *path, const char *data, size_t n) {
  sl_csv csv;
  if (sl_csv_parse(data, n, path, &csv) != SL_OK) {
    CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), path));
    sl_error_clear();
    return;
  }
  size_t col = 0;
  CU_ASSERT_EQUAL(sl_csv_column(&csv, "no such column", &col), SL_ERR_FORMAT);
  CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), "no column 'no such column'"));
  sl_error_clear();
  sl_csv_free(&csv);
}

static void test_csv_regressions(void) {
  CU_ASSERT_TRUE(each_file("csv", csv_input) >= 1);
}

/* The bug header_list_overflow.csv found: listing the known columns of a wide header overran
 * the message buffer by up to 5 bytes (", ..." appended to a nearly full buffer). */
static void test_long_header_listing(void) {
  for (int width = 1; width <= 40; width++) { /* every alignment of the cut against the end */
    char *text = malloc(200 * 48 + 16);
    size_t len = 0;
    for (int j = 0; j < 200; j++)
      len += (size_t)sprintf(text + len, "%s%.*s%d", j ? "," : "", width,
                             "cccccccccccccccccccccccccccccccccccccccc", j);
    len += (size_t)sprintf(text + len, "\n");
    sl_csv csv;
    SL_ASSERT_OK(sl_csv_parse(text, len, "wide.csv", &csv));
    size_t col;
    CU_ASSERT_EQUAL(sl_csv_column(&csv, "loss", &col), SL_ERR_FORMAT);
    const char *m = sl_error_message();
    CU_ASSERT_PTR_NOT_NULL(strstr(m, "wide.csv: no column 'loss' (the header has: 'c"));
    CU_ASSERT_PTR_NOT_NULL(strstr(m, ", ...)")); /* cut, and says so */
    sl_error_clear();
    sl_csv_free(&csv);
    free(text);
  }
}

/* What fuzz_config does: a config that parses resolves to a text that parses to the same.
 * fuzz_config has crashed on nothing; regress/config holds inputs of the shapes it produced
 * (nul_byte.cfg: text cut by a NUL, as sl_config_parse sees a string; files with a NUL are
 * refused earlier, by sl_config_read_file). */
static void config_input(const char *path, const char *data, size_t n) {
  (void)n;
  sl_config a, b;
  if (sl_config_parse(data, path, &a) != SL_OK) {
    CU_ASSERT_TRUE(sl_error_message()[0] != '\0');
    sl_error_clear();
    return;
  }
  char *t1 = NULL, *t2 = NULL;
  SL_ASSERT_OK(sl_config_to_text(&a, &t1));
  SL_ASSERT_OK(sl_config_parse(t1, path, &b));
  SL_ASSERT_OK(sl_config_to_text(&b, &t2));
  CU_ASSERT_STRING_EQUAL(t1, t2);
  free(t1);
  free(t2);
}

static void test_config_regressions(void) {
  CU_ASSERT_TRUE(each_file("config", config_input) >= 1);
}

int main(int argc, char **argv) {
  static const sl_test tests[] = {{"csv inputs the fuzzer found", test_csv_regressions},
                                  {"a wide header's column list", test_long_header_listing},
                                  {"config inputs kept for regression", test_config_regressions},
                                  {NULL, NULL}};
  return sl_test_main(argc, argv, "fuzz_regress", tests);
}
