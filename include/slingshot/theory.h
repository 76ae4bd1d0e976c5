/* Arora and Goyal's skill theorem, evaluated exactly, and a Monte Carlo of random skill graphs
 * that shows how tight it is (docs/SCIENCE.md section 1).
 *
 * Legend: N1 skills, N2 text pieces, k skills per piece, theta the fraction of pieces failed,
 * beta > 1 the competence slack (competence 1 - beta theta), alpha the fraction of skills allowed
 * below it, k' a tuple size.
 *
 * The theorem in its union-bound form: if H(theta) < k theta KL(beta alpha || alpha) (both in
 * bits, alpha beta < 1) then w.h.p., for every failure set Y of theta N2 pieces, at least a
 * 1 - alpha fraction of skills have competence >= 1 - beta theta. KL(beta a || a) increases with a
 * on (0, 1/beta) from 0 to log2 beta, so for each beta the smallest valid alpha is one root,
 * found by bisection; there is none when k theta log2 beta <= H(theta).
 *
 * Tensorisation (the slingshot rule): the k'-tuple curve of a model at theta equals the
 * single-skill curve at k' theta.
 *
 * Nothing here is collective except sl_theory_mc. */
#ifndef SLINGSHOT_THEORY_H
#define SLINGSHOT_THEORY_H

#include <mpi.h>
#include <stdint.h>

/* Binary entropy of p in bits (0 at 0 and 1). */
double sl_theory_h2(double p);
/* Bernoulli divergence KL(p || q) in bits. */
double sl_theory_kl2(double p, double q);

/* The smallest alpha in (0, 1/beta) with H(theta) < k theta KL(beta alpha || alpha) (to 1e-12),
 * or NaN when there is none. theta in (0, 1), k > 0, beta > 1. */
double sl_theory_alpha(double theta, double k, double beta);

/* The supremum of the competence 1 - beta theta over the valid points: 1 - theta 2^(H(theta) /
 * (k theta)) (the beta where k theta log2 beta = H(theta)); not attained. */
double sl_theory_max_competence(double theta, double k);

/* The performance curve for (theta, k) at n betas: competence[i] = 1 - beta_i theta and
 * fraction[i] = 1 - alpha(beta_i) (NaN where no alpha is valid). */
void sl_theory_curve(double theta, double k, const double *beta, int n, double *competence,
                     double *fraction);

/* The k'-tuple curve at theta by tensorisation: the single-skill curve at k' theta, with
 * competence 1 - beta k' theta (NaN fraction where k' theta >= 1). */
void sl_theory_tuple_curve(double theta, double k, int kp, const double *beta, int n,
                           double *competence, double *fraction);

/* Monte Carlo of random skill graphs: every trial draws N2 pieces of k distinct uniform skills
 * out of N1 and two failure sets of round(theta N2) pieces: uniformly random, and greedy
 * adversarial (for each beta, the skill needing the fewest further failures to fall below
 * 1 - beta theta is broken next, through its pieces that touch the most other unbroken skills;
 * leftover budget goes to the lowest-index unfailed pieces). Per trial, theta and beta: the
 * fraction of skills (of those in at least one piece) with competence >= 1 - beta theta. */
typedef struct sl_theory_mc_spec {
  int n1, n2, k;
  int n_theta, n_beta;
  const double *theta, *beta;
  int64_t trials;
  uint64_t seed; /* trial i uses the stream (seed, i, "theory_mc") */
} sl_theory_mc_spec;

/* The Monte Carlo's summaries, each [n_theta x n_beta]: over trials, the mean and the minimum of
 * the competent fraction, for random and adversarial failure sets. */
typedef struct sl_theory_mc_out {
  double *rand_mean, *rand_min, *adv_mean, *adv_min;
} sl_theory_mc_out;

/* One trial (not collective): frac_rand and frac_adv [n_theta x n_beta]. */
int sl_theory_mc_trial(const sl_theory_mc_spec *s, int64_t trial, double *frac_rand,
                       double *frac_adv);

/* Collective over comm: trials are dealt round robin over the ranks, every trial's fractions are
 * gathered into one [trials] table by an exact sum of disjoint rows (x + 0 = x), and the
 * summaries are taken in trial order, so every rank count gives bitwise the same numbers. The
 * out arrays (allocated by the caller, [n_theta x n_beta]) are filled on every rank. */
int sl_theory_mc(const sl_theory_mc_spec *s, MPI_Comm comm, sl_theory_mc_out *out);

#endif
