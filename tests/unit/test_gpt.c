/* The GPT (src/model/gpt.c): layout and counts, the BLAS kernels against their naive references,
 * a finite-difference check of every parameter's gradient, softmax normalisation and causality,
 * agreement with PyTorch golden fixtures (tests/reference/make_fixtures_gpt.py), and the shape
 * rule. Every comparison prints its max difference and asserts.
 *
 * Legend: B batch, T context, C channels, V vocabulary, L layers, NH heads, N params. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/error.h"
#include "slingshot/model.h"
#include "slingshot/optim.h"
#include "slingshot/rng.h"
#include "test_util.h"

/* The private kernels of src/model (model_impl.h) and gpt.c's exported attention kernels. */
#include "../../src/model/model_impl.h"
int sl_gpt_attention_forward(float *y, float *att, const float *qkv, size_t B, size_t T, size_t C,
                             size_t NH);
int sl_gpt_attention_forward_naive(float *y, float *att, const float *qkv, size_t B, size_t T,
                                   size_t C, size_t NH);
int sl_gpt_attention_backward(float *dqkv, float *scratch, const float *dy, const float *att,
                              const float *qkv, size_t B, size_t T, size_t C, size_t NH);
int sl_gpt_attention_backward_naive(float *dqkv, float *scratch, const float *dy, const float *att,
                                    const float *qkv, size_t B, size_t T, size_t C, size_t NH);
size_t sl_gpt_attention_scratch_floats(size_t T, size_t hs);
int sl_gpt_matmul_residual(float *out, const float *inp, const float *w, const float *bias,
                           const float *res, size_t n, size_t cin, size_t cout, float *work);
int sl_gpt_matmul_residual_naive(float *out, const float *inp, const float *w, const float *bias,
                                 const float *res, size_t n, size_t cin, size_t cout);
int sl_gelu_backward_bias(float *d, float *dbias, const float *dgelu, size_t n, size_t cols);
int sl_gelu_backward_bias_naive(float *d, float *dbias, const float *dgelu, size_t n, size_t cols);
int sl_gpt_attention_forward_vec(float *y, float *att, float *scratch, const float *qkv, size_t B,
                                 size_t T, size_t C, size_t NH);
int sl_gpt_attention_backward_vec_set(float *dqkv, float *dbias, float *scratch, const float *dy,
                                      const float *att, const float *qkv, size_t B, size_t T,
                                      size_t C, size_t NH);
int sl_gpt_attention_backward_vec(float *dqkv, float *scratch, const float *dy, const float *att,
                                  const float *qkv, size_t B, size_t T, size_t C, size_t NH);

/* ---------------------------------------------------------------- helpers */

/* The tiny GPT of the gradient check and the fixtures. */
static sl_model_spec tiny_spec(int tied) {
  sl_model_spec s = {.family = SL_MODEL_GPT,
                     .V = 11,
                     .T = 5,
                     .B = 3,
                     .C = 8,
                     .n_layer = 2,
                     .n_head = 2,
                     .tied = tied};
  return s;
}

/* max |a - b| and max |b| over n floats. */
static double max_abs_diff(const float *a, const float *b, size_t n, double *max_b) {
  double d = 0.0, m = 0.0;
  for (size_t i = 0; i < n; i++) {
    d = fmax(d, fabs((double)a[i] - (double)b[i]));
    m = fmax(m, fabs((double)b[i]));
  }
  if (max_b) *max_b = m;
  return d;
}

/* max |a - b| / max |b|: the difference relative to the tensor's scale. */
static double rel_diff(const float *a, const float *b, size_t n) {
  double m = 0.0;
  double d = max_abs_diff(a, b, n, &m);
  return d / fmax(m, 1e-30);
}

static void fill_normal(float *x, size_t n, double std, sl_rng *r) {
  for (size_t i = 0; i < n; i++)
    x[i] = (float)(std * sl_rng_normal(r));
}

static void random_tokens(int32_t *tok, size_t n, int V, sl_rng *r) {
  for (size_t i = 0; i < n; i++)
    tok[i] = (int32_t)sl_rng_below(r, (uint64_t)V);
}

/* One named tensor of the flat layout (gpt.c's header comment), rebuilt here independently. */
typedef struct tensor {
  char name[32];
  size_t off, n;
  int decay;
} tensor;

/* Room for the tensors of up to 8 blocks: wte, wpe, 12 per block, lnf_g, lnf_b, head_w. */
#define MAX_TENSORS (5 + 12 * 8)

/* Fills t (room for MAX_TENSORS) and returns the count of tensors. */
static size_t layout_of(const sl_model_spec *s, tensor *t) {
  const size_t V = (size_t)s->V, T = (size_t)s->T, C = (size_t)s->C;
  size_t k = 0, off = 0;
  CU_ASSERT_FATAL(s->n_layer <= 8);
#define ADD(nm, count, dec)                                                                        \
  do {                                                                                             \
    snprintf(t[k].name, sizeof t[k].name, "%s", nm);                                               \
    t[k].off = off, t[k].n = (count), t[k].decay = (dec);                                          \
    off += t[k++].n;                                                                               \
  } while (0)
  ADD("wte", V * C, 1);
  ADD("wpe", T * C, 1);
  for (int l = 0; l < s->n_layer; l++) {
    static const char *names[12] = {"ln1_g", "ln1_b", "qkv_w", "qkv_b", "proj_w",   "proj_b",
                                    "ln2_g", "ln2_b", "fc_w",  "fc_b",  "fcproj_w", "fcproj_b"};
    const size_t sizes[12] = {C, C, 3 * C * C, 3 * C, C * C,     C,
                              C, C, 4 * C * C, 4 * C, 4 * C * C, C};
    const int decays[12] = {0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 1, 0};
    for (int j = 0; j < 12; j++) {
      char nm[32];
      snprintf(nm, sizeof nm, "h%d.%s", l, names[j]);
      ADD(nm, sizes[j], decays[j]);
    }
  }
  ADD("lnf_g", C, 0);
  ADD("lnf_b", C, 0);
  if (!s->tied) ADD("head_w", V * C, 1);
#undef ADD
  return k;
}

/* Moves the parameters off the default init (larger weights, non-zero biases, LayerNorm gains away
 * from 1) so that every term of the model carries weight in the checks. */
