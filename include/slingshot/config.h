/* Experiment configuration: libconfig files (https://hyperrealm.github.io/libconfig/ syntax),
 * checked against a schema. Nothing here is collective; rank 0 reads the file and broadcasts
 * the text, every rank parses the same text.
 *
 * Every key has a type, an allowed range (or list of choices) and a default, except the grid
 * axes, which are required. Validation reports every problem at once: unknown keys (with the
 * nearest known key), wrong types, values out of range (naming key, value and range), missing
 * required keys (with what to add). The resolved text (every key, defaults filled in) is what a
 * results file stores and what --resume compares. */
#ifndef SLINGSHOT_CONFIG_H
#define SLINGSHOT_CONFIG_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#define SL_CONFIG_MAX_AXIS 64
#define SL_CONFIG_MAX_ARITY 8
#define SL_CONFIG_MAX_LIST 16
#define SL_CONFIG_NAME 64

/* A grid axis: an explicit list or a log-spaced range { from; to; count; }. */
typedef struct sl_axis {
  int n;
  double v[SL_CONFIG_MAX_AXIS];
} sl_axis;

typedef struct sl_config {
  char name[SL_CONFIG_NAME]; /* experiment name */
  int64_t seed;              /* config seed: every random stream derives from it */
  struct {
    char kind[SL_CONFIG_NAME]; /* "skills" */
    int M, S, k_max;
    int n_arity; /* = k_max */
    double arity_weights[SL_CONFIG_MAX_ARITY];
    double zipf;
    char skill_maps[SL_CONFIG_NAME]; /* "permutation" or "function" */
  } language;
  struct {
    char family[SL_CONFIG_NAME]; /* "mlp" or "gpt" */
    int context, width, layers, heads, tied;
  } model;
  struct {
    char optimizer[SL_CONFIG_NAME]; /* "adamw" or "sgd" */
    int batch;
    double lr, min_lr;
    int warmup;
    double weight_decay, beta1, beta2, eps, momentum, grad_clip, epochs;
    int min_steps, max_steps;
    int n_decay_groups;
    char decay_groups[SL_CONFIG_MAX_LIST][SL_CONFIG_NAME]; /* matrices, embeddings, biases, norms */
  } train;
  struct {
    int64_t tokens; /* held-out tokens for the validation loss */
    int points;     /* evaluations along the loss curve */
  } eval;
  struct {
    int n_ngrams;
    int64_t ngrams[SL_CONFIG_MAX_LIST]; /* n-gram lengths whose distinct counts are measured */
    int prefixes;                       /* log-spaced corpus prefixes where U is measured */
    char method[SL_CONFIG_NAME];        /* "exact" or "hll" */
    int hll_p;                          /* HyperLogLog precision */
  } unique;
  struct {
    sl_axis n_params, d_tokens;
    int n_seeds;
    int64_t seeds[SL_CONFIG_MAX_LIST];
    int n_variants;
    char variants[SL_CONFIG_MAX_LIST][SL_CONFIG_NAME];
    int group_size;          /* batch shards of a large cell = most ranks in its group (dp.h) */
    double group_min_params; /* target N from which a cell is large */
  } grid;
  char origin[256]; /* file path, or "built-in:NAME" */
} sl_config;

/* A config compiled into the binary (experiments/NAME.cfg). The table ends with {NULL, NULL}. */
typedef struct sl_embedded_experiment {
  const char *name;
  const char *text;
} sl_embedded_experiment;
extern const sl_embedded_experiment sl_embedded_experiments[];
/* The text of a built-in experiment, or NULL. */
const char *sl_config_embedded(const char *name);

/* Parses and validates text; origin names it in messages. On SL_ERR_CONFIG the error message
 * lists every problem, one per line. */
int sl_config_parse(const char *text, const char *origin, sl_config *cfg);
/* Reads a whole file into a new NUL-terminated buffer (free() it). */
int sl_config_read_file(const char *path, char **text);
/* The resolved text: every key with its value, in schema order (malloc'ed; free() it). */
int sl_config_to_text(const sl_config *cfg, char **text);
/* Writes to buf a description of the keys whose values differ ("" if none). */
void sl_config_diff(const sl_config *a, const sl_config *b, char *buf, size_t size);
/* Prints the reference of every key (type, range, default, meaning) to f. */
void sl_config_print_reference(FILE *f);

/* Levenshtein distance, for "did you mean" suggestions. */
int sl_edit_distance(const char *a, const char *b);

/* SHA-256 of data as 64 lowercase hex characters plus NUL (FIPS 180-4). */
void sl_sha256_hex(const void *data, size_t len, char out[65]);

#endif
