/* The language of a run behind one interface. See include/slingshot/language.h. */
#include "slingshot/language.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/error.h"

/* HMM entropy estimate: burn-in tokens conditioned on but not averaged, and batch means. */
#define LANGUAGE_HMM_BURN 1000
#define LANGUAGE_HMM_BATCHES 20

sl_language_kind sl_language_kind_of(const sl_config *cfg) {
  if (strcmp(cfg->language.kind, "hmm") == 0) return SL_LANGUAGE_HMM;
  if (strcmp(cfg->language.kind, "pcfg") == 0) return SL_LANGUAGE_PCFG;
  return SL_LANGUAGE_SKILLS;
}

/* The seed of stream `name` of grid seed g: the first draw of (config seed, g, name), as
 * train.c's stream_seed. */
static uint64_t stream_seed(const sl_config *cfg, int64_t g, const char *name) {
  sl_rng r;
  sl_rng_stream(&r, (uint64_t)cfg->seed, (uint64_t)g, name);
  return sl_rng_u64(&r);
}

void sl_config_skills_params(const sl_config *cfg, sl_skills_params *p) {
  memset(p, 0, sizeof *p);
  p->M = cfg->language.M;
  p->S = cfg->language.S;
  p->k_max = cfg->language.k_max;
  for (int k = 0; k < cfg->language.k_max && k < SL_MAX_ARITY; k++)
    p->arity_weights[k] = cfg->language.arity_weights[k];
  p->zipf = cfg->language.zipf;
  p->random_functions = strcmp(cfg->language.skill_maps, "function") == 0;
}

int sl_language_create(const sl_config *cfg, int64_t grid_seed, sl_language **out) {
  SL_CHECK(cfg != NULL && out != NULL, SL_ERR_ARG, "config or output is NULL");
  *out = NULL;
  sl_language *L = sl_calloc(1, sizeof *L);
  SL_CHECK(L != NULL, SL_ERR_NOMEM, "out of memory for the language");
  int err = SL_OK;
  L->kind = sl_language_kind_of(cfg);
  const uint64_t seed = stream_seed(cfg, grid_seed, "language");
  sl_rng er;
  sl_rng_stream(&er, (uint64_t)cfg->seed, (uint64_t)grid_seed, "entropy");
  const int64_t n_ent = cfg->language.entropy_tokens;
  switch (L->kind) {
  case SL_LANGUAGE_SKILLS: {
    sl_skills_params p;
    sl_config_skills_params(cfg, &p);
    SL_CALL_GOTO(sl_skills_create(&p, seed, &L->skills), fail);
    L->V = L->skills->V;
    L->entropy_bits = L->skills->entropy_bits_per_token;
    L->entropy_exact = L->skills->entropy_exact;
    L->pieces = "skill pieces";
    L->entropy_method = L->entropy_exact ? "exact (SCIENCE.md section 0)"
                                         : "Monte Carlo over skill tuples (lang.h)";
    break;
  }
  case SL_LANGUAGE_HMM: {
    sl_hmm_params p = {.H = cfg->language.H,
                       .V = cfg->language.V,
                       .trans_k = cfg->language.trans_k,
                       .emit_k = cfg->language.emit_k,
                       .trans_alpha = cfg->language.trans_alpha,
                       .emit_alpha = cfg->language.emit_alpha};
    SL_CALL_GOTO(sl_hmm_create(&p, seed, &L->hmm), fail);
    L->V = L->hmm->V;
    SL_CALL_GOTO(sl_hmm_entropy_rate(L->hmm, &er, (size_t)n_ent, LANGUAGE_HMM_BURN,
                                     LANGUAGE_HMM_BATCHES, &L->entropy_bits,
                                     &L->entropy_stderr_bits),
                 fail);
    L->entropy_sample = n_ent;
    L->pieces = "none";
    L->entropy_method = "estimate: mean -log2 p(x_t | x_<t) by the forward algorithm over one "
                        "sample stream after a burn-in; stderr from batch means";
    break;
  }
  case SL_LANGUAGE_PCFG: {
    sl_pcfg_params p;
    memset(&p, 0, sizeof p);
    p.levels = cfg->language.levels;
    SL_CHECK_GOTO(cfg->language.n_symbols == p.levels && p.levels <= SL_PCFG_MAX_LEVELS,
                  SL_ERR_CONFIG, fail,
                  "language.symbols has %d values but language.levels = %d: give one count per "
                  "level",
                  cfg->language.n_symbols, p.levels);
    for (int l = 0; l < p.levels; l++)
      p.symbols[l] = (int)cfg->language.symbols[l];
    p.rules = cfg->language.rules;
    p.T = cfg->language.T;
    p.emit_k = cfg->language.emit_k;
    p.p_emit = cfg->language.p_emit;
    p.alpha = cfg->language.alpha;
    p.max_len = cfg->language.max_len;
    SL_CALL_GOTO(sl_pcfg_create(&p, seed, &L->pcfg), fail);
    L->V = L->pcfg->V;
    /* Sentences enough for about n_ent tokens, at least 100. */
    double ns = (double)n_ent / L->pcfg->mean_sentence_tokens;
    const size_t n_sent = ns < 100 ? 100 : (size_t)ns;
    SL_CALL_GOTO(
        sl_pcfg_entropy_rate(L->pcfg, &er, n_sent, &L->entropy_bits, &L->entropy_stderr_bits),
        fail);
    L->entropy_sample = (int64_t)n_sent;
    L->pieces = "sentences";
    L->entropy_method = "estimate: mean -log2 P(sentence) by the inside algorithm over i.i.d. "
                        "sentences / mean tokens per sentence with EOS; delta-method stderr";
    break;
  }
  }
  *out = L;
  return SL_OK;
fail:
  sl_language_destroy(L);
  return err;
}

