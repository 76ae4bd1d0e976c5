/* The HMM language (SCIENCE.md sections 0 and 4; include/slingshot/hmm.h): random sparse
 * transition and emission matrices, stationary start, alias-table sampling, the scaled forward
 * algorithm, exact next-token distributions and the sampled entropy rate.
 *
 * Legend: H hidden states, V vocabulary, k nonzeros per row, f forward state (H). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/error.h"
#include "slingshot/hmm.h"

#define HMM_ROW_FLOOR 1e-300
#define HMM_SUM_TOL 1e-9
#define HMM_PIVOT_MIN 1e-12
#define HMM_POWER_MAX_ITER 2000000
#define HMM_POWER_TOL 1e-15
#define HMM_SMALL_K 64 /* rows with at most this many nonzeros draw columns by rejection */
#define HMM_CHUNK 65536

/* ------------------------------------------------------------------ random variates */

static inline double hmm_uniform_pos(sl_rng *r) {
  return ((double)(sl_rng_u64(r) >> 11) + 1.0) * 0x1.0p-53; /* (0, 1]: log is finite */
}

/* ln of a Gamma(alpha, 1) variate. Marsaglia and Tsang (2000), "A simple method for generating
 * gamma variables", ACM TOMS 26(3): for alpha >= 1, d = alpha - 1/3, c = 1 / sqrt(9 d), accept
 * v = (1 + c x)^3 (x normal) when ln u < x^2 / 2 + d - d v + d ln v, return d v. For alpha < 1,
 * G(alpha) = G(alpha + 1) U^(1/alpha), kept in log space. */
static double gamma_ln(sl_rng *r, double alpha) {
  double shift = 0;
  if (alpha < 1) {
    shift = log(hmm_uniform_pos(r)) / alpha;
    alpha += 1;
  }
  const double d = alpha - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
  for (;;) {
    double x = sl_rng_normal(r), v = 1 + c * x;
    if (v <= 0) continue;
    v = v * v * v;
    const double u = hmm_uniform_pos(r), x2 = x * x;
    if (u < 1 - 0.0331 * x2 * x2 || log(u) < 0.5 * x2 + d * (1 - v + log(v)))
      return log(d * v) + shift;
  }
}

/* A symmetric Dirichlet(alpha) draw into w[0..k): normalised gamma variates, floored. */
void sl_lang_dirichlet(sl_rng *r, double alpha, int k, double *w) {
  double mx = -INFINITY;
  for (int i = 0; i < k; i++) {
    w[i] = gamma_ln(r, alpha);
    if (w[i] > mx) mx = w[i];
  }
  double sum = 0;
  for (int i = 0; i < k; i++)
    sum += w[i] = exp(w[i] - mx); /* the largest is 1: the sum cannot underflow */
  double sum2 = 0;
  for (int i = 0; i < k; i++) {
    w[i] /= sum;
    if (w[i] < HMM_ROW_FLOOR) w[i] = HMM_ROW_FLOOR;
    sum2 += w[i];
  }
  for (int i = 0; i < k; i++)
    w[i] /= sum2;
}

