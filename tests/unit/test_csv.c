/* CSV reader: a well-formed table in all its accepted shapes, and every error naming what is
 * wrong (file, line, column). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "slingshot/csv.h"
#include "slingshot/error.h"
#include "test_util.h"

static int parse(const char *text, sl_csv *csv) {
  return sl_csv_parse(text, strlen(text), "t.csv", csv);
}

static int has(const char *needle) {
  int ok = strstr(sl_error_message(), needle) != NULL;
  if (!ok) fprintf(stderr, "\n  message '%s' lacks '%s'\n", sl_error_message(), needle);
  return ok;
}

static void test_well_formed(void) {
  /* BOM, CRLF, a comment, a blank line, quoted fields with a comma and a doubled quote, spaces. */
  const char *text = "\xEF\xBB\xBF"
                     "N, D ,loss,label\r\n"
                     "# a comment line\r\n"
                     "1e6,2e7, 3.25 ,\"a, b\"\r\n"
                     "\r\n"
                     "2000000,4e+07,2.5,\"say \"\"hi\"\"\"\r\n"
                     "3e6,6e7,2.0,  \" padded \"  \n";
  sl_csv csv;
  SL_ASSERT_OK(parse(text, &csv));
  CU_ASSERT_EQUAL(csv.n_cols, 4);
  CU_ASSERT_EQUAL(csv.n_rows, 3);
  CU_ASSERT_STRING_EQUAL(csv.names[0], "N");
  CU_ASSERT_STRING_EQUAL(csv.names[1], "D");
  CU_ASSERT_STRING_EQUAL(csv.names[2], "loss");
  CU_ASSERT_STRING_EQUAL(csv.cells[0 * 4 + 3], "a, b");
  CU_ASSERT_STRING_EQUAL(csv.cells[1 * 4 + 3], "say \"hi\"");
  CU_ASSERT_STRING_EQUAL(csv.cells[2 * 4 + 3], " padded ");
  CU_ASSERT_EQUAL(csv.line[0], 3);
  CU_ASSERT_EQUAL(csv.line[1], 5);
  CU_ASSERT_EQUAL(csv.line[2], 6);
  double v[3];
  SL_ASSERT_OK(sl_csv_column_double(&csv, "loss", v));
  CU_ASSERT_EQUAL(v[0], 3.25);
  CU_ASSERT_EQUAL(v[1], 2.5);
  CU_ASSERT_EQUAL(v[2], 2.0);
  SL_ASSERT_OK(sl_csv_column_double(&csv, "D", v));
  CU_ASSERT_EQUAL(v[1], 4e7);
  size_t col = 99;
  SL_ASSERT_OK(sl_csv_column(&csv, "label", &col));
  CU_ASSERT_EQUAL(col, 3);
  sl_csv_free(&csv);
  CU_ASSERT_PTR_NULL(csv.cells);

  /* No final newline, a header only. */
  SL_ASSERT_OK(parse("a,b\n1,2", &csv));
  CU_ASSERT_EQUAL(csv.n_rows, 1);
  CU_ASSERT_STRING_EQUAL(csv.cells[1], "2");
  sl_csv_free(&csv);
  SL_ASSERT_OK(parse("a,b\n", &csv));
  CU_ASSERT_EQUAL(csv.n_rows, 0);
  CU_ASSERT_EQUAL(csv.n_cols, 2);
  sl_csv_free(&csv);
}

static void test_missing_column(void) {
  sl_csv csv;
  SL_ASSERT_OK(parse("N,D,loss\n1,2,3\n", &csv));
  double v[1];
  sl_error_clear();
  CU_ASSERT_EQUAL(sl_csv_column_double(&csv, "tokens", v), SL_ERR_FORMAT);
  CU_ASSERT_TRUE(has("t.csv"));
  CU_ASSERT_TRUE(has("no column 'tokens'"));
  CU_ASSERT_TRUE(has("'N', 'D', 'loss'")); /* the columns that exist */
  sl_csv_free(&csv);
}

