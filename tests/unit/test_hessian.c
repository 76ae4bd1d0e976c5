/* Hessian-vector products, Hutchinson's trace and the ScaLAPACK spectrum (src/measure/hessian.c)
 * against independent references:
 *   - the MLP's exact HVPs (R-operator) assembled into a Hessian equal the Hessian from second
 *     differences of an independent double-precision MLP loss, and are symmetric to rounding;
 *   - central differences of gradients equal the exact HVP (MLP), and the GPT Hessian built
 *     from them is symmetric;
 *   - Hutchinson's mean lies within 3 standard errors of the exact trace (Rademacher and gaussian);
 *   - ScaLAPACK's eigenvalues (on MPI_COMM_WORLD: 1 rank under ctest, 2 and 4 under
 *     tests/mpi/test_hessian_ranks.sh) equal LAPACK's dsyevd, for a random symmetric matrix and
 *     for the Hessian, and sum to its trace. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/hessian.h"
#include "slingshot/model.h"
#include "slingshot/rng.h"
#include "test_util.h"

static int g_rank = -1;
/* Prints from rank 0 only (sl_test_main initialises MPI, so the rank is read on first use). */
static int rank0(void) {
  if (g_rank < 0) MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  return g_rank == 0;
}

static void fill_normal(float *x, size_t n, double std, sl_rng *r) {
  for (size_t i = 0; i < n; i++)
    x[i] = (float)(std * sl_rng_normal(r));
}

static void fill_tokens(int32_t *tok, size_t n, int V, sl_rng *r) {
  for (size_t i = 0; i < n; i++)
    tok[i] = (int32_t)sl_rng_below(r, (uint64_t)V);
}

/* An independent double-precision MLP loss (plain loops) over the flat layout emb [V x C],
 * W1 [T*C x H], b1 [H], W2 [H x V], b2 [V], averaged over nb batches of B rows. */
enum { REF_MAX = 64 };
static double mlp_loss_ref(const double *p, const int32_t *tok, size_t V, size_t T, size_t C,
                           size_t H, size_t B, size_t nb) {
  const double *emb = p, *w1 = emb + V * C, *b1 = w1 + T * C * H, *w2 = b1 + H, *b2 = w2 + H * V;
  double x[REF_MAX], h[REF_MAX], z[REF_MAX], loss = 0;
  for (size_t b = 0; b < B * nb; b++) {
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
  return loss / (double)(B * nb);
}

enum { MV = 5, MT = 2, MC = 2, MH = 3, MB = 4, MNB = 2 };

/* The tiny MLP (N = 45) at O(1) parameters, with 2 batches of 4 rows. */
static sl_model *tiny_mlp(int32_t *tok) {
  const sl_model_spec spec = {
      .family = SL_MODEL_MLP, .V = MV, .T = MT, .B = MB, .C = MC, .H = MH, .n_layer = 1};
  sl_model *m = NULL;
  if (sl_model_create(&spec, &m) != SL_OK) return NULL;
  sl_rng r;
  sl_rng_seed(&r, 17);
  fill_normal(m->params, m->n_params, 0.7, &r);
  fill_tokens(tok, (size_t)MNB * MB * (MT + 1), MV, &r);
  return m;
}

/* Columns H e_j of an operator into a row-major N x N matrix (column j = H e_j). */
static void assemble(sl_hvp *h, size_t N, double *Hm) {
  double *e = calloc(N, sizeof *e), *col = malloc(N * sizeof *col);
  for (size_t j = 0; j < N; j++) {
    e[j] = 1;
    SL_ASSERT_OK(sl_hvp_apply(h, e, col));
    e[j] = 0;
    for (size_t i = 0; i < N; i++)
      Hm[i * N + j] = col[i];
  }
  free(e);
  free(col);
}

static double max_abs(const double *a, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; i++)
    m = fmax(m, fabs(a[i]));
  return m;
}

static double asymmetry(const double *Hm, size_t N) {
  double d = 0;
  for (size_t i = 0; i < N; i++)
    for (size_t j = 0; j < i; j++)
      d = fmax(d, fabs(Hm[i * N + j] - Hm[j * N + i]));
  return d / max_abs(Hm, N * N);
}

