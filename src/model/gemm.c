/* slingshot's own single-threaded sgemm for the MLP's small products.
 *
 * Why not OpenBLAS everywhere: the MLP's products are small (M, N, K of 32 to 512) and OpenBLAS
 * spends ~13% of the MLP step packing both operands and zeroing C before its kernel starts
 * (perf of `bench train --model mlp`: sgemm_oncopy/itcopy/otcopy/incopy/beta). This kernel packs
 * only B, once per call (K x 16 column panels, zero-padded), reads A in place, and starts its
 * register tile from zero, from C or from a bias row, so there is no separate beta pass. Timed
 * alone at the MLP's shapes against cblas_sgemm in one process (best of 400 calls, this 2-vCPU
 * Zen 3 VM): 512x256x256 99 against 90 GFLOP/s, A^T at 256x32x256 94 against 78, the tables'
 * 256x256x32 88 against 60. It loses to OpenBLAS where A is transposed and K is large (h^T .
 * dlogits, 256x256x512: 82 against 92), so the MLP keeps cblas_sgemm there.
 *
 * The tile: 6 rows x 16 columns of C in 12 AVX2 registers; per k, two loads of the packed B row,
 * six broadcasts of A, twelve FMAs. Rows are taken 6 at a time (a 1..5-row tile for the rest),
 * the last panel of a ragged N is stored through a lane mask. Summation order per element: k
 * ascending, in float, one FMA per term, added to the start value (0, C or the bias) -- fixed, so
 * a result depends only on the inputs.
 *
 * Backends: OWN needs AVX2 and FMA (checked at run time, so the binary still runs on any x86-64,
 * and elsewhere uses BLAS); SLINGSHOT_GEMM=blas in the environment forces OpenBLAS (for A/B
 * comparisons, or to let a multi-threaded OpenBLAS run these products). */
#include <cblas.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model_impl.h"
#include "slingshot/error.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SL_GEMM_X86 1
#include <immintrin.h>
#else
#define SL_GEMM_X86 0
#endif

#define NR 16 /* columns of a packed panel and of the register tile */
#define MR 6  /* rows of the register tile */

static sl_gemm_backend g_forced = SL_GEMM_AUTO; /* sl_gemm_set_backend */
static int g_resolved = -1;                     /* AUTO resolved once: OWN or BLAS */

void sl_gemm_set_backend(sl_gemm_backend b) {
  g_forced = b;
}

static int own_supported(void) {
#if SL_GEMM_X86
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return 0;
#endif
}

int sl_gemm_own_supported(void) {
  return own_supported();
}

sl_gemm_backend sl_gemm_active_backend(void) {
  if (g_forced == SL_GEMM_BLAS) return SL_GEMM_BLAS;
  if (g_forced == SL_GEMM_OWN) return own_supported() ? SL_GEMM_OWN : SL_GEMM_BLAS;
  if (g_resolved < 0) {
    const char *env = getenv("SLINGSHOT_GEMM");
    int want_blas = env && strcmp(env, "blas") == 0;
    g_resolved = !want_blas && own_supported() ? SL_GEMM_OWN : SL_GEMM_BLAS;
  }
  return (sl_gemm_backend)g_resolved;
}

size_t sl_gemm_work_floats(size_t K, size_t N) {
  return K * ((N + NR - 1) / NR) * NR + NR; /* + NR: room to align the panels to 64 bytes */
}

/* ---------------------------------------------------------------- the AVX2 kernel */
#if SL_GEMM_X86
#define SL_AVX2 __attribute__((target("avx2,fma")))

/* Lane masks for a panel's valid columns: mask_of(n) has lanes < n set. */
static const int32_t lane_ones[24] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                      -1, -1, -1, -1, 0,  0,  0,  0,  0,  0,  0,  0};

/* C tile [mr x nr] (rows ldc apart) = start + sum_k A(r, k) Bp[k][0..15]:
 *   A(r, k) = a[r + k*lda] when ta, else a[r*lda + k];
 *   start: C's tile when acc, plus the bias row when bias, else 0;
 *   nr < 16 stores (and loads) through the masks m0, m1. */
