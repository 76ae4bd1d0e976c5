/* Language models: forward and backward in C over OpenBLAS. Nothing here is collective.
 *
 * Legend used in every comment: B batch rows, T context, C channels (d_model / embedding),
 * H hidden width, V vocabulary, L layers, NH heads, N params.
 *
 * Conventions (STYLE.md): all parameters live in one flat float buffer `params` with named views
 * inside the implementation; `grads` is a parallel buffer of the same length; activations are
 * allocated once at creation for up to spec.B rows, so a training step allocates nothing.
 *
 * A batch is B rows of T+1 tokens. The MLP predicts row[T] from the window row[0..T-1] (one
 * target per row); the GPT predicts row[t+1] from row[0..t] for t = 0..T-1 (T targets per row).
 * The loss is the mean cross-entropy in nats over all predicted tokens of the batch. */
#ifndef SLINGSHOT_MODEL_H
#define SLINGSHOT_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "slingshot/rng.h"

typedef enum sl_model_family { SL_MODEL_MLP = 0, SL_MODEL_GPT = 1 } sl_model_family;

/* Parameter groups, for choosing where weight decay applies (train.decay_groups). */
typedef enum sl_param_group {
  SL_PARAM_MATRIX = 0, /* matmul weights, an untied output head */
  SL_PARAM_EMBED = 1,  /* token and position embeddings */
  SL_PARAM_BIAS = 2,   /* biases */
  SL_PARAM_NORM = 3    /* LayerNorm gains and biases */
} sl_param_group;
/* A set of groups: bit (1 << group). SL_DECAY_EXPLICIT marks a set given on purpose, so that an
 * empty set (no decay anywhere) differs from 0, which means the default: matrices and
 * embeddings, not biases or norms. */
#define SL_DECAY_EXPLICIT 0x80u
#define SL_DECAY_DEFAULT ((1u << SL_PARAM_MATRIX) | (1u << SL_PARAM_EMBED))

typedef struct sl_model_spec {
  sl_model_family family;
  int V;       /* vocabulary */
  int T;       /* context: MLP window length, GPT sequence length */
  int B;       /* largest batch (rows) the model will be called with */
  int C;       /* MLP: embedding width per context token; GPT: d_model. 0 = chosen from target N */
  int H;       /* MLP: hidden width (set by shape_from_target). GPT: unused (MLP width is 4C) */
  int n_layer; /* MLP: hidden layers (1 for now); GPT: blocks. 0 = chosen from target N */
  int n_head;  /* GPT: heads (C % n_head == 0). 0 = chosen from target N */
  int tied;    /* GPT: output head tied to the token embedding */
  unsigned decay_groups; /* groups that weight decay applies to (0: SL_DECAY_DEFAULT) */
} sl_model_spec;

struct sl_model;

/* One implementation per family. */
typedef struct sl_model_ops {
  const char *name;
  /* Exact parameter count of a complete spec; *no_embed excludes the token (and position)
   * embedding tables, as in Kaplan et al. */
  size_t (*param_count)(const sl_model_spec *s, size_t *no_embed);
  /* Completes a spec (V, T, B and any shape fields already set are kept) so that the exact count
   * is as close to target_n as the documented rule allows. */
  int (*shape_from_target)(sl_model_spec *s, double target_n);
  /* Training FLOPs per predicted token: 6N (non-embedding) plus attention where there is any. */
  double (*flops_per_token)(const sl_model_spec *s);
  /* Floats of activations setup allocates for spec.B rows (for memory estimates). */
  size_t (*activation_floats)(const sl_model_spec *s);
  int (*setup)(struct sl_model *m); /* allocate activations, set the parameter groups */
  int (*init)(struct sl_model *m, sl_rng *rng);
  int (*forward)(struct sl_model *m, const int32_t *tokens, int B, float *loss);
  int (*backward)(struct sl_model *m, const int32_t *tokens, int B);
  void (*teardown)(struct sl_model *m);
} sl_model_ops;

typedef struct sl_model {
  sl_model_spec spec;
  const sl_model_ops *ops;
  size_t n_params, n_params_no_embed;
  double flops_per_token;
  int targets_per_row; /* MLP 1, GPT T */
  float *params;       /* [N] */
  float *grads;        /* [N] */
  uint8_t *group;      /* [N] the sl_param_group of every parameter (set by setup) */
  uint8_t *decay;      /* [N] 1 where weight decay applies: the groups in spec.decay_groups */
  float *probs;        /* after forward: [B x targets_per_row x V] softmax probabilities */
  void *impl;
} sl_model;

const sl_model_ops *sl_model_ops_for(sl_model_family family);
/* "mlp" or "gpt" -> family; SL_ERR_ARG otherwise. */
int sl_model_family_parse(const char *name, sl_model_family *out);
const char *sl_model_family_name(sl_model_family family);

int sl_model_shape_from_target(sl_model_spec *spec, double target_n);
size_t sl_model_param_count(const sl_model_spec *spec, size_t *no_embed);
/* Bytes a model of this spec holds: parameters, gradients, groups, decay mask, activations and
 * output probabilities (the optimiser's moments are not included: 8 bytes per parameter more
 * for AdamW). */
size_t sl_model_memory_bytes(const sl_model_spec *spec);

int sl_model_create(const sl_model_spec *spec, sl_model **out);
int sl_model_init(sl_model *m, sl_rng *rng);
/* tokens: [B x (T+1)]. Caches activations for backward; fills m->probs; *loss in nats. */
int sl_model_forward(sl_model *m, const int32_t *tokens, int B, float *loss);
/* After sl_model_forward on the same tokens: overwrites m->grads with d loss / d params. */
int sl_model_backward(sl_model *m, const int32_t *tokens, int B);
void sl_model_destroy(sl_model *m);

/* The matmul tally, for benchmarks: off by default. While on, every matrix product a model runs
 * (sl_gemm, the linear layers, the attention's per-head products) adds its 2 M N K FLOPs, as
 * executed, and its wall seconds, so that a step splits into its matmuls and everything else.
 * One tally per process (single-threaded use); it costs two clock reads per product while on and
 * one branch while off. */
typedef struct sl_mm_tally {
  double flops, seconds;
  long calls;
} sl_mm_tally;
/* Zeroes the tally and switches it on. */
void sl_mm_tally_start(void);
/* Switches it off and returns what it gathered since sl_mm_tally_start. */
sl_mm_tally sl_mm_tally_stop(void);

#endif
