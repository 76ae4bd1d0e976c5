/* Private to src/model: the family ops tables and the kernels the MLP and the GPT share.
 *
 * Legend: B batch, T context, C channels, H hidden, V vocabulary, N params. A kernel's `n` is the
 * number of rows it processes (B for the MLP, B*T for the GPT).
 *
 * Every kernel returns a status; the only failures are arguments (sizes that BLAS's int cannot
 * hold, a token outside [0, V)). Backward kernels ACCUMULATE into their gradient outputs (+=), as
 * in llm.c: the caller zeroes the grads once per backward, and a weight used twice (a tied output
 * head) simply collects both contributions. Each fast (BLAS) kernel has a naive loop kernel next to
 * it with the same contract; tests/unit/test_mlp.c holds them equal. */
#ifndef SLINGSHOT_MODEL_IMPL_H
#define SLINGSHOT_MODEL_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "slingshot/model.h"
#include "slingshot/rng.h"
#include "slingshot/timer.h"

/* The families. model.c's table lists only those whose ops are compiled in. */
extern const sl_model_ops sl_mlp_ops; /* mlp.c */
extern const sl_model_ops sl_gpt_ops; /* gpt.c: add &sl_gpt_ops to model.c's table once it exists */

/* How a weight matrix is stored (row-major either way). */
typedef enum sl_wlayout {
  SL_W_IN_OUT = 0, /* w [cin x cout]: out = inp . w (the MLP's W1, W2) */
  SL_W_OUT_IN = 1  /* w [cout x cin]: out = inp . w^T (torch's nn.Linear; a head tied to [V x C]) */
} sl_wlayout;

/* ---------------------------------------------------------------- matmul
 * out[n x cout] = inp[n x cin] . W + bias[cout]   (bias may be NULL).
 * Overwrites out. */
int sl_matmul_forward(float *out, const float *inp, const float *w, const float *bias, size_t n,
                      size_t cin, size_t cout, sl_wlayout layout);
int sl_matmul_forward_naive(float *out, const float *inp, const float *w, const float *bias,
                            size_t n, size_t cin, size_t cout, sl_wlayout layout);
/* Gradients of the forward above given dout [n x cout], accumulated:
 *   dinp [n x cin] += dout . W^T,  dW += inp^T . dout (in W's layout),  dbias [cout] += sum_n dout.
 * Any of dinp, dw, dbias may be NULL to skip it (the first layer needs no dinp). */
int sl_matmul_backward(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                       const float *w, size_t n, size_t cin, size_t cout, sl_wlayout layout);
int sl_matmul_backward_naive(float *dinp, float *dw, float *dbias, const float *dout,
                             const float *inp, const float *w, size_t n, size_t cin, size_t cout,
                             sl_wlayout layout);
/* The naive references' bias gradient: dbias [cols] += column sums of dout [n x cols], each
 * summed in double. */
void sl_bias_grad_naive(float *dbias, const float *dout, size_t n, size_t cols);
/* As sl_matmul_backward, but dinp is OVERWRITTEN (dinp = dout . W^T; dw and dbias still
 * accumulate): saves the caller zeroing an activation gradient that has one producer. */
int sl_matmul_backward_set(float *dinp, float *dw, float *dbias, const float *dout,
                           const float *inp, const float *w, size_t n, size_t cin, size_t cout,
                           sl_wlayout layout);

/* ---------------------------------------------------------------- sgemm (gemm.c)
 * C [M x N] (rows ldc apart) = beta C + bias + op(A) . op(B), beta 0 or 1, bias [N] or NULL;
 * op(A) [M x K] is A[i*lda + k], or A[k*lda + i] when ta; op(B) [K x N] is B[k*ldb + j], or
 * B[j*ldb + k] when tb. work holds sl_gemm_work_floats(K, N) floats (the packed B; any alignment).
 * Runs slingshot's AVX2 kernel when the CPU has AVX2 and FMA, else cblas_sgemm (gemm.c says why
 * and when each is faster); SLINGSHOT_GEMM=blas in the environment or sl_gemm_set_backend (tests,
 * benches; not thread-safe) forces one. The naive reference sums in double. */
