/* Experiment configuration: a schema over libconfig. See include/slingshot/config.h. */
#include "slingshot/config.h"

#include <ctype.h>
#include <errno.h>
#include <libconfig.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/error.h"

typedef enum kind { K_STR, K_INT, K_I64, K_REAL, K_BOOL, K_REALS, K_I64S, K_STRS, K_AXIS } kind;

typedef struct key {
  const char *path; /* "group.name" or "name" */
  kind k;
  double lo, hi;       /* numeric range, inclusive (also list element range) */
  const char *choices; /* K_STR/K_STRS: "a|b|c", or NULL for free text */
  const char *def;     /* default as libconfig text; NULL = required */
  size_t off, count_off;
  const char *help;
} key;

#define OFF(m) offsetof(sl_config, m)
#define NOCOUNT ((size_t)-1)

/* The schema. Order is the order of the resolved text and of the reference. */
static const key SCHEMA[] = {
    {"name", K_STR, 0, 0, NULL, "\"unnamed\"", OFF(name), NOCOUNT, "experiment name"},
    {"seed", K_I64, 0, 9.0e15, NULL, "1", OFF(seed), NOCOUNT,
     "config seed: every random stream derives from (seed, cell index, stream name)"},
    {"language.kind", K_STR, 0, 0, "skills|hmm|pcfg", "\"skills\"", OFF(language.kind), NOCOUNT,
     "synthetic language: skills (SCIENCE.md section 0), hmm or pcfg"},
    {"language.M", K_INT, 2, 65536, NULL, "16", OFF(language.M), NOCOUNT, "content symbols"},
    {"language.S", K_INT, 1, 65536, NULL, "8", OFF(language.S), NOCOUNT, "skills"},
    {"language.k_max", K_INT, 1, SL_CONFIG_MAX_ARITY, NULL, "2", OFF(language.k_max), NOCOUNT,
     "largest number of skills a piece uses"},
    {"language.arity_weights", K_REALS, 0, 1e9, NULL, NULL, OFF(language.arity_weights),
     OFF(language.n_arity), "weights of arity 1..k_max (default: all 1)"},
    {"language.zipf", K_REAL, 0, 10, NULL, "0.0", OFF(language.zipf), NOCOUNT,
     "skill frequency exponent z: w_i ~ (i+1)^-z"},
    {"language.skill_maps", K_STR, 0, 0, "permutation|function", "\"permutation\"",
     OFF(language.skill_maps), NOCOUNT, "each skill is a random permutation or function of [M]"},
    {"language.H", K_INT, 1, 65536, NULL, "16", OFF(language.H), NOCOUNT, "hmm: hidden states"},
    {"language.V", K_INT, 2, 1 << 24, NULL, "32", OFF(language.V), NOCOUNT, "hmm: vocabulary"},
    {"language.trans_k", K_INT, 1, 65536, NULL, "4", OFF(language.trans_k), NOCOUNT,
     "hmm: nonzeros per transition row (sparsity; at most H)"},
    {"language.emit_k", K_INT, 1, 4096, NULL, "8", OFF(language.emit_k), NOCOUNT,
     "hmm: nonzeros per emission row (at most V); pcfg: terminals per emitting nonterminal (at "
     "most T)"},
    {"language.trans_alpha", K_REAL, 1e-6, 1e6, NULL, "0.5", OFF(language.trans_alpha), NOCOUNT,
     "hmm: Dirichlet concentration of transition rows"},
    {"language.emit_alpha", K_REAL, 1e-6, 1e6, NULL, "0.5", OFF(language.emit_alpha), NOCOUNT,
     "hmm: Dirichlet concentration of emission rows"},
    {"language.levels", K_INT, 1, 16, NULL, "4", OFF(language.levels), NOCOUNT,
     "pcfg: levels of nonterminals (a sentence has at most 2^(levels-1) terminals)"},
    {"language.symbols", K_I64S, 1, 4096, NULL, "[1, 8, 8, 8]", OFF(language.symbols),
     OFF(language.n_symbols), "pcfg: nonterminals per level, roots first (one per level)"},
    {"language.rules", K_INT, 1, 256, NULL, "4", OFF(language.rules), NOCOUNT,
     "pcfg: binary rules per nonterminal (at most symbols[l+1]^2)"},
    {"language.T", K_INT, 1, 1 << 24, NULL, "32", OFF(language.T), NOCOUNT, "pcfg: terminals"},
    {"language.p_emit", K_REAL, 0, 0.999, NULL, "0.1", OFF(language.p_emit), NOCOUNT,
     "pcfg: probability that a nonterminal above the last level emits a terminal"},
    {"language.alpha", K_REAL, 1e-6, 1e6, NULL, "0.5", OFF(language.alpha), NOCOUNT,
     "pcfg: Dirichlet concentration of roots, rules and emissions"},
    {"language.max_len", K_INT, 1, 4096, NULL, "8", OFF(language.max_len), NOCOUNT,
     "pcfg: length cap (longer sentences are drawn again)"},
    {"language.entropy_tokens", K_I64, 1000, 1e9, NULL, "100000", OFF(language.entropy_tokens),
     NOCOUNT, "hmm, pcfg: tokens sampled to estimate the entropy per token (stderr ~ 1/sqrt)"},
    {"model.family", K_STR, 0, 0, "mlp|gpt", "\"mlp\"", OFF(model.family), NOCOUNT,
     "language model family"},
    {"model.context", K_INT, 1, 4096, NULL, "8", OFF(model.context), NOCOUNT,
     "context length T in tokens"},
    {"model.width", K_INT, 0, 65536, NULL, "0", OFF(model.width), NOCOUNT,
     "embedding width / d_model (0: chosen from the target N)"},
    {"model.layers", K_INT, 0, 256, NULL, "0", OFF(model.layers), NOCOUNT,
     "layers (0: chosen from the target N)"},
    {"model.heads", K_INT, 0, 256, NULL, "0", OFF(model.heads), NOCOUNT,
     "attention heads, gpt only (0: chosen from the width)"},
    {"model.tied", K_BOOL, 0, 1, NULL, "true", OFF(model.tied), NOCOUNT,
     "gpt: output head tied to the token embedding"},
    {"train.optimizer", K_STR, 0, 0, "adamw|sgd", "\"adamw\"", OFF(train.optimizer), NOCOUNT,
     "optimiser"},
    {"train.batch", K_INT, 1, 1 << 20, NULL, "64", OFF(train.batch), NOCOUNT,
     "rows per step (each row is context+1 tokens)"},
    {"train.lr", K_REAL, 1e-8, 10, NULL, "3e-3", OFF(train.lr), NOCOUNT, "peak learning rate"},
    {"train.min_lr", K_REAL, 0, 10, NULL, "3e-4", OFF(train.min_lr), NOCOUNT,
     "learning rate at the end of the cosine decay"},
    {"train.warmup", K_INT, 0, 1 << 30, NULL, "50", OFF(train.warmup), NOCOUNT,
     "linear warmup steps"},
    {"train.weight_decay", K_REAL, 0, 10, NULL, "0.0", OFF(train.weight_decay), NOCOUNT,
     "decoupled weight decay"},
    {"train.beta1", K_REAL, 0, 0.999999, NULL, "0.9", OFF(train.beta1), NOCOUNT, "AdamW beta1"},
    {"train.beta2", K_REAL, 0, 0.999999, NULL, "0.99", OFF(train.beta2), NOCOUNT, "AdamW beta2"},
    {"train.eps", K_REAL, 1e-30, 1, NULL, "1e-8", OFF(train.eps), NOCOUNT, "AdamW epsilon"},
    {"train.decay_groups", K_STRS, 0, 0, "matrices|embeddings|biases|norms",
     "[\"matrices\", \"embeddings\"]", OFF(train.decay_groups), OFF(train.n_decay_groups),
     "parameter groups that weight decay applies to"},
    {"train.momentum", K_REAL, 0, 0.999999, NULL, "0.9", OFF(train.momentum), NOCOUNT,
     "SGD momentum"},
    {"train.grad_clip", K_REAL, 0, 1e9, NULL, "1.0", OFF(train.grad_clip), NOCOUNT,
     "gradient-norm clipping (0: off)"},
    {"train.epochs", K_REAL, 1e-6, 1e6, NULL, "1.0", OFF(train.epochs), NOCOUNT,
     "passes over the cell's D tokens (steps = epochs * D / tokens per step, clamped)"},
    {"train.min_steps", K_INT, 1, 1 << 30, NULL, "100", OFF(train.min_steps), NOCOUNT,
     "fewest steps per cell"},
    {"train.max_steps", K_INT, 1, 1 << 30, NULL, "100000", OFF(train.max_steps), NOCOUNT,
     "most steps per cell"},
    {"eval.tokens", K_I64, 64, 1e9, NULL, "16384", OFF(eval.tokens), NOCOUNT,
     "held-out tokens for the validation loss"},
    {"eval.points", K_INT, 2, 1000, NULL, "8", OFF(eval.points), NOCOUNT,
     "evaluations along the loss curve"},
    {"unique.ngrams", K_I64S, 1, 64, NULL, "[4, 8, 16]", OFF(unique.ngrams), OFF(unique.n_ngrams),
     "n-gram lengths whose distinct counts U(D) are measured"},
    {"unique.prefixes", K_INT, 2, 64, NULL, "8", OFF(unique.prefixes), NOCOUNT,
     "log-spaced corpus prefixes at which U(D) is measured"},
    {"unique.method", K_STR, 0, 0, "exact|hll", "\"exact\"", OFF(unique.method), NOCOUNT,
     "exact hash set, or HyperLogLog for corpora too large for memory"},
    {"unique.hll_p", K_INT, 4, 18, NULL, "14", OFF(unique.hll_p), NOCOUNT,
     "HyperLogLog precision p (relative error 1.04/sqrt(2^p))"},
    {"flatness.probes", K_INT, 0, 100000, NULL, "0", OFF(flatness.probes), NOCOUNT,
     "Hutchinson probes for the Hessian trace after training (0: no flatness measurement)"},
    {"flatness.batches", K_INT, 1, 1000, NULL, "1", OFF(flatness.batches), NOCOUNT,
     "batches of the cell's training corpus the Hessian of the loss is taken on"},
    {"flatness.batch", K_INT, 0, 1 << 20, NULL, "0", OFF(flatness.batch), NOCOUNT,
     "rows per flatness batch (0 or above train.batch: train.batch)"},
    {"flatness.distribution", K_STR, 0, 0, "rademacher|gaussian", "\"rademacher\"",
     OFF(flatness.distribution), NOCOUNT, "Hutchinson probe entries: +-1 or N(0, 1)"},
    {"flatness.method", K_STR, 0, 0, "auto|exact|fd", "\"auto\"", OFF(flatness.method), NOCOUNT,
     "Hessian-vector products: exact R-operator (mlp), central differences of gradients (fd), "
     "or auto (exact for mlp, fd for gpt)"},
    {"flatness.spectrum_max_params", K_I64, 0, 46340, NULL, "0", OFF(flatness.spectrum_max_params),
     NOCOUNT, "full Hessian spectrum (ScaLAPACK) for cells with N up to this (0: never)"},
    {"flatness.top", K_INT, 1, 64, NULL, "8", OFF(flatness.top), NOCOUNT,
     "largest eigenvalues stored per cell in /flatness/top_eigenvalues"},
    {"subspace.d", K_I64, 0, 1e9, NULL, "0", OFF(subspace.d), NOCOUNT,
     "random-subspace training: theta = theta0 + P w with w in R^d (0: train every parameter)"},
    {"bound.enabled", K_BOOL, 0, 1, NULL, "true", OFF(bound.enabled), NOCOUNT,
     "measure the compression bound and sparsity after training (SCIENCE.md section 3)"},
    {"bound.alphas", K_REALS, 1e-9, 0.999999, NULL,
     "[1e-4, 1e-3, 5e-3, 1e-2, 5e-2, 0.1, 0.25, 0.5]", OFF(bound.alphas), OFF(bound.n_alphas),
     "prediction-smoothing levels a: p = (1 - a) p_model + a / V (the bound takes the best)"},
    {"bound.eps", K_REAL, 1e-9, 0.5, NULL, "0.05", OFF(bound.eps), NOCOUNT,
     "failure probability of the bound"},
    {"bound.sample", K_I64, 1, 1e9, NULL, "10000", OFF(bound.sample), NOCOUNT,
     "n: training pieces drawn (with replacement) for the empirical risk"},
    {"bound.pop_pieces", K_I64, 1, 1e9, NULL, "10000", OFF(bound.pop_pieces), NOCOUNT,
     "fresh pieces of a new stream for the population risk (and so the slack)"},
    {"bound.levels", K_I64S, 2, 65536, NULL, "[8, 16]", OFF(bound.levels), OFF(bound.n_levels),
     "quantisation level counts L tried; the best is kept and the choice is charged"},
    {"bound.kmeans", K_INT, 0, 1000, NULL, "10", OFF(bound.kmeans), NOCOUNT,
     "Lloyd (k-means) iterations refining the uniform-bin centroids"},
    {"bound.top_k", K_INT, 1, 65536, NULL, "5", OFF(bound.top_k), NOCOUNT,
     "k of the top-k error bound (top-1 is always reported)"},
    {"bound.prune_tol", K_REAL, 0, 100, NULL, "0.01", OFF(bound.prune_tol), NOCOUNT,
     "sparsity: held-out loss increase (nats) magnitude pruning may cause (0: not measured)"},
    {"bound.prune_tokens", K_I64, 64, 1e9, NULL, "4096", OFF(bound.prune_tokens), NOCOUNT,
     "held-out tokens on which pruned losses are measured"},
    {"skills.pieces", K_INT, 0, 10000000, NULL, "2000", OFF(skills.pieces), NOCOUNT,
     "held-out pieces for theta and skill competence (0: no skill measurement)"},
    {"skills.K", K_INT, 1, SL_CONFIG_MAX_ARITY, NULL, "3", OFF(skills.K), NOCOUNT,
     "largest tuple size k' whose competence is measured (above k_max: longer chains)"},
    {"skills.tuples", K_INT, 1, 4096, NULL, "32", OFF(skills.tuples), NOCOUNT,
     "tuples sampled per k' and split (seen, unseen, longer)"},
    {"skills.probe_pieces", K_INT, 1, 100000, NULL, "16", OFF(skills.probe_pieces), NOCOUNT,
     "probe pieces per sampled tuple"},
    {"skills.top_k", K_INT, 1, 65536, NULL, "3", OFF(skills.top_k), NOCOUNT,
     "k of the top-k accuracy of the answer tokens"},
    {"skills.thresholds", K_REALS, 0, 1, NULL, "[0.5, 0.9]", OFF(skills.thresholds),
     OFF(skills.n_thresholds), "competence thresholds for the fractions of skills/tuples above"},
    {"grid.n_params", K_AXIS, 100, 1e10, NULL, NULL, OFF(grid.n_params), NOCOUNT,
     "target model sizes N: a list, or { from; to; count; } log-spaced"},
    {"grid.d_tokens", K_AXIS, 100, 1e12, NULL, NULL, OFF(grid.d_tokens), NOCOUNT,
     "corpus sizes D in tokens: a list, or { from; to; count; } log-spaced"},
    {"grid.seeds", K_I64S, 0, 9.0e15, NULL, "[0]", OFF(grid.seeds), OFF(grid.n_seeds),
     "seeds: each draws its own language, corpus and initialisation"},
    {"grid.variants", K_STRS, 0, 0, NULL, "[\"base\"]", OFF(grid.variants), OFF(grid.n_variants),
     "training variants: \"base\", or NAMEs whose changes are in variant = { NAME = { ... }; }"},
    {"grid.group_size", K_INT, 1, 4096, NULL, "1", OFF(grid.group_size), NOCOUNT,
     "shards of each large cell's batch, trained data-parallel by a group of up to this many "
     "ranks (1: every cell on one rank)"},
    {"grid.group_min_params", K_REAL, 0, 1e12, NULL, "0", OFF(grid.group_min_params), NOCOUNT,
     "cells whose target N is at least this are large (trained by a group when group_size > 1)"},

};
#define N_SCHEMA (sizeof SCHEMA / sizeof SCHEMA[0])

