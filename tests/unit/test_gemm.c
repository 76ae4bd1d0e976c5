/* slingshot's sgemm (src/model/gemm.c): both backends against the double-precision naive loop,
 * over every transpose, beta 0 and 1, with and without a bias row, ragged sizes (rows not a
 * multiple of the 6-row tile, columns not a multiple of the 16-column panel, K = 0) and padded
 * leading dimensions; nothing outside C's M x N block is written; bad arguments are refused. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/model/model_impl.h"
#include "slingshot/rng.h"
#include "test_util.h"

static void fill(float *x, size_t n, sl_rng *r) {
  for (size_t i = 0; i < n; i++)
    x[i] = (float)(sl_rng_uniform(r) * 2 - 1);
}

/* One product on the current backend against the naive loop: returns the max error over C's
 * entries relative to sum_k |a||b| + |c0| + |bias| (the scale of float rounding), and sets
 * *outside when an entry outside the M x N block changed. */
static double check_one(int ta, int tb, size_t M, size_t N, size_t K, float beta, int with_bias,
                        int *outside, sl_rng *r) {
  const size_t lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 5, ldc = N + 7;
  const size_t arows = ta ? K : M, brows = tb ? N : K;
  float *A = malloc((arows * lda + 1) * sizeof *A), *B = malloc((brows * ldb + 1) * sizeof *B);
  float *bias = malloc((N + 1) * sizeof *bias);
  float *C = malloc((M * ldc + 1) * sizeof *C), *Cref = malloc((M * ldc + 1) * sizeof *Cref);
  float *work = malloc(sl_gemm_work_floats(K, N) * sizeof *work);
  fill(A, arows * lda + 1, r);
  fill(B, brows * ldb + 1, r);
  fill(bias, N + 1, r);
  fill(C, M * ldc + 1, r);
  memcpy(Cref, C, (M * ldc + 1) * sizeof *C);
  SL_ASSERT_OK(
      sl_gemm(ta, tb, M, N, K, A, lda, B, ldb, beta, with_bias ? bias : NULL, C, ldc, work));
  SL_ASSERT_OK(
      sl_gemm_naive(ta, tb, M, N, K, A, lda, B, ldb, beta, with_bias ? bias : NULL, Cref, ldc));
  double worst = 0;
  for (size_t i = 0; i < M * ldc + 1; i++) {
    const size_t row = i / ldc, col = i % ldc;
    if (row >= M || col >= N) { /* padding: must be untouched (Cref is too) */
      if (memcmp(&C[i], &Cref[i], sizeof *C) != 0) *outside = 1;
      continue;
    }
    double scale = fabs(beta == 1.0f ? (double)Cref[i] : 0.0) + (with_bias ? fabs(bias[col]) : 0);
    for (size_t k = 0; k < K; k++)
      scale += fabs((double)(ta ? A[k * lda + row] : A[row * lda + k]) *
                    (tb ? B[col * ldb + k] : B[k * ldb + col]));
    const double err = fabs((double)C[i] - Cref[i]) / fmax(scale, 1e-30);
    worst = fmax(worst, err);
  }
  free(A), free(B), free(bias), free(C), free(Cref), free(work);
  return worst;
}

static void check_backend(sl_gemm_backend b, const char *name) {
  sl_gemm_set_backend(b);
  CU_ASSERT_EQUAL(sl_gemm_active_backend(), b);
  sl_rng r;
  sl_rng_seed(&r, 7);
  static const size_t Ms[] = {1, 5, 6, 7, 13, 40}, Ns[] = {1, 8, 15, 16, 17, 33, 48},
                      Ks[] = {0, 1, 3, 32, 65};
  double worst = 0;
  int outside = 0, cases = 0;
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++)
      for (size_t mi = 0; mi < sizeof Ms / sizeof *Ms; mi++)
        for (size_t ni = 0; ni < sizeof Ns / sizeof *Ns; ni++)
          for (size_t ki = 0; ki < sizeof Ks / sizeof *Ks; ki++)
            for (int mode = 0; mode < 4; mode++) { /* beta 0/1 x bias no/yes */
              const double e = check_one(ta, tb, Ms[mi], Ns[ni], Ks[ki], mode & 1 ? 1.0f : 0.0f,
                                         mode >> 1, &outside, &r);
              worst = fmax(worst, e);
              cases++;
            }
  /* the MLP's own shapes */
  worst = fmax(worst, check_one(0, 0, 512, 256, 256, 0.0f, 1, &outside, &r));
  worst = fmax(worst, check_one(1, 0, 256, 32, 256, 0.0f, 0, &outside, &r));
  worst = fmax(worst, check_one(0, 1, 256, 32, 256, 1.0f, 0, &outside, &r));
  printf("\n  %s: %d products, max error %.2e of sum |a b| (float: ~K * 6e-8); padding %s", name,
         cases + 3, worst, outside ? "WRITTEN" : "untouched");
  CU_ASSERT_TRUE(worst < 2e-6);
  CU_ASSERT_FALSE(outside);
  sl_gemm_set_backend(SL_GEMM_AUTO);
}

