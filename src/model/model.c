/* The generic model: family table, creation (the flat buffers), and the kernels both families
 * share (matmul, softmax cross-entropy, init). Legend: B batch, T context, C channels, H hidden,
 * V vocabulary, N params. */
#include "slingshot/model.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_impl.h"
#include "slingshot/error.h"

/* ---------------------------------------------------------------- family table */

/* Indexed by sl_model_family. Only families whose ops are compiled in appear; the others stay
 * NULL and sl_model_create says so. */
static const sl_model_ops *const families[] = {
    [SL_MODEL_MLP] = &sl_mlp_ops,
    [SL_MODEL_GPT] = &sl_gpt_ops,
};
static const char *const family_names[] = {[SL_MODEL_MLP] = "mlp", [SL_MODEL_GPT] = "gpt"};

#define N_FAMILIES (sizeof family_names / sizeof family_names[0])

const sl_model_ops *sl_model_ops_for(sl_model_family family) {
  size_t f = (size_t)family;
  if (f >= sizeof families / sizeof families[0]) return NULL;
  return families[f];
}

int sl_model_family_parse(const char *name, sl_model_family *out) {
  SL_CHECK(name != NULL && out != NULL, SL_ERR_ARG, "NULL argument");
  for (size_t f = 0; f < N_FAMILIES; f++) {
    if (strcmp(name, family_names[f]) == 0) {
      *out = (sl_model_family)f;
      return SL_OK;
    }
  }
  return SL_ERROR(SL_ERR_ARG, "unknown model family '%s': use \"mlp\" or \"gpt\"", name);
}

const char *sl_model_family_name(sl_model_family family) {
  size_t f = (size_t)family;
  return f < N_FAMILIES ? family_names[f] : "unknown";
}

static int ops_checked(sl_model_family family, const sl_model_ops **out) {
  const sl_model_ops *ops = sl_model_ops_for(family);
  SL_CHECK(ops != NULL, SL_ERR_CONFIG, "model family '%s' (%d) is not built into this binary",
           sl_model_family_name(family), (int)family);
  *out = ops;
  return SL_OK;
}

int sl_model_shape_from_target(sl_model_spec *spec, double target_n) {
  SL_CHECK(spec != NULL, SL_ERR_ARG, "NULL spec");
  SL_CHECK(isfinite(target_n) && target_n >= 1, SL_ERR_ARG,
           "target parameter count must be a finite number >= 1, got %g", target_n);
  SL_CHECK(spec->V > 0 && spec->T > 0, SL_ERR_ARG,
           "set V and T before choosing a shape (got V=%d, T=%d)", spec->V, spec->T);
  const sl_model_ops *ops;
  SL_CALL(ops_checked(spec->family, &ops));
  SL_CALL(ops->shape_from_target(spec, target_n));
  return SL_OK;
}

size_t sl_model_param_count(const sl_model_spec *spec, size_t *no_embed) {
  if (no_embed) *no_embed = 0;
  const sl_model_ops *ops = spec ? sl_model_ops_for(spec->family) : NULL;
  return ops ? ops->param_count(spec, no_embed) : 0;
}

size_t sl_model_memory_bytes(const sl_model_spec *spec) {
  const sl_model_ops *ops = spec ? sl_model_ops_for(spec->family) : NULL;
  if (!ops) return 0;
  size_t n = ops->param_count(spec, NULL);
  size_t targets = spec->family == SL_MODEL_GPT ? (size_t)spec->T : 1;
  size_t probs = (size_t)spec->B * targets * (size_t)spec->V;
  return n * (2 * sizeof(float) + 2) + (ops->activation_floats(spec) + probs) * sizeof(float);
}

/* ---------------------------------------------------------------- lifecycle */