static void perturb_params(sl_model *m, sl_rng *r) {
  tensor t[MAX_TENSORS];
  size_t nt = layout_of(&m->spec, t);
  for (size_t k = 0; k < nt; k++) {
    float *p = m->params + t[k].off;
    const char *suffix = strrchr(t[k].name, '_');
    int gain = suffix && strcmp(suffix, "_g") == 0, bias = suffix && strcmp(suffix, "_b") == 0;
    for (size_t i = 0; i < t[k].n; i++) {
      double z = sl_rng_normal(r);
      p[i] = (float)(gain ? 1.0 + 0.1 * z : bias ? 0.1 * z : 0.3 * z);
    }
  }
}

/* ---------------------------------------------------------------- counts, layout, init */

static void test_counts_and_init(void) {
  for (int tied = 0; tied <= 1; tied++) {
    sl_model_spec s = tiny_spec(tied);
    size_t no_embed = 0, n = sl_model_param_count(&s, &no_embed);
    /* by hand: V C + T C + L (12 C^2 + 13 C) + 2 C (+ V C untied) */
    size_t want = 11 * 8 + 5 * 8 + 2 * (12 * 64 + 13 * 8) + 2 * 8 + (tied ? 0 : 11 * 8);
    CU_ASSERT_EQUAL(n, want);
    CU_ASSERT_EQUAL(no_embed, want - (11 + 5) * 8);
    tensor t[MAX_TENSORS];
    size_t nt = layout_of(&s, t);
    CU_ASSERT_EQUAL(t[nt - 1].off + t[nt - 1].n, n);

    sl_model *m = NULL;
    SL_ASSERT_OK(sl_model_create(&s, &m));
    CU_ASSERT_EQUAL(m->n_params, n);
    CU_ASSERT_EQUAL(m->n_params_no_embed, no_embed);
    CU_ASSERT_EQUAL(m->targets_per_row, s.T);
    /* 6 N_no_embed + 6 L T C */
    CU_ASSERT_DOUBLE_EQUAL(m->flops_per_token, 6.0 * (double)no_embed + 6.0 * 2 * 5 * 8, 1e-9);
    sl_rng r;
    sl_rng_stream(&r, 1, 0, "init");
    SL_ASSERT_OK(sl_model_init(m, &r));
    int decay_ok = 1, init_ok = 1;
    for (size_t k = 0; k < nt; k++) {
      const float *p = m->params + t[k].off;
      const char *suffix = strrchr(t[k].name, '_');
      if (!suffix) suffix = ""; /* wte, wpe */
      double s1 = 0, s2 = 0;
      for (size_t i = 0; i < t[k].n; i++) {
        decay_ok &= m->decay[t[k].off + i] == t[k].decay;
        s1 += p[i];
        s2 += (double)p[i] * p[i];
      }
      double mean = s1 / (double)t[k].n, rms = sqrt(s2 / (double)t[k].n);
      if (strcmp(suffix, "_g") == 0) {
        init_ok &= mean == 1.0 && rms == 1.0;
      } else if (strcmp(suffix, "_b") == 0) {
        init_ok &= rms == 0.0;
      } else { /* weights: rms near 0.02, or 0.02 / sqrt(2L) for the residual projections */
        double want_std = strstr(t[k].name, "proj_w") ? 0.02 / sqrt(4.0) : 0.02;
        double se = want_std * 3.0 / sqrt((double)t[k].n); /* generous: small tensors */
        if (fabs(rms - want_std) > se + 0.2 * want_std) {
          printf("\n  init %s: rms %.5f, want %.5f", t[k].name, rms, want_std);
          init_ok = 0;
        }
      }
    }
    CU_ASSERT_TRUE(decay_ok);
    CU_ASSERT_TRUE(init_ok);
    sl_model_destroy(m);
  }
}

/* ---------------------------------------------------------------- kernels */

static void test_kernels_match_naive(void) {
  const size_t B = 2, T = 7, C = 12, NH = 3, BT = B * T;
  sl_rng r;
  sl_rng_seed(&r, 7);
  float *qkv = calloc(BT * 3 * C, sizeof(float)), *dy = calloc(BT * C, sizeof(float));
  float *y1 = calloc(BT * C, sizeof(float)), *y2 = calloc(BT * C, sizeof(float));
  float *a1 = calloc(B * NH * T * T, sizeof(float)), *a2 = calloc(B * NH * T * T, sizeof(float));
  float *d1 = calloc(BT * 3 * C, sizeof(float)), *d2 = calloc(BT * 3 * C, sizeof(float));
  float *scratch = calloc(T * T, sizeof(float));
  fill_normal(qkv, BT * 3 * C, 1.0, &r);
  fill_normal(dy, BT * C, 1.0, &r);
  /* the backward accumulates: start both from the same non-zero values */
  fill_normal(d1, BT * 3 * C, 1.0, &r);
  memcpy(d2, d1, BT * 3 * C * sizeof(float));
  SL_ASSERT_OK(sl_gpt_attention_forward(y1, a1, qkv, B, T, C, NH));
  SL_ASSERT_OK(sl_gpt_attention_forward_naive(y2, a2, qkv, B, T, C, NH));
  SL_ASSERT_OK(sl_gpt_attention_backward(d1, scratch, dy, a1, qkv, B, T, C, NH));
  SL_ASSERT_OK(sl_gpt_attention_backward_naive(d2, scratch, dy, a2, qkv, B, T, C, NH));
  double ey = rel_diff(y1, y2, BT * C), ea = rel_diff(a1, a2, B * NH * T * T);
  double ed = rel_diff(d1, d2, BT * 3 * C);
  printf("\n  attention BLAS vs naive: y %.2e, att %.2e, dqkv %.2e (max rel)", ey, ea, ed);
  CU_ASSERT_TRUE(ey < 1e-5 && ea < 1e-5 && ed < 1e-5);
  /* masked entries are exactly zero */
  int zero = 1;
  for (size_t k = 0; k < B * NH; k++)
    for (size_t i = 0; i < T; i++)
      for (size_t j = i + 1; j < T; j++)
        zero &= a1[k * T * T + i * T + j] == 0.0f;
  CU_ASSERT_TRUE(zero);

  /* The matmuls the GPT uses: [out x in] weights (SL_W_OUT_IN), with and without bias. */
  const size_t IC = 12, OC = 36;
  float *w = calloc(OC * IC, sizeof(float)), *bias = calloc(OC, sizeof(float));
  float *x = calloc(BT * IC, sizeof(float)), *o1 = calloc(BT * OC, sizeof(float));
  float *o2 = calloc(BT * OC, sizeof(float)), *dout = calloc(BT * OC, sizeof(float));
  float *dx1 = calloc(BT * IC, sizeof(float)), *dx2 = calloc(BT * IC, sizeof(float));
  float *dw1 = calloc(OC * IC, sizeof(float)), *dw2 = calloc(OC * IC, sizeof(float));
  float *db1 = calloc(OC, sizeof(float)), *db2 = calloc(OC, sizeof(float));
  fill_normal(w, OC * IC, 0.3, &r);
  fill_normal(bias, OC, 0.3, &r);
  fill_normal(x, BT * IC, 1.0, &r);
  fill_normal(dout, BT * OC, 1.0, &r);
  double emax = 0.0;
  for (int with_bias = 0; with_bias <= 1; with_bias++) {
    const float *bb = with_bias ? bias : NULL;
    SL_ASSERT_OK(sl_matmul_forward(o1, x, w, bb, BT, IC, OC, SL_W_OUT_IN));
    SL_ASSERT_OK(sl_matmul_forward_naive(o2, x, w, bb, BT, IC, OC, SL_W_OUT_IN));
    emax = fmax(emax, rel_diff(o1, o2, BT * OC));
  }
  SL_ASSERT_OK(sl_matmul_backward(dx1, dw1, db1, dout, x, w, BT, IC, OC, SL_W_OUT_IN));
  SL_ASSERT_OK(sl_matmul_backward_naive(dx2, dw2, db2, dout, x, w, BT, IC, OC, SL_W_OUT_IN));
  emax = fmax(emax, rel_diff(dx1, dx2, BT * IC));
  emax = fmax(emax, rel_diff(dw1, dw2, OC * IC));
  emax = fmax(emax, rel_diff(db1, db2, OC));
  printf("\n  matmul [out x in] BLAS vs naive: %.2e (max rel over out, dx, dw, db)", emax);
  CU_ASSERT_TRUE(emax < 1e-5);

  free(qkv), free(dy), free(y1), free(y2), free(a1), free(a2), free(d1), free(d2), free(scratch);
  free(w), free(bias), free(x), free(o1), free(o2), free(dout), free(dx1), free(dx2), free(dw1);
  free(dw2), free(db1), free(db2);
}

