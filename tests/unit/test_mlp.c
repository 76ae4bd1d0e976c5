/* The MLP language model and the shared model kernels: gradient checks (each layer and the whole
 * model), naive == BLAS kernels, probabilities, the shape rule, and PyTorch golden fixtures.
 *
 * Legend: B batch, T context, C channels, H hidden, V vocabulary, N params.
 * Fixtures: /usr/bin/python3 tests/reference/make_fixtures_mlp.py tests/data */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/model/model_impl.h"
#include "slingshot/model.h"
#include "slingshot/optim.h"
#include "slingshot/rng.h"
#include "test_util.h"

static void fill_normal(float *x, size_t n, double std, sl_rng *r) {
  for (size_t i = 0; i < n; i++)
    x[i] = (float)(std * sl_rng_normal(r));
}

static void fill_tokens(int32_t *tok, size_t n, int V, sl_rng *r) {
  for (size_t i = 0; i < n; i++)
    tok[i] = (int32_t)sl_rng_below(r, (uint64_t)V);
}

/* max |a - b| and max |b| over n entries. */
static void max_diff(const float *a, const float *b, size_t n, double *abs_diff, double *ref) {
  *abs_diff = 0;
  *ref = 0;
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)a[i] - b[i]);
    if (d > *abs_diff) *abs_diff = d;
    if (fabs(b[i]) > *ref) *ref = fabs(b[i]);
  }
}

/* ---------------------------------------------------------------- family table */

static void test_family(void) {
  sl_model_family f;
  SL_ASSERT_OK(sl_model_family_parse("mlp", &f));
  CU_ASSERT_EQUAL(f, SL_MODEL_MLP);
  SL_ASSERT_OK(sl_model_family_parse("gpt", &f));
  CU_ASSERT_EQUAL(f, SL_MODEL_GPT);
  CU_ASSERT_EQUAL(sl_model_family_parse("rnn", &f), SL_ERR_ARG);
  CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), "rnn"));
  sl_error_clear();
  CU_ASSERT_STRING_EQUAL(sl_model_family_name(SL_MODEL_MLP), "mlp");
  CU_ASSERT_STRING_EQUAL(sl_model_family_name(SL_MODEL_GPT), "gpt");
  CU_ASSERT_PTR_EQUAL(sl_model_ops_for(SL_MODEL_MLP), &sl_mlp_ops);
  CU_ASSERT_PTR_NULL(sl_model_ops_for((sl_model_family)99));
  if (sl_model_ops_for(SL_MODEL_GPT) == NULL) { /* until gpt.c joins the table */
    sl_model_spec s = {.family = SL_MODEL_GPT, .V = 8, .T = 4, .B = 2, .C = 8, .n_layer = 1};
    sl_model *m = NULL;
    CU_ASSERT_EQUAL(sl_model_create(&s, &m), SL_ERR_CONFIG);
    CU_ASSERT_PTR_NULL(m);
    sl_error_clear();
  }
}

/* ---------------------------------------------------------------- naive == BLAS */

static void check_matmul_layout(sl_wlayout layout, size_t n, size_t cin, size_t cout) {
  sl_rng r;
  sl_rng_seed(&r, 11 + (uint64_t)layout);
  float *inp = malloc(n * cin * sizeof *inp), *w = malloc(cin * cout * sizeof *w);
  float *bias = malloc(cout * sizeof *bias), *dout = malloc(n * cout * sizeof *dout);
  float *out1 = malloc(n * cout * sizeof *out1), *out2 = malloc(n * cout * sizeof *out2);
  float *dinp1 = malloc(n * cin * sizeof *dinp1), *dinp2 = malloc(n * cin * sizeof *dinp2);
  float *dw1 = malloc(cin * cout * sizeof *dw1), *dw2 = malloc(cin * cout * sizeof *dw2);
  float *db1 = malloc(cout * sizeof *db1), *db2 = malloc(cout * sizeof *db2);
  fill_normal(inp, n * cin, 1, &r);
  fill_normal(w, cin * cout, 1, &r);
  fill_normal(bias, cout, 1, &r);
  fill_normal(dout, n * cout, 1, &r);
  /* Non-zero starting gradients: the kernels must accumulate, not overwrite. */
  fill_normal(dinp1, n * cin, 1, &r);
  fill_normal(dw1, cin * cout, 1, &r);
  fill_normal(db1, cout, 1, &r);
  memcpy(dinp2, dinp1, n * cin * sizeof *dinp1);
  memcpy(dw2, dw1, cin * cout * sizeof *dw1);
  memcpy(db2, db1, cout * sizeof *db1);

  double d, ref, worst = 0;
  for (int with_bias = 0; with_bias < 2; with_bias++) {
    SL_ASSERT_OK(sl_matmul_forward(out1, inp, w, with_bias ? bias : NULL, n, cin, cout, layout));
    SL_ASSERT_OK(
        sl_matmul_forward_naive(out2, inp, w, with_bias ? bias : NULL, n, cin, cout, layout));
    max_diff(out1, out2, n * cout, &d, &ref);
    worst = fmax(worst, d / ref);
    CU_ASSERT_TRUE(d <= 1e-5 * ref);
  }
  SL_ASSERT_OK(sl_matmul_backward(dinp1, dw1, db1, dout, inp, w, n, cin, cout, layout));
  SL_ASSERT_OK(sl_matmul_backward_naive(dinp2, dw2, db2, dout, inp, w, n, cin, cout, layout));
  max_diff(dinp1, dinp2, n * cin, &d, &ref);
  worst = fmax(worst, d / ref);
  CU_ASSERT_TRUE(d <= 1e-5 * ref);
  max_diff(dw1, dw2, cin * cout, &d, &ref);
  worst = fmax(worst, d / ref);
  CU_ASSERT_TRUE(d <= 1e-5 * ref);
  max_diff(db1, db2, cout, &d, &ref);
  worst = fmax(worst, d / ref);
  CU_ASSERT_TRUE(d <= 1e-5 * ref);
  /* NULL outputs are skipped. */
  SL_ASSERT_OK(sl_matmul_backward(NULL, NULL, NULL, dout, inp, w, n, cin, cout, layout));
  printf("\n  matmul %s n=%zu cin=%zu cout=%zu: max |blas - naive| / max|naive| = %.2e",
         layout == SL_W_IN_OUT ? "in_out" : "out_in", n, cin, cout, worst);
  free(inp), free(w), free(bias), free(dout), free(out1), free(out2);
  free(dinp1), free(dinp2), free(dw1), free(dw2), free(db1), free(db2);
}

