/* Random-subspace training (include/slingshot/subspace.h): P^T P = I assembled column by column,
 * P^T against a dense product, grad_w against central differences of the real model's loss, and
 * a tiny MLP whose loss falls when only w is trained. Legend: N params, d subspace dimension,
 * B batch, T context, V vocabulary. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/lang.h"
#include "slingshot/model.h"
#include "slingshot/optim.h"
#include "slingshot/subspace.h"
#include "test_util.h"

/* The dense P [N x d] by applying P to every unit vector, with theta0 = 0. */
static double *dense_p(sl_subspace *s) {
  const size_t N = s->N, d = s->d;
  double *p = calloc(N * d, sizeof *p);
  float *e = calloc(d, sizeof *e), *col = calloc(N, sizeof *col);
  for (size_t j = 0; j < d; j++) {
    e[j] = 1.0f;
    sl_subspace_apply(s, e, col);
    e[j] = 0.0f;
    for (size_t i = 0; i < N; i++)
      p[i * d + j] = col[i];
  }
  free(e);
  free(col);
  return p;
}

static void check_orthonormal(size_t N, size_t d) {
  sl_rng r;
  sl_rng_stream(&r, 3, N, "test-subspace");
  float *zero = calloc(N, sizeof *zero);
  sl_subspace *s = NULL;
  SL_ASSERT_OK(sl_subspace_create(N, d, zero, &r, &s));
  CU_ASSERT_EQUAL((size_t)s->d1 * s->d2, d);
  CU_ASSERT((size_t)s->n1 * s->n2 <= N);
  double *p = dense_p(s);
  double worst = 0;
  for (size_t a = 0; a < d; a++)
    for (size_t b = 0; b < d; b++) {
      double dot = 0;
      for (size_t i = 0; i < N; i++)
        dot += p[i * d + a] * p[i * d + b];
      double e = fabs(dot - (a == b ? 1.0 : 0.0));
      if (e > worst) worst = e;
    }
  /* P^T g against the dense P^T, for a random g. */
  float *g = calloc(N, sizeof *g), *gw = calloc(d, sizeof *gw);
  for (size_t i = 0; i < N; i++)
    g[i] = (float)sl_rng_normal(&r);
  sl_subspace_grad(s, g, gw);
  double worst_t = 0;
  for (size_t j = 0; j < d; j++) {
    double ref = 0;
    for (size_t i = 0; i < N; i++)
      ref += p[i * d + j] * g[i];
    if (fabs(ref - gw[j]) > worst_t) worst_t = fabs(ref - gw[j]);
  }
  printf("  N = %zu, d = %zu (%d x %d rows, %d x %d cols, %zu left out): max |P^T P - I| = %.2e, "
         "max |P^T g - dense| = %.2e\n",
         N, d, s->n1, s->n2, s->d1, s->d2, N - (size_t)s->n1 * s->n2, worst, worst_t);
  CU_ASSERT(worst < 2e-6);
  CU_ASSERT(worst_t < 1e-4);
  free(g);
  free(gw);
  free(p);
  free(zero);
  sl_subspace_destroy(s);
}

static void test_orthonormal(void) {
  check_orthonormal(1000, 60);
  check_orthonormal(997, 30); /* prime N: some parameters are left at theta0 */
  check_orthonormal(600, 100);
  check_orthonormal(5000, 7); /* prime d: 1 x 7 */
}

static void test_bad_shapes(void) {
  sl_rng r;
  sl_rng_stream(&r, 3, 0, "test-subspace");
  float theta[100] = {0};
  sl_subspace *s = NULL;
  CU_ASSERT_EQUAL(sl_subspace_create(100, 101, theta, &r, &s), SL_ERR_CONFIG);
  sl_error_clear();
  /* 97 is prime and larger than 2 sqrt(100): no d1 x d2 fits. */
  CU_ASSERT_EQUAL(sl_subspace_create(100, 97, theta, &r, &s), SL_ERR_CONFIG);
  CU_ASSERT(strstr(sl_error_message(), "subspace.d") != NULL);
  sl_error_clear();
  CU_ASSERT(s == NULL);
}

typedef struct tiny {
  sl_model *m;
  sl_subspace *s;
  int32_t *rows;
  int B;
} tiny;

static void tiny_make(tiny *t, size_t d, int B) {
  sl_model_spec spec = {.family = SL_MODEL_MLP, .V = 13, .T = 6, .B = B, .C = 8, .n_layer = 1};
  SL_ASSERT_OK(sl_model_shape_from_target(&spec, 2000));
  SL_ASSERT_OK(sl_model_create(&spec, &t->m));
  sl_rng r;
  sl_rng_stream(&r, 3, 1, "test-init");
  SL_ASSERT_OK(sl_model_init(t->m, &r));
  sl_rng_stream(&r, 3, 1, "test-subspace");
  SL_ASSERT_OK(sl_subspace_create(t->m->n_params, d, t->m->params, &r, &t->s));
  t->B = B;
  t->rows = calloc((size_t)B * 7, sizeof *t->rows);
}

static void tiny_free(tiny *t) {
  sl_subspace_destroy(t->s);
  sl_model_destroy(t->m);
  free(t->rows);
}