static const char *GROUPS[] = {"language", "model",    "train",    "eval",  "unique",
                               "grid",     "flatness", "subspace", "bound", "skills"};
#define N_GROUPS (sizeof GROUPS / sizeof GROUPS[0])

/* ------------------------------------------------------------------ problem list */

typedef struct problems {
  char text[3800];
  size_t len;
  int count;
  const char *origin;
} problems;

static void problem(problems *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void problem(problems *p, int line, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  char where[300];
  if (line > 0)
    snprintf(where, sizeof where, "%s:%d", p->origin, line);
  else
    snprintf(where, sizeof where, "%s", p->origin);
  if (p->len < sizeof p->text)
    p->len += (size_t)snprintf(p->text + p->len, sizeof p->text - p->len, "%s%s: %s",
                               p->count ? "\n" : "", where, msg);
  p->count++;
}

/* ------------------------------------------------------------------ helpers */

int sl_edit_distance(const char *a, const char *b) {
  size_t n = strlen(a), m = strlen(b);
  if (n > 255 || m > 255) return 1 << 20;
  int prev[256], cur[256];
  for (size_t j = 0; j <= m; j++)
    prev[j] = (int)j;
  for (size_t i = 1; i <= n; i++) {
    cur[0] = (int)i;
    for (size_t j = 1; j <= m; j++) {
      int sub =
          prev[j - 1] + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
      int del = prev[j] + 1, ins = cur[j - 1] + 1;
      cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
    }
    memcpy(prev, cur, sizeof(int) * (m + 1));
  }
  return prev[m];
}

/* The known key (or group) nearest to an unknown path. */
static const char *nearest_key(const char *path) {
  const char *best = NULL;
  int best_d = 1 << 20;
  for (size_t i = 0; i < N_SCHEMA; i++) {
    int d = sl_edit_distance(path, SCHEMA[i].path);
    /* Also compare the last component: "model.widht" vs "width", "train.lr" typed at the top. */
    const char *dot = strrchr(SCHEMA[i].path, '.'), *pdot = strrchr(path, '.');
    int d2 = sl_edit_distance(pdot ? pdot + 1 : path, dot ? dot + 1 : SCHEMA[i].path) + 1;
    if (d2 < d) d = d2;
    if (d < best_d) best_d = d, best = SCHEMA[i].path;
  }
  for (size_t g = 0; g < N_GROUPS; g++) {
    int d = sl_edit_distance(path, GROUPS[g]);
    if (d < best_d) best_d = d, best = GROUPS[g];
  }
  return best;
}

static const key *find_key(const char *path) {
  for (size_t i = 0; i < N_SCHEMA; i++)
    if (strcmp(SCHEMA[i].path, path) == 0) return &SCHEMA[i];
  return NULL;
}

static int is_group_name(const char *name) {
  for (size_t g = 0; g < N_GROUPS; g++)
    if (strcmp(GROUPS[g], name) == 0) return 1;
  return 0;
}

static const char *type_name(int t) {
  switch (t) {
  case CONFIG_TYPE_GROUP:
    return "a group { ... }";
  case CONFIG_TYPE_INT:
  case CONFIG_TYPE_INT64:
    return "an integer";
  case CONFIG_TYPE_FLOAT:
    return "a number";
  case CONFIG_TYPE_STRING:
    return "a string";
  case CONFIG_TYPE_BOOL:
    return "a boolean";
  case CONFIG_TYPE_ARRAY:
    return "an array [ ... ]";
  case CONFIG_TYPE_LIST:
    return "a list ( ... )";
  default:
    return "something else";
  }
}

static const char *kind_name(kind k) {
  switch (k) {
  case K_STR:
    return "a string in quotes";
  case K_INT:
  case K_I64:
    return "an integer";
  case K_REAL:
    return "a number";
  case K_BOOL:
    return "true or false";
  case K_REALS:
    return "an array of numbers [a, b, ...]";
  case K_I64S:
    return "an array of integers [a, b, ...]";
  case K_STRS:
    return "an array of strings [\"a\", ...]";
  case K_AXIS:
    return "an array of numbers or { from = ...; to = ...; count = ...; }";
  }
  return "?";
}

static int setting_number(const config_setting_t *s, double *out) {
  int t = config_setting_type(s);
  if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64)
    *out = (double)config_setting_get_int64(s);
  else if (t == CONFIG_TYPE_FLOAT)
    *out = config_setting_get_float(s);
  else
    return 0;
  return 1;
}