/* The vector kernels (attention for head sizes that are multiples of 8, LayerNorm, GELU with its
 * derivative, float softmax cross-entropy, the overwriting matmul backward) against the naive
 * references, on shapes that hit their tails: T not a multiple of 4 or 8, C not a multiple of 8. */
static void test_fast_kernels_match_naive(void) {
  sl_rng r;
  sl_rng_seed(&r, 11);
  const size_t shapes[3][4] = {{2, 13, 48, 3}, {1, 64, 128, 4}, {3, 5, 16, 2}}; /* B T C NH */
  double worst_att = 0.0;
  for (size_t k = 0; k < 3; k++) {
    const size_t B = shapes[k][0], T = shapes[k][1], C = shapes[k][2], NH = shapes[k][3];
    const size_t BT = B * T, na = B * NH * T * T;
    float *qkv = calloc(BT * 3 * C, sizeof(float)), *dy = calloc(BT * C, sizeof(float));
    float *y1 = calloc(BT * C, sizeof(float)), *y2 = calloc(BT * C, sizeof(float));
    float *a1 = calloc(na, sizeof(float)), *a2 = calloc(na, sizeof(float));
    float *d1 = calloc(BT * 3 * C, sizeof(float)), *d2 = calloc(BT * 3 * C, sizeof(float));
    float *scratch = calloc(sl_gpt_attention_scratch_floats(T, C / NH), sizeof(float));
    fill_normal(qkv, BT * 3 * C, 1.0, &r);
    fill_normal(dy, BT * C, 1.0, &r);
    fill_normal(d1, BT * 3 * C, 1.0, &r); /* both accumulate onto the same values */
    memcpy(d2, d1, BT * 3 * C * sizeof(float));
    /* poison what the forward must overwrite: the masked entries must come out exactly 0 */
    for (size_t i = 0; i < na; i++)
      a1[i] = NAN;
    SL_ASSERT_OK(sl_gpt_attention_forward_vec(y1, a1, scratch, qkv, B, T, C, NH));
    SL_ASSERT_OK(sl_gpt_attention_forward_naive(y2, a2, qkv, B, T, C, NH));
    SL_ASSERT_OK(sl_gpt_attention_backward_vec(d1, scratch, dy, a1, qkv, B, T, C, NH));
    SL_ASSERT_OK(sl_gpt_attention_backward_naive(d2, scratch, dy, a2, qkv, B, T, C, NH));
    double e =
        fmax(fmax(rel_diff(y1, y2, BT * C), rel_diff(a1, a2, na)), rel_diff(d1, d2, BT * 3 * C));
    /* the overwriting variant with the bias gradient: dqkv from NaN, against the naive kernel on
     * zeros and the column sums of its result in double, added onto a random dbias */
    float *db1 = calloc(3 * C, sizeof(float)), *db2 = calloc(3 * C, sizeof(float));
    fill_normal(db1, 3 * C, 1.0, &r);
    memcpy(db2, db1, 3 * C * sizeof(float));
    for (size_t i = 0; i < BT * 3 * C; i++)
      d1[i] = NAN, d2[i] = 0.0f;
    SL_ASSERT_OK(sl_gpt_attention_backward_vec_set(d1, db1, scratch, dy, a1, qkv, B, T, C, NH));
    SL_ASSERT_OK(sl_gpt_attention_backward_naive(d2, scratch, dy, a2, qkv, B, T, C, NH));
    for (size_t c = 0; c < 3 * C; c++) {
      double sum = 0.0;
      for (size_t i = 0; i < BT; i++)
        sum += d2[i * 3 * C + c];
      db2[c] += (float)sum;
    }
    e = fmax(e, fmax(rel_diff(d1, d2, BT * 3 * C), rel_diff(db1, db2, 3 * C)));
    free(db1), free(db2);
    worst_att = fmax(worst_att, e);
    int zero = 1;
    for (size_t h = 0; h < B * NH; h++)
      for (size_t i = 0; i < T; i++)
        for (size_t j = i + 1; j < T; j++)
          zero &= a1[h * T * T + i * T + j] == 0.0f;
    CU_ASSERT_TRUE(zero);
    free(qkv), free(dy), free(y1), free(y2), free(a1), free(a2), free(d1), free(d2);
    free(scratch);
  }
  printf("\n  attention vector vs naive (hs 16, 32, 8): %.2e (max rel over y, att, dqkv, and the "
         "overwriting backward's dqkv and bias gradient)",
         worst_att);
  CU_ASSERT_TRUE(worst_att < 1e-5);

  /* LayerNorm: rows with a large common offset (the residual stream's), C with and without a
   * multiple of 8 */
  double worst_ln = 0.0;
  for (size_t C = 45; C <= 128; C += 83) {
    const size_t n = 37;
    float *x = calloc(n * C, sizeof(float)), *g = calloc(C, sizeof(float));
    float *b = calloc(C, sizeof(float)), *dout = calloc(n * C, sizeof(float));
    float *o1 = calloc(n * C, sizeof(float)), *o2 = calloc(n * C, sizeof(float));
    float mean1[37], mean2[37], rstd1[37], rstd2[37];
    float *dx1 = calloc(n * C, sizeof(float)), *dx2 = calloc(n * C, sizeof(float));
    float *dg1 = calloc(C, sizeof(float)), *dg2 = calloc(C, sizeof(float));
    float *db1 = calloc(C, sizeof(float)), *db2 = calloc(C, sizeof(float));
    fill_normal(x, n * C, 1.0, &r);
    for (size_t i = 0; i < n; i++)
      for (size_t c = 0; c < C; c++)
        x[i * C + c] += 30.0f * (float)i / (float)n;
    fill_normal(g, C, 1.0, &r);
    fill_normal(b, C, 1.0, &r);
    fill_normal(dout, n * C, 1.0, &r);
    fill_normal(dx1, n * C, 1.0, &r); /* accumulated onto */
    memcpy(dx2, dx1, n * C * sizeof(float));
    SL_ASSERT_OK(sl_layernorm_forward(o1, mean1, rstd1, x, g, b, n, C));
    SL_ASSERT_OK(sl_layernorm_forward_naive(o2, mean2, rstd2, x, g, b, n, C));
    SL_ASSERT_OK(sl_layernorm_backward(dx1, dg1, db1, dout, x, g, mean1, rstd1, n, C));
    SL_ASSERT_OK(sl_layernorm_backward_naive(dx2, dg2, db2, dout, x, g, mean2, rstd2, n, C));
    worst_ln = fmax(worst_ln, rel_diff(o1, o2, n * C));
    worst_ln = fmax(worst_ln, rel_diff(rstd1, rstd2, n));
    worst_ln = fmax(worst_ln, rel_diff(dx1, dx2, n * C));
    worst_ln = fmax(worst_ln, rel_diff(dg1, dg2, C));
    worst_ln = fmax(worst_ln, rel_diff(db1, db2, C));
    free(x), free(g), free(b), free(dout), free(o1), free(o2), free(dx1), free(dx2), free(dg1);
    free(dg2), free(db1), free(db2);
  }
  printf("\n  layernorm fast vs naive: %.2e (max rel over out, rstd, dx, dg, db)", worst_ln);
  CU_ASSERT_TRUE(worst_ln < 1e-5);

  /* GELU and the derivative it leaves behind, over [-12, 12] and beyond */
  {
    enum { NG = 4003 };
    float *x1 = calloc(NG, sizeof(float)), *x2 = calloc(NG, sizeof(float));
    float *o1 = calloc(NG, sizeof(float)), *o2 = calloc(NG, sizeof(float));
    for (size_t i = 0; i < NG; i++)
      x1[i] = -12.0f + 24.0f * (float)i / (NG - 3);
    x1[NG - 2] = -100.0f, x1[NG - 1] = 100.0f;
    memcpy(x2, x1, NG * sizeof(float));
    SL_ASSERT_OK(sl_gelu_forward(o1, x1, NG));
    SL_ASSERT_OK(sl_gelu_forward_naive(o2, x2, NG));
    double eo = 0.0, ed = 0.0;
    for (size_t i = 0; i < NG; i++) {
      eo = fmax(eo, fabs((double)o1[i] - o2[i]) / fmax(1.0, fabs((double)o2[i])));
      ed = fmax(ed, fabs((double)x1[i] - x2[i]));
    }
    printf("\n  gelu fast vs naive: out %.2e (rel, abs below 1), gelu' %.2e (abs)", eo, ed);
    CU_ASSERT_TRUE(eo < 1e-6 && ed < 1e-6);
    free(x1), free(x2), free(o1), free(o2);
  }

  /* softmax cross-entropy in float against double, V with and without a multiple of 8 */
  for (size_t V = 37; V <= 256; V += 219) {
    const size_t rows = 5, per = 3, stride = 4;
    float *z = calloc(rows * per * V, sizeof(float)), *p1 = calloc(rows * per * V, sizeof(float));
    float *p2 = calloc(rows * per * V, sizeof(float)), *g1 = calloc(rows * per * V, sizeof(float));
    float *g2 = calloc(rows * per * V, sizeof(float));
    int32_t tok[5 * 4];
    random_tokens(tok, 20, (int)V, &r);
    fill_normal(z, rows * per * V, 3.0, &r);
    z[7] = 60.0f; /* one dominant logit */
    double l1 = 0, l2 = 0;
    SL_ASSERT_OK(sl_xent_forward(p1, &l1, z, tok, rows, per, stride, V));
    SL_ASSERT_OK(sl_xent_forward_naive(p2, &l2, z, tok, rows, per, stride, V));
    SL_ASSERT_OK(sl_xent_backward(g1, p1, tok, rows, per, stride, V));
    SL_ASSERT_OK(sl_xent_backward_naive(g2, p2, tok, rows, per, stride, V));
    const double ep = max_abs_diff(p1, p2, rows * per * V, NULL);
    const double eg = rel_diff(g1, g2, rows * per * V);
    printf("\n  xent float vs double, V=%zu: loss %.2e, probs %.2e (abs), grad %.2e (rel)", V,
           fabs(l1 - l2), ep, eg);
    CU_ASSERT_TRUE(fabs(l1 - l2) < 1e-6 * fabs(l2) + 1e-7 && ep < 1e-6 && eg < 1e-5);
    free(z), free(p1), free(p2), free(g1), free(g2);
  }

  /* the fused passes: residual projection (sgemm onto res + bias) and GELU backward with the
   * bias gradient, against their naive compositions; shapes off the multiples of 8 */
  {
    const size_t n = 23, IC = 37, OC = 29;
    float *w = calloc(OC * IC, sizeof(float)), *x = calloc(n * IC, sizeof(float));
    float *bias = calloc(OC, sizeof(float)), *res = calloc(n * OC, sizeof(float));
    float *o1 = calloc(n * OC, sizeof(float)), *o2 = calloc(n * OC, sizeof(float));
    fill_normal(w, OC * IC, 0.5, &r);
    fill_normal(x, n * IC, 1.0, &r);
    fill_normal(bias, OC, 1.0, &r);
    fill_normal(res, n * OC, 3.0, &r);
    for (size_t i = 0; i < n * OC; i++)
      o1[i] = NAN; /* overwritten, not accumulated onto */
    float *work = calloc(IC * (OC + 16) + 16, sizeof(float)); /* >= sl_gemm_work_floats */
    SL_ASSERT_OK(sl_gpt_matmul_residual(o1, x, w, bias, res, n, IC, OC, work));
    free(work);
    SL_ASSERT_OK(sl_gpt_matmul_residual_naive(o2, x, w, bias, res, n, IC, OC));
    const double em = rel_diff(o1, o2, n * OC);
    float *d1 = calloc(n * OC, sizeof(float)), *d2 = calloc(n * OC, sizeof(float));
    float *dg = calloc(n * OC, sizeof(float)), *db1 = calloc(OC, sizeof(float));
    float *db2 = calloc(OC, sizeof(float));
    fill_normal(d1, n * OC, 1.0, &r);
    memcpy(d2, d1, n * OC * sizeof(float));
    fill_normal(dg, n * OC, 1.0, &r);
    fill_normal(db1, OC, 1.0, &r); /* accumulated onto */
    memcpy(db2, db1, OC * sizeof(float));
    SL_ASSERT_OK(sl_gelu_backward_bias(d1, db1, dg, n, OC));
    SL_ASSERT_OK(sl_gelu_backward_bias_naive(d2, db2, dg, n, OC));
    const double eg = fmax(rel_diff(d1, d2, n * OC), rel_diff(db1, db2, OC));
    printf("\n  residual matmul vs naive: %.2e; gelu backward with bias vs naive: %.2e", em, eg);
    CU_ASSERT_TRUE(em < 1e-5 && eg < 1e-5);
    free(w), free(x), free(bias), free(res), free(o1), free(o2), free(d1), free(d2), free(dg);
    free(db1), free(db2);
  }

  /* sl_matmul_backward_set overwrites dinp: start it from garbage, compare with the naive
   * accumulation onto zeros */
  {
    const size_t n = 19, IC = 13, OC = 21;
    float *w = calloc(OC * IC, sizeof(float)), *x = calloc(n * IC, sizeof(float));
    float *dout = calloc(n * OC, sizeof(float)), *dx1 = calloc(n * IC, sizeof(float));
    float *dx2 = calloc(n * IC, sizeof(float)), *dw1 = calloc(OC * IC, sizeof(float));
    float *dw2 = calloc(OC * IC, sizeof(float)), *db1 = calloc(OC, sizeof(float));
    float *db2 = calloc(OC, sizeof(float));
    fill_normal(w, OC * IC, 0.5, &r);
    fill_normal(x, n * IC, 1.0, &r);
    fill_normal(dout, n * OC, 1.0, &r);
    for (size_t i = 0; i < n * IC; i++)
      dx1[i] = 1e6f;
    SL_ASSERT_OK(sl_matmul_backward_set(dx1, dw1, db1, dout, x, w, n, IC, OC, SL_W_OUT_IN));
    SL_ASSERT_OK(sl_matmul_backward_naive(dx2, dw2, db2, dout, x, w, n, IC, OC, SL_W_OUT_IN));
    const double e =
        fmax(fmax(rel_diff(dx1, dx2, n * IC), rel_diff(dw1, dw2, OC * IC)), rel_diff(db1, db2, OC));
    printf("\n  matmul backward (dinp overwritten) vs naive: %.2e", e);
    CU_ASSERT_TRUE(e < 1e-5);
    free(w), free(x), free(dout), free(dx1), free(dx2), free(dw1), free(dw2), free(db1);
    free(db2);
  }
}

