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
#define SL_CONFIG_VARIANT_TEXT 1024

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
    /* kind "hmm" (include/slingshot/hmm.h) */
    int H, V, trans_k, emit_k; /* emit_k: also the pcfg's terminals per emitting nonterminal */
    double trans_alpha, emit_alpha;
    /* kind "pcfg" (include/slingshot/pcfg.h) */
    int levels, n_symbols;
    int64_t symbols[SL_CONFIG_MAX_LIST]; /* nonterminals per level, level 0 = roots */
    int rules, T, max_len;
    double p_emit, alpha;
    int64_t entropy_tokens; /* hmm, pcfg: tokens sampled to estimate the entropy per token */
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
    int probes;                        /* Hutchinson probes per cell (0: no flatness measurement) */
    int batches;                       /* batches of the training corpus the Hessian is taken on */
    int batch;                         /* rows per batch (0: train.batch) */
    char distribution[SL_CONFIG_NAME]; /* "rademacher" or "gaussian" */
    char method[SL_CONFIG_NAME];       /* "auto", "exact" (MLP) or "fd" */
    int64_t spectrum_max_params;       /* full spectrum for N up to this (0: never) */
    int top;                           /* largest eigenvalues stored per cell */
  } flatness;
  struct {
    int64_t
        d; /* random-subspace dimension: theta = theta0 + P w, w in R^d (0: train all of theta) */
  } subspace;
  struct {
    int enabled; /* measure the compression bound (SCIENCE.md section 3) after training */
    int n_alphas;
    double alphas[SL_CONFIG_MAX_LIST]; /* prediction-smoothing levels a */
    double eps;                        /* failure probability */
    int64_t sample;                    /* n: training pieces subsampled for the empirical risk */
    int64_t pop_pieces;                /* fresh pieces for the population risk */
    int n_levels;
    int64_t levels[SL_CONFIG_MAX_LIST]; /* quantisation level counts tried (the best is charged) */
    int kmeans;                         /* Lloyd iterations refining the uniform-bin centroids */
    int top_k;                          /* k of the top-k error bound */
    double prune_tol;     /* sparsity: held-out loss increase allowed by pruning, nats (0: off) */
    int64_t prune_tokens; /* held-out tokens the pruned loss is measured on */
  } bound;
  struct {
    int pieces;       /* held-out pieces for theta and skill competence (0: no measurement) */
    int K;            /* largest tuple size k' whose competence is measured */
    int tuples;       /* tuples sampled per k' and split (seen, unseen, longer) */
    int probe_pieces; /* probe pieces per tuple */
    int top_k;        /* k of the top-k accuracy of answer tokens */
    int n_thresholds;
    double thresholds[SL_CONFIG_MAX_ARITY]; /* competence thresholds for "fraction above" */
  } skills;
  struct {
    sl_axis n_params, d_tokens;
    int n_seeds;
    int64_t seeds[SL_CONFIG_MAX_LIST];
    int n_variants;
    char variants[SL_CONFIG_MAX_LIST][SL_CONFIG_NAME];
    /* What each variant changes, as resolved libconfig text of the overridden keys ("" for none;
     * see sl_config_variant). */
    char variant_text[SL_CONFIG_MAX_LIST][SL_CONFIG_VARIANT_TEXT];
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
/* The effective config of grid variant v (0 <= v < grid.n_variants): cfg with the keys of the
 * variant's group `variant.NAME = { ... }` put over it. A variant may change model.*, train.* and
 * any later measurement group, never language.* (a seed's language is shared by its variants),
 * eval.*, unique.* (the results file's widths are shared) or grid.*. "base" (or any name without
 * a group) is cfg itself. out may not alias cfg. */
int sl_config_variant(const sl_config *cfg, int v, sl_config *out);

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
