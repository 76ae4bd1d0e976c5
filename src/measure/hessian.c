/* Hessian-vector products, Hutchinson's trace and the exact spectrum on ScaLAPACK
 * (SCIENCE.md section 4). See include/slingshot/hessian.h.
 *
 * Legend: B batch rows, T context, C channels, K = T*C, H hidden, V vocabulary, N params. */
#include "slingshot/hessian.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/error.h"

/* ------------------------------------------------------------ ScaLAPACK, BLACS, LAPACK (no
 * C header ships with Debian's packages: the Fortran and C-BLACS interfaces, declared here) */
int Csys2blacs_handle(MPI_Comm comm);
void Cfree_blacs_system_handle(int handle);
void Cblacs_gridinit(int *ctx, const char *order, int nprow, int npcol);
void Cblacs_gridinfo(int ctx, int *nprow, int *npcol, int *myrow, int *mycol);
void Cblacs_gridexit(int ctx);
int numroc_(const int *n, const int *nb, const int *iproc, const int *isrc, const int *nprocs);
void descinit_(int *desc, const int *m, const int *n, const int *mb, const int *nb,
               const int *irsrc, const int *icsrc, const int *ctx, const int *lld, int *info);
void pdtran_(const int *m, const int *n, const double *alpha, const double *a, const int *ia,
             const int *ja, const int *desca, const double *beta, double *c, const int *ic,
             const int *jc, const int *descc);
void pdsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *ia,
              const int *ja, const int *desca, double *w, double *z, const int *iz, const int *jz,
              const int *descz, double *work, const int *lwork, int *iwork, const int *liwork,
              int *info);
void pdsyevr_(const char *jobz, const char *range, const char *uplo, const int *n, double *a,
              const int *ia, const int *ja, const int *desca, const double *vl, const double *vu,
              const int *il, const int *iu, int *m, int *nz, double *w, double *z, const int *iz,
              const int *jz, const int *descz, double *work, const int *lwork, int *iwork,
              const int *liwork, int *info);
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
             double *work, const int *lwork, int *iwork, const int *liwork, int *info);

/* ------------------------------------------------------------ the operator */

struct sl_hvp {
  sl_model *m;
  const int32_t *rows;
  int B, nb;
  sl_hvp_method method;
  size_t N;
  double fd_step; /* e for a v of unit norm */
  float *p0;      /* [N] the parameters at creation, restored after every fd call */
  float *vf;      /* [N] the direction in float */
  double *acc;    /* [N] */
  /* MLP R-operator workspace */
  size_t V, T, C, K, H;
  float *x, *h, *z, *dz, *dh, *da;             /* cached per batch: [nb x B x ...] */
  float *rx, *rh, *rz, *rdz, *rdh, *rdx, *out; /* one batch's tangents */
};

int sl_hvp_method_parse(const char *name, sl_hvp_method *out) {
  if (strcmp(name, "auto") == 0)
    *out = SL_HVP_AUTO;
  else if (strcmp(name, "exact") == 0)
    *out = SL_HVP_EXACT;
  else if (strcmp(name, "fd") == 0)
    *out = SL_HVP_FD;
  else
    return SL_ERROR(SL_ERR_ARG, "unknown Hessian-vector method '%s': use auto, exact or fd", name);
  return SL_OK;
}

const char *sl_hvp_method_name(sl_hvp_method m) {
  return m == SL_HVP_EXACT ? "exact" : m == SL_HVP_FD ? "fd" : "auto";
}

sl_hvp_method sl_hvp_method_of(const sl_hvp *h) {
  return h->method;
}
size_t sl_hvp_n(const sl_hvp *h) {
  return h->N;
}
double sl_hvp_fd_step(const sl_hvp *h) {
  return h->fd_step;
}

void sl_hvp_destroy(sl_hvp *h) {
  if (!h) return;
  float *bufs[] = {h->p0, h->vf,  h->x,  h->rx,  h->h,   h->rh,  h->z, h->rz,
                   h->dz, h->rdz, h->dh, h->rdh, h->rdx, h->out, h->da};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
    free(bufs[i]);
  free(h->acc);
  free(h);
}

static double mlp_base_batch(sl_hvp *hv, const int32_t *tok, int bi);