SL_AVX2 static inline __attribute__((always_inline)) void
tile(const int mr, const int ta, size_t K, const float *a, size_t lda, const float *bp, float *c,
     size_t ldc, int acc, const float *bias, int nr, __m256i m0, __m256i m1) {
  __m256 c0[MR], c1[MR];
  _Pragma("GCC unroll 6") for (int r = 0; r < MR; r++) {
    c0[r] = _mm256_setzero_ps();
    c1[r] = _mm256_setzero_ps();
  }
  if (acc) {
    _Pragma("GCC unroll 6") for (int r = 0; r < mr; r++) {
      c0[r] = nr == NR ? _mm256_loadu_ps(c + r * ldc) : _mm256_maskload_ps(c + r * ldc, m0);
      c1[r] = nr == NR ? _mm256_loadu_ps(c + r * ldc + 8) : _mm256_maskload_ps(c + r * ldc + 8, m1);
    }
  }
  if (bias) {
    const __m256 b0 = nr == NR ? _mm256_loadu_ps(bias) : _mm256_maskload_ps(bias, m0);
    const __m256 b1 = nr == NR ? _mm256_loadu_ps(bias + 8) : _mm256_maskload_ps(bias + 8, m1);
    _Pragma("GCC unroll 6") for (int r = 0; r < mr; r++) {
      c0[r] = _mm256_add_ps(c0[r], b0);
      c1[r] = _mm256_add_ps(c1[r], b1);
    }
  }
  for (size_t k = 0; k < K; k++) {
    const __m256 b0 = _mm256_load_ps(bp + NR * k), b1 = _mm256_load_ps(bp + NR * k + 8);
    _Pragma("GCC unroll 6") for (int r = 0; r < mr; r++) {
      const __m256 ar = _mm256_broadcast_ss(ta ? a + k * lda + r : a + r * lda + k);
      c0[r] = _mm256_fmadd_ps(ar, b0, c0[r]);
      c1[r] = _mm256_fmadd_ps(ar, b1, c1[r]);
    }
  }
  _Pragma("GCC unroll 6") for (int r = 0; r < mr; r++) {
    if (nr == NR) {
      _mm256_storeu_ps(c + r * ldc, c0[r]);
      _mm256_storeu_ps(c + r * ldc + 8, c1[r]);
    } else {
      _mm256_maskstore_ps(c + r * ldc, m0, c0[r]);
      _mm256_maskstore_ps(c + r * ldc + 8, m1, c1[r]);
    }
  }
}

typedef void (*tile_fn)(size_t, const float *, size_t, const float *, float *, size_t, int,
                        const float *, int, __m256i, __m256i);
#define SL_TILE(m, t)                                                                              \
  SL_AVX2 static void tile_##m##_##t(size_t K, const float *a, size_t lda, const float *bp,        \
                                     float *c, size_t ldc, int acc, const float *bias, int nr,     \
                                     __m256i m0, __m256i m1) {                                     \
    tile(m, t, K, a, lda, bp, c, ldc, acc, bias, nr, m0, m1);                                      \
  }
SL_TILE(1, 0)
SL_TILE(2, 0)
SL_TILE(3, 0)
SL_TILE(4, 0)
SL_TILE(5, 0)
SL_TILE(6, 0)
SL_TILE(1, 1)
SL_TILE(2, 1)
SL_TILE(3, 1)
SL_TILE(4, 1)
SL_TILE(5, 1)
SL_TILE(6, 1)
static const tile_fn tiles[2][MR + 1] = {
    {NULL, tile_1_0, tile_2_0, tile_3_0, tile_4_0, tile_5_0, tile_6_0},
    {NULL, tile_1_1, tile_2_1, tile_3_1, tile_4_1, tile_5_1, tile_6_1}};

/* bp [ceil(N/16)][K][16] = op(B) in column panels, zero beyond N. Full panels move 8 floats at a
 * time: B's rows directly, B^T (tb) by 8 x 8 register transposes of 8 rows of B. */