static void test_exact_hvp_equals_fd_of_loss(void) {
  int32_t tok[MNB * MB * (MT + 1)];
  sl_model *m = tiny_mlp(tok);
  CU_ASSERT_PTR_NOT_NULL_FATAL(m);
  const size_t N = m->n_params;
  CU_ASSERT_EQUAL(N, (size_t)(MV * MC + MT * MC * MH + MH + MH * MV + MV));
  float *p_before = malloc(N * sizeof *p_before);
  memcpy(p_before, m->params, N * sizeof *p_before);
  sl_hvp *h = NULL;
  SL_ASSERT_OK(sl_hvp_create(m, tok, MB, MNB, SL_HVP_AUTO, &h));
  CU_ASSERT_EQUAL(sl_hvp_method_of(h), SL_HVP_EXACT);
  double *Hx = malloc(N * N * sizeof *Hx), *Hf = malloc(N * N * sizeof *Hf);
  assemble(h, N, Hx);
  CU_ASSERT_EQUAL(memcmp(p_before, m->params, N * sizeof *p_before), 0);

  /* Second differences of the double reference: h = 1e-4, truncation ~h^2 = 1e-8, rounding
   * ~1e-16/h^2 = 1e-8, far below the float HVP's ~1e-6. */
  double *p = malloc(N * sizeof *p);
  for (size_t i = 0; i < N; i++)
    p[i] = m->params[i];
  const double e = 1e-4;
  for (size_t i = 0; i < N; i++)
    for (size_t j = 0; j <= i; j++) {
      double f[4];
      const double si[4] = {1, 1, -1, -1}, sj[4] = {1, -1, 1, -1};
      for (int k = 0; k < 4; k++) {
        const double pi = p[i], pj = p[j];
        p[i] += si[k] * e;
        p[j] += sj[k] * e;
        f[k] = mlp_loss_ref(p, tok, MV, MT, MC, MH, MB, MNB);
        p[i] = pi;
        p[j] = pj;
      }
      Hf[i * N + j] = Hf[j * N + i] = (f[0] - f[1] - f[2] + f[3]) / (4 * e * e);
    }
  double d = 0;
  for (size_t i = 0; i < N * N; i++)
    d = fmax(d, fabs(Hx[i] - Hf[i]));
  const double scale = max_abs(Hf, N * N), asym = asymmetry(Hx, N);
  if (rank0())
    printf("\n  MLP N=%zu: max |H_hvp - H_fd(loss, double)| = %.2e of max |H| = %.3f; "
           "asymmetry %.2e\n",
           N, d, scale, asym);
  CU_ASSERT_TRUE(scale > 0.1); /* a Hessian far from zero, so the comparison means something */
  CU_ASSERT_TRUE(d / scale < 2e-5);
  CU_ASSERT_TRUE(asym < 1e-5);

  /* The loss and gradient the operator reports match the reference too. */
  double loss;
  SL_ASSERT_OK(sl_hvp_loss_grad(h, &loss, NULL));
  CU_ASSERT_DOUBLE_EQUAL(loss, mlp_loss_ref(p, tok, MV, MT, MC, MH, MB, MNB), 1e-5);
  sl_hvp_destroy(h);
  free(Hx);
  free(Hf);
  free(p);
  free(p_before);
  sl_model_destroy(m);
}

static void test_fd_hvp_equals_exact(void) {
  int32_t tok[MNB * MB * (MT + 1)];
  sl_model *m = tiny_mlp(tok);
  CU_ASSERT_PTR_NOT_NULL_FATAL(m);
  const size_t N = m->n_params;
  float *p_before = malloc(N * sizeof *p_before);
  memcpy(p_before, m->params, N * sizeof *p_before);
  sl_hvp *hx = NULL, *hf = NULL;
  SL_ASSERT_OK(sl_hvp_create(m, tok, MB, MNB, SL_HVP_EXACT, &hx));
  SL_ASSERT_OK(sl_hvp_create(m, tok, MB, MNB, SL_HVP_FD, &hf));
  double *v = malloc(N * sizeof *v), *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
  sl_rng r;
  sl_rng_seed(&r, 5);
  double worst = 0;
  for (int trial = 0; trial < 4; trial++) {
    for (size_t i = 0; i < N; i++)
      v[i] = trial < 2 ? sl_rng_normal(&r) * (trial + 1) * 10 : (i == (size_t)trial * 7 ? 1 : 0);
    SL_ASSERT_OK(sl_hvp_apply(hx, v, a));
    SL_ASSERT_OK(sl_hvp_apply(hf, v, b));
    double dd = 0;
    for (size_t i = 0; i < N; i++)
      dd = fmax(dd, fabs(a[i] - b[i]));
    worst = fmax(worst, dd / max_abs(a, N));
  }
  /* fd perturbs the float parameters and must restore them bitwise */
  CU_ASSERT_EQUAL(memcmp(p_before, m->params, N * sizeof *p_before), 0);
  if (rank0())
    printf("\n  MLP: central differences of gradients (step %.2e) vs exact: max rel diff %.2e\n",
           sl_hvp_fd_step(hf), worst);
  CU_ASSERT_TRUE(worst < 3e-3);
  sl_hvp_destroy(hx);
  sl_hvp_destroy(hf);
  free(v);
  free(a);
  free(b);
  free(p_before);
  sl_model_destroy(m);
}