int sl_hvp_create(sl_model *m, const int32_t *rows, int B, int n_batches, sl_hvp_method method,
                  sl_hvp **out) {
  *out = NULL;
  SL_CHECK(B >= 1 && B <= m->spec.B, SL_ERR_ARG,
           "Hessian batch of %d rows: the model takes 1 to %d", B, m->spec.B);
  SL_CHECK(n_batches >= 1, SL_ERR_ARG, "Hessian on %d batches: give at least 1", n_batches);
  if (method == SL_HVP_AUTO) method = m->spec.family == SL_MODEL_MLP ? SL_HVP_EXACT : SL_HVP_FD;
  SL_CHECK(method != SL_HVP_EXACT || m->spec.family == SL_MODEL_MLP, SL_ERR_CONFIG,
           "the exact Hessian-vector product exists for the MLP only: set flatness.method = "
           "\"fd\" or \"auto\" for the GPT");
  sl_hvp *h = calloc(1, sizeof *h);
  SL_CHECK(h, SL_ERR_NOMEM, "out of memory");
  h->m = m;
  h->rows = rows;
  h->B = B;
  h->nb = n_batches;
  h->method = method;
  h->N = m->n_params;
  int err = SL_OK;
  SL_CHECK_GOTO((h->p0 = malloc(h->N * sizeof *h->p0)) && (h->vf = malloc(h->N * sizeof *h->vf)) &&
                    (h->acc = malloc(h->N * sizeof *h->acc)),
                SL_ERR_NOMEM, fail, "out of memory for a Hessian operator of N = %zu", h->N);
  memcpy(h->p0, m->params, h->N * sizeof *h->p0);
  double ss = 0;
  for (size_t i = 0; i < h->N; i++)
    ss += (double)m->params[i] * m->params[i];
  const double rms_w = sqrt(ss / (double)h->N);
  h->fd_step = cbrt(3.0 * 0x1p-24) * (rms_w > 1 ? rms_w : 1.0);
  if (method == SL_HVP_EXACT) {
    h->V = (size_t)m->spec.V;
    h->T = (size_t)m->spec.T;
    h->C = (size_t)m->spec.C;
    h->K = h->T * h->C;
    h->H = (size_t)m->spec.H;
    const size_t b = (size_t)B, K = h->K, H = h->H, V = h->V, nb = (size_t)n_batches;
    float **bk[] = {&h->x, &h->rx, &h->rdx};
    float **bh[] = {&h->h, &h->dh, &h->da, &h->rh, &h->rdh};
    float **bv[] = {&h->z, &h->dz, &h->rz, &h->rdz};
    for (int i = 0; i < 3; i++) /* the first of each list is cached for every batch */
      SL_CHECK_GOTO((*bk[i] = malloc((i < 1 ? nb : 1) * b * K * sizeof(float))), SL_ERR_NOMEM, fail,
                    "out of memory");
    for (int i = 0; i < 5; i++)
      SL_CHECK_GOTO((*bh[i] = malloc((i < 3 ? nb : 1) * b * H * sizeof(float))), SL_ERR_NOMEM, fail,
                    "out of memory");
    for (int i = 0; i < 4; i++)
      SL_CHECK_GOTO((*bv[i] = malloc((i < 2 ? nb : 1) * b * V * sizeof(float))), SL_ERR_NOMEM, fail,
                    "out of memory");
    const size_t row = b * (h->T + 1);
    for (int bi = 0; bi < n_batches; bi++)
      (void)mlp_base_batch(h, rows + (size_t)bi * row, bi);
    SL_CHECK_GOTO((h->out = malloc(h->N * sizeof(float))), SL_ERR_NOMEM, fail, "out of memory");
  }
  *out = h;
  return SL_OK;
fail:
  sl_hvp_destroy(h);
  return err;
}

/* C[M x N] = beta C + op(A) op(B), row-major, op(A) [M x Kd]. */
static void mm(float *c, const float *a, int ta, const float *b, int tb, size_t M, size_t N,
               size_t Kd, float beta) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)M,
              (int)N, (int)Kd, 1.0f, a, ta ? (int)M : (int)Kd, b, tb ? (int)Kd : (int)N, beta, c,
              (int)N);
}

/* The MLP's forward and backward of the activations on every batch, at the fixed parameters,
 * cached once: every HVP then needs only the tangent passes (12 matmuls against the gradient's
 * 6). Per batch: x [B x K], h [B x H], p [B x V], dz [B x V], dh and da [B x H].
 *
 *   forward                              backward of the activations
 *   x  = gather emb                      dz = (p - onehot) / B
 *   h  = tanh(x W1 + b1)                 dh = dz W2^T
 *   z  = h W2 + b2, p = softmax z        da = dh (1 - h^2)
 *   (gW2 = h^T dz, gW1 = x^T da, g_emb = scatter da W1^T are never formed) */
