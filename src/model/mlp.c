/* The MLP language model (Bengio et al. 2003, without the direct connections): the T context
 * tokens are embedded, concatenated, passed through one tanh hidden layer and a linear output
 * layer, and the last token of the row is predicted.
 *
 * Legend: B batch, T context, C channels (embedding width per token), H hidden, V vocabulary,
 * N params.
 *
 *   x      = concat_t emb[row[t]]         [B x T*C]   embedding  emb [V x C]
 *   h      = tanh(x . W1 + b1)            [B x H]     hidden     W1 [T*C x H], b1 [H]
 *   logits = h . W2 + b2                  [B x V]     output     W2 [H x V],   b2 [V]
 *   loss   = mean_b -log softmax(logits)[row[T]]
 *
 * Parameters, in this order in the flat buffer: emb, W1, b1, W2, b2, so
 *   N = V*C + T*C*H + H + H*V + V,   N_no_embed = N - V*C.
 * Groups: emb is an embedding, W1 and W2 matrices, b1 and b2 biases (by default weight decay
 * applies to the embedding and the matrices).
 *
 * The first layer has two exact implementations (same model, same math, different summation
 * order). Write W1_t [C x H] for the rows t*C .. t*C+C-1 of W1 (the block of position t).
 *   sgemm path: x . W1 as one [B x T*C] . [T*C x H] sgemm; backward dx = dh . W1^T, dW1 = x^T . dh,
 *               then demb scattered from dx: 3 B T C H multiply-adds per step.
 *   table path: Tab_t = emb . W1_t [V x H] for each t (T sgemms V x C x H), then
 *               pre[b] = b1 + sum_t Tab_t[row_b[t]] (gathers and adds). Backward scatters dh into
 *               G_t [V x H] (G_t[v] = sum of dh_b over the rows with row_b[t] = v), then
 *               dW1_t = emb^T . G_t and demb += sum_t G_t . W1_t^T: 3 T V C H multiply-adds
 *               plus 2 B T H adds.
 *               Only the rows of tokens that occur at position t in the batch are needed, so the
 *               tables hold just those, in order of first occurrence (row k of Tab_t is token
 *               tv[t][k]; slot[t][v] maps back): n_t <= min(V, B) rows each. Uniform tokens with
 *               V = 256, B = 512 leave 1 - e^-2 = 86% of them; a skewed language far fewer.
 * The table path is cheaper exactly when V < B (rows of the call), and is chosen then when the
 * tables exist (allocated in setup iff V < spec.B); sl_mlp_set_path can force either for tests.
 * Tab and G share one [T x V x H] buffer: the forward's tables are dead once h is computed. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_impl.h"
#include "slingshot/error.h"
#include "slingshot/model.h"

typedef struct mlp {
  size_t V, T, C, H, B;
  /* views into m->params and the parallel m->grads */
  float *emb, *w1, *b1, *w2, *b2;
  float *demb, *dw1, *db1, *dw2, *db2;
  /* activations for up to B rows, allocated once in setup */
  float *x;      /* [B x T*C] concatenated context embeddings */
  float *h;      /* [B x H] hidden activations after tanh */
  float *logits; /* [B x V] */
  float *dlogits, *dh, *dx;
  float *tab;    /* [T x V x H] Tab_t in the forward, G_t in the backward; NULL unless V < spec.B */
  int32_t *slot; /* [T x V] row of token v in Tab_t / G_t, -1 if absent; with tab */
  int32_t *tv;   /* [T x V] token of row k of Tab_t; with tab */
  size_t *nrows; /* [T] rows n_t of Tab_t; with tab */
  float *embt;   /* [T x V x C] emb rows of Tab_t's tokens (A of Tab_t = E_t . W1_t); with tab */
  float *dembt;  /* [V x C] G_t . W1_t^T, before its rows are added to demb; with tab */
  size_t *next;  /* [T] the backward scatter's next new row per position; with tab */
  float *dw1t;   /* [H x C] dW1_t^T of the table path's backward; with tab */
  float *work;   /* sl_gemm's packed operand, for the largest product below */
  sl_mlp_path force;     /* SL_MLP_PATH_AUTO unless a test forces a path */
  sl_mlp_path last_path; /* path of the last forward; backward follows it */
  int last_B; /* rows of the last forward (0: none yet); backward must use the same batch */
} mlp;

/* ---------------------------------------------------------------- layers */