typedef enum sl_gemm_backend {
  SL_GEMM_AUTO = 0,
  SL_GEMM_BLAS = 1,
  SL_GEMM_OWN = 2
} sl_gemm_backend;
int sl_gemm(int ta, int tb, size_t M, size_t N, size_t K, const float *A, size_t lda,
            const float *B, size_t ldb, float beta, const float *bias, float *C, size_t ldc,
            float *work);
int sl_gemm_naive(int ta, int tb, size_t M, size_t N, size_t K, const float *A, size_t lda,
                  const float *B, size_t ldb, float beta, const float *bias, float *C, size_t ldc);
size_t sl_gemm_work_floats(size_t K, size_t N);
void sl_gemm_set_backend(sl_gemm_backend b);
sl_gemm_backend sl_gemm_active_backend(void); /* OWN or BLAS: what sl_gemm runs now */
int sl_gemm_own_supported(void);              /* 1 when this CPU runs the AVX2 kernel */

/* The matmul tally (model.h): sl_mm_t0 before a product (sl_wtime, or 0 when the tally is off),
 * sl_mm_add after it with the product's shape. */
extern int sl_mm_tally_on;
void sl_mm_add_on(double t0, size_t M, size_t N, size_t K);
static inline double sl_mm_t0(void) {
  return sl_mm_tally_on ? sl_wtime() : 0.0;
}
static inline void sl_mm_add(double t0, size_t M, size_t N, size_t K) {
  if (sl_mm_tally_on) sl_mm_add_on(t0, M, N, K);
}

/* ---------------------------------------------------------------- softmax cross-entropy
 * Predictions are laid out as `rows` rows of `per_row` predictions each; logits and probs are
 * [rows x per_row x V]. The target of prediction (r, j) is targets[r * stride + j], so both
 * families read their targets straight out of the [B x (T+1)] token rows:
 *   MLP: targets = tokens + T, per_row = 1, stride = T + 1
 *   GPT: targets = tokens + 1, per_row = T, stride = T + 1
 * Forward: probs = softmax(logits) per prediction; *loss = mean over predictions of
 * -log probs[target], in nats. Computed in double (max-shifted log-sum-exp), so the loss is as
 * exact as the float logits allow. SL_ERR_ARG for a target outside [0, V). */
int sl_xent_forward(float *probs, double *loss, const float *logits, const int32_t *targets,
                    size_t rows, size_t per_row, size_t stride, size_t V);
/* dlogits = (probs - onehot(target)) / (rows * per_row): the gradient of the mean loss.
 * Overwrites dlogits (it may alias probs when the caller no longer needs the probabilities). */
int sl_xent_backward(float *dlogits, const float *probs, const int32_t *targets, size_t rows,
                     size_t per_row, size_t stride, size_t V);
/* The fast pair above works in float (sl_expf_fast, 8-lane sums; the log and the loss in
 * double); these references in double with libm, as the contract says. */
int sl_xent_forward_naive(float *probs, double *loss, const float *logits, const int32_t *targets,
                          size_t rows, size_t per_row, size_t stride, size_t V);
int sl_xent_backward_naive(float *dlogits, const float *probs, const int32_t *targets, size_t rows,
                           size_t per_row, size_t stride, size_t V);

/* ---------------------------------------------------------------- MLP first-layer path (mlp.c)
 * AUTO (the default) uses the per-position tables when V < B rows and they were allocated
 * (V < spec.B), else the sgemm path; the others force a path (tests hold them equal). Forcing
 * TABLE on a model without tables is SL_ERR_ARG. sl_mlp_last_path: the path of the last forward
 * (AUTO when there was none since the last set). */
typedef enum sl_mlp_path {
  SL_MLP_PATH_AUTO = 0,
  SL_MLP_PATH_SGEMM = 1,
  SL_MLP_PATH_TABLE = 2
} sl_mlp_path;
int sl_mlp_set_path(sl_model *m, sl_mlp_path path);
sl_mlp_path sl_mlp_last_path(const sl_model *m);

