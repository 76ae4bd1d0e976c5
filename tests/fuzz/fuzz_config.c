/* libFuzzer harness for the config parser: sl_config_parse on arbitrary text.
 *
 * Besides "no crash, no sanitizer report", it checks the property --resume relies on: a config
 * that parses resolves to a text (sl_config_to_text) that parses again to the same config, i.e.
 * the resolved text round-trips (same text, and sl_config_diff finds no difference). Any
 * violation aborts, which libFuzzer reports as a crash with the input that caused it. */
#define _GNU_SOURCE /* memmem */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/config.h"
#include "slingshot/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The built-in experiments are not needed to parse text (the harness links config.c alone). */
const sl_embedded_experiment sl_embedded_experiments[] = {{NULL, NULL}};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* libconfig's @include would read other files: not the parser under test. */
  if (size > 0 && memmem(data, size, "@include", 8) != NULL) return 0;
  char *text = malloc(size + 1);
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  sl_config *a = malloc(sizeof *a), *b = malloc(sizeof *b);
  if (!a || !b) abort();
  if (sl_config_parse(text, "fuzz.cfg", a) == SL_OK) {
    char *resolved = NULL, *again = NULL;
    if (sl_config_to_text(a, &resolved) != SL_OK) abort();
    if (sl_config_parse(resolved, "fuzz.cfg", b) != SL_OK) {
      fprintf(stderr, "resolved text does not parse: %s\n%s\n", sl_error_message(), resolved);
      abort();
    }
    if (sl_config_to_text(b, &again) != SL_OK) abort();
    if (strcmp(resolved, again) != 0) {
      fprintf(stderr, "resolved text does not round-trip:\n%s\n---\n%s\n", resolved, again);
      abort();
    }
    char diff[1024];
    sl_config_diff(a, b, diff, sizeof diff);
    if (diff[0] != '\0') {
      fprintf(stderr, "config differs after a round trip: %s\n", diff);
      abort();
    }
    free(resolved);
    free(again);
  } else if (sl_error_message()[0] == '\0') {
    abort(); /* a refusal must say why */
  }
  sl_error_clear();
  free(a);
  free(b);
  free(text);
  return 0;
}
