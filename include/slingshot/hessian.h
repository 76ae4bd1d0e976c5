/* Flatness (SCIENCE.md section 4): Hessian-vector products of the training loss on a fixed set
 * of batches, the Hutchinson trace, and the exact spectrum on ScaLAPACK.
 *
 * Legend: B batch rows, T context, C channels, H hidden, V vocabulary, N params, P probes.
 *
 * The loss is L(w) = (1/nb) sum_b L_b(w), L_b the model's mean cross-entropy (nats per predicted
 * token) on batch b of the fixed rows given at creation; H = d^2 L / dw^2 at the model's current
 * parameters. Two ways to H v:
 *   exact  the MLP's forward-over-reverse pass (Pearlmutter's R-operator): the forward and the
 *          backward of the activations of every batch are cached at creation; a product is the
 *          tangent forward and the tangent backward, in float over cblas_sgemm, the batches
 *          summed in double. Exact up to float rounding.
 *   fd     central differences of gradients, (g(w + e v) - g(w - e v)) / (2 e), for any model
 *          (the GPT), accumulated in double. The step: the error is about
 *          e^2 |L'''[v,v,.]| / 6 (truncation) + u |g| / e (float rounding of the gradient, u =
 *          2^-24); with both scales of order one along a unit direction the optimum is
 *          e |v| = (3 u)^(1/3) = 5.7e-3 (|v| the 2-norm; H v is linear in v, so any v has the
 *          relative error of its unit direction), times max(1, rms(w)) so that the perturbation
 *          stays above the rounding of the weights themselves. tests/unit/test_hessian.c holds
 *          it against the exact one.
 *
 * Collective (over the comm given): sl_hessian_spectrum, sl_scalapack_eigenvalues and
 * sl_flatness_measure; nothing else. A rank that fails inside a collective one returns its
 * error without telling the others (which then wait): on MPI_COMM_SELF, as in a run, that
 * cannot happen; a caller on a larger communicator should agree on the status afterwards. */
#ifndef SLINGSHOT_HESSIAN_H
#define SLINGSHOT_HESSIAN_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "slingshot/config.h"
#include "slingshot/model.h"
#include "slingshot/rng.h"
#include "slingshot/train.h"

typedef enum sl_hvp_method {
  SL_HVP_AUTO = 0,  /* exact for the MLP, fd for the GPT */
  SL_HVP_EXACT = 1, /* the R-operator (MLP only) */
  SL_HVP_FD = 2     /* central differences of gradients */
} sl_hvp_method;

/* "auto", "exact", "fd" -> method; SL_ERR_ARG otherwise. */
int sl_hvp_method_parse(const char *name, sl_hvp_method *out);
const char *sl_hvp_method_name(sl_hvp_method m);

typedef struct sl_hvp sl_hvp;

/* An operator v -> H v of m's loss on n_batches batches of rows (rows: [n_batches x B x (T+1)]
 * tokens, B <= m->spec.B), at m's parameters as they are now. m and rows must outlive it; m's
 * parameters are used in place and left bitwise unchanged by every call (fd perturbs and
 * restores them; its gradients buffer and activations are overwritten). */
int sl_hvp_create(sl_model *m, const int32_t *rows, int B, int n_batches, sl_hvp_method method,
                  sl_hvp **out);
/* Hv = H v (both [N], double). */
int sl_hvp_apply(sl_hvp *h, const double *v, double *Hv);
/* The method actually used (AUTO resolved), N, and for fd the step e used for a v of unit 2-norm.
 */
sl_hvp_method sl_hvp_method_of(const sl_hvp *h);
size_t sl_hvp_n(const sl_hvp *h);
double sl_hvp_fd_step(const sl_hvp *h);
/* The loss at the current parameters (mean over the batches), and its gradient in double. */
int sl_hvp_loss_grad(sl_hvp *h, double *loss, double *grad);
void sl_hvp_destroy(sl_hvp *h);

/* Hutchinson's estimate Tr(H) ~ mean_p v_p^T H v_p over `probes` probes (Rademacher: entries
 * +-1; gaussian: N(0,1)), drawn from rng; *se = sample standard deviation / sqrt(probes) (NaN
 * for one probe). samples (may be NULL): [probes] the v^T H v. */
int sl_hutchinson_trace(sl_hvp *h, int probes, int gaussian, sl_rng *rng, double *trace, double *se,
                        double *samples);

/* ScaLAPACK's symmetric eigensolvers, all eigenvalues: pdsyevr with jobz = "N" (MRRR, no
 * eigenvectors: the default) or pdsyevd (divide and conquer; it always computes the vectors). */