static int in_choices(const char *value, const char *choices) {
  size_t n = strlen(value);
  for (const char *c = choices; *c;) {
    const char *bar = strchr(c, '|');
    size_t len = bar ? (size_t)(bar - c) : strlen(c);
    if (len == n && strncmp(c, value, n) == 0) return 1;
    if (!bar) break;
    c = bar + 1;
  }
  return 0;
}

static void fmt_range(const key *k, char *buf, size_t size) {
  if (k->k == K_INT || k->k == K_I64 || k->k == K_I64S)
    snprintf(buf, size, "%.0f to %.0f", k->lo, k->hi);
  else
    snprintf(buf, size, "%g to %g", k->lo, k->hi);
}

/* Checks one number against the key's range and integrality. */
static int check_number(problems *p, const key *k, int line, const char *what, double v,
                        int integral) {
  char range[64];
  fmt_range(k, range, sizeof range);
  if (!isfinite(v) || v < k->lo || v > k->hi) {
    problem(p, line, "%s = %g is out of range: allowed %s (%s)", what, v, range, k->help);
    return 0;
  }
  if (integral && v != floor(v)) {
    problem(p, line, "%s = %g must be a whole number", what, v);
    return 0;
  }
  return 1;
}

/* ------------------------------------------------------------------ conversion */