/* ---------------------------------------------------------------- finite differences */

static double loss_at(sl_model *m, const int32_t *tok, int B) {
  float l = 0.0f;
  int e = sl_model_forward(m, tok, B, &l);
  if (e != SL_OK) sl_error_print(stderr);
  CU_ASSERT_EQUAL_FATAL(e, SL_OK);
  return l;
}

/* Finite differences of every parameter of the tiny GPT against the backward. The loss comes out
 * of a float32 model (reduced in double by the cross-entropy), so its noise, ~1e-6 of ~2.5, divided
 * by the step bounds how small the step can be, and the truncation error bounds how large: a
 * fourth-order stencil (Richardson on central differences at eps and 2 eps, error O(eps^4)) lets
 * eps = 1e-2 sit where both are ~1e-5 of the largest gradient (a plain central difference there
 * leaves O(eps^2) ~ 1e-3 relative on the most curved parameters). The steps are the ones float
 * actually takes, (p + eps) - (p - eps) in double, not 2 eps. Accepted per parameter:
 *   |fd - grad| <= 1e-2 |grad| + 1e-4 max|grad|;
 * the floor covers gradients that are zero in exact arithmetic (the key biases: softmax is blind
 * to a shift common to a row of scores) and come out ~1e-5 of noise. */
static double central_difference(sl_model *m, size_t i, float eps, const int32_t *tok, int B) {
  const float p0 = m->params[i], hi = p0 + eps, lo = p0 - eps;
  m->params[i] = hi;
  const double lp = loss_at(m, tok, B);
  m->params[i] = lo;
  const double lm = loss_at(m, tok, B);
  m->params[i] = p0;
  return (lp - lm) / ((double)hi - (double)lo);
}

