/* The results file (see include/slingshot/results.h for how and why it is written this way). */
#include "slingshot/results.h"

#include <errno.h>
#include <hdf5.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "slingshot/competence.h"
#include "slingshot/error.h"
#include "slingshot/h5util.h"
#include "slingshot/language.h"

#ifndef SLINGSHOT_VERSION
#define SLINGSHOT_VERSION "unknown"
#endif
#ifndef SLINGSHOT_GIT_SHA
#define SLINGSHOT_GIT_SHA "unknown"
#endif

/* Every dataset of the file: its path, element type, width (0: one value per cell) and meaning. */
typedef enum { T_F64, T_I64, T_I8, T_STR } dtype;
enum { W_CURVE = 1, W_PREFIX = 2, W_TOP = 3, W_ALPHA = 4 };
typedef struct column {
  const char *path;
  dtype t;
  int wide; /* 0: [cells]; W_CURVE: [cells x eval.points]; W_PREFIX: [cells x prefixes];
             * W_ALPHA: [cells x bound.alphas] */
  const char *units, *description;
} column;

enum {
  G_N_TARGET,
  G_N_PARAMS,
  G_N_NO_EMBED,
  G_D_TOKENS,
  G_SEED,
  G_VARIANT,
  G_MODEL,
  G_D_MODEL,
  G_N_LAYER,
  G_N_HEAD,
  G_HIDDEN,
  G_CONTEXT,
  G_STEPS,
  G_COST,
  G_STATUS,
  G_ERROR,
  C_TRAIN,
  C_VAL,
  C_EXCESS,
  C_ENTROPY,
  C_N_PARAMS,
  C_N_NO_EMBED,
  C_D_TOKENS,
  C_TOKENS,
  C_STEPS,
  C_FLOPS_6ND,
  C_FLOPS,
  C_WALL,
  C_RANK,
  C_DIVERGED,
  K_LOSS,
  K_TOKENS,
  U_PIECES,
  C_HTRACE,
  F_LOSS,
  F_TRACE,
  F_TRACE_SE,
  F_EXACT,
  F_NEG_MASS,
  F_NEG_FRAC,
  F_LMAX,
  F_LMIN,
  F_ASYM,
  F_TOP,
  B_D,
  B_SUBSPACE,
  B_LEVELS,
  B_CODE,
  B_CODEBOOK,
  B_COUNT,
  B_C,
  B_PREFIX,
  B_EXTRA,
  B_K,
  B_M,
  B_N,
  B_POP,
  B_EPS,
  B_LOG2V,
  B_TERM_M,
  B_TERM_N,
  B_DELTA,
  B_RISK_EMP,
  B_RISK_POP,
  B_BOUND,
  B_BEST,
  B_BEST_ALPHA,
  B_BEST_POP,
  B_BEST_POP_SE,
  B_SLACK,
  B_TOP_K,
  B_TOP1_EMP,
  B_TOP1_POP,
  B_TOP1_BOUND,
  B_TOPK_EMP,
  B_TOPK_POP,
  B_TOPK_BOUND,
  B_PRUNE_FRACTION,
  B_N_EFFECTIVE,
  B_PRUNE_BASE,
  B_PRUNE_LOSS,
  N_COLUMNS
};