static void test_matmul_naive_equals_blas(void) {
  check_matmul_layout(SL_W_IN_OUT, 7, 13, 5);
  check_matmul_layout(SL_W_OUT_IN, 7, 13, 5);
  check_matmul_layout(SL_W_IN_OUT, 33, 64, 129);
  check_matmul_layout(SL_W_OUT_IN, 33, 64, 129);
}

/* ---------------------------------------------------------------- layer gradient checks */

typedef double (*objective_fn)(void *ctx);

/* Central differences of f with respect to x[0..n), against the analytic gradient g. The step
 * actually taken is the difference of the rounded float values, so float rounding of x + h does
 * not bias the quotient. Returns max |g - fd| / max |fd|. */
static double fd_check(objective_fn f, void *ctx, float *x, const float *g, size_t n, double h,
                       const char *what) {
  double max_abs = 0, max_ref = 0;
  for (size_t i = 0; i < n; i++) {
    const float x0 = x[i];
    x[i] = (float)(x0 + h);
    const double xp = x[i], fp = f(ctx);
    x[i] = (float)(x0 - h);
    const double xm = x[i], fm = f(ctx);
    x[i] = x0;
    const double fd = (fp - fm) / (xp - xm);
    max_abs = fmax(max_abs, fabs(g[i] - fd));
    max_ref = fmax(max_ref, fabs(fd));
  }
  const double rel = max_ref > 0 ? max_abs / max_ref : max_abs;
  printf("\n  %-16s n=%-4zu max |analytic - fd| = %.2e (%.2e of max |fd| = %.2e)", what, n, max_abs,
         rel, max_ref);
  return rel;
}

/* sum_i r[i] out[i] in double: its gradient with respect to out is r, so dout = r. */
static double dot_d(const float *r, const float *out, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++)
    s += (double)r[i] * out[i];
  return s;
}

typedef struct layer_ctx {
  size_t n, cin, cout, V, T, C;
  float *inp, *w, *bias, *out, *r;
  int32_t *tokens;
  sl_wlayout layout;
} layer_ctx;

static double obj_matmul(void *p) {
  layer_ctx *c = p;
  sl_matmul_forward(c->out, c->inp, c->w, c->bias, c->n, c->cin, c->cout, c->layout);
  return dot_d(c->r, c->out, c->n * c->cout);
}
static double obj_tanh(void *p) {
  layer_ctx *c = p;
  sl_tanh_forward(c->out, c->inp, c->n);
  return dot_d(c->r, c->out, c->n);
}
static double obj_embed(void *p) {
  layer_ctx *c = p;
  sl_mlp_embed_forward(c->out, c->tokens, c->w, c->n, c->T, c->C);
  return dot_d(c->r, c->out, c->n * c->T * c->C);
}
static double obj_xent(void *p) {
  layer_ctx *c = p;
  double loss = 0;
  /* per_row = 2, stride = 3: the GPT-style layout, targets not contiguous across rows */
  sl_xent_forward(c->out, &loss, c->inp, c->tokens, c->n, 2, 3, c->V);
  return loss;
}

static void test_layer_gradients(void) {
  sl_rng r;
  sl_rng_seed(&r, 5);
  /* matmul, both layouts: inputs, weights and bias */
  for (int lay = 0; lay < 2; lay++) {
    layer_ctx c = {.n = 4, .cin = 6, .cout = 5, .layout = (sl_wlayout)lay};
    float inp[24], w[30], bias[5], out[20], rr[20], dinp[24] = {0}, dw[30] = {0}, db[5] = {0};
    c.inp = inp, c.w = w, c.bias = bias, c.out = out, c.r = rr;
    fill_normal(inp, 24, 1, &r), fill_normal(w, 30, 1, &r), fill_normal(bias, 5, 1, &r);
    fill_normal(rr, 20, 1, &r);
    SL_ASSERT_OK(sl_matmul_backward(dinp, dw, db, rr, inp, w, c.n, c.cin, c.cout, c.layout));
    CU_ASSERT_TRUE(fd_check(obj_matmul, &c, inp, dinp, 24, 0.125, "matmul dinp") < 1e-4);
    CU_ASSERT_TRUE(fd_check(obj_matmul, &c, w, dw, 30, 0.125, "matmul dw") < 1e-4);
    CU_ASSERT_TRUE(fd_check(obj_matmul, &c, bias, db, 5, 0.125, "matmul dbias") < 1e-4);
  }
  { /* tanh */
    layer_ctx c = {.n = 40};
    float inp[40], out[40], rr[40], dinp[40];
    c.inp = inp, c.out = out, c.r = rr;
    fill_normal(inp, 40, 1.5, &r), fill_normal(rr, 40, 1, &r);
    SL_ASSERT_OK(sl_tanh_forward(out, inp, 40));
    SL_ASSERT_OK(sl_tanh_backward(dinp, rr, out, 40));
    CU_ASSERT_TRUE(fd_check(obj_tanh, &c, inp, dinp, 40, 1e-3, "tanh") < 1e-3);
  }
  { /* embedding of a window: B = 3 rows of T = 2 context tokens, C = 4, V = 5 */
    layer_ctx c = {.n = 3, .T = 2, .C = 4, .V = 5};
    float emb[20], out[24], rr[24], demb[20] = {0};
    int32_t tok[9] = {0, 3, 1, 3, 3, 4, 2, 0, 1}; /* token 3 twice: contributions add */
    c.w = emb, c.out = out, c.r = rr, c.tokens = tok;
    fill_normal(emb, 20, 1, &r), fill_normal(rr, 24, 1, &r);
    SL_ASSERT_OK(sl_mlp_embed_backward(demb, rr, tok, 3, 2, 4));
    CU_ASSERT_TRUE(fd_check(obj_embed, &c, emb, demb, 20, 0.125, "embedding") < 1e-4);
  }
  { /* softmax cross-entropy: 3 rows x 2 predictions, V = 6 */
    layer_ctx c = {.n = 3, .V = 6};
    float logits[36], probs[36], dlogits[36];
    int32_t tok[9] = {1, 5, 0, 2, 2, 4, 0, 3, 1};
    c.inp = logits, c.out = probs, c.tokens = tok;
    fill_normal(logits, 36, 2, &r);
    double loss;
    SL_ASSERT_OK(sl_xent_forward(probs, &loss, logits, tok, 3, 2, 3, 6));
    SL_ASSERT_OK(sl_xent_backward(dlogits, probs, tok, 3, 2, 3, 6));
    CU_ASSERT_TRUE(fd_check(obj_xent, &c, logits, dlogits, 36, 1e-3, "softmax xent") < 1e-4);
    int32_t bad[9] = {1, 6, 0, 2, 2, 4, 0, 3, 1};
    CU_ASSERT_EQUAL(sl_xent_forward(probs, &loss, logits, bad, 3, 2, 3, 6), SL_ERR_ARG);
    sl_error_clear();
  }
}

