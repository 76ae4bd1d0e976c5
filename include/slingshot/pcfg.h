/* The PCFG language (SCIENCE.md sections 0 and 4): a probabilistic context-free grammar in the
 * shape of the flatness paper's synthetic setting, with exact sentence probabilities by the inside
 * algorithm. Nothing here is collective: a grammar is built identically on every rank from its
 * seed.
 *
 * Legend: L levels of nonterminals, n_l nonterminals at level l, r binary rules per nonterminal,
 * T terminals, e terminals per emitting nonterminal, n sentence length, cap = max_len.
 *
 * The grammar (sl_pcfg_create). Nonterminals are numbered level by level (global ids; level l
 * holds ids level_start[l] .. level_start[l + 1] - 1); level 0 holds the root symbols.
 *   - Roots: the sentence starts from root a with probability root_p[a] ~ Dirichlet(alpha).
 *   - Levels 0..L-2: each nonterminal A has r binary rules A -> B C with (B, C) distinct ordered
 *     pairs of level-(l+1) nonterminals drawn uniformly; with probability 1 - p_emit it rewrites
 *     by one of them (weights Dirichlet(alpha)), and with probability p_emit it emits one
 *     terminal from its own e terminals (weights Dirichlet(alpha)). p_emit = 0 gives no emission
 *     rules above the last level.
 *   - Level L-1: each nonterminal emits one of its e terminals (drawn uniformly without
 *     replacement from [0, T)), weights Dirichlet(alpha).
 * So a sentence has 1 to 2^(L-1) terminals; with p_emit = 0 exactly 2^(L-1). Dirichlet draws are
 * normalised Marsaglia-Tsang gamma variates on sl_rng (as in hmm.c), floored at 1e-300.
 *
 * The length cap (rejection). A sentence longer than max_len is rejected and drawn again, so
 * sentences are i.i.d. from the grammar's distribution conditioned on length <= max_len:
 * P(s) = P_grammar(s) / Z with Z = P_grammar(length <= max_len), computed exactly by a dynamic
 * programme over yield lengths (the inside algorithm summed over all terminals). create fails if
 * Z < SL_PCFG_MIN_Z (rejection would be slow); raise max_len or p_emit then.
 *
 * Streams. Token ids: [0, T) terminals, T = EOS; V = T + 1. A stream starts with EOS and is a
 * sequence of sentences each followed by EOS (the last one cut off at n tokens), so a stream of n
 * tokens is a prefix of any longer stream from the same rng state.
 *
 * Log probabilities are natural logs (nats); entropies are in bits. */
#ifndef SLINGSHOT_PCFG_H
#define SLINGSHOT_PCFG_H

#include <stddef.h>
#include <stdint.h>

#include "slingshot/rng.h"

#define SL_PCFG_MAX_LEVELS 16
#define SL_PCFG_MAX_SYMBOLS 4096 /* nonterminals per level */
#define SL_PCFG_MAX_RULES 256    /* binary rules per nonterminal */
#define SL_PCFG_MAX_T (1 << 24)
#define SL_PCFG_MAX_EMIT 4096
#define SL_PCFG_MIN_Z 1e-3

typedef struct sl_pcfg_params {
  int levels;                      /* L, 1..SL_PCFG_MAX_LEVELS */
  int symbols[SL_PCFG_MAX_LEVELS]; /* n_l, 1..SL_PCFG_MAX_SYMBOLS for l < L */
  int rules;                       /* r, 1..min(SL_PCFG_MAX_RULES, n_{l+1}^2) for every l < L-1 */
  int T;                           /* terminals, 1..SL_PCFG_MAX_T */
  int emit_k;                      /* e, 1..min(T, SL_PCFG_MAX_EMIT) */
  double p_emit;                   /* [0, 1): emission probability above the last level */
  double alpha;                    /* Dirichlet concentration of roots, rules, emissions, > 0 */
  int max_len;                     /* cap on terminals per sentence (EOS excluded), >= 1 */
} sl_pcfg_params;

