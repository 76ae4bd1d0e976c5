/* libFuzzer harness for the CSV reader: sl_csv_parse on arbitrary bytes, then every column read
 * as names and as numbers (the path `fit --csv` takes).
 *
 * Properties checked beyond "no crash, no sanitizer report": a parsed table has a header with
 * n_cols >= 1 distinct non-empty names, every row's line number is in the text and increasing,
 * and a column read as numbers gives only finite values (the reader's contract); a refusal
 * always carries a message naming the source. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/csv.h"
#include "slingshot/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t count_lines(const uint8_t *d, size_t n) {
  size_t lines = 1;
  for (size_t i = 0; i < n; i++)
    if (d[i] == '\n') lines++;
  return lines;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sl_csv csv;
  if (sl_csv_parse((const char *)data, size, "fuzz.csv", &csv) != SL_OK) {
    if (strstr(sl_error_message(), "fuzz.csv") == NULL) {
      fprintf(stderr, "a refusal that does not name the file: %s\n", sl_error_message());
      abort();
    }
    sl_error_clear();
    return 0;
  }
  if (csv.n_cols < 1 || !csv.names) abort();
  for (size_t j = 0; j < csv.n_cols; j++) {
    if (csv.names[j][0] == '\0') abort();
    for (size_t k = 0; k < j; k++)
      if (strcmp(csv.names[j], csv.names[k]) == 0) abort();
  }
  size_t max_line = count_lines(data, size);
  for (size_t i = 0; i < csv.n_rows; i++) {
    if (csv.line[i] < 1 || csv.line[i] > max_line) abort();
    if (i > 0 && csv.line[i] <= csv.line[i - 1]) abort();
  }
  double *v = malloc((csv.n_rows + 1) * sizeof *v);
  if (!v) abort();
  for (size_t j = 0; j < csv.n_cols; j++) {
    size_t col = (size_t)-1;
    if (sl_csv_column(&csv, csv.names[j], &col) != SL_OK || col != j) abort();
    if (sl_csv_column_double(&csv, csv.names[j], v) == SL_OK) {
      for (size_t i = 0; i < csv.n_rows; i++)
        if (!isfinite(v[i])) abort();
    } else if (strstr(sl_error_message(), "fuzz.csv") == NULL) {
      abort();
    }
    sl_error_clear();
  }
  /* A name that is not in the header is refused; one that is found is the header's. */
  size_t col = 0;
  if (sl_csv_column(&csv, "no such column", &col) == SL_OK &&
      strcmp(csv.names[col], "no such column") != 0)
    abort();
  sl_error_clear();
  free(v);
  sl_csv_free(&csv);
  return 0;
}
