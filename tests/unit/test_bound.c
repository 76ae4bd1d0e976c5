/* The compression bound's pieces (SCIENCE.md section 3): the formula against the numbers of the
 * issue (Lotfi et al.'s setting, V = 50257), the arithmetic coder by round trips and against the
 * empirical entropy, the binary16 rounding against IEEE values (numpy.float16), the quantiser.
 * Legend: n symbols, L levels. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/bound.h"
#include "slingshot/rng.h"
#include "test_util.h"

/* Delta(a) for GPT-2's vocabulary, values of the issue (3 decimals). */
static void test_delta(void) {
  const double a[8] = {1e-4, 1e-3, 5e-3, 1e-2, 5e-2, 0.1, 0.25, 0.5};
  const double want[8] = {28.905, 25.581, 23.254, 22.246, 19.865, 18.787, 17.202, 15.617};
  for (int i = 0; i < 8; i++) {
    double d = sl_bound_delta(a[i], 50257);
    printf("  Delta(%g) = %.4f (want %.3f)\n", a[i], d, want[i]);
    CU_ASSERT(fabs(d - want[i]) < 6e-4);
  }
  /* a = 1 predicts uniformly: the loss is log2 V whatever happens, a range of width 0. */
  CU_ASSERT_DOUBLE_EQUAL(sl_bound_delta(1.0, 50257), 0.0, 1e-12);
}

/* The subsampling terms for m = 8,009,762, n = 10,000, eps = 0.05 (issue 6). */
static void test_terms(void) {
  const double m = 8009762, n = 10000, eps = 0.05;
  const double r = n / (n + m);
  CU_ASSERT(fabs(r - 0.0012469) < 5e-8);
  double tm, tn;
  sl_bound_terms(0.0, m, n, eps, &tm, &tn);
  printf("  r = %.7f, n term = %.6f (want 0.012241)\n", r, tn);
  CU_ASSERT(fabs(tn - 0.012241) < 5e-7);
  /* K = 0: the m term is sqrt(-ln(r eps) / 2m) = sqrt(9.6816 / 16019524). */
  CU_ASSERT(fabs(tm - sqrt(-log(0.0012469197963730096 * 0.05) / (2 * m))) < 1e-12);
  /* K of C = 1000 bits and 3 extra bits: (1000 + 2 log2 1000 + 3) ln 2 = 709.04213 nats. */
  CU_ASSERT(fabs(sl_bound_k_nats(1000, 3) - 709.0421326595895) < 1e-9);
  /* The bound adds Delta times both terms to the empirical risk. */
  double k = 709.0421326595895, b = sl_bound_value(3.0, 18.787, k, m, n, eps);
  sl_bound_terms(k, m, n, eps, &tm, &tn);
  CU_ASSERT(fabs(b - (3.0 + 18.787 * (tm + tn))) < 1e-12);
  CU_ASSERT(b > 3.0 + 18.787 * 0.012241);
}

/* sum_s c_s log2(n / c_s): n times the empirical entropy, the ideal length of a static code. */
static double ideal_bits(const uint64_t *counts, int L, size_t n) {
  double h = 0;
  for (int s = 0; s < L; s++)
    if (counts[s]) h += (double)counts[s] * log2((double)n / (double)counts[s]);
  return h;
}

