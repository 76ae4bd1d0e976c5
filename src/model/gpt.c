/* The GPT language model: a decoder-only transformer with pre-LayerNorm blocks (GPT-2's layout),
 * forward and backward in C. The linear layers' forward and input-gradient products go through
 * slingshot's own sgemm (sl_gemm, src/model/gemm.c; 4-9% faster steps than cblas_sgemm at the
 * bench `gpt` shape, measured alternating step by step in one process), the weight gradients
 * (K = B T) and the attention's small per-head products through cblas_sgemm.
 *
 * Legend: B batch, T context, C channels, V vocabulary, L layers, NH heads, hs = C / NH head size,
 * N params. A row of activations is one position: bt = b * T + t, BT = B * T rows.
 *
 *   x      = wte[row[t]] + wpe[t]                                  [BT x C]
 *   for each block:
 *     x    = x + proj(attn(qkv(LN1(x))))     causal multi-head self-attention
 *     x    = x + fcproj(gelu(fc(LN2(x))))    MLP of width 4C
 *   logits = LNf(x) . head^T                                       [BT x V]
 *   loss   = mean over the BT positions of -log softmax(logits)[row[t+1]]
 *
 * Flat parameter layout (m->params; m->grads is parallel), in this order:
 *   wte      [V x C]    token embedding; also the output head when spec.tied
 *   wpe      [T x C]    position embedding
 *   for each block l = 0 .. L-1, contiguous:
 *     ln1_g [C], ln1_b [C]
 *     qkv_w [3C x C], qkv_b [3C]   output rows 0..C-1 give q, C..2C-1 k, 2C..3C-1 v; head h
 *                                  owns channels h*hs .. h*hs+hs-1 of each
 *     proj_w [C x C], proj_b [C]
 *     ln2_g [C], ln2_b [C]
 *     fc_w [4C x C], fc_b [4C]
 *     fcproj_w [C x 4C], fcproj_b [C]
 *   lnf_g [C], lnf_b [C]
 *   head_w   [V x C]    only when untied
 * Every weight matrix is stored [out x in] (torch's nn.Linear), so y = x . W^T + b; the fixtures of
 * tests/reference/make_fixtures_gpt.py are written in this order.
 *
 *   N          = (V + T) C + L (12 C^2 + 13 C) + 2 C + (tied ? 0 : V C)
 *   N_no_embed = N - (V + T) C: the token and position tables are excluded (Kaplan et al. 2020);
 *                a tied head IS the token table, so it is excluded with it, while an untied head
 *                is a matmul like any other and counts as non-embedding.
 * Weight decay applies to wte, wpe, head_w and the four matmul weights of each block; not to the
 * LayerNorm gains and biases, nor to any bias. */
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_impl.h"
#include "slingshot/error.h"
#include "slingshot/model.h"

/* Same epsilon as torch.nn.LayerNorm, so the golden fixtures need no adjustment. */
#define GPT_LN_EPS 1e-5f

/* Causal self-attention, exported for tests/unit/test_gpt.c (which declares them; they could move
 * to model_impl.h). The contract of model_impl.h's kernels: forward overwrites y [BT x C] and
 * att [B x NH x T x T]; backward ACCUMULATES into dqkv [BT x 3C] and uses scratch [T x T]. */
int sl_gpt_attention_forward(float *y, float *att, const float *qkv, size_t B, size_t T, size_t C,
                             size_t NH);
int sl_gpt_attention_forward_naive(float *y, float *att, const float *qkv, size_t B, size_t T,
                                   size_t C, size_t NH);
int sl_gpt_attention_backward(float *dqkv, float *scratch, const float *dy, const float *att,
                              const float *qkv, size_t B, size_t T, size_t C, size_t NH);
int sl_gpt_attention_backward_naive(float *dqkv, float *scratch, const float *dy, const float *att,
                                    const float *qkv, size_t B, size_t T, size_t C, size_t NH);
/* The vector kernels (head size a multiple of 8), same contracts; scratch of
 * sl_gpt_attention_scratch_floats(T, C / NH) floats, for the forward too. */
size_t sl_gpt_attention_scratch_floats(size_t T, size_t hs);
int sl_gpt_attention_forward_vec(float *y, float *att, float *scratch, const float *qkv, size_t B,
                                 size_t T, size_t C, size_t NH);
int sl_gpt_attention_backward_vec(float *dqkv, float *scratch, const float *dy, const float *att,
                                  const float *qkv, size_t B, size_t T, size_t C, size_t NH);
/* The same backward, but overwriting dqkv (no zeroing pass before it) and adding dqkv's column
 * sums into dbias [3C] (the qkv bias gradient) unless dbias is NULL. */
int sl_gpt_attention_backward_vec_set(float *dqkv, float *dbias, float *scratch, const float *dy,
                                      const float *att, const float *qkv, size_t B, size_t T,
                                      size_t C, size_t NH);

/* Fused passes of the forward and backward, exported for tests/unit/test_gpt.c with their naive
 * references beside them.
 * out [n x cout] = res + bias + inp . W^T, W [cout x cin] (torch's layout): a residual branch's
 * output projection with the residual add folded into the seed of sgemm's output; through
 * sl_gemm, whose packed operand goes to work (sl_gemm_work_floats(cin, cout) floats). */
int sl_gpt_matmul_residual(float *out, const float *inp, const float *w, const float *bias,
                           const float *res, size_t n, size_t cin, size_t cout, float *work);
int sl_gpt_matmul_residual_naive(float *out, const float *inp, const float *w, const float *bias,
                                 const float *res, size_t n, size_t cin, size_t cout);
/* d [n x cols] *= dgelu (sl_gelu_backward) and dbias [cols] += the column sums of the product: the
 * GELU's backward and the bias gradient of the matmul that fed it, in one pass. */
int sl_gelu_backward_bias(float *restrict d, float *restrict dbias, const float *restrict dgelu,
                          size_t n, size_t cols);
int sl_gelu_backward_bias_naive(float *d, float *dbias, const float *dgelu, size_t n, size_t cols);

/* Named views of one block's tensors inside a flat buffer (params or grads). */
typedef struct gpt_block {
  float *ln1_g, *ln1_b, *qkv_w, *qkv_b, *proj_w, *proj_b;
  float *ln2_g, *ln2_b, *fc_w, *fc_b, *fcproj_w, *fcproj_b;
} gpt_block;

typedef struct gpt_views {
  float *wte, *wpe, *lnf_g, *lnf_b;
  float *head_w;    /* == wte when tied */
  gpt_block *block; /* [L] */
} gpt_views;

/* One block's cached activations, for up to spec.B rows. */
typedef struct gpt_acts {
  float *ln1, *ln1_mean, *ln1_rstd; /* [BT x C], [BT], [BT] */
  float *qkv;                       /* [BT x 3C] */
  float *att;                       /* [B x NH x T x T] softmax probabilities, 0 above diagonal */
  float *atty;                      /* [BT x C] heads' outputs side by side, before proj */
  float *res1;                      /* [BT x C] residual stream after the attention */
  float *ln2, *ln2_mean, *ln2_rstd; /* [BT x C], [BT], [BT] */
  float *fch, *fch_gelu; /* [BT x 4C] gelu'(fc output) (written by the GELU over its input) and
                            gelu(fc output) */
  float *res2;           /* [BT x C] residual stream after the MLP: the block output */
} gpt_acts;

typedef struct gpt {
  size_t V, T, C, L, NH, B;
  int tied;
  gpt_views w, g; /* views into m->params and m->grads */
  gpt_acts *acts; /* [L] */
  float *x0;      /* [BT x C] token + position embedding: the residual stream entering block 0 */
  float *lnf, *lnf_mean, *lnf_rstd; /* [BT x C], [BT], [BT] */
  float *logits;                    /* [BT x V] */
  /* backward scratch, reused by every block */
  float *dlogits; /* [BT x V] */
  float *dres;    /* [BT x C] gradient of the residual stream at the current depth */
  float *dln;     /* [BT x C] gradient of a LayerNorm output */
  float *datty;   /* [BT x C] */
  float *dqkv;    /* [BT x 3C] */
  float *dfch;    /* [BT x 4C] gradient of the MLP hidden layer, after then before the GELU */
  float *datt;  /* attention scratch (sl_gpt_attention_scratch_floats): score rows of one (b, h) */
  float *work;  /* sl_gemm's packed operand (gpt_gemm_work_floats) */
  float *arena; /* owns every activation above */
  int32_t *last_tokens; /* [B x (T+1)] the last forward's batch, which backward must repeat */
  int last_B;           /* rows of the last forward (0: none yet) */
} gpt;

/* ---------------------------------------------------------------- embedding */

static int gpt_embed_forward(float *x, const int32_t *tokens, const float *wte, const float *wpe,
                             size_t B, size_t T, size_t C) {
  for (size_t b = 0; b < B; b++)
    for (size_t t = 0; t < T; t++) {
      const float *e = wte + (size_t)tokens[b * (T + 1) + t] * C, *p = wpe + t * C;
      float *o = x + (b * T + t) * C;
      for (size_t c = 0; c < C; c++)
        o[c] = e[c] + p[c];
    }
  return SL_OK;
}

static int gpt_embed_backward(float *dwte, float *dwpe, const float *dx, const int32_t *tokens,
                              size_t B, size_t T, size_t C) {
  /* forward: o[c] = e[c] + p[c], e = wte[tokens[b*(T+1)+t]], p = wpe[t] */
  for (size_t b = 0; b < B; b++)
    for (size_t t = 0; t < T; t++) {
      float *de = dwte + (size_t)tokens[b * (T + 1) + t] * C, *dp = dwpe + t * C;
      const float *d = dx + (b * T + t) * C;
      for (size_t c = 0; c < C; c++) {
        de[c] += d[c];
        dp[c] += d[c];
      }
    }
  return SL_OK;
}

/* ---------------------------------------------------------------- LayerNorm */

/* The fast pair: float, two passes (mean, then the centred variance, so a large common offset
 * costs no precision), sums in SL_LANES lanes so that every loop vectorises. */
