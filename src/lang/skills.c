/* The skills language (SCIENCE.md section 0): pieces  <s1> ... <sk> x y1 ... yk EOS  with
 * y_j = f_{s_j}(y_{j-1}), its exact entropy and its exact next-token distribution.
 *
 * Legend: M content symbols, S skills, k arity, K = k_max, V = M + S + 1 vocabulary.
 *
 * Sampling tables. The public struct has no room for them, so they live in the allocation of
 * skill_w, after its S entries (a by-value copy of the struct then still works):
 *   [0, S)        skill_w     normalised skill weights w_s
 *   [S, 3S)       alias       Walker/Vose alias table, pairs (keep_i, alias_i): column i keeps
 *                             skill i with probability keep_i, else gives skill alias_i (stored
 *                             as a double, exact below 2^53); pairs so that a draw is one miss
 *   [3S, 4S + 1)  cum         cum[s] = sum_{i<s} w_i
 * Skills without replacement: draw from the alias table and reject skills already used; when the
 * used mass is large (or after many rejections) draw directly from the unused mass through cum.
 * Both give the exact conditional law w_s / (1 - sum of used weights). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/error.h"
#include "slingshot/lang.h"

/* Above this used mass, rejection would take more than 4 tries on average. */
#define SKILLS_REJECT_MAX_USED 0.75
#define SKILLS_REJECT_TRIES 32

/* ------------------------------------------------------------------ random numbers */

/* Uniform integer in [0, n): Lemire's multiply-shift with rejection, unbiased; the division
 * happens only on the rare path where the low word falls below n. */
static inline uint64_t skills_below(sl_rng *r, uint64_t n) {
  unsigned __int128 m = (unsigned __int128)sl_rng_u64(r) * n;
  uint64_t lo = (uint64_t)m;
  if (lo < n) {
    uint64_t t = -n % n;
    while (lo < t) {
      m = (unsigned __int128)sl_rng_u64(r) * n;
      lo = (uint64_t)m;
    }
  }
  return (uint64_t)(m >> 64);
}

static inline double skills_uniform(sl_rng *r) {
  return (double)(sl_rng_u64(r) >> 11) * 0x1.0p-53;
}

/* Everything the inner loop reads, gathered once per call. */
typedef struct skills_sampler {
  int M, S, K, eos;
  int uniform;                   /* zipf = 0: skills uniform, no alias table */
  int k_fixed;                   /* > 0 when only one arity has positive weight: no draw */
  int k_last;                    /* the largest arity with positive weight */
  double acum[SL_MAX_ARITY + 1]; /* acum[k] = sum_{i<=k} arity_p[i] */
  const int32_t *maps;
  const double *w, *alias, *cum; /* alias: pairs (keep_i, alias_i) */
} skills_sampler;

static void sampler_init(const sl_skills_lang *L, skills_sampler *sp) {
  const int S = L->p.S;
  sp->M = L->p.M;
  sp->S = S;
  sp->K = L->p.k_max;
  sp->eos = L->eos;
  sp->uniform = L->p.zipf == 0.0;
  sp->maps = L->maps;
  sp->w = L->skill_w;
  sp->alias = L->skill_w + S;
  sp->cum = L->skill_w + 3 * (size_t)S;
  int n_pos = 0;
  double a = 0;
  sp->acum[0] = 0;
  sp->k_last = 1;
  for (int k = 1; k <= sp->K; k++) {
    a += L->arity_p[k];
    sp->acum[k] = a;
    if (L->arity_p[k] > 0) {
      n_pos++;
      sp->k_last = k;
    }
  }
  sp->k_fixed = n_pos == 1 ? sp->k_last : 0;
}

static inline int draw_arity(const skills_sampler *sp, sl_rng *r) {
  if (sp->k_fixed) return sp->k_fixed;
  double u = skills_uniform(r);
  int k = 1;
  /* Arities of weight 0 have acum[k] = acum[k-1] and are never chosen; stopping at k_last keeps
   * a rounding shortfall of acum[K] below 1 from choosing one. */
  while (k < sp->k_last && u >= sp->acum[k])
    k++;
  return k;
}