int sl_model_create(const sl_model_spec *spec, sl_model **out) {
  SL_CHECK(spec != NULL && out != NULL, SL_ERR_ARG, "NULL argument");
  *out = NULL;
  const sl_model_ops *ops;
  SL_CALL(ops_checked(spec->family, &ops));
  SL_CHECK(spec->V > 0 && spec->T > 0 && spec->B > 0, SL_ERR_CONFIG,
           "model needs V, T, B > 0 (got V=%d, T=%d, B=%d)", spec->V, spec->T, spec->B);
  size_t no_embed = 0;
  size_t n = ops->param_count(spec, &no_embed);
  SL_CHECK(n > 0, SL_ERR_CONFIG,
           "the %s spec is incomplete or invalid (C=%d, H=%d, n_layer=%d, n_head=%d): set the "
           "shape or call sl_model_shape_from_target first",
           ops->name, spec->C, spec->H, spec->n_layer, spec->n_head);

  int err = SL_OK;
  sl_model *m = NULL;
  SL_ALLOC(m, 1);
  m->spec = *spec;
  m->ops = ops;
  m->n_params = n;
  m->n_params_no_embed = no_embed;
  m->flops_per_token = ops->flops_per_token(spec);
  m->targets_per_row = 0; /* setup must say */
  m->params = sl_calloc(n, sizeof *m->params);
  m->grads = sl_calloc(n, sizeof *m->grads);
  m->decay = sl_calloc(n, sizeof *m->decay);
  m->group = sl_calloc(n, sizeof *m->group);
  SL_CHECK_GOTO(m->params && m->grads && m->decay && m->group, SL_ERR_NOMEM, fail,
                "out of memory allocating %zu parameters (x 10 B)", n);
  /* setup allocates the activations, fills the decay mask and sets targets_per_row; probs are
   * allocated after it because their size depends on targets_per_row. */
  SL_CALL_GOTO(ops->setup(m), fail);
  /* Weight decay where the parameter's group is in the chosen set (default: matrices and
   * embeddings). */
  unsigned groups = spec->decay_groups ? spec->decay_groups : SL_DECAY_DEFAULT;
  for (size_t i = 0; i < n; i++)
    m->decay[i] = (uint8_t)((groups >> m->group[i]) & 1u);
  SL_CHECK_GOTO(m->targets_per_row >= 1, SL_ERR_INTERNAL, fail,
                "%s setup did not set targets_per_row", ops->name);
  size_t n_probs = (size_t)spec->B * (size_t)m->targets_per_row * (size_t)spec->V;
  m->probs = sl_calloc(n_probs, sizeof *m->probs);
  SL_CHECK_GOTO(m->probs != NULL, SL_ERR_NOMEM, fail, "out of memory allocating %zu probabilities",
                n_probs);
  *out = m;
  return SL_OK;
fail:
  sl_model_destroy(m);
  return err;
}

int sl_model_init(sl_model *m, sl_rng *rng) {
  SL_CHECK(m != NULL && rng != NULL, SL_ERR_ARG, "NULL argument");
  SL_CALL(m->ops->init(m, rng));
  return SL_OK;
}

/* The checks both families need before touching the tokens. */
static int check_batch(const sl_model *m, const int32_t *tokens, int B) {
  SL_CHECK(m != NULL && tokens != NULL, SL_ERR_ARG, "NULL argument");
  SL_CHECK(B >= 1 && B <= m->spec.B, SL_ERR_ARG,
           "batch of %d rows, but the model was created for 1..%d rows (spec.B)", B, m->spec.B);
  size_t n = (size_t)B * ((size_t)m->spec.T + 1);
  for (size_t i = 0; i < n; i++)
    SL_CHECK(tokens[i] >= 0 && tokens[i] < m->spec.V, SL_ERR_ARG,
             "token %d at position %zu (row %zu) is outside the vocabulary [0, %d)", tokens[i], i,
             i / ((size_t)m->spec.T + 1), m->spec.V);
  return SL_OK;
}

int sl_model_forward(sl_model *m, const int32_t *tokens, int B, float *loss) {
  SL_CALL(check_batch(m, tokens, B));
  SL_CHECK(loss != NULL, SL_ERR_ARG, "NULL loss");
  SL_CALL(m->ops->forward(m, tokens, B, loss));
  SL_CHECK(isfinite(*loss), SL_ERR_NUMERIC,
           "the %s loss is not finite (%g): lower the learning rate or clip gradients",
           m->ops->name, (double)*loss);
  return SL_OK;
}

int sl_model_backward(sl_model *m, const int32_t *tokens, int B) {
  SL_CALL(check_batch(m, tokens, B));
  SL_CALL(m->ops->backward(m, tokens, B));
  return SL_OK;
}

void sl_model_destroy(sl_model *m) {
  if (!m) return;
  /* teardown accepts a model whose setup failed partway (impl NULL or partly filled). */
  if (m->ops && m->ops->teardown) m->ops->teardown(m);
  free(m->params);
  free(m->grads);
  free(m->decay);
  free(m->group);
  free(m->probs);
  free(m);
}