SL_VEC int sl_layernorm_forward(float *out, float *mean, float *rstd, const float *x,
                                const float *g, const float *b, size_t n, size_t C) {
  const float invc = 1.0f / (float)C;
  for (size_t r = 0; r < n; r++) {
    const float *xr = x + r * C;
    float acc[SL_LANES] = {0};
    size_t c = 0;
    for (; c + SL_LANES <= C; c += SL_LANES)
      for (size_t l = 0; l < SL_LANES; l++)
        acc[l] += xr[c + l];
    float s = 0.0f;
    for (; c < C; c++)
      s += xr[c];
    for (size_t l = 0; l < SL_LANES; l++)
      s += acc[l];
    const float m = s * invc;
    float vac[SL_LANES] = {0};
    for (c = 0; c + SL_LANES <= C; c += SL_LANES)
      for (size_t l = 0; l < SL_LANES; l++)
        vac[l] += (xr[c + l] - m) * (xr[c + l] - m);
    float v = 0.0f;
    for (; c < C; c++)
      v += (xr[c] - m) * (xr[c] - m);
    for (size_t l = 0; l < SL_LANES; l++)
      v += vac[l];
    const float rs = 1.0f / sqrtf(v * invc + GPT_LN_EPS);
    float *o = out + r * C;
    for (c = 0; c < C; c++)
      o[c] = (xr[c] - m) * rs * g[c] + b[c];
    mean[r] = m;
    rstd[r] = rs;
  }
  return SL_OK;
}

SL_VEC int sl_layernorm_backward(float *restrict dx, float *restrict dg, float *restrict db,
                                 const float *restrict dout, const float *restrict x,
                                 const float *restrict g, const float *restrict mean,
                                 const float *restrict rstd, size_t n, size_t C) {
  /* forward: o[c] = (xr[c] - m) * rs * g[c] + b[c]; see the naive kernel below */
  const float invc = 1.0f / (float)C;
  for (size_t r = 0; r < n; r++) {
    const float *xr = x + r * C, *dr = dout + r * C;
    const float m = mean[r], rs = rstd[r];
    float a1[SL_LANES] = {0}, a2[SL_LANES] = {0};
    size_t c = 0;
    for (; c + SL_LANES <= C; c += SL_LANES)
      for (size_t l = 0; l < SL_LANES; l++) {
        const float xhat = (xr[c + l] - m) * rs, dxhat = dr[c + l] * g[c + l];
        a1[l] += dxhat;
        a2[l] += dxhat * xhat;
      }
    float s1 = 0.0f, s2 = 0.0f;
    for (; c < C; c++) {
      const float xhat = (xr[c] - m) * rs, dxhat = dr[c] * g[c];
      s1 += dxhat;
      s2 += dxhat * xhat;
    }
    for (size_t l = 0; l < SL_LANES; l++) {
      s1 += a1[l];
      s2 += a2[l];
    }
    const float m1 = s1 * invc, m2 = s2 * invc;
    float *dxr = dx + r * C;
    for (c = 0; c < C; c++) {
      const float xhat = (xr[c] - m) * rs, dxhat = dr[c] * g[c];
      dg[c] += dr[c] * xhat;
      db[c] += dr[c];
      dxr[c] += rs * (dxhat - m1 - xhat * m2);
    }
  }
  return SL_OK;
}

/* The references: statistics in double, as the contract in model_impl.h reads. */
/* out = (x - mean) * rstd * g + b per row, rstd = 1 / sqrt(var + eps), var biased (as torch).
 * Statistics in double: rows can carry a large common offset from the residual stream. */
int sl_layernorm_forward_naive(float *out, float *mean, float *rstd, const float *x, const float *g,
                               const float *b, size_t n, size_t C) {
  for (size_t r = 0; r < n; r++) {
    const float *xr = x + r * C;
    double s = 0.0;
    for (size_t c = 0; c < C; c++)
      s += xr[c];
    const double mu = s / (double)C;
    double v = 0.0;
    for (size_t c = 0; c < C; c++)
      v += ((double)xr[c] - mu) * ((double)xr[c] - mu);
    const float rs = (float)(1.0 / sqrt(v / (double)C + (double)GPT_LN_EPS));
    const float m = (float)mu;
    float *o = out + r * C;
    for (size_t c = 0; c < C; c++)
      o[c] = (xr[c] - m) * rs * g[c] + b[c];
    mean[r] = m;
    rstd[r] = rs;
  }
  return SL_OK;
}

int sl_layernorm_backward_naive(float *dx, float *dg, float *db, const float *dout, const float *x,
                                const float *g, const float *mean, const float *rstd, size_t n,
                                size_t C) {
  /* forward: o[c] = (xr[c] - m) * rs * g[c] + b[c]
   * With xhat = (x - m) rs and dxhat = dout g, the mean and rstd depend on every x of the row:
   *   dx = rs (dxhat - mean(dxhat) - xhat mean(dxhat xhat)). Accumulates into dx, dg, db. */
  for (size_t r = 0; r < n; r++) {
    const float *xr = x + r * C, *dr = dout + r * C;
    const float m = mean[r], rs = rstd[r];
    double s1 = 0.0, s2 = 0.0;
    for (size_t c = 0; c < C; c++) {
      const float xhat = (xr[c] - m) * rs, dxhat = dr[c] * g[c];
      s1 += dxhat;
      s2 += (double)dxhat * xhat;
      dg[c] += dr[c] * xhat;
      db[c] += dr[c];
    }
    const float m1 = (float)(s1 / (double)C), m2 = (float)(s2 / (double)C);
    float *dxr = dx + r * C;
    for (size_t c = 0; c < C; c++) {
      const float xhat = (xr[c] - m) * rs, dxhat = dr[c] * g[c];
      dxr[c] += rs * (dxhat - m1 - xhat * m2);
    }
  }
  return SL_OK;
}

/* ---------------------------------------------------------------- GELU
 * The tanh approximation gelu(x) = x/2 (1 + tanh(k (x + 0.044715 x^3))), k = sqrt(2/pi)
 * (Hendrycks and Gimpel 2016), which GPT-2 used and torch computes with approximate="tanh": it
 * differs from the exact x Phi(x) by < 1e-3 and needs no erf. */
#define GPT_GELU_K 0.7978845608028654f
#define GPT_GELU_A 0.044715f

/* Written as x sigmoid(2u), since (1 + tanh u) / 2 = sigmoid(2u): one exp and one division. The
 * forward also leaves the derivative in place of its input, which nothing else reads, so the
 * backward is a product:
 *   gelu'(x) = s + x s (1 - s) z',  s = sigmoid(z) = 1 / (1 + e^-z), z = 2k (x + a x^3),
 *   z' = 2k (1 + 3a x^2). */
SL_VEC int sl_gelu_forward(float *restrict out, float *xd, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const float x = xd[i];
    const float z = 2.0f * GPT_GELU_K * (x + GPT_GELU_A * x * x * x);
    const float e = sl_expf_fast(-z), sg = 1.0f / (1.0f + e);
    const float dz = 2.0f * GPT_GELU_K * (1.0f + 3.0f * GPT_GELU_A * x * x);
    out[i] = x * sg;
    xd[i] = sg + x * sg * (e * sg) * dz; /* 1 - s = e s, without the cancellation near s = 1 */
  }
  return SL_OK;
}

int sl_gelu_forward_naive(float *out, float *xd, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const double x = xd[i], k = GPT_GELU_K, a = GPT_GELU_A;
    const double th = tanh(k * (x + a * x * x * x));
    out[i] = (float)(0.5 * x * (1.0 + th));
    /* d/dx of the line above */
    xd[i] = (float)(0.5 * (1.0 + th) + 0.5 * x * (1.0 - th * th) * k * (1.0 + 3.0 * a * x * x));
  }
  return SL_OK;
}

SL_VEC int sl_gelu_backward(float *restrict d, const float *restrict dgelu, size_t n) {
  /* forward: out = gelu(x), dgelu = gelu'(x); d: d out in, d x out */
  for (size_t i = 0; i < n; i++)
    d[i] *= dgelu[i];
  return SL_OK;
}

SL_VEC int sl_gelu_backward_bias(float *restrict d, float *restrict dbias,
                                 const float *restrict dgelu, size_t n, size_t cols) {
  /* forward: out = gelu(x) with x = (inp . W^T + bias) over rows of cols; dgelu = gelu'(x) */
  for (size_t r = 0; r < n; r++) {
    float *dr = d + r * cols;
    const float *gr = dgelu + r * cols;
    for (size_t c = 0; c < cols; c++) {
      const float v = dr[c] * gr[c];
      dr[c] = v;
      dbias[c] += v;
    }
  }
  return SL_OK;
}

int sl_gelu_backward_bias_naive(float *d, float *dbias, const float *dgelu, size_t n, size_t cols) {
  SL_CALL(sl_gelu_backward(d, dgelu, n * cols));
  sl_bias_grad_naive(dbias, d, n, cols);
  return SL_OK;
}

/* ---------------------------------------------------------------- residual
 * x + proj(branch): sgemm adds inp . W^T onto an output seeded with res + bias, so the residual
 * add costs no pass of its own. The backward needs nothing extra: d out flows unchanged into both
 * res and the branch, so it hands dres to the branch's matmul and lets the LayerNorm at the
 * branch's start add into it. */
int sl_gpt_matmul_residual(float *out, const float *inp, const float *w, const float *bias,
                           const float *res, size_t n, size_t cin, size_t cout, float *work) {
  if (n == 0 || cout == 0) return SL_OK;
  memcpy(out, res, n * cout * sizeof *out);
  /* the tile starts from out (= res) plus the bias row */
  return sl_gemm(0, 1, n, cout, cin, inp, cin, w, cin, 1.0f, bias, out, cout, work);
}

/* A linear layer in torch's weight layout through sl_gemm: out [n x cout] = inp [n x cin] . W^T
 * + bias, W [cout x cin]. */
static int gpt_linear(float *out, const float *inp, const float *w, const float *bias, size_t n,
                      size_t cin, size_t cout, float *work) {
  return sl_gemm(0, 1, n, cout, cin, inp, cin, w, cin, 0.0f, bias, out, cout, work);
}

/* Its backward: dinp = dout . W (overwritten) through sl_gemm; dW += inp^T . dout and dbias
 * through sl_matmul_backward (cblas_sgemm: with K = n = B T rows OpenBLAS is the faster). */
static int gpt_linear_backward(float *dinp, float *dw, float *dbias, const float *dout,
                               const float *inp, const float *w, size_t n, size_t cin, size_t cout,
                               float *work) {
  SL_CALL(sl_gemm(0, 0, n, cin, cout, dout, cout, w, cin, 0.0f, NULL, dinp, cin, work));
  return sl_matmul_backward(NULL, dw, dbias, dout, inp, w, n, cin, cout, SL_W_OUT_IN);
}

