/* The skill theorem (include/slingshot/theory.h): the values of docs/SCIENCE.md section 1, the
 * bisection against a brute-force scan of the inequality, the closed-form supremum, the
 * tensorisation rule, and the Monte Carlo's reduction against its own trials. */
#include <math.h>
#include <stdlib.h>

#include "slingshot/theory.h"
#include "test_util.h"

/* The smallest alpha on a grid of step h where H(theta) < k theta KL(beta a || a), by scanning. */
static double scan_alpha(double theta, double k, double beta, double h) {
  for (double a = h; a < 1 / beta; a += h)
    if (k * theta * sl_theory_kl2(beta * a, a) > sl_theory_h2(theta)) return a;
  return NAN;
}

static void test_science_values(void) {
  /* theta = 0.1: k = 4, beta = 3 gives alpha ~ 0.303; k = 16, beta = 2 gives alpha ~ 0.31. */
  double a43 = sl_theory_alpha(0.1, 4, 3), a162 = sl_theory_alpha(0.1, 16, 2);
  printf("\nalpha(0.1, 4, 3) = %.6f, alpha(0.1, 16, 2) = %.6f\n", a43, a162);
  CU_ASSERT(fabs(a43 - 0.303) < 0.0015);
  CU_ASSERT(fabs(a162 - 0.31) < 0.005);
  /* k = 2: no valid point with competence above 0.4 on the integer betas (beta = 6 is the first
   * valid one, competence exactly 0.4); the supremum over real beta is 1 - 0.1 2^(H/0.2). */
  for (int b = 2; b <= 50; b++) {
    double a = sl_theory_alpha(0.1, 2, b);
    if (!isnan(a)) CU_ASSERT(1 - b * 0.1 <= 0.4 + 1e-12);
    if (b == 6) CU_ASSERT(!isnan(a));
    if (b == 5) CU_ASSERT(isnan(a));
  }
  double sup = sl_theory_max_competence(0.1, 2), h = sl_theory_h2(0.1);
  CU_ASSERT(fabs(sup - (1 - 0.1 * pow(2, h / 0.2))) < 1e-15);
  CU_ASSERT(fabs(sup - 0.4921) < 1e-3);
  double beta_star = pow(2, h / 0.2);
  CU_ASSERT(isnan(sl_theory_alpha(0.1, 2, beta_star * (1 - 1e-9))));
  CU_ASSERT(!isnan(sl_theory_alpha(0.1, 2, beta_star * (1 + 1e-3))));
}

static void test_against_scan(void) {
  const double thetas[] = {0.02, 0.1, 0.3}, ks[] = {2, 4, 8, 16}, betas[] = {1.3, 2, 3, 5, 9};
  const double step = 1e-5;
  for (int a = 0; a < 3; a++)
    for (int q = 0; q < 4; q++)
      for (int b = 0; b < 5; b++) {
        double x = sl_theory_alpha(thetas[a], ks[q], betas[b]);
        double y = scan_alpha(thetas[a], ks[q], betas[b], step);
        if (isnan(y)) {
          /* the scan stops one step short of 1/beta; the root may lie in that last step */
          CU_ASSERT(isnan(x) || x > 1 / betas[b] - 2 * step);
        } else {
          CU_ASSERT(!isnan(x));
          CU_ASSERT(x <= y + 1e-12 && x > y - step - 1e-12);
        }
      }
}

static void test_curves(void) {
  double beta[4] = {1.5, 2, 3, 4}, c[4], f[4], tc[4], tf[4];
  sl_theory_curve(0.1, 8, beta, 4, c, f);
  for (int i = 0; i < 4; i++) {
    CU_ASSERT(fabs(c[i] - (1 - beta[i] * 0.1)) < 1e-15);
    double a = sl_theory_alpha(0.1, 8, beta[i]);
    CU_ASSERT(isnan(a) ? isnan(f[i]) : f[i] == 1 - a);
  }
  /* Tensorisation: the 3-tuple curve at 0.05 is the single-skill curve at 0.15. */
  sl_theory_tuple_curve(0.05, 8, 3, beta, 4, tc, tf);
  sl_theory_curve(0.05 * 3, 8, beta, 4, c, f);
  for (int i = 0; i < 4; i++) {
    CU_ASSERT(tc[i] == c[i]);
    CU_ASSERT((isnan(tf[i]) && isnan(f[i])) || tf[i] == f[i]);
  }
}

static void test_mc_reduction(void) {
  double theta[2] = {0.0, 0.1}, beta[3] = {1.5, 2, 4};
  sl_theory_mc_spec s = {.n1 = 30,
                         .n2 = 300,
                         .k = 3,
                         .n_theta = 2,
                         .n_beta = 3,
                         .theta = theta,
                         .beta = beta,
                         .trials = 5,
                         .seed = 9};
  double rm[6], rmin[6], am[6], amin[6];
  sl_theory_mc_out o = {rm, rmin, am, amin};
  SL_ASSERT_OK(sl_theory_mc(&s, MPI_COMM_SELF, &o));
  double sum_r[6] = {0}, sum_a[6] = {0}, min_r[6], min_a[6], fr[6], fa[6];
  for (int j = 0; j < 6; j++)
    min_r[j] = min_a[j] = INFINITY;
  for (int i = 0; i < 5; i++) {
    SL_ASSERT_OK(sl_theory_mc_trial(&s, i, fr, fa));
    for (int j = 0; j < 6; j++) {
      sum_r[j] += fr[j], sum_a[j] += fa[j];
      min_r[j] = fmin(min_r[j], fr[j]), min_a[j] = fmin(min_a[j], fa[j]);
      CU_ASSERT(fr[j] >= 0 && fr[j] <= 1 && fa[j] >= 0 && fa[j] <= 1);
    }
  }
  for (int j = 0; j < 6; j++) {
    CU_ASSERT(rm[j] == sum_r[j] / 5 && am[j] == sum_a[j] / 5);
    CU_ASSERT(rmin[j] == min_r[j] && amin[j] == min_a[j]);
  }
  /* No failures: every skill is competent. */
  for (int b = 0; b < 3; b++)
    CU_ASSERT(rm[b] == 1.0 && am[b] == 1.0);
  /* k = 1: every failure lands on one skill, so with 10 failures, threshold 0.2 deg and ~10
   * pieces per skill (need ~3 failures each) the adversary breaks at least 2 of the 10 skills. */
  sl_theory_mc_spec s1 = {.n1 = 10,
                          .n2 = 100,
                          .k = 1,
                          .n_theta = 1,
                          .n_beta = 1,
                          .theta = theta + 1,
                          .beta = beta + 1,
                          .trials = 1,
                          .seed = 3};
  SL_ASSERT_OK(sl_theory_mc_trial(&s1, 0, fr, fa));
  CU_ASSERT(fa[0] <= 0.8);
}

int main(int argc, char **argv) {
  const sl_test tests[] = {{"science section 1 values", test_science_values},
                           {"bisection against a scan", test_against_scan},
                           {"curves and tensorisation", test_curves},
                           {"Monte Carlo reduction", test_mc_reduction},
                           {NULL, NULL}};
  return sl_test_main(argc, argv, "theory", tests);
}