/* ---------------------------------------------------------------- matmul */

/* BLAS takes int sizes; a model this large is a config mistake, so say which size. */
static int blas_dims(size_t n, size_t cin, size_t cout) {
  SL_CHECK(n <= INT_MAX && cin <= INT_MAX && cout <= INT_MAX, SL_ERR_ARG,
           "matmul sizes n=%zu cin=%zu cout=%zu exceed what BLAS's int can hold", n, cin, cout);
  return SL_OK;
}

/* Index of W[i][o] (input i, output o) in either layout. */
static inline size_t w_at(size_t i, size_t o, size_t cin, size_t cout, sl_wlayout layout) {
  return layout == SL_W_IN_OUT ? i * cout + o : o * cin + i;
}

int sl_matmul_forward(float *out, const float *inp, const float *w, const float *bias, size_t n,
                      size_t cin, size_t cout, sl_wlayout layout) {
  if (n == 0 || cout == 0) return SL_OK;
  SL_CALL(blas_dims(n, cin, cout));
  float beta = 0.0f;
  if (bias) { /* seed every row with the bias, then let sgemm add inp . W onto it */
    for (size_t r = 0; r < n; r++)
      memcpy(out + r * cout, bias, cout * sizeof *out);
    beta = 1.0f;
  }
  const double t0 = sl_mm_t0();
  if (layout == SL_W_IN_OUT)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)cout, (int)cin, 1.0f, inp,
                (int)cin, w, (int)cout, beta, out, (int)cout);
  else
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)cout, (int)cin, 1.0f, inp,
                (int)cin, w, (int)cin, beta, out, (int)cout);
  sl_mm_add(t0, n, cout, cin);
  return SL_OK;
}

int sl_matmul_forward_naive(float *out, const float *inp, const float *w, const float *bias,
                            size_t n, size_t cin, size_t cout, sl_wlayout layout) {
  for (size_t r = 0; r < n; r++)
    for (size_t o = 0; o < cout; o++) {
      double s = bias ? bias[o] : 0.0;
      for (size_t i = 0; i < cin; i++)
        s += (double)inp[r * cin + i] * w[w_at(i, o, cin, cout, layout)];
      out[r * cout + o] = (float)s;
    }
  return SL_OK;
}

/* dbias [cout] += sum over the n rows of dout. */
SL_VEC static void bias_backward(float *dbias, const float *dout, size_t n, size_t cout) {
  for (size_t r = 0; r < n; r++)
    for (size_t o = 0; o < cout; o++)
      dbias[o] += dout[r * cout + o];
}

/* beta_inp: 1 accumulates into dinp, 0 overwrites it. */
static int matmul_backward(float *dinp, float *dw, float *dbias, const float *dout,
                           const float *inp, const float *w, size_t n, size_t cin, size_t cout,
                           sl_wlayout layout, float beta_inp) {
  if (n == 0 || cout == 0 || cin == 0) return SL_OK;
  SL_CALL(blas_dims(n, cin, cout));
  /* not named I: complex.h, pulled in by cblas.h, defines I */
  const int rows = (int)n, ni = (int)cin, no = (int)cout;
  /* forward: out = inp . W + bias */
  if (dinp) { /* dinp += dout . W^T */
    const double t0 = sl_mm_t0();
    if (layout == SL_W_IN_OUT)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, ni, no, 1.0f, dout, no, w, no,
                  beta_inp, dinp, ni);
    else
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, ni, no, 1.0f, dout, no, w, ni,
                  beta_inp, dinp, ni);
    sl_mm_add(t0, n, cin, cout);
  }
  if (dw) { /* dW += inp^T . dout, stored in W's layout */
    const double t0 = sl_mm_t0();
    if (layout == SL_W_IN_OUT)
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, ni, no, rows, 1.0f, inp, ni, dout, no,
                  1.0f, dw, no);
    else
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, no, ni, rows, 1.0f, dout, no, inp, ni,
                  1.0f, dw, ni);
    sl_mm_add(t0, cin, cout, n);
  }
  if (dbias) bias_backward(dbias, dout, n, cout);
  return SL_OK;
}

int sl_matmul_backward(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                       const float *w, size_t n, size_t cin, size_t cout, sl_wlayout layout) {
  return matmul_backward(dinp, dw, dbias, dout, inp, w, n, cin, cout, layout, 1.0f);
}