void sl_language_destroy(sl_language *L) {
  if (!L) return;
  sl_skills_destroy(L->skills);
  sl_hmm_destroy(L->hmm);
  sl_pcfg_destroy(L->pcfg);
  free(L);
}

size_t sl_language_max_pieces(const sl_language *L, size_t n) {
  switch (L->kind) {
  case SL_LANGUAGE_SKILLS:
    return SL_SKILLS_MAX_PIECES(n);
  case SL_LANGUAGE_PCFG:
    return n / 2 + 1; /* a sentence has at least one terminal and its EOS */
  default:
    return 0;
  }
}

int sl_language_generate(const sl_language *L, sl_rng *rng, int32_t *tokens, size_t n,
                         int64_t *span_start, int32_t *span_len, size_t max_spans,
                         size_t *n_spans) {
  SL_CHECK(L != NULL && rng != NULL && (tokens != NULL || n == 0), SL_ERR_ARG,
           "language, rng or tokens is NULL");
  SL_CHECK(span_start == NULL || (span_len != NULL && n_spans != NULL), SL_ERR_ARG,
           "span lengths or count is NULL");
  if (n_spans) *n_spans = 0;
  size_t ns = 0;
  switch (L->kind) {
  case SL_LANGUAGE_SKILLS: {
    sl_piece *pc = NULL;
    size_t np = 0;
    if (span_start) {
      pc = malloc((max_spans ? max_spans : 1) * sizeof *pc);
      SL_CHECK(pc != NULL, SL_ERR_NOMEM, "out of memory for %zu pieces", max_spans);
    }
    int err = sl_skills_generate(L->skills, rng, tokens, n, pc, span_start ? max_spans : 0, &np);
    for (size_t i = 0; err == SL_OK && i < np; i++) {
      const size_t len = 2 * (size_t)pc[i].arity + 2;
      if ((size_t)pc[i].start + len > n) break; /* the last piece, cut off */
      span_start[ns] = pc[i].start;
      span_len[ns++] = (int32_t)len;
    }
    free(pc);
    SL_CALL(err);
    break;
  }
  case SL_LANGUAGE_HMM: {
    int hidden = -1;
    SL_CALL(sl_hmm_generate(L->hmm, rng, &hidden, tokens, NULL, n));
    break;
  }
  case SL_LANGUAGE_PCFG: {
    SL_CALL(sl_pcfg_generate(L->pcfg, rng, tokens, n, NULL));
    if (!span_start) break;
    /* EOS s1 EOS s2 EOS ...: a piece runs from after an EOS to the next EOS inclusive. */
    size_t start = 1;
    for (size_t i = 1; i < n && ns < max_spans; i++)
      if (tokens[i] == L->pcfg->eos) {
        span_start[ns] = (int64_t)start;
        span_len[ns++] = (int32_t)(i + 1 - start);
        start = i + 1;
      }
    break;
  }
  }
  if (n_spans) *n_spans = ns;
  return SL_OK;
}