/* One skill with replacement, probability w_s. */
static inline int draw_skill(const skills_sampler *sp, sl_rng *r) {
  int i = (int)skills_below(r, (uint64_t)sp->S);
  if (sp->uniform) return i;
  const double *col = sp->alias + 2 * (size_t)i;
  if (col[0] >= 1.0 || skills_uniform(r) < col[0]) return i;
  return (int)col[1];
}

/* One skill from the unused mass, directly: a point t uniform in [0, 1 - used) of the unused
 * coordinate is moved to the full coordinate by stepping over the used skills below it, then
 * found in cum by bisection. */
static int draw_excluding(const skills_sampler *sp, sl_rng *r, const int *sk, int j, double used) {
  int u[SL_MAX_ARITY];
  for (int i = 0; i < j; i++) { /* insertion sort of at most K - 1 entries */
    int v = sk[i], m = i;
    while (m > 0 && u[m - 1] > v) {
      u[m] = u[m - 1];
      m--;
    }
    u[m] = v;
  }
  double x = skills_uniform(r) * (sp->cum[sp->S] - used);
  for (int i = 0; i < j; i++) {
    if (x >= sp->cum[u[i]])
      x += sp->w[u[i]];
    else
      break;
  }
  int lo = 0, hi = sp->S - 1; /* largest s with cum[s] <= x */
  while (lo < hi) {
    int mid = lo + (hi - lo + 1) / 2;
    if (sp->cum[mid] <= x)
      lo = mid;
    else
      hi = mid - 1;
  }
  /* Rounding can land on a used skill (or a zero-width one): take the nearest unused. */
  for (int d = 0; d < sp->S; d++) {
    for (int sgn = 0; sgn < 2; sgn++) {
      int s = sgn ? lo - d : lo + d;
      if (s < 0 || s >= sp->S) continue;
      int is_used = 0;
      for (int i = 0; i < j; i++)
        is_used |= u[i] == s;
      if (!is_used) return s;
    }
  }
  return lo; /* unreachable: S >= K > j */
}

/* k distinct skills in order, each with probability w_s / (1 - sum of those already drawn). */
static inline void draw_tuple(const skills_sampler *sp, sl_rng *r, int k, int *sk) {
  double used = 0;
  for (int j = 0; j < k; j++) {
    int s = -1;
    if (used < SKILLS_REJECT_MAX_USED) {
      for (int t = 0; t < SKILLS_REJECT_TRIES && s < 0; t++) {
        int c = draw_skill(sp, r);
        int clash = 0;
        for (int i = 0; i < j; i++)
          clash |= sk[i] == c;
        if (!clash) s = c;
      }
    }
    if (s < 0) s = draw_excluding(sp, r, sk, j, used);
    sk[j] = s;
    used += sp->w[s];
  }
}

/* One piece into tok (room for 2K + 2); returns its length 2k + 2. */
static inline int draw_piece(const skills_sampler *sp, sl_rng *r, int32_t *tok, sl_piece *pc) {
  int sk[SL_MAX_ARITY];
  const int k = draw_arity(sp, r);
  draw_tuple(sp, r, k, sk);
  const int M = sp->M;
  const int x = (int)skills_below(r, (uint64_t)M);
  int32_t y = x;
  tok[k] = x;
  for (int j = 0; j < k; j++) {
    tok[j] = M + sk[j];
    y = sp->maps[(size_t)sk[j] * (size_t)M + (size_t)y];
    tok[k + 1 + j] = y;
  }
  tok[2 * k + 1] = sp->eos;
  if (pc) {
    pc->start = 0;
    pc->arity = k;
    for (int j = 0; j < SL_MAX_ARITY; j++)
      pc->skills[j] = j < k ? sk[j] : -1;
    pc->x = x;
  }
  return 2 * k + 2;
}

/* ------------------------------------------------------------------ validation */