/* ---------------------------------------------------------------- whole model */

/* An independent double-precision MLP (plain loops, its own indexing) over the same flat layout:
 * emb [V x C], W1 [T*C x H], b1 [H], W2 [H x V], b2 [V]. Small sizes only. */
enum { REF_MAX = 256 };
static double mlp_loss_ref(const double *p, const int32_t *tok, size_t V, size_t T, size_t C,
                           size_t H, size_t B) {
  const double *emb = p, *w1 = emb + V * C, *b1 = w1 + T * C * H, *w2 = b1 + H, *b2 = w2 + H * V;
  double x[REF_MAX], h[REF_MAX], z[REF_MAX], loss = 0;
  for (size_t b = 0; b < B; b++) {
    const int32_t *row = tok + b * (T + 1);
    for (size_t t = 0; t < T; t++)
      for (size_t c = 0; c < C; c++)
        x[t * C + c] = emb[(size_t)row[t] * C + c];
    for (size_t j = 0; j < H; j++) {
      double a = b1[j];
      for (size_t i = 0; i < T * C; i++)
        a += x[i] * w1[i * H + j];
      h[j] = tanh(a);
    }
    double zmax = -INFINITY;
    for (size_t v = 0; v < V; v++) {
      z[v] = b2[v];
      for (size_t j = 0; j < H; j++)
        z[v] += h[j] * w2[j * V + v];
      zmax = fmax(zmax, z[v]);
    }
    double s = 0;
    for (size_t v = 0; v < V; v++)
      s += exp(z[v] - zmax);
    loss += zmax + log(s) - z[row[T]];
  }
  return loss / (double)B;
}

typedef struct model_ctx {
  sl_model *m;
  const int32_t *tokens;
  int B;
} model_ctx;

static double obj_model(void *p) {
  model_ctx *c = p;
  float loss = 0;
  sl_model_forward(c->m, c->tokens, c->B, &loss);
  return loss;
}

/* Central differences (h = 1e-5) of the double reference loss in every parameter pd[0..N) into
 * fd; returns max |fd|. pd is restored. */
static double mlp_fd_grad_ref(double *fd, double *pd, size_t N, const int32_t *tok, size_t V,
                              size_t T, size_t C, size_t H, size_t B) {
  double max_fd = 0;
  for (size_t i = 0; i < N; i++) {
    const double p0 = pd[i], h = 1e-5;
    pd[i] = p0 + h;
    const double lp = mlp_loss_ref(pd, tok, V, T, C, H, B);
    pd[i] = p0 - h;
    const double lm = mlp_loss_ref(pd, tok, V, T, C, H, B);
    pd[i] = p0;
    fd[i] = (lp - lm) / (2 * h);
    max_fd = fmax(max_fd, fabs(fd[i]));
  }
  return max_fd;
}