static void check_gradients_of(sl_model_spec s, const char *label, uint64_t stream) {
  sl_model *m = NULL;
  SL_ASSERT_OK(sl_model_create(&s, &m));
  sl_rng r;
  sl_rng_stream(&r, 3, stream, "gradcheck");
  SL_ASSERT_OK(sl_model_init(m, &r));
  perturb_params(m, &r);
  int32_t tok[3 * 6];
  random_tokens(tok, sizeof tok / sizeof tok[0], s.V, &r);
  loss_at(m, tok, s.B);
  SL_ASSERT_OK(sl_model_backward(m, tok, s.B));
  const size_t N = m->n_params;
  float *g = calloc(N, sizeof(float));
  memcpy(g, m->grads, N * sizeof(float));
  double gmax = 0.0;
  for (size_t i = 0; i < N; i++)
    gmax = fmax(gmax, fabs(g[i]));

  const float eps = 1e-2f;
  double worst = 0.0, worst_abs = 0.0;
  size_t worst_i = 0, n_bad = 0;
  for (size_t i = 0; i < N; i++) {
    const double d1 = central_difference(m, i, eps, tok, s.B);
    const double d2 = central_difference(m, i, 2 * eps, tok, s.B);
    const double fd = (4.0 * d1 - d2) / 3.0;
    const double d = fabs(fd - g[i]);
    const double ratio = d / (1e-2 * fabs(g[i]) + 1e-4 * gmax); /* <= 1 passes */
    if (ratio > worst) worst = ratio, worst_i = i;
    worst_abs = fmax(worst_abs, d);
    if (ratio > 1.0) n_bad++;
  }
  printf("\n  gradcheck %s: all %zu params, max |fd - grad| %.2e (max |grad| %.2e), worst "
         "|fd - grad| / (1e-2 |grad| + 1e-4 max|grad|) = %.2f at %zu, %zu failing",
         label, N, worst_abs, gmax, worst, worst_i, n_bad);
  CU_ASSERT_EQUAL(n_bad, 0);
  CU_ASSERT_TRUE(worst <= 1.0);
  free(g);
  sl_model_destroy(m);
}