int sl_matmul_backward_set(float *dinp, float *dw, float *dbias, const float *dout,
                           const float *inp, const float *w, size_t n, size_t cin, size_t cout,
                           sl_wlayout layout) {
  return matmul_backward(dinp, dw, dbias, dout, inp, w, n, cin, cout, layout, 0.0f);
}

int sl_matmul_backward_naive(float *dinp, float *dw, float *dbias, const float *dout,
                             const float *inp, const float *w, size_t n, size_t cin, size_t cout,
                             sl_wlayout layout) {
  /* forward: out[r][o] = bias[o] + sum_i inp[r][i] W[i][o] */
  if (dinp)
    for (size_t r = 0; r < n; r++)
      for (size_t i = 0; i < cin; i++) {
        double s = 0;
        for (size_t o = 0; o < cout; o++)
          s += (double)dout[r * cout + o] * w[w_at(i, o, cin, cout, layout)];
        dinp[r * cin + i] += (float)s;
      }
  if (dw)
    for (size_t i = 0; i < cin; i++)
      for (size_t o = 0; o < cout; o++) {
        double s = 0;
        for (size_t r = 0; r < n; r++)
          s += (double)inp[r * cin + i] * dout[r * cout + o];
        dw[w_at(i, o, cin, cout, layout)] += (float)s;
      }
  if (dbias) sl_bias_grad_naive(dbias, dout, n, cout);
  return SL_OK;
}

void sl_bias_grad_naive(float *dbias, const float *dout, size_t n, size_t cols) {
  for (size_t c = 0; c < cols; c++) {
    double s = 0;
    for (size_t r = 0; r < n; r++)
      s += dout[r * cols + c];
    dbias[c] += (float)s;
  }
}

/* ---------------------------------------------------------------- softmax cross-entropy */

/* The fast kernels: float, 8 lanes, sl_expf_fast; the log and the loss sum in double. */
SL_VEC static void xent_row(float *p, double *lse, const float *z, size_t V) {
  float mx[SL_LANES], sm[SL_LANES];
  for (size_t l = 0; l < SL_LANES; l++)
    mx[l] = z[0];
  size_t v = 0;
  for (; v + SL_LANES <= V; v += SL_LANES)
    for (size_t l = 0; l < SL_LANES; l++)
      mx[l] = z[v + l] > mx[l] ? z[v + l] : mx[l];
  float m = mx[0];
  for (size_t l = 1; l < SL_LANES; l++)
    m = mx[l] > m ? mx[l] : m;
  for (; v < V; v++)
    m = z[v] > m ? z[v] : m;
  for (size_t l = 0; l < SL_LANES; l++)
    sm[l] = 0.0f;
  for (v = 0; v + SL_LANES <= V; v += SL_LANES)
    for (size_t l = 0; l < SL_LANES; l++) {
      p[v + l] = sl_expf_fast(z[v + l] - m);
      sm[l] += p[v + l];
    }
  float tail = 0.0f;
  for (; v < V; v++) {
    p[v] = sl_expf_fast(z[v] - m);
    tail += p[v];
  }
  double sum = tail;
  for (size_t l = 0; l < SL_LANES; l++)
    sum += sm[l];
  const float inv = (float)(1.0 / sum);
  for (v = 0; v < V; v++)
    p[v] *= inv;
  *lse = (double)m + log(sum);
}

int sl_xent_forward(float *probs, double *loss, const float *logits, const int32_t *targets,
                    size_t rows, size_t per_row, size_t stride, size_t V) {
  SL_CHECK(rows * per_row > 0 && V > 0, SL_ERR_ARG, "empty cross-entropy (rows=%zu per_row=%zu)",
           rows, per_row);
  double total = 0.0;
  for (size_t r = 0; r < rows; r++)
    for (size_t j = 0; j < per_row; j++) {
      int32_t y = targets[r * stride + j];
      SL_CHECK(y >= 0 && (size_t)y < V, SL_ERR_ARG,
               "target %d (row %zu, position %zu) is outside the vocabulary [0, %zu)", y, r, j, V);
      const float *z = logits + (r * per_row + j) * V;
      double lse;
      xent_row(probs + (r * per_row + j) * V, &lse, z, V);
      total += lse - (double)z[y];
    }
  *loss = total / (double)(rows * per_row);
  return SL_OK;
}