static void test_model_gradients(void) {
  const sl_model_spec spec = {
      .family = SL_MODEL_MLP, .V = 7, .T = 3, .B = 6, .C = 3, .H = 5, .n_layer = 1};
  sl_model *m = NULL;
  SL_ASSERT_OK(sl_model_create(&spec, &m));
  const size_t V = 7, T = 3, C = 3, H = 5, N = m->n_params;
  CU_ASSERT_EQUAL(N, V * C + T * C * H + H + H * V + V);
  sl_rng r;
  sl_rng_seed(&r, 9);
  /* O(1) parameters (not the init's small W2) so that every gradient is far above rounding; a
   * batch of 5 rows on a model built for 6 exercises B < spec.B. */
  fill_normal(m->params, N, 0.7, &r);
  const int B = 5;
  int32_t tok[5 * 4];
  fill_tokens(tok, 5 * 4, (int)V, &r);
  float loss = 0;
  SL_ASSERT_OK(sl_model_forward(m, tok, B, &loss));
  SL_ASSERT_OK(sl_model_backward(m, tok, B));

  /* 1. Central differences of the double reference, h = 1e-5: truncation ~h^2, rounding ~1e-11,
   *    so the comparison measures the float backward alone. */
  double *pd = calloc(N, sizeof *pd);
  for (size_t i = 0; i < N; i++)
    pd[i] = m->params[i];
  const double loss_ref = mlp_loss_ref(pd, tok, V, T, C, H, (size_t)B);
  printf("\n  loss: model %.9f, double reference %.9f, |diff| = %.2e", (double)loss, loss_ref,
         fabs(loss - loss_ref));
  CU_ASSERT_TRUE(fabs(loss - loss_ref) <= 1e-6 * loss_ref);
  double max_abs = 0, max_rel = 0, max_fd = 0;
  size_t worst = 0;
  double *fd = malloc(N * sizeof *fd);
  max_fd = mlp_fd_grad_ref(fd, pd, N, tok, V, T, C, H, (size_t)B);
  for (size_t i = 0; i < N; i++) {
    double d = fabs(m->grads[i] - fd[i]);
    /* relative per parameter, floored at 1e-3 of the largest gradient so that a near-zero
     * gradient (a cancelled sum) is judged by the scale of the float arithmetic around it */
    double rel = d / fmax(fabs(fd[i]), 1e-3 * max_fd);
    max_abs = fmax(max_abs, d);
    if (rel > max_rel) max_rel = rel, worst = i;
  }
  printf("\n  whole model vs double central differences: N=%zu max |grad - fd| = %.2e, max "
         "relative = %.2e (param %zu: %.6e vs %.6e)",
         N, max_abs, max_rel, worst, (double)m->grads[worst], fd[worst]);
  CU_ASSERT_TRUE(max_rel < 1e-4);

  /* 2. Central differences through the float model itself (sl_model_forward): h = 1e-2, float
   *    loss, so only ~1e-3 agreement is expected; it ties the backward to the real forward path. */
  model_ctx mc = {m, tok, B};
  float *g = malloc(N * sizeof *g);
  memcpy(g, m->grads, N * sizeof *g);
  CU_ASSERT_TRUE(fd_check(obj_model, &mc, m->params, g, N, 1e-2, "model (float)") < 1e-2);

  /* forward/backward leave the params untouched and backward is repeatable */
  SL_ASSERT_OK(sl_model_forward(m, tok, B, &loss));
  SL_ASSERT_OK(sl_model_backward(m, tok, B));
  CU_ASSERT_EQUAL(memcmp(g, m->grads, N * sizeof *g), 0);
  free(g);
  free(fd);
  free(pd);
  sl_model_destroy(m);
}

/* ---------------------------------------------------------------- table path == sgemm path */

/* Runs forward+backward on path `path` and copies loss, probs [B x V] and grads [N] out. */
static void run_path(sl_model *m, sl_mlp_path path, const int32_t *tok, int B, float *loss,
                     float *probs, float *grads) {
  SL_ASSERT_OK(sl_mlp_set_path(m, path));
  SL_ASSERT_OK(sl_model_forward(m, tok, B, loss));
  SL_ASSERT_OK(sl_model_backward(m, tok, B));
  memcpy(probs, m->probs, (size_t)B * (size_t)m->spec.V * sizeof *probs);
  memcpy(grads, m->grads, m->n_params * sizeof *grads);
}

/* max over entries of |a - b| / max(|b|, floor * max |b|): relative per entry, floored. */
static double max_rel_diff(const float *a, const float *b, size_t n, double floor) {
  double ref = 0, worst = 0;
  for (size_t i = 0; i < n; i++)
    ref = fmax(ref, fabs((double)b[i]));
  for (size_t i = 0; i < n; i++)
    worst = fmax(worst, fabs((double)a[i] - b[i]) / fmax(fabs((double)b[i]), floor * ref));
  return worst;
}

/* Compares the table path (tables when V < B) with the sgemm path on one model and batch:
 * loss, probabilities (softmax of the logits) and every gradient, per parameter block: the
 * per-entry relative difference (floored at 1e-3 of the block's largest gradient) below tol, and
 * the largest absolute difference below 1e-5 of the largest gradient. The paths differ only in
 * float summation order (a B*T-term sum against a V-term one), so the bench model's 512-row sums
 * get the looser per-entry tol. */
static void check_paths_equal(sl_model *m, const int32_t *tok, int B, double tol,
                              const char *what) {
  const size_t N = m->n_params, BV = (size_t)B * (size_t)m->spec.V;
  float *p1 = malloc(BV * sizeof *p1), *p2 = malloc(BV * sizeof *p2);
  float *g1 = malloc(N * sizeof *g1), *g2 = malloc(N * sizeof *g2);
  float l1 = 0, l2 = 0;
  run_path(m, SL_MLP_PATH_TABLE, tok, B, &l1, p1, g1);
  CU_ASSERT_EQUAL(sl_mlp_last_path(m), SL_MLP_PATH_TABLE);
  run_path(m, SL_MLP_PATH_SGEMM, tok, B, &l2, p2, g2);
  CU_ASSERT_EQUAL(sl_mlp_last_path(m), SL_MLP_PATH_SGEMM);
  double dp, refp;
  max_diff(p1, p2, BV, &dp, &refp);
  const size_t V = (size_t)m->spec.V, T = (size_t)m->spec.T, C = (size_t)m->spec.C,
               H = (size_t)m->spec.H;
  const size_t sizes[5] = {V * C, T * C * H, H, H * V, V};
  const char *names[5] = {"emb", "W1", "b1", "W2", "b2"};
  printf("\n  %s: loss %.9f (table) vs %.9f (sgemm), probs max |diff| %.2e; grads max rel:", what,
         (double)l1, (double)l2, dp);
  size_t off = 0;
  for (int k = 0; k < 5; k++) {
    double r = max_rel_diff(g1 + off, g2 + off, sizes[k], 1e-3), dg, refg;
    max_diff(g1 + off, g2 + off, sizes[k], &dg, &refg);
    printf(" %s %.1e (max |diff| %.1e of max)", names[k], r, dg / refg);
    CU_ASSERT_TRUE(r < tol);
    CU_ASSERT_TRUE(dg <= 1e-5 * refg);
    off += sizes[k];
  }
  CU_ASSERT_TRUE(fabs((double)l1 - l2) <= 1e-6 * fabs((double)l2));
  CU_ASSERT_TRUE(dp <= 1e-6);
  free(p1), free(p2), free(g1), free(g2);
}