static const column COLUMNS[N_COLUMNS] = {
    [G_N_TARGET] = {"/grid/n_target", T_F64, 0, "parameters",
                    "target model size N of the grid axis"},
    [G_N_PARAMS] = {"/grid/n_params", T_I64, 0, "parameters",
                    "exact parameter count of the model built for the target"},
    [G_N_NO_EMBED] = {"/grid/n_params_no_embed", T_I64, 0, "parameters",
                      "exact parameter count without the token (and position) embeddings"},
    [G_D_TOKENS] = {"/grid/d_tokens", T_I64, 0, "tokens",
                    "corpus size D: the cell trains on the first D tokens of its seed's corpus"},
    [G_SEED] = {"/grid/seed", T_I64, 0, "1",
                "grid seed: language maps, corpus and held-out stream"},
    [G_VARIANT] = {"/grid/variant", T_STR, 0, "1", "training variant"},
    [G_MODEL] = {"/grid/model", T_STR, 0, "1", "model family (mlp or gpt)"},
    [G_D_MODEL] = {"/grid/d_model", T_I64, 0, "1", "embedding width (mlp) or d_model (gpt)"},
    [G_N_LAYER] = {"/grid/n_layer", T_I64, 0, "1", "layers"},
    [G_N_HEAD] = {"/grid/n_head", T_I64, 0, "1", "attention heads (gpt; 0 for mlp)"},
    [G_HIDDEN] = {"/grid/hidden", T_I64, 0, "1", "hidden width of the mlp (0 for gpt)"},
    [G_CONTEXT] = {"/grid/context", T_I64, 0, "tokens", "context length T"},
    [G_STEPS] = {"/grid/steps", T_I64, 0, "steps", "planned optimiser steps"},
    [G_COST] = {"/grid/cost", T_F64, 0, "FLOP",
                "planned training FLOPs (flops per token x tokens): the scheduler's weight"},
    [G_STATUS] = {"/grid/status", T_I8, 0, "1",
                  "0 todo, 1 done, 2 diverged, -1 failed (see /grid/error)"},
    [G_ERROR] = {"/grid/error", T_STR, 0, "1", "why a cell failed or diverged (empty otherwise)"},
    [C_TRAIN] = {"/cells/train_loss", T_F64, 0, "nats/token",
                 "cross-entropy on the cell's own corpus (up to eval.tokens of it) after training"},
    [C_VAL] = {"/cells/val_loss", T_F64, 0, "nats/token",
               "cross-entropy on held-out tokens of the same language after training"},
    [C_EXCESS] = {"/cells/excess_loss", T_F64, 0, "nats/token",
                  "val_loss minus the entropy rate of the language (/cells/entropy)"},
    [C_ENTROPY] = {"/cells/entropy", T_F64, 0, "nats/token",
                   "entropy rate of the language (the lowest achievable loss): exact for skills, "
                   "estimated for hmm and pcfg (interval in /language)"},
    [C_N_PARAMS] = {"/cells/n_params", T_I64, 0, "parameters", "exact parameter count"},
    [C_N_NO_EMBED] = {"/cells/n_params_no_embed", T_I64, 0, "parameters",
                      "exact parameter count without embeddings"},
    [C_D_TOKENS] = {"/cells/d_tokens", T_I64, 0, "tokens", "corpus size D"},
    [C_TOKENS] = {"/cells/tokens_trained", T_I64, 0, "tokens",
                  "predicted tokens processed in training (steps x batch x targets per row)"},
    [C_STEPS] = {"/cells/steps", T_I64, 0, "steps", "optimiser steps taken"},
    [C_FLOPS_6ND] = {"/cells/flops_6nd", T_F64, 0, "FLOP",
                     "6 x n_params_no_embed x tokens_trained"},
    [C_FLOPS] = {"/cells/flops_exact", T_F64, 0, "FLOP",
                 "training FLOPs per token of the model (matmuls, attention) x tokens_trained"},
    [C_WALL] = {"/cells/wall_s", T_F64, 0, "s",
                "wall time of the cell (data, training, evaluation)"},
    [C_RANK] = {"/cells/rank", T_I64, 0, "1", "MPI rank that ran the cell"},
    [C_DIVERGED] = {"/cells/diverged_step", T_I64, 0, "steps",
                    "first step with a non-finite loss or gradient, -1 if none"},
    [K_LOSS] = {"/curves/loss", T_F64, W_CURVE, "nats/token",
                "held-out loss along training, [cell, point]"},
    [K_TOKENS] = {"/curves/tokens", T_F64, W_CURVE, "tokens",
                  "training tokens processed at each curve point, [cell, point]"},
    [U_PIECES] = {"/unique/pieces", T_F64, W_PREFIX, "pieces",
                  "distinct text pieces wholly inside the first prefix_tokens[j] tokens of the "
                  "cell's corpus, [cell, prefix]; NaN beyond D"},
    [C_HTRACE] = {"/cells/hessian_trace", T_F64, 0, "nats/token",
                  "Hutchinson estimate of the trace of the Hessian of the training loss after "
                  "training (= /flatness/trace; NaN when not measured)"},
    [F_LOSS] = {"/flatness/loss", T_F64, 0, "nats/token",
                "training loss on the flatness batches, at the parameters the Hessian is taken at"},
    [F_TRACE] = {"/flatness/trace", T_F64, 0, "nats/token",
                 "Hutchinson estimate of Tr(H), H the Hessian of the training loss (per unit "
                 "parameter squared) on the flatness batches"},
    [F_TRACE_SE] = {"/flatness/trace_stderr", T_F64, 0, "nats/token",
                    "standard error of the Hutchinson estimate: sd of v^T H v over probes / "
                    "sqrt(probes)"},
    [F_EXACT] = {"/flatness/exact_trace", T_F64, 0, "nats/token",
                 "sum of every eigenvalue of H from the full spectrum (NaN above "
                 "spectrum_max_params)"},
    [F_NEG_MASS] = {"/flatness/negative_mass", T_F64, 0, "nats/token",
                    "sum of |lambda| over the negative eigenvalues of H (full spectrum)"},
    [F_NEG_FRAC] = {"/flatness/negative_fraction", T_F64, 0, "1",
                    "share of the eigenvalues of H that are negative (full spectrum)"},
    [F_LMAX] = {"/flatness/lambda_max", T_F64, 0, "nats/token", "largest eigenvalue of H"},
    [F_LMIN] = {"/flatness/lambda_min", T_F64, 0, "nats/token", "smallest eigenvalue of H"},
    [F_ASYM] = {"/flatness/asymmetry", T_F64, 0, "1",
                "max |H - H^T| / max |H| of the assembled Hessian before symmetrising"},
    [F_TOP] = {"/flatness/top_eigenvalues", T_F64, W_TOP, "nats/token",
               "largest eigenvalues of H, descending, [cell, m] (NaN without a spectrum)"},
    /* The compression bound (SCIENCE.md section 3; formula in the attributes of /bounds). */
    [B_D] = {"/bounds/d", T_I64, 0, "coordinates",
             "d: coordinates quantised and coded (the subspace dimension, or all N parameters)"},
    [B_SUBSPACE] = {"/bounds/subspace_d", T_I64, 0, "coordinates",
                    "subspace.d of the cell's variant (0: every parameter trained)"},
    [B_LEVELS] = {"/bounds/levels", T_I64, 0, "levels",
                  "L: quantisation levels kept (the lowest bound among bound.levels)"},
    [B_CODE] = {"/bounds/code_bits", T_F64, 0, "bits",
                "arithmetic-coded symbols, measured by encoding (and checked by decoding)"},
    [B_CODEBOOK] = {"/bounds/codebook_bits", T_F64, 0, "bits", "16 bits per centroid: 16 L"},
    [B_COUNT] = {"/bounds/count_bits", T_F64, 0, "bits",
                 "the symbol counts of the coder's model: L ceil(log2(d + 1))"},
    [B_C] = {"/bounds/c_bits", T_F64, 0, "bits", "C = code_bits + codebook_bits + count_bits"},
    [B_PREFIX] = {"/bounds/prefix_bits", T_F64, 0, "bits",
                  "2 log2 C: the overhead that makes the code prefix-free"},
    [B_EXTRA] = {"/bounds/extra_bits", T_F64, 0, "bits",
                 "log2(number of bound.levels) + log2(number of alphas + 2): the union bound over "
                 "the choices made after seeing the data (L; which a, top-1, top-k statement)"},
    [B_K] = {"/bounds/k_nats", T_F64, 0, "nats", "K = (c_bits + prefix_bits + extra_bits) ln 2"},
    [B_M] = {"/bounds/m", T_I64, 0, "pieces", "m: complete text pieces of the cell's corpus"},
    [B_N] = {"/bounds/n", T_I64, 0, "pieces",
             "n: training pieces drawn with replacement for the empirical risk"},
    [B_POP] = {"/bounds/pop_pieces", T_I64, 0, "pieces",
               "fresh pieces (a stream never trained on) for the population risk"},
    [B_EPS] = {"/bounds/eps", T_F64, 0, "1", "failure probability eps"},
    [B_LOG2V] = {"/bounds/log2_vocab", T_F64, 0, "bits/token", "log2 V: random guessing"},
    [B_TERM_M] = {"/bounds/term_m", T_F64, 0, "1",
                  "sqrt((K - ln(r eps)) / (2 m)) with r = n / (n + m)"},
    [B_TERM_N] = {"/bounds/term_n", T_F64, 0, "1", "sqrt(-ln((1 - r) eps) / (2 n))"},
    [B_DELTA] = {"/bounds/delta", T_F64, W_ALPHA, "bits/token",
                 "Delta(a) = log2(1 + (1 - a) V / a), [cell, alpha]"},
    [B_RISK_EMP] = {"/bounds/risk_emp", T_F64, W_ALPHA, "bits/token",
                    "R_hat(a): smoothed loss of the quantised model on the n sampled training "
                    "pieces, [cell, alpha]"},
    [B_RISK_POP] = {"/bounds/risk_pop", T_F64, W_ALPHA, "bits/token",
                    "the same on pop_pieces fresh pieces: the population risk, [cell, alpha]"},
    [B_BOUND] = {"/bounds/bound", T_F64, W_ALPHA, "bits/token",
                 "R_hat(a) + Delta(a) (term_m + term_n), [cell, alpha]"},
    [B_BEST] = {"/bounds/best_bound", T_F64, 0, "bits/token", "the lowest bound over a"},
    [B_BEST_ALPHA] = {"/bounds/best_alpha", T_F64, 0, "1", "the a of best_bound"},
    [B_BEST_POP] = {"/bounds/best_risk_pop", T_F64, 0, "bits/token",
                    "population risk at best_alpha"},
    [B_BEST_POP_SE] = {"/bounds/best_risk_pop_stderr", T_F64, 0, "bits/token",
                       "standard error of best_risk_pop (sd over pieces / sqrt(pop_pieces))"},
    [B_SLACK] = {"/bounds/slack", T_F64, 0, "bits/token", "best_bound - best_risk_pop"},
    [B_TOP_K] = {"/bounds/top_k", T_I64, 0, "1", "k of the top-k error bound"},
    [B_TOP1_EMP] = {"/bounds/top1_emp", T_F64, 0, "1",
                    "top-1 error (fraction of a piece's tokens, mean over the n sampled pieces)"},
    [B_TOP1_POP] = {"/bounds/top1_pop", T_F64, 0, "1", "top-1 error on the fresh pieces"},
    [B_TOP1_BOUND] = {"/bounds/top1_bound", T_F64, 0, "1", "top1_emp + term_m + term_n (Delta 1)"},
    [B_TOPK_EMP] = {"/bounds/topk_emp", T_F64, 0, "1", "top-k error on the n sampled pieces"},
    [B_TOPK_POP] = {"/bounds/topk_pop", T_F64, 0, "1", "top-k error on the fresh pieces"},
    [B_TOPK_BOUND] = {"/bounds/topk_bound", T_F64, 0, "1", "topk_emp + term_m + term_n (Delta 1)"},
    [B_PRUNE_FRACTION] = {"/bounds/prune_fraction", T_F64, 0, "1",
                          "largest fraction of parameters (smallest |theta| first) that magnitude "
                          "pruning zeroes with the held-out loss within bound.prune_tol"},
    [B_N_EFFECTIVE] = {"/bounds/n_effective", T_F64, 0, "parameters",
                       "effective N: n_params x (1 - prune_fraction)"},
    [B_PRUNE_BASE] = {"/bounds/prune_loss_base", T_F64, 0, "nats/token",
                      "held-out loss (first bound.prune_tokens tokens) before pruning"},
    [B_PRUNE_LOSS] = {"/bounds/prune_loss", T_F64, 0, "nats/token",
                      "the same after pruning prune_fraction"},
};

#define MAX_NGRAMS SL_CONFIG_MAX_LIST

struct sl_results {
  hid_t file;
  hid_t dset[N_COLUMNS];
  hid_t ngram_dset[MAX_NGRAMS]; /* /unique/ngrams_L, [cells x prefixes] */
  hid_t prefix_dset;            /* /unique/prefix_tokens [prefixes] (only while creating) */
  hid_t alpha_dset;             /* /bounds/alphas [alphas] (only while creating) */
  double alpha_values[SL_CONFIG_MAX_LIST];
  hid_t str_type;
  int64_t n_cells;
  int points, prefixes, n_ngrams, top, alphas;
  int hll_p; /* 0: exact counts */
  int ngram_len[MAX_NGRAMS];
  hid_t sk_dset[16]; /* /skills (issue 5), SK_* order; created with the file */
  int sk_S, sk_K, sk_tuples, sk_thr;
  const sl_config *cfg;
};

static int width(const sl_results *r, int wide) {
  if (wide == W_ALPHA) return r->alphas;
  return wide == W_CURVE ? r->points : wide == W_PREFIX ? r->prefixes : wide == W_TOP ? r->top : 1;
}

/* ------------------------------------------------------------------ attributes */

/* Reads a string attribute into a new buffer, or fails with SL_ERR_FORMAT. */
static int read_attr_str(hid_t obj, const char *name, const char *path, char **out) {
  htri_t has = H5Aexists(obj, name);
  SL_CHECK(has >= 0, SL_ERR_FORMAT, "%s: cannot read its attributes: the file is damaged", path);
  SL_CHECK(has > 0, SL_ERR_FORMAT, "%s is not a slingshot results file: it has no '%s' attribute",
           path, name);
  hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
  SL_CALL_HDF5(a);
  hid_t t = H5Aget_type(a);
  hid_t sp = H5Aget_space(a); /* one string: an array of them is not ours (and would overflow) */
  int ok = H5Tget_class(t) == H5T_STRING && !H5Tis_variable_str(t) &&
           H5Sget_simple_extent_npoints(sp) == 1;
  H5Sclose(sp);
  size_t size = ok ? H5Tget_size(t) : 0;
  char *buf = ok ? calloc(size + 1, 1) : NULL;
  hid_t mt = H5Tcopy(H5T_C_S1);
  H5Tset_size(mt, size + 1);
  herr_t r = buf ? H5Aread(a, mt, buf) : -1;
  H5Tclose(mt);
  H5Tclose(t);
  H5Aclose(a);
  if (r < 0) {
    free(buf);
    return SL_ERROR(SL_ERR_FORMAT, "%s: attribute '%s' is not a readable string", path, name);
  }
  *out = buf;
  return SL_OK;
}