int sl_gpt_matmul_residual_naive(float *out, const float *inp, const float *w, const float *bias,
                                 const float *res, size_t n, size_t cin, size_t cout) {
  SL_CALL(sl_matmul_forward_naive(out, inp, w, bias, n, cin, cout, SL_W_OUT_IN));
  for (size_t i = 0; i < n * cout; i++)
    out[i] += res[i];
  return SL_OK;
}

/* ---------------------------------------------------------------- causal self-attention
 * Per (b, h): Q, K, V are the [T x hs] column blocks of qkv (leading dimension 3C),
 *   S = Q K^T / sqrt(hs),  P = softmax over j <= i of S[i][j] (P = 0 above the diagonal),
 *   Y = P V, written into columns h*hs.. of y [BT x C].
 * att keeps P for the backward. */

static int attn_dims(size_t T, size_t C, size_t NH) {
  SL_CHECK(NH > 0 && C % NH == 0, SL_ERR_ARG, "C=%zu is not a multiple of NH=%zu", C, NH);
  SL_CHECK(T <= INT_MAX && 3 * C <= INT_MAX, SL_ERR_ARG,
           "attention sizes T=%zu, 3C=%zu exceed what BLAS's int can hold", T, 3 * C);
  return SL_OK;
}

/* Row-wise causal softmax of a [T x T] score matrix, in place. */
static void attn_softmax_causal(float *p, size_t T) {
  for (size_t i = 0; i < T; i++) {
    float *row = p + i * T;
    float mx = row[0];
    for (size_t j = 1; j <= i; j++)
      if (row[j] > mx) mx = row[j];
    double s = 0.0;
    for (size_t j = 0; j <= i; j++) {
      row[j] = expf(row[j] - mx);
      s += row[j];
    }
    const float inv = (float)(1.0 / s);
    for (size_t j = 0; j <= i; j++)
      row[j] *= inv;
    for (size_t j = i + 1; j < T; j++)
      row[j] = 0.0f;
  }
}

int sl_gpt_attention_forward(float *y, float *att, const float *qkv, size_t B, size_t T, size_t C,
                             size_t NH) {
  SL_CALL(attn_dims(T, C, NH));
  const size_t hs = C / NH, C3 = 3 * C;
  const int t = (int)T, h_ = (int)hs, c = (int)C, c3 = (int)C3;
  const float scale = 1.0f / sqrtf((float)hs);
  for (size_t b = 0; b < B; b++)
    for (size_t h = 0; h < NH; h++) {
      const float *q = qkv + b * T * C3 + h * hs, *k = q + C, *v = q + 2 * C;
      float *p = att + (b * NH + h) * T * T;
      /* S = scale Q K^T over the full square: one sgemm, at most twice the work of the causal
       * half; the softmax discards what lies above the diagonal */
      double t0 = sl_mm_t0();
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, t, t, h_, scale, q, c3, k, c3, 0.0f, p,
                  t);
      sl_mm_add(t0, T, T, hs);
      attn_softmax_causal(p, T);
      /* Y = P V */
      t0 = sl_mm_t0();
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, t, h_, t, 1.0f, p, t, v, c3, 0.0f,
                  y + b * T * C + h * hs, c);
      sl_mm_add(t0, T, hs, T);
    }
  return SL_OK;
}

int sl_gpt_attention_forward_naive(float *y, float *att, const float *qkv, size_t B, size_t T,
                                   size_t C, size_t NH) {
  SL_CALL(attn_dims(T, C, NH));
  const size_t hs = C / NH, C3 = 3 * C;
  const double scale = 1.0 / sqrt((double)hs);
  for (size_t b = 0; b < B; b++)
    for (size_t h = 0; h < NH; h++) {
      float *p = att + (b * NH + h) * T * T;
      for (size_t i = 0; i < T; i++) {
        const float *q = qkv + (b * T + i) * C3 + h * hs;
        float *row = p + i * T;
        double mx = -INFINITY;
        for (size_t j = 0; j <= i; j++) {
          const float *k = qkv + (b * T + j) * C3 + C + h * hs;
          double s = 0.0;
          for (size_t d = 0; d < hs; d++)
            s += (double)q[d] * k[d];
          row[j] = (float)(s * scale);
          if (row[j] > mx) mx = row[j];
        }
        double sum = 0.0;
        for (size_t j = 0; j <= i; j++)
          sum += exp(row[j] - mx);
        for (size_t j = 0; j < T; j++)
          row[j] = j <= i ? (float)(exp(row[j] - mx) / sum) : 0.0f;
        float *yr = y + (b * T + i) * C + h * hs;
        for (size_t d = 0; d < hs; d++) {
          double s = 0.0;
          for (size_t j = 0; j <= i; j++)
            s += (double)row[j] * qkv[(b * T + j) * C3 + 2 * C + h * hs + d];
          yr[d] = (float)s;
        }
      }
    }
  return SL_OK;
}

/* dqkv [BT x 3C] += gradient; scratch is [T x T]. */
int sl_gpt_attention_backward(float *dqkv, float *scratch, const float *dy, const float *att,
                              const float *qkv, size_t B, size_t T, size_t C, size_t NH) {
  SL_CALL(attn_dims(T, C, NH));
  const size_t hs = C / NH, C3 = 3 * C;
  const int t = (int)T, h_ = (int)hs, c = (int)C, c3 = (int)C3;
  const float scale = 1.0f / sqrtf((float)hs);
  for (size_t b = 0; b < B; b++)
    for (size_t h = 0; h < NH; h++) {
      const float *q = qkv + b * T * C3 + h * hs, *k = q + C, *v = q + 2 * C;
      float *dq = dqkv + b * T * C3 + h * hs, *dk = dq + C, *dv = dq + 2 * C;
      const float *p = att + (b * NH + h) * T * T, *dyh = dy + b * T * C + h * hs;
      float *ds = scratch;
      /* forward: Y = P V  ->  dP = dY V^T,  dV += P^T dY */
      double t0 = sl_mm_t0();
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, t, t, h_, 1.0f, dyh, c, v, c3, 0.0f, ds,
                  t);
      sl_mm_add(t0, T, T, hs);
      t0 = sl_mm_t0();
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, t, h_, t, 1.0f, p, t, dyh, c, 1.0f, dv,
                  c3);
      sl_mm_add(t0, T, hs, T);
      /* forward: attn_softmax_causal(p, T)  ->  dS[i][j] = P[i][j] (dP[i][j] - sum_k P[i][k]
       * dP[i][k]); P = 0 above the diagonal makes dS = 0 there, so masked scores get nothing */
      for (size_t i = 0; i < T; i++) {
        const float *pr = p + i * T;
        float *dr = ds + i * T;
        double dot = 0.0;
        for (size_t j = 0; j <= i; j++)
          dot += (double)pr[j] * dr[j];
        for (size_t j = 0; j < T; j++)
          dr[j] = j <= i ? pr[j] * (dr[j] - (float)dot) : 0.0f;
      }
      /* forward: S = scale Q K^T  ->  dQ += scale dS K,  dK += scale dS^T Q */
      t0 = sl_mm_t0();
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, t, h_, t, scale, ds, t, k, c3, 1.0f,
                  dq, c3);
      sl_mm_add(t0, T, hs, T);
      t0 = sl_mm_t0();
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, t, h_, t, scale, ds, t, q, c3, 1.0f, dk,
                  c3);
      sl_mm_add(t0, T, hs, T);
    }
  return SL_OK;
}

int sl_gpt_attention_backward_naive(float *dqkv, float *scratch, const float *dy, const float *att,
                                    const float *qkv, size_t B, size_t T, size_t C, size_t NH) {
  SL_CALL(attn_dims(T, C, NH));
  const size_t hs = C / NH, C3 = 3 * C;
  const double scale = 1.0 / sqrt((double)hs);
  for (size_t b = 0; b < B; b++)
    for (size_t h = 0; h < NH; h++) {
      const float *p = att + (b * NH + h) * T * T;
      const size_t qo = h * hs, ko = C + h * hs, vo = 2 * C + h * hs;
      for (size_t i = 0; i < T; i++) {
        const float *dyr = dy + (b * T + i) * C + h * hs;
        /* forward: yr[d] = sum_{j<=i} row[j] v[j][d] */
        double dot = 0.0;
        for (size_t j = 0; j <= i; j++) {
          const float *vj = qkv + (b * T + j) * C3 + vo;
          float *dvj = dqkv + (b * T + j) * C3 + vo;
          double dp = 0.0;
          for (size_t d = 0; d < hs; d++) {
            dp += (double)dyr[d] * vj[d];
            dvj[d] += p[i * T + j] * dyr[d];
          }
          scratch[j] = (float)dp;
          dot += p[i * T + j] * dp;
        }
        /* forward: row[j] = exp(row[j] - mx) / sum, over j <= i; row[j] = s[j] * scale,
         * s[j] = q_i . k_j */
        const float *qi = qkv + (b * T + i) * C3 + qo;
        float *dqi = dqkv + (b * T + i) * C3 + qo;
        for (size_t j = 0; j <= i; j++) {
          const double ds = p[i * T + j] * (scratch[j] - dot) * scale;
          const float *kj = qkv + (b * T + j) * C3 + ko;
          float *dkj = dqkv + (b * T + j) * C3 + ko;
          for (size_t d = 0; d < hs; d++) {
            dqi[d] += (float)(ds * kj[d]);
            dkj[d] += (float)(ds * qi[d]);
          }
        }
      }
    }
  return SL_OK;
}

/* ---------------------------------------------------------------- attention, vector kernels
 * For head sizes that are a multiple of 8, the per-(b, h) matmuls are too small for sgemm to run
 * near its rate (64 x 64 x 32 at T = 64, hs = 32: the packing dominates), and half of each square
 * is masked. These kernels work on rows of 8-float vectors (GCC's vector extension: AVX in the
 * x86-64-v3 clone, pairs of SSE registers otherwise), four query rows at a time so that each load
 * of a key or value row feeds four FMAs, and stop at the causal edge (the last row of each block
 * of four), so they do about half the flops of the full square. */
typedef float attn_v8 __attribute__((vector_size(32)));
/* Helpers are forced inline so that they are compiled inside each SL_VEC clone (a helper left out
 * of line would be built for the baseline target only). */
