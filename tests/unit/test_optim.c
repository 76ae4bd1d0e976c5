/* Optimisers, clipping and the learning-rate schedule against values computed by hand in double.
 * Legend: N params. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/optim.h"
#include "test_util.h"

enum { N_TEST = 4 };

/* AdamW written out longhand in double, one step, for the reference trajectory. */
static void adamw_ref(double *p, double *m, double *v, const double *g, const int *decay, int t,
                      double lr, double b1, double b2, double eps, double wd) {
  for (int i = 0; i < N_TEST; i++) {
    m[i] = b1 * m[i] + (1 - b1) * g[i];
    v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
    double mh = m[i] / (1 - pow(b1, t)), vh = v[i] / (1 - pow(b2, t));
    p[i] -= lr * (mh / (sqrt(vh) + eps)) + (decay[i] ? lr * wd * p[i] : 0.0);
  }
}

static void test_adamw(void) {
  const sl_optim_spec spec = {
      .kind = SL_OPTIM_ADAMW, .beta1 = 0.9, .beta2 = 0.95, .eps = 1e-8, .weight_decay = 0.1};
  sl_optim *o = NULL;
  SL_ASSERT_OK(sl_optim_create(&spec, N_TEST, &o));
  float p[N_TEST] = {0.5f, -1.25f, 2.0f, 0.0f};
  const uint8_t decay[N_TEST] = {1, 0, 1, 1};
  const int decay_i[N_TEST] = {1, 0, 1, 1};
  double pr[N_TEST], mr[N_TEST] = {0}, vr[N_TEST] = {0};
  for (int i = 0; i < N_TEST; i++)
    pr[i] = p[i];
  /* Three steps with changing gradients (one entry always zero) and learning rates. */
  const float g[3][N_TEST] = {
      {0.1f, -0.2f, 0.0f, 3.0f}, {0.05f, 0.3f, 0.0f, -1.0f}, {-0.4f, 0.1f, 0.0f, 0.5f}};
  const double lr[3] = {1e-2, 2e-2, 5e-3};
  double worst = 0;
  for (int t = 0; t < 3; t++) {
    double gd[N_TEST];
    for (int i = 0; i < N_TEST; i++)
      gd[i] = g[t][i];
    SL_ASSERT_OK(sl_optim_step(o, p, g[t], decay, lr[t]));
    adamw_ref(pr, mr, vr, gd, decay_i, t + 1, lr[t], 0.9, 0.95, 1e-8, 0.1);
    for (int i = 0; i < N_TEST; i++) {
      worst = fmax(worst, fabs(p[i] - pr[i]));
      CU_ASSERT_DOUBLE_EQUAL(p[i], pr[i], 1e-6 * fmax(1.0, fabs(pr[i])));
      /* the moments are computed in float (as torch does): a few float roundings of them */
      CU_ASSERT_DOUBLE_EQUAL(o->m[i], mr[i], 1e-7 + 1e-6 * fabs(mr[i]));
      CU_ASSERT_DOUBLE_EQUAL(o->v[i], vr[i], 1e-7 + 1e-6 * fabs(vr[i]));
    }
  }
  CU_ASSERT_EQUAL(o->step, 3);
  /* The first step by hand: with bias correction m/sqrt(v) = g/|g| = sign(g) (up to eps), so
   * p <- p - lr (sign(g) + wd p) where decayed, p - lr sign(g) elsewhere, p - lr wd p if g = 0. */
  {
    sl_optim *o1 = NULL;
    SL_ASSERT_OK(sl_optim_create(&spec, N_TEST, &o1));
    float q[N_TEST] = {0.5f, -1.25f, 2.0f, 0.0f};
    SL_ASSERT_OK(sl_optim_step(o1, q, g[0], decay, 1e-2));
    CU_ASSERT_DOUBLE_EQUAL(q[0], 0.5 - 0.01 * (1 + 0.1 * 0.5), 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(q[1], -1.25 + 0.01, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(q[2], 2.0 - 0.01 * 0.1 * 2.0, 1e-6); /* zero grad: decay only */
    CU_ASSERT_DOUBLE_EQUAL(q[3], 0.0 - 0.01, 1e-6);
    /* decay == NULL decays everything */
    float q2[N_TEST] = {0.5f, -1.25f, 2.0f, 0.0f};
    sl_optim *o2 = NULL;
    SL_ASSERT_OK(sl_optim_create(&spec, N_TEST, &o2));
    SL_ASSERT_OK(sl_optim_step(o2, q2, g[0], NULL, 1e-2));
    CU_ASSERT_DOUBLE_EQUAL(q2[1], -1.25 - 0.01 * (-1.0 + 0.1 * -1.25), 1e-6);
    sl_optim_destroy(o1);
    sl_optim_destroy(o2);
  }
  printf("\n  AdamW 3 steps: max |C - double reference| = %.2e", worst);
  sl_optim_destroy(o);
}

static void test_sgd(void) {
  const sl_optim_spec spec = {.kind = SL_OPTIM_SGD, .momentum = 0.9, .weight_decay = 0.01};
  sl_optim *o = NULL;
  SL_ASSERT_OK(sl_optim_create(&spec, 2, &o));
  float p[2] = {1.0f, -2.0f};
  const uint8_t decay[2] = {1, 0};
  const float g1[2] = {0.5f, 1.0f}, g2[2] = {-0.25f, 2.0f};
  SL_ASSERT_OK(sl_optim_step(o, p, g1, decay, 0.1));
  /* m = g1; p0 = 1 - 0.1*(0.5 + 0.01*1) = 0.949; p1 = -2 - 0.1*1 = -2.1 */
  CU_ASSERT_DOUBLE_EQUAL(p[0], 0.949, 1e-6);
  CU_ASSERT_DOUBLE_EQUAL(p[1], -2.1, 1e-6);
  SL_ASSERT_OK(sl_optim_step(o, p, g2, decay, 0.1));
  /* m0 = 0.9*0.5 - 0.25 = 0.2, p0 = 0.949 - 0.1*(0.2 + 0.01*0.949) = 0.9280510
   * m1 = 0.9*1 + 2 = 2.9,      p1 = -2.1 - 0.29 = -2.39 */
  CU_ASSERT_DOUBLE_EQUAL(o->m[0], 0.2, 1e-7);
  CU_ASSERT_DOUBLE_EQUAL(o->m[1], 2.9, 1e-6);
  CU_ASSERT_DOUBLE_EQUAL(p[0], 0.949 - 0.1 * (0.2 + 0.01 * 0.949), 1e-6);
  CU_ASSERT_DOUBLE_EQUAL(p[1], -2.39, 1e-6);
  CU_ASSERT_EQUAL(o->step, 2);
  sl_optim_destroy(o);
}

static void test_optim_errors(void) {
  sl_optim *o = NULL;
  sl_optim_spec bad = {.kind = SL_OPTIM_ADAMW, .beta1 = 1.0, .beta2 = 0.95, .eps = 1e-8};
  CU_ASSERT_EQUAL(sl_optim_create(&bad, 4, &o), SL_ERR_CONFIG);
  CU_ASSERT_PTR_NULL(o);
  bad.beta1 = 0.9;
  bad.eps = 0;
  CU_ASSERT_EQUAL(sl_optim_create(&bad, 4, &o), SL_ERR_CONFIG);
  sl_optim_spec sgd = {.kind = SL_OPTIM_SGD, .momentum = -0.5};
  CU_ASSERT_EQUAL(sl_optim_create(&sgd, 4, &o), SL_ERR_CONFIG);
  sgd.momentum = 0.0;
  CU_ASSERT_EQUAL(sl_optim_create(&sgd, 0, &o), SL_ERR_ARG);
  SL_ASSERT_OK(sl_optim_create(&sgd, 1, &o));
  float p = 1, g = 1;
  CU_ASSERT_EQUAL(sl_optim_step(o, &p, &g, NULL, NAN), SL_ERR_ARG);
  CU_ASSERT_EQUAL(o->step, 0);
  sl_optim_destroy(o);
  sl_error_clear();
}

static void test_clip(void) {
  float g[4] = {3.0f, -4.0f, 0.0f, 12.0f}; /* norm 13 */
  CU_ASSERT_DOUBLE_EQUAL(sl_grad_norm(g, 4), 13.0, 1e-12);
  double norm = 0;
  sl_grad_clip(g, 4, 26.0, &norm); /* under the limit: unchanged */
  CU_ASSERT_DOUBLE_EQUAL(norm, 13.0, 1e-12);
  CU_ASSERT_EQUAL(g[0], 3.0f);
  sl_grad_clip(g, 4, 0.0, &norm); /* max_norm <= 0: no clipping */
  CU_ASSERT_EQUAL(g[3], 12.0f);
  sl_grad_clip(g, 4, 1.3, &norm);
  CU_ASSERT_DOUBLE_EQUAL(norm, 13.0, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL(g[0], 0.3, 1e-7);
  CU_ASSERT_DOUBLE_EQUAL(g[1], -0.4, 1e-7);
  CU_ASSERT_DOUBLE_EQUAL(g[3], 1.2, 1e-7);
  CU_ASSERT_DOUBLE_EQUAL(sl_grad_norm(g, 4), 1.3, 1e-6);
  /* The norm accumulates in double: 1e6 entries of 1e-3 give exactly 1. */
  size_t n = 1000000;
  float *big = malloc(n * sizeof *big);
  for (size_t i = 0; i < n; i++)
    big[i] = 1e-3f;
  CU_ASSERT_DOUBLE_EQUAL(sl_grad_norm(big, n), 1e-3 * 1000.0, 1e-6);
  free(big);
}

static void test_schedule(void) {
  const double lr = 1e-3, min_lr = 1e-4;
  /* warmup 10, total 110 */
  CU_ASSERT_DOUBLE_EQUAL(sl_lr_at(lr, min_lr, 0, 10, 110), 1e-4, 1e-15);    /* lr/warmup */
  CU_ASSERT_DOUBLE_EQUAL(sl_lr_at(lr, min_lr, 4, 10, 110), 5e-4, 1e-15);    /* lr*5/10 */
  CU_ASSERT_DOUBLE_EQUAL(sl_lr_at(lr, min_lr, 9, 10, 110), 1e-3, 1e-15);    /* lr at warmup-1 */
  CU_ASSERT_DOUBLE_EQUAL(sl_lr_at(lr, min_lr, 10, 10, 110), 1e-3, 1e-15);   /* cosine start */
  CU_ASSERT_DOUBLE_EQUAL(sl_lr_at(lr, min_lr, 60, 10, 110), 5.5e-4, 1e-15); /* halfway */
  /* a quarter of the way: min + (lr-min)(1 + cos(pi/4))/2 */
  CU_ASSERT_DOUBLE_EQUAL(sl_lr_at(lr, min_lr, 35, 10, 110), 1e-4 + 9e-4 * (1 + sqrt(0.5)) / 2,
                         1e-15);
  CU_ASSERT_DOUBLE_EQUAL(sl_lr_at(lr, min_lr, 110, 10, 110), 1e-4, 1e-15);
  CU_ASSERT_DOUBLE_EQUAL(sl_lr_at(lr, min_lr, 500, 10, 110), 1e-4, 1e-15);
  /* no warmup: cosine from step 0 */
  CU_ASSERT_DOUBLE_EQUAL(sl_lr_at(lr, min_lr, 0, 0, 100), 1e-3, 1e-15);
  CU_ASSERT_DOUBLE_EQUAL(sl_lr_at(lr, min_lr, 50, 0, 100), 5.5e-4, 1e-15);
  /* monotone: non-decreasing through warmup, non-increasing after */
  int ok = 1;
  for (int64_t t = 1; t < 130; t++) {
    double a = sl_lr_at(lr, min_lr, t - 1, 10, 110), b = sl_lr_at(lr, min_lr, t, 10, 110);
    ok &= t < 10 ? b >= a : b <= a;
  }
  CU_ASSERT_TRUE(ok);
}

int main(int argc, char **argv) {
  static const sl_test tests[] = {
      {"AdamW vs double reference", test_adamw},        {"SGD with momentum by hand", test_sgd},
      {"optimiser argument errors", test_optim_errors}, {"gradient norm and clipping", test_clip},
      {"learning-rate schedule", test_schedule},        {NULL, NULL},
  };
  return sl_test_main(argc, argv, "optim", tests);
}
