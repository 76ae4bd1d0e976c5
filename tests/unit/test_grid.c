/* Grid expansion: cell order, steps and costs, shapes from N, decay groups, unique prefixes. */
#include <malloc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/config.h"
#include "slingshot/grid.h"
#include "slingshot/model.h"
#include "slingshot/train.h"
#include "test_util.h"

static const char *CFG = "seed = 5;\n"
                         "train = { batch = 16; epochs = 2.0; min_steps = 10; max_steps = 500; };\n"
                         "grid = { n_params = [1000.0, 5000.0]; d_tokens = [400.0, 2000.0, 8000.0];"
                         " seeds = [3, 9]; };\n";

static void test_expansion_order_and_cost(void) {
  sl_config cfg;
  SL_ASSERT_OK(sl_config_parse(CFG, "t", &cfg));
  sl_grid g;
  SL_ASSERT_OK(sl_grid_expand(&cfg, 25, &g));
  CU_ASSERT_EQUAL_FATAL(g.n_cells, 2 * 2 * 3);
  for (int64_t i = 0; i < g.n_cells; i++) {
    const sl_cell *c = &g.cells[i];
    CU_ASSERT_EQUAL(c->index, i);
    /* seeds x variants x N x D, D fastest */
    CU_ASSERT_EQUAL(c->seed, i < 6 ? 3 : 9);
    CU_ASSERT_DOUBLE_EQUAL(c->n_target, (i % 6) < 3 ? 1000.0 : 5000.0, 0);
    static const int64_t ds[3] = {400, 2000, 8000};
    CU_ASSERT_EQUAL(c->d_tokens, ds[i % 3]);
    /* steps = epochs * D / (batch * 1 target per row), clamped to [10, 500] */
    double want = ceil(2.0 * (double)c->d_tokens / 16.0);
    want = want < 10 ? 10 : want > 500 ? 500 : want;
    CU_ASSERT_EQUAL(c->steps, (int64_t)want);
    CU_ASSERT_EQUAL(c->tokens_trained, c->steps * 16);
    CU_ASSERT_DOUBLE_EQUAL(c->cost, c->flops_per_token * (double)c->tokens_trained, 1e-6);
    /* the exact N is the model's own count, near the target */
    size_t no_embed;
    CU_ASSERT_EQUAL(c->n_params, sl_model_param_count(&c->spec, &no_embed));
    CU_ASSERT_EQUAL(c->n_params_no_embed, no_embed);
    CU_ASSERT_TRUE(fabs((double)c->n_params / c->n_target - 1) < 0.1);
  }
  sl_grid_free(&g);
}

static void test_decay_groups_reach_the_model(void) {
  sl_config cfg;
  char text[1024];
  snprintf(text, sizeof text, "%s%s", CFG,
           "train = { decay_groups = [\"biases\"]; };\n"); /* a second train group is a dup */
  sl_error_clear();
  CU_ASSERT_EQUAL(sl_config_parse(text, "t", &cfg), SL_ERR_CONFIG); /* duplicate group */
  SL_ASSERT_OK(sl_config_parse("train = { decay_groups = [\"biases\"]; };\n"
                               "grid = { n_params = [1000.0]; d_tokens = [1000.0]; };\n",
                               "t", &cfg));
  sl_grid g;
  SL_ASSERT_OK(sl_grid_expand(&cfg, 25, &g));
  CU_ASSERT_EQUAL(g.cells[0].spec.decay_groups, SL_DECAY_EXPLICIT | (1u << SL_PARAM_BIAS));
  sl_model *m = NULL;
  SL_ASSERT_OK(sl_model_create(&g.cells[0].spec, &m));
  size_t n_decay = 0, n_bias = 0;
  for (size_t i = 0; i < m->n_params; i++) {
    n_decay += m->decay[i];
    n_bias += m->group[i] == SL_PARAM_BIAS;
    CU_ASSERT_EQUAL(m->decay[i], m->group[i] == SL_PARAM_BIAS);
  }
  CU_ASSERT_TRUE(n_bias > 0);
  CU_ASSERT_EQUAL(n_decay, n_bias);
  sl_model_destroy(m);
  sl_grid_free(&g);
}