static int cmp_i32(const void *a, const void *b) {
  const int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

/* k distinct columns of [0, n) into out, ascending; forced >= 0 is always among them. perm is
 * scratch holding the identity permutation of [0, n) (restored on return) when k > HMM_SMALL_K;
 * undo is scratch of k entries. */
static void draw_columns(sl_rng *r, int n, int k, int forced, int32_t *perm, int32_t *undo,
                         int32_t *out) {
  int j = 0;
  if (k <= HMM_SMALL_K) {
    if (forced >= 0) out[j++] = forced;
    while (j < k) {
      const int32_t c = (int32_t)sl_rng_below(r, (uint64_t)n);
      int clash = 0;
      for (int i = 0; i < j; i++)
        clash |= out[i] == c;
      if (!clash) out[j++] = c;
    }
  } else { /* partial Fisher-Yates on perm, undone afterwards */
    if (forced >= 0) {
      undo[j] = forced;
      perm[forced] = perm[0];
      perm[0] = forced;
      out[j++] = forced;
    }
    for (; j < k; j++) {
      const int32_t i = j + (int32_t)sl_rng_below(r, (uint64_t)(n - j));
      undo[j] = i;
      const int32_t t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
      out[j] = t;
    }
    for (int q = k - 1; q >= 0; q--) {
      const int32_t i = undo[q], t = perm[i];
      perm[i] = perm[q];
      perm[q] = t;
    }
  }
  qsort(out, (size_t)k, sizeof *out, cmp_i32);
}

/* ------------------------------------------------------------------ sparse rows */

static void rows_free(sl_hmm_rows *R) {
  free(R->start);
  free(R->col);
  free(R->prob);
  free(R->keep);
  free(R->alias);
  memset(R, 0, sizeof *R);
}

static int rows_alloc(sl_hmm_rows *R, int n_rows, int64_t nnz, int with_alias) {
  memset(R, 0, sizeof *R);
  R->n_rows = n_rows;
  SL_ALLOC(R->start, (size_t)n_rows + 1);
  SL_ALLOC(R->col, (size_t)nnz);
  SL_ALLOC(R->prob, (size_t)nnz);
  if (with_alias) {
    SL_ALLOC(R->keep, (size_t)nnz);
    SL_ALLOC(R->alias, (size_t)nnz);
  }
  return SL_OK;
}

/* Vose's alias method for one row of k entries. q_i = k p_i; small entries (q < 1) are topped up
 * from large ones. keep is q * 2^64 as an integer threshold; a full column aliases to itself. */
int sl_lang_alias_build(const int32_t *col, const double *prob, int64_t k, uint64_t *keep,
                        int32_t *alias) {
  double *q = NULL;
  int64_t *small = NULL, *large = NULL;
  int err = SL_OK;
  q = malloc((size_t)k * sizeof *q);
  small = malloc((size_t)k * sizeof *small);
  large = malloc((size_t)k * sizeof *large);
  SL_CHECK_GOTO(q && small && large, SL_ERR_NOMEM, done, "out of memory for an alias table of %lld",
                (long long)k);
  int64_t ns = 0, nl = 0;
  for (int64_t i = 0; i < k; i++) {
    q[i] = prob[i] * (double)k;
    if (q[i] < 1)
      small[ns++] = i;
    else
      large[nl++] = i;
  }
  while (ns > 0 && nl > 0) {
    const int64_t s = small[--ns], l = large[nl - 1];
    keep[s] = q[s] <= 0 ? 0 : (uint64_t)ldexp(q[s], 64);
    alias[s] = col[l];
    q[l] -= 1 - q[s];
    if (q[l] < 1) {
      nl--;
      small[ns++] = l;
    }
  }
  /* What is left has q = 1 up to rounding: keep the column always. */
  while (nl > 0) {
    const int64_t l = large[--nl];
    keep[l] = UINT64_MAX;
    alias[l] = col[l];
  }
  while (ns > 0) {
    const int64_t s = small[--ns];
    keep[s] = UINT64_MAX;
    alias[s] = col[s];
  }
done:
  free(q);
  free(small);
  free(large);
  return err;
}

static int rows_build_alias(sl_hmm_rows *R) {
  for (int i = 0; i < R->n_rows; i++) {
    const int64_t a = R->start[i], k = R->start[i + 1] - a;
    if (k > 0) SL_CALL(sl_lang_alias_build(R->col + a, R->prob + a, k, R->keep + a, R->alias + a));
  }
  return SL_OK;
}

/* One draw from row i: the high word of u k picks the entry, the low word is the coin. */
static inline int32_t rows_draw(const sl_hmm_rows *R, int i, sl_rng *r) {
  const int64_t a = R->start[i];
  const uint64_t k = (uint64_t)(R->start[i + 1] - a);
  const unsigned __int128 m = (unsigned __int128)sl_rng_u64(r) * k;
  const int64_t j = a + (int64_t)(m >> 64);
  return (uint64_t)m < R->keep[j] ? R->col[j] : R->alias[j];
}

/* The transpose of B: row v lists (h, B[h][v]) for h ascending. */
static int rows_transpose(const sl_hmm_rows *B, int n_cols, sl_hmm_rows *T) {
  const int64_t nnz = B->start[B->n_rows];
  SL_CALL(rows_alloc(T, n_cols, nnz, 0));
  for (int64_t j = 0; j < nnz; j++)
    T->start[B->col[j] + 1]++;
  for (int v = 0; v < n_cols; v++)
    T->start[v + 1] += T->start[v];
  int64_t *fill = malloc((size_t)n_cols * sizeof *fill);
  SL_CHECK(fill != NULL, SL_ERR_NOMEM, "out of memory for the emission transpose");
  memcpy(fill, T->start, (size_t)n_cols * sizeof *fill);
  for (int h = 0; h < B->n_rows; h++)
    for (int64_t j = B->start[h]; j < B->start[h + 1]; j++) {
      const int64_t d = fill[B->col[j]]++;
      T->col[d] = h;
      T->prob[d] = B->prob[j];
    }
  free(fill);
  return SL_OK;
}

/* ------------------------------------------------------------------ stationary distribution */

/* pi A = pi, sum pi = 1, by Gaussian elimination with partial pivoting on (A^T - I) with the
 * last equation replaced by the normalisation. A singular system means the chain has more than
 * one closed class (no unique pi). */
static int stationary_dense(const sl_hmm_rows *A, int H, double *pi) {
  double *M = NULL;
  int err = SL_OK;
  M = sl_calloc((size_t)H * (size_t)H, sizeof *M);
  SL_CHECK(M != NULL, SL_ERR_NOMEM, "out of memory for the %d x %d stationary system", H, H);
  for (int i = 0; i < H; i++) /* row j of the system: sum_i pi_i A[i][j] - pi_j = 0 */
    for (int64_t e = A->start[i]; e < A->start[i + 1]; e++)
      M[(size_t)A->col[e] * (size_t)H + (size_t)i] += A->prob[e];
  for (int j = 0; j < H; j++)
    M[(size_t)j * (size_t)H + (size_t)j] -= 1;
  for (int i = 0; i < H; i++) {
    M[(size_t)(H - 1) * (size_t)H + (size_t)i] = 1;
    pi[i] = 0;
  }
  pi[H - 1] = 1;
  for (int c = 0; c < H; c++) {
    int piv = c;
    for (int r = c + 1; r < H; r++)
      if (fabs(M[(size_t)r * H + c]) > fabs(M[(size_t)piv * H + c])) piv = r;
    SL_CHECK_GOTO(fabs(M[(size_t)piv * H + c]) > HMM_PIVOT_MIN, SL_ERR_ARG, done,
                  "the transition matrix has no unique stationary distribution (it has more "
                  "than one closed class of states): make it irreducible");
    if (piv != c) {
      for (int q = 0; q < H; q++) {
        const double t = M[(size_t)c * H + q];
        M[(size_t)c * H + q] = M[(size_t)piv * H + q];
        M[(size_t)piv * H + q] = t;
      }
      const double t = pi[c];
      pi[c] = pi[piv];
      pi[piv] = t;
    }
    const double d = M[(size_t)c * H + c];
    for (int r = c + 1; r < H; r++) {
      const double f = M[(size_t)r * H + c] / d;
      if (f == 0) continue;
      for (int q = c; q < H; q++)
        M[(size_t)r * H + q] -= f * M[(size_t)c * H + q];
      pi[r] -= f * pi[c];
    }
  }
  for (int c = H - 1; c >= 0; c--) {
    double s = pi[c];
    for (int q = c + 1; q < H; q++)
      s -= M[(size_t)c * H + q] * pi[q];
    pi[c] = s / M[(size_t)c * H + c];
  }
done:
  free(M);
  return err;
}

/* Power iteration of the lazy chain (A + I) / 2: the same pi, and aperiodic. */
static int stationary_power(const sl_hmm_rows *A, int H, double *pi) {
  double *nx = malloc((size_t)H * sizeof *nx);
  SL_CHECK(nx != NULL, SL_ERR_NOMEM, "out of memory for the stationary iteration");
  for (int i = 0; i < H; i++)
    pi[i] = 1.0 / H;
  int converged = 0;
  for (long it = 0; it < HMM_POWER_MAX_ITER && !converged; it++) {
    for (int i = 0; i < H; i++)
      nx[i] = 0.5 * pi[i];
    for (int i = 0; i < H; i++)
      for (int64_t e = A->start[i]; e < A->start[i + 1]; e++)
        nx[A->col[e]] += 0.5 * pi[i] * A->prob[e];
    double diff = 0, s = 0;
    for (int i = 0; i < H; i++)
      s += nx[i];
    for (int i = 0; i < H; i++) {
      nx[i] /= s;
      diff += fabs(nx[i] - pi[i]);
      pi[i] = nx[i];
    }
    converged = diff < HMM_POWER_TOL;
  }
  free(nx);
  SL_CHECK(converged, SL_ERR_NUMERIC,
           "the stationary distribution did not converge in %d power iterations (H = %d): the "
           "chain mixes too slowly; use more transition nonzeros (trans_k)",
           HMM_POWER_MAX_ITER, H);
  return SL_OK;
}

static int hmm_finish(sl_hmm *L) {
  const int H = L->H;
  SL_CALL(rows_build_alias(&L->A));
  SL_CALL(rows_build_alias(&L->B));
  SL_CALL(rows_transpose(&L->B, L->V, &L->Bt));
  SL_ALLOC(L->pi, H);
  if (H <= SL_HMM_DENSE_PI_MAX)
    SL_CALL(stationary_dense(&L->A, H, L->pi));
  else
    SL_CALL(stationary_power(&L->A, H, L->pi));
  double s = 0;
  for (int i = 0; i < H; i++) {
    if (L->pi[i] < 0) L->pi[i] = 0; /* rounding of states with no stationary mass */
    s += L->pi[i];
  }
  SL_CHECK(s > 0 && isfinite(s), SL_ERR_NUMERIC, "the stationary distribution is degenerate");
  int nz = 0;
  for (int i = 0; i < H; i++) {
    L->pi[i] /= s;
    nz += L->pi[i] > 0;
  }
  SL_CALL(rows_alloc(&L->pi_row, 1, nz, 1));
  for (int i = 0, j = 0; i < H; i++)
    if (L->pi[i] > 0) {
      L->pi_row.col[j] = i;
      L->pi_row.prob[j++] = L->pi[i];
    }
  L->pi_row.start[1] = nz;
  SL_CALL(rows_build_alias(&L->pi_row));
  return SL_OK;
}

/* ------------------------------------------------------------------ construction */

int sl_hmm_validate(const sl_hmm_params *p) {
  SL_CHECK(p != NULL, SL_ERR_ARG, "HMM parameters are NULL");
  SL_CHECK(p->H >= 1 && p->H <= SL_HMM_MAX_H, SL_ERR_CONFIG,
           "language.H = %d is out of range: H must be between 1 and %d", p->H, SL_HMM_MAX_H);
  SL_CHECK(p->V >= 2 && p->V <= SL_HMM_MAX_V, SL_ERR_CONFIG,
           "language.V = %d is out of range: V must be between 2 and %d", p->V, SL_HMM_MAX_V);
  SL_CHECK(p->trans_k >= 1 && p->trans_k <= p->H, SL_ERR_CONFIG,
           "language.trans_k = %d is out of range: it must be between 1 and H = %d", p->trans_k,
           p->H);
  SL_CHECK(p->emit_k >= 1 && p->emit_k <= p->V, SL_ERR_CONFIG,
           "language.emit_k = %d is out of range: it must be between 1 and V = %d", p->emit_k,
           p->V);
  SL_CHECK(p->trans_alpha > 0 && isfinite(p->trans_alpha), SL_ERR_CONFIG,
           "language.trans_alpha = %g is out of range: it must be > 0", p->trans_alpha);
  SL_CHECK(p->emit_alpha > 0 && isfinite(p->emit_alpha), SL_ERR_CONFIG,
           "language.emit_alpha = %g is out of range: it must be > 0", p->emit_alpha);
  SL_CHECK((int64_t)p->H * p->emit_k <= ((int64_t)1 << 31) &&
               (int64_t)p->H * p->trans_k <= ((int64_t)1 << 31),
           SL_ERR_CONFIG, "language.H x emit_k or H x trans_k exceeds 2^31 nonzeros");
  return SL_OK;
}

/* Fills rows with k columns each (forced column (i + 1) mod n_cols when forced_next) and
 * Dirichlet(alpha) values, from the stream `name` of seed. */
static int random_rows(sl_hmm_rows *R, int n_rows, int n_cols, int k, double alpha, int forced_next,
                       uint64_t seed, const char *name) {
  SL_CALL(rows_alloc(R, n_rows, (int64_t)n_rows * k, 1));
  int err = SL_OK;
  int32_t *perm = NULL, *undo = NULL;
  if (k > HMM_SMALL_K) {
    perm = malloc((size_t)n_cols * sizeof *perm);
    SL_CHECK(perm != NULL, SL_ERR_NOMEM, "out of memory for %d columns", n_cols);
    for (int c = 0; c < n_cols; c++)
      perm[c] = c;
  }
  undo = malloc((size_t)k * sizeof *undo);
  double *w = malloc((size_t)k * sizeof *w);
  SL_CHECK_GOTO(undo && w, SL_ERR_NOMEM, done, "out of memory for a row of %d", k);
  sl_rng r;
  sl_rng_stream(&r, seed, 0, name);
  for (int i = 0; i < n_rows; i++) {
    const int64_t a = (int64_t)i * k;
    R->start[i + 1] = a + k;
    draw_columns(&r, n_cols, k, forced_next ? (i + 1) % n_cols : -1, perm, undo, R->col + a);
    sl_lang_dirichlet(&r, alpha, k, w);
    memcpy(R->prob + a, w, (size_t)k * sizeof *w);
  }
done:
  free(perm);
  free(undo);
  free(w);
  return err;
}

int sl_hmm_create(const sl_hmm_params *p, uint64_t seed, sl_hmm **out) {
  SL_CHECK(out != NULL, SL_ERR_ARG, "out is NULL");
  *out = NULL;
  SL_CALL(sl_hmm_validate(p));
  sl_hmm *L = sl_calloc(1, sizeof *L);
  SL_CHECK(L != NULL, SL_ERR_NOMEM, "out of memory for the HMM");
  int err = SL_OK;
  L->p = *p;
  L->H = p->H;
  L->V = p->V;
  SL_CALL_GOTO(
      random_rows(&L->A, p->H, p->H, p->trans_k, p->trans_alpha, 1, seed, "hmm.transitions"), fail);
  SL_CALL_GOTO(random_rows(&L->B, p->H, p->V, p->emit_k, p->emit_alpha, 0, seed, "hmm.emissions"),
               fail);
  SL_CALL_GOTO(hmm_finish(L), fail);
  *out = L;
  return SL_OK;
fail:
  sl_hmm_destroy(L);
  return err;
}

/* Dense row-stochastic matrix [n_rows x n_cols] to sparse rows; max_k gets the largest row. */
static int dense_rows(const double *D, int n_rows, int n_cols, const char *what, sl_hmm_rows *R,
                      int *max_k) {
  int64_t nnz = 0;
  *max_k = 0;
  for (int i = 0; i < n_rows; i++) {
    double s = 0;
    int k = 0;
    for (int j = 0; j < n_cols; j++) {
      const double v = D[(size_t)i * (size_t)n_cols + (size_t)j];
      SL_CHECK(v >= 0 && isfinite(v), SL_ERR_ARG, "%s[%d][%d] = %g is not a probability", what, i,
               j, v);
      s += v;
      k += v > 0;
    }
    SL_CHECK(fabs(s - 1) <= HMM_SUM_TOL, SL_ERR_ARG, "row %d of %s sums to %.17g, not 1", i, what,
             s);
    nnz += k;
    if (k > *max_k) *max_k = k;
  }
  SL_CALL(rows_alloc(R, n_rows, nnz, 1));
  int64_t e = 0;
  for (int i = 0; i < n_rows; i++) {
    for (int j = 0; j < n_cols; j++) {
      const double v = D[(size_t)i * (size_t)n_cols + (size_t)j];
      if (v > 0) {
        R->col[e] = j;
        R->prob[e++] = v;
      }
    }
    R->start[i + 1] = e;
  }
  return SL_OK;
}

int sl_hmm_create_dense(int H, int V, const double *A, const double *B, sl_hmm **out) {
  SL_CHECK(out != NULL && A != NULL && B != NULL, SL_ERR_ARG, "out, A or B is NULL");
  *out = NULL;
  SL_CHECK(H >= 1 && H <= SL_HMM_MAX_H && V >= 2 && V <= SL_HMM_MAX_V, SL_ERR_ARG,
           "H = %d or V = %d is out of range (1..%d, 2..%d)", H, V, SL_HMM_MAX_H, SL_HMM_MAX_V);
  sl_hmm *L = sl_calloc(1, sizeof *L);
  SL_CHECK(L != NULL, SL_ERR_NOMEM, "out of memory for the HMM");
  int err = SL_OK;
  L->H = L->p.H = H;
  L->V = L->p.V = V;
  L->p.trans_alpha = L->p.emit_alpha = 0; /* not drawn */
  SL_CALL_GOTO(dense_rows(A, H, H, "A", &L->A, &L->p.trans_k), fail);
  SL_CALL_GOTO(dense_rows(B, H, V, "B", &L->B, &L->p.emit_k), fail);
  SL_CALL_GOTO(hmm_finish(L), fail);
  *out = L;
  return SL_OK;
fail:
  sl_hmm_destroy(L);
  return err;
}

void sl_hmm_destroy(sl_hmm *L) {
  if (!L) return;
  rows_free(&L->A);
  rows_free(&L->B);
  rows_free(&L->Bt);
  rows_free(&L->pi_row);
  free(L->pi);
  free(L);
}

/* ------------------------------------------------------------------ generation */

int sl_hmm_generate(const sl_hmm *L, sl_rng *rng, int *hidden, int32_t *tokens, int32_t *states,
                    size_t n) {
  SL_CHECK(L != NULL && rng != NULL && hidden != NULL && (tokens != NULL || n == 0), SL_ERR_ARG,
           "language, rng, hidden or tokens is NULL");
  SL_CHECK(*hidden < L->H, SL_ERR_ARG, "hidden state %d is out of range: H = %d", *hidden, L->H);
  if (n == 0) return SL_OK;
  const sl_hmm_rows *A = &L->A, *B = &L->B;
  int32_t h = *hidden < 0 ? rows_draw(&L->pi_row, 0, rng) : rows_draw(A, *hidden, rng);
  if (states) {
    for (size_t t = 0;; t++) {
      states[t] = h;
      tokens[t] = rows_draw(B, h, rng);
      if (t + 1 == n) break;
      h = rows_draw(A, h, rng);
    }
  } else {
    for (size_t t = 0;; t++) {
      tokens[t] = rows_draw(B, h, rng);
      if (t + 1 == n) break;
      h = rows_draw(A, h, rng);
    }
  }
  *hidden = h;
  return SL_OK;
}

/* ------------------------------------------------------------------ forward algorithm */

int sl_hmm_forward_init(const sl_hmm *L, double *f) {
  SL_CHECK(L != NULL && f != NULL, SL_ERR_ARG, "language or f is NULL");
  memcpy(f, L->pi, (size_t)L->H * sizeof *f);
  return SL_OK;
}

/* One step; returns p(x | past), and leaves f unchanged when it is 0. */
static double forward_step(const sl_hmm *L, double *f, int32_t x, double *work) {
  const sl_hmm_rows *Bt = &L->Bt, *A = &L->A;
  memset(work, 0, (size_t)L->H * sizeof *work);
  double p = 0;
  for (int64_t e = Bt->start[x]; e < Bt->start[x + 1]; e++) {
    const int32_t h = Bt->col[e];
    const double w = f[h] * Bt->prob[e];
    if (w == 0) continue;
    p += w;
    for (int64_t q = A->start[h]; q < A->start[h + 1]; q++)
      work[A->col[q]] += w * A->prob[q];
  }
  if (p > 0) {
    double s = 0;
    for (int j = 0; j < L->H; j++)
      s += work[j];
    const double inv = 1.0 / s; /* s = p up to rounding; dividing by s keeps f summing to 1 */
    for (int j = 0; j < L->H; j++)
      f[j] = work[j] * inv;
  }
  return p;
}

int sl_hmm_forward_step(const sl_hmm *L, double *f, int32_t x, double *ln_p, double *work) {
  SL_CHECK(L != NULL && f != NULL && ln_p != NULL && work != NULL, SL_ERR_ARG,
           "language, f, ln_p or work is NULL");
  SL_CHECK(x >= 0 && x < L->V, SL_ERR_ARG, "token %d is out of range: V = %d", x, L->V);
  const double p = forward_step(L, f, x, work);
  *ln_p = p > 0 ? log(p) : -INFINITY;
  SL_CHECK(p > 0, SL_ERR_ARG, "token %d is impossible given the forward state", x);
  return SL_OK;
}

int sl_hmm_next_dist(const sl_hmm *L, const double *f, double *p) {
  SL_CHECK(L != NULL && f != NULL && p != NULL, SL_ERR_ARG, "language, f or p is NULL");
  memset(p, 0, (size_t)L->V * sizeof *p);
  const sl_hmm_rows *B = &L->B;
  for (int h = 0; h < L->H; h++) {
    if (f[h] == 0) continue;
    for (int64_t e = B->start[h]; e < B->start[h + 1]; e++)
      p[B->col[e]] += f[h] * B->prob[e];
  }
  return SL_OK;
}

int sl_hmm_log_prob(const sl_hmm *L, const int32_t *tokens, size_t n, double *ln_p) {
  SL_CHECK(L != NULL && ln_p != NULL && (tokens != NULL || n == 0), SL_ERR_ARG,
           "language, tokens or ln_p is NULL");
  for (size_t t = 0; t < n; t++)
    SL_CHECK(tokens[t] >= 0 && tokens[t] < L->V, SL_ERR_ARG,
             "token %d at position %zu is out of range: V = %d", tokens[t], t, L->V);
  double *f = malloc(2 * (size_t)L->H * sizeof *f);
  SL_CHECK(f != NULL, SL_ERR_NOMEM, "out of memory for the forward state (H = %d)", L->H);
  memcpy(f, L->pi, (size_t)L->H * sizeof *f);
  double s = 0;
  for (size_t t = 0; t < n; t++) {
    const double p = forward_step(L, f, tokens[t], f + L->H);
    if (p <= 0) {
      s = -INFINITY;
      break;
    }
    s += log(p);
  }
  free(f);
  *ln_p = s;
  return SL_OK;
}

int sl_hmm_entropy_rate(const sl_hmm *L, sl_rng *rng, size_t n, size_t burn, int n_batches,
                        double *mean_bits, double *stderr_bits) {
  SL_CHECK(L != NULL && rng != NULL && mean_bits != NULL, SL_ERR_ARG,
           "language, rng or mean_bits is NULL");
  SL_CHECK(n_batches >= 2 && n >= (size_t)n_batches, SL_ERR_ARG,
           "n_batches = %d must be >= 2 and at most n = %zu", n_batches, n);
  int err = SL_OK;
  double *f = malloc(2 * (size_t)L->H * sizeof *f);
  int32_t *tok = malloc(HMM_CHUNK * sizeof *tok);
  double *bsum = sl_calloc((size_t)n_batches, sizeof *bsum);
  SL_CHECK_GOTO(f && tok && bsum, SL_ERR_NOMEM, done, "out of memory for the entropy estimate");
  memcpy(f, L->pi, (size_t)L->H * sizeof *f);
  const size_t bs = n / (size_t)n_batches, total = burn + n;
  int hidden = -1;
  for (size_t pos = 0; pos < total;) {
    const size_t m = total - pos < HMM_CHUNK ? total - pos : HMM_CHUNK;
    SL_CALL_GOTO(sl_hmm_generate(L, rng, &hidden, tok, NULL, m), done);
    for (size_t i = 0; i < m; i++, pos++) {
      const double p = forward_step(L, f, tok[i], f + L->H);
      SL_CHECK_GOTO(p > 0, SL_ERR_INTERNAL, done, "a sampled token has probability 0");
      if (pos < burn) continue;
      size_t b = (pos - burn) / bs;
      if (b >= (size_t)n_batches) b = (size_t)n_batches - 1; /* the remainder joins the last */
      bsum[b] -= log2(p);
    }
  }
  double tot = 0, m1 = 0, m2 = 0;
  for (int b = 0; b < n_batches; b++) {
    const size_t cnt = b == n_batches - 1 ? n - bs * ((size_t)n_batches - 1) : bs;
    tot += bsum[b];
    bsum[b] /= (double)cnt; /* now the batch mean */
    m1 += bsum[b];
  }
  m1 /= n_batches;
  for (int b = 0; b < n_batches; b++)
    m2 += (bsum[b] - m1) * (bsum[b] - m1);
  *mean_bits = tot / (double)n;
  if (stderr_bits) *stderr_bits = sqrt(m2 / (n_batches - 1) / n_batches);
done:
  free(f);
  free(tok);
  free(bsum);
  return err;
}