/* ---------------------------------------------------------------- MLP layers (mlp.c)
 * Embedding of a window: x[b, t*C + c] = emb[tokens[b*(T+1) + t], c] for t < T. x is [B x T*C]. */
int sl_mlp_embed_forward(float *x, const int32_t *tokens, const float *emb, size_t B, size_t T,
                         size_t C);
/* demb[tokens[b*(T+1)+t], c] += dx[b, t*C + c]. */
int sl_mlp_embed_backward(float *demb, const float *dx, const int32_t *tokens, size_t B, size_t T,
                          size_t C);
/* out[i] = tanh(inp[i]); out may alias inp. */
int sl_tanh_forward(float *out, const float *inp, size_t n);
/* dinp[i] = dout[i] * (1 - out[i]^2), from the forward's OUTPUT; dinp may alias dout. */
int sl_tanh_backward(float *dinp, const float *dout, const float *out, size_t n);

/* ---------------------------------------------------------------- GPT layers (gpt.c)
 * LayerNorm over rows of C: out = (x - mean) rstd g + b, rstd = 1 / sqrt(var + 1e-5), var biased
 * (torch's); mean [n], rstd [n] are kept for the backward. The backward ACCUMULATES into dx, dg,
 * db. The fast pair computes in float with 8-lane sums (its backward's arguments must not
 * overlap); the naive pair keeps the statistics in double. */
int sl_layernorm_forward(float *out, float *mean, float *rstd, const float *x, const float *g,
                         const float *b, size_t n, size_t C);
int sl_layernorm_forward_naive(float *out, float *mean, float *rstd, const float *x, const float *g,
                               const float *b, size_t n, size_t C);
int sl_layernorm_backward(float *restrict dx, float *restrict dg, float *restrict db,
                          const float *restrict dout, const float *restrict x,
                          const float *restrict g, const float *restrict mean,
                          const float *restrict rstd, size_t n, size_t C);
int sl_layernorm_backward_naive(float *dx, float *dg, float *db, const float *dout, const float *x,
                                const float *g, const float *mean, const float *rstd, size_t n,
                                size_t C);
/* GELU, tanh approximation (torch's approximate="tanh"): out[i] = gelu(xd[i]), and xd[i] is
 * OVERWRITTEN with gelu'(xd[i]) for the backward (out must not alias xd). Backward, in place:
 * d[i] (d out on entry) *= dgelu[i] (d x on return). */
int sl_gelu_forward(float *restrict out, float *xd, size_t n);
int sl_gelu_forward_naive(float *out, float *xd, size_t n);
int sl_gelu_backward(float *restrict d, const float *restrict dgelu, size_t n);

/* ---------------------------------------------------------------- fast tanh
 * tanh of a float without a libm call, so that loops over it vectorise (glibc's tanhf costs ~20 ns
 * per element here, more than the GPT's matmuls around it). For |x| < 0.3 the odd Taylor series to
 * x^11 (the next term is < 2e-9 relative); above, tanh|x| = (1 - t) / (1 + t), t = exp(-2|x|), with
 * exp(y) = 2^k e^r, k = round(y / ln 2), |r| <= ln2 / 2, e^r by its Taylor series to r^7, and |x|
 * clamped at 9 (tanh(9) rounds to 1 in float). Max error 2.2 float ulp (scan of 2e7 points in
 * [-12, 12]); odd; NaN in, NaN out; +-inf -> +-1. Branches are integer selects on the bit
 * patterns (non-negative floats order as their bits), which do not trap, so GCC if-converts and
 * vectorises the loop. */
