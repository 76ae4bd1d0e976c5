/* A small CSV reader (see include/slingshot/csv.h for what it accepts). */
#include "slingshot/csv.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/error.h"

/* A growing array of owned strings. */
typedef struct strvec {
  char **v;
  size_t n, cap;
} strvec;

static int strvec_push(strvec *s, char *str) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 16;
    char **v = realloc(s->v, cap * sizeof *v);
    if (!v) {
      free(str);
      return SL_ERROR(SL_ERR_NOMEM, "out of memory reading CSV (%zu fields)", cap);
    }
    s->v = v;
    s->cap = cap;
  }
  s->v[s->n++] = str;
  return SL_OK;
}

static void strvec_clear(strvec *s) {
  for (size_t i = 0; i < s->n; i++)
    free(s->v[i]);
  s->n = 0;
}

static void strvec_free(strvec *s) {
  strvec_clear(s);
  free(s->v);
  s->v = NULL;
  s->cap = 0;
}

/* A growing character buffer for the field being read. */
typedef struct charbuf {
  char *c;
  size_t n, cap;
} charbuf;

static int charbuf_put(charbuf *b, char ch) {
  if (b->n + 1 >= b->cap) {
    size_t cap = b->cap ? 2 * b->cap : 64;
    char *c = realloc(b->c, cap);
    SL_CHECK(c != NULL, SL_ERR_NOMEM, "out of memory reading a CSV field of %zu bytes", cap);
    b->c = c;
    b->cap = cap;
  }
  b->c[b->n++] = ch;
  b->c[b->n] = '\0';
  return SL_OK;
}

static int is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

/* The field in b with surrounding whitespace removed (only the unquoted part is trimmed: keep
 * marks where quoted text ended, so spaces inside quotes survive). */
static char *field_take(charbuf *b, size_t keep) {
  size_t end = b->n, start = 0;
  while (end > keep && is_space(b->c[end - 1]))
    end--;
  while (start < end && start < b->n && is_space(b->c[start]) && keep == 0)
    start++;
  size_t len = end - start;
  char *s = malloc(len + 1);
  if (!s) return NULL;
  if (len) memcpy(s, b->c + start, len);
  s[len] = '\0';
  b->n = 0;
  if (b->c) b->c[0] = '\0';
  return s;
}

/* Reads one record starting at *pos into fields; *line is advanced past it and *rec_line is the
 * line it started on. *eof is set when there is nothing left. Comment and blank lines are
 * skipped. */
static int read_record(const char *t, size_t len, size_t *pos, size_t *line, const char *source,
                       strvec *fields, size_t *rec_line, int *eof, charbuf *b) {
  strvec_clear(fields);
  *eof = 0;
  for (;;) {
    /* Skip blank and comment lines. */
    size_t p = *pos;
    while (p < len && is_space(t[p]))
      p++;
    if (p >= len) {
      *eof = 1;
      *pos = len;
      return SL_OK;
    }
    if (t[p] == '\n' || t[p] == '#') {
      while (p < len && t[p] != '\n')
        p++;
      if (p < len) p++;
      (*line)++;
      *pos = p;
      continue;
    }
    break;
  }
  *rec_line = *line;
  size_t p = *pos;
  b->n = 0;
  int quoted = 0;     /* inside quotes */
  int was_quoted = 0; /* this field had quotes */
  size_t keep = 0;    /* the buffer length at the closing quote */
  size_t quote_line = 0;
  for (;;) {
    if (p >= len) {
      SL_CHECK(!quoted, SL_ERR_FORMAT, "%s:%zu: a quoted field opened here is never closed", source,
               quote_line);
      char *f = field_take(b, was_quoted ? keep : 0);
      SL_CHECK(f != NULL, SL_ERR_NOMEM, "out of memory reading CSV");
      SL_CALL(strvec_push(fields, f));
      break;
    }
    char c = t[p++];
    if (quoted) {
      if (c == '"') {
        if (p < len && t[p] == '"') {
          SL_CALL(charbuf_put(b, '"'));
          p++;
        } else {
          quoted = 0;
          keep = b->n;
        }
      } else {
        if (c == '\n') (*line)++;
        SL_CALL(charbuf_put(b, c));
      }
      continue;
    }
    if (c == '"') {
      int blank = 1; /* a quote may only open a field (after optional spaces) */
      for (size_t k = 0; k < b->n; k++)
        blank = blank && is_space(b->c[k]);
      SL_CHECK(blank && !was_quoted, SL_ERR_FORMAT,
               "%s:%zu: field %zu: a quote inside an unquoted field (quote the whole field and "
               "double the inner quotes)",
               source, *line, fields->n + 1);
      b->n = 0;
      quoted = was_quoted = 1;
      quote_line = *line;
      continue;
    }
    if (c == ',' || c == '\n') {
      char *f = field_take(b, was_quoted ? keep : 0);
      SL_CHECK(f != NULL, SL_ERR_NOMEM, "out of memory reading CSV");
      SL_CALL(strvec_push(fields, f));
      was_quoted = 0;
      keep = 0;
      if (c == '\n') {
        (*line)++;
        break;
      }
      continue;
    }
    SL_CHECK(!was_quoted || is_space(c), SL_ERR_FORMAT,
             "%s:%zu: field %zu: text after the closing quote", source, *line, fields->n + 1);
    SL_CALL(charbuf_put(b, c));
  }
  *pos = p;
  return SL_OK;
}