SL_AVX2 static void pack_b(float *restrict bp, int tb, size_t K, size_t N, const float *restrict B,
                           size_t ldb) {
  for (size_t j0 = 0; j0 < N; j0 += NR) {
    const size_t nr = N - j0 < NR ? N - j0 : NR;
    float *restrict p = bp + j0 * K;
    if (!tb && nr == NR) {
      for (size_t k = 0; k < K; k++) {
        const float *row = B + k * ldb + j0;
        _mm256_store_ps(p + NR * k, _mm256_loadu_ps(row));
        _mm256_store_ps(p + NR * k + 8, _mm256_loadu_ps(row + 8));
      }
    } else if (!tb) {
      for (size_t k = 0; k < K; k++) {
        memcpy(p + NR * k, B + k * ldb + j0, nr * sizeof *p);
        memset(p + NR * k + nr, 0, (NR - nr) * sizeof *p);
      }
    } else {
      size_t k = 0;
      if (nr == NR)
        for (; k + 8 <= K; k += 8)
          for (size_t h = 0; h < 2; h++) { /* rows j0+8h .. j0+8h+7 of B, columns k .. k+7 */
            const float *b = B + (j0 + 8 * h) * ldb + k;
            __m256 r0 = _mm256_loadu_ps(b), r1 = _mm256_loadu_ps(b + ldb),
                   r2 = _mm256_loadu_ps(b + 2 * ldb), r3 = _mm256_loadu_ps(b + 3 * ldb),
                   r4 = _mm256_loadu_ps(b + 4 * ldb), r5 = _mm256_loadu_ps(b + 5 * ldb),
                   r6 = _mm256_loadu_ps(b + 6 * ldb), r7 = _mm256_loadu_ps(b + 7 * ldb);
            __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1),
                   t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3),
                   t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
                   t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
            __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xee),
                   u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xee),
                   u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xee),
                   u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xee);
            float *q = p + NR * k + 8 * h; /* row k+i of the panel gets column k+i of the rows */
            _mm256_store_ps(q + 0 * NR, _mm256_permute2f128_ps(u0, u4, 0x20));
            _mm256_store_ps(q + 1 * NR, _mm256_permute2f128_ps(u1, u5, 0x20));
            _mm256_store_ps(q + 2 * NR, _mm256_permute2f128_ps(u2, u6, 0x20));
            _mm256_store_ps(q + 3 * NR, _mm256_permute2f128_ps(u3, u7, 0x20));
            _mm256_store_ps(q + 4 * NR, _mm256_permute2f128_ps(u0, u4, 0x31));
            _mm256_store_ps(q + 5 * NR, _mm256_permute2f128_ps(u1, u5, 0x31));
            _mm256_store_ps(q + 6 * NR, _mm256_permute2f128_ps(u2, u6, 0x31));
            _mm256_store_ps(q + 7 * NR, _mm256_permute2f128_ps(u3, u7, 0x31));
          }
      for (; k < K; k++) { /* the rest of K, and ragged panels */
        for (size_t q = 0; q < nr; q++)
          p[NR * k + q] = B[(j0 + q) * ldb + k];
        for (size_t q = nr; q < NR; q++)
          p[NR * k + q] = 0.0f;
      }
    }
  }
}

SL_AVX2 static void gemm_own(int ta, int tb, size_t M, size_t N, size_t K, const float *A,
                             size_t lda, const float *B, size_t ldb, int acc, const float *bias,
                             float *C, size_t ldc, float *work) {
  float *bp = (float *)(((uintptr_t)work + 63) & ~(uintptr_t)63);
  pack_b(bp, tb, K, N, B, ldb);
  const size_t last = (N - 1) / NR * NR, nr_last = N - last;
  const __m256i m0 = _mm256_loadu_si256((const __m256i *)(lane_ones + 16 - nr_last));
  const __m256i m1 =
      _mm256_loadu_si256((const __m256i *)(lane_ones + 16 - (nr_last > 8 ? nr_last - 8 : 0)));
  for (size_t i = 0; i < M; i += MR) {
    const size_t mr = M - i < MR ? M - i : MR;
    const tile_fn f = tiles[ta != 0][mr];
    const float *a = ta ? A + i : A + i * lda;
    for (size_t j = 0; j < N; j += NR)
      f(K, a, lda, bp + j * K, C + i * ldc + j, ldc, acc, bias ? bias + j : NULL,
        j == last ? (int)nr_last : NR, m0, m1);
  }
}
#endif