static double mlp_base_batch(sl_hvp *hv, const int32_t *tok, int bi) {
  const sl_model *m = hv->m;
  const size_t B = (size_t)hv->B, T = hv->T, C = hv->C, K = hv->K, H = hv->H, V = hv->V;
  const float *emb = m->params, *w1 = emb + V * C, *b1 = w1 + K * H, *w2 = b1 + H, *b2 = w2 + H * V;
  float *x = hv->x + (size_t)bi * B * K, *h = hv->h + (size_t)bi * B * H;
  float *p = hv->z + (size_t)bi * B * V, *dz = hv->dz + (size_t)bi * B * V;
  float *dh = hv->dh + (size_t)bi * B * H, *da = hv->da + (size_t)bi * B * H;
  for (size_t b = 0; b < B; b++)
    for (size_t t = 0; t < T; t++)
      memcpy(x + b * K + t * C, emb + (size_t)tok[b * (T + 1) + t] * C, C * sizeof(float));
  for (size_t b = 0; b < B; b++)
    memcpy(h + b * H, b1, H * sizeof(float));
  mm(h, x, 0, w1, 0, B, H, K, 1.0f);
  for (size_t i = 0; i < B * H; i++)
    h[i] = tanhf(h[i]);
  for (size_t b = 0; b < B; b++)
    memcpy(p + b * V, b2, V * sizeof(float));
  mm(p, h, 0, w2, 0, B, V, H, 1.0f);
  double loss = 0;
  for (size_t b = 0; b < B; b++) {
    float *z = p + b * V;
    double zmax = z[0], sum = 0;
    for (size_t j = 1; j < V; j++)
      if (z[j] > zmax) zmax = z[j];
    for (size_t j = 0; j < V; j++)
      sum += exp((double)z[j] - zmax);
    const size_t y = (size_t)tok[b * (T + 1) + T];
    loss += log(sum) + zmax - z[y];
    for (size_t j = 0; j < V; j++) {
      z[j] = (float)(exp((double)z[j] - zmax) / sum);
      dz[b * V + j] = (float)((z[j] - (j == y)) / (double)B);
    }
  }
  mm(dh, dz, 0, w2, 1, B, H, V, 0.0f);
  for (size_t i = 0; i < B * H; i++)
    da[i] = dh[i] * (1.0f - h[i] * h[i]);
  return loss / (double)B;
}

/* One batch of the MLP's R-operator (Pearlmutter 1994): the cached forward and backward
 * differentiated along v (R{.} = d/dt at w + t v). Adds H_b v to h->acc (double).
 *
 *   Rx  = gather v_emb
 *   Rh  = (1 - h^2) (Rx W1 + x vW1 + vb1)
 *   Rz  = Rh W2 + h vW2 + vb2
 *   Rdz = p (Rz - <p, Rz>) / B
 *   Rdh = Rdz W2^T + dz vW2^T
 *   Rda = Rdh (1 - h^2) - 2 h Rh dh
 *   HvW2 = Rh^T dz + h^T Rdz,   Hvb2 = sum_b Rdz
 *   HvW1 = Rx^T da + x^T Rda,   Hvb1 = sum_b Rda
 *   Rdx = Rda W1^T + da vW1^T,  Hv_emb = scatter Rdx */