void sl_csv_free(sl_csv *csv) {
  if (!csv) return;
  if (csv->names)
    for (size_t j = 0; j < csv->n_cols; j++)
      free(csv->names[j]);
  if (csv->cells)
    for (size_t i = 0; i < csv->n_rows * csv->n_cols; i++)
      free(csv->cells[i]);
  free(csv->names);
  free(csv->cells);
  free(csv->line);
  free(csv->source);
  memset(csv, 0, sizeof *csv);
}

int sl_csv_parse(const char *text, size_t len, const char *source, sl_csv *csv) {
  SL_CHECK(csv != NULL && (text != NULL || len == 0), SL_ERR_ARG, "sl_csv_parse: NULL argument");
  memset(csv, 0, sizeof *csv);
  if (!source) source = "(csv)";
  int err = SL_OK;
  strvec fields = {0}, cells = {0};
  charbuf b = {0};
  size_t *lines = NULL, lines_cap = 0;
  size_t pos = 0, line = 1, rec_line = 0;
  int eof = 0;
  csv->source = strdup(source);
  SL_CHECK_GOTO(csv->source != NULL, SL_ERR_NOMEM, fail, "out of memory");
  /* A UTF-8 byte-order mark, as spreadsheet programs write. */
  if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) pos = 3;

  SL_CALL_GOTO(read_record(text, len, &pos, &line, source, &fields, &rec_line, &eof, &b), fail);
  SL_CHECK_GOTO(!eof, SL_ERR_FORMAT, fail,
                "%s: empty: no header row (expected a first line of column names, e.g. N,D,loss)",
                source);
  for (size_t j = 0; j < fields.n; j++) {
    SL_CHECK_GOTO(fields.v[j][0] != '\0', SL_ERR_FORMAT, fail,
                  "%s:%zu: header column %zu has no name", source, rec_line, j + 1);
    for (size_t k = 0; k < j; k++)
      SL_CHECK_GOTO(strcmp(fields.v[j], fields.v[k]) != 0, SL_ERR_FORMAT, fail,
                    "%s:%zu: header names column '%s' twice (columns %zu and %zu)", source,
                    rec_line, fields.v[j], k + 1, j + 1);
  }
  csv->n_cols = fields.n;
  csv->names = fields.v; /* the header's strings move into csv */
  fields = (strvec){0};

  for (;;) {
    SL_CALL_GOTO(read_record(text, len, &pos, &line, source, &fields, &rec_line, &eof, &b), fail);
    if (eof) break;
    SL_CHECK_GOTO(fields.n == csv->n_cols, SL_ERR_FORMAT, fail,
                  "%s:%zu: %zu fields, but the header has %zu columns", source, rec_line, fields.n,
                  csv->n_cols);
    for (size_t j = 0; j < fields.n; j++) {
      char *cell = fields.v[j];
      fields.v[j] = NULL; /* owned by cells from here, even when the push fails */
      SL_CALL_GOTO(strvec_push(&cells, cell), fail);
    }
    fields.n = 0;
    if (csv->n_rows == lines_cap) {
      size_t cap = lines_cap ? 2 * lines_cap : 64;
      size_t *l = realloc(lines, cap * sizeof *l);
      SL_CHECK_GOTO(l != NULL, SL_ERR_NOMEM, fail, "out of memory reading %s", source);
      lines = l;
      lines_cap = cap;
    }
    lines[csv->n_rows++] = rec_line;
  }
  csv->cells = cells.v;
  csv->line = lines;
  strvec_free(&fields);
  free(b.c);
  return SL_OK;