typedef enum sl_eigensolver { SL_EIG_PDSYEVR = 0, SL_EIG_PDSYEVD = 1 } sl_eigensolver;

/* The Hessian's spectrum, collective over comm (every rank passes an operator for the same model
 * and batches). The ranks form a 1 x P BLACS grid; the N x N Hessian is distributed
 * block-cyclically by columns in blocks of nb (0: 32); each rank computes the columns it owns
 * as H e_j directly into its local part (no column is computed twice), the matrix is
 * symmetrised, (A + A^T)/2 (pdtran), and the eigensolver returns every eigenvalue. On every
 * rank: eig [N] ascending; asym (may be NULL): max |A - A^T| / max |A| before symmetrising;
 * seconds (may be NULL): [2] build and eigensolver wall times. N is at most 46340 (N^2 in a
 * ScaLAPACK int). */
int sl_hessian_spectrum(MPI_Comm comm, sl_hvp *h, int nb, sl_eigensolver solver, double *eig,
                        double *asym, double *seconds);

/* The same eigenvalues from a dense symmetric matrix on one rank, with LAPACK's dsyevd
 * (a [n x n], overwritten; w [n] ascending). */
int sl_lapack_eigenvalues(double *a, int n, double *w);
/* The same distributed eigensolve as sl_hessian_spectrum for a matrix every rank holds whole
 * (a [n x n] column-major, read only): for testing the ScaLAPACK path against dsyevd.
 * Collective over comm. */
int sl_scalapack_eigenvalues(MPI_Comm comm, const double *a, int n, int nb, sl_eigensolver solver,
                             double *w);

/* What a cell's flatness measurement produces (flatness config group). */
typedef struct sl_flatness_settings {
  int probes;                  /* Hutchinson probes (0: no measurement) */
  int batches;                 /* batches of the training corpus the loss is taken on */
  int batch;                   /* rows per batch (0: the cell's train.batch) */
  int gaussian;                /* probes: 0 Rademacher, 1 gaussian */
  sl_hvp_method method;        /* auto, exact or fd */
  int64_t spectrum_max_params; /* full spectrum for models with N up to this (0: never) */
  int top;                     /* eigenvalues kept, the largest */
} sl_flatness_settings;

typedef struct sl_flatness_result {
  double loss; /* the loss on the flatness batches */
  double trace, trace_se;
  double exact_trace;  /* from the spectrum (NaN without one) */
  double neg_mass;     /* sum of |lambda| over negative eigenvalues (NaN without a spectrum) */
  double neg_fraction; /* share of negative eigenvalues */
  double lambda_max, lambda_min;
  double asym;     /* max |H - H^T| / max |H| before symmetrising */
  double seconds;  /* wall time of the measurement */
  int top;         /* entries of top_eig filled (<= settings.top) */
  double *top_eig; /* [settings.top] largest eigenvalues, descending (NaN beyond N) */
} sl_flatness_result;

/* Measures the flatness of m (trained) on its corpus: settings.batches batches of rows drawn
 * from corpus[0..D) with rng, Hutchinson trace, and the spectrum on comm (MPI_COMM_SELF for a
 * cell trained by one rank) when N <= spectrum_max_params. Collective over comm. r->top_eig has
 * room for settings.top values. */
int sl_flatness_measure(MPI_Comm comm, sl_model *m, const int32_t *corpus, int64_t D,
                        const sl_flatness_settings *settings, sl_rng *rng, sl_flatness_result *r);

/* Bytes the flatness measurement of a cell adds at its peak: the batches, the operator's cache
 * and, when the cell gets a spectrum, the N x N Hessian and its transpose (2 N^2 doubles). */
size_t sl_flatness_memory_bytes(const sl_config *cfg, const sl_cell *cell);
/* The flatness fields of a cell's result set to NaN (not measured). */
void sl_flatness_clear(sl_cell_result *res);
/* A cell's flatness after training, as the flatness group of its (variant's) config says: the
 * batches are drawn from corpus[0..D) with the stream (seed, cell index, "flatness"); the
 * spectrum, when N <= flatness.spectrum_max_params, on MPI_COMM_SELF (a 1 x 1 BLACS grid: cells
 * are trained one per rank). Nothing when flatness.probes and spectrum_max_params are 0. Not
 * collective. */
int sl_flatness_cell(const sl_config *cfg, const sl_cell *cell, sl_model *m, const int32_t *corpus,
                     int64_t D, sl_cell_result *res);

#endif