int sl_skills_validate(const sl_skills_params *p) {
  SL_CHECK(p != NULL, SL_ERR_ARG, "language parameters are NULL");
  SL_CHECK(p->k_max >= 1 && p->k_max <= SL_MAX_ARITY, SL_ERR_CONFIG,
           "language.k_max = %d is out of range: k_max must be between 1 and %d", p->k_max,
           SL_MAX_ARITY);
  SL_CHECK(p->M >= 2 && p->M <= SL_SKILLS_MAX_SIZE, SL_ERR_CONFIG,
           "language.M = %d is out of range: M must be between 2 and %d", p->M, SL_SKILLS_MAX_SIZE);
  SL_CHECK(p->S >= p->k_max && p->S <= SL_SKILLS_MAX_SIZE, SL_ERR_CONFIG,
           "language.S = %d is out of range: S must be between k_max = %d and %d (a piece of "
           "arity k needs k distinct skills)",
           p->S, p->k_max, SL_SKILLS_MAX_SIZE);
  SL_CHECK((int64_t)p->S * p->M <= SL_SKILLS_MAX_MAP_ENTRIES, SL_ERR_CONFIG,
           "language.S * language.M = %d * %d = %lld is too large: S * M must be at most %lld "
           "(the skill maps would exceed 4 GiB)",
           p->S, p->M, (long long)p->S * p->M, (long long)SL_SKILLS_MAX_MAP_ENTRIES);
  double sum = 0;
  for (int k = 1; k <= p->k_max; k++) {
    double a = p->arity_weights[k - 1];
    SL_CHECK(isfinite(a) && a >= 0, SL_ERR_CONFIG,
             "language.arity_weights[%d] = %g is out of range: the weight of arity %d must be "
             "finite and >= 0",
             k - 1, a, k);
    sum += a;
  }
  SL_CHECK(sum > 0, SL_ERR_CONFIG,
           "language.arity_weights sum to %g over arities 1..k_max = %d: at least one weight must "
           "be positive",
           sum, p->k_max);
  SL_CHECK(p->zipf >= 0 && p->zipf <= 10, SL_ERR_CONFIG,
           "language.zipf = %g is out of range: zipf must be between 0 and 10", p->zipf);
  SL_CHECK(p->random_functions == 0 || p->random_functions == 1, SL_ERR_CONFIG,
           "language.random_functions = %d is out of range: it must be 0 (permutations) or 1 "
           "(random functions)",
           p->random_functions);
  return SL_OK;
}

/* ------------------------------------------------------------------ entropy */

/* H(tuple | k) by the chain rule (SCIENCE.md section 0): H = sum over ordered prefixes U of
 * length < k of P(U) h(U), with h(U) the entropy of the next skill given U,
 *   h(U) = -sum_{s not in U} (w_s/R) log2(w_s/R) = log2 R - (T - sum_{u in U} w_u log2 w_u) / R,
 * R = W - sum_{u in U} w_u, W = sum_s w_s, T = sum_s w_s log2 w_s. Each prefix costs O(1), so no
 * ordered k-tuple is visited. Sums in long double with Kahan compensation. */
typedef struct skills_enum {
  const double *w, *wl; /* w_s and w_s log2 w_s */
  int S, k;
  long double W, T;
  int used[SL_MAX_ARITY];
  long double sum, comp;
} skills_enum;

static inline long double next_entropy(const skills_enum *e, long double used_w,
                                       long double used_wl) {
  long double R = e->W - used_w;
  return (long double)log2((double)R) - (e->T - used_wl) / R;
}

static void enum_prefix(skills_enum *e, int depth, long double P, long double used_w,
                        long double used_wl) {
  long double y = P * next_entropy(e, used_w, used_wl) - e->comp;
  long double t = e->sum + y;
  e->comp = (t - e->sum) - y;
  e->sum = t;
  if (depth == e->k - 1) return;
  long double R = e->W - used_w;
  for (int s = 0; s < e->S; s++) {
    int clash = 0;
    for (int i = 0; i < depth; i++)
      clash |= e->used[i] == s;
    if (clash) continue;
    e->used[depth] = s;
    enum_prefix(e, depth + 1, P * e->w[s] / R, used_w + e->w[s], used_wl + e->wl[s]);
  }
}