static double loss_at(tiny *t, const float *w) {
  sl_subspace_apply(t->s, w, t->m->params);
  float l;
  SL_ASSERT_OK(sl_model_forward(t->m, t->rows, t->B, &l));
  return l;
}

/* grad_w = P^T grad_theta against central differences of the float model's loss in w. */
static void test_grad_fd(void) {
  tiny t;
  tiny_make(&t, 40, 16);
  sl_rng r;
  sl_rng_stream(&r, 3, 2, "test-rows");
  for (int i = 0; i < 16 * 7; i++)
    t.rows[i] = (int32_t)sl_rng_below(&r, 13);
  const size_t d = t.s->d;
  float *w = calloc(d, sizeof *w);
  for (size_t j = 0; j < d; j++)
    w[j] = (float)(0.3 * sl_rng_normal(&r));
  loss_at(&t, w);
  SL_ASSERT_OK(sl_model_backward(t.m, t.rows, t.B));
  float *gw = calloc(d, sizeof *gw);
  sl_subspace_grad(t.s, t.m->grads, gw);
  double worst = 0, gmax = 0;
  for (size_t j = 0; j < d; j++)
    gmax = fmax(gmax, fabs(gw[j]));
  for (size_t j = 0; j < d; j++) {
    const float h = 1e-2f, w0 = w[j];
    w[j] = w0 + h;
    double lp = loss_at(&t, w);
    w[j] = w0 - h;
    double lm = loss_at(&t, w);
    w[j] = w0;
    double fd = (lp - lm) / (2 * h);
    double rel = fabs(fd - gw[j]) / fmax(fabs(fd), 1e-2 * gmax);
    if (rel > worst) worst = rel;
  }
  printf("  %zu coordinates: max relative difference %.2e (float loss, h = 1e-2)\n", d, worst);
  CU_ASSERT(worst < 2e-2);
  free(w);
  free(gw);
  tiny_free(&t);
}

/* A tiny MLP on the skills language, trained in a 60-dimensional subspace with AdamW on w: its
 * loss on fixed held-out rows falls well below the untrained one. */
static void test_trains(void) {
  sl_skills_params p = {.M = 8, .S = 4, .k_max = 2, .arity_weights = {1, 1}};
  sl_skills_lang *L = NULL;
  SL_ASSERT_OK(sl_skills_create(&p, 11, &L));
  CU_ASSERT_EQUAL_FATAL(L->V, 13);
  enum { NT = 20000, NV = 2048, B = 32 };
  int32_t *train = malloc(NT * sizeof *train), *val = malloc(NV * sizeof *val);
  sl_rng r;
  sl_rng_stream(&r, 3, 3, "test-corpus");
  SL_ASSERT_OK(sl_skills_generate(L, &r, train, NT, NULL, 0, NULL));
  SL_ASSERT_OK(sl_skills_generate(L, &r, val, NV, NULL, 0, NULL));
  tiny t;
  tiny_make(&t, 60, B);
  const size_t d = t.s->d;
  int32_t *vrows = malloc((size_t)B * 7 * sizeof *vrows);
  for (int b = 0; b < B; b++)
    memcpy(vrows + b * 7, val + 50 * b, 7 * sizeof *vrows);
  float l0, l1;
  SL_ASSERT_OK(sl_model_forward(t.m, vrows, B, &l0));
  sl_optim_spec os = {.kind = SL_OPTIM_ADAMW, .beta1 = 0.9, .beta2 = 0.99, .eps = 1e-8};
  sl_optim *o = NULL;
  SL_ASSERT_OK(sl_optim_create(&os, d, &o));
  for (int step = 0; step < 400; step++) {
    for (int b = 0; b < B; b++)
      memcpy(t.rows + b * 7, train + sl_rng_below(&r, NT - 7), 7 * sizeof *t.rows);
    float l;
    SL_ASSERT_OK(sl_model_forward(t.m, t.rows, B, &l));
    SL_ASSERT_OK(sl_model_backward(t.m, t.rows, B));
    sl_subspace_grad(t.s, t.m->grads, t.s->gw);
    SL_ASSERT_OK(sl_optim_step(o, t.s->w, t.s->gw, NULL, 3e-2));
    sl_subspace_apply(t.s, t.s->w, t.m->params);
  }
  SL_ASSERT_OK(sl_model_forward(t.m, vrows, B, &l1));
  printf("  held-out loss %.3f -> %.3f nats (ln V = %.3f) training %zu of %zu coordinates\n", l0,
         l1, log(13.0), d, t.m->n_params);
  CU_ASSERT(l1 < l0 - 0.5);
  sl_optim_destroy(o);
  tiny_free(&t);
  sl_skills_destroy(L);
  free(train);
  free(val);
  free(vrows);
}

int main(int argc, char **argv) {
  const sl_test tests[] = {{"orthonormal", test_orthonormal},
                           {"bad_shapes", test_bad_shapes},
                           {"grad_fd", test_grad_fd},
                           {"trains", test_trains},
                           {NULL, NULL}};
  return sl_test_main(argc, argv, "subspace", tests);
}