static void test_gradcheck_tied(void) {
  check_gradients_of(tiny_spec(1), "tied", 1);
}
static void test_gradcheck_untied(void) {
  check_gradients_of(tiny_spec(0), "untied", 0);
}
/* Head size 8: the model goes through the vector attention kernels (the tiny spec's head size 4
 * goes through the BLAS ones); T = 5 exercises their tail rows. */
static void test_gradcheck_hs8(void) {
  sl_model_spec s = tiny_spec(1);
  s.C = 16;
  check_gradients_of(s, "tied, head size 8", 2);
}

/* ---------------------------------------------------------------- probabilities, causality */

static void test_probs_and_causality(void) {
  sl_model_spec s = tiny_spec(0);
  s.T = 9;
  s.B = 4;
  sl_model *m = NULL;
  SL_ASSERT_OK(sl_model_create(&s, &m));
  sl_rng r;
  sl_rng_stream(&r, 5, 0, "causal");
  SL_ASSERT_OK(sl_model_init(m, &r));
  perturb_params(m, &r);
  const size_t T = (size_t)s.T, V = (size_t)s.V, B = (size_t)s.B, n = B * T * V;
  int32_t tok[4 * 10];
  random_tokens(tok, B * (T + 1), s.V, &r);
  loss_at(m, tok, s.B);
  double worst = 0.0;
  for (size_t k = 0; k < B * T; k++) {
    double sum = 0.0;
    for (size_t v = 0; v < V; v++)
      sum += m->probs[k * V + v];
    worst = fmax(worst, fabs(sum - 1.0));
  }
  printf("\n  probs: max |sum - 1| = %.2e", worst);
  CU_ASSERT_TRUE(worst < 1e-5);

  /* Change the input at position t0 of every row: positions < t0 must not move at all, position
   * t0 must. */
  float *before = calloc(n, sizeof(float));
  memcpy(before, m->probs, n * sizeof(float));
  double early = 0.0, late = 0.0;
  for (size_t t0 = 1; t0 < T; t0++) {
    int32_t tok2[4 * 10];
    memcpy(tok2, tok, sizeof tok);
    for (size_t b = 0; b < B; b++)
      tok2[b * (T + 1) + t0] = (tok[b * (T + 1) + t0] + 1) % s.V;
    loss_at(m, tok2, s.B);
    for (size_t b = 0; b < B; b++)
      for (size_t t = 0; t < T; t++) {
        const float *p1 = before + (b * T + t) * V, *p2 = m->probs + (b * T + t) * V;
        double d = max_abs_diff(p1, p2, V, NULL);
        if (t < t0) early = fmax(early, d);
        if (t == t0) late = fmax(late, d);
      }
  }
  printf("\n  causality: max change before the edit %.2e, at the edit %.2e", early, late);
  CU_ASSERT_EQUAL(early, 0.0);
  CU_ASSERT_TRUE(late > 1e-4);

  /* A smaller batch gives the same rows as the full one, and backward insists on the same batch. */
  memcpy(before, m->probs, n * sizeof(float)); /* last forward: tok2 of t0 = T-1; redo with tok */
  loss_at(m, tok, s.B);
  memcpy(before, m->probs, n * sizeof(float));
  loss_at(m, tok, 2);
  double sub = max_abs_diff(before, m->probs, 2 * T * V, NULL);
  printf("\n  batch of 2 vs rows 0..1 of a batch of 4: %.2e", sub);
  CU_ASSERT_TRUE(sub < 1e-6);
  CU_ASSERT_EQUAL(sl_model_backward(m, tok, 3), SL_ERR_STATE);
  int32_t tok3[4 * 10];
  memcpy(tok3, tok, sizeof tok);
  tok3[0] = (tok3[0] + 1) % s.V;
  CU_ASSERT_EQUAL(sl_model_backward(m, tok3, 2), SL_ERR_STATE);
  SL_ASSERT_OK(sl_model_backward(m, tok, 2));
  sl_error_clear();
  free(before);
  sl_model_destroy(m);
}

/* ---------------------------------------------------------------- PyTorch fixtures */

typedef struct fixture {
  int32_t V, T, C, L, NH, B, tied, steps;
  int64_t N;
  double lr, beta1, beta2, eps, wd;
  float *params, *logits, *grads;
  int32_t *tokens;
  double loss, *losses;
} fixture;

static void fixture_free(fixture *f) {
  free(f->params), free(f->logits), free(f->grads), free(f->tokens), free(f->losses);
}