static void test_gpt_fd_symmetric(void) {
  const sl_model_spec spec = {
      .family = SL_MODEL_GPT, .V = 7, .T = 4, .B = 3, .C = 8, .n_layer = 1, .n_head = 2, .tied = 1};
  sl_model *m = NULL;
  SL_ASSERT_OK(sl_model_create(&spec, &m));
  sl_rng r;
  sl_rng_seed(&r, 3);
  SL_ASSERT_OK(sl_model_init(m, &r));
  for (size_t i = 0; i < m->n_params; i++) /* away from the init's symmetries */
    m->params[i] += (float)(0.3 * sl_rng_normal(&r));
  int32_t tok[3 * 5];
  fill_tokens(tok, 15, 7, &r);
  sl_hvp *h = NULL;
  CU_ASSERT_EQUAL(sl_hvp_create(m, tok, 3, 1, SL_HVP_EXACT, &h), SL_ERR_CONFIG);
  sl_error_clear();
  SL_ASSERT_OK(sl_hvp_create(m, tok, 3, 1, SL_HVP_AUTO, &h));
  CU_ASSERT_EQUAL(sl_hvp_method_of(h), SL_HVP_FD);
  const size_t N = m->n_params;
  double *Hm = malloc(N * N * sizeof *Hm);
  assemble(h, N, Hm);
  const double asym = asymmetry(Hm, N);
  if (rank0())
    printf("\n  GPT N=%zu: Hessian from central differences, max |H| %.3f, asymmetry %.2e\n", N,
           max_abs(Hm, N * N), asym);
  CU_ASSERT_TRUE(max_abs(Hm, N * N) > 0.1);
  CU_ASSERT_TRUE(asym < 1e-2);
  sl_hvp_destroy(h);
  free(Hm);
  sl_model_destroy(m);
}

/* Hutchinson within 3 standard errors of the exact trace; the spectrum on MPI_COMM_WORLD equals
 * dsyevd and sums to that trace. */
