/* Synthetic languages with exactly known statistics (SCIENCE.md section 0). Nothing here is
 * collective: a language is built identically on every rank from its seed.
 *
 * The skills language. Token ids: [0, M) content symbols, [M, M+S) skill tokens <s>, M+S = EOS;
 * V = M + S + 1. A piece of arity k reads  <s1> ... <sk> x y1 ... yk EOS  (2k + 2 tokens) with x
 * uniform in [M] and y_j = f_{s_j}(y_{j-1}), y_0 = x. The arity is drawn first (arity_weights over
 * 1..k_max), then k distinct skills in order without replacement with probability proportional to
 * w_i = (i+1)^(-zipf). A stream starts with EOS and is a sequence of i.i.d. pieces, so a stream of
 * n tokens is a prefix of any longer stream drawn from the same rng state. */
#ifndef SLINGSHOT_LANG_H
#define SLINGSHOT_LANG_H

#include <stddef.h>
#include <stdint.h>

#include "slingshot/rng.h"

#define SL_MAX_ARITY 8

typedef struct sl_skills_params {
  int M;                              /* content symbols, >= 2 */
  int S;                              /* skills, >= k_max */
  int k_max;                          /* largest arity, 1..SL_MAX_ARITY */
  double arity_weights[SL_MAX_ARITY]; /* weights of arity 1..k_max (normalised internally) */
  double zipf;                        /* skill-frequency exponent z >= 0 (0 = uniform) */
  int random_functions;               /* 0: each f_s a permutation of [M]; 1: a random function */
} sl_skills_params;

/* One piece of a generated stream, for competence measurements and unique-piece counting. */
typedef struct sl_piece {
  int64_t start;            /* index of its first token in the stream */
  int arity;                /* k */
  int skills[SL_MAX_ARITY]; /* s_1..s_k in order */
  int x;                    /* the content symbol that starts the chain */
} sl_piece;

typedef struct sl_skills_lang {
  sl_skills_params p;
  int V, eos;
  int32_t *maps;                    /* [S x M]: maps[s*M + x] = f_s(x) */
  double *skill_w;                  /* [S] normalised skill weights */
  double arity_p[SL_MAX_ARITY + 1]; /* arity_p[k], k = 1..k_max, normalised */
  double piece_entropy_bits;        /* H(arity) + H(tuple | arity) + log2 M */
  double mean_piece_tokens;         /* E[2k + 2] */
  double entropy_bits_per_token;    /* piece_entropy_bits / mean_piece_tokens: the entropy rate */
  int entropy_exact;                /* 1: H(tuple | arity) by exact enumeration or closed form */
} sl_skills_lang;

/* Builds the language (skill maps, weights, entropy) from params and seed. */
int sl_skills_create(const sl_skills_params *p, uint64_t seed, sl_skills_lang **out);
void sl_skills_destroy(sl_skills_lang *L);

/* Checks params; on error the message names the parameter and its allowed range. */
int sl_skills_validate(const sl_skills_params *p);

/* Draws one piece: writes its 2k+2 tokens to tokens (room for 2*k_max+2) and its description to
 * piece (may be NULL; piece->start is left 0). Returns the token count via *len. */
int sl_skills_sample_piece(const sl_skills_lang *L, sl_rng *rng, int32_t *tokens, int *len,
                           sl_piece *piece);

/* Fills tokens[0..n) with a stream: EOS, then pieces until n tokens (the last piece cut off).
 * If pieces is not NULL, records up to max_pieces complete-or-cut pieces and sets *n_pieces. */
int sl_skills_generate(const sl_skills_lang *L, sl_rng *rng, int32_t *tokens, size_t n,
                       sl_piece *pieces, size_t max_pieces, size_t *n_pieces);

/* The exact distribution of the next token given the tokens of the current piece so far
 * (prefix = the tokens after the last EOS, len >= 0; len = 0 means right after an EOS).
 * Writes p[0..V). Returns SL_ERR_ARG if the prefix is impossible under the language. */
int sl_skills_next_dist(const sl_skills_lang *L, const int32_t *prefix, int len, double *p);

/* ---- Added with the implementation (src/lang/skills.c). ---- */

#define SL_SKILLS_MAX_SIZE 65536 /* largest M and largest S */
/* Largest S * M: the maps are int32, so this is 4 GiB. */
#define SL_SKILLS_MAX_MAP_ENTRIES ((int64_t)1 << 30)
/* H(tuple | arity = k) with zipf > 0 is enumerated exactly while the number of ordered skill
 * prefixes of length < k (sum_{j<k} S!/(S-j)!) is at most this; above it, Monte Carlo. */
#define SL_SKILLS_ENUM_LIMIT 20000000
#define SL_SKILLS_MC_SAMPLES 200000
/* An upper bound on the pieces (complete or cut) in a stream of n tokens: the first starts at 1
 * and each has at least 4 tokens. Size the pieces array of sl_skills_generate with it. In
 * sl_skills_generate, *n_pieces is the number recorded (at most max_pieces); pieces past
 * max_pieces are generated but not recorded. A language must come from sl_skills_create (its
 * sampling tables live past the end of skill_w). */
#define SL_SKILLS_MAX_PIECES(n) ((size_t)(n) / 4 + 1)

typedef enum sl_skills_entropy_method {
  SL_SKILLS_ENTROPY_AUTO = 0,   /* closed form if zipf = 0, else enumeration if small, else MC */
  SL_SKILLS_ENTROPY_CLOSED = 1, /* log2(S!/(S-k)!); zipf must be 0 */
  SL_SKILLS_ENTROPY_ENUM = 2,   /* exact enumeration of ordered prefixes, any size (may be slow) */
  SL_SKILLS_ENTROPY_MC = 3      /* Monte Carlo with a fixed seed; *stderr_bits is its error */
} sl_skills_entropy_method;

/* H(ordered skill tuple | arity = k) in bits for 1 <= k <= k_max, by the given method.
 * *stderr_bits (may be NULL) is 0 for the exact methods and the standard error for MC. The result
 * depends on (S, zipf, k) only, never on the language seed. Not collective. */
int sl_skills_tuple_entropy(const sl_skills_lang *L, int k, int method, double *bits,
                            double *stderr_bits);

#endif