/* Reads n items or fails the test with the file's name. */
static int read_items(void *dst, size_t size, size_t n, FILE *fp, const char *path) {
  if (fread(dst, size, n, fp) == n) return 1;
  printf("\n  %s: truncated", path);
  return 0;
}

/* Format written by make_fixtures_gpt.py (little-endian): "SLGPTFX1", int32 V T C L NH B tied
 * steps, int64 N, float64 lr beta1 beta2 eps weight_decay, float32 params[N], int32
 * tokens[B (T+1)], float32 logits[B T V], float64 loss, float32 grads[N], float64 losses[steps]. */
static int fixture_load(const char *name, fixture *f) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", SLINGSHOT_TEST_DATA, name);
  memset(f, 0, sizeof *f);
  FILE *fp = fopen(path, "rb");
  if (!fp) {
    printf("\n  cannot open %s (regenerate with tests/reference/make_fixtures_gpt.py)", path);
    return 0;
  }
  char magic[8];
  int32_t hdr[8];
  double hp[5];
  int ok = read_items(magic, 1, 8, fp, path) && memcmp(magic, "SLGPTFX1", 8) == 0 &&
           read_items(hdr, 4, 8, fp, path) && read_items(&f->N, 8, 1, fp, path) &&
           read_items(hp, 8, 5, fp, path);
  if (ok) {
    f->V = hdr[0], f->T = hdr[1], f->C = hdr[2], f->L = hdr[3], f->NH = hdr[4], f->B = hdr[5];
    f->tied = hdr[6], f->steps = hdr[7];
    f->lr = hp[0], f->beta1 = hp[1], f->beta2 = hp[2], f->eps = hp[3], f->wd = hp[4];
    ok = f->N > 0 && f->N < 10000000 && f->B > 0 && f->T > 0 && f->V > 0 && f->steps >= 0;
  }
  if (ok) {
    const size_t N = (size_t)f->N, nt = (size_t)f->B * (size_t)(f->T + 1);
    const size_t nl = (size_t)f->B * (size_t)f->T * (size_t)f->V;
    f->params = calloc(N, sizeof(float));
    f->grads = calloc(N, sizeof(float));
    f->tokens = calloc(nt, sizeof(int32_t));
    f->logits = calloc(nl, sizeof(float));
    f->losses = calloc((size_t)f->steps + 1, sizeof(double));
    ok = read_items(f->params, 4, N, fp, path) && read_items(f->tokens, 4, nt, fp, path) &&
         read_items(f->logits, 4, nl, fp, path) && read_items(&f->loss, 8, 1, fp, path) &&
         read_items(f->grads, 4, N, fp, path) &&
         read_items(f->losses, 8, (size_t)f->steps, fp, path);
    char extra;
    if (ok && fread(&extra, 1, 1, fp) != 0) {
      printf("\n  %s: trailing bytes", path);
      ok = 0;
    }
  }
  fclose(fp);
  if (!ok) printf("\n  %s: not a valid GPT fixture", path);
  return ok;
}

static void check_fixture(const char *name, int tied) {
  fixture f;
  int loaded = fixture_load(name, &f);
  CU_ASSERT_TRUE_FATAL(loaded);
  sl_model_spec s = {.family = SL_MODEL_GPT,
                     .V = f.V,
                     .T = f.T,
                     .B = f.B,
                     .C = f.C,
                     .n_layer = f.L,
                     .n_head = f.NH,
                     .tied = f.tied};
  CU_ASSERT_EQUAL_FATAL(f.tied, tied);
  sl_model *m = NULL;
  SL_ASSERT_OK(sl_model_create(&s, &m));
  CU_ASSERT_EQUAL_FATAL(m->n_params, (size_t)f.N);
  const size_t N = m->n_params, T = (size_t)f.T, V = (size_t)f.V, BT = (size_t)f.B * T;
  memcpy(m->params, f.params, N * sizeof(float));

  /* loss and logits. The model exposes probabilities, which fix the logits up to a constant per
   * row, so the row-centred log-probabilities are compared with the row-centred torch logits. */
  float loss = 0.0f;
  SL_ASSERT_OK(sl_model_forward(m, f.tokens, f.B, &loss));
  const double eloss = fabs(loss - f.loss) / f.loss;
  double elog = 0.0, zmax = 0.0;
  for (size_t k = 0; k < BT; k++) {
    double mc = 0.0, mr = 0.0;
    for (size_t v = 0; v < V; v++) {
      mc += log((double)m->probs[k * V + v]) / (double)V;
      mr += f.logits[k * V + v] / (double)V;
    }
    for (size_t v = 0; v < V; v++) {
      const double zc = log((double)m->probs[k * V + v]) - mc, zr = f.logits[k * V + v] - mr;
      elog = fmax(elog, fabs(zc - zr));
      zmax = fmax(zmax, fabs(zr));
    }
  }
  elog /= zmax;

  /* every parameter's gradient, tensor by tensor relative to the tensor's largest entry */
  SL_ASSERT_OK(sl_model_backward(m, f.tokens, f.B));
  tensor t[MAX_TENSORS];
  size_t nt = layout_of(&s, t);
  double egrad = 0.0;
  const char *worst = "";
  for (size_t k = 0; k < nt; k++) {
    double e = rel_diff(m->grads + t[k].off, f.grads + t[k].off, t[k].n);
    if (e > egrad) egrad = e, worst = t[k].name;
  }
  printf("\n  %s vs torch: loss %.2e, logits %.2e, grads %.2e (worst tensor %s) (max rel)", name,
         eloss, elog, egrad, worst);
  CU_ASSERT_TRUE(eloss < 1e-5);
  CU_ASSERT_TRUE(elog < 1e-5);
  CU_ASSERT_TRUE(egrad < 1e-4);

  /* The losses of `steps` AdamW steps on the same batch, decay on the same groups as torch's. */
  sl_optim_spec os = {.kind = SL_OPTIM_ADAMW,
                      .beta1 = f.beta1,
                      .beta2 = f.beta2,
                      .eps = f.eps,
                      .weight_decay = f.wd};
  sl_optim *o = NULL;
  SL_ASSERT_OK(sl_optim_create(&os, N, &o));
  double esteps = 0.0;
  for (int i = 0; i < f.steps; i++) {
    SL_ASSERT_OK(sl_model_forward(m, f.tokens, f.B, &loss));
    esteps = fmax(esteps, fabs(loss - f.losses[i]) / f.losses[i]);
    SL_ASSERT_OK(sl_model_backward(m, f.tokens, f.B));
    SL_ASSERT_OK(sl_optim_step(o, m->params, m->grads, m->decay, f.lr));
  }
  printf("\n  %s: %d AdamW steps, loss %.4f -> %.4f, max rel loss difference %.2e", name, f.steps,
         f.losses[0], f.losses[f.steps - 1], esteps);
  CU_ASSERT_TRUE(esteps < 1e-4);
  sl_optim_destroy(o);
  sl_model_destroy(m);
  fixture_free(&f);
}

