/* Training in a random subspace (SCIENCE.md section 3, after Li et al. 2018 and Lotfi et al.):
 * theta = theta_0 + P w, w in R^d trained, theta_0 (the model's normal initialisation) and P
 * drawn from the cell's recorded streams, so the hypothesis is described by w alone. Nothing
 * here is collective.
 *
 * Legend: N params, d subspace dimension, n1 n2 <= N and d1 d2 = d the Kronecker shapes.
 *
 * The projection. P = Pi [Q1 (x) Q2; 0]: Q1 [n1 x d1] and Q2 [n2 x d2] are Gaussian matrices
 * orthonormalised by Gram-Schmidt (twice, in double), their Kronecker product Q1 (x) Q2
 * [n1 n2 x d] has orthonormal columns (Q1^T Q1 (x) Q2^T Q2 = I), and the random permutation Pi
 * scatters its n1 n2 rows over the N parameters; the N - n1 n2 parameters left (fewer than n2,
 * often none: n2 is chosen near sqrt(N) to make the remainder small) stay at theta_0. So
 * P^T P = I_d exactly (to rounding), and with W the [d1 x d2] matrix of w (row-major) and Y the
 * [n1 x n2] matrix of the covered parameters,
 *     P w     : Y = Q1 W Q2^T            (n1 d1 d2 + N d2 multiply-adds)
 *     P^T g   : W = Q1^T G Q2            (the same)
 * against N d for a dense P; the memory is n1 d1 + n2 d2 + N floats instead of N d (for N = 1e5,
 * d = 1000: about 4e5 flops and 20k floats, not 1e8 of each). */
#ifndef SLINGSHOT_SUBSPACE_H
#define SLINGSHOT_SUBSPACE_H

#include <stddef.h>
#include <stdint.h>

#include "slingshot/rng.h"

typedef struct sl_subspace {
  size_t N, d;
  int n1, n2, d1, d2;
  float *q1, *q2;  /* [n1 x d1], [n2 x d2] row-major, orthonormal columns */
  int64_t *perm;   /* [N]: row r of Q1 (x) Q2 moves parameter perm[r]; r >= n1 n2 stay */
  float *theta0;   /* [N] */
  float *w, *gw;   /* [d] the trained coordinates and their gradient */
  float *tmp, *yg; /* [n1 x d2] and [n1 x n2] scratch */
} sl_subspace;

/* Chooses the shapes and draws Q1, Q2 and Pi from rng; copies theta0; w = 0. An error naming
 * what to change when d > N or d has no factors d1 <= n1, d2 <= n2. */
int sl_subspace_create(size_t N, size_t d, const float *theta0, sl_rng *rng, sl_subspace **out);
void sl_subspace_destroy(sl_subspace *s);

/* theta = theta0 + P w (every one of the N entries is written). */
void sl_subspace_apply(sl_subspace *s, const float *w, float *theta);
/* gw = P^T g for a gradient g [N] with respect to theta. */
void sl_subspace_grad(sl_subspace *s, const float *g, float *gw);

#endif