static void mlp_rop_batch(sl_hvp *hv, const int32_t *tok, int bi) {
  const sl_model *m = hv->m;
  const size_t B = (size_t)hv->B, T = hv->T, C = hv->C, K = hv->K, H = hv->H, V = hv->V;
  const float *w1 = m->params + V * C, *w2 = w1 + K * H + H;
  const float *vemb = hv->vf, *vw1 = vemb + V * C, *vb1 = vw1 + K * H, *vw2 = vb1 + H,
              *vb2 = vw2 + H * V;
  const float *x = hv->x + (size_t)bi * B * K, *h = hv->h + (size_t)bi * B * H;
  const float *p = hv->z + (size_t)bi * B * V, *dz = hv->dz + (size_t)bi * B * V;
  const float *dh = hv->dh + (size_t)bi * B * H, *da = hv->da + (size_t)bi * B * H;
  float *o = hv->out;
  float *oemb = o, *ow1 = oemb + V * C, *ob1 = ow1 + K * H, *ow2 = ob1 + H, *ob2 = ow2 + H * V;
  for (size_t b = 0; b < B; b++)
    for (size_t t = 0; t < T; t++)
      memcpy(hv->rx + b * K + t * C, vemb + (size_t)tok[b * (T + 1) + t] * C, C * sizeof(float));
  for (size_t b = 0; b < B; b++)
    memcpy(hv->rh + b * H, vb1, H * sizeof(float));
  mm(hv->rh, hv->rx, 0, w1, 0, B, H, K, 1.0f);
  mm(hv->rh, x, 0, vw1, 0, B, H, K, 1.0f);
  for (size_t i = 0; i < B * H; i++)
    hv->rh[i] *= 1.0f - h[i] * h[i];
  for (size_t b = 0; b < B; b++)
    memcpy(hv->rz + b * V, vb2, V * sizeof(float));
  mm(hv->rz, hv->rh, 0, w2, 0, B, V, H, 1.0f);
  mm(hv->rz, h, 0, vw2, 0, B, V, H, 1.0f);
  for (size_t b = 0; b < B; b++) {
    const float *pb = p + b * V, *rz = hv->rz + b * V;
    float *rdz = hv->rdz + b * V;
    double prz = 0;
    for (size_t j = 0; j < V; j++)
      prz += (double)pb[j] * rz[j];
    for (size_t j = 0; j < V; j++)
      rdz[j] = (float)(pb[j] * (rz[j] - prz) / (double)B);
  }
  /* output layer */
  mm(ow2, hv->rh, 1, dz, 0, H, V, B, 0.0f);
  mm(ow2, h, 1, hv->rdz, 0, H, V, B, 1.0f);
  for (size_t j = 0; j < V; j++)
    ob2[j] = 0;
  for (size_t b = 0; b < B; b++)
    for (size_t j = 0; j < V; j++)
      ob2[j] += hv->rdz[b * V + j];
  /* hidden layer */
  mm(hv->rdh, hv->rdz, 0, w2, 1, B, H, V, 0.0f);
  mm(hv->rdh, dz, 0, vw2, 1, B, H, V, 1.0f);
  for (size_t i = 0; i < B * H; i++)
    hv->rdh[i] = hv->rdh[i] * (1.0f - h[i] * h[i]) - 2.0f * h[i] * hv->rh[i] * dh[i];
  mm(ow1, hv->rx, 1, da, 0, K, H, B, 0.0f);
  mm(ow1, x, 1, hv->rdh, 0, K, H, B, 1.0f);
  for (size_t j = 0; j < H; j++)
    ob1[j] = 0;
  for (size_t b = 0; b < B; b++)
    for (size_t j = 0; j < H; j++)
      ob1[j] += hv->rdh[b * H + j];
  /* embedding */
  mm(hv->rdx, hv->rdh, 0, w1, 1, B, K, H, 0.0f);
  mm(hv->rdx, da, 0, vw1, 1, B, K, H, 1.0f);
  memset(oemb, 0, V * C * sizeof(float));
  for (size_t b = 0; b < B; b++)
    for (size_t t = 0; t < T; t++) {
      float *d = oemb + (size_t)tok[b * (T + 1) + t] * C;
      const float *r = hv->rdx + b * K + t * C;
      for (size_t c = 0; c < C; c++)
        d[c] += r[c];
    }
  for (size_t i = 0; i < hv->N; i++)
    hv->acc[i] += o[i];
}

/* Sets m's parameters to p0 + s v (in double, rounded once) and adds sign * gradients (summed
 * over the batches) to acc. */
static int fd_side(sl_hvp *h, const double *v, double s, double sign) {
  sl_model *m = h->m;
  const size_t row = (size_t)h->B * (size_t)(m->spec.T + 1);
  for (size_t i = 0; i < h->N; i++)
    m->params[i] = (float)((double)h->p0[i] + s * v[i]);
  for (int b = 0; b < h->nb; b++) {
    float loss;
    SL_CALL(sl_model_forward(m, h->rows + (size_t)b * row, h->B, &loss));
    SL_CALL(sl_model_backward(m, h->rows + (size_t)b * row, h->B));
    for (size_t i = 0; i < h->N; i++)
      h->acc[i] += sign * (double)m->grads[i];
  }
  return SL_OK;
}

int sl_hvp_apply(sl_hvp *h, const double *v, double *Hv) {
  memset(h->acc, 0, h->N * sizeof *h->acc);
  if (h->method == SL_HVP_EXACT) {
    for (size_t i = 0; i < h->N; i++)
      h->vf[i] = (float)v[i];
    const size_t row = (size_t)h->B * (h->T + 1);
    for (int b = 0; b < h->nb; b++)
      mlp_rop_batch(h, h->rows + (size_t)b * row, b);
    for (size_t i = 0; i < h->N; i++)
      Hv[i] = h->acc[i] / h->nb;
    return SL_OK;
  }
  /* Central differences, e scaled so that the step along the unit direction v/|v| is the
   * analysed one (H v is linear in v, so the error relative to |H v| is that of a unit v). */
  double ss = 0;
  for (size_t i = 0; i < h->N; i++)
    ss += v[i] * v[i];
  const double norm = sqrt(ss);
  if (norm == 0) {
    memset(Hv, 0, h->N * sizeof *Hv);
    return SL_OK;
  }
  const double e = h->fd_step / norm;
  int err = SL_OK;
  SL_CALL_GOTO(fd_side(h, v, e, 1.0), done);
  SL_CALL_GOTO(fd_side(h, v, -e, -1.0), done);
  for (size_t i = 0; i < h->N; i++)
    Hv[i] = h->acc[i] / (2.0 * e * h->nb);
done:
  memcpy(h->m->params, h->p0, h->N * sizeof *h->p0);
  return err;
}