static void roundtrip(const int32_t *sym, size_t n, int L, const char *what) {
  uint64_t *counts = calloc((size_t)L, sizeof *counts);
  int32_t *back = malloc((n ? n : 1) * sizeof *back);
  CU_ASSERT_FATAL(counts && back);
  for (size_t i = 0; i < n; i++)
    counts[sym[i]]++;
  uint8_t *buf = NULL;
  size_t bits = 0;
  SL_ASSERT_OK(sl_ac_encode(sym, n, L, counts, &buf, &bits));
  SL_ASSERT_OK(sl_ac_decode(buf, bits, n, L, counts, back));
  CU_ASSERT(n == 0 || memcmp(sym, back, n * sizeof *sym) == 0);
  double ideal = ideal_bits(counts, L, n);
  printf("  %-28s n = %7zu: %9zu bits, n H = %12.2f, excess %+.2f bits\n", what, n, bits, ideal,
         (double)bits - ideal);
  /* Within a few bits of n times the empirical entropy, in both directions. */
  CU_ASSERT((double)bits <= ideal + 4.0 + 1e-6 * (double)n);
  CU_ASSERT((double)bits >= ideal - 2.0);
  /* A flipped bit in the middle must not decode to the same stream (or must fail to decode). */
  if (bits > 40 && n > 100) {
    buf[bits / 16] ^= 0x10;
    int e = sl_ac_decode(buf, bits, n, L, counts, back);
    if (e != SL_OK) sl_error_clear();
    CU_ASSERT(e != SL_OK || memcmp(sym, back, n * sizeof *sym) != 0);
  }
  free(buf);
  free(counts);
  free(back);
}

static void test_coder(void) {
  sl_rng r;
  sl_rng_stream(&r, 5, 0, "test-coder");
  const size_t n = 200000;
  int32_t *s = malloc(n * sizeof *s);
  CU_ASSERT_FATAL(s != NULL);
  /* Uniform over 16 symbols: about 4 bits each. */
  for (size_t i = 0; i < n; i++)
    s[i] = (int32_t)sl_rng_below(&r, 16);
  roundtrip(s, n, 16, "uniform, L = 16");
  /* Skewed: geometric with ratio 0.05 over 64 symbols (most of the mass on symbol 0). */
  for (size_t i = 0; i < n; i++) {
    int k = 0;
    while (k < 63 && sl_rng_uniform(&r) < 0.05)
      k++;
    s[i] = k;
  }
  roundtrip(s, n, 64, "skewed geometric, L = 64");
  /* Very skewed: one symbol in 10000 differs. */
  for (size_t i = 0; i < n; i++)
    s[i] = sl_rng_below(&r, 10000) == 0 ? 1 : 0;
  roundtrip(s, n, 2, "1 in 10^4, L = 2");
  /* A constant stream, some short ones, and symbols that never occur in the model. */
  for (size_t i = 0; i < n; i++)
    s[i] = 3;
  roundtrip(s, n, 8, "constant, L = 8");
  for (size_t len = 0; len < 6; len++) {
    for (size_t i = 0; i < len; i++)
      s[i] = (int32_t)sl_rng_below(&r, 5);
    roundtrip(s, len, 5, "short");
  }
  /* 2^16 levels, 10^6 symbols: the largest model the quantiser makes. */
  int32_t *big = malloc(1000000 * sizeof *big);
  CU_ASSERT_FATAL(big != NULL);
  for (size_t i = 0; i < 1000000; i++)
    big[i] = (int32_t)(sl_rng_below(&r, 256) * sl_rng_below(&r, 256));
  roundtrip(big, 1000000, 65536, "products, L = 65536");
  free(big);
  /* The measured length: coded bits + 16 per centroid + ceil(log2(n + 1)) per count. */
  for (size_t i = 0; i < 1000; i++)
    s[i] = (int32_t)(i % 4);
  uint64_t c[4] = {250, 250, 250, 250};
  sl_code_length cl;
  SL_ASSERT_OK(sl_code_length_measure(s, 1000, 4, c, &cl));
  CU_ASSERT(fabs(cl.code_bits - 2000) <= 3);
  CU_ASSERT_EQUAL(cl.codebook_bits, 64);
  CU_ASSERT_EQUAL(cl.count_bits, 4 * 10); /* 0..1000 needs 10 bits */
  CU_ASSERT_EQUAL(cl.total_bits, cl.code_bits + 104);
  /* A model whose counts do not match the stream is refused. */
  c[0] = 249;
  uint8_t *buf = NULL;
  size_t bits;
  CU_ASSERT(sl_ac_encode(s, 1000, 4, c, &buf, &bits) == SL_ERR_ARG);
  sl_error_clear();
  free(s);
}

