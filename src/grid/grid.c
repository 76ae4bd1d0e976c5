/* Grid expansion: from the config's axes to cells with their model shapes and costs. */
#include "slingshot/grid.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/error.h"

int sl_grid_expand(const sl_config *cfg, int V, sl_grid *grid) {
  memset(grid, 0, sizeof *grid);
  sl_model_family family;
  SL_CALL(sl_model_family_parse(cfg->model.family, &family));
  int64_t n = (int64_t)cfg->grid.n_seeds * cfg->grid.n_variants * cfg->grid.n_params.n *
              cfg->grid.d_tokens.n;
  SL_CHECK(n > 0, SL_ERR_CONFIG,
           "the grid is empty: give at least one value for grid.n_params, "
           "grid.d_tokens, grid.seeds and grid.variants");
  SL_ALLOC(grid->cells, n);
  grid->n_cells = n;
  sl_config *vcfg = malloc(sizeof *vcfg);
  if (!vcfg) {
    sl_grid_free(grid);
    return SL_ERROR(SL_ERR_NOMEM, "out of memory expanding the grid");
  }
  const sl_config *base = cfg;
  int64_t idx = 0;
  for (int s = 0; s < base->grid.n_seeds; s++)
    for (int v = 0; v < base->grid.n_variants; v++)
      for (int i = 0; i < base->grid.n_params.n; i++) {
        /* A variant's model and training keys (sl_config_variant). */
        int verr = sl_config_variant(base, v, vcfg);
        if (verr == SL_OK) verr = sl_model_family_parse(vcfg->model.family, &family);
        if (verr) {
          free(vcfg);
          sl_grid_free(grid);
          return sl_error_trace(verr, __func__, __FILE__, __LINE__);
        }
        cfg = vcfg;
        /* The shape depends on N only: compute it once per N. */
        sl_model_spec spec = {.family = family,
                              .V = V,
                              .T = cfg->model.context,
                              .B = cfg->train.batch,
                              .C = cfg->model.width,
                              .n_layer = cfg->model.layers,
                              .n_head = cfg->model.heads,
                              .tied = cfg->model.tied,
                              .decay_groups = SL_DECAY_EXPLICIT};
        static const char *group_names[] = {"matrices", "embeddings", "biases", "norms"};
        for (int d = 0; d < cfg->train.n_decay_groups; d++)
          for (unsigned gi = 0; gi < 4; gi++)
            if (strcmp(cfg->train.decay_groups[d], group_names[gi]) == 0)
              spec.decay_groups |= 1u << gi;
        int err = sl_model_shape_from_target(&spec, cfg->grid.n_params.v[i]);
        if (err) {
          free(vcfg);
          sl_grid_free(grid);
          return sl_error_trace(err, __func__, __FILE__, __LINE__);
        }
        size_t no_embed = 0;
        size_t n_params = sl_model_param_count(&spec, &no_embed);
        const sl_model_ops *ops = sl_model_ops_for(family);
        double fpt = ops->flops_per_token(&spec);
        int targets = family == SL_MODEL_GPT ? spec.T : 1;
        for (int j = 0; j < cfg->grid.d_tokens.n; j++) {
          sl_cell *c = &grid->cells[idx];
          c->index = idx++;
          c->n_target = cfg->grid.n_params.v[i];
          c->d_tokens = (int64_t)cfg->grid.d_tokens.v[j];
          c->seed = cfg->grid.seeds[s];
          c->seed_pos = s;
          c->variant = v;
          c->spec = spec;
          c->n_params = n_params;
          c->n_params_no_embed = no_embed;
          c->flops_per_token = fpt;
          /* steps = epochs * D / tokens per step, clamped (config reference: train.epochs). */
          double per_step = (double)cfg->train.batch * targets;
          double steps = ceil(cfg->train.epochs * (double)c->d_tokens / per_step);
          if (steps < cfg->train.min_steps) steps = cfg->train.min_steps;
          if (steps > cfg->train.max_steps) steps = cfg->train.max_steps;
          c->steps = (int64_t)steps;
          c->tokens_trained = (int64_t)(steps * per_step);
          c->cost = fpt * (double)c->tokens_trained;
        }
      }
  free(vcfg);
  return SL_OK;
}

void sl_grid_free(sl_grid *grid) {
  free(grid->cells);
  memset(grid, 0, sizeof *grid);
}