fail:
  strvec_free(&fields);
  strvec_free(&cells);
  free(b.c);
  free(lines);
  csv->n_rows = 0;
  csv->cells = NULL;
  csv->line = NULL;
  sl_csv_free(csv);
  return err;
}

int sl_csv_read(const char *path, sl_csv *csv) {
  SL_CHECK(path != NULL && csv != NULL, SL_ERR_ARG, "sl_csv_read: NULL argument");
  memset(csv, 0, sizeof *csv);
  FILE *f = fopen(path, "rb");
  SL_CHECK(f != NULL, SL_ERR_IO, "cannot open CSV file '%s': %s", path, strerror(errno));
  int err = SL_OK;
  char *text = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len + 4096 > cap) {
      size_t ncap = cap ? 2 * cap : 65536;
      char *t = realloc(text, ncap);
      SL_CHECK_GOTO(t != NULL, SL_ERR_NOMEM, done, "out of memory reading '%s'", path);
      text = t;
      cap = ncap;
    }
    size_t got = fread(text + len, 1, cap - len, f);
    len += got;
    if (got == 0) break;
  }
  SL_CHECK_GOTO(!ferror(f), SL_ERR_IO, done, "error reading CSV file '%s'", path);
  SL_CALL_GOTO(sl_csv_parse(text, len, path, csv), done);
done:
  fclose(f);
  free(text);
  return err;
}

int sl_csv_column(const sl_csv *csv, const char *name, size_t *col) {
  for (size_t j = 0; j < csv->n_cols; j++)
    if (strcmp(csv->names[j], name) == 0) {
      *col = j;
      return SL_OK;
    }
  char known[1024] = "";
  const size_t room = sizeof known - 8; /* keeps space for ", ..." after a cut name */
  for (size_t j = 0; j < csv->n_cols; j++) {
    size_t used = strlen(known);
    int w = snprintf(known + used, room - used, "%s'%s'", j ? ", " : "", csv->names[j]);
    if (w < 0 || used + (size_t)w >= room) {
      strcat(known, ", ...");
      break;
    }
  }
  return SL_ERROR(SL_ERR_FORMAT, "%s: no column '%s' (the header has: %s)", csv->source, name,
                  known);
}

int sl_csv_column_double(const sl_csv *csv, const char *name, double *out) {
  size_t j = 0;
  SL_CALL(sl_csv_column(csv, name, &j));
  for (size_t i = 0; i < csv->n_rows; i++) {
    const char *cell = csv->cells[i * csv->n_cols + j];
    SL_CHECK(cell[0] != '\0', SL_ERR_FORMAT, "%s:%zu: column '%s' (column %zu) is empty",
             csv->source, csv->line[i], name, j + 1);
    char *end = NULL;
    errno = 0;
    double v = strtod(cell, &end);
    SL_CHECK(end != cell && *end == '\0', SL_ERR_FORMAT,
             "%s:%zu: column '%s' (column %zu): '%s' is not a number", csv->source, csv->line[i],
             name, j + 1, cell);
    SL_CHECK(isfinite(v), SL_ERR_FORMAT,
             "%s:%zu: column '%s' (column %zu): '%s' is not a finite number", csv->source,
             csv->line[i], name, j + 1, cell);
    out[i] = v;
  }
  return SL_OK;
}