static int tuple_entropy_enum(const sl_skills_lang *L, int k, double *bits) {
  const int S = L->p.S;
  skills_enum e = {0};
  double *wl = NULL;
  SL_ALLOC(wl, S);
  e.w = L->skill_w;
  e.wl = wl;
  e.S = S;
  e.k = k;
  for (int s = 0; s < S; s++) {
    double w = L->skill_w[s];
    wl[s] = w > 0 ? w * log2(w) : 0.0;
    e.W += w;
    e.T += wl[s];
  }
  enum_prefix(&e, 0, 1.0L, 0.0L, 0.0L);
  free(wl);
  *bits = (double)e.sum;
  return SL_OK;
}

/* Monte Carlo: the same chain rule along sampled tuples. E[sum_j h(U_j)] = H(tuple | k) exactly,
 * and conditioning each step on its prefix (rather than averaging -log2 P(tuple)) removes the
 * variance of the drawn skill itself. The seed depends on (S, zipf, k) only. */
static int tuple_entropy_mc(const sl_skills_lang *L, int k, double *bits, double *se) {
  skills_sampler sp;
  sampler_init(L, &sp);
  const int S = L->p.S;
  skills_enum e = {0};
  double *wl = NULL;
  SL_ALLOC(wl, S);
  for (int s = 0; s < S; s++) {
    double w = L->skill_w[s];
    wl[s] = w > 0 ? w * log2(w) : 0.0;
    e.W += w;
    e.T += wl[s];
  }
  uint64_t zbits;
  memcpy(&zbits, &L->p.zipf, sizeof zbits);
  sl_rng r;
  sl_rng_stream(&r, sl_seed_mix((uint64_t)S, zbits), (uint64_t)k, "skills.entropy_mc");
  long double s1 = 0, s2 = 0;
  const int n = SL_SKILLS_MC_SAMPLES;
  int sk[SL_MAX_ARITY];
  for (int i = 0; i < n; i++) {
    draw_tuple(&sp, &r, k, sk);
    long double used_w = 0, used_wl = 0, g = 0;
    for (int j = 0; j < k; j++) {
      g += next_entropy(&e, used_w, used_wl);
      used_w += L->skill_w[sk[j]];
      used_wl += wl[sk[j]];
    }
    s1 += g;
    s2 += g * g;
  }
  free(wl);
  long double mean = s1 / n;
  long double var = (s2 - n * mean * mean) / (n - 1);
  *bits = (double)mean;
  *se = var > 0 ? (double)sqrtl(var / n) : 0.0;
  return SL_OK;
}

/* Ordered prefixes of length < k: sum_{j<k} S!/(S-j)!, saturating above limit. */
static double prefix_count(int S, int k, double limit) {
  double total = 0, f = 1;
  for (int j = 0; j < k; j++) {
    total += f;
    if (total > limit) return total;
    f *= (double)(S - j);
  }
  return total;
}

static int auto_method(const sl_skills_lang *L, int k) {
  if (L->p.zipf == 0.0) return SL_SKILLS_ENTROPY_CLOSED;
  if (prefix_count(L->p.S, k, SL_SKILLS_ENUM_LIMIT) <= SL_SKILLS_ENUM_LIMIT)
    return SL_SKILLS_ENTROPY_ENUM;
  return SL_SKILLS_ENTROPY_MC;
}

int sl_skills_tuple_entropy(const sl_skills_lang *L, int k, int method, double *bits,
                            double *stderr_bits) {
  SL_CHECK(L != NULL && bits != NULL, SL_ERR_ARG, "language or output is NULL");
  SL_CHECK(k >= 1 && k <= L->p.k_max, SL_ERR_ARG, "arity k = %d is out of range 1..k_max = %d", k,
           L->p.k_max);
  const int S = L->p.S;
  double se = 0;
  if (method == SL_SKILLS_ENTROPY_AUTO) method = auto_method(L, k);
  switch (method) {
  case SL_SKILLS_ENTROPY_CLOSED: {
    SL_CHECK(L->p.zipf == 0.0, SL_ERR_ARG,
             "the closed form log2(S!/(S-k)!) needs uniform skills (zipf = 0), got zipf = %g",
             L->p.zipf);
    /* Uniform skills without replacement: every ordered k-tuple has P = (S-k)!/S!. */
    long double h = 0;
    for (int i = 0; i < k; i++)
      h += log2l((long double)(S - i));
    *bits = (double)h;
    break;
  }
  case SL_SKILLS_ENTROPY_ENUM:
    SL_CALL(tuple_entropy_enum(L, k, bits));
    break;
  case SL_SKILLS_ENTROPY_MC:
    SL_CALL(tuple_entropy_mc(L, k, bits, &se));
    break;
  default:
    return SL_ERROR(SL_ERR_ARG, "unknown entropy method %d", method);
  }
  if (stderr_bits) *stderr_bits = se;
  return SL_OK;
}