static void set_value(problems *p, const key *k, const config_setting_t *s, sl_config *cfg,
                      int user) {
  char *base = (char *)cfg;
  int line = user ? config_setting_source_line(s) : 0;
  int t = config_setting_type(s);
  double v;
  switch (k->k) {
  case K_STR: {
    if (t != CONFIG_TYPE_STRING) goto wrong_type;
    const char *str = config_setting_get_string(s);
    if (k->choices && !in_choices(str, k->choices)) {
      problem(p, line, "%s = \"%s\" is not allowed: choose one of %s", k->path, str, k->choices);
      return;
    }
    if (strlen(str) >= SL_CONFIG_NAME) {
      problem(p, line, "%s is too long (at most %d characters)", k->path, SL_CONFIG_NAME - 1);
      return;
    }
    snprintf(base + k->off, SL_CONFIG_NAME, "%s", str);
    return;
  }
  case K_INT:
  case K_I64:
    if (!setting_number(s, &v)) goto wrong_type;
    if (!check_number(p, k, line, k->path, v, 1)) return;
    if (k->k == K_INT)
      *(int *)(base + k->off) = (int)v;
    else
      *(int64_t *)(base + k->off) = (int64_t)v;
    return;
  case K_REAL:
    if (!setting_number(s, &v)) goto wrong_type;
    if (!check_number(p, k, line, k->path, v, 0)) return;
    *(double *)(base + k->off) = v;
    return;
  case K_BOOL:
    if (t != CONFIG_TYPE_BOOL) goto wrong_type;
    *(int *)(base + k->off) = config_setting_get_bool(s);
    return;
  case K_REALS:
  case K_I64S:
  case K_STRS: {
    if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) goto wrong_type;
    int n = config_setting_length(s);
    int cap = k->k == K_REALS ? SL_CONFIG_MAX_ARITY : SL_CONFIG_MAX_LIST;
    if (n < 1 || n > cap) {
      problem(p, line, "%s has %d elements: give 1 to %d", k->path, n, cap);
      return;
    }
    for (int i = 0; i < n; i++) {
      const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
      char what[128];
      snprintf(what, sizeof what, "%s[%d]", k->path, i);
      if (k->k == K_STRS) {
        const char *str = config_setting_get_string(e);
        if (!str) goto wrong_type;
        if (k->choices && !in_choices(str, k->choices)) {
          problem(p, line, "%s = \"%s\" is not allowed: choose from %s", what, str, k->choices);
          return;
        }
        snprintf(base + k->off + (size_t)i * SL_CONFIG_NAME, SL_CONFIG_NAME, "%s", str);
        continue;
      }
      if (!setting_number(e, &v)) goto wrong_type;
      if (!check_number(p, k, line, what, v, k->k == K_I64S)) return;
      if (k->k == K_REALS)
        ((double *)(base + k->off))[i] = v;
      else
        ((int64_t *)(base + k->off))[i] = (int64_t)v;
    }
    *(int *)(base + k->count_off) = n;
    return;
  }
  case K_AXIS: {
    sl_axis *ax = (sl_axis *)(base + k->off);
    if (t == CONFIG_TYPE_GROUP) {
      double from = 0, to = 0, count = 0;
      const config_setting_t *f = config_setting_get_member(s, "from");
      const config_setting_t *o = config_setting_get_member(s, "to");
      const config_setting_t *c = config_setting_get_member(s, "count");
      for (int i = 0; i < config_setting_length(s); i++) {
        const char *nm = config_setting_name(config_setting_get_elem(s, (unsigned)i));
        if (strcmp(nm, "from") && strcmp(nm, "to") && strcmp(nm, "count")) {
          problem(p, line, "unknown key '%s.%s': a range has only from, to and count", k->path, nm);
          return;
        }
      }
      if (!f || !o || !c || !setting_number(f, &from) || !setting_number(o, &to) ||
          !setting_number(c, &count)) {
        problem(p, line,
                "%s: a range needs numbers from, to and count, e.g. %s = { from = 1e3; to = 1e5; "
                "count = 5; }",
                k->path, strrchr(k->path, '.') + 1);
        return;
      }
      if (count < 1 || count > SL_CONFIG_MAX_AXIS || count != floor(count)) {
        problem(p, line, "%s.count = %g is out of range: allowed 1 to %d", k->path, count,
                SL_CONFIG_MAX_AXIS);
        return;
      }
      if (!check_number(p, k, line, "from", from, 0) || !check_number(p, k, line, "to", to, 0))
        return;
      if (count > 1 && to <= from) {
        problem(p, line, "%s: 'to' (%g) must be larger than 'from' (%g)", k->path, to, from);
        return;
      }
      ax->n = (int)count;
      for (int i = 0; i < ax->n; i++) {
        double fr = ax->n == 1 ? 0.0 : (double)i / (ax->n - 1);
        /* Rounded to whole numbers: N and D are counts. */
        ax->v[i] = round(exp(log(from) + fr * (log(to) - log(from))));
      }
      return;
    }
    if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) goto wrong_type;
    int n = config_setting_length(s);
    if (n < 1 || n > SL_CONFIG_MAX_AXIS) {
      problem(p, line, "%s has %d values: give 1 to %d (an empty grid has no cells)", k->path, n,
              SL_CONFIG_MAX_AXIS);
      return;
    }
    for (int i = 0; i < n; i++) {
      char what[128];
      snprintf(what, sizeof what, "%s[%d]", k->path, i);
      if (!setting_number(config_setting_get_elem(s, (unsigned)i), &v)) goto wrong_type;
      if (!check_number(p, k, line, what, v, 0)) return;
      ax->v[i] = round(v);
      for (int j = 0; j < i; j++)
        if (ax->v[j] == ax->v[i]) {
          problem(p, line, "%s lists %g twice", k->path, v);
          return;
        }
    }
    ax->n = n;
    return;
  }
  }
