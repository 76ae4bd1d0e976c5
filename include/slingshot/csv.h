/* A small CSV reader: a header row of column names, then rows of cells. Not collective.
 *
 * Accepts comma-separated fields, optionally double-quoted ("" is a quote inside quotes), LF or
 * CRLF line ends, a UTF-8 byte-order mark, blank lines and lines starting with '#' (skipped).
 * Whitespace around a field is trimmed. Every row must have as many fields as the header. Errors
 * name the file, the line and, for a cell, the column, so a user can fix the file. */
#ifndef SLINGSHOT_CSV_H
#define SLINGSHOT_CSV_H

#include <stddef.h>

typedef struct sl_csv {
  char *source; /* the file name (or the name given to sl_csv_parse), for messages */
  size_t n_cols;
  size_t n_rows; /* data rows, header excluded */
  char **names;  /* [n_cols] column names */
  char **cells;  /* [n_rows x n_cols] cell text, row-major */
  size_t *line;  /* [n_rows] line number (1-based) of each row in the file */
} sl_csv;

/* Reads the file at path. An empty file or one without a header is an error. */
int sl_csv_read(const char *path, sl_csv *csv);
/* Parses len bytes of text; source names it in error messages. */
int sl_csv_parse(const char *text, size_t len, const char *source, sl_csv *csv);
/* The index of the column called name; an error listing the columns that exist otherwise. */
int sl_csv_column(const sl_csv *csv, const char *name, size_t *col);
/* The cells of the column called name as numbers, out[n_rows]; an error naming the file, line
 * and column of the first cell that is empty, not a number, or not finite. */
int sl_csv_column_double(const sl_csv *csv, const char *name, double *out);
void sl_csv_free(sl_csv *csv);

#endif