/* ------------------------------------------------------------------ create / destroy */

/* Vose's alias method for the skill weights: column i keeps i with probability tab[2i], else
 * gives tab[2i + 1]. */
static int build_alias(int S, const double *w, double *tab) {
  double *q = NULL;
  int *small = NULL, *large = NULL;
  int err = SL_OK, ns = 0, nl = 0;
  q = sl_calloc((size_t)S, sizeof *q);
  small = sl_calloc((size_t)S, sizeof *small);
  large = sl_calloc((size_t)S, sizeof *large);
  SL_CHECK_GOTO(q && small && large, SL_ERR_NOMEM, done, "out of memory for the alias table");
  for (int i = 0; i < S; i++) {
    q[i] = w[i] * S;
    if (q[i] < 1.0)
      small[ns++] = i;
    else
      large[nl++] = i;
  }
  while (ns > 0 && nl > 0) {
    int l = small[--ns], g = large[--nl];
    tab[2 * (size_t)l] = q[l];
    tab[2 * (size_t)l + 1] = g;
    q[g] -= 1.0 - q[l];
    if (q[g] < 1.0)
      small[ns++] = g;
    else
      large[nl++] = g;
  }
  /* What is left is 1 up to rounding. */
  while (nl > 0) {
    int g = large[--nl];
    tab[2 * (size_t)g] = 1.0;
    tab[2 * (size_t)g + 1] = g;
  }
  while (ns > 0) {
    int l = small[--ns];
    tab[2 * (size_t)l] = 1.0;
    tab[2 * (size_t)l + 1] = l;
  }
done:
  free(q);
  free(small);
  free(large);
  return err;
}