wrong_type:
  problem(p, line, "%s has the wrong type: it is %s, expected %s", k->path, type_name(t),
          kind_name(k->k));
}

/* Unknown keys anywhere in the tree. */
static void check_unknown(problems *p, const config_setting_t *group, const char *prefix) {
  int n = config_setting_length(group);
  for (int i = 0; i < n; i++) {
    const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
    const char *name = config_setting_name(s);
    if (!name) continue;
    char path[256];
    snprintf(path, sizeof path, "%s%s%s", prefix, prefix[0] ? "." : "", name);
    if (find_key(path)) continue;
    if (!prefix[0] && strcmp(name, "variant") == 0) continue; /* checked by check_variants */
    if (!prefix[0] && is_group_name(name)) {
      if (config_setting_type(s) != CONFIG_TYPE_GROUP)
        problem(p, config_setting_source_line(s), "'%s' must be a group: %s = { ... };", name,
                name);
      else
        check_unknown(p, s, name);
      continue;
    }
    problem(p, config_setting_source_line(s), "unknown key '%s' (did you mean '%s'?)", path,
            nearest_key(path));
  }
}

/* Defaults, as libconfig text, built from the schema once per parse. */
static int parse_defaults(config_t *d) {
  /* Top-level keys, then one nested group per group name. */
  char nested[8192];
  size_t nl = 0;
  for (size_t i = 0; i < N_SCHEMA; i++)
    if (SCHEMA[i].def && !strchr(SCHEMA[i].path, '.'))
      nl += (size_t)snprintf(nested + nl, sizeof nested - nl, "%s = %s;\n", SCHEMA[i].path,
                             SCHEMA[i].def);
  for (size_t g = 0; g < N_GROUPS; g++) {
    nl += (size_t)snprintf(nested + nl, sizeof nested - nl, "%s = {\n", GROUPS[g]);
    size_t glen = strlen(GROUPS[g]);
    for (size_t i = 0; i < N_SCHEMA; i++)
      if (SCHEMA[i].def && strncmp(SCHEMA[i].path, GROUPS[g], glen) == 0 &&
          SCHEMA[i].path[glen] == '.')
        nl += (size_t)snprintf(nested + nl, sizeof nested - nl, "  %s = %s;\n",
                               SCHEMA[i].path + glen + 1, SCHEMA[i].def);
    nl += (size_t)snprintf(nested + nl, sizeof nested - nl, "};\n");
  }
  config_init(d);
  if (config_read_string(d, nested) != CONFIG_TRUE)
    return SL_ERROR(SL_ERR_INTERNAL, "built-in defaults do not parse: line %d: %s",
                    config_error_line(d), config_error_text(d));
  return SL_OK;
}

static void fmt_value(const sl_config *cfg, const key *k, char *buf, size_t size);