static inline float sl_tanhf_fast(float x) {
  uint32_t xb;
  memcpy(&xb, &x, sizeof xb);
  const uint32_t ab = xb & 0x7fffffffu, sign = xb & 0x80000000u;
  const uint32_t cb = ab < 0x41100000u ? ab : 0x41100000u; /* min(|x|, 9) */
  float a;
  memcpy(&a, &cb, sizeof a);
  const float a2 = a * a;
  const float p =
      a +
      a * a2 *
          (-1.0f / 3 +
           a2 * (2.0f / 15 + a2 * (-17.0f / 315 + a2 * (62.0f / 2835 + a2 * (-1382.0f / 155925)))));
  const float y = -2.0f * a; /* in [-18, 0] */
  /* k = round(y / ln 2) by the 1.5 * 2^23 trick: the sum's low mantissa bits hold k */
  const float zz = y * 1.44269504f + 12582912.0f;
  const float kf = zz - 12582912.0f;
  uint32_t zb;
  memcpy(&zb, &zz, sizeof zb);
  const float r = (y - kf * 0.693145752f) - kf * 1.42860677e-6f; /* ln 2 = hi + lo */
  const float er =
      1.0f +
      r * (1.0f + r * (0.5f + r * (1.0f / 6 +
                                   r * (1.0f / 24 +
                                        r * (1.0f / 120 + r * (1.0f / 720 + r * (1.0f / 5040)))))));
  const uint32_t sb = (zb - 0x4b400000u + 127u) << 23; /* 2^k, k in [-26, 0] */
  float s;
  memcpy(&s, &sb, sizeof s);
  const float t = er * s;
  const float q = (1.0f - t) / (1.0f + t);
  uint32_t pb, qb;
  memcpy(&pb, &p, sizeof pb);
  memcpy(&qb, &q, sizeof qb);
  uint32_t mb = (ab < 0x3e99999au ? pb : qb) | sign; /* 0x3e99999a = 0.3f */
  mb = ab > 0x7f800000u ? xb : mb;                   /* NaN */
  float m;
  memcpy(&m, &mb, sizeof m);
  return m;
}

/* ---------------------------------------------------------------- vector kernels
 * SL_VEC marks an elementwise kernel that GCC compiles twice, for x86-64-v3 (AVX2 + FMA) and
 * for the build's baseline, picking one at load time (target_clones, an ifunc): the loops are
 * 8 floats wide where the CPU allows, and the binary still runs on any x86-64. Every rank of a
 * run takes the same clone, so results stay bitwise reproducible on a machine; across machines
 * the BLAS kernels differ anyway. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define SL_VEC __attribute__((target_clones("arch=x86-64-v3", "default")))
#endif
#endif
#ifndef SL_VEC
#define SL_VEC
#endif

/* Lane count of the explicit partial sums that let reductions vectorise without
 * -fassociative-math: lane l sums elements l, l + 8, ...; the lanes are added in a fixed order,
 * so a sum is the same on every run. */
#define SL_LANES 8

/* e^x in float without a libm call, so that loops over it vectorise: exp(x) = 2^k e^r,
 * k = round(x / ln 2), |r| <= ln2 / 2, e^r by its Taylor series to r^7 (next term < 5e-9
 * relative), x clamped to [-87.3, 88.3] so that 2^k stays a normal float. Max error about 2 ulp
 * inside that range; below it returns ~1.2e-38 instead of a denormal or 0 (harmless for the
 * softmax and the sigmoid it serves), above it ~2.4e38 instead of inf. NaN in, NaN out. */
static inline float sl_expf_fast(float x) {
  const float lo = -87.3f, hi = 88.3f;
  float c = x < lo ? lo : x;
  c = c > hi ? hi : c;
  c = x != x ? x : c; /* NaN */
  const float zz = c * 1.44269504f + 12582912.0f;
  const float kf = zz - 12582912.0f;
  uint32_t zb;
  memcpy(&zb, &zz, sizeof zb);
  const float r = (c - kf * 0.693145752f) - kf * 1.42860677e-6f;
  const float er =
      1.0f +
      r * (1.0f + r * (0.5f + r * (1.0f / 6 +
                                   r * (1.0f / 24 +
                                        r * (1.0f / 120 + r * (1.0f / 720 + r * (1.0f / 5040)))))));
  const uint32_t sb = (zb - 0x4b400000u + 127u) << 23; /* 2^k, k in [-126, 127] */
  float s;
  memcpy(&s, &sb, sizeof s);
  return er * s;
}

/* ---------------------------------------------------------------- init
 * p[i] ~ Normal(0, std^2) from rng, in index order (deterministic for a given stream). */
int sl_init_normal(float *p, size_t n, double std, sl_rng *rng);

#endif