static void test_table_path(void) {
  /* 1. A small model with V < B: the default (AUTO) takes the table path; it equals the sgemm
   *    path and the double reference (loss, central differences of every parameter). */
  const sl_model_spec spec = {
      .family = SL_MODEL_MLP, .V = 6, .T = 3, .B = 9, .C = 4, .H = 5, .n_layer = 1};
  const size_t V = 6, T = 3, C = 4, H = 5;
  sl_model *m = NULL;
  SL_ASSERT_OK(sl_model_create(&spec, &m));
  const size_t N = m->n_params;
  sl_rng r;
  sl_rng_seed(&r, 31);
  fill_normal(m->params, N, 0.7, &r);
  const int B = 9;
  int32_t tok[9 * 4];
  fill_tokens(tok, 9 * 4, (int)V, &r);
  tok[0 * 4 + 1] = tok[1 * 4 + 1] = tok[2 * 4 + 1] = 2; /* a token repeated at one position */
  float loss = 0;
  SL_ASSERT_OK(sl_model_forward(m, tok, B, &loss));
  CU_ASSERT_EQUAL(sl_mlp_last_path(m), SL_MLP_PATH_TABLE);
  SL_ASSERT_OK(sl_model_backward(m, tok, B));
  float *g = malloc(N * sizeof *g);
  memcpy(g, m->grads, N * sizeof *g);
  SL_ASSERT_OK(sl_model_backward(m, tok, B)); /* repeatable: G is rebuilt, not accumulated */
  CU_ASSERT_EQUAL(memcmp(g, m->grads, N * sizeof *g), 0);
  double *pd = calloc(N, sizeof *pd), *fd = calloc(N, sizeof *fd);
  for (size_t i = 0; i < N; i++)
    pd[i] = m->params[i];
  const double loss_ref = mlp_loss_ref(pd, tok, V, T, C, H, (size_t)B);
  CU_ASSERT_TRUE(fabs(loss - loss_ref) <= 1e-6 * loss_ref);
  double max_fd = 0, max_rel = 0;
  max_fd = mlp_fd_grad_ref(fd, pd, N, tok, V, T, C, H, (size_t)B);
  for (size_t i = 0; i < N; i++)
    max_rel = fmax(max_rel, fabs(g[i] - fd[i]) / fmax(fabs(fd[i]), 1e-3 * max_fd));
  printf("\n  table path: loss %.9f vs double reference %.9f; grads vs double central "
         "differences: max relative %.2e",
         (double)loss, loss_ref, max_rel);
  CU_ASSERT_TRUE(max_rel < 1e-4);
  check_paths_equal(m, tok, B, 1e-4, "small model");
  /* The tables hold only the tokens present at each position: one token everywhere (one row per
   * table), and a different token in every row at position 0 with the rest fixed. */
  int32_t same[9 * 4], skew[9 * 4];
  for (size_t i = 0; i < 9 * 4; i++) {
    same[i] = 4;
    skew[i] = i % 4 == 0 ? (int32_t)(i / 4 % V) : 1;
  }
  check_paths_equal(m, same, B, 1e-4, "one token");
  check_paths_equal(m, skew, B, 1e-4, "skewed tokens");

  /* 2. Fewer rows than V: AUTO takes the sgemm path (the tables would cost more). */
  SL_ASSERT_OK(sl_mlp_set_path(m, SL_MLP_PATH_AUTO));
  SL_ASSERT_OK(sl_model_forward(m, tok, 5, &loss));
  CU_ASSERT_EQUAL(sl_mlp_last_path(m), SL_MLP_PATH_SGEMM);
  /* switching paths needs a new forward before a backward */
  SL_ASSERT_OK(sl_mlp_set_path(m, SL_MLP_PATH_TABLE));
  CU_ASSERT_EQUAL(sl_model_backward(m, tok, 5), SL_ERR_STATE);
  sl_error_clear();
  /* a token outside [0, V) is refused, not read out of bounds */
  int32_t bad[9 * 4];
  memcpy(bad, tok, sizeof bad);
  bad[4 * 4 + 2] = (int32_t)V;
  CU_ASSERT_EQUAL(sl_model_forward(m, bad, B, &loss), SL_ERR_ARG);
  CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), "outside"));
  sl_error_clear();
  sl_model_destroy(m);

  /* 3. V >= spec.B: no tables are allocated and forcing the table path is an error. */
  const sl_model_spec big_v = {
      .family = SL_MODEL_MLP, .V = 7, .T = 3, .B = 6, .C = 3, .H = 5, .n_layer = 1};
  SL_ASSERT_OK(sl_model_create(&big_v, &m));
  CU_ASSERT_EQUAL(sl_mlp_set_path(m, SL_MLP_PATH_TABLE), SL_ERR_ARG);
  sl_error_clear();
  /* memory accounting: the tables [T x V x H] count only when they exist */
  /* (the largest operand sl_gemm packs for this shape is W1 [T C x H] = [9 x 5]) */
  CU_ASSERT_EQUAL(sl_mlp_ops.activation_floats(&big_v),
                  2 * 6 * 3 * 3 + 2 * 6 * 5 + 2 * 6 * 7 + sl_gemm_work_floats(9, 5));
  CU_ASSERT_TRUE(sl_mlp_ops.activation_floats(&spec) >=
                 2 * 9 * T * C + 2 * 9 * H + 2 * 9 * V + T * V * H);
  sl_model_destroy(m);

  /* 4. The benchmark's model (V 256, T 8, C 32, H 256, B 512) from its init, one batch. */
  const sl_model_spec bench = {
      .family = SL_MODEL_MLP, .V = 256, .T = 8, .B = 512, .C = 32, .H = 256, .n_layer = 1};
  SL_ASSERT_OK(sl_model_create(&bench, &m));
  SL_ASSERT_OK(sl_model_init(m, &r));
  int32_t *btok = malloc(512 * 9 * sizeof *btok);
  fill_tokens(btok, 512 * 9, 256, &r);
  check_paths_equal(m, btok, 512, 1e-3, "bench model");
  free(btok);
  sl_model_destroy(m);
  free(g), free(pd), free(fd);
}