/* ------------------------------------------------------------------ structure */

static hid_t file_type(const sl_results *r, dtype t) {
  switch (t) {
  case T_F64:
    return H5T_IEEE_F64LE;
  case T_I64:
    return H5T_STD_I64LE;
  case T_I8:
    return H5T_STD_I8LE;
  case T_STR:
    return r->str_type;
  }
  return -1;
}

static hid_t mem_type(const sl_results *r, dtype t) {
  switch (t) {
  case T_F64:
    return H5T_NATIVE_DOUBLE;
  case T_I64:
    return H5T_NATIVE_INT64;
  case T_I8:
    return H5T_NATIVE_INT8;
  case T_STR:
    return r->str_type;
  }
  return -1;
}

static int make_string_type(sl_results *r) {
  r->str_type = H5Tcopy(H5T_C_S1);
  SL_CALL_HDF5(r->str_type);
  SL_CALL_HDF5(H5Tset_size(r->str_type, SL_RESULTS_ERROR_LEN));
  SL_CALL_HDF5(H5Tset_strpad(r->str_type, H5T_STR_NULLTERM));
  return SL_OK;
}

/* A float64 dataset [rows] or [rows x cols] (cols > 0), allocated now and NaN-filled. */
static int create_f64(sl_results *r, const char *path, int64_t rows, int cols, const char *units,
                      const char *description, hid_t *out) {
  hsize_t dims[2] = {(hsize_t)rows, (hsize_t)cols};
  hid_t sp = H5Screate_simple(cols > 0 ? 2 : 1, dims, NULL);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
  H5Pset_fill_time(dcpl, H5D_FILL_TIME_ALLOC);
  double nan = NAN;
  H5Pset_fill_value(dcpl, H5T_NATIVE_DOUBLE, &nan);
  hid_t d = H5Dcreate2(r->file, path, H5T_IEEE_F64LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  H5Pclose(dcpl);
  H5Sclose(sp);
  SL_CHECK(d >= 0, SL_ERR_IO, "cannot create dataset %s (disk full?)", path);
  *out = d;
  SL_CALL(sl_h5_attr_str(d, "units", units));
  SL_CALL(sl_h5_attr_str(d, "description", description));
  return SL_OK;
}

/* The estimator's settings (the base config's flatness group; a variant may change them, and
 * /grid/variant names it) as attributes of /flatness. */
static int flatness_attributes(sl_results *r) {
  hid_t fg = H5Gopen2(r->file, "/flatness", H5P_DEFAULT);
  SL_CALL_HDF5(fg);
  const sl_config *c = r->cfg;
  int e =
      sl_h5_attr_i64(fg, "probes", c->flatness.probes) ||
      sl_h5_attr_i64(fg, "batches", c->flatness.batches) ||
      sl_h5_attr_i64(fg, "batch", c->flatness.batch) ||
      sl_h5_attr_str(fg, "distribution", c->flatness.distribution) ||
      sl_h5_attr_str(fg, "method", c->flatness.method) ||
      sl_h5_attr_i64(fg, "spectrum_max_params", c->flatness.spectrum_max_params) ||
      sl_h5_attr_i64(fg, "top", c->flatness.top) ||
      sl_h5_attr_str(fg, "description",
                     "Hessian of the training loss at the final parameters (SCIENCE.md section 4): "
                     "Hutchinson trace from Hessian-vector products (exact R-operator for the mlp, "
                     "central differences of gradients otherwise) and, for N <= "
                     "spectrum_max_params, every eigenvalue by ScaLAPACK's pdsyevr (a 1 x 1 BLACS "
                     "grid per cell)");
  H5Gclose(fg);
  SL_CHECK(!e, SL_ERR_HDF5, "cannot write the attributes of /flatness");
  return SL_OK;
}
static int create_skills(sl_results *r, const sl_config *cfg); /* /skills, below */

static int create_datasets(sl_results *r) {
  const char *groups[] = {"/grid", "/cells", "/curves", "/unique", "/flatness", "/bounds"};
  for (int g = 0; g < 6; g++) {
    hid_t id = H5Gcreate2(r->file, groups[g], H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    SL_CALL_HDF5(id);
    H5Gclose(id);
  }
  for (int c = 0; c < N_COLUMNS; c++) {
    const column *col = &COLUMNS[c];
    hsize_t dims[2] = {(hsize_t)r->n_cells, (hsize_t)width(r, col->wide)};
    hid_t sp = H5Screate_simple(col->wide ? 2 : 1, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    /* Allocated now, so later row writes change no metadata (see results.h). */
    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
    H5Pset_fill_time(dcpl, H5D_FILL_TIME_ALLOC);
    double nan = NAN;
    int64_t minus1 = -1;
    if (col->t == T_F64) H5Pset_fill_value(dcpl, H5T_NATIVE_DOUBLE, &nan);
    if (c == C_DIVERGED) H5Pset_fill_value(dcpl, H5T_NATIVE_INT64, &minus1);
    hid_t d =
        H5Dcreate2(r->file, col->path, file_type(r, col->t), sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    H5Sclose(sp);
    SL_CHECK(d >= 0, SL_ERR_IO, "cannot create dataset %s (disk full?)", col->path);
    r->dset[c] = d;
    SL_CALL(sl_h5_attr_str(d, "units", col->units));
    SL_CALL(sl_h5_attr_str(d, "description", col->description));
  }
  SL_CALL(create_f64(r, "/bounds/alphas", r->alphas, 0, "1",
                     "the smoothing levels a of the [cell, alpha] datasets (bound.alphas)",
                     &r->alpha_dset));
  hid_t bg = H5Gopen2(r->file, "/bounds", H5P_DEFAULT);
  SL_CALL_HDF5(bg);
  int eb = sl_h5_attr_str(bg, "formula", SL_BOUNDS_FORMULA);
  H5Gclose(bg);
  SL_CHECK(!eb, SL_ERR_HDF5, "cannot write the attributes of /bounds");
  SL_CALL(create_f64(r, "/unique/prefix_tokens", r->prefixes, 0, "tokens",
                     "corpus prefix lengths at which unique sequences are counted (shared by all "
                     "cells: corpora are nested across D)",
                     &r->prefix_dset));
  hid_t ug = H5Gopen2(r->file, "/unique", H5P_DEFAULT);
  SL_CALL_HDF5(ug);
  int e1 = sl_h5_attr_str(ug, "method", r->hll_p > 0 ? "hll" : "exact");
  int e2 = sl_h5_attr_i64(ug, "hll_p", r->hll_p);
  int e3 =
      sl_h5_attr_f64(ug, "hll_rel_stderr", r->hll_p > 0 ? 1.04 / sqrt(pow(2.0, r->hll_p)) : 0.0);
  H5Gclose(ug);
  SL_CHECK(!e1 && !e2 && !e3, SL_ERR_HDF5, "cannot write the attributes of /unique");
  SL_CALL(flatness_attributes(r));
  for (int g = 0; g < r->n_ngrams; g++) {
    char path[64], desc[200];
    snprintf(path, sizeof path, "/unique/ngrams_%d", r->ngram_len[g]);
    snprintf(desc, sizeof desc,
             "distinct %d-grams wholly inside the first prefix_tokens[j] tokens of the cell's "
             "corpus, [cell, prefix]; NaN beyond D",
             r->ngram_len[g]);
    SL_CALL(create_f64(r, path, r->n_cells, r->prefixes, "n-grams", desc, &r->ngram_dset[g]));
  }
  SL_CALL(create_skills(r, r->cfg));
  return SL_OK;
}

/* ------------------------------------------------------------------ /skills (issue 5) */

enum {
  SK_THETA,
  SK_EXCESS,
  SK_TOP1,
  SK_TOPK,
  SK_COMP,
  SK_PIECES,
  SK_FRAC_SKILLS,
  SK_TUPLE_MEAN,
  SK_TUPLE_COUNT,
  SK_TUPLE_VALUES,
  SK_FRAC_TUPLES,
  SK_N
};

typedef struct sk_column {
  const char *path, *units, *description;
  int inner; /* dims after [cells]: 0 none, 1 [S], 2 [thr], 3 [K, 3], 4 [K, 3, tuples],
              * 5 [K, 3, thr] */
} sk_column;

static const sk_column SK_COLUMNS[SK_N] = {
    [SK_THETA] = {"/skills/theta", "1",
                  "fraction of held-out pieces with a wrong teacher-forced cloze answer (answers: "
                  "y1..yk, each must be the top-1 token)",
                  0},
    [SK_EXCESS] = {"/skills/excess_kl", "nats/token",
                   "exact excess loss: mean over the held-out pieces' tokens of KL(true next-token "
                   "distribution || model)",
                   0},
    [SK_TOP1] = {"/skills/top1", "1", "top-1 accuracy of the held-out answer tokens y1..yk", 0},
    [SK_TOPK] = {"/skills/topk", "1",
                 "top-k accuracy (k = skills.top_k) of the held-out answer tokens", 0},
    [SK_COMP] = {"/skills/competence", "1",
                 "competence of every skill: fraction of held-out pieces using it answered "
                 "correctly, [cell, skill]; NaN if no piece used it",
                 1},
    [SK_PIECES] = {"/skills/skill_pieces", "pieces",
                   "held-out pieces using each skill, [cell, skill]", 1},
    [SK_FRAC_SKILLS] = {"/skills/frac_skills_above", "1",
                        "fraction of skills with competence >= thresholds[t], [cell, t]", 2},
    [SK_TUPLE_MEAN] = {"/skills/tuple_competence", "1",
                       "mean competence of the sampled k'-tuples, [cell, k'-1, split] with split "
                       "0 seen together in the training corpus, 1 never seen, 2 longer than any "
                       "training piece (k' > k_max); NaN where the split does not apply or is "
                       "empty",
                       3},
    [SK_TUPLE_COUNT] = {"/skills/tuple_count", "tuples",
                        "k'-tuples measured, [cell, k'-1, split] (NaN: split not applicable)", 3},
    [SK_TUPLE_VALUES] = {"/skills/tuple_values", "1",
                         "each sampled tuple's competence (fraction of its probe pieces answered "
                         "correctly), [cell, k'-1, split, tuple]; NaN past tuple_count",
                         4},
    [SK_FRAC_TUPLES] = {"/skills/frac_tuples_above", "1",
                        "fraction of sampled k'-tuples with competence >= thresholds[t], [cell, "
                        "k'-1, split, t]",
                        5},
};

static int sk_dims(const sl_results *r, int inner, hsize_t *dims) {
  dims[0] = (hsize_t)r->n_cells;
  const hsize_t K = (hsize_t)r->sk_K, thr = (hsize_t)(r->sk_thr ? r->sk_thr : 1);
  switch (inner) {
  case 0:
    return 1;
  case 1:
    dims[1] = (hsize_t)r->sk_S;
    return 2;
  case 2:
    dims[1] = thr;
    return 2;
  case 3:
    dims[1] = K, dims[2] = SL_N_SPLITS;
    return 3;
  case 4:
    dims[1] = K, dims[2] = SL_N_SPLITS, dims[3] = (hsize_t)r->sk_tuples;
    return 4;
  default:
    dims[1] = K, dims[2] = SL_N_SPLITS, dims[3] = thr;
    return 4;
  }
}

static int create_skills(sl_results *r, const sl_config *cfg) {
  hid_t g = H5Gcreate2(r->file, "/skills", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  SL_CALL_HDF5(g);
  int err = SL_OK;
  char thr[256] = "";
  for (int t = 0; t < cfg->skills.n_thresholds; t++)
    snprintf(thr + strlen(thr), sizeof thr - strlen(thr), "%s%.17g", t ? ", " : "",
             cfg->skills.thresholds[t]);
  SL_CALL_GOTO(
      sl_h5_attr_str(g, "description",
                     "skill and k'-tuple competence on fresh pieces (docs/SCIENCE.md sections 0 "
                     "and 1); held-out pieces from stream (seed, grid seed, \"skills_eval\")"),
      done);
  SL_CALL_GOTO(
      sl_h5_attr_str(g, "cloze_answers",
                     "y1..yk of each piece <s1>..<sk> x y1..yk EOS, teacher-forced; right when "
                     "the top-1 token (ties to the lower id); a piece is correct when all are"),
      done);
  SL_CALL_GOTO(sl_h5_attr_str(g, "splits", "0 seen, 1 unseen, 2 longer"), done);
  SL_CALL_GOTO(sl_h5_attr_str(g, "thresholds", thr), done);
  SL_CALL_GOTO(sl_h5_attr_i64(g, "pieces", cfg->skills.pieces), done);
  SL_CALL_GOTO(sl_h5_attr_i64(g, "K", cfg->skills.K), done);
  SL_CALL_GOTO(sl_h5_attr_i64(g, "tuples", cfg->skills.tuples), done);
  SL_CALL_GOTO(sl_h5_attr_i64(g, "probe_pieces", cfg->skills.probe_pieces), done);
  SL_CALL_GOTO(sl_h5_attr_i64(g, "top_k", cfg->skills.top_k), done);
  SL_CALL_GOTO(sl_h5_attr_i64(g, "k_max", cfg->language.k_max), done);
  for (int c = 0; c < SK_N; c++) {
    hsize_t dims[4];
    int rank = sk_dims(r, SK_COLUMNS[c].inner, dims);
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
    H5Pset_fill_time(dcpl, H5D_FILL_TIME_ALLOC);
    double nan = NAN;
    H5Pset_fill_value(dcpl, H5T_NATIVE_DOUBLE, &nan);
    hid_t d =
        H5Dcreate2(r->file, SK_COLUMNS[c].path, H5T_IEEE_F64LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    H5Sclose(sp);
    SL_CHECK_GOTO(d >= 0, SL_ERR_HDF5, done, "cannot create dataset %s", SK_COLUMNS[c].path);
    r->sk_dset[c] = d;
    SL_CALL_GOTO(sl_h5_attr_str(d, "units", SK_COLUMNS[c].units), done);
    SL_CALL_GOTO(sl_h5_attr_str(d, "description", SK_COLUMNS[c].description), done);
  }
done:
  H5Gclose(g);
  return err;
}

static int open_skills(sl_results *r, const char *path) {
  for (int c = 0; c < SK_N; c++) {
    SL_CHECK(H5Lexists(r->file, "/skills", H5P_DEFAULT) > 0 &&
                 H5Lexists(r->file, SK_COLUMNS[c].path, H5P_DEFAULT) > 0,
             SL_ERR_FORMAT,
             "%s has no %s: it was made by a slingshot without skill competence; start a new "
             "file with -o",
             path, SK_COLUMNS[c].path);
    r->sk_dset[c] = H5Dopen2(r->file, SK_COLUMNS[c].path, H5P_DEFAULT);
    SL_CHECK(r->sk_dset[c] >= 0, SL_ERR_HDF5, "cannot open %s in %s", SK_COLUMNS[c].path, path);
  }
  return SL_OK;
}

static int write_skills(sl_results *r, int64_t i, const sl_competence *c) {
  const double *src[SK_N] = {&c->theta,      &c->excess_kl,   &c->top1,       &c->top_k,
                             c->competence,  c->skill_pieces, c->frac_skills, c->tuple_mean,
                             c->tuple_count, c->tuple_values, c->frac_tuples};
  for (int k = 0; k < SK_N; k++) {
    hsize_t dims[4], off[4] = {(hsize_t)i, 0, 0, 0};
    int rank = sk_dims(r, SK_COLUMNS[k].inner, dims);
    dims[0] = 1;
    hid_t fs = H5Dget_space(r->sk_dset[k]);
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, off, NULL, dims, NULL);
    hid_t ms = H5Screate_simple(rank, dims, NULL);
    herr_t w = H5Dwrite(r->sk_dset[k], H5T_NATIVE_DOUBLE, ms, fs, H5P_DEFAULT, src[k]);
    H5Sclose(ms);
    H5Sclose(fs);
    SL_CHECK(w >= 0, SL_ERR_HDF5, "writing %s row %lld failed (disk full?)", SK_COLUMNS[k].path,
             (long long)i);
  }
  return SL_OK;
}

static int open_datasets(sl_results *r, const char *path) {
  for (int c = 0; c < N_COLUMNS; c++) {
    SL_CHECK(H5Lexists(r->file, COLUMNS[c].path, H5P_DEFAULT) > 0, SL_ERR_FORMAT,
             "%s has no dataset %s: not a complete slingshot results file", path, COLUMNS[c].path);
    r->dset[c] = H5Dopen2(r->file, COLUMNS[c].path, H5P_DEFAULT);
    SL_CHECK(r->dset[c] >= 0, SL_ERR_HDF5, "cannot open %s in %s", COLUMNS[c].path, path);
  }
  for (int g = 0; g < r->n_ngrams; g++) {
    char name[64];
    snprintf(name, sizeof name, "/unique/ngrams_%d", r->ngram_len[g]);
    r->ngram_dset[g] = H5Dopen2(r->file, name, H5P_DEFAULT);
    SL_CHECK(r->ngram_dset[g] >= 0, SL_ERR_FORMAT, "%s has no dataset %s", path, name);
  }
  SL_CALL(open_skills(r, path));
  return SL_OK;
}

/* Writes [start, start+count) rows of a dataset [rows] (cols 0) or [rows x cols] from buf with
 * an independent transfer. */
static int write_dset(hid_t d, hid_t type, int cols, int64_t start, int64_t count,
                      const void *buf) {
  hid_t fs = H5Dget_space(d);
  hsize_t off[2] = {(hsize_t)start, 0}, cnt[2] = {(hsize_t)count, (hsize_t)cols};
  H5Sselect_hyperslab(fs, H5S_SELECT_SET, off, NULL, cnt, NULL);
  hid_t ms = H5Screate_simple(cols > 0 ? 2 : 1, cnt, NULL);
  herr_t w = H5Dwrite(d, type, ms, fs, H5P_DEFAULT, buf);
  H5Sclose(ms);
  H5Sclose(fs);
  if (w < 0) {
    char name[256] = "?";
    H5Iget_name(d, name, sizeof name);
    return SL_ERROR(SL_ERR_HDF5, "writing %s rows %lld..%lld failed (disk full?)", name,
                    (long long)start, (long long)(start + count - 1));
  }
  return SL_OK;
}

static int write_rows(sl_results *r, int c, int64_t start, int64_t count, const void *buf) {
  const column *col = &COLUMNS[c];
  SL_CALL(write_dset(r->dset[c], mem_type(r, col->t), col->wide ? width(r, col->wide) : 0, start,
                     count, buf));
  return SL_OK;
}

/* A part file (include/slingshot/slice.h): which cells it runs, as /grid/owned and attributes. */
static int create_part(sl_results *r, const sl_part_info *p, int rank) {
  SL_CALL(sl_h5_attr_i64(r->file, "array_task", p->array_task));
  SL_CALL(sl_h5_attr_i64(r->file, "array_count", p->array_count));
  SL_CALL(sl_h5_attr_i64(r->file, "cells_first", p->cells_first));
  SL_CALL(sl_h5_attr_i64(r->file, "cells_last", p->cells_last));
  hsize_t dims[1] = {(hsize_t)r->n_cells};
  hid_t sp = H5Screate_simple(1, dims, NULL);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
  hid_t d = H5Dcreate2(r->file, "/grid/owned", H5T_STD_I8LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  H5Pclose(dcpl);
  H5Sclose(sp);
  SL_CHECK(d >= 0, SL_ERR_HDF5, "cannot create dataset /grid/owned");
  int err = sl_h5_attr_str(d, "units", "1");
  if (err == SL_OK)
    err = sl_h5_attr_str(d, "description",
                         "1: this part file runs the cell (slice array_task of array_count, within "
                         "cells_first..cells_last); 0: another part does (slingshot merge)");
  if (err == SL_OK && rank == 0) err = write_dset(d, H5T_NATIVE_UINT8, 0, 0, r->n_cells, p->owned);
  H5Dclose(d);
  return err;
}

/* /grid: the plan of every cell, written by rank 0 right after the structure. */
static int write_grid(sl_results *r, const sl_run_info *info) {
  const sl_grid *g = info->grid;
  const int64_t n = g->n_cells;
  double *f = calloc((size_t)n, sizeof(double));
  int64_t *v = calloc((size_t)n, sizeof(int64_t));
  char *s = calloc((size_t)n, SL_RESULTS_ERROR_LEN);
  int err = SL_OK;
  SL_CHECK_GOTO(f && v && s, SL_ERR_NOMEM, done, "out of memory writing the grid of %lld cells",
                (long long)n);
#define ROWS_I64(col, expr)                                                                        \
  for (int64_t i = 0; i < n; i++)                                                                  \
    v[i] = (int64_t)(expr);                                                                        \
  SL_CALL_GOTO(write_rows(r, col, 0, n, v), done)
  for (int64_t i = 0; i < n; i++)
    f[i] = g->cells[i].n_target;
  SL_CALL_GOTO(write_rows(r, G_N_TARGET, 0, n, f), done);
  for (int64_t i = 0; i < n; i++)
    f[i] = g->cells[i].cost;
  SL_CALL_GOTO(write_rows(r, G_COST, 0, n, f), done);
  ROWS_I64(G_N_PARAMS, g->cells[i].n_params);
  ROWS_I64(G_N_NO_EMBED, g->cells[i].n_params_no_embed);
  ROWS_I64(G_D_TOKENS, g->cells[i].d_tokens);
  ROWS_I64(G_SEED, g->cells[i].seed);
  ROWS_I64(G_D_MODEL, g->cells[i].spec.C);
  ROWS_I64(G_N_LAYER, g->cells[i].spec.n_layer);
  ROWS_I64(G_N_HEAD, g->cells[i].spec.family == SL_MODEL_GPT ? g->cells[i].spec.n_head : 0);
  ROWS_I64(G_HIDDEN, g->cells[i].spec.family == SL_MODEL_MLP ? g->cells[i].spec.H : 0);
  ROWS_I64(G_CONTEXT, g->cells[i].spec.T);
  ROWS_I64(G_STEPS, g->cells[i].steps);
#undef ROWS_I64
  for (int64_t i = 0; i < n; i++)
    snprintf(s + i * SL_RESULTS_ERROR_LEN, SL_RESULTS_ERROR_LEN, "%s",
             info->cfg->grid.variants[g->cells[i].variant]);
  SL_CALL_GOTO(write_rows(r, G_VARIANT, 0, n, s), done);
  for (int64_t i = 0; i < n; i++)
    snprintf(s + i * SL_RESULTS_ERROR_LEN, SL_RESULTS_ERROR_LEN, "%s",
             sl_model_family_name(g->cells[i].spec.family));
  SL_CALL_GOTO(write_rows(r, G_MODEL, 0, n, s), done);
  if (r->prefix_dset >= 0) {
    int64_t pre[64];
    double pf[64];
    SL_CALL_GOTO(sl_unique_prefixes(info->cfg, pre), done);
    for (int j = 0; j < r->prefixes; j++)
      pf[j] = (double)pre[j];
    SL_CALL_GOTO(write_dset(r->prefix_dset, H5T_NATIVE_DOUBLE, 0, 0, r->prefixes, pf), done);
  }
  if (r->alpha_dset >= 0)
    SL_CALL_GOTO(write_dset(r->alpha_dset, H5T_NATIVE_DOUBLE, 0, 0, r->alphas, r->alpha_values),
                 done);
done:
  free(f);
  free(v);
  free(s);
  return err;
}

/* /language of an HMM or PCFG run: its parameters and the estimated entropy with its interval
 * (for grid seed seeds[0]; each seed's cells hold their own estimate in /cells/entropy). */
static int other_language_attributes(hid_t lg, const sl_config *cfg, const sl_language *L) {
  SL_CALL(sl_h5_attr_str(lg, "kind", cfg->language.kind));
  SL_CALL(sl_h5_attr_i64(lg, "vocabulary", L->V));
  if (L->hmm) {
    SL_CALL(sl_h5_attr_i64(lg, "H", cfg->language.H));
    SL_CALL(sl_h5_attr_i64(lg, "V", cfg->language.V));
    SL_CALL(sl_h5_attr_i64(lg, "trans_k", cfg->language.trans_k));
    SL_CALL(sl_h5_attr_i64(lg, "emit_k", cfg->language.emit_k));
    SL_CALL(sl_h5_attr_f64(lg, "trans_alpha", cfg->language.trans_alpha));
    SL_CALL(sl_h5_attr_f64(lg, "emit_alpha", cfg->language.emit_alpha));
    SL_CALL(sl_h5_attr_str(
        lg, "description",
        "hidden Markov model (include/slingshot/hmm.h): one endless stream of tokens "
        "[0,V), no EOS; no pieces"));
  } else {
    SL_CALL(sl_h5_attr_i64(lg, "levels", cfg->language.levels));
    char sym[256] = "";
    for (int l = 0; l < cfg->language.n_symbols; l++)
      snprintf(sym + strlen(sym), sizeof sym - strlen(sym), "%s%lld", l ? " " : "",
               (long long)cfg->language.symbols[l]);
    SL_CALL(sl_h5_attr_str(lg, "symbols", sym));
    SL_CALL(sl_h5_attr_i64(lg, "rules", cfg->language.rules));
    SL_CALL(sl_h5_attr_i64(lg, "T", cfg->language.T));
    SL_CALL(sl_h5_attr_i64(lg, "emit_k", cfg->language.emit_k));
    SL_CALL(sl_h5_attr_f64(lg, "p_emit", cfg->language.p_emit));
    SL_CALL(sl_h5_attr_f64(lg, "alpha", cfg->language.alpha));
    SL_CALL(sl_h5_attr_i64(lg, "max_len", cfg->language.max_len));
    SL_CALL(sl_h5_attr_f64(lg, "mean_sentence_tokens", L->pcfg->mean_sentence_tokens));
    SL_CALL(sl_h5_attr_str(
        lg, "description",
        "PCFG (include/slingshot/pcfg.h): EOS s1 EOS s2 EOS ..., sentences of "
        "terminals [0,T) under a length cap, EOS = T; a piece is a sentence with its "
        "EOS"));
  }
  SL_CALL(sl_h5_attr_str(lg, "pieces", L->pieces));
  SL_CALL(sl_h5_attr_f64(lg, "entropy_bits_per_token", L->entropy_bits));
  SL_CALL(sl_h5_attr_f64(lg, "entropy_nats_per_token", L->entropy_bits * log(2.0)));
  SL_CALL(sl_h5_attr_f64(lg, "entropy_stderr_bits", L->entropy_stderr_bits));
  SL_CALL(sl_h5_attr_f64(lg, "entropy_ci95_bits", 1.96 * L->entropy_stderr_bits));
  SL_CALL(sl_h5_attr_f64(lg, "entropy_ci95_nats", 1.96 * L->entropy_stderr_bits * log(2.0)));
  SL_CALL(sl_h5_attr_i64(lg, "entropy_exact", 0));
  SL_CALL(sl_h5_attr_i64(lg, "entropy_estimated", 1));
  SL_CALL(sl_h5_attr_i64(lg, "entropy_sample", L->entropy_sample));
  SL_CALL(sl_h5_attr_i64(lg, "entropy_seed", cfg->grid.seeds[0]));
  SL_CALL(sl_h5_attr_str(lg, "entropy_method", L->entropy_method));
  return SL_OK;
}

static int write_attributes(sl_results *r, const sl_run_info *info) {
  hid_t root = r->file;
  char sha[65], when[64];
  sl_sha256_hex(info->config_text, strlen(info->config_text), sha);
  time_t now = time(NULL);
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
  SL_CALL(sl_h5_attr_str(root, "format", SL_RESULTS_FORMAT));
  SL_CALL(sl_h5_attr_i64(root, "format_version", SL_RESULTS_VERSION));
  SL_CALL(sl_h5_attr_str(root, "slingshot_version", SLINGSHOT_VERSION));
  SL_CALL(sl_h5_attr_str(root, "git_sha", SLINGSHOT_GIT_SHA));
  SL_CALL(sl_h5_attr_str(root, "created_utc", when));
  SL_CALL(sl_h5_attr_str(root, "config", info->config_text));
  SL_CALL(sl_h5_attr_str(root, "config_sha256", sha));
  SL_CALL(sl_h5_attr_str(root, "config_origin", info->cfg->origin));
  SL_CALL(sl_h5_attr_i64(root, "mpi_ranks", info->mpi_ranks));
  SL_CALL(sl_h5_attr_i64(root, "n_cells", info->grid->n_cells));
  SL_CALL(sl_h5_attr_i64(root, "curve_points", r->points));

  hid_t lg = H5Gcreate2(r->file, "/language", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  SL_CALL_HDF5(lg);
  const sl_config *cfg = info->cfg;
  const sl_skills_lang *L = info->lang;
  int err = SL_OK;
  if (info->language && !L) {
    err = other_language_attributes(lg, cfg, info->language);
    goto done;
  }
  SL_CALL_GOTO(sl_h5_attr_str(lg, "kind", cfg->language.kind), done);
  SL_CALL_GOTO(sl_h5_attr_i64(lg, "M", cfg->language.M), done);
  SL_CALL_GOTO(sl_h5_attr_i64(lg, "S", cfg->language.S), done);
  SL_CALL_GOTO(sl_h5_attr_i64(lg, "k_max", cfg->language.k_max), done);
  SL_CALL_GOTO(sl_h5_attr_i64(lg, "vocabulary", L->V), done);
  SL_CALL_GOTO(sl_h5_attr_f64(lg, "zipf", cfg->language.zipf), done);
  SL_CALL_GOTO(sl_h5_attr_str(lg, "skill_maps", cfg->language.skill_maps), done);
  SL_CALL_GOTO(sl_h5_attr_f64(lg, "entropy_bits_per_token", L->entropy_bits_per_token), done);
  SL_CALL_GOTO(sl_h5_attr_f64(lg, "entropy_nats_per_token", L->entropy_bits_per_token * log(2.0)),
               done);
  SL_CALL_GOTO(sl_h5_attr_f64(lg, "piece_entropy_bits", L->piece_entropy_bits), done);
  SL_CALL_GOTO(sl_h5_attr_f64(lg, "mean_piece_tokens", L->mean_piece_tokens), done);
  SL_CALL_GOTO(sl_h5_attr_i64(lg, "entropy_exact", L->entropy_exact), done);
  SL_CALL_GOTO(
      sl_h5_attr_str(lg, "description",
                     "skills language of SCIENCE.md section 0: pieces <s1>..<sk> x y1..yk EOS "
                     "with y_j = f_{s_j}(y_{j-1}); tokens [0,M) symbols, [M,M+S) skills, M+S EOS"),
      done);
done:
  H5Gclose(lg);
  return err;
}

static void results_init(sl_results *r, const sl_run_info *info) {
  r->n_cells = info->grid->n_cells;
  r->points = info->cfg->eval.points;
  r->prefixes = info->cfg->unique.prefixes;
  r->n_ngrams = info->cfg->unique.n_ngrams;
  for (int g = 0; g < r->n_ngrams; g++)
    r->ngram_len[g] = (int)info->cfg->unique.ngrams[g];
  r->hll_p = strcmp(info->cfg->unique.method, "hll") == 0 ? info->cfg->unique.hll_p : 0;
  r->top = info->cfg->flatness.top;
  r->cfg = info->cfg;
  r->prefix_dset = -1;
  r->alpha_dset = -1;
  r->alphas = info->cfg->bound.n_alphas;
  for (int a = 0; a < r->alphas; a++)
    r->alpha_values[a] = info->cfg->bound.alphas[a];
  r->file = -1;
  for (int c = 0; c < N_COLUMNS; c++)
    r->dset[c] = -1;
  for (int c = 0; c < 16; c++)
    r->sk_dset[c] = -1;
  r->sk_S = info->cfg->language.S, r->sk_K = info->cfg->skills.K;
  r->sk_tuples = info->cfg->skills.tuples, r->sk_thr = info->cfg->skills.n_thresholds;
  r->cfg = info->cfg;
}

void sl_results_abandon(sl_results *r);

static hid_t parallel_fapl(MPI_Comm comm) {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (fapl < 0) return fapl;
  if (H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL) < 0) {
    H5Pclose(fapl);
    return -1;
  }
  return fapl;
}

/* Rank 0 checks the output path and tells every rank; returns the same status everywhere. */
static int agree(int err, MPI_Comm comm) {
  int worst = err;
  MPI_Allreduce(&err, &worst, 1, MPI_INT, MPI_MAX, comm);
  if (worst != SL_OK && err == SL_OK) {
    int rank;
    MPI_Comm_rank(comm, &rank);
    return SL_ERROR(worst, "another rank failed (rank 0 reports why)");
  }
  return worst == SL_OK ? SL_OK : err;
}

/* path as the user gave it (for messages), target as sl_path_target resolved it. */
static int check_new_path(const char *path, const char *target, int force) {
  if (access(path, F_OK) == 0) {
    SL_CHECK(force, SL_ERR_IO,
             "%s already exists: pass --resume to continue it, --force to overwrite it, or "
             "-o NEW.h5 to write elsewhere",
             path);
    SL_CHECK(access(path, W_OK) == 0, SL_ERR_IO, "%s exists and is not writable", path);
    return SL_OK;
  }
  char *copy = strdup(target); /* a dangling link's file goes where the link points */
  SL_CHECK(copy, SL_ERR_NOMEM, "out of memory");
  const char *dir = dirname(copy);
  int ok = access(dir, W_OK) == 0;
  int e = errno;
  int err = SL_OK;
  if (!ok)
    err = SL_ERROR(SL_ERR_IO, "cannot write %s: directory '%s' %s", path, dir,
                   e == ENOENT ? "does not exist (create it first)" : "is not writable");
  free(copy);
  return err;
}

int sl_results_create(const char *path, const sl_run_info *info, int force, MPI_Comm comm,
                      sl_results **out) {
  int rank;
  MPI_Comm_rank(comm, &rank);

  /* The file is set up under a temporary name and renamed into place once its structure and
   * plan are on disk: a kill during the set-up leaves no half-made file at the path (which
   * --resume would refuse as damaged) and, with --force, the old file intact. Ranks hold the
   * file open through MPI-IO, so the rename does not disturb them. A temporary file left by
   * an earlier kill is overwritten. */
  /* With --force onto a symbolic link the link's target is replaced, not the link (as analyze
   * edits a linked file at its target): rank 0 resolves it and every rank uses the same name. */
  char target[PATH_MAX];
  if (rank == 0) sl_path_target(path, target, sizeof target);
  int err = rank == 0 ? check_new_path(path, target, force) : SL_OK;
  SL_CALL(agree(err, comm));
  MPI_Bcast(target, (int)sizeof target, MPI_CHAR, 0, comm);
  char *tmp = malloc(strlen(target) + sizeof ".create-tmp");
  SL_CHECK(tmp, SL_ERR_NOMEM, "out of memory");
  sprintf(tmp, "%s.create-tmp", target);
  sl_results *r;
  r = calloc(1, sizeof *r);
  if (!r) {
    free(tmp);
    return SL_ERROR(SL_ERR_NOMEM, "out of memory");
  }
  results_init(r, info);
  SL_CALL_GOTO(make_string_type(r), fail);
  hid_t fapl = parallel_fapl(comm);
  SL_CHECK_GOTO(fapl >= 0, SL_ERR_HDF5, fail, "cannot set up MPI-IO file access");
  /* HDF5 1.10 object headers and superblock carry checksums: damaged metadata is refused when
   * read instead of giving wrong or missing datasets (readable by HDF5 >= 1.10, h5py included). */
  H5Pset_libver_bounds(fapl, H5F_LIBVER_V110, H5F_LIBVER_V110);
  r->file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose(fapl);
  SL_CHECK_GOTO(r->file >= 0, SL_ERR_IO, fail, "cannot create %s (is the file system writable?)",
                tmp);
  /* Agree after each collective phase: a write that fails on one rank only (disk full) must
   * not leave the others waiting in the next collective call. */
  err = write_attributes(r, info);
  SL_CALL_GOTO(agree(err, comm), fail);
  err = create_datasets(r);
  if (err == SL_OK && info->part) err = create_part(r, info->part, rank);

  SL_CALL_GOTO(agree(err, comm), fail);
  /* The plan: rank 0 writes it, the others join nothing (independent writes). */
  if (rank == 0) err = write_grid(r, info);
  SL_CALL_GOTO(agree(err, comm), fail);
  err = H5Fflush(r->file, H5F_SCOPE_GLOBAL) >= 0
            ? SL_OK
            : SL_ERROR(SL_ERR_IO, "cannot write %s (disk full?)", path);
  SL_CALL_GOTO(agree(err, comm), fail);
  if (rank == 0)
    err = rename(tmp, target) == 0
              ? SL_OK
              : SL_ERROR(SL_ERR_IO, "cannot rename %s to %s: %s", tmp, target, strerror(errno));
  SL_CALL_GOTO(agree(err, comm), fail);
  free(tmp);
  *out = r;
  return SL_OK;
fail:
  if (r->file >= 0) {
    /* A file that could not be set up (disk full, I/O error) holds no cell: remove it and do
     * not close it (see sl_results_abandon). The path itself was never touched. */
    if (rank == 0) unlink(tmp);
    free(tmp);
    for (int c = 0; c < N_COLUMNS; c++)
      r->dset[c] = -1;
    sl_results_abandon(r);
    return err;
  }
  free(tmp);
  sl_results_close(r);
  return err;
}

int sl_results_read_config(const char *path, char **text) {
  SL_CHECK(access(path, R_OK) == 0, SL_ERR_IO, "cannot read %s: %s", path, strerror(errno));
  htri_t is = H5Fis_hdf5(path);
  SL_CHECK(is > 0, SL_ERR_FORMAT, "%s is not an HDF5 file (or is truncated or damaged)", path);
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  SL_CHECK(f >= 0, SL_ERR_FORMAT, "cannot open %s as HDF5 (truncated or damaged?)", path);
  char *format = NULL;
  int err = SL_OK;
  SL_CALL_GOTO(read_attr_str(f, "format", path, &format), done);
  SL_CHECK_GOTO(strcmp(format, SL_RESULTS_FORMAT) == 0, SL_ERR_FORMAT, done,
                "%s is an HDF5 file of format '%s', not a slingshot results file", path, format);
  int64_t version = -1;
  if (H5Aexists(f, "format_version") > 0) {
    hid_t a = H5Aopen(f, "format_version", H5P_DEFAULT);
    hid_t t = H5Aget_type(a), sp = H5Aget_space(a);
    /* One integer; anything else (a string, an array) is a damaged or foreign file. */
    if (H5Tget_class(t) != H5T_INTEGER || H5Sget_simple_extent_npoints(sp) != 1 ||
        H5Aread(a, H5T_NATIVE_INT64, &version) < 0)
      version = -1;
    H5Sclose(sp);
    H5Tclose(t);
    H5Aclose(a);
  }
  SL_CHECK_GOTO(version == SL_RESULTS_VERSION, SL_ERR_FORMAT, done,
                "%s has format_version %lld; this slingshot reads version %d", path,
                (long long)version, SL_RESULTS_VERSION);
  SL_CALL_GOTO(read_attr_str(f, "config", path, text), done);
done:
  free(format);
  H5Fclose(f);
  return err;
}

int sl_results_read_status(const char *path, int64_t *n_cells, int8_t **status) {
  char *text = NULL;
  SL_CALL(sl_results_read_config(path, &text));
  free(text);
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  SL_CHECK(f >= 0, SL_ERR_FORMAT, "cannot open %s", path);
  int err = SL_OK;
  hid_t d = -1, sp = -1;
  SL_CHECK_GOTO(H5Lexists(f, "/grid", H5P_DEFAULT) > 0 &&
                    H5Lexists(f, "/grid/status", H5P_DEFAULT) > 0,
                SL_ERR_FORMAT, done, "%s has no /grid/status dataset", path);
  d = H5Dopen2(f, "/grid/status", H5P_DEFAULT);
  sp = H5Dget_space(d);
  hsize_t n = 0;
  SL_CHECK_GOTO(H5Sget_simple_extent_ndims(sp) == 1, SL_ERR_FORMAT, done,
                "%s: /grid/status is not one-dimensional", path);
  H5Sget_simple_extent_dims(sp, &n, NULL);
  int8_t *st = malloc(n ? n : 1);
  SL_CHECK_GOTO(st, SL_ERR_NOMEM, done, "out of memory");
  if (H5Dread(d, H5T_NATIVE_INT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, st) < 0) {
    free(st);
    err = SL_ERROR(SL_ERR_FORMAT, "%s: cannot read /grid/status (truncated file?)", path);
    goto done;
  }
  /* A damaged file: the status vector and the file's n_cells disagree, or a status that no run
   * writes (raw data carries no checksum in HDF5; these are the checks that can be made). */
  int64_t n_attr = -1;
  if (H5Aexists(f, "n_cells") > 0) {
    hid_t a = H5Aopen(f, "n_cells", H5P_DEFAULT);
    if (H5Aread(a, H5T_NATIVE_INT64, &n_attr) < 0) n_attr = -1;
    H5Aclose(a);
  }
  if (n_attr != (int64_t)n) {
    free(st);
    err = SL_ERROR(SL_ERR_FORMAT,
                   "%s: /grid/status has %llu rows but the file says n_cells = %lld: "
                   "the file is damaged",
                   path, (unsigned long long)n, (long long)n_attr);
    goto done;
  }
  for (hsize_t i = 0; i < n; i++)
    if (st[i] != SL_CELL_TODO && st[i] != SL_CELL_DONE && st[i] != SL_CELL_DIVERGED &&
        st[i] != SL_CELL_FAILED) {
      err = SL_ERROR(SL_ERR_FORMAT,
                     "%s: /grid/status of cell %llu is %d, which no run writes "
                     "(0 todo, 1 done, 2 diverged, -1 failed): the file is damaged",
                     path, (unsigned long long)i, st[i]);
      free(st);
      goto done;
    }
  *n_cells = (int64_t)n;
  *status = st;
done:
  if (sp >= 0) H5Sclose(sp);
  if (d >= 0) H5Dclose(d);
  H5Fclose(f);
  return err;
}

int sl_results_resume(const char *path, const sl_run_info *info, MPI_Comm comm, sl_results **out,
                      int8_t *status) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  const int64_t n = info->grid->n_cells;
  /* Rank 0 checks the file read-only before anyone opens it for writing. */
  int err = SL_OK;
  if (rank == 0) {
    char *text = NULL;
    int8_t *st = NULL;
    int64_t n_file = 0;
    err = sl_results_read_config(path, &text);
    if (err == SL_OK) {
      char sha_file[65], sha_now[65];
      sl_sha256_hex(text, strlen(text), sha_file);
      sl_sha256_hex(info->config_text, strlen(info->config_text), sha_now);
      if (strcmp(sha_file, sha_now) != 0) {
        sl_config old;
        char diff[2048] = "";
        if (sl_config_parse(text, path, &old) == SL_OK)
          sl_config_diff(&old, info->cfg, diff, sizeof diff);
        else
          snprintf(diff, sizeof diff, "(the stored config no longer parses)");
        sl_error_clear();
        err = SL_ERROR(SL_ERR_STATE,
                       "%s was made with another config; differing keys (file vs now): %s. Run "
                       "with the config the file was made with, or write a new file with -o",
                       path, diff[0] ? diff : "(only the source text)");
      }
    }
    if (err == SL_OK) err = sl_results_read_status(path, &n_file, &st);
    if (err == SL_OK && n_file != n)
      err = SL_ERROR(SL_ERR_STATE, "%s holds %lld cells but the config expands to %lld", path,
                     (long long)n_file, (long long)n);
    if (err == SL_OK) memcpy(status, st, (size_t)n);
    free(text);
    free(st);
  }
  SL_CALL(agree(err, comm));
  SL_CALL_MPI(MPI_Bcast(status, (int)n, MPI_INT8_T, 0, comm));

  sl_results *r;
  SL_ALLOC(r, 1);
  results_init(r, info);
  SL_CALL_GOTO(make_string_type(r), fail);
  hid_t fapl = parallel_fapl(comm);
  SL_CHECK_GOTO(fapl >= 0, SL_ERR_HDF5, fail, "cannot set up MPI-IO file access");
  r->file = H5Fopen(path, H5F_ACC_RDWR, fapl);
  H5Pclose(fapl);
  SL_CHECK_GOTO(r->file >= 0, SL_ERR_IO, fail, "cannot open %s for writing", path);
  SL_CALL_GOTO(open_datasets(r, path), fail);
  *out = r;
  return SL_OK;
fail:
  sl_results_close(r);
  return err;
}

int sl_results_write_cell(sl_results *r, const sl_cell *cell, const sl_cell_result *res, int rank) {
  const int64_t i = cell->index;
  double f;
  int64_t v;
#define PUT_F64(col, expr) (f = (expr), write_rows(r, col, i, 1, &f))
#define PUT_I64(col, expr) (v = (int64_t)(expr), write_rows(r, col, i, 1, &v))
  SL_CALL(PUT_F64(C_TRAIN, res->train_loss));
  SL_CALL(PUT_F64(C_VAL, res->val_loss));
  SL_CALL(PUT_F64(C_EXCESS, res->excess_loss));
  SL_CALL(PUT_F64(C_ENTROPY, res->entropy));
  SL_CALL(PUT_I64(C_N_PARAMS, cell->n_params));
  SL_CALL(PUT_I64(C_N_NO_EMBED, cell->n_params_no_embed));
  SL_CALL(PUT_I64(C_D_TOKENS, cell->d_tokens));
  SL_CALL(PUT_I64(C_TOKENS, res->tokens_trained));
  SL_CALL(PUT_I64(C_STEPS, res->steps));
  SL_CALL(
      PUT_F64(C_FLOPS_6ND, 6.0 * (double)cell->n_params_no_embed * (double)res->tokens_trained));
  SL_CALL(PUT_F64(C_FLOPS, cell->flops_per_token * (double)res->tokens_trained));
  SL_CALL(PUT_F64(C_WALL, res->wall_s));
  SL_CALL(PUT_I64(C_RANK, rank));
  SL_CALL(PUT_I64(C_DIVERGED, res->diverged_step));
  const sl_bound_result *b = &res->bound;
  SL_CALL(PUT_I64(B_D, b->d));
  SL_CALL(PUT_I64(B_SUBSPACE, b->subspace));
  SL_CALL(PUT_I64(B_LEVELS, b->levels));
  SL_CALL(PUT_F64(B_CODE, b->code_bits));
  SL_CALL(PUT_F64(B_CODEBOOK, b->codebook_bits));
  SL_CALL(PUT_F64(B_COUNT, b->count_bits));
  SL_CALL(PUT_F64(B_C, b->c_bits));
  SL_CALL(PUT_F64(B_PREFIX, b->prefix_bits));
  SL_CALL(PUT_F64(B_EXTRA, b->extra_bits));
  SL_CALL(PUT_F64(B_K, b->k_nats));
  SL_CALL(PUT_I64(B_M, b->m));
  SL_CALL(PUT_I64(B_N, b->n));
  SL_CALL(PUT_I64(B_POP, b->pop_pieces));
  SL_CALL(PUT_F64(B_EPS, b->eps));
  SL_CALL(PUT_F64(B_LOG2V, b->log2_vocab));
  SL_CALL(PUT_F64(B_TERM_M, b->term_m));
  SL_CALL(PUT_F64(B_TERM_N, b->term_n));
  SL_CALL(write_rows(r, B_DELTA, i, 1, b->delta));
  SL_CALL(write_rows(r, B_RISK_EMP, i, 1, b->risk_emp));
  SL_CALL(write_rows(r, B_RISK_POP, i, 1, b->risk_pop));
  SL_CALL(write_rows(r, B_BOUND, i, 1, b->bound));
  SL_CALL(PUT_F64(B_BEST, b->best_bound));
  SL_CALL(PUT_F64(B_BEST_ALPHA, b->best_alpha));
  SL_CALL(PUT_F64(B_BEST_POP, b->best_risk_pop));
  SL_CALL(PUT_F64(B_BEST_POP_SE, b->best_risk_pop_stderr));
  SL_CALL(PUT_F64(B_SLACK, b->slack));
  SL_CALL(PUT_I64(B_TOP_K, b->top_k));
  SL_CALL(PUT_F64(B_TOP1_EMP, b->top1_emp));
  SL_CALL(PUT_F64(B_TOP1_POP, b->top1_pop));
  SL_CALL(PUT_F64(B_TOP1_BOUND, b->top1_bound));
  SL_CALL(PUT_F64(B_TOPK_EMP, b->topk_emp));
  SL_CALL(PUT_F64(B_TOPK_POP, b->topk_pop));
  SL_CALL(PUT_F64(B_TOPK_BOUND, b->topk_bound));
  SL_CALL(PUT_F64(B_PRUNE_FRACTION, b->prune_fraction));
  SL_CALL(PUT_F64(B_N_EFFECTIVE, b->n_effective));
  SL_CALL(PUT_F64(B_PRUNE_BASE, b->prune_loss_base));
  SL_CALL(PUT_F64(B_PRUNE_LOSS, b->prune_loss));
#undef PUT_F64
#undef PUT_I64
  SL_CALL(write_rows(r, K_LOSS, i, 1, res->curve_loss));
  SL_CALL(write_rows(r, K_TOKENS, i, 1, res->curve_tokens));
  SL_CALL(write_rows(r, U_PIECES, i, 1, res->unique_pieces));
  {
    const double fl[] = {res->hessian_trace,        res->flat_loss,
                         res->hessian_trace,        res->hessian_trace_se,
                         res->hessian_exact_trace,  res->hessian_neg_mass,
                         res->hessian_neg_fraction, res->hessian_lambda_max,
                         res->hessian_lambda_min,   res->hessian_asym};
    for (int c = C_HTRACE; c <= F_ASYM; c++)
      SL_CALL(write_rows(r, c, i, 1, &fl[c - C_HTRACE]));
    SL_CALL(write_rows(r, F_TOP, i, 1, res->hessian_top));
  }
  for (int g = 0; g < r->n_ngrams; g++)
    SL_CALL(write_dset(r->ngram_dset[g], H5T_NATIVE_DOUBLE, r->prefixes, i, 1,
                       res->unique_ngrams + (size_t)g * r->prefixes));
  if (res->skills && res->status == SL_CELL_DONE) SL_CALL(write_skills(r, i, res->skills));
  char msg[SL_RESULTS_ERROR_LEN] = {0};
  snprintf(msg, sizeof msg, "%s", res->error);
  SL_CALL(write_rows(r, G_ERROR, i, 1, msg));
  /* Status last: a cell marked done is complete even if the run dies right here. */
  int8_t st = (int8_t)res->status;
  SL_CALL(write_rows(r, G_STATUS, i, 1, &st));
  return SL_OK;
}

int sl_results_close(sl_results *r) {
  if (!r) return SL_OK;
  for (int c = 0; c < N_COLUMNS; c++)
    if (r->dset[c] >= 0) H5Dclose(r->dset[c]);
  for (int g = 0; g < r->n_ngrams; g++)
    if (r->ngram_dset[g] > 0) H5Dclose(r->ngram_dset[g]);
  if (r->prefix_dset > 0) H5Dclose(r->prefix_dset);
  if (r->alpha_dset > 0) H5Dclose(r->alpha_dset);
  for (int c = 0; c < 16; c++)
    if (r->sk_dset[c] > 0) H5Dclose(r->sk_dset[c]);
  if (r->str_type >= 0 && r->str_type != 0) H5Tclose(r->str_type);
  herr_t e = r->file >= 0 ? H5Fclose(r->file) : 0;
  free(r);
  SL_CHECK(e >= 0, SL_ERR_HDF5, "closing the results file failed (disk full?)");
  return SL_OK;
}

/* HDF5 1.10 cannot survive a failed H5Fclose: closing writes the superblock, and when that write
 * fails (disk full, I/O error) the file's handle is left half torn down and HDF5's own shutdown
 * (in MPI_Finalize) crashes on it. So a file whose writes failed is left open, and main ends
 * the process without shutting HDF5 down (sl_results_abandoned). Every cell marked done in it
 * was written completely before (status last), so nothing finished is lost. */
static int g_abandoned = 0;

void sl_results_abandon(sl_results *r) {
  if (!r) return;
  g_abandoned = 1;
  free(r); /* the HDF5 handles stay open on purpose */
}

int sl_results_abandoned(void) {
  return g_abandoned;
}