int sl_hvp_loss_grad(sl_hvp *h, double *loss, double *grad) {
  sl_model *m = h->m;
  const size_t row = (size_t)h->B * (size_t)(m->spec.T + 1);
  double l = 0;
  if (grad) memset(grad, 0, h->N * sizeof *grad);
  for (int b = 0; b < h->nb; b++) {
    float lb;
    SL_CALL(sl_model_forward(m, h->rows + (size_t)b * row, h->B, &lb));
    l += lb;
    if (!grad) continue;
    SL_CALL(sl_model_backward(m, h->rows + (size_t)b * row, h->B));
    for (size_t i = 0; i < h->N; i++)
      grad[i] += (double)m->grads[i] / h->nb;
  }
  *loss = l / h->nb;
  return SL_OK;
}

/* ------------------------------------------------------------ Hutchinson */

int sl_hutchinson_trace(sl_hvp *h, int probes, int gaussian, sl_rng *rng, double *trace, double *se,
                        double *samples) {
  SL_CHECK(probes >= 1, SL_ERR_ARG, "Hutchinson needs at least one probe, got %d", probes);
  const size_t N = h->N;
  double *v = malloc(N * sizeof *v), *hv = malloc(N * sizeof *hv);
  int err = SL_OK;
  SL_CHECK_GOTO(v && hv, SL_ERR_NOMEM, done, "out of memory for probes of N = %zu", N);
  /* Welford's running mean and variance of q_p = v_p^T H v_p. */
  double mean = 0, m2 = 0;
  for (int p = 0; p < probes; p++) {
    for (size_t i = 0; i < N; i++)
      v[i] = gaussian ? sl_rng_normal(rng) : (sl_rng_u64(rng) >> 63 ? 1.0 : -1.0);
    SL_CALL_GOTO(sl_hvp_apply(h, v, hv), done);
    double q = 0;
    for (size_t i = 0; i < N; i++)
      q += v[i] * hv[i];
    if (samples) samples[p] = q;
    const double d = q - mean;
    mean += d / (p + 1);
    m2 += d * (q - mean);
  }
  *trace = mean;
  *se = probes > 1 ? sqrt(m2 / (probes - 1) / probes) : NAN;
done:
  free(v);
  free(hv);
  return err;
}

/* ------------------------------------------------------------ ScaLAPACK */

/* A 1 x P BLACS grid on comm (ctx), its handle and this rank's column. */
typedef struct grid1p {
  int handle, ctx, nprow, npcol, myrow, mycol;
} grid1p;

static int grid_open(MPI_Comm comm, grid1p *g) {
  int P;
  SL_CALL_MPI(MPI_Comm_size(comm, &P));
  g->handle = Csys2blacs_handle(comm);
  g->ctx = g->handle;
  Cblacs_gridinit(&g->ctx, "Row", 1, P);
  Cblacs_gridinfo(g->ctx, &g->nprow, &g->npcol, &g->myrow, &g->mycol);
  SL_CHECK(g->nprow == 1 && g->npcol == P, SL_ERR_MPI,
           "BLACS made a %d x %d grid where 1 x %d was asked", g->nprow, g->npcol, P);
  return SL_OK;
}

static void grid_close(grid1p *g) {
  Cblacs_gridexit(g->ctx);
  Cfree_blacs_system_handle(g->handle);
}

/* Every eigenvalue of the distributed symmetric matrix a (desc); a is destroyed. pdsyevr with
 * jobz = "N" (MRRR on the tridiagonal form; no eigenvectors, so no back-transformation), or
 * pdsyevd (divide and conquer, which always computes the vectors too). */