#define ATTN_INLINE inline __attribute__((always_inline))
/* An unaligned, aliasing view of 8 floats, so that rows at any offset load and store as vectors
 * (macros rather than functions: a function taking or returning a 32-byte vector has an ABI that
 * differs with and without AVX, which GCC warns about). */
typedef float attn_v8u __attribute__((vector_size(32), aligned(4), may_alias));
#define v8_load(p) (*(const attn_v8u *)(p))
#define v8_store(p, v) (*(attn_v8u *)(p) = (v))

static ATTN_INLINE size_t round8(size_t n) {
  return (n + 7) & ~(size_t)7;
}

/* Floats of scratch the vector kernels need: kT or vT [hs x Tp], then the backward's dS [T x Tp]
 * or the forward's four score rows [4 x Tp]; Tp = T rounded up to 8. Covers the BLAS backward's
 * [T x T] too. */
size_t sl_gpt_attention_scratch_floats(size_t T, size_t hs) {
  const size_t Tp = round8(T);
  return hs * Tp + T * Tp + 4 * Tp;
}

/* out[r][j] = sum_d a[r][d] bt[d][j] for R = 4 rows r (row strides lda, ldo), j < J (J a multiple
 * of 8, bt [D x ldb]). Two 8-column chunks at a time where there are two: each broadcast of a[r][d]
 * then feeds two FMAs (8 accumulators), which keeps the loads per FMA down. */
static ATTN_INLINE void attn_abt4(float *out, size_t ldo, const float *a, size_t lda,
                                  const float *bt, size_t ldb, size_t D, size_t J) {
  size_t j = 0;
  for (; j + 16 <= J; j += 16) {
    attn_v8 c0 = {0}, c1 = {0}, c2 = {0}, c3 = {0}, e0 = {0}, e1 = {0}, e2 = {0}, e3 = {0};
    for (size_t d = 0; d < D; d++) {
      const attn_v8 bv = v8_load(bt + d * ldb + j), bw = v8_load(bt + d * ldb + j + 8);
      const float a0 = a[d], a1 = a[lda + d], a2 = a[2 * lda + d], a3 = a[3 * lda + d];
      c0 += a0 * bv, e0 += a0 * bw;
      c1 += a1 * bv, e1 += a1 * bw;
      c2 += a2 * bv, e2 += a2 * bw;
      c3 += a3 * bv, e3 += a3 * bw;
    }
    v8_store(out + j, c0), v8_store(out + j + 8, e0);
    v8_store(out + ldo + j, c1), v8_store(out + ldo + j + 8, e1);
    v8_store(out + 2 * ldo + j, c2), v8_store(out + 2 * ldo + j + 8, e2);
    v8_store(out + 3 * ldo + j, c3), v8_store(out + 3 * ldo + j + 8, e3);
  }
  for (; j < J; j += 8) {
    attn_v8 c0 = {0}, c1 = {0}, c2 = {0}, c3 = {0};
    for (size_t d = 0; d < D; d++) {
      const attn_v8 bv = v8_load(bt + d * ldb + j);
      c0 += a[d] * bv;
      c1 += a[lda + d] * bv;
      c2 += a[2 * lda + d] * bv;
      c3 += a[3 * lda + d] * bv;
    }
    v8_store(out + j, c0);
    v8_store(out + ldo + j, c1);
    v8_store(out + 2 * ldo + j, c2);
    v8_store(out + 3 * ldo + j, c3);
  }
}
static ATTN_INLINE void attn_abt1(float *out, const float *a, const float *bt, size_t ldb, size_t D,
                                  size_t J) {
  for (size_t j = 0; j < J; j += 8) {
    attn_v8 c0 = {0};
    for (size_t d = 0; d < D; d++)
      c0 += a[d] * v8_load(bt + d * ldb + j);
    v8_store(out + j, c0);
  }
}

/* Stores the 8-float chunk c of an output row at o: acc = 1 adds it to what o holds, 0
 * overwrites. A macro, like v8_load, to keep 32-byte vectors out of function signatures. */
#define ATTN_PUT(o, c, acc)                                                                        \
  do {                                                                                             \
    attn_v8 t_ = (c);                                                                              \
    if (acc) t_ += v8_load(o);                                                                     \
    v8_store(o, t_);                                                                               \
  } while (0)
/* db[:8] += the sum of four rows' chunks (the bias gradient of what was just stored; only when
 * they were stored with acc = 0, so that they are the rows' complete values). */
#define ATTN_DB4(db, d, c0, c1, c2, c3)                                                            \
  do {                                                                                             \
    if (db) v8_store((db) + (d), v8_load((db) + (d)) + (((c0) + (c1)) + ((c2) + (c3))));           \
  } while (0)

/* out[r][:D] (+)= sum_{j0 <= j < j1} a(r, j) x[j][:D] for R = 4 rows (x rows at stride ldx, D a
 * multiple of 8), a(r, j) = a[r * sr + j * sj]; acc = 1 adds to out, 0 overwrites it, and then db
 * (when not NULL) gets the column sums of the 4 rows added. Two 8-float chunks of D at a time
 * where there are two, as in attn_abt4. Called through attn_ax4 (a by rows) and attn_atx4 (a by
 * columns); always inlined, so each gets its own code with the unit stride a constant. */
static ATTN_INLINE void attn_ax4s(float *out, size_t ldo, const float *a, size_t sr, size_t sj,
                                  const float *x, size_t ldx, size_t j0, size_t j1, size_t D,
                                  int acc, float *db) {
  size_t d = 0;
  for (; d + 16 <= D; d += 16) {
    attn_v8 c0 = {0}, c1 = {0}, c2 = {0}, c3 = {0}, e0 = {0}, e1 = {0}, e2 = {0}, e3 = {0};
    for (size_t j = j0; j < j1; j++) {
      const attn_v8 xv = v8_load(x + j * ldx + d), xw = v8_load(x + j * ldx + d + 8);
      const float *aj = a + j * sj;
      const float a0 = aj[0], a1 = aj[sr], a2 = aj[2 * sr], a3 = aj[3 * sr];
      c0 += a0 * xv, e0 += a0 * xw;
      c1 += a1 * xv, e1 += a1 * xw;
      c2 += a2 * xv, e2 += a2 * xw;
      c3 += a3 * xv, e3 += a3 * xw;
    }
    ATTN_PUT(out + d, c0, acc);
    ATTN_PUT(out + d + 8, e0, acc);
    ATTN_PUT(out + ldo + d, c1, acc);
    ATTN_PUT(out + ldo + d + 8, e1, acc);
    ATTN_PUT(out + 2 * ldo + d, c2, acc);
    ATTN_PUT(out + 2 * ldo + d + 8, e2, acc);
    ATTN_PUT(out + 3 * ldo + d, c3, acc);
    ATTN_PUT(out + 3 * ldo + d + 8, e3, acc);
    ATTN_DB4(db, d, c0, c1, c2, c3);
    ATTN_DB4(db, d + 8, e0, e1, e2, e3);
  }
  for (; d < D; d += 8) {
    attn_v8 c0 = {0}, c1 = {0}, c2 = {0}, c3 = {0};
    for (size_t j = j0; j < j1; j++) {
      const attn_v8 xv = v8_load(x + j * ldx + d);
      const float *aj = a + j * sj;
      c0 += aj[0] * xv;
      c1 += aj[sr] * xv;
      c2 += aj[2 * sr] * xv;
      c3 += aj[3 * sr] * xv;
    }
    ATTN_PUT(out + d, c0, acc);
    ATTN_PUT(out + ldo + d, c1, acc);
    ATTN_PUT(out + 2 * ldo + d, c2, acc);
    ATTN_PUT(out + 3 * ldo + d, c3, acc);
    ATTN_DB4(db, d, c0, c1, c2, c3);
  }
}
/* a[r][j] at a[r * lda + j]: rows of a. */
static ATTN_INLINE void attn_ax4(float *out, size_t ldo, const float *a, size_t lda, const float *x,
                                 size_t ldx, size_t j0, size_t j1, size_t D, int acc, float *db) {
  attn_ax4s(out, ldo, a, lda, 1, x, ldx, j0, j1, D, acc, db);
}
static ATTN_INLINE void attn_ax1(float *out, const float *a, const float *x, size_t ldx, size_t j0,
                                 size_t j1, size_t D, int acc, float *db) {
  for (size_t d = 0; d < D; d += 8) {
    attn_v8 c0 = {0};
    for (size_t j = j0; j < j1; j++)
      c0 += a[j] * v8_load(x + j * ldx + d);
    ATTN_PUT(out + d, c0, acc);
    if (db) v8_store(db + d, v8_load(db + d) + c0);
  }
}

/* out[r][:D] (+)= sum_{i0 <= i < i1} a[i][r] x[i][:D] for R = 4 rows r, acc and db as in
 * attn_ax4: its transposed twin (a read down its columns, row stride lda), so that dS^T Q and
 * P^T dY need no transposed copy of dS and P. Each step broadcasts four neighbouring entries of
 * one row of a. */
static ATTN_INLINE void attn_atx4(float *out, size_t ldo, const float *a, size_t lda,
                                  const float *x, size_t ldx, size_t i0, size_t i1, size_t D,
                                  int acc, float *db) {
  attn_ax4s(out, ldo, a, 1, lda, x, ldx, i0, i1, D, acc, db);
}
static ATTN_INLINE void attn_atx1(float *out, const float *a, size_t lda, const float *x,
                                  size_t ldx, size_t i0, size_t i1, size_t D, int acc, float *db) {
  for (size_t d = 0; d < D; d += 8) {
    attn_v8 c0 = {0};
    for (size_t i = i0; i < i1; i++)
      c0 += a[i * lda] * v8_load(x + i * ldx + d);
    ATTN_PUT(out + d, c0, acc);
    if (db) v8_store(db + d, v8_load(db + d) + c0);
  }
}

typedef int attn_i8 __attribute__((vector_size(32)));

/* dst[d][j] = src[j][d] for j < T, d < D (src rows at stride lds, D a multiple of 8); dst rows at
 * stride Tp = round8(T), columns T..Tp-1 zero. 8 x 8 blocks through registers (unpack, then
 * pairs, then halves: the AVX idiom, written as generic shuffles), the tail of T by scalars. */