/* ---------------------------------------------------------------- the entry point */

static int gemm_dispatch(int ta, int tb, size_t M, size_t N, size_t K, const float *A, size_t lda,
                         const float *B, size_t ldb, float beta, const float *bias, float *C,
                         size_t ldc, float *work) {
  SL_CHECK(beta == 0.0f || beta == 1.0f, SL_ERR_ARG, "sl_gemm takes beta 0 or 1, got %g",
           (double)beta);
  if (M == 0 || N == 0) return SL_OK;
  SL_CHECK(lda >= (ta ? M : K) && ldb >= (tb ? K : N) && ldc >= N, SL_ERR_ARG,
           "sl_gemm leading dimensions too small: lda %zu, ldb %zu, ldc %zu for %zux%zux%zu", lda,
           ldb, ldc, M, N, K);
#if SL_GEMM_X86
  if (sl_gemm_active_backend() == SL_GEMM_OWN) {
    gemm_own(ta, tb, M, N, K, A, lda, B, ldb, beta == 1.0f, bias, C, ldc, work);
    return SL_OK;
  }
#endif
  (void)work;
  SL_CHECK(M <= INT_MAX && N <= INT_MAX && K <= INT_MAX && lda <= INT_MAX && ldb <= INT_MAX &&
               ldc <= INT_MAX,
           SL_ERR_ARG, "sl_gemm sizes %zux%zux%zu do not fit BLAS's int", M, N, K);
  if (bias) { /* seed each row with the bias, then let sgemm add onto it */
    for (size_t r = 0; r < M; r++) {
      float *c = C + r * ldc;
      if (beta == 1.0f)
        for (size_t j = 0; j < N; j++)
          c[j] += bias[j];
      else
        memcpy(c, bias, N * sizeof *c);
    }
    beta = 1.0f;
  }
  if (K == 0) {
    if (beta == 0.0f)
      for (size_t r = 0; r < M; r++)
        memset(C + r * ldc, 0, N * sizeof *C);
    return SL_OK;
  }
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)M,
              (int)N, (int)K, 1.0f, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
  return SL_OK;
}

int sl_gemm(int ta, int tb, size_t M, size_t N, size_t K, const float *A, size_t lda,
            const float *B, size_t ldb, float beta, const float *bias, float *C, size_t ldc,
            float *work) {
  const double t0 = sl_mm_t0();
  SL_CALL(gemm_dispatch(ta, tb, M, N, K, A, lda, B, ldb, beta, bias, C, ldc, work));
  sl_mm_add(t0, M, N, K);
  return SL_OK;
}

/* ---------------------------------------------------------------- the matmul tally */

int sl_mm_tally_on = 0;
static sl_mm_tally g_tally;

void sl_mm_add_on(double t0, size_t M, size_t N, size_t K) {
  g_tally.seconds += sl_wtime() - t0;
  g_tally.flops += 2.0 * (double)M * (double)N * (double)K;
  g_tally.calls++;
}

void sl_mm_tally_start(void) {
  memset(&g_tally, 0, sizeof g_tally);
  sl_mm_tally_on = 1;
}

sl_mm_tally sl_mm_tally_stop(void) {
  sl_mm_tally_on = 0;
  return g_tally;
}

int sl_gemm_naive(int ta, int tb, size_t M, size_t N, size_t K, const float *A, size_t lda,
                  const float *B, size_t ldb, float beta, const float *bias, float *C, size_t ldc) {
  SL_CHECK(beta == 0.0f || beta == 1.0f, SL_ERR_ARG, "sl_gemm takes beta 0 or 1, got %g",
           (double)beta);
  for (size_t i = 0; i < M; i++)
    for (size_t j = 0; j < N; j++) {
      double s = (beta == 1.0f ? C[i * ldc + j] : 0.0) + (bias ? bias[j] : 0.0);
      for (size_t k = 0; k < K; k++)
        s +=
            (double)(ta ? A[k * lda + i] : A[i * lda + k]) * (tb ? B[j * ldb + k] : B[k * ldb + j]);
      C[i * ldc + j] = (float)s;
    }
  return SL_OK;
}