static int eig_distributed(double *a, const int *desc, int n, int nloc_cols, sl_eigensolver solver,
                           double *w) {
  const int one = 1;
  int info = 0, lwork = -1, liwork = -1, iwq = 0;
  double wq = 0;
  const int use_r = solver == SL_EIG_PDSYEVR;
  double *z = NULL;
  if (!use_r) {
    z = malloc((size_t)(n > 0 ? n : 1) * (size_t)(nloc_cols > 0 ? nloc_cols : 1) * sizeof *z);
    SL_CHECK(z, SL_ERR_NOMEM, "out of memory for the eigenvectors of n = %d", n);
  }
  double dummy = 0, vl = 0, vu = 0;
  int il = 1, iu = n, mfound = 0, nz = 0;
  if (use_r)
    pdsyevr_("N", "A", "L", &n, a, &one, &one, desc, &vl, &vu, &il, &iu, &mfound, &nz, w, &dummy,
             &one, &one, desc, &wq, &lwork, &iwq, &liwork, &info);
  else
    pdsyevd_("V", "L", &n, a, &one, &one, desc, w, z, &one, &one, desc, &wq, &lwork, &iwq, &liwork,
             &info);
  if (info != 0) free(z);
  SL_CHECK(info == 0, SL_ERR_NUMERIC, "the eigensolver's workspace query failed: info = %d", info);
  /* a margin: some builds under-report the workspace */
  lwork = (int)wq + 2 * n + 1024;
  liwork = iwq + 8 * n + 64;
  double *work = malloc((size_t)lwork * sizeof *work);
  int *iwork = malloc((size_t)liwork * sizeof *iwork);
  int err = SL_OK;
  SL_CHECK_GOTO(work && iwork, SL_ERR_NOMEM, done, "out of memory for the eigensolver's workspace");
  if (use_r) {
    pdsyevr_("N", "A", "L", &n, a, &one, &one, desc, &vl, &vu, &il, &iu, &mfound, &nz, w, &dummy,
             &one, &one, desc, work, &lwork, iwork, &liwork, &info);
    SL_CHECK_GOTO(info == 0 && mfound == n, SL_ERR_NUMERIC, done,
                  "pdsyevr failed: info = %d, %d of %d eigenvalues", info, mfound, n);
  } else {
    pdsyevd_("V", "L", &n, a, &one, &one, desc, w, z, &one, &one, desc, work, &lwork, iwork,
             &liwork, &info);
    SL_CHECK_GOTO(info == 0, SL_ERR_NUMERIC, done, "pdsyevd failed: info = %d", info);
  }
done:
  free(z);
  free(work);
  free(iwork);
  return err;
}

int sl_scalapack_eigenvalues(MPI_Comm comm, const double *a, int n, int nb, sl_eigensolver solver,
                             double *w) {
  if (nb <= 0) nb = 32;
  grid1p g;
  SL_CALL(grid_open(comm, &g));
  const int zero = 0;
  int desc[9], info = 0;
  const int ncols = numroc_(&n, &nb, &g.mycol, &zero, &g.npcol);
  int lld = n > 1 ? n : 1;
  descinit_(desc, &n, &n, &nb, &nb, &zero, &zero, &g.ctx, &lld, &info);
  int err = SL_OK;
  double *loc = malloc((size_t)n * (size_t)(ncols > 0 ? ncols : 1) * sizeof *loc);
  SL_CHECK_GOTO(info == 0 && loc, SL_ERR_NOMEM, done, "descinit info %d or out of memory", info);
  for (int jl = 0; jl < ncols; jl++) {
    /* local column jl is global column (block jl/nb on this process column) */
    const int jg = ((jl / nb) * g.npcol + g.mycol) * nb + jl % nb;
    memcpy(loc + (size_t)jl * n, a + (size_t)jg * n, (size_t)n * sizeof *loc);
  }
  SL_CALL_GOTO(eig_distributed(loc, desc, n, ncols, solver, w), done);
done:
  free(loc);
  grid_close(&g);
  return err;
}

int sl_lapack_eigenvalues(double *a, int n, double *w) {
  int info = 0, lwork = -1, liwork = -1, iwq = 0;
  double wq = 0;
  dsyevd_("N", "L", &n, a, &n, w, &wq, &lwork, &iwq, &liwork, &info);
  lwork = (int)wq;
  liwork = iwq;
  double *work = malloc((size_t)lwork * sizeof *work);
  int *iwork = malloc((size_t)liwork * sizeof *iwork);
  int err = SL_OK;
  SL_CHECK_GOTO(work && iwork, SL_ERR_NOMEM, done, "out of memory for dsyevd's workspace");
  dsyevd_("N", "L", &n, a, &n, w, work, &lwork, iwork, &liwork, &info);
  SL_CHECK_GOTO(info == 0, SL_ERR_NUMERIC, done, "dsyevd failed: info = %d", info);
done:
  free(work);
  free(iwork);
  return err;
}