int sl_skills_create(const sl_skills_params *p, uint64_t seed, sl_skills_lang **out) {
  SL_CHECK(out != NULL, SL_ERR_ARG, "output pointer is NULL");
  *out = NULL;
  SL_CALL(sl_skills_validate(p));
  int err = SL_OK;
  sl_skills_lang *L = sl_calloc(1, sizeof *L);
  SL_CHECK(L != NULL, SL_ERR_NOMEM, "out of memory for the language");
  L->p = *p;
  const int M = p->M, S = p->S, K = p->k_max;
  L->V = M + S + 1;
  L->eos = M + S;
  for (int k = K + 1; k <= SL_MAX_ARITY; k++)
    L->p.arity_weights[k - 1] = 0.0; /* ignored beyond k_max */

  const size_t n_maps = (size_t)S * (size_t)M;
  L->maps = sl_calloc(n_maps, sizeof *L->maps);
  L->skill_w = sl_calloc(4 * (size_t)S + 1, sizeof *L->skill_w);
  SL_CHECK_GOTO(L->maps && L->skill_w, SL_ERR_NOMEM, fail,
                "out of memory for the skill maps (%zu entries)", n_maps);

  /* Skill maps f_s from the seed, skill by skill. */
  sl_rng r;
  sl_rng_stream(&r, seed, 0, "skills.maps");
  for (int s = 0; s < S; s++) {
    int32_t *f = L->maps + (size_t)s * (size_t)M;
    if (p->random_functions) {
      for (int x = 0; x < M; x++)
        f[x] = (int32_t)skills_below(&r, (uint64_t)M);
    } else { /* Fisher-Yates on the identity */
      for (int x = 0; x < M; x++)
        f[x] = x;
      for (int i = M - 1; i > 0; i--) {
        int j = (int)skills_below(&r, (uint64_t)i + 1);
        int32_t t = f[i];
        f[i] = f[j];
        f[j] = t;
      }
    }
  }

  /* Skill weights w_i proportional to (i+1)^(-z), arity probabilities (SCIENCE.md section 0). */
  double *w = L->skill_w;
  long double wsum = 0;
  for (int s = 0; s < S; s++) {
    w[s] = p->zipf == 0.0 ? 1.0 : pow((double)s + 1.0, -p->zipf);
    wsum += w[s];
  }
  for (int s = 0; s < S; s++)
    w[s] = (double)(w[s] / wsum);
  double *cum = w + 3 * (size_t)S;
  long double c = 0;
  for (int s = 0; s < S; s++) {
    cum[s] = (double)c;
    c += w[s];
  }
  cum[S] = (double)c;
  SL_CALL_GOTO(build_alias(S, w, w + S), fail);

  double asum = 0;
  for (int k = 1; k <= K; k++)
    asum += p->arity_weights[k - 1];
  for (int k = 1; k <= K; k++)
    L->arity_p[k] = p->arity_weights[k - 1] / asum;

  /* Entropy per piece: H(arity) + H(tuple | arity) + log2 M; the y's and EOS are determined. */
  double h_arity = 0, h_tuple = 0, mean_len = 0;
  L->entropy_exact = 1;
  for (int k = 1; k <= K; k++) {
    double pk = L->arity_p[k];
    if (pk <= 0) continue;
    double hk, se;
    SL_CALL_GOTO(sl_skills_tuple_entropy(L, k, SL_SKILLS_ENTROPY_AUTO, &hk, &se), fail);
    if (auto_method(L, k) == SL_SKILLS_ENTROPY_MC) L->entropy_exact = 0;
    h_arity -= pk * log2(pk);
    h_tuple += pk * hk;
    mean_len += pk * (2.0 * k + 2.0);
  }
  L->piece_entropy_bits = h_arity + h_tuple + log2((double)M);
  L->mean_piece_tokens = mean_len;
  L->entropy_bits_per_token = L->piece_entropy_bits / mean_len;
  *out = L;
  return SL_OK;
fail:
  sl_skills_destroy(L);
  return err;
}

void sl_skills_destroy(sl_skills_lang *L) {
  if (!L) return;
  free(L->maps);
  free(L->skill_w);
  free(L);
}

/* ------------------------------------------------------------------ sampling */

int sl_skills_sample_piece(const sl_skills_lang *L, sl_rng *rng, int32_t *tokens, int *len,
                           sl_piece *piece) {
  SL_CHECK(L != NULL && rng != NULL && tokens != NULL && len != NULL, SL_ERR_ARG,
           "language, rng, tokens or len is NULL");
  skills_sampler sp;
  sampler_init(L, &sp);
  *len = draw_piece(&sp, rng, tokens, piece);
  return SL_OK;
}

int sl_skills_generate(const sl_skills_lang *L, sl_rng *rng, int32_t *tokens, size_t n,
                       sl_piece *pieces, size_t max_pieces, size_t *n_pieces) {
  SL_CHECK(L != NULL && rng != NULL && (tokens != NULL || n == 0), SL_ERR_ARG,
           "language, rng or tokens is NULL");
  if (n_pieces) *n_pieces = 0;
  if (n == 0) return SL_OK;
  skills_sampler sp;
  sampler_init(L, &sp);
  const size_t max_len = 2 * (size_t)sp.K + 2;
  size_t pos = 1, np = 0;
  tokens[0] = sp.eos;
  if (!pieces) max_pieces = 0;
  /* Whole pieces straight into the stream while they fit; the last one through a buffer. */
  while (pos < n) {
    sl_piece *desc = np < max_pieces ? &pieces[np] : NULL;
    size_t len;
    if (n - pos >= max_len) {
      len = (size_t)draw_piece(&sp, rng, tokens + pos, desc);
    } else {
      int32_t buf[2 * SL_MAX_ARITY + 2];
      len = (size_t)draw_piece(&sp, rng, buf, desc);
      size_t keep = len < n - pos ? len : n - pos;
      memcpy(tokens + pos, buf, keep * sizeof *buf);
    }
    if (desc) {
      desc->start = (int64_t)pos;
      np++;
    }
    pos += len;
  }
  if (n_pieces) *n_pieces = np;
  return SL_OK;
}