static void test_not_numeric(void) {
  sl_csv csv;
  SL_ASSERT_OK(parse("N,D,loss\n1,2,3\n4,5,3.1x\n", &csv));
  double v[2];
  sl_error_clear();
  CU_ASSERT_EQUAL(sl_csv_column_double(&csv, "loss", v), SL_ERR_FORMAT);
  CU_ASSERT_TRUE(has("t.csv:3:"));
  CU_ASSERT_TRUE(has("column 'loss' (column 3)"));
  CU_ASSERT_TRUE(has("'3.1x' is not a number"));
  /* The other columns are fine. */
  SL_ASSERT_OK(sl_csv_column_double(&csv, "D", v));
  CU_ASSERT_EQUAL(v[1], 5.0);
  sl_csv_free(&csv);

  SL_ASSERT_OK(parse("N,D,loss\n1,,3\n", &csv));
  CU_ASSERT_EQUAL(sl_csv_column_double(&csv, "D", v), SL_ERR_FORMAT);
  CU_ASSERT_TRUE(has("t.csv:2: column 'D' (column 2) is empty"));
  sl_csv_free(&csv);

  SL_ASSERT_OK(parse("N,D,loss\n1,inf,3\n", &csv));
  CU_ASSERT_EQUAL(sl_csv_column_double(&csv, "D", v), SL_ERR_FORMAT);
  CU_ASSERT_TRUE(has("not a finite number"));
  sl_csv_free(&csv);
}

static void test_malformed(void) {
  sl_csv csv;
  sl_error_clear();
  CU_ASSERT_EQUAL(parse("", &csv), SL_ERR_FORMAT);
  CU_ASSERT_TRUE(has("t.csv: empty"));
  CU_ASSERT_EQUAL(parse("\n# only a comment\n\n", &csv), SL_ERR_FORMAT);
  CU_ASSERT_TRUE(has("empty"));
  CU_ASSERT_EQUAL(parse("N,D,loss\n1,2,3\n1,2\n", &csv), SL_ERR_FORMAT);
  CU_ASSERT_TRUE(has("t.csv:3: 2 fields, but the header has 3 columns"));
  CU_ASSERT_EQUAL(parse("N,D,N\n", &csv), SL_ERR_FORMAT);
  CU_ASSERT_TRUE(has("column 'N' twice"));
  CU_ASSERT_EQUAL(parse("N,,loss\n", &csv), SL_ERR_FORMAT);
  CU_ASSERT_TRUE(has("header column 2 has no name"));
  CU_ASSERT_EQUAL(parse("a,b\n1,\"open\n2,3\n", &csv), SL_ERR_FORMAT);
  CU_ASSERT_TRUE(has("t.csv:2: a quoted field opened here is never closed"));
  CU_ASSERT_EQUAL(parse("a,b\n1,x\"y\"\n", &csv), SL_ERR_FORMAT);
  CU_ASSERT_TRUE(has("t.csv:2: field 2: a quote inside an unquoted field"));
  CU_ASSERT_EQUAL(parse("a,b\n1,\"y\"z\n", &csv), SL_ERR_FORMAT);
  CU_ASSERT_TRUE(has("text after the closing quote"));
}

static void test_files(void) {
  char path[] = "/tmp/slingshot_test_csv_XXXXXX";
  int fd = mkstemp(path);
  CU_ASSERT_FATAL(fd >= 0);
  FILE *f = fdopen(fd, "w");
  fprintf(f, "N,D,loss\n1e6,2e7,3.5\n");
  fclose(f);
  sl_csv csv;
  SL_ASSERT_OK(sl_csv_read(path, &csv));
  CU_ASSERT_EQUAL(csv.n_rows, 1);
  CU_ASSERT_STRING_EQUAL(csv.source, path);
  double v[1];
  SL_ASSERT_OK(sl_csv_column_double(&csv, "N", v));
  CU_ASSERT_EQUAL(v[0], 1e6);
  sl_csv_free(&csv);

  f = fopen(path, "w"); /* an empty file */
  fclose(f);
  sl_error_clear();
  CU_ASSERT_EQUAL(sl_csv_read(path, &csv), SL_ERR_FORMAT);
  CU_ASSERT_TRUE(has(path));
  CU_ASSERT_TRUE(has("empty"));
  unlink(path);

  CU_ASSERT_EQUAL(sl_csv_read("/nonexistent/dir/runs.csv", &csv), SL_ERR_IO);
  CU_ASSERT_TRUE(has("cannot open CSV file '/nonexistent/dir/runs.csv'"));
  sl_error_clear();
}

int main(int argc, char **argv) {
  static const sl_test tests[] = {{"well-formed tables", test_well_formed},
                                  {"missing column", test_missing_column},
                                  {"non-numeric cells", test_not_numeric},
                                  {"malformed files", test_malformed},
                                  {"files on disk", test_files},
                                  {NULL, NULL}};
  return sl_test_main(argc, argv, "csv", tests);
}