int sl_mlp_embed_forward(float *x, const int32_t *tokens, const float *emb, size_t B, size_t T,
                         size_t C) {
  for (size_t b = 0; b < B; b++)
    for (size_t t = 0; t < T; t++) {
      const float *e = emb + (size_t)tokens[b * (T + 1) + t] * C;
      memcpy(x + b * T * C + t * C, e, C * sizeof *x);
    }
  return SL_OK;
}

int sl_mlp_embed_backward(float *demb, const float *dx, const int32_t *tokens, size_t B, size_t T,
                          size_t C) {
  /* forward: x[b, t*C + c] = emb[tokens[b*(T+1) + t], c] */
  for (size_t b = 0; b < B; b++)
    for (size_t t = 0; t < T; t++) {
      float *de = demb + (size_t)tokens[b * (T + 1) + t] * C;
      const float *d = dx + b * T * C + t * C;
      for (size_t c = 0; c < C; c++)
        de[c] += d[c];
    }
  return SL_OK;
}

SL_VEC int sl_tanh_forward(float *out, const float *inp, size_t n) {
  for (size_t i = 0; i < n; i++)
    out[i] = sl_tanhf_fast(inp[i]);
  return SL_OK;
}

SL_VEC int sl_tanh_backward(float *dinp, const float *dout, const float *out, size_t n) {
  /* forward: out[i] = tanhf(inp[i]);  tanh' = 1 - tanh^2, read from the stored output */
  for (size_t i = 0; i < n; i++)
    dinp[i] = dout[i] * (1.0f - out[i] * out[i]);
  return SL_OK;
}

/* ---------------------------------------------------------------- shape */

static size_t mlp_param_count(const sl_model_spec *s, size_t *no_embed) {
  if (no_embed) *no_embed = 0;
  if (s->V <= 0 || s->T <= 0 || s->C <= 0 || s->H <= 0 || s->n_layer != 1) return 0;
  size_t V = (size_t)s->V, T = (size_t)s->T, C = (size_t)s->C, H = (size_t)s->H;
  size_t embed = V * C;
  size_t total = embed + T * C * H + H + H * V + V;
  if (no_embed) *no_embed = total - embed;
  return total;
}

/* The shape rule:
 *   n_layer = 1 (the only depth implemented);
 *   C = clamp(round(sqrt(target) / 8), 4, 64) when 0 — the embedding grows slowly with N so that
 *       most parameters sit in the hidden layer, as in a Kaplan-style sweep;
 *   H = max(4, round((target - V*C - V) / (T*C + 1 + V))) when 0 — the exact count is linear in H,
 *       so rounding gives the H whose count is closest to target (within (T*C + 1 + V)/2 of it,
 *       unless the floor of 4 binds: then the target is below the smallest model for V, T).
 * Fields already set are kept. */
static int mlp_shape_from_target(sl_model_spec *s, double target) {
  if (s->n_layer == 0) s->n_layer = 1;
  SL_CHECK(s->n_layer == 1, SL_ERR_CONFIG,
           "the MLP has exactly one hidden layer; set n_layer = 1 (or 0), not %d", s->n_layer);
  if (s->C == 0) {
    double c = round(sqrt(target) / 8.0);
    s->C = (int)(c < 4 ? 4 : c > 64 ? 64 : c);
  }
  SL_CHECK(s->C > 0, SL_ERR_CONFIG, "MLP C must be positive, got %d", s->C);
  if (s->H == 0) {
    double V = s->V, T = s->T, C = s->C;
    double h = round((target - V * C - V) / (T * C + 1.0 + V));
    if (h < 4) h = 4;
    SL_CHECK(h <= INT_MAX / 4, SL_ERR_CONFIG,
             "target N=%g needs a hidden width H=%g that is too big", target, h);
    s->H = (int)h;
  }
  SL_CHECK(s->H > 0, SL_ERR_CONFIG, "MLP H must be positive, got %d", s->H);
  return SL_OK;
}

static double mlp_flops_per_token(const sl_model_spec *s) {
  /* 6 N_no_embed: 2 per weight in the forward matmuls, 4 in the backward (Kaplan et al. 2020,
   * sec. 2.1). The embedding is a table lookup, not a matmul, so it is excluded; the biases are
   * counted as if they were weights (an overcount of about 1/(T*C) + 1/H) and the tanh and the
   * softmax are not counted, as in Kaplan's convention. */
  size_t no_embed = 0;
  mlp_param_count(s, &no_embed);
  return 6.0 * (double)no_embed;
}