SL_VEC static void xent_grad_row(float *d, const float *p, size_t y, float scale, size_t V) {
  for (size_t v = 0; v < V; v++)
    d[v] = p[v] * scale;
  d[y] -= scale;
}

int sl_xent_backward(float *dlogits, const float *probs, const int32_t *targets, size_t rows,
                     size_t per_row, size_t stride, size_t V) {
  SL_CHECK(rows * per_row > 0 && V > 0, SL_ERR_ARG, "empty cross-entropy (rows=%zu per_row=%zu)",
           rows, per_row);
  /* forward: loss = mean(lse - z[y]);  d/dz[v] = (p[v] - [v == y]) / count */
  const float scale = (float)(1.0 / (double)(rows * per_row));
  for (size_t r = 0; r < rows; r++)
    for (size_t j = 0; j < per_row; j++) {
      int32_t y = targets[r * stride + j];
      SL_CHECK(y >= 0 && (size_t)y < V, SL_ERR_ARG,
               "target %d (row %zu, position %zu) is outside the vocabulary [0, %zu)", y, r, j, V);
      xent_grad_row(dlogits + (r * per_row + j) * V, probs + (r * per_row + j) * V, (size_t)y,
                    scale, V);
    }
  return SL_OK;
}

/* The reference kernels: softmax and log-sum-exp in double with libm's exp. */
int sl_xent_forward_naive(float *probs, double *loss, const float *logits, const int32_t *targets,
                          size_t rows, size_t per_row, size_t stride, size_t V) {
  SL_CHECK(rows * per_row > 0 && V > 0, SL_ERR_ARG, "empty cross-entropy (rows=%zu per_row=%zu)",
           rows, per_row);
  double total = 0.0;
  for (size_t r = 0; r < rows; r++)
    for (size_t j = 0; j < per_row; j++) {
      int32_t y = targets[r * stride + j];
      SL_CHECK(y >= 0 && (size_t)y < V, SL_ERR_ARG,
               "target %d (row %zu, position %zu) is outside the vocabulary [0, %zu)", y, r, j, V);
      const float *z = logits + (r * per_row + j) * V;
      float *p = probs + (r * per_row + j) * V;
      /* Shift by the max so exp never overflows; log-sum-exp in double. */
      double zmax = z[0];
      for (size_t v = 1; v < V; v++)
        if (z[v] > zmax) zmax = z[v];
      double sum = 0.0;
      for (size_t v = 0; v < V; v++)
        sum += exp((double)z[v] - zmax);
      double lse = zmax + log(sum);
      for (size_t v = 0; v < V; v++)
        p[v] = (float)exp((double)z[v] - lse);
      total += lse - (double)z[y];
    }
  *loss = total / (double)(rows * per_row);
  return SL_OK;
}

int sl_xent_backward_naive(float *dlogits, const float *probs, const int32_t *targets, size_t rows,
                           size_t per_row, size_t stride, size_t V) {
  SL_CHECK(rows * per_row > 0 && V > 0, SL_ERR_ARG, "empty cross-entropy (rows=%zu per_row=%zu)",
           rows, per_row);
  /* forward: loss = mean(lse - z[y]);  d/dz[v] = (p[v] - [v == y]) / count */
  const double scale = 1.0 / (double)(rows * per_row);
  for (size_t r = 0; r < rows; r++)
    for (size_t j = 0; j < per_row; j++) {
      int32_t y = targets[r * stride + j];
      SL_CHECK(y >= 0 && (size_t)y < V, SL_ERR_ARG,
               "target %d (row %zu, position %zu) is outside the vocabulary [0, %zu)", y, r, j, V);
      const float *p = probs + (r * per_row + j) * V;
      float *d = dlogits + (r * per_row + j) * V;
      for (size_t v = 0; v < V; v++)
        d[v] = (float)(((double)p[v] - (v == (size_t)y ? 1.0 : 0.0)) * scale);
    }
  return SL_OK;
}

/* ---------------------------------------------------------------- init */

int sl_init_normal(float *p, size_t n, double std, sl_rng *rng) {
  SL_CHECK(p != NULL || n == 0, SL_ERR_ARG, "NULL buffer");
  SL_CHECK(rng != NULL && isfinite(std) && std >= 0, SL_ERR_ARG, "bad init (std=%g)", std);
  for (size_t i = 0; i < n; i++)
    p[i] = (float)(std * sl_rng_normal(rng));
  return SL_OK;
}