static ATTN_INLINE void attn_transpose(float *dst, const float *src, size_t lds, size_t T,
                                       size_t D) {
  const size_t Tp = round8(T);
  const attn_i8 lo1 = {0, 8, 1, 9, 4, 12, 5, 13}, hi1 = {2, 10, 3, 11, 6, 14, 7, 15};
  const attn_i8 lo2 = {0, 1, 8, 9, 4, 5, 12, 13}, hi2 = {2, 3, 10, 11, 6, 7, 14, 15};
  const attn_i8 lo4 = {0, 1, 2, 3, 8, 9, 10, 11}, hi4 = {4, 5, 6, 7, 12, 13, 14, 15};
  size_t j = 0;
  for (; j + 8 <= T; j += 8)
    for (size_t d = 0; d < D; d += 8) {
      const float *s0 = src + j * lds + d;
      const attn_v8 r0 = v8_load(s0), r1 = v8_load(s0 + lds), r2 = v8_load(s0 + 2 * lds),
                    r3 = v8_load(s0 + 3 * lds), r4 = v8_load(s0 + 4 * lds),
                    r5 = v8_load(s0 + 5 * lds), r6 = v8_load(s0 + 6 * lds),
                    r7 = v8_load(s0 + 7 * lds);
      const attn_v8 t0 = __builtin_shuffle(r0, r1, lo1), t1 = __builtin_shuffle(r0, r1, hi1);
      const attn_v8 t2 = __builtin_shuffle(r2, r3, lo1), t3 = __builtin_shuffle(r2, r3, hi1);
      const attn_v8 t4 = __builtin_shuffle(r4, r5, lo1), t5 = __builtin_shuffle(r4, r5, hi1);
      const attn_v8 t6 = __builtin_shuffle(r6, r7, lo1), t7 = __builtin_shuffle(r6, r7, hi1);
      const attn_v8 u0 = __builtin_shuffle(t0, t2, lo2), u1 = __builtin_shuffle(t0, t2, hi2);
      const attn_v8 u2 = __builtin_shuffle(t1, t3, lo2), u3 = __builtin_shuffle(t1, t3, hi2);
      const attn_v8 u4 = __builtin_shuffle(t4, t6, lo2), u5 = __builtin_shuffle(t4, t6, hi2);
      const attn_v8 u6 = __builtin_shuffle(t5, t7, lo2), u7 = __builtin_shuffle(t5, t7, hi2);
      float *o = dst + d * Tp + j;
      v8_store(o, __builtin_shuffle(u0, u4, lo4));
      v8_store(o + Tp, __builtin_shuffle(u1, u5, lo4));
      v8_store(o + 2 * Tp, __builtin_shuffle(u2, u6, lo4));
      v8_store(o + 3 * Tp, __builtin_shuffle(u3, u7, lo4));
      v8_store(o + 4 * Tp, __builtin_shuffle(u0, u4, hi4));
      v8_store(o + 5 * Tp, __builtin_shuffle(u1, u5, hi4));
      v8_store(o + 6 * Tp, __builtin_shuffle(u2, u6, hi4));
      v8_store(o + 7 * Tp, __builtin_shuffle(u3, u7, hi4));
    }
  for (size_t d = 0; d < D; d++) {
    for (size_t jj = j; jj < T; jj++)
      dst[d * Tp + jj] = src[jj * lds + d];
    for (size_t jj = T; jj < Tp; jj++)
      dst[d * Tp + jj] = 0.0f;
  }
}

/* p[0..T) = softmax over j <= i of scale * s[j], 0 above. s has round8(i + 1) finite entries;
 * those past i (future keys) are overwritten here with -inf, whose exp (clamped by sl_expf_fast to
 * ~1e-38) vanishes in a sum that holds the maximum's exp(0) = 1, so every loop runs over whole
 * 8-lane chunks without masks; p past i is written as exact zeros. s is overwritten. */
static ATTN_INLINE void attn_softmax_row(float *restrict p, float *restrict s, size_t i, size_t T,
                                         float scale) {
  const size_t J = round8(i + 1);
  for (size_t j = i + 1; j < J; j++)
    s[j] = -INFINITY;
  float mx[8];
  for (size_t l = 0; l < 8; l++)
    mx[l] = s[l];
  for (size_t j = 8; j < J; j += 8)
    for (size_t l = 0; l < 8; l++)
      mx[l] = s[j + l] > mx[l] ? s[j + l] : mx[l];
  float m = mx[0];
  for (size_t l = 1; l < 8; l++)
    m = mx[l] > m ? mx[l] : m;
  float sm[8] = {0};
  for (size_t j = 0; j < J; j += 8)
    for (size_t l = 0; l < 8; l++) {
      const float v = sl_expf_fast(scale * (s[j + l] - m));
      s[j + l] = v;
      sm[l] += v;
    }
  float sum = 0.0f;
  for (size_t l = 0; l < 8; l++)
    sum += sm[l];
  const float inv = 1.0f / sum;
  for (size_t j = i + 1; j < J; j++)
    s[j] = 0.0f; /* the masked keys' exact zeros */
  size_t j = 0;
  for (; j + 8 <= J && j + 8 <= T; j += 8)
    v8_store(p + j, v8_load(s + j) * inv);
  for (; j < J && j < T; j++)
    p[j] = s[j] * inv;
  const attn_v8 zero = {0};
  for (; j + 8 <= T; j += 8)
    v8_store(p + j, zero);
  for (; j < T; j++)
    p[j] = 0.0f;
}

/* Prefetches the cache lines of the w floats at row r of base (stride ld): rows of the next
 * (b, h), strided across qkv, which the hardware prefetcher does not foresee. */
#define ATTN_PREFETCH_ROW(base, ld, r, w, rw)                                                      \
  do {                                                                                             \
    const char *pa_ = (const char *)((base) + (r) * (ld));                                         \
    const char *pe_ = pa_ + (w) * sizeof(float);                                                   \
    for (pa_ -= (uintptr_t)pa_ & 63; pa_ < pe_; pa_ += 64)                                         \
      __builtin_prefetch(pa_, (rw), 3);                                                            \
  } while (0)

SL_VEC int sl_gpt_attention_forward_vec(float *y, float *att, float *scratch, const float *qkv,
                                        size_t B, size_t T, size_t C, size_t NH) {
  SL_CALL(attn_dims(T, C, NH));
  const size_t hs = C / NH, C3 = 3 * C, Tp = round8(T);
  SL_CHECK(hs % 8 == 0, SL_ERR_ARG, "vector attention needs a head size that is a multiple of 8");
  const float scale = 1.0f / sqrtf((float)hs);
  float *kt = scratch, *srow = scratch + hs * Tp; /* [hs|4 x Tp] */
  for (size_t b = 0; b < B; b++)
    for (size_t h = 0; h < NH; h++) {
      const float *q = qkv + b * T * C3 + h * hs, *k = q + C, *v = q + 2 * C;
      float *p = att + (b * NH + h) * T * T, *yh = y + b * T * C + h * hs;
      /* the next (b, h)'s q, k, v and y rows, 4 rows per block of queries */
      const int more = b + 1 < B || h + 1 < NH;
      const size_t bn = h + 1 < NH ? b : b + 1, hn = h + 1 < NH ? h + 1 : 0;
      const float *qn = qkv + (more ? bn * T * C3 + hn * hs : 0);
      const float *yn = y + (more ? bn * T * C + hn * hs : 0);
      attn_transpose(kt, k, C3, T, hs);
      size_t i0 = 0;
      for (; i0 + 4 <= T; i0 += 4) { /* S = Q K^T up to the causal edge, softmax, Y = P V */
        if (more)
          for (size_t r = i0; r < i0 + 4; r++) {
            ATTN_PREFETCH_ROW(qn, C3, r, hs, 0);
            ATTN_PREFETCH_ROW(qn + C, C3, r, hs, 0);
            ATTN_PREFETCH_ROW(qn + 2 * C, C3, r, hs, 0);
            ATTN_PREFETCH_ROW(yn, C, r, hs, 1);
          }
        attn_abt4(srow, Tp, q + i0 * C3, C3, kt, Tp, hs, round8(i0 + 4));
        for (size_t r = 0; r < 4; r++)
          attn_softmax_row(p + (i0 + r) * T, srow + r * Tp, i0 + r, T, scale);
        attn_ax4(yh + i0 * C, C, p + i0 * T, T, v, C3, 0, i0 + 4, hs, 0, NULL);
      }
      for (; i0 < T; i0++) {
        attn_abt1(srow, q + i0 * C3, kt, Tp, hs, round8(i0 + 1));
        attn_softmax_row(p + i0 * T, srow, i0, T, scale);
        attn_ax1(yh + i0 * C, p + i0 * T, v, C3, 0, i0 + 1, hs, 0, NULL);
      }
    }
  return SL_OK;
}

/* The backward: acc = 1 accumulates into dqkv, as the BLAS and naive kernels do; acc = 0
 * overwrites it (each row of dq, dk and dv is complete after one call of attn_ax4 or attn_atx4)
 * and, when dbias [3C] is not NULL, adds dqkv's column sums into it: the qkv bias gradient. */