/* ---------------------------------------------------------------- lifecycle */

static void mlp_teardown(sl_model *m) {
  mlp *p = m->impl;
  if (!p) return;
  free(p->x);
  free(p->h);
  free(p->logits);
  free(p->dlogits);
  free(p->dh);
  free(p->dx);
  free(p->tab);
  free(p->slot);
  free(p->tv);
  free(p->nrows);
  free(p->embt);
  free(p->dembt);
  free(p->next);
  free(p->dw1t);
  free(p->work);
  free(p);
  m->impl = NULL;
}

/* sl_gemm packs op(B) [K x N] of each product: the largest of x.W1 (T C x H), dx = dh.W1^T
 * (H x T C), Tab_t = emb.W1_t (C x H), dW1_t^T = G_t^T.emb (V x C), demb += G_t.W1_t^T (H x C),
 * h.W2 (H x V), dh = dlogits.W2^T (V x H). */
static size_t mlp_work_floats(size_t V, size_t T, size_t C, size_t H) {
  const size_t kn[7][2] = {{T * C, H}, {H, T * C}, {C, H}, {V, C}, {H, C}, {H, V}, {V, H}};
  size_t work = 0;
  for (size_t k = 0; k < 7; k++) {
    const size_t w = sl_gemm_work_floats(kn[k][0], kn[k][1]);
    work = w > work ? w : work;
  }
  return work;
}

static int mlp_setup(sl_model *m) {
  const sl_model_spec *s = &m->spec;
  SL_CHECK((size_t)s->T * (size_t)s->C <= INT_MAX && s->H > 0 && s->V > 0 && s->B > 0,
           SL_ERR_CONFIG, "MLP sizes T*C=%zu, H=%d, V=%d do not fit BLAS's int",
           (size_t)s->T * (size_t)s->C, s->H, s->V);
  mlp *p = NULL;
  SL_ALLOC(p, 1);
  m->impl = p; /* from here teardown frees whatever was allocated */
  p->V = (size_t)s->V;
  p->T = (size_t)s->T;
  p->C = (size_t)s->C;
  p->H = (size_t)s->H;
  p->B = (size_t)s->B;
  const size_t V = p->V, T = p->T, C = p->C, H = p->H, B = p->B;

  /* Views: emb, W1, b1, W2, b2 in this order (the checkpoint and the fixtures rely on it). */
  const size_t sizes[5] = {V * C, T * C * H, H, H * V, V};
  float **views[5] = {&p->emb, &p->w1, &p->b1, &p->w2, &p->b2};
  float **gviews[5] = {&p->demb, &p->dw1, &p->db1, &p->dw2, &p->db2};
  const uint8_t groups[5] = {SL_PARAM_EMBED, SL_PARAM_MATRIX, SL_PARAM_BIAS, SL_PARAM_MATRIX,
                             SL_PARAM_BIAS};
  size_t off = 0;
  for (size_t k = 0; k < 5; k++) {
    *views[k] = m->params + off;
    *gviews[k] = m->grads + off;
    memset(m->group + off, groups[k], sizes[k]);
    off += sizes[k];
  }
  SL_CHECK(off == m->n_params, SL_ERR_INTERNAL, "MLP views cover %zu of %zu parameters", off,
           m->n_params);

  SL_ALLOC(p->x, B * T * C);
  SL_ALLOC(p->h, B * H);
  SL_ALLOC(p->logits, B * V);
  SL_ALLOC(p->dlogits, B * V);
  SL_ALLOC(p->dh, B * H);
  SL_ALLOC(p->dx, B * T * C);
  if (V < B) {
    SL_CHECK(V * H <= INT_MAX, SL_ERR_CONFIG, "MLP sizes V=%zu, H=%zu do not fit BLAS's int", V, H);
    SL_ALLOC(p->tab, T * V * H);
    SL_ALLOC(p->slot, T * V);
    SL_ALLOC(p->tv, T * V);
    SL_ALLOC(p->nrows, T);
    SL_ALLOC(p->embt, T * V * C);
    SL_ALLOC(p->dembt, V * C);
    SL_ALLOC(p->next, T);
    SL_ALLOC(p->dw1t, H * C);
  }
  SL_ALLOC(p->work, mlp_work_floats(V, T, C, H));
  m->targets_per_row = 1;
  return SL_OK;
}