static void test_probs_and_errors(void) {
  const sl_model_spec spec = {
      .family = SL_MODEL_MLP, .V = 13, .T = 4, .B = 8, .C = 5, .H = 9, .n_layer = 1};
  sl_model *m = NULL;
  SL_ASSERT_OK(sl_model_create(&spec, &m));
  CU_ASSERT_EQUAL(m->targets_per_row, 1);
  sl_rng r;
  sl_rng_stream(&r, 1, 2, "init");
  SL_ASSERT_OK(sl_model_init(m, &r));
  int32_t tok[8 * 5];
  fill_tokens(tok, 8 * 5, 13, &r);
  float loss;
  SL_ASSERT_OK(sl_model_forward(m, tok, 8, &loss));
  double worst = 0;
  int in_range = 1;
  for (size_t b = 0; b < 8; b++) {
    double s = 0;
    for (size_t v = 0; v < 13; v++) {
      float p = m->probs[b * 13 + v];
      in_range &= p >= 0.0f && p <= 1.0f;
      s += p;
    }
    worst = fmax(worst, fabs(s - 1.0));
  }
  printf("\n  probs: max |row sum - 1| = %.2e; initial loss %.4f vs ln V = %.4f", worst,
         (double)loss, log(13.0));
  CU_ASSERT_TRUE(in_range);
  CU_ASSERT_TRUE(worst < 1e-5);
  /* The init keeps the logits small, so the first loss is close to ln V. */
  CU_ASSERT_TRUE(fabs(loss - log(13.0)) < 0.1);

  /* The same stream gives the same init; biases start at zero; decay is off on them only. */
  float *p1 = malloc(m->n_params * sizeof *p1);
  memcpy(p1, m->params, m->n_params * sizeof *p1);
  sl_rng_stream(&r, 1, 2, "init");
  SL_ASSERT_OK(sl_model_init(m, &r));
  CU_ASSERT_EQUAL(memcmp(p1, m->params, m->n_params * sizeof *p1), 0);
  free(p1);
  const size_t V = 13, T = 4, C = 5, H = 9;
  const size_t b1 = V * C + T * C * H, b2 = b1 + H + H * V;
  size_t decayed = 0, zero_bias = 0;
  for (size_t i = 0; i < m->n_params; i++) {
    int is_bias = (i >= b1 && i < b1 + H) || i >= b2;
    decayed += m->decay[i];
    CU_ASSERT_EQUAL(m->decay[i], is_bias ? 0 : 1);
    zero_bias += is_bias && m->params[i] == 0.0f;
  }
  CU_ASSERT_EQUAL(decayed, m->n_params - H - V);
  CU_ASSERT_EQUAL(zero_bias, H + V);

  /* Errors: too many rows, a token outside the vocabulary, backward on another batch size. */
  CU_ASSERT_EQUAL(sl_model_forward(m, tok, 9, &loss), SL_ERR_ARG);
  tok[7] = 13;
  CU_ASSERT_EQUAL(sl_model_forward(m, tok, 8, &loss), SL_ERR_ARG);
  CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), "vocabulary"));
  tok[7] = 0;
  SL_ASSERT_OK(sl_model_forward(m, tok, 8, &loss));
  CU_ASSERT_EQUAL(sl_model_backward(m, tok, 4), SL_ERR_STATE);
  sl_error_clear();
  sl_model_destroy(m);

  sl_model_spec incomplete = {.family = SL_MODEL_MLP, .V = 13, .T = 4, .B = 8};
  CU_ASSERT_EQUAL(sl_model_create(&incomplete, &m), SL_ERR_CONFIG);
  CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), "sl_model_shape_from_target"));
  sl_error_clear();
}

/* ---------------------------------------------------------------- shape rule */

static void test_shape_from_target(void) {
  const double targets[] = {1e3, 2e3, 5e3, 1e4, 3e4, 1e5, 3e5, 1e6};
  printf("\n  V=32 T=8:");
  for (size_t k = 0; k < sizeof targets / sizeof targets[0]; k++) {
    sl_model_spec s = {.family = SL_MODEL_MLP, .V = 32, .T = 8, .B = 2};
    SL_ASSERT_OK(sl_model_shape_from_target(&s, targets[k]));
    CU_ASSERT_EQUAL(s.n_layer, 1);
    sl_model *m = NULL;
    SL_ASSERT_OK(sl_model_create(&s, &m));
    const size_t V = 32, T = 8, C = (size_t)s.C, H = (size_t)s.H;
    const size_t exact = V * C + T * C * H + H + H * V + V;
    size_t no_embed = 0;
    CU_ASSERT_EQUAL(sl_model_param_count(&s, &no_embed), exact);
    CU_ASSERT_EQUAL(m->n_params, exact);
    CU_ASSERT_EQUAL(m->n_params_no_embed, exact - V * C);
    CU_ASSERT_EQUAL(no_embed, exact - V * C);
    CU_ASSERT_DOUBLE_EQUAL(m->flops_per_token, 6.0 * (double)(exact - V * C), 1e-6);
    const double rel = fabs((double)exact - targets[k]) / targets[k];
    printf("\n    target %8.0f -> C=%2d H=%5d N=%8zu (%+.2f%%)", targets[k], s.C, s.H, exact,
           100.0 * ((double)exact - targets[k]) / targets[k]);
    CU_ASSERT_TRUE(rel < 0.03);
    /* The closest H: one more or one less hidden unit is no closer. */
    const double per_h = (double)(T * C + 1 + V);
    CU_ASSERT_TRUE(fabs((double)exact - targets[k]) <= per_h / 2 + 1e-9);
    sl_model_destroy(m);
  }
  /* Fields already set are kept. */
  sl_model_spec s = {.family = SL_MODEL_MLP, .V = 32, .T = 8, .B = 2, .C = 10};
  SL_ASSERT_OK(sl_model_shape_from_target(&s, 5e4));
  CU_ASSERT_EQUAL(s.C, 10);
  int h = s.H;
  SL_ASSERT_OK(sl_model_shape_from_target(&s, 1e6));
  CU_ASSERT_EQUAL(s.H, h);
  sl_model_spec deep = {.family = SL_MODEL_MLP, .V = 32, .T = 8, .B = 2, .n_layer = 2};
  CU_ASSERT_EQUAL(sl_model_shape_from_target(&deep, 1e4), SL_ERR_CONFIG);
  CU_ASSERT_EQUAL(sl_model_shape_from_target(&deep, NAN), SL_ERR_ARG);
  sl_error_clear();
}