static void test_trace_and_spectrum(void) {
  int32_t tok[MNB * MB * (MT + 1)];
  sl_model *m = tiny_mlp(tok);
  CU_ASSERT_PTR_NOT_NULL_FATAL(m);
  const size_t N = m->n_params;
  sl_hvp *h = NULL;
  SL_ASSERT_OK(sl_hvp_create(m, tok, MB, MNB, SL_HVP_EXACT, &h));
  double *Hm = malloc(N * N * sizeof *Hm), *w = malloc(N * sizeof *w), *ws = malloc(N * sizeof *ws);
  assemble(h, N, Hm);
  double tr = 0;
  for (size_t i = 0; i < N; i++)
    tr += Hm[i * N + i];
  for (int gaussian = 0; gaussian < 2; gaussian++) {
    sl_rng r;
    sl_rng_seed(&r, 11 + (uint64_t)gaussian);
    double est, se;
    SL_ASSERT_OK(sl_hutchinson_trace(h, 400, gaussian, &r, &est, &se, NULL));
    if (rank0())
      printf("\n  Hutchinson (%s, 400 probes): %.4f +- %.4f, exact trace %.4f",
             gaussian ? "gaussian" : "Rademacher", est, se, tr);
    CU_ASSERT_TRUE(se > 0);
    CU_ASSERT_TRUE(fabs(est - tr) < 3 * se);
  }
  for (size_t i = 0; i < N; i++) /* symmetrise for LAPACK, as the distributed path does */
    for (size_t j = 0; j < i; j++)
      Hm[i * N + j] = Hm[j * N + i] = 0.5 * (Hm[i * N + j] + Hm[j * N + i]);
  SL_ASSERT_OK(sl_lapack_eigenvalues(Hm, (int)N, w));
  for (int solver = 0; solver < 2; solver++) {
    double asym = -1, secs[2];
    SL_ASSERT_OK(
        sl_hessian_spectrum(MPI_COMM_WORLD, h, 4, (sl_eigensolver)solver, ws, &asym, secs));
    double d = 0, sum = 0;
    for (size_t i = 0; i < N; i++) {
      d = fmax(d, fabs(w[i] - ws[i]));
      sum += ws[i];
    }
    if (rank0())
      printf("\n  spectrum N=%zu (%s): max |scalapack - dsyevd| = %.2e, sum %.6f vs trace %.6f, "
             "lambda in [%.4f, %.4f]",
             N, solver ? "pdsyevd" : "pdsyevr", d, sum, tr, ws[0], ws[N - 1]);
    CU_ASSERT_TRUE(d < 1e-10 * fmax(1, fabs(w[N - 1])));
    CU_ASSERT_TRUE(fabs(sum - tr) < 1e-9 * fmax(1, fabs(tr)));
    CU_ASSERT_TRUE(asym > 0 && asym < 1e-5); /* float HVPs: asymmetric at rounding level */
  }
  CU_ASSERT_TRUE(w[0] < 0); /* an O(1)-parameter point is not a minimum: negative mass exists */
  sl_hvp_destroy(h);
  free(Hm);
  free(w);
  free(ws);
  sl_model_destroy(m);
}

/* A random symmetric matrix with a known spread of eigenvalues, several blocks per rank. */
static void test_scalapack_random(void) {
  const int sizes[3] = {1, 37, 130}, nbs[3] = {4, 5, 16};
  for (int k = 0; k < 3; k++) {
    const int n = sizes[k];
    double *a = malloc((size_t)n * n * sizeof *a), *b = malloc((size_t)n * n * sizeof *b);
    double *w = malloc((size_t)n * sizeof *w), *ws = malloc((size_t)n * sizeof *ws);
    sl_rng r;
    sl_rng_seed(&r, 100 + (uint64_t)n);
    for (int i = 0; i < n; i++)
      for (int j = 0; j <= i; j++)
        a[(size_t)i * n + j] = a[(size_t)j * n + i] = sl_rng_normal(&r) + (i == j ? i : 0);
    memcpy(b, a, (size_t)n * n * sizeof *a);
    SL_ASSERT_OK(sl_lapack_eigenvalues(b, n, w));
    for (int solver = 0; solver < 2; solver++) {
      SL_ASSERT_OK(
          sl_scalapack_eigenvalues(MPI_COMM_WORLD, a, n, nbs[k], (sl_eigensolver)solver, ws));
      double d = 0, tr = 0, sum = 0;
      for (int i = 0; i < n; i++) {
        d = fmax(d, fabs(w[i] - ws[i]));
        tr += a[(size_t)i * n + i];
        sum += ws[i];
      }
      if (rank0())
        printf("\n  n=%d nb=%d %s: max |scalapack - dsyevd| = %.2e", n, nbs[k],
               solver ? "pdsyevd" : "pdsyevr", d);
      CU_ASSERT_TRUE(d < 1e-10 * fmax(1, fabs(w[n - 1])));
      CU_ASSERT_TRUE(fabs(sum - tr) < 1e-9 * fmax(1, fabs(tr)));
    }
    free(a);
    free(b);
    free(w);
    free(ws);
  }
}

int main(int argc, char **argv) {
  const sl_test tests[] = {
      {"exact HVP Hessian = FD of the double loss", test_exact_hvp_equals_fd_of_loss},
      {"fd HVP = exact HVP (MLP)", test_fd_hvp_equals_exact},
      {"GPT Hessian from fd HVPs is symmetric", test_gpt_fd_symmetric},
      {"Hutchinson and spectrum against the exact trace", test_trace_and_spectrum},
      {"ScaLAPACK = dsyevd on random matrices", test_scalapack_random},
      {NULL, NULL}};
  return sl_test_main(argc, argv, "hessian", tests);
}