/* Init:
 *   emb ~ N(0, 1): the embeddings are the layer's inputs, so unit scale;
 *   W1  ~ N(0, 1/(T*C)): fan-in scaling keeps the tanh pre-activations O(1) (LeCun);
 *   W2  ~ N(0, (0.1)^2/H): the initial logits have std <~ 0.1, so the first loss is ~ ln V;
 *   b1 = b2 = 0.
 * Drawn in buffer order from rng, so a model's init depends on the stream only. */
static int mlp_init(sl_model *m, sl_rng *rng) {
  mlp *p = m->impl;
  memset(m->params, 0, m->n_params * sizeof *m->params);
  SL_CALL(sl_init_normal(p->emb, p->V * p->C, 1.0, rng));
  SL_CALL(sl_init_normal(p->w1, p->T * p->C * p->H, 1.0 / sqrt((double)(p->T * p->C)), rng));
  SL_CALL(sl_init_normal(p->w2, p->H * p->V, 0.1 / sqrt((double)p->H), rng));
  p->last_B = 0;
  return SL_OK;
}

/* ---------------------------------------------------------------- forward / backward */

int sl_mlp_set_path(sl_model *m, sl_mlp_path path) {
  SL_CHECK(m && m->ops == &sl_mlp_ops, SL_ERR_ARG, "sl_mlp_set_path needs an MLP model");
  mlp *p = m->impl;
  SL_CHECK(path != SL_MLP_PATH_TABLE || p->tab, SL_ERR_ARG,
           "the MLP table path needs V < B (V=%zu, B=%zu): no tables were allocated", p->V, p->B);
  p->force = path;
  p->last_B = 0; /* the next backward must follow a forward on the new path */
  return SL_OK;
}

sl_mlp_path sl_mlp_last_path(const sl_model *m) {
  const mlp *p = m->impl;
  return p->last_B ? p->last_path : SL_MLP_PATH_AUTO;
}

/* The rows of the tables: for each position t, the tokens that occur there in the batch, in order
 * of first occurrence (rows b ascending): slot[t][v] = k, tv[t][k] = v, nrows[t] = n_t, and
 * embt[t] [n_t x C] = their emb rows, the A operand of Tab_t = embt[t] . W1_t. */
static void mlp_table_rows(int32_t *restrict slot, int32_t *restrict tv, size_t *restrict nrows,
                           float *restrict embt, const float *restrict emb, const int32_t *tokens,
                           size_t B, size_t T, size_t V, size_t C) {
  for (size_t i = 0; i < T * V; i++)
    slot[i] = -1;
  for (size_t t = 0; t < T; t++)
    nrows[t] = 0;
  for (size_t b = 0; b < B; b++)
    for (size_t t = 0; t < T; t++) {
      const size_t v = (size_t)tokens[b * (T + 1) + t];
      if (slot[t * V + v] >= 0) continue;
      const size_t k = nrows[t]++;
      slot[t * V + v] = (int32_t)k;
      tv[t * V + k] = (int32_t)v;
      memcpy(embt + (t * V + k) * C, emb + v * C, C * sizeof *embt);
    }
}

/* The table path's forward of the first layer with the tanh:
 * h[b] = tanh(b1 + sum_t Tab_t[row_b[t]]), Tab_t at tab + t*V*H, token v in its row slot[t][v].
 * The tanh is applied while the row is in cache (the same sl_tanhf_fast as sl_tanh_forward). */
SL_VEC static void mlp_gather_tanh(float *restrict h, const float *restrict tab, const float *b1,
                                   const int32_t *slot, const int32_t *tokens, size_t B, size_t T,
                                   size_t V, size_t H) {
  for (size_t b = 0; b < B; b++) {
    float *restrict hb = h + b * H;
    const int32_t *row = tokens + b * (T + 1);
    memcpy(hb, b1, H * sizeof *hb);
    for (size_t t = 0; t < T; t++) {
      const float *restrict e = tab + (t * V + (size_t)slot[t * V + (size_t)row[t]]) * H;
      for (size_t j = 0; j < H; j++)
        hb[j] += e[j];
    }
    for (size_t j = 0; j < H; j++)
      hb[j] = sl_tanhf_fast(hb[j]);
  }
}

/* The table path's backward of the tanh and the scatter: with dpre_b = dh_b * (1 - h_b^2) (the
 * tanh backward, written back into dh), G_t[slot[t][v]] = sum of dpre_b over rows b with
 * row_b[t] = v, and db1 += sum_b dpre_b. Overwrites G_t's n_t rows with no clearing pass: rows are
 * numbered in order of first occurrence, so the first row b to reach G_t's row k finds
 * k == next[t] and copies, later ones add. next [T] is scratch. */