static void test_fixture_tied(void) {
  check_fixture("gpt_tied.bin", 1);
}
static void test_fixture_untied(void) {
  check_fixture("gpt_untied.bin", 0);
}

/* ---------------------------------------------------------------- shape rule */

static void test_shape_from_target(void) {
  const int Vs[2] = {64, 256}, Ts[2] = {32, 64};
  double worst = 0.0;
  for (int vi = 0; vi < 2; vi++)
    for (int tied = 0; tied <= 1; tied++)
      for (int e = 0; e <= 12; e++) {
        const double target = pow(10.0, 4.0 + e * 0.25);
        sl_model_spec s = {.family = SL_MODEL_GPT, .V = Vs[vi], .T = Ts[vi], .B = 1, .tied = tied};
        SL_ASSERT_OK(sl_model_shape_from_target(&s, target));
        const double n = (double)sl_model_param_count(&s, NULL);
        const double err = fabs(n - target) / target;
        worst = fmax(worst, err);
        CU_ASSERT_TRUE(n > 0 && s.C % s.n_head == 0);
        CU_ASSERT_TRUE(s.C >= 8 * s.n_layer && s.C <= 64 * s.n_layer); /* the aspect band */
        if (err > 0.03)
          printf("\n  V=%d T=%d tied=%d target %.3g: N=%.0f (C=%d L=%d NH=%d) off by %.1f%%", s.V,
                 s.T, tied, target, n, s.C, s.n_layer, s.n_head, 100 * err);
      }
  printf("\n  shape_from_target 1e4..1e7: worst relative miss %.2f%%", 100 * worst);
  CU_ASSERT_TRUE(worst <= 0.03); /* the rule's tolerance: the grid has a shape closer still */

  /* Set fields are kept; open ones are filled. */
  sl_model_spec s = {.family = SL_MODEL_GPT, .V = 64, .T = 32, .B = 1, .C = 64};
  SL_ASSERT_OK(sl_model_shape_from_target(&s, 3e5));
  CU_ASSERT_EQUAL(s.C, 64);
  CU_ASSERT_TRUE(s.n_layer >= 1 && s.n_head == 4);
  sl_model_spec s2 = {.family = SL_MODEL_GPT, .V = 64, .T = 32, .B = 1, .n_layer = 3, .n_head = 3};
  SL_ASSERT_OK(sl_model_shape_from_target(&s2, 3e5));
  CU_ASSERT_TRUE(s2.n_layer == 3 && s2.n_head == 3 && s2.C % 3 == 0);
  double n2 = (double)sl_model_param_count(&s2, NULL);
  printf("\n  L=3, NH=3 fixed, target 3e5: C=%d, N=%.0f", s2.C, n2);
  CU_ASSERT_TRUE(fabs(n2 - 3e5) / 3e5 < 0.05); /* C steps of 3: N steps of ~7% */
  sl_model_spec bad = {.family = SL_MODEL_GPT, .V = 64, .T = 32, .B = 1, .C = 30, .n_head = 4};
  CU_ASSERT_EQUAL(sl_model_shape_from_target(&bad, 1e5), SL_ERR_CONFIG);
  sl_error_clear();
}

/* The matmul tally of one step: every linear layer (and the head) runs 3 products over the B T
 * rows; the attention's 6 per-head products count when they go through sgemm (head size 4), and
 * not when the vector kernel does them (head size 8). */
static void test_tally(void) {
  for (int hs8 = 0; hs8 < 2; hs8++) {
    sl_model_spec s = tiny_spec(1);
    if (hs8) s.C = 16;
    const double B = s.B, T = s.T, C = s.C, V = s.V, L = s.n_layer;
    sl_model *m = NULL;
    SL_ASSERT_OK(sl_model_create(&s, &m));
    sl_rng r;
    sl_rng_seed(&r, 12);
    SL_ASSERT_OK(sl_model_init(m, &r));
    int32_t tok[3 * 6];
    for (size_t i = 0; i < 3 * 6; i++)
      tok[i] = (int32_t)sl_rng_below(&r, (uint64_t)s.V);
    float loss;
    sl_mm_tally_start();
    SL_ASSERT_OK(sl_model_forward(m, tok, s.B, &loss));
    SL_ASSERT_OK(sl_model_backward(m, tok, s.B));
    const sl_mm_tally t = sl_mm_tally_stop();
    const double linear = 2.0 * 3.0 * B * T * (12.0 * L * C * C + V * C);
    const double attention = hs8 ? 0.0 : 12.0 * L * B * T * T * C;
    printf("\n  head size %d: %ld products, %.0f FLOPs", hs8 ? 8 : 4, t.calls, t.flops);
    CU_ASSERT_DOUBLE_EQUAL(t.flops, linear + attention, 0.5);
    CU_ASSERT_EQUAL(t.calls, (long)(3 * (4 * L + 1) + (hs8 ? 0 : 6 * L * B * s.n_head)));
    sl_model_destroy(m);
  }
}

int main(int argc, char **argv) {
  static const sl_test tests[] = {
      {"counts, layout, decay mask, init", test_counts_and_init},
      {"attention and matmul: BLAS equals naive", test_kernels_match_naive},
      {"finite differences, tied head", test_gradcheck_tied},
      {"finite differences, untied head", test_gradcheck_untied},
      {"finite differences, head size 8 (vector attention)", test_gradcheck_hs8},
      {"vector kernels equal naive", test_fast_kernels_match_naive},
      {"probs sum to 1, causality, sub-batches", test_probs_and_causality},
      {"torch fixture, tied", test_fixture_tied},
      {"torch fixture, untied", test_fixture_untied},
      {"shape_from_target", test_shape_from_target},
      {"matmul tally of a step", test_tally},
      {NULL, NULL},
  };
  return sl_test_main(argc, argv, "gpt", tests);
}