/* Cross-key rules of one (base or variant) config. */
static void check_rules(problems *p, sl_config *cfg) {
  if (cfg->language.n_arity == 0 && cfg->language.k_max >= 1) {
    cfg->language.n_arity = cfg->language.k_max;
    for (int i = 0; i < cfg->language.k_max; i++)
      cfg->language.arity_weights[i] = 1.0;
  } else if (cfg->language.n_arity != cfg->language.k_max) {
    problem(p, 0,
            "language.arity_weights has %d weights but language.k_max = %d: give one weight per "
            "arity 1..k_max",
            cfg->language.n_arity, cfg->language.k_max);
  } else {
    double sum = 0;
    for (int i = 0; i < cfg->language.n_arity; i++)
      sum += cfg->language.arity_weights[i];
    if (!(sum > 0)) problem(p, 0, "language.arity_weights must have a positive sum");
  }
  if (strcmp(cfg->language.kind, "hmm") == 0) {
    if (cfg->language.trans_k > cfg->language.H)
      problem(p, 0,
              "language.trans_k = %d is larger than language.H = %d: a row has at most H "
              "nonzeros",
              cfg->language.trans_k, cfg->language.H);
    if (cfg->language.emit_k > cfg->language.V)
      problem(p, 0,
              "language.emit_k = %d is larger than language.V = %d: a row has at most V "
              "nonzeros",
              cfg->language.emit_k, cfg->language.V);
  }
  if (strcmp(cfg->language.kind, "pcfg") == 0) {
    if (cfg->language.n_symbols != cfg->language.levels)
      problem(p, 0,
              "language.symbols has %d values but language.levels = %d: give one count of "
              "nonterminals per level",
              cfg->language.n_symbols, cfg->language.levels);
    else
      for (int l = 0; l + 1 < cfg->language.levels; l++)
        if ((double)cfg->language.rules >
            (double)cfg->language.symbols[l + 1] * (double)cfg->language.symbols[l + 1]) {
          problem(p, 0,
                  "language.rules = %d is more than the %lld ordered pairs of level %d's "
                  "nonterminals (symbols[%d] = %lld): lower rules or raise symbols",
                  cfg->language.rules,
                  (long long)(cfg->language.symbols[l + 1] * cfg->language.symbols[l + 1]), l + 1,
                  l + 1, (long long)cfg->language.symbols[l + 1]);
          break;
        }
    if (cfg->language.emit_k > cfg->language.T)
      problem(p, 0, "language.emit_k = %d is larger than language.T = %d terminals",
              cfg->language.emit_k, cfg->language.T);
  }
  if (cfg->language.S < cfg->language.k_max)
    problem(p, 0,
            "language.S = %d is smaller than language.k_max = %d: a piece needs k distinct skills",
            cfg->language.S, cfg->language.k_max);
  if (cfg->skills.top_k > cfg->language.M + cfg->language.S + 1)
    problem(p, 0, "skills.top_k = %d is larger than the vocabulary M + S + 1 = %d",
            cfg->skills.top_k, cfg->language.M + cfg->language.S + 1);
  if (cfg->grid.group_size > 1 && cfg->train.batch % cfg->grid.group_size != 0)
    problem(p, 0,
            "train.batch = %d is not a multiple of grid.group_size = %d: a group splits the "
            "batch into equal shards",
            cfg->train.batch, cfg->grid.group_size);
  if (cfg->train.min_lr > cfg->train.lr)
    problem(p, 0, "train.min_lr = %g is larger than train.lr = %g", cfg->train.min_lr,
            cfg->train.lr);
  if (cfg->train.min_steps > cfg->train.max_steps)
    problem(p, 0, "train.min_steps = %d is larger than train.max_steps = %d", cfg->train.min_steps,
            cfg->train.max_steps);
  if (strcmp(cfg->model.family, "gpt") == 0 && cfg->model.heads > 0 && cfg->model.width > 0 &&
      cfg->model.width % cfg->model.heads != 0)
    problem(p, 0, "model.width = %d is not a multiple of model.heads = %d", cfg->model.width,
            cfg->model.heads);
  for (int i = 0; i < cfg->grid.d_tokens.n; i++)
    if (cfg->grid.d_tokens.v[i] < 2.0 * (cfg->model.context + 1)) {
      problem(p, 0,
              "grid.d_tokens value %g is too small for model.context = %d: D must be at least %d",
              cfg->grid.d_tokens.v[i], cfg->model.context, 2 * (cfg->model.context + 1));
      break;
    }
  for (int i = 0; i < cfg->unique.n_ngrams; i++)
    for (int j = 0; j < i; j++)
      if (cfg->unique.ngrams[i] == cfg->unique.ngrams[j])
        problem(p, 0, "unique.ngrams lists %lld twice", (long long)cfg->unique.ngrams[i]);
  for (int i = 0; i < cfg->grid.n_seeds; i++)
    for (int j = 0; j < i; j++)
      if (cfg->grid.seeds[i] == cfg->grid.seeds[j])
        problem(p, 0, "grid.seeds lists %lld twice", (long long)cfg->grid.seeds[i]);
  if (strcmp(cfg->flatness.method, "exact") == 0 && strcmp(cfg->model.family, "mlp") != 0)
    problem(p, 0,
            "flatness.method = \"exact\" exists for the mlp only: use \"fd\" or \"auto\" for "
            "model.family = \"%s\"",
            cfg->model.family);
}

/* Groups a variant may not change, and why. */
static const char *variant_forbidden(const char *group) {
  static const char *const no[][2] = {
      {"language", "a seed's language is shared by all its variants"},
      {"eval", "the results file's curve widths are shared by all cells"},
      {"unique", "the results file's /unique widths are shared by all cells"},
      {"grid", "the grid is what the variants are part of"},
      {"bound", "the results file's /bounds widths (alphas) are shared by all cells"},
      {"skills", "the results file's /skills widths (skills, k', tuples) are shared by all cells"},
      {"name", "it names the experiment"},
      {"seed", "every variant of a cell index draws from the same config seed"}};
  for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
    if (strcmp(group, no[i][0]) == 0) return no[i][1];
  return NULL;
}

static int variant_name_ok(const char *n) {
  if (!isalpha((unsigned char)n[0])) return 0;
  for (const char *c = n; *c; c++)
    if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-') return 0;
  return 1;
}

/* Puts the keys present in a variant's group over cfg. */
static void apply_overrides(problems *p, config_setting_t *vs, sl_config *cfg) {
  for (size_t i = 0; i < N_SCHEMA; i++) {
    const config_setting_t *s = config_setting_lookup(vs, SCHEMA[i].path);
    if (s) set_value(p, &SCHEMA[i], s, cfg, 1);
  }
}

/* The resolved text of a variant's overrides: every key it sets, grouped. */
static void variant_text(config_setting_t *vs, const sl_config *eff, char *out, size_t size) {
  size_t len = 0;
  char value[2048];
  out[0] = '\0';
  for (size_t g = 0; g < N_GROUPS; g++) {
    size_t glen = strlen(GROUPS[g]);
    int open = 0;
    for (size_t i = 0; i < N_SCHEMA; i++) {
      const key *k = &SCHEMA[i];
      if (strncmp(k->path, GROUPS[g], glen) != 0 || k->path[glen] != '.') continue;
      if (!config_setting_lookup(vs, k->path)) continue;
      fmt_value(eff, k, value, sizeof value);
      if (!open && len < size)
        len += (size_t)snprintf(out + len, size - len, "%s%s = { ", len ? " " : "", GROUPS[g]);
      open = 1;
      if (len < size)
        len += (size_t)snprintf(out + len, size - len, "%s = %s; ", k->path + glen + 1, value);
    }
    if (open && len < size) len += (size_t)snprintf(out + len, size - len, "};");
  }
}

/* The variant = { NAME = { ... }; } group: every listed variant but base defined, every defined
 * one listed, only groups a variant may change, and each variant's config valid on its own. */