SL_VEC static void mlp_tanh_scatter(float *restrict g, size_t *restrict next, float *restrict db1,
                                    float *restrict dh, const float *restrict h,
                                    const int32_t *restrict slot, const int32_t *tokens, size_t B,
                                    size_t T, size_t V, size_t H) {
  for (size_t t = 0; t < T; t++)
    next[t] = 0;
  for (size_t b = 0; b < B; b++) {
    float *restrict d = dh + b * H;
    const float *restrict hb = h + b * H;
    const int32_t *row = tokens + b * (T + 1);
    for (size_t j = 0; j < H; j++) {
      d[j] *= 1.0f - hb[j] * hb[j];
      db1[j] += d[j];
    }
    for (size_t t = 0; t < T; t++) {
      const size_t k = (size_t)slot[t * V + (size_t)row[t]];
      float *restrict gv = g + (t * V + k) * H;
      if (k == next[t]) {
        memcpy(gv, d, H * sizeof *gv);
        next[t]++;
      } else {
        for (size_t j = 0; j < H; j++)
          gv[j] += d[j];
      }
    }
  }
}

/* Tokens index the tables directly, so they are checked first (the sgemm path's embedding
 * lookup would read out of bounds just the same; checking costs B*T compares). */
static int mlp_check_tokens(const int32_t *tokens, size_t B, size_t T, size_t V) {
  for (size_t b = 0; b < B; b++)
    for (size_t t = 0; t < T; t++) {
      int32_t v = tokens[b * (T + 1) + t];
      SL_CHECK(v >= 0 && (size_t)v < V, SL_ERR_ARG,
               "token %d at row %zu position %zu is outside [0, %zu)", (int)v, b, t, V);
    }
  return SL_OK;
}

static int mlp_forward(sl_model *m, const int32_t *tokens, int B_, float *loss) {
  mlp *p = m->impl;
  const size_t B = (size_t)B_, T = p->T, C = p->C, H = p->H, V = p->V;
  p->last_B = 0;
  sl_mlp_path path = p->force;
  if (path == SL_MLP_PATH_AUTO) path = p->tab && V < B ? SL_MLP_PATH_TABLE : SL_MLP_PATH_SGEMM;
  if (path == SL_MLP_PATH_TABLE) {
    SL_CALL(mlp_check_tokens(tokens, B, T, V));
    mlp_table_rows(p->slot, p->tv, p->nrows, p->embt, p->emb, tokens, B, T, V, C);
    for (size_t t = 0; t < T; t++) /* Tab_t [n_t x H] = embt[t] [n_t x C] . W1_t [C x H] */
      SL_CALL(sl_gemm(0, 0, p->nrows[t], H, C, p->embt + t * V * C, C, p->w1 + t * C * H, H, 0.0f,
                      NULL, p->tab + t * V * H, H, p->work));
    mlp_gather_tanh(p->h, p->tab, p->b1, p->slot, tokens, B, T, V, H);
  } else {
    SL_CALL(sl_mlp_embed_forward(p->x, tokens, p->emb, B, T, C));
    SL_CALL(sl_gemm(0, 0, B, H, T * C, p->x, T * C, p->w1, H, 0.0f, p->b1, p->h, H, p->work));
    SL_CALL(sl_tanh_forward(p->h, p->h, B * H));
  }
  SL_CALL(sl_gemm(0, 0, B, V, H, p->h, H, p->w2, V, 0.0f, p->b2, p->logits, V, p->work));
  double l = 0;
  SL_CALL(sl_xent_forward(m->probs, &l, p->logits, tokens + T, B, 1, T + 1, V));
  *loss = (float)l;
  p->last_path = path;
  p->last_B = B_;
  return SL_OK;
}