/* binary16 rounding against numpy.float16 values. */
static void test_half(void) {
  CU_ASSERT_EQUAL(sl_half_round(1.0f / 3.0f), 0.333251953125f);
  CU_ASSERT_EQUAL(sl_half_round(1.00048828125f), 1.0f);           /* tie: to even */
  CU_ASSERT_EQUAL(sl_half_round(1.00146484375f), 1.001953125f);   /* tie: to even (up) */
  CU_ASSERT_EQUAL(sl_half_round(3e-6f), 2.9802322387695312e-06f); /* subnormal */
  CU_ASSERT_EQUAL(sl_half_round(-70000.0f), -65504.0f);
  CU_ASSERT_EQUAL(sl_half_round(1e-9f), 0.0f);
  CU_ASSERT_EQUAL(sl_half_round(0.0f), 0.0f);
  /* Every half is its own rounding; relative error of a normal value at most 2^-11. */
  sl_rng r;
  sl_rng_stream(&r, 5, 1, "test-half");
  for (int i = 0; i < 10000; i++) {
    float x = (float)((sl_rng_uniform(&r) - 0.5) * pow(2.0, (double)sl_rng_below(&r, 30) - 14));
    float h = sl_half_round(x);
    CU_ASSERT_EQUAL(sl_half_round(h), h);
    if (fabsf(x) >= 6.103515625e-05f) CU_ASSERT(fabs((double)h - x) <= fabs(x) * 0x1p-11);
  }
}

static void test_quantize(void) {
  sl_rng r;
  sl_rng_stream(&r, 5, 2, "test-quantize");
  enum { NQ = 40000 };
  float *x = malloc(NQ * sizeof *x);
  int32_t *sym = malloc(NQ * sizeof *sym);
  CU_ASSERT_FATAL(x && sym);
  /* Four tight clusters at -1, -0.25, 0.5, 2 with 10000 values each. */
  const double at[4] = {-1, -0.25, 0.5, 2};
  for (int i = 0; i < NQ; i++)
    x[i] = (float)(at[i % 4] + 1e-3 * sl_rng_normal(&r));
  float c[4];
  uint64_t counts[4];
  SL_ASSERT_OK(sl_quantize(x, NQ, 4, 5, c, sym, counts));
  for (int k = 0; k < 4; k++) {
    CU_ASSERT_EQUAL(counts[k], NQ / 4);
    CU_ASSERT(fabs(c[k] - at[k]) < 2e-3);
    CU_ASSERT_EQUAL(sl_half_round(c[k]), c[k]);
  }
  for (int i = 0; i < NQ; i++)
    CU_ASSERT_EQUAL(sym[i], i % 4);
  /* Uniform values, no k-means: every value within half a bin (plus half rounding) of its
   * centroid, and the nearest centroid is the one chosen. */
  for (int i = 0; i < NQ; i++)
    x[i] = (float)sl_rng_uniform(&r);
  float c16[16];
  uint64_t n16[16];
  SL_ASSERT_OK(sl_quantize(x, NQ, 16, 0, c16, sym, n16));
  uint64_t total = 0;
  for (int k = 0; k < 16; k++)
    total += n16[k];
  CU_ASSERT_EQUAL(total, NQ);
  double worst = 0;
  int not_nearest = 0;
  for (int i = 0; i < NQ; i++) {
    double e = fabs((double)x[i] - c16[sym[i]]);
    if (e > worst) worst = e;
    for (int k = 0; k < 16; k++)
      not_nearest += fabs((double)x[i] - c16[k]) < e;
  }
  CU_ASSERT_EQUAL(not_nearest, 0);
  printf("  uniform on [0,1), 16 levels: worst error %.4f (half a bin 0.03125)\n", worst);
  CU_ASSERT(worst < 1.0 / 32 + 1e-3);
  free(x);
  free(sym);
}

int main(int argc, char **argv) {
  const sl_test tests[] = {{"delta", test_delta},       {"terms", test_terms},
                           {"coder", test_coder},       {"half", test_half},
                           {"quantize", test_quantize}, {NULL, NULL}};
  return sl_test_main(argc, argv, "bound", tests);
}