static ATTN_INLINE int attn_backward(float *dqkv, float *dbias, int acc, float *scratch,
                                     const float *dy, const float *att, const float *qkv, size_t B,
                                     size_t T, size_t C, size_t NH) {
  SL_CALL(attn_dims(T, C, NH));
  const size_t hs = C / NH, C3 = 3 * C, Tp = round8(T);
  SL_CHECK(hs % 8 == 0, SL_ERR_ARG, "vector attention needs a head size that is a multiple of 8");
  const float scale = 1.0f / sqrtf((float)hs);
  float *vt = scratch, *ds = vt + hs * Tp; /* vT [hs x Tp]; dS [T x Tp] */
  for (size_t b = 0; b < B; b++)
    for (size_t h = 0; h < NH; h++) {
      const float *q = qkv + b * T * C3 + h * hs, *k = q + C, *v = q + 2 * C;
      float *dq = dqkv + b * T * C3 + h * hs, *dk = dq + C, *dv = dq + 2 * C;
      float *dbq = dbias ? dbias + h * hs : NULL, *dbk = dbias ? dbias + C + h * hs : NULL;
      float *dbv = dbias ? dbias + 2 * C + h * hs : NULL;
      const float *p = att + (b * NH + h) * T * T, *dyh = dy + b * T * C + h * hs;
      /* the next (b, h)'s rows of qkv, dqkv and dy, 4 rows per block */
      const int more = b + 1 < B || h + 1 < NH;
      const size_t bn = h + 1 < NH ? b : b + 1, hn = h + 1 < NH ? h + 1 : 0;
      const float *qn = qkv + (more ? bn * T * C3 + hn * hs : 0);
      const float *dqn = dqkv + (more ? bn * T * C3 + hn * hs : 0);
      const float *dyn = dy + (more ? bn * T * C + hn * hs : 0);
      const float *pn = att + (more ? (bn * NH + hn) * T * T : 0);
      attn_transpose(vt, v, C3, T, hs);
      /* forward: Y = P V  ->  dP = dY V^T (below the causal edge) */
      size_t i0 = 0;
      for (; i0 + 4 <= T; i0 += 4) {
        if (more)
          for (size_t r = i0; r < i0 + 4; r++) {
            for (size_t c = 0; c < 3; c++)
              ATTN_PREFETCH_ROW(qn + c * C, C3, r, hs, 0);
            ATTN_PREFETCH_ROW(dyn, C, r, hs, 0);
          }
        attn_abt4(ds + i0 * Tp, Tp, dyh + i0 * C, C, vt, Tp, hs, round8(i0 + 4));
      }
      for (; i0 < T; i0++)
        attn_abt1(ds + i0 * Tp, dyh + i0 * C, vt, Tp, hs, round8(i0 + 1));
      /* forward: P = softmax_{j <= i}(scale S)  ->  dS = scale P (dP - sum_j P dP), 0 above */
      for (size_t i = 0; i < T; i++) {
        const float *pr = p + i * T;
        float *dr = ds + i * Tp;
        const size_t J = round8(i + 1) < T ? round8(i + 1) : T; /* P is 0 in (i, J) */
        float dl[8] = {0};
        size_t j = 0;
        for (; j + 8 <= J; j += 8)
          for (size_t l = 0; l < 8; l++)
            dl[l] += pr[j + l] * dr[j + l];
        float dot = 0.0f;
        for (; j < J; j++)
          dot += pr[j] * dr[j];
        for (size_t l = 0; l < 8; l++)
          dot += dl[l];
        for (j = 0; j < J; j++) /* columns past J are never read */
          dr[j] = scale * pr[j] * (dr[j] - dot);
      }
      /* forward: S = Q K^T  ->  dQ += dS K (rows j <= i), dK += dS^T Q (rows i >= j);
       * forward: Y = P V  ->  dV += P^T dY (rows i >= j). dS and P are 0 above the diagonal,
       * so the 4-row blocks may run past the causal edge. */
      for (i0 = 0; i0 + 4 <= T; i0 += 4) {
        if (more)
          for (size_t r = i0; r < i0 + 4; r++) {
            for (size_t c = 0; c < 3; c++)
              ATTN_PREFETCH_ROW(dqn + c * C, C3, r, hs, 1);
            ATTN_PREFETCH_ROW(pn, T, r, r + 1, 0); /* P up to the causal edge */
          }
        attn_ax4(dq + i0 * C3, C3, ds + i0 * Tp, Tp, k, C3, 0, i0 + 4, hs, acc, dbq);
        attn_atx4(dk + i0 * C3, C3, ds + i0, Tp, q, C3, i0, T, hs, acc, dbk);
        attn_atx4(dv + i0 * C3, C3, p + i0, T, dyh, C, i0, T, hs, acc, dbv);
      }
      for (; i0 < T; i0++) {
        attn_ax1(dq + i0 * C3, ds + i0 * Tp, k, C3, 0, i0 + 1, hs, acc, dbq);
        attn_atx1(dk + i0 * C3, ds + i0, Tp, q, C3, i0, T, hs, acc, dbk);
        attn_atx1(dv + i0 * C3, p + i0, T, dyh, C, i0, T, hs, acc, dbv);
      }
    }
  return SL_OK;
}

SL_VEC int sl_gpt_attention_backward_vec(float *dqkv, float *scratch, const float *dy,
                                         const float *att, const float *qkv, size_t B, size_t T,
                                         size_t C, size_t NH) {
  return attn_backward(dqkv, NULL, 1, scratch, dy, att, qkv, B, T, C, NH);
}

SL_VEC int sl_gpt_attention_backward_vec_set(float *dqkv, float *dbias, float *scratch,
                                             const float *dy, const float *att, const float *qkv,
                                             size_t B, size_t T, size_t C, size_t NH) {
  return attn_backward(dqkv, dbias, 0, scratch, dy, att, qkv, B, T, C, NH);
}

/* ---------------------------------------------------------------- shape */

static size_t gpt_param_count(const sl_model_spec *s, size_t *no_embed) {
  if (no_embed) *no_embed = 0;
  if (s->V <= 0 || s->T <= 0 || s->C <= 0 || s->n_layer <= 0 || s->n_head <= 0 ||
      s->C % s->n_head != 0)
    return 0;
  const size_t V = (size_t)s->V, T = (size_t)s->T, C = (size_t)s->C, L = (size_t)s->n_layer;
  const size_t body = L * (12 * C * C + 13 * C) + 2 * C + (s->tied ? 0 : V * C);
  if (no_embed) *no_embed = body;
  return (V + T) * C + body;
}

/* The head count for a width C when the spec leaves it open: the divisor of C nearest C / 16
 * (head size nearest 16, GPT-2's 64 scaled to these small widths); ties go to fewer heads. */
static int gpt_heads_for(int C) {
  const double want = C / 16.0;
  int best = 1;
  for (int d = 1; d <= C; d++)
    if (C % d == 0 && fabs(d - want) < fabs(best - want)) best = d;
  return best;
}

/* The widths searched when C is open: every width below 32, even ones below 64, multiples of 8
 * below 256 and of 16 above, so that wide models have head size 16 exactly while narrow ones,
 * whose count is dominated by the (V + T) C of the embeddings, can still move N by a few percent
 * (a step of 16 at C = 24 would move it by ~100%). With n_head fixed, C runs over its multiples. */
static int gpt_width_ok(int C, int n_head) {
  if (n_head > 0) return C % n_head == 0;
  return C < 32 ? 1 : C < 64 ? C % 2 == 0 : C < 256 ? C % 8 == 0 : C % 16 == 0;
}

#define GPT_ASPECT 24.0 /* preferred C / n_layer */
#define GPT_ASPECT_LO 8 /* band of C / n_layer searched when both are open */
#define GPT_ASPECT_HI 64
#define GPT_SHAPE_TOL 0.03 /* relative miss within which the aspect ratio decides */

/* One pass over the candidate shapes (the open fields of s; the set ones fixed). tol < 0: the
 * candidate whose count misses target by the least. tol >= 0: among candidates that miss by at
 * most tol, the one whose C / L is nearest GPT_ASPECT in log, then the smaller miss. Candidates
 * are visited in increasing N along each depth, and each depth starts above the last one's
 * start, so both loops stop once N passes target (1 + tol). */
static void gpt_shape_pass(const sl_model_spec *s, double target, double tol, int *best_c,
                           int *best_l, double *best_miss) {
  const int open_c = s->C == 0, open_l = s->n_layer == 0;
  const double limit = target * (1.0 + (tol < 0 ? 0.0 : tol));
  double best_key = INFINITY;
  *best_c = *best_l = 0;
  *best_miss = INFINITY;
  sl_model_spec t = *s;
  for (int L = open_l ? 1 : s->n_layer; L <= (open_l ? 4096 : s->n_layer); L++) {
    const int c_lo = !open_c ? s->C : open_l ? GPT_ASPECT_LO * L : 8;
    const int c_hi = !open_c ? s->C : open_l ? GPT_ASPECT_HI * L : 1 << 16;
    int first = 1, depth_over = 0;
    for (int C = c_lo; C <= c_hi; C++) {
      if (open_c && !gpt_width_ok(C, s->n_head)) continue;
      t.C = C;
      t.n_layer = L;
      t.n_head = s->n_head > 0 ? s->n_head : gpt_heads_for(C);
      const double n = (double)gpt_param_count(&t, NULL);
      const double miss = fabs(n - target) / target;
      const double key = tol < 0       ? miss
                         : miss <= tol ? fabs(log(C / (GPT_ASPECT * L))) + 1e-9 * miss
                                       : INFINITY;
      if (key < best_key) {
        best_key = key;
        *best_c = C, *best_l = L, *best_miss = miss;
      }
      if (first && n > limit) depth_over = 1;
      first = 0;
      if (n > limit) break;
    }
    if (depth_over) break;
  }
}

/* The shape rule. V, T, B, tied and every shape field already set are kept; the exact count N
 * (param_count, embeddings included, as in the MLP's rule) decides the open ones:
 *   1. candidates: n_layer L >= 1 and width C >= 8 on the grid of gpt_width_ok; when both are open
 *      within the aspect band 8 <= C / L <= 64 (Kaplan et al. 2020 find the loss nearly flat in
 *      shape over such a range), otherwise any value of the open one;
 *   2. the smallest relative miss |N - target| / target over all candidates is found;
 *   3. among the candidates that miss by at most max(that, 3%), the one with C / L nearest 24 in
 *      log is taken (then the smaller miss). The exact N is what a run records and fits, the
 *      target only a point of the sweep's grid, so a few percent of miss buys a smooth progression
 *      of shapes along a sweep (C / L ~ 20..30 from ~1e5 up) instead of whichever shape of the
 *      sparse grid happens to land nearest;
 *   4. n_head, when open, is gpt_heads_for(C): head size nearest 16. */
static int gpt_shape_from_target(sl_model_spec *s, double target) {
  SL_CHECK(s->C >= 0 && s->n_layer >= 0 && s->n_head >= 0, SL_ERR_CONFIG,
           "GPT shape fields must be >= 0 (0 = open), got C=%d n_layer=%d n_head=%d", s->C,
           s->n_layer, s->n_head);
  SL_CHECK(s->C == 0 || s->n_head == 0 || s->C % s->n_head == 0, SL_ERR_CONFIG,
           "GPT C=%d is not a multiple of n_head=%d", s->C, s->n_head);
  if (s->C == 0 || s->n_layer == 0) {
    int c = 0, l = 0;
    double miss = 0.0;
    gpt_shape_pass(s, target, -1.0, &c, &l, &miss);
    SL_CHECK(c > 0, SL_ERR_CONFIG,
             "no GPT shape found for target N=%g (V=%d, T=%d, C=%d, n_layer=%d, n_head=%d)", target,
             s->V, s->T, s->C, s->n_layer, s->n_head);
    gpt_shape_pass(s, target, fmax(miss, GPT_SHAPE_TOL), &c, &l, &miss);
    s->C = c;
    s->n_layer = l;
  }
  if (s->n_head == 0) s->n_head = gpt_heads_for(s->C);
  return SL_OK;
}