int sl_hessian_spectrum(MPI_Comm comm, sl_hvp *h, int nb, sl_eigensolver solver, double *eig,
                        double *asym, double *seconds) {
  SL_CHECK(h->N <= 46340, SL_ERR_ARG,
           "a full spectrum of N = %zu parameters is too large (N^2 must fit an int): lower "
           "flatness.spectrum_max_params",
           h->N);
  if (nb <= 0) nb = 32;
  const int n = (int)h->N, zero = 0, one = 1;
  const double t0 = MPI_Wtime();
  grid1p g;
  SL_CALL(grid_open(comm, &g));
  int desc[9], info = 0, err = SL_OK;
  const int ncols = numroc_(&n, &nb, &g.mycol, &zero, &g.npcol);
  int lld = n;
  descinit_(desc, &n, &n, &nb, &nb, &zero, &zero, &g.ctx, &lld, &info);
  const size_t loc_n = (size_t)n * (size_t)(ncols > 0 ? ncols : 1);
  double *a = malloc(loc_n * sizeof *a), *at = malloc(loc_n * sizeof *at);
  double *e = calloc((size_t)n, sizeof *e);
  SL_CHECK_GOTO(info == 0 && a && at && e, SL_ERR_NOMEM, done,
                "out of memory for the %d x %d Hessian (descinit info %d)", n, n, info);
  /* The columns this rank owns, H e_j straight into its local part. */
  for (int jl = 0; jl < ncols; jl++) {
    const int jg = ((jl / nb) * g.npcol + g.mycol) * nb + jl % nb;
    e[jg] = 1.0;
    SL_CALL_GOTO(sl_hvp_apply(h, e, a + (size_t)jl * n), done);
    e[jg] = 0.0;
  }
  /* A^T, then the asymmetry and (A + A^T) / 2. */
  const double alpha = 1.0, beta = 0.0;
  pdtran_(&n, &n, &alpha, a, &one, &one, desc, &beta, at, &one, &one, desc);
  double loc[2] = {0, 0}, glob[2];
  for (size_t i = 0; i < (size_t)n * (size_t)ncols; i++) {
    const double d = fabs(a[i] - at[i]), s = fabs(a[i]);
    if (d > loc[0]) loc[0] = d;
    if (s > loc[1]) loc[1] = s;
    a[i] = 0.5 * (a[i] + at[i]);
  }
  SL_CALL_GOTO(MPI_Allreduce(loc, glob, 2, MPI_DOUBLE, MPI_MAX, comm) == MPI_SUCCESS ? SL_OK
                                                                                     : SL_ERR_MPI,
               done);
  if (asym) *asym = glob[1] > 0 ? glob[0] / glob[1] : 0.0;
  const double t1 = MPI_Wtime();
  SL_CALL_GOTO(eig_distributed(a, desc, n, ncols, solver, eig), done);
  if (seconds) {
    seconds[0] = t1 - t0;
    seconds[1] = MPI_Wtime() - t1;
  }
done:
  free(a);
  free(at);
  free(e);
  grid_close(&g);
  return err;
}

/* ------------------------------------------------------------ a cell's measurement */

int sl_flatness_measure(MPI_Comm comm, sl_model *m, const int32_t *corpus, int64_t D,
                        const sl_flatness_settings *s, sl_rng *rng, sl_flatness_result *r) {
  const double t0 = MPI_Wtime();
  const int T = m->spec.T;
  const int B = s->batch > 0 && s->batch < m->spec.B ? s->batch : m->spec.B;
  const size_t row = (size_t)T + 1;
  r->loss = r->trace = r->trace_se = r->exact_trace = r->neg_mass = r->neg_fraction = NAN;
  r->lambda_max = r->lambda_min = r->asym = NAN;
  r->top = 0;
  for (int i = 0; i < s->top; i++)
    r->top_eig[i] = NAN;
  SL_CHECK(D > T + 1, SL_ERR_ARG, "a corpus of %lld tokens is too short for context %d",
           (long long)D, T);
  int32_t *rows = malloc((size_t)s->batches * (size_t)B * row * sizeof *rows);
  double *eig = NULL;
  sl_hvp *h = NULL;
  int err = SL_OK;
  SL_CHECK_GOTO(rows, SL_ERR_NOMEM, done, "out of memory for the flatness batches");
  for (size_t i = 0; i < (size_t)s->batches * (size_t)B; i++) {
    const int64_t start = (int64_t)sl_rng_below(rng, (uint64_t)(D - T));
    memcpy(rows + i * row, corpus + start, row * sizeof *rows);
  }
  SL_CALL_GOTO(sl_hvp_create(m, rows, B, s->batches, s->method, &h), done);
  SL_CALL_GOTO(sl_hvp_loss_grad(h, &r->loss, NULL), done);
  if (s->probes > 0)
    SL_CALL_GOTO(sl_hutchinson_trace(h, s->probes, s->gaussian, rng, &r->trace, &r->trace_se, NULL),
                 done);
  if (s->spectrum_max_params > 0 && (int64_t)m->n_params <= s->spectrum_max_params) {
    const size_t N = m->n_params;
    SL_CHECK_GOTO((eig = malloc(N * sizeof *eig)), SL_ERR_NOMEM, done, "out of memory");
    SL_CALL_GOTO(sl_hessian_spectrum(comm, h, 0, SL_EIG_PDSYEVR, eig, &r->asym, NULL), done);
    double tr = 0, neg = 0;
    size_t n_neg = 0;
    for (size_t i = 0; i < N; i++) {
      tr += eig[i];
      if (eig[i] < 0) {
        neg -= eig[i];
        n_neg++;
      }
    }
    r->exact_trace = tr;
    r->neg_mass = neg;
    r->neg_fraction = (double)n_neg / (double)N;
    r->lambda_max = eig[N - 1];
    r->lambda_min = eig[0];
    for (int i = 0; i < s->top && (size_t)i < N; i++)
      r->top_eig[i] = eig[N - 1 - (size_t)i];
    r->top = s->top < (int)N ? s->top : (int)N;
  }
  r->seconds = MPI_Wtime() - t0;
done:
  sl_hvp_destroy(h);
  free(rows);
  free(eig);
  return err;
}