typedef struct sl_pcfg {
  sl_pcfg_params p;
  int V, eos;          /* V = T + 1, eos = T */
  int n_nt;            /* nonterminals, all levels */
  int cap;             /* min(max_len, 2^(L-1)): the longest possible sentence under the cap */
  int *level_start;    /* [L + 1] */
  double *root_p;      /* [n_0] */
  int64_t *rule_start; /* [n_nt + 1] rules of each nonterminal: binary first, then terminal */
  int32_t *rule_b;     /* [n_rules] A -> B C: global id of B; a terminal rule A -> t has -1 - t */
  int32_t *rule_c;     /* [n_rules] global id of C (-1 for a terminal rule) */
  double *rule_p;      /* [n_rules] rule probabilities; each nonterminal's sum to 1 */
  double z;            /* P_grammar(length <= max_len) */
  double *len_p;       /* [cap + 1] exact P(length = n) under the cap; len_p[0] = 0 */
  double mean_sentence_tokens; /* E[length + 1] under the cap: tokens per sentence incl. EOS */
  /* alias tables for sampling: roots (n_0 entries), then the rules in rule order */
  uint64_t *root_keep, *rule_keep;
  int32_t *root_alias, *rule_alias;
} sl_pcfg;

/* Checks params; on error the message names the parameter and its allowed range. */
int sl_pcfg_validate(const sl_pcfg_params *p);
/* Builds the grammar, its length distribution and Z from params and seed. */
int sl_pcfg_create(const sl_pcfg_params *p, uint64_t seed, sl_pcfg **out);
void sl_pcfg_destroy(sl_pcfg *G);

/* Draws one sentence under the cap (rejection): tokens needs room for G->cap terminals; *len is
 * its length (no EOS written). */
int sl_pcfg_sample_sentence(const sl_pcfg *G, sl_rng *rng, int32_t *tokens, int *len);
/* Fills tokens[0..n) with a stream: EOS, then sentence EOS sentence EOS ... (the last cut off).
 * *n_sentences (may be NULL) is the number of sentences begun. */
int sl_pcfg_generate(const sl_pcfg *G, sl_rng *rng, int32_t *tokens, size_t n, size_t *n_sentences);

/* ln P(sentence) under the capped language, by the inside algorithm (CKY over the levels, each
 * span's vector of inside probabilities scaled by its own factor kept in log space, so long
 * sentences do not underflow). tokens are terminals only (no EOS); ln_p = -INFINITY (status
 * SL_OK) for a sentence the grammar cannot derive or one longer than max_len; n = 0 has
 * probability 0. */
int sl_pcfg_log_prob(const sl_pcfg *G, const int32_t *tokens, int n, double *ln_p);

/* The exact next-token distribution inside a sentence: prefix[0..len) are the terminals after
 * the last EOS (len = 0 right after it); p[0..V) receives P(next = t | prefix) for the terminals
 * and p[eos] for the end of the sentence, under the capped language. Prefix probabilities by the
 * inside algorithm: the mass of the sentences beginning with w is the sum over lengths n <= cap
 * of the inside probability of w followed by n - |w| positions that match any terminal, so a
 * call costs about (T + 1) cap inside passes. SL_ERR_ARG for a prefix no sentence begins with,
 * or a cap above SL_PCFG_MAX_LEN_SUM. */
#define SL_PCFG_MAX_LEN_SUM 1024
int sl_pcfg_next_dist(const sl_pcfg *G, const int32_t *prefix, int len, double *p);

/* The entropy per token in bits, estimated from n_sentences i.i.d. sentences drawn with rng:
 * R = mean(-log2 P(s)) / mean(length + 1) (EOS counts as a token), with the delta-method
 * standard error sqrt(sum_i (a_i - R b_i)^2 / (m (m - 1))) / mean(b); a 95% interval is
 * R +- 1.96 stderr. n_sentences >= 2. */
int sl_pcfg_entropy_rate(const sl_pcfg *G, sl_rng *rng, size_t n_sentences, double *mean_bits,
                         double *stderr_bits);

#endif