static int mlp_backward(sl_model *m, const int32_t *tokens, int B_) {
  mlp *p = m->impl;
  SL_CHECK(p->last_B == B_, SL_ERR_STATE,
           "MLP backward on %d rows after a forward on %d: call forward on the same batch first",
           B_, p->last_B);
  const size_t B = (size_t)B_, T = p->T, C = p->C, H = p->H, V = p->V;
  /* The parameter gradients accumulate, so they start from zero; dh and dx have one producer
   * each, which overwrites them (sl_matmul_backward_set). */
  memset(m->grads, 0, m->n_params * sizeof *m->grads);
  SL_CALL(sl_xent_backward(p->dlogits, m->probs, tokens + T, B, 1, T + 1, V));
  /* dh [B x H] = dlogits [B x V] . W2^T; then dW2 += h^T . dlogits and db2 through
   * sl_matmul_backward (cblas_sgemm: at this transposed, K = B shape OpenBLAS is the faster) */
  SL_CALL(sl_gemm(0, 1, B, H, V, p->dlogits, V, p->w2, V, 0.0f, NULL, p->dh, H, p->work));
  SL_CALL(sl_matmul_backward(NULL, p->dw2, p->db2, p->dlogits, p->h, p->w2, B, H, V, SL_W_IN_OUT));
  if (p->last_path == SL_MLP_PATH_TABLE) {
    mlp_tanh_scatter(p->tab, p->next, p->db1, p->dh, p->h, p->slot, tokens, B, T, V, H);
    for (size_t t = 0; t < T; t++) {
      const size_t n = p->nrows[t];
      const float *g = p->tab + t * V * H, *w = p->w1 + t * C * H, *e = p->embt + t * V * C;
      /* dW1_t [C x H] = embt[t]^T [C x n_t] . G_t [n_t x H], computed as its transpose
       * G_t^T [H x n_t] . embt[t] [n_t x C] (A read down its columns, the faster form), stored
       * back transposed; dW1 was zeroed above and each W1_t has this one producer */
      SL_CALL(sl_gemm(1, 0, H, C, n, g, H, e, C, 0.0f, NULL, p->dw1t, C, p->work));
      float *dw = p->dw1 + t * C * H;
      for (size_t j = 0; j < H; j++)
        for (size_t c = 0; c < C; c++)
          dw[c * H + j] = p->dw1t[j * C + c];
      /* demb[tv[t][k]] += (G_t [n_t x H] . W1_t^T [H x C])[k] */
      SL_CALL(sl_gemm(0, 1, n, C, H, g, H, w, H, 0.0f, NULL, p->dembt, C, p->work));
      for (size_t k = 0; k < n; k++) {
        float *de = p->demb + (size_t)p->tv[t * V + k] * C;
        const float *d = p->dembt + k * C;
        for (size_t c = 0; c < C; c++)
          de[c] += d[c];
      }
    }
    return SL_OK;
  }
  SL_CALL(sl_tanh_backward(p->dh, p->dh, p->h, B * H));
  /* dx [B x T C] = dh . W1^T; dW1 += x^T . dh and db1 as for W2 */
  SL_CALL(sl_gemm(0, 1, B, T * C, H, p->dh, H, p->w1, H, 0.0f, NULL, p->dx, T * C, p->work));
  SL_CALL(sl_matmul_backward(NULL, p->dw1, p->db1, p->dh, p->x, p->w1, B, T * C, H, SL_W_IN_OUT));
  SL_CALL(sl_mlp_embed_backward(p->demb, p->dx, tokens, B, T, C));
  return SL_OK;
}

/* x, dx [B x T C], h, dh [B x H], logits, dlogits [B x V], the tables [T x V x H] when V < B
 * and sl_gemm's work, as allocated in mlp_setup. */
static size_t mlp_activation_floats(const sl_model_spec *s) {
  const size_t B = (size_t)s->B, T = (size_t)s->T, C = (size_t)s->C, H = (size_t)s->H,
               V = (size_t)s->V;
  /* with the tables also: slot and tv (T*V int32 each), embt [T x V x C], dembt [V x C], dW1_t^T
   * [H x C], nrows and next (T size_t each, 2 floats); always sl_gemm's packed operand */
  const size_t tables = T * V * H + 2 * T * V + T * V * C + V * C + H * C + 4 * T;
  return 2 * B * T * C + 2 * B * H + 2 * B * V + (V < B ? tables : 0) + mlp_work_floats(V, T, C, H);
}

const sl_model_ops sl_mlp_ops = {
    .name = "mlp",
    .activation_floats = mlp_activation_floats,
    .param_count = mlp_param_count,
    .shape_from_target = mlp_shape_from_target,
    .flops_per_token = mlp_flops_per_token,
    .setup = mlp_setup,
    .init = mlp_init,
    .forward = mlp_forward,
    .backward = mlp_backward,
    .teardown = mlp_teardown,
};