static void check_variants(problems *p, config_t *c, sl_config *cfg) {
  config_setting_t *vg = config_lookup(c, "variant");
  if (vg && config_setting_type(vg) != CONFIG_TYPE_GROUP) {
    problem(p, config_setting_source_line(vg),
            "'variant' must be a group: variant = { NAME = { train = { ... }; }; };");
    return;
  }
  for (int v = 0; v < cfg->grid.n_variants; v++) {
    const char *name = cfg->grid.variants[v];
    cfg->grid.variant_text[v][0] = '\0';
    for (int u = 0; u < v; u++)
      if (strcmp(cfg->grid.variants[u], name) == 0)
        problem(p, 0, "grid.variants lists \"%s\" twice", name);
    if (!variant_name_ok(name)) {
      problem(p, 0,
              "grid.variants: \"%s\" is not a valid variant name (a letter, then letters, digits, "
              "'_' or '-')",
              name);
      continue;
    }
    config_setting_t *vs = vg ? config_setting_get_member(vg, name) : NULL;
    if (!vs) {
      if (strcmp(name, "base") != 0)
        problem(p, 0,
                "grid.variants lists \"%s\" but nothing defines it: add variant = { %s = { train "
                "= { ... }; }; }; (or use \"base\")",
                name, name);
      continue;
    }
    int line = config_setting_source_line(vs);
    if (config_setting_type(vs) != CONFIG_TYPE_GROUP) {
      problem(p, line, "variant.%s must be a group: %s = { train = { ... }; };", name, name);
      continue;
    }
    int before = p->count;
    for (int i = 0; i < config_setting_length(vs); i++) {
      config_setting_t *m = config_setting_get_elem(vs, (unsigned)i);
      const char *g = config_setting_name(m);
      const char *why = variant_forbidden(g);
      if (why)
        problem(p, config_setting_source_line(m), "variant.%s cannot change '%s': %s", name, g,
                why);
      else if (!is_group_name(g))
        problem(p, config_setting_source_line(m),
                "variant.%s: unknown group '%s' (did you mean '%s'?)", name, g, nearest_key(g));
      else if (config_setting_type(m) != CONFIG_TYPE_GROUP)
        problem(p, config_setting_source_line(m), "variant.%s.%s must be a group { ... }", name, g);
      else
        check_unknown(p, m, g);
    }
    if (p->count > before) continue;
    sl_config *eff = malloc(sizeof *eff);
    if (!eff) {
      problem(p, 0, "out of memory checking variant %s", name);
      return;
    }
    *eff = *cfg;
    char where[320];
    const char *origin = p->origin;
    snprintf(where, sizeof where, "%s (variant %s)", origin, name);
    p->origin = where;
    apply_overrides(p, vs, eff);
    check_rules(p, eff);
    p->origin = origin;
    variant_text(vs, eff, cfg->grid.variant_text[v], SL_CONFIG_VARIANT_TEXT);
    free(eff);
  }
  if (vg)
    for (int i = 0; i < config_setting_length(vg); i++) {
      config_setting_t *m = config_setting_get_elem(vg, (unsigned)i);
      int listed = 0;
      for (int v = 0; v < cfg->grid.n_variants; v++)
        listed |= strcmp(cfg->grid.variants[v], config_setting_name(m)) == 0;
      if (!listed)
        problem(p, config_setting_source_line(m),
                "variant.%s is defined but grid.variants does not list it", config_setting_name(m));
    }
}

int sl_config_variant(const sl_config *cfg, int v, sl_config *out) {
  SL_CHECK(v >= 0 && v < cfg->grid.n_variants, SL_ERR_ARG, "variant %d of %d", v,
           cfg->grid.n_variants);
  *out = *cfg;
  const char *text = cfg->grid.variant_text[v];
  if (!text[0]) return SL_OK;
  config_t c;
  config_init(&c);
  problems p = {.origin = "variant"};
  if (config_read_string(&c, text) == CONFIG_TRUE)
    apply_overrides(&p, config_root_setting(&c), out);
  else
    p.count++;
  config_destroy(&c);
  SL_CHECK(p.count == 0, SL_ERR_INTERNAL, "the stored text of variant %s does not apply: %s",
           cfg->grid.variants[v], text);
  return SL_OK;
}

int sl_config_parse(const char *text, const char *origin, sl_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  snprintf(cfg->origin, sizeof cfg->origin, "%s", origin);
  problems p = {.origin = origin};
  config_t c, d;
  config_init(&c);
  if (config_read_string(&c, text) != CONFIG_TRUE) {
    int line = config_error_line(&c);
    const char *msg = config_error_text(&c);
    int err = SL_ERROR(SL_ERR_CONFIG, "%s:%d: syntax error: %s (libconfig syntax: key = value;)",
                       origin, line, msg ? msg : "?");
    config_destroy(&c);
    return err;
  }
  SL_CALL(parse_defaults(&d));
  check_unknown(&p, config_root_setting(&c), "");
  for (size_t i = 0; i < N_SCHEMA; i++) {
    const key *k = &SCHEMA[i];
    const config_setting_t *s = config_lookup(&c, k->path);
    if (s) {
      set_value(&p, k, s, cfg, 1);
    } else if (k->def) {
      set_value(&p, k, config_lookup(&d, k->path), cfg, 0);
    } else if (k->k != K_REALS) {
      const char *leaf = strrchr(k->path, '.');
      problem(&p, 0,
              "missing required key '%s' (%s): add to the %.*s group e.g. %s = { from = 1e3; to = "
              "1e5; count = 4; };",
              k->path, k->help, (int)(leaf - k->path), k->path, leaf + 1);
    }
  }
  check_rules(&p, cfg);
  check_variants(&p, &c, cfg);

  config_destroy(&c);
  config_destroy(&d);
  if (p.count > 0)
    return SL_ERROR(SL_ERR_CONFIG, "%d problem%s in the config:\n%s", p.count,
                    p.count > 1 ? "s" : "", p.text);
  return SL_OK;
}

/* ------------------------------------------------------------------ text */

static void fmt_real(char *buf, size_t size, double v) {
  /* The shortest text that reads back as the same double: 0.003, not 0.0030000000000000001. */
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(buf, size, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) break;
  }
  /* libconfig reads "3" as an integer; keep reals recognisably real. */
  if (!strpbrk(buf, ".eEni")) strncat(buf, ".0", size - strlen(buf) - 1);
}