size_t sl_flatness_memory_bytes(const sl_config *cfg, const sl_cell *cell) {
  if (cfg->flatness.probes == 0 && cfg->flatness.spectrum_max_params == 0) return 0;
  const size_t N = cell->n_params, B = (size_t)cell->spec.B, T = (size_t)cell->spec.T;
  const size_t nb = (size_t)cfg->flatness.batches;
  /* rows, p0/vf/out (float) and acc, v, Hv (double), and the MLP's cache per batch */
  size_t bytes =
      nb * B * (T + 1) * sizeof(int32_t) + 3 * N * sizeof(float) + 3 * N * sizeof(double);
  if (cell->spec.family == SL_MODEL_MLP)
    bytes += (nb + 2) * B *
             (T * (size_t)cell->spec.C + 5 * (size_t)cell->spec.H + 4 * (size_t)cell->spec.V) *
             sizeof(float);
  if (cfg->flatness.spectrum_max_params > 0 && (int64_t)N <= cfg->flatness.spectrum_max_params)
    bytes += 2 * N * N * sizeof(double) + 64 * N * sizeof(double);
  return bytes;
}

void sl_flatness_clear(sl_cell_result *res) {
  res->flat_loss = res->hessian_trace = res->hessian_trace_se = res->hessian_exact_trace = NAN;
  res->hessian_neg_mass = res->hessian_neg_fraction = res->hessian_lambda_max = NAN;
  res->hessian_lambda_min = res->hessian_asym = res->flatness_s = NAN;
  for (int i = 0; i < SL_FLATNESS_MAX_TOP; i++)
    res->hessian_top[i] = NAN;
}

int sl_flatness_cell(const sl_config *cfg, const sl_cell *cell, sl_model *m, const int32_t *corpus,
                     int64_t D, sl_cell_result *res) {
  sl_flatness_clear(res);
  if (cfg->flatness.probes == 0 && cfg->flatness.spectrum_max_params == 0) return SL_OK;
  sl_flatness_settings s = {.probes = cfg->flatness.probes,
                            .batches = cfg->flatness.batches,
                            .batch = cfg->flatness.batch,
                            .gaussian = strcmp(cfg->flatness.distribution, "gaussian") == 0,
                            .spectrum_max_params = cfg->flatness.spectrum_max_params,
                            .top = cfg->flatness.top};
  SL_CALL(sl_hvp_method_parse(cfg->flatness.method, &s.method));
  sl_rng rng;
  sl_rng_stream(&rng, (uint64_t)cfg->seed, (uint64_t)cell->index, "flatness");
  sl_flatness_result r = {.top_eig = res->hessian_top};
  SL_CALL(sl_flatness_measure(MPI_COMM_SELF, m, corpus, D, &s, &rng, &r));
  res->flat_loss = r.loss;
  res->hessian_trace = r.trace;
  res->hessian_trace_se = r.trace_se;
  res->hessian_exact_trace = r.exact_trace;
  res->hessian_neg_mass = r.neg_mass;
  res->hessian_neg_fraction = r.neg_fraction;
  res->hessian_lambda_max = r.lambda_max;
  res->hessian_lambda_min = r.lambda_min;
  res->hessian_asym = r.asym;
  res->flatness_s = r.seconds;
  return SL_OK;
}