/* A variant's train/model keys shape its cells: batch changes steps, width changes the model. */
static void test_variants_shape_cells(void) {
  sl_config cfg;
  SL_ASSERT_OK(sl_config_parse(
      "train = { batch = 16; epochs = 1.0; min_steps = 1; max_steps = 100000; };\n"
      "variant = { wide = { train = { batch = 64; }; model = { width = 24; }; }; };\n"
      "grid = { n_params = [3000.0]; d_tokens = [6400.0]; variants = [\"base\", \"wide\"]; };\n",
      "t", &cfg));
  sl_grid g;
  SL_ASSERT_OK(sl_grid_expand(&cfg, 25, &g));
  CU_ASSERT_EQUAL_FATAL(g.n_cells, 2);
  CU_ASSERT_EQUAL(g.cells[0].variant, 0);
  CU_ASSERT_EQUAL(g.cells[1].variant, 1);
  CU_ASSERT_EQUAL(g.cells[0].steps, 6400 / 16);
  CU_ASSERT_EQUAL(g.cells[1].steps, 6400 / 64);
  CU_ASSERT_EQUAL(g.cells[0].spec.B, 16);
  CU_ASSERT_EQUAL(g.cells[1].spec.B, 64);
  CU_ASSERT_EQUAL(g.cells[1].spec.C, 24);
  CU_ASSERT_NOT_EQUAL(g.cells[0].spec.C, 24);
  sl_grid_free(&g);
}

static void test_unique_prefixes(void) {
  sl_config cfg;
  SL_ASSERT_OK(sl_config_parse(CFG, "t", &cfg));
  int64_t p[64];
  SL_ASSERT_OK(sl_unique_prefixes(&cfg, p));
  CU_ASSERT_EQUAL(p[cfg.unique.prefixes - 1], 8000);
  CU_ASSERT_EQUAL(p[0], 100); /* min(D_min, max(100, D_max / 1000)) */
  for (int j = 1; j < cfg.unique.prefixes; j++)
    CU_ASSERT_TRUE(p[j] > p[j - 1]);
}

/* The memory estimate is what sl_model_create really allocates (glibc's own accounting). */
static void test_memory_estimate(void) {
#ifdef __SANITIZE_ADDRESS__
  /* AddressSanitizer replaces malloc, so glibc's accounting sees nothing to compare. */
  printf("\n  skipped under AddressSanitizer");
  CU_PASS("skipped under AddressSanitizer");
  return;
#endif
  const sl_model_family fams[2] = {SL_MODEL_MLP, SL_MODEL_GPT};
  for (int f = 0; f < 2; f++) {
    sl_model_spec spec = {.family = fams[f], .V = 49, .T = 16, .B = 32, .tied = 1};
    SL_ASSERT_OK(sl_model_shape_from_target(&spec, 2e5));
    struct mallinfo2 before = mallinfo2();
    sl_model *m = NULL;
    SL_ASSERT_OK(sl_model_create(&spec, &m));
    struct mallinfo2 after = mallinfo2();
    double used =
        (double)(after.uordblks + after.hblkhd) - (double)(before.uordblks + before.hblkhd);
    double est = (double)sl_model_memory_bytes(&spec);
    printf("\n  %s: allocated %.0f B, estimated %.0f B", f ? "gpt" : "mlp", used, est);
    CU_ASSERT_TRUE(fabs(used / est - 1) < 0.05);
    sl_model_destroy(m);
  }
}

int main(int argc, char **argv) {
  static const sl_test tests[] = {
      {"expansion order and cost", test_expansion_order_and_cost},
      {"decay groups reach the model", test_decay_groups_reach_the_model},
      {"unique prefixes", test_unique_prefixes},
      {"variants shape cells", test_variants_shape_cells},
      {"memory estimate", test_memory_estimate},
      {NULL, NULL}};
  return sl_test_main(argc, argv, "grid", tests);
}