/* "value" of one key as libconfig text. */
static void fmt_value(const sl_config *cfg, const key *k, char *buf, size_t size) {
  const char *base = (const char *)cfg;
  size_t len = 0;
  char num[64];
  switch (k->k) {
  case K_STR:
    snprintf(buf, size, "\"%s\"", base + k->off);
    return;
  case K_INT:
    snprintf(buf, size, "%d", *(const int *)(base + k->off));
    return;
  case K_I64:
    snprintf(buf, size, "%lld", (long long)*(const int64_t *)(base + k->off));
    return;
  case K_REAL:
    fmt_real(buf, size, *(const double *)(base + k->off));
    return;
  case K_BOOL:
    snprintf(buf, size, "%s", *(const int *)(base + k->off) ? "true" : "false");
    return;
  case K_REALS:
  case K_I64S:
  case K_STRS:
  case K_AXIS: {
    int n = k->k == K_AXIS ? ((const sl_axis *)(base + k->off))->n
                           : *(const int *)(base + k->count_off);
    len += (size_t)snprintf(buf + len, size - len, "[");
    for (int i = 0; i < n && len < size; i++) {
      if (k->k == K_STRS)
        snprintf(num, sizeof num, "\"%s\"", base + k->off + (size_t)i * SL_CONFIG_NAME);
      else if (k->k == K_I64S)
        snprintf(num, sizeof num, "%lld", (long long)((const int64_t *)(base + k->off))[i]);
      else if (k->k == K_REALS)
        fmt_real(num, sizeof num, ((const double *)(base + k->off))[i]);
      else
        fmt_real(num, sizeof num, ((const sl_axis *)(base + k->off))->v[i]);
      len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? ", " : "", num);
    }
    if (len < size) snprintf(buf + len, size - len, "]");
    return;
  }
  }
}

int sl_config_to_text(const sl_config *cfg, char **text) {
  size_t cap = 16384, len = 0;
  char *out;
  SL_ALLOC(out, cap);
  char value[2048];
  len += (size_t)snprintf(out + len, cap - len, "# slingshot resolved config (from %s)\n",
                          cfg->origin);
  for (size_t i = 0; i < N_SCHEMA; i++)
    if (!strchr(SCHEMA[i].path, '.')) {
      fmt_value(cfg, &SCHEMA[i], value, sizeof value);
      len += (size_t)snprintf(out + len, cap - len, "%s = %s;\n", SCHEMA[i].path, value);
    }
  for (size_t g = 0; g < N_GROUPS; g++) {
    len += (size_t)snprintf(out + len, cap - len, "%s = {\n", GROUPS[g]);
    size_t glen = strlen(GROUPS[g]);
    for (size_t i = 0; i < N_SCHEMA; i++)
      if (strncmp(SCHEMA[i].path, GROUPS[g], glen) == 0 && SCHEMA[i].path[glen] == '.') {
        fmt_value(cfg, &SCHEMA[i], value, sizeof value);
        len += (size_t)snprintf(out + len, cap - len, "  %s = %s;\n", SCHEMA[i].path + glen + 1,
                                value);
      }
    len += (size_t)snprintf(out + len, cap - len, "};\n");
  }
  int any = 0;
  for (int v = 0; v < cfg->grid.n_variants; v++)
    any |= cfg->grid.variant_text[v][0] != '\0';
  if (any) {
    len += (size_t)snprintf(out + len, cap - len, "variant = {\n");
    for (int v = 0; v < cfg->grid.n_variants && len < cap; v++)
      if (cfg->grid.variant_text[v][0])
        len += (size_t)snprintf(out + len, cap - len, "  %s = { %s };\n", cfg->grid.variants[v],
                                cfg->grid.variant_text[v]);
    if (len < cap) len += (size_t)snprintf(out + len, cap - len, "};\n");
  }
  if (len >= cap) {
    free(out);
    return SL_ERROR(SL_ERR_INTERNAL, "resolved config longer than %zu bytes", cap);
  }
  *text = out;
  return SL_OK;
}

void sl_config_diff(const sl_config *a, const sl_config *b, char *buf, size_t size) {
  size_t len = 0;
  buf[0] = '\0';
  char va[2048], vb[2048];
  for (size_t i = 0; i < N_SCHEMA; i++) {
    fmt_value(a, &SCHEMA[i], va, sizeof va);
    fmt_value(b, &SCHEMA[i], vb, sizeof vb);
    if (strcmp(va, vb) != 0 && len < size)
      len += (size_t)snprintf(buf + len, size - len, "%s%s: %s vs %s", len ? "; " : "",
                              SCHEMA[i].path, va, vb);
  }
  for (int v = 0; v < a->grid.n_variants && v < b->grid.n_variants; v++)
    if (strcmp(a->grid.variant_text[v], b->grid.variant_text[v]) != 0 && len < size)
      len +=
          (size_t)snprintf(buf + len, size - len, "%svariant.%s: { %s } vs { %s }", len ? "; " : "",
                           a->grid.variants[v], a->grid.variant_text[v], b->grid.variant_text[v]);
}

void sl_config_print_reference(FILE *f) {
  fprintf(f, "%-24s %-10s %-22s %-14s %s\n", "key", "type", "allowed", "default", "meaning");
  for (size_t i = 0; i < N_SCHEMA; i++) {
    const key *k = &SCHEMA[i];
    char range[64] = "";
    if (k->choices)
      snprintf(range, sizeof range, "%s", k->choices);
    else if (k->k != K_STR && k->k != K_BOOL && k->k != K_STRS)
      fmt_range(k, range, sizeof range);
    static const char *kn[] = {"string", "int",  "int",     "real", "bool",
                               "reals",  "ints", "strings", "axis"};
    fprintf(f, "%-24s %-10s %-22s %-14s %s\n", k->path, kn[k->k], range,
            k->def ? k->def : (k->k == K_REALS ? "(all 1)" : "(required)"), k->help);
  }
}

const char *sl_config_embedded(const char *name) {
  for (const sl_embedded_experiment *e = sl_embedded_experiments; e->name; e++)
    if (strcmp(e->name, name) == 0) return e->text;
  return NULL;
}

int sl_config_read_file(const char *path, char **text) {
  FILE *f = fopen(path, "rb");
  SL_CHECK(f, SL_ERR_IO, "cannot open config '%s': %s", path, strerror(errno));
  char *buf = NULL;
  size_t cap = 0, len = 0;
  for (;;) {
    if (len + 4096 + 1 > cap) {
      cap = 2 * cap + 8192;
      if (cap > (64u << 20)) {
        free(buf);
        fclose(f);
        return SL_ERROR(SL_ERR_CONFIG, "config '%s' is larger than 64 MiB: not a config", path);
      }
      char *nb = realloc(buf, cap);
      if (!nb) {
        free(buf);
        fclose(f);
        return SL_ERROR(SL_ERR_NOMEM, "out of memory reading '%s'", path);
      }
      buf = nb;
    }
    size_t got = fread(buf + len, 1, 4096, f);
    len += got;
    if (got < 4096) break;
  }
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    free(buf);
    return SL_ERROR(SL_ERR_IO, "error reading config '%s'", path);
  }
  buf[len] = '\0';
  if (strlen(buf) != len) {
    free(buf);
    return SL_ERROR(SL_ERR_CONFIG, "config '%s' contains a NUL byte: not a text file", path);
  }
  *text = buf;
  return SL_OK;
}