static void test_own(void) {
  if (!sl_gemm_own_supported()) {
    printf("\n  this CPU has no AVX2+FMA: the own kernel is not used here (BLAS is)");
    sl_gemm_set_backend(SL_GEMM_OWN);
    CU_ASSERT_EQUAL(sl_gemm_active_backend(), SL_GEMM_BLAS);
    sl_gemm_set_backend(SL_GEMM_AUTO);
    return;
  }
  check_backend(SL_GEMM_OWN, "own AVX2 kernel");
}

static void test_blas(void) {
  check_backend(SL_GEMM_BLAS, "cblas_sgemm");
}

static void test_errors(void) {
  float a[4] = {0}, b[4] = {0}, c[4] = {0}, w[64];
  CU_ASSERT_EQUAL(sl_gemm(0, 0, 2, 2, 2, a, 2, b, 2, 0.5f, NULL, c, 2, w), SL_ERR_ARG);
  CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), "beta"));
  sl_error_clear();
  CU_ASSERT_EQUAL(sl_gemm(0, 0, 2, 2, 2, a, 1, b, 2, 0.0f, NULL, c, 2, w), SL_ERR_ARG);
  CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), "leading"));
  sl_error_clear();
  /* an empty product is a no-op; K = 0 leaves start values (checked above) */
  SL_ASSERT_OK(sl_gemm(0, 0, 0, 2, 2, a, 2, b, 2, 0.0f, NULL, c, 2, w));
}

/* The matmul tally (bench train's split of a step) counts 2 M N K per product, on both
 * backends and through the linear layers, and nothing while it is off. */
static void test_tally(void) {
  enum { M = 7, N = 9, K = 5 };
  float a[M * K], b[K * N], c[M * N], w[4096], dw[K * N], da[M * K];
  sl_rng r;
  sl_rng_seed(&r, 5);
  for (size_t i = 0; i < M * K; i++)
    a[i] = (float)sl_rng_normal(&r);
  for (size_t i = 0; i < K * N; i++)
    b[i] = (float)sl_rng_normal(&r);
  CU_ASSERT_TRUE(sl_gemm_work_floats(K, N) <= 4096);
  const sl_gemm_backend backends[2] = {SL_GEMM_OWN, SL_GEMM_BLAS};
  for (int k = 0; k < 2; k++) {
    sl_gemm_set_backend(backends[k]);
    SL_ASSERT_OK(sl_gemm(0, 0, M, N, K, a, K, b, N, 0.0f, NULL, c, N, w)); /* not counted */
    sl_mm_tally_start();
    SL_ASSERT_OK(sl_gemm(0, 0, M, N, K, a, K, b, N, 0.0f, NULL, c, N, w));
    SL_ASSERT_OK(sl_gemm(1, 0, K, N, M, a, K, c, N, 0.0f, NULL, dw, N, w)); /* K x N, inner M */
    /* a linear layer: forward (M x N from K), then its input and weight gradients */
    SL_ASSERT_OK(sl_matmul_forward(c, a, b, NULL, M, K, N, SL_W_IN_OUT));
    memset(dw, 0, sizeof dw);
    SL_ASSERT_OK(sl_matmul_backward(da, dw, NULL, c, a, b, M, K, N, SL_W_IN_OUT));
    const sl_mm_tally t = sl_mm_tally_stop();
    CU_ASSERT_EQUAL(t.calls, 5);
    CU_ASSERT_DOUBLE_EQUAL(t.flops, 5 * 2.0 * M * N * K, 0.5);
    CU_ASSERT_TRUE(t.seconds > 0.0 && t.seconds < 10.0);
    SL_ASSERT_OK(sl_gemm(0, 0, M, N, K, a, K, b, N, 0.0f, NULL, c, N, w)); /* off again */
    sl_mm_tally_start();
    const sl_mm_tally z = sl_mm_tally_stop();
    CU_ASSERT_EQUAL(z.calls, 0);
    CU_ASSERT_EQUAL(z.flops, 0.0);
  }
  sl_gemm_set_backend(SL_GEMM_AUTO);
}

int main(int argc, char **argv) {
  static const sl_test tests[] = {
      {"own kernel == naive", test_own},
      {"BLAS backend == naive", test_blas},
      {"bad arguments", test_errors},
      {"matmul tally", test_tally},
      {NULL, NULL},
  };
  return sl_test_main(argc, argv, "gemm", tests);
}