/* ------------------------------------------------------------------ next-token distribution */

int sl_skills_next_dist(const sl_skills_lang *L, const int32_t *prefix, int len, double *p) {
  SL_CHECK(L != NULL && p != NULL && len >= 0 && (prefix != NULL || len == 0), SL_ERR_ARG,
           "language, prefix or p is NULL, or len = %d < 0", len);
  const int M = L->p.M, S = L->p.S, K = L->p.k_max;
  for (int v = 0; v < L->V; v++)
    p[v] = 0.0;

  /* The skill tokens first: distinct, at most k_max of them. */
  int used[SL_MAX_ARITY];
  int j = 0;
  while (j < len && prefix[j] >= M && prefix[j] < M + S) {
    int s = prefix[j] - M;
    SL_CHECK(j < K, SL_ERR_ARG,
             "impossible prefix: skill token %d at position %d would make arity %d > k_max = %d",
             prefix[j], j, j + 1, K);
    for (int i = 0; i < j; i++)
      SL_CHECK(used[i] != s, SL_ERR_ARG,
               "impossible prefix: skill %d repeated at positions %d and %d (skills are drawn "
               "without replacement)",
               s, i, j);
    used[j++] = s;
  }
  if (j == len) {
    /* After j skills: another skill with P(k > j | k >= j) w_s / (1 - sum used w), a content
     * symbol with P(k = j | k >= j) / M (SCIENCE.md section 0). */
    double ge = 0, gt = 0;
    for (int k = j; k <= K; k++) {
      if (k < 1) continue;
      ge += L->arity_p[k];
      if (k > j) gt += L->arity_p[k];
    }
    SL_CHECK(ge > 0, SL_ERR_ARG,
             "impossible prefix: %d skill tokens but no arity >= %d has positive weight", j, j);
    const double p_more = gt / ge, p_stop = j >= 1 ? L->arity_p[j] / ge : 0.0;
    if (p_more > 0) {
      long double R = 0; /* unused mass, summed directly rather than 1 - used */
      for (int s = 0; s < S; s++) {
        int clash = 0;
        for (int i = 0; i < j; i++)
          clash |= used[i] == s;
        if (!clash) R += L->skill_w[s];
      }
      for (int s = 0; s < S; s++)
        p[M + s] = (double)(p_more * L->skill_w[s] / R);
      for (int i = 0; i < j; i++)
        p[M + used[i]] = 0.0;
    }
    if (p_stop > 0)
      for (int c = 0; c < M; c++)
        p[c] = p_stop / M;
    return SL_OK;
  }

  /* Then x, then the chain y_m = f_{s_m}(y_{m-1}), then EOS. */
  const int32_t x = prefix[j];
  SL_CHECK(x >= 0 && x < M, SL_ERR_ARG,
           "impossible prefix: token %d at position %d after %d skill tokens (expected a skill "
           "token in [%d, %d) or a content symbol in [0, %d))",
           x, j, j, M, M + S, M);
  SL_CHECK(j >= 1 && L->arity_p[j] > 0, SL_ERR_ARG,
           "impossible prefix: a content symbol after %d skill tokens, but arity %d has weight 0",
           j, j);
  int32_t y = x;
  int m = 0;
  for (int i = j + 1; i < len; i++) {
    SL_CHECK(m < j, SL_ERR_ARG,
             "impossible prefix: token %d at position %d follows a complete piece of arity %d "
             "(EOS expected)",
             prefix[i], i, j);
    int32_t want = L->maps[(size_t)used[m] * (size_t)M + (size_t)y];
    SL_CHECK(prefix[i] == want, SL_ERR_ARG,
             "impossible prefix: token %d at position %d, but y%d = f_%d(%d) = %d", prefix[i], i,
             m + 1, used[m], y, want);
    y = want;
    m++;
  }
  if (m < j)
    p[L->maps[(size_t)used[m] * (size_t)M + (size_t)y]] = 1.0;
  else
    p[L->eos] = 1.0;
  return SL_OK;
}