/* Training FLOPs per predicted token, Kaplan et al. 2020 (sec. 2.1, table 1): the forward costs
 * 2 N_no_embed (a multiply-add per weight) + 2 L T C (their "attention: mask" row, the QK^T
 * scores of a token against a full context of T), the backward twice the forward, so
 *   flops_per_token = 6 N_no_embed + 6 L T C.
 * As in Kaplan, the P V product, LayerNorm, GELU and softmax are left out and the context is
 * counted in full (a causal average would be T / 2): a convention for comparing models with the
 * literature, not a cycle count. */
static double gpt_flops_per_token(const sl_model_spec *s) {
  size_t no_embed = 0;
  if (gpt_param_count(s, &no_embed) == 0) return 0.0;
  return 6.0 * (double)no_embed + 6.0 * (double)s->n_layer * (double)s->T * (double)s->C;
}

/* ---------------------------------------------------------------- lifecycle */

/* Hands out consecutive pieces of a flat buffer. */
static float *gpt_carve(float **cursor, size_t n) {
  float *r = *cursor;
  *cursor += n;
  return r;
}

/* Points v at the tensors of the flat buffer base, in the layout of the header comment; returns
 * the number of floats covered. */
static size_t gpt_views_at(gpt_views *v, float *base, const gpt *p) {
  const size_t V = p->V, T = p->T, C = p->C;
  float *q = base;
  v->wte = gpt_carve(&q, V * C);
  v->wpe = gpt_carve(&q, T * C);
  for (size_t l = 0; l < p->L; l++) {
    gpt_block *k = &v->block[l];
    k->ln1_g = gpt_carve(&q, C);
    k->ln1_b = gpt_carve(&q, C);
    k->qkv_w = gpt_carve(&q, 3 * C * C);
    k->qkv_b = gpt_carve(&q, 3 * C);
    k->proj_w = gpt_carve(&q, C * C);
    k->proj_b = gpt_carve(&q, C);
    k->ln2_g = gpt_carve(&q, C);
    k->ln2_b = gpt_carve(&q, C);
    k->fc_w = gpt_carve(&q, 4 * C * C);
    k->fc_b = gpt_carve(&q, 4 * C);
    k->fcproj_w = gpt_carve(&q, 4 * C * C);
    k->fcproj_b = gpt_carve(&q, C);
  }
  v->lnf_g = gpt_carve(&q, C);
  v->lnf_b = gpt_carve(&q, C);
  v->head_w = p->tied ? v->wte : gpt_carve(&q, V * C);
  return (size_t)(q - base);
}

static void gpt_teardown(sl_model *m) {
  gpt *p = m->impl;
  if (!p) return;
  free(p->w.block);
  free(p->g.block);
  free(p->acts);
  free(p->arena);
  free(p->last_tokens);
  free(p);
  m->impl = NULL;
}

/* Activations, one arena: per block 16 BT C + 4 BT + B NH T^2 floats, plus the rest. */
/* sl_gemm's packed operand for the largest of the step's products: the forward's [K x N] =
 * [cin x cout] and the backward's dinp = dout . W, [cout x cin]. */
static size_t gpt_gemm_work_floats(size_t C, size_t V) {
  const size_t kn[][2] = {{C, 3 * C}, {C, C}, {C, 4 * C}, {4 * C, C}, {C, V}, {V, C}, {3 * C, C}};
  size_t most = 0;
  for (size_t i = 0; i < sizeof kn / sizeof *kn; i++) {
    const size_t f = sl_gemm_work_floats(kn[i][0], kn[i][1]);
    most = f > most ? f : most;
  }
  return most;
}

static size_t gpt_arena_floats(size_t B, size_t T, size_t C, size_t L, size_t NH, size_t V) {
  const size_t BT = B * T;
  const size_t per_block = 16 * BT * C + 4 * BT + B * NH * T * T;
  return L * per_block + 2 * BT * C + 2 * BT + BT * V /* forward */
         + BT * V + 3 * BT * C + 3 * BT * C + 4 * BT * C +
         sl_gpt_attention_scratch_floats(T, C / NH) /* backward */
         + gpt_gemm_work_floats(C, V);
}

static int gpt_setup(sl_model *m) {
  const sl_model_spec *s = &m->spec;
  SL_CHECK(gpt_param_count(s, NULL) == m->n_params && m->n_params > 0, SL_ERR_CONFIG,
           "GPT spec invalid: V=%d T=%d C=%d n_layer=%d n_head=%d (C must be a multiple of n_head)",
           s->V, s->T, s->C, s->n_layer, s->n_head);
  const size_t V = (size_t)s->V, T = (size_t)s->T, C = (size_t)s->C, L = (size_t)s->n_layer;
  const size_t NH = (size_t)s->n_head, B = (size_t)s->B, BT = B * T;
  SL_CHECK(BT <= INT_MAX && 4 * C <= INT_MAX && V <= INT_MAX, SL_ERR_CONFIG,
           "GPT sizes B*T=%zu, 4C=%zu, V=%zu do not fit BLAS's int", BT, 4 * C, V);

  gpt *p = NULL;
  SL_ALLOC(p, 1);
  m->impl = p; /* from here teardown frees whatever was allocated */
  p->V = V, p->T = T, p->C = C, p->L = L, p->NH = NH, p->B = B;
  p->tied = s->tied != 0;
  SL_ALLOC(p->w.block, L);
  SL_ALLOC(p->g.block, L);
  SL_ALLOC(p->acts, L);
  SL_ALLOC(p->last_tokens, B * (T + 1));

  const size_t nw = gpt_views_at(&p->w, m->params, p);
  const size_t ng = gpt_views_at(&p->g, m->grads, p);
  SL_CHECK(nw == m->n_params && ng == m->n_params, SL_ERR_INTERNAL,
           "GPT views cover %zu of %zu parameters", nw, m->n_params);

  /* Groups: LayerNorm gains and biases are norms, the other vectors biases, wte and wpe
   * embeddings, the matmul weights and an untied head matrices. */
  memset(m->group, SL_PARAM_BIAS, m->n_params);
#define GPT_GROUP(ptr, n, grp) memset(m->group + ((ptr)-m->params), (grp), (n))
  GPT_GROUP(p->w.wte, V * C, SL_PARAM_EMBED);
  GPT_GROUP(p->w.wpe, T * C, SL_PARAM_EMBED);
  for (size_t l = 0; l < L; l++) {
    GPT_GROUP(p->w.block[l].ln1_g, C, SL_PARAM_NORM);
    GPT_GROUP(p->w.block[l].ln1_b, C, SL_PARAM_NORM);
    GPT_GROUP(p->w.block[l].ln2_g, C, SL_PARAM_NORM);
    GPT_GROUP(p->w.block[l].ln2_b, C, SL_PARAM_NORM);
    GPT_GROUP(p->w.block[l].qkv_w, 3 * C * C, SL_PARAM_MATRIX);
    GPT_GROUP(p->w.block[l].proj_w, C * C, SL_PARAM_MATRIX);
    GPT_GROUP(p->w.block[l].fc_w, 4 * C * C, SL_PARAM_MATRIX);
    GPT_GROUP(p->w.block[l].fcproj_w, 4 * C * C, SL_PARAM_MATRIX);
  }
  GPT_GROUP(p->w.lnf_g, C, SL_PARAM_NORM);
  GPT_GROUP(p->w.lnf_b, C, SL_PARAM_NORM);
  if (!p->tied) GPT_GROUP(p->w.head_w, V * C, SL_PARAM_MATRIX);
#undef GPT_GROUP

  const size_t total = gpt_arena_floats(B, T, C, L, NH, V);
  SL_ALLOC(p->arena, total);
  float *cur = p->arena;
  for (size_t l = 0; l < L; l++) {
    gpt_acts *a = &p->acts[l];
    a->ln1 = gpt_carve(&cur, BT * C);
    a->ln1_mean = gpt_carve(&cur, BT);
    a->ln1_rstd = gpt_carve(&cur, BT);
    a->qkv = gpt_carve(&cur, BT * 3 * C);
    a->att = gpt_carve(&cur, B * NH * T * T);
    a->atty = gpt_carve(&cur, BT * C);
    a->res1 = gpt_carve(&cur, BT * C);
    a->ln2 = gpt_carve(&cur, BT * C);
    a->ln2_mean = gpt_carve(&cur, BT);
    a->ln2_rstd = gpt_carve(&cur, BT);
    a->fch = gpt_carve(&cur, BT * 4 * C);
    a->fch_gelu = gpt_carve(&cur, BT * 4 * C);
    a->res2 = gpt_carve(&cur, BT * C);
  }
  p->x0 = gpt_carve(&cur, BT * C);
  p->lnf = gpt_carve(&cur, BT * C);
  p->lnf_mean = gpt_carve(&cur, BT);
  p->lnf_rstd = gpt_carve(&cur, BT);
  p->logits = gpt_carve(&cur, BT * V);
  p->dlogits = gpt_carve(&cur, BT * V);
  p->dres = gpt_carve(&cur, BT * C);
  p->dln = gpt_carve(&cur, BT * C);
  p->datty = gpt_carve(&cur, BT * C);
  p->dqkv = gpt_carve(&cur, BT * 3 * C);
  p->dfch = gpt_carve(&cur, BT * 4 * C);
  p->datt = gpt_carve(&cur, sl_gpt_attention_scratch_floats(T, C / NH));
  p->work = gpt_carve(&cur, gpt_gemm_work_floats(C, V));
  SL_CHECK((size_t)(cur - p->arena) == total, SL_ERR_INTERNAL, "GPT arena carved %zu of %zu floats",
           (size_t)(cur - p->arena), total);
  m->targets_per_row = (int)T;
  return SL_OK;
}

/* Init (GPT-2's): every weight matrix and both embeddings ~ N(0, 0.02^2); the two projections
 * that write into the residual stream (proj_w, fcproj_w) ~ N(0, (0.02 / sqrt(2L))^2), since each
 * of the 2L residual additions adds its variance to the stream; LayerNorm gains 1; biases 0.
 * Drawn in buffer order from rng, so a model's init depends on the stream only. */