/* ---------------------------------------------------------------- PyTorch golden fixtures */

static int read_raw(const char *name, void *buf, size_t size, size_t count) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", SLINGSHOT_TEST_DATA, name);
  FILE *f = fopen(path, "rb");
  SL_CHECK(f != NULL, SL_ERR_IO,
           "cannot open fixture %s (regenerate with "
           "tests/reference/make_fixtures_mlp.py)",
           path);
  size_t got = fread(buf, size, count, f);
  int extra = fgetc(f) != EOF;
  fclose(f);
  SL_CHECK(got == count && !extra, SL_ERR_FORMAT, "fixture %s: expected exactly %zu items of %zu B",
           path, count, size);
  return SL_OK;
}

typedef struct golden_meta {
  int V, T, C, H, B, N, steps;
  double lr, beta1, beta2, eps, wd, loss, step_loss[16];
} golden_meta;

static int read_meta(golden_meta *g) {
  char path[1024], key[64];
  snprintf(path, sizeof path, "%s/mlp_meta.txt", SLINGSHOT_TEST_DATA);
  FILE *f = fopen(path, "r");
  SL_CHECK(f != NULL, SL_ERR_IO, "cannot open fixture %s", path);
  memset(g, 0, sizeof *g);
  int n_keys = 0;
  char line[256];
  while (fgets(line, sizeof line, f)) {
    double val;
    int k;
    if (line[0] == '#' || sscanf(line, "%63s %lf", key, &val) != 2) continue;
    n_keys++;
    if (!strcmp(key, "V"))
      g->V = (int)val;
    else if (!strcmp(key, "T"))
      g->T = (int)val;
    else if (!strcmp(key, "C"))
      g->C = (int)val;
    else if (!strcmp(key, "H"))
      g->H = (int)val;
    else if (!strcmp(key, "B"))
      g->B = (int)val;
    else if (!strcmp(key, "N"))
      g->N = (int)val;
    else if (!strcmp(key, "steps"))
      g->steps = (int)val;
    else if (!strcmp(key, "lr"))
      g->lr = val;
    else if (!strcmp(key, "beta1"))
      g->beta1 = val;
    else if (!strcmp(key, "beta2"))
      g->beta2 = val;
    else if (!strcmp(key, "eps"))
      g->eps = val;
    else if (!strcmp(key, "weight_decay"))
      g->wd = val;
    else if (!strcmp(key, "loss"))
      g->loss = val;
    else if (sscanf(key, "step_loss_%d", &k) == 1 && k >= 0 && k < 16)
      g->step_loss[k] = val;
    else
      n_keys--;
  }
  fclose(f);
  SL_CHECK(n_keys == 13 + g->steps && g->steps > 0 && g->steps <= 16, SL_ERR_FORMAT,
           "fixture %s: %d known keys, expected %d", path, n_keys, 13 + g->steps);
  return SL_OK;
}

