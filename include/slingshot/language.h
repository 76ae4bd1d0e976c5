/* The language of a run, whichever kind the config selects (language.kind): the skills language
 * (lang.h, exact entropy), the HMM (hmm.h) or the PCFG (pcfg.h), behind one small interface that
 * builds it from the config, generates token streams with their pieces, and gives the entropy
 * per token with its standard error. Nothing here is collective: a language is built identically
 * on every rank from (config seed, grid seed).
 *
 * Random streams (config seed s, grid seed g): the language's matrices or maps come from the
 * seed drawn from (s, g, "language") (the same as sl_train_language for the skills language),
 * the entropy estimate's sample from (s, g, "entropy"). A corpus stream from any rng state is a
 * prefix of any longer stream from the same state, for every kind.
 *
 * Pieces (what /unique/pieces counts):
 *   skills  a piece <s1>..<sk> x y1..yk EOS (2k + 2 tokens);
 *   pcfg    a sentence with the EOS that ends it (the stream is EOS s1 EOS s2 EOS ...);
 *   hmm     none: the stream is one endless sequence with no boundaries, and a fixed-length
 *           window would only repeat an n-gram count, so /unique/pieces stays NaN.
 *
 * Entropy. skills: exact (or Monte Carlo for huge zipf tuples; lang.h). hmm: the entropy rate
 * estimated by the forward algorithm over one sample of language.entropy_tokens tokens after a
 * burn-in, standard error from batch means (sl_hmm_entropy_rate). pcfg: the mean -log2 P(sentence)
 * by the inside algorithm over i.i.d. sentences, divided by the mean sentence length with its
 * EOS, delta-method standard error (sl_pcfg_entropy_rate), over about language.entropy_tokens
 * tokens of sentences. A 95% interval is entropy +- 1.96 stderr. */
#ifndef SLINGSHOT_LANGUAGE_H
#define SLINGSHOT_LANGUAGE_H

#include <stddef.h>
#include <stdint.h>

#include "slingshot/config.h"
#include "slingshot/hmm.h"
#include "slingshot/lang.h"
#include "slingshot/pcfg.h"
#include "slingshot/rng.h"

typedef enum sl_language_kind {
  SL_LANGUAGE_SKILLS = 0,
  SL_LANGUAGE_HMM = 1,
  SL_LANGUAGE_PCFG = 2
} sl_language_kind;

typedef struct sl_language {
  sl_language_kind kind;
  int V;                  /* vocabulary */
  sl_skills_lang *skills; /* the one built, by kind; the others NULL */
  sl_hmm *hmm;
  sl_pcfg *pcfg;
  double entropy_bits;        /* per token */
  double entropy_stderr_bits; /* 0 when exact */
  int entropy_exact;          /* 1: exact; 0: estimated from a sample */
  int64_t entropy_sample;     /* tokens (hmm) or sentences (pcfg) the estimate used; 0 if exact */
  const char *pieces;         /* what a piece is: "skill pieces", "sentences" or "none" */
  const char *entropy_method; /* how the entropy was obtained, one line */
} sl_language;

/* The kind named by cfg->language.kind. */
sl_language_kind sl_language_kind_of(const sl_config *cfg);

/* Builds the language of grid seed `grid_seed` and its entropy (an estimate for hmm and pcfg,
 * which costs about entropy_tokens forward or inside steps). */
int sl_language_create(const sl_config *cfg, int64_t grid_seed, sl_language **out);
void sl_language_destroy(sl_language *L);

/* The most pieces a stream of n tokens can hold, to size the span arrays. */
size_t sl_language_max_pieces(const sl_language *L, size_t n);

/* Fills tokens[0..n) with a stream drawn with rng. If span_start is not NULL, records the
 * complete pieces (those that end inside [0, n)) as spans [start, start + len) in stream order,
 * at most max_spans (room from sl_language_max_pieces), and sets *n_spans; an HMM has none. */
int sl_language_generate(const sl_language *L, sl_rng *rng, int32_t *tokens, size_t n,
                         int64_t *span_start, int32_t *span_len, size_t max_spans, size_t *n_spans);

/* The skills-language parameters of a config (the language group). */
void sl_config_skills_params(const sl_config *cfg, sl_skills_params *p);

#endif