static int gpt_init(sl_model *m, sl_rng *rng) {
  gpt *p = m->impl;
  const size_t V = p->V, T = p->T, C = p->C;
  const double std = 0.02, std_res = 0.02 / sqrt(2.0 * (double)p->L);
  memset(m->params, 0, m->n_params * sizeof *m->params);
  SL_CALL(sl_init_normal(p->w.wte, V * C, std, rng));
  SL_CALL(sl_init_normal(p->w.wpe, T * C, std, rng));
  for (size_t l = 0; l < p->L; l++) {
    gpt_block *k = &p->w.block[l];
    for (size_t c = 0; c < C; c++)
      k->ln1_g[c] = k->ln2_g[c] = 1.0f;
    SL_CALL(sl_init_normal(k->qkv_w, 3 * C * C, std, rng));
    SL_CALL(sl_init_normal(k->proj_w, C * C, std_res, rng));
    SL_CALL(sl_init_normal(k->fc_w, 4 * C * C, std, rng));
    SL_CALL(sl_init_normal(k->fcproj_w, 4 * C * C, std_res, rng));
  }
  for (size_t c = 0; c < C; c++)
    p->w.lnf_g[c] = 1.0f;
  if (!p->tied) SL_CALL(sl_init_normal(p->w.head_w, V * C, std, rng));
  p->last_B = 0;
  return SL_OK;
}

/* ---------------------------------------------------------------- forward / backward */

static int gpt_forward(sl_model *m, const int32_t *tokens, int B_, float *loss) {
  gpt *p = m->impl;
  SL_CHECK(B_ >= 1 && (size_t)B_ <= p->B, SL_ERR_ARG, "GPT batch of %d rows, created for 1..%zu",
           B_, p->B);
  const size_t B = (size_t)B_, T = p->T, C = p->C, V = p->V, NH = p->NH, BT = B * T;
  const gpt_views *w = &p->w;
  p->last_B = 0; /* a failure below leaves nothing for backward to trust */
  SL_CALL(gpt_embed_forward(p->x0, tokens, w->wte, w->wpe, B, T, C));
  const float *res = p->x0;
  for (size_t l = 0; l < p->L; l++) {
    const gpt_block *k = &w->block[l];
    gpt_acts *a = &p->acts[l];
    SL_CALL(sl_layernorm_forward(a->ln1, a->ln1_mean, a->ln1_rstd, res, k->ln1_g, k->ln1_b, BT, C));
    SL_CALL(gpt_linear(a->qkv, a->ln1, k->qkv_w, k->qkv_b, BT, C, 3 * C, p->work));
    if ((C / NH) % 8 == 0)
      SL_CALL(sl_gpt_attention_forward_vec(a->atty, a->att, p->datt, a->qkv, B, T, C, NH));
    else
      SL_CALL(sl_gpt_attention_forward(a->atty, a->att, a->qkv, B, T, C, NH));
    SL_CALL(sl_gpt_matmul_residual(a->res1, a->atty, k->proj_w, k->proj_b, res, BT, C, C, p->work));
    SL_CALL(
        sl_layernorm_forward(a->ln2, a->ln2_mean, a->ln2_rstd, a->res1, k->ln2_g, k->ln2_b, BT, C));
    SL_CALL(gpt_linear(a->fch, a->ln2, k->fc_w, k->fc_b, BT, C, 4 * C, p->work));
    SL_CALL(sl_gelu_forward(a->fch_gelu, a->fch, BT * 4 * C));
    SL_CALL(sl_gpt_matmul_residual(a->res2, a->fch_gelu, k->fcproj_w, k->fcproj_b, a->res1, BT,
                                   4 * C, C, p->work));
    res = a->res2;
  }
  SL_CALL(sl_layernorm_forward(p->lnf, p->lnf_mean, p->lnf_rstd, res, w->lnf_g, w->lnf_b, BT, C));
  SL_CALL(gpt_linear(p->logits, p->lnf, w->head_w, NULL, BT, C, V, p->work));
  double l = 0.0;
  SL_CALL(sl_xent_forward(m->probs, &l, p->logits, tokens + 1, B, T, T + 1, V));
  *loss = (float)l;
  memcpy(p->last_tokens, tokens, B * (T + 1) * sizeof *tokens);
  p->last_B = B_;
  return SL_OK;
}

static int gpt_backward(sl_model *m, const int32_t *tokens, int B_) {
  gpt *p = m->impl;
  const size_t B = (size_t)B_, T = p->T, C = p->C, V = p->V, NH = p->NH, BT = B * T;
  SL_CHECK(p->last_B == B_ && memcmp(p->last_tokens, tokens, B * (T + 1) * sizeof *tokens) == 0,
           SL_ERR_STATE,
           "GPT backward on a batch (%d rows) other than the last forward's (%d rows): call "
           "forward on the same tokens first",
           B_, p->last_B);
  const gpt_views *w = &p->w, *g = &p->g;
  /* The parameter gradients accumulate, so they start from zero; so does dres, which every
   * LayerNorm adds into (the residual stream's gradient). An activation gradient with a single
   * producer is overwritten by it (sl_matmul_backward_set) instead. */
  memset(m->grads, 0, m->n_params * sizeof *m->grads);
  const size_t nc = BT * C * sizeof(float);
  memset(p->dres, 0, nc);

  /* forward: sl_xent_forward(m->probs, &l, p->logits, tokens + 1, B, T, T + 1, V) */
  SL_CALL(sl_xent_backward(p->dlogits, m->probs, tokens + 1, B, T, T + 1, V));
  /* forward: sl_matmul_forward(p->logits, p->lnf, w->head_w, NULL, ...); tied: into dwte */
  SL_CALL(gpt_linear_backward(p->dln, g->head_w, NULL, p->dlogits, p->lnf, w->head_w, BT, C, V,
                              p->work));
  const float *res = p->L > 0 ? p->acts[p->L - 1].res2 : p->x0;
  SL_CALL(sl_layernorm_backward(p->dres, g->lnf_g, g->lnf_b, p->dln, res, w->lnf_g, p->lnf_mean,
                                p->lnf_rstd, BT, C));
  for (size_t l = p->L; l-- > 0;) {
    const gpt_block *k = &w->block[l], *dk = &g->block[l];
    const gpt_acts *a = &p->acts[l];
    const float *res_in = l > 0 ? p->acts[l - 1].res2 : p->x0;
    /* dres holds d res2. forward: sl_gpt_matmul_residual(a->res2, a->fch_gelu, k->fcproj_w,
     * k->fcproj_b, a->res1, ...) passes it to both the fcproj output and res1 unchanged. */
    SL_CALL(gpt_linear_backward(p->dfch, dk->fcproj_w, dk->fcproj_b, p->dres, a->fch_gelu,
                                k->fcproj_w, BT, 4 * C, C, p->work));
    /* forward: sl_gelu_forward(a->fch_gelu, a->fch, BT * 4 * C), which left gelu' in a->fch;
     * the same pass sums fc's bias gradient */
    SL_CALL(sl_gelu_backward_bias(p->dfch, dk->fc_b, a->fch, BT, 4 * C));
    /* forward: sl_matmul_forward(a->fch, a->ln2, k->fc_w, k->fc_b, BT, C, 4 * C, ...) */
    SL_CALL(gpt_linear_backward(p->dln, dk->fc_w, NULL, p->dfch, a->ln2, k->fc_w, BT, C, 4 * C,
                                p->work));
    /* forward: sl_layernorm_forward(a->ln2, ..., a->res1, k->ln2_g, k->ln2_b, BT, C); adds the
     * MLP branch's share to dres, which becomes d res1 */
    SL_CALL(sl_layernorm_backward(p->dres, dk->ln2_g, dk->ln2_b, p->dln, a->res1, k->ln2_g,
                                  a->ln2_mean, a->ln2_rstd, BT, C));
    /* forward: sl_gpt_matmul_residual(a->res1, a->atty, k->proj_w, k->proj_b, res, ...): d res1
     * reaches the proj output as is */
    SL_CALL(gpt_linear_backward(p->datty, dk->proj_w, dk->proj_b, p->dres, a->atty, k->proj_w, BT,
                                C, C, p->work));
    /* forward: sl_gpt_attention_forward(a->atty, a->att, a->qkv, B, T, C, NH) */
    /* the vector kernel overwrites dqkv and sums qkv's bias gradient on the way */
    const int vec = (C / NH) % 8 == 0;
    if (vec)
      SL_CALL(sl_gpt_attention_backward_vec_set(p->dqkv, dk->qkv_b, p->datt, p->datty, a->att,
                                                a->qkv, B, T, C, NH));
    else {
      memset(p->dqkv, 0, 3 * nc);
      SL_CALL(sl_gpt_attention_backward(p->dqkv, p->datt, p->datty, a->att, a->qkv, B, T, C, NH));
    }
    /* forward: sl_matmul_forward(a->qkv, a->ln1, k->qkv_w, k->qkv_b, BT, C, 3 * C, ...) */
    SL_CALL(gpt_linear_backward(p->dln, dk->qkv_w, vec ? NULL : dk->qkv_b, p->dqkv, a->ln1,
                                k->qkv_w, BT, C, 3 * C, p->work));
    /* forward: sl_layernorm_forward(a->ln1, ..., res, k->ln1_g, k->ln1_b, BT, C); dres becomes
     * d res_in, the gradient of the previous block's output */
    SL_CALL(sl_layernorm_backward(p->dres, dk->ln1_g, dk->ln1_b, p->dln, res_in, k->ln1_g,
                                  a->ln1_mean, a->ln1_rstd, BT, C));
  }
  /* forward: gpt_embed_forward(p->x0, tokens, w->wte, w->wpe, B, T, C) */
  SL_CALL(gpt_embed_backward(g->wte, g->wpe, p->dres, tokens, B, T, C));
  return SL_OK;
}

static size_t gpt_activation_floats(const sl_model_spec *s) {
  return gpt_arena_floats((size_t)s->B, (size_t)s->T, (size_t)s->C, (size_t)s->n_layer,
                          (size_t)s->n_head, (size_t)s->V);
}

const sl_model_ops sl_gpt_ops = {
    .name = "gpt",
    .activation_floats = gpt_activation_floats,
    .param_count = gpt_param_count,
    .shape_from_target = gpt_shape_from_target,
    .flops_per_token = gpt_flops_per_token,
    .setup = gpt_setup,
    .init = gpt_init,
    .forward = gpt_forward,
    .backward = gpt_backward,
    .teardown = gpt_teardown,
};