static void test_golden_torch(void) {
  golden_meta g;
  SL_ASSERT_OK(read_meta(&g));
  const sl_model_spec spec = {
      .family = SL_MODEL_MLP, .V = g.V, .T = g.T, .B = g.B, .C = g.C, .H = g.H, .n_layer = 1};
  sl_model *m = NULL;
  SL_ASSERT_OK(sl_model_create(&spec, &m));
  const size_t N = m->n_params, BV = (size_t)g.B * (size_t)g.V;
  CU_ASSERT_EQUAL_FATAL(N, (size_t)g.N);
  int32_t *tok = malloc((size_t)g.B * (size_t)(g.T + 1) * sizeof *tok);
  float *grads = malloc(N * sizeof *grads), *after = malloc(N * sizeof *after);
  float *probs = malloc(BV * sizeof *probs);
  SL_ASSERT_OK(read_raw("mlp_tokens.i32", tok, sizeof *tok, (size_t)g.B * (size_t)(g.T + 1)));
  SL_ASSERT_OK(read_raw("mlp_params.f32", m->params, sizeof *m->params, N));
  SL_ASSERT_OK(read_raw("mlp_grads.f32", grads, sizeof *grads, N));
  SL_ASSERT_OK(read_raw("mlp_probs.f32", probs, sizeof *probs, BV));
  SL_ASSERT_OK(read_raw("mlp_params_after.f32", after, sizeof *after, N));

  float loss = 0;
  SL_ASSERT_OK(sl_model_forward(m, tok, g.B, &loss));
  SL_ASSERT_OK(sl_model_backward(m, tok, g.B));
  double dl = fabs(loss - g.loss) / g.loss, dp, refp, dg, refg;
  max_diff(m->probs, probs, BV, &dp, &refp);
  max_diff(m->grads, grads, N, &dg, &refg);
  /* per-element relative difference, floored at 1e-3 of the largest gradient */
  double max_rel = 0;
  for (size_t i = 0; i < N; i++)
    max_rel = fmax(max_rel, fabs((double)m->grads[i] - grads[i]) /
                                fmax(fabs((double)grads[i]), 1e-3 * refg));
  printf("\n  torch: loss %.9f vs %.9f (rel %.2e); probs max |diff| %.2e; grads max |diff| %.2e "
         "(%.2e of max |grad|), max element rel %.2e",
         (double)loss, g.loss, dl, dp, dg, dg / refg, max_rel);
  CU_ASSERT_TRUE(dl < 1e-5);
  CU_ASSERT_TRUE(dp < 1e-5);
  CU_ASSERT_TRUE(dg < 1e-5 * refg);
  CU_ASSERT_TRUE(max_rel < 1e-4);

  /* 10 AdamW steps on the same batch, decay on the model's mask (emb, W1, W2 as in the fixture's
   * parameter groups). */
  sl_optim_spec os = {.kind = SL_OPTIM_ADAMW,
                      .beta1 = g.beta1,
                      .beta2 = g.beta2,
                      .eps = g.eps,
                      .weight_decay = g.wd};
  sl_optim *o = NULL;
  SL_ASSERT_OK(sl_optim_create(&os, N, &o));
  double worst_step = 0;
  for (int k = 0; k < g.steps; k++) {
    SL_ASSERT_OK(sl_model_forward(m, tok, g.B, &loss));
    worst_step = fmax(worst_step, fabs(loss - g.step_loss[k]) / g.step_loss[k]);
    SL_ASSERT_OK(sl_model_backward(m, tok, g.B));
    SL_ASSERT_OK(sl_optim_step(o, m->params, m->grads, m->decay, g.lr));
  }
  double dpar, refpar;
  max_diff(m->params, after, N, &dpar, &refpar);
  printf("\n  torch AdamW x%d: max step-loss rel diff %.2e (last %.6f vs %.6f); params after: max "
         "|diff| %.2e",
         g.steps, worst_step, (double)loss, g.step_loss[g.steps - 1], dpar);
  CU_ASSERT_TRUE(worst_step < 1e-4);
  CU_ASSERT_TRUE(dpar < 1e-4 * refpar);
  CU_ASSERT_TRUE(g.step_loss[g.steps - 1] < g.step_loss[0]); /* the fixture does train */
  sl_optim_destroy(o);
  free(tok), free(grads), free(after), free(probs);
  sl_model_destroy(m);
}

/* The matmul tally of one step: the table path runs 3 products per position on the n_t tokens
 * present there (tables, their weight and embedding gradients) and 3 at the output layer; the
 * sgemm path runs 3 per layer over all B rows. */
static void test_tally(void) {
  const sl_model_spec spec = {
      .family = SL_MODEL_MLP, .V = 13, .T = 4, .B = 40, .C = 5, .H = 9, .n_layer = 1};
  const size_t V = 13, T = 4, C = 5, H = 9, B = 40;
  sl_model *m = NULL;
  SL_ASSERT_OK(sl_model_create(&spec, &m));
  sl_rng r;
  sl_rng_seed(&r, 8);
  SL_ASSERT_OK(sl_model_init(m, &r));
  int32_t tok[40 * 5];
  fill_tokens(tok, B * (T + 1), (int)V, &r);
  double present = 0; /* sum over positions of the distinct tokens there */
  for (size_t t = 0; t < T; t++) {
    int seen[13] = {0};
    for (size_t b = 0; b < B; b++)
      seen[tok[b * (T + 1) + t]] = 1;
    for (size_t v = 0; v < V; v++)
      present += seen[v];
  }
  float loss;
  sl_mm_tally_start();
  SL_ASSERT_OK(sl_model_forward(m, tok, (int)B, &loss));
  SL_ASSERT_OK(sl_model_backward(m, tok, (int)B));
  sl_mm_tally t = sl_mm_tally_stop();
  CU_ASSERT_EQUAL(sl_mlp_last_path(m), SL_MLP_PATH_TABLE);
  CU_ASSERT_EQUAL(t.calls, (long)(3 * T + 3));
  CU_ASSERT_DOUBLE_EQUAL(t.flops, 2.0 * (3.0 * B * H * V + 3.0 * present * C * H), 0.5);
  printf("\n  table path: %ld products, %.0f FLOPs (%.0f tokens present over %zu positions)",
         t.calls, t.flops, present, T);
  SL_ASSERT_OK(sl_mlp_set_path(m, SL_MLP_PATH_SGEMM));
  sl_mm_tally_start();
  SL_ASSERT_OK(sl_model_forward(m, tok, (int)B, &loss));
  SL_ASSERT_OK(sl_model_backward(m, tok, (int)B));
  t = sl_mm_tally_stop();
  CU_ASSERT_EQUAL(t.calls, 6);
  CU_ASSERT_DOUBLE_EQUAL(t.flops, 2.0 * 3.0 * (B * T * C * H + B * H * V), 0.5);
  sl_model_destroy(m);
}

int main(int argc, char **argv) {
  static const sl_test tests[] = {
      {"family table", test_family},
      {"matmul naive == BLAS", test_matmul_naive_equals_blas},
      {"layer gradients vs finite differences", test_layer_gradients},
      {"model gradients vs finite differences", test_model_gradients},
      {"table path == sgemm path == reference", test_table_path},
      {"probs, init, decay mask, errors", test_probs_and_errors},
      {"shape from target", test_shape_from_target},
      {"PyTorch golden fixtures", test_golden_torch},
      {"matmul tally of a step", test_tally},
      {NULL, NULL},
  };
  return sl_test_main(argc, argv, "mlp", tests);
}
