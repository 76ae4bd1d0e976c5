/* The PCFG language (SCIENCE.md sections 0 and 4; include/slingshot/pcfg.h): a levelled grammar
 * of binary rules and terminal emissions drawn from a seed, sentences under a length cap by
 * rejection, exact sentence probabilities by the inside algorithm, the entropy per token.
 *
 * Legend: L levels, n_l nonterminals of level l, r binary rules, T terminals, e emissions per
 * nonterminal, n sentence length, cap = min(max_len, 2^(L-1)), W_l = min(n, 2^(L-1-l)) the longest
 * span a level-l nonterminal can yield. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/error.h"
#include "slingshot/hmm.h" /* sl_lang_dirichlet, sl_lang_alias_build */
#include "slingshot/pcfg.h"

/* ------------------------------------------------------------------ validation */

int sl_pcfg_validate(const sl_pcfg_params *p) {
  SL_CHECK(p != NULL, SL_ERR_ARG, "PCFG parameters are NULL");
  SL_CHECK(p->levels >= 1 && p->levels <= SL_PCFG_MAX_LEVELS, SL_ERR_CONFIG,
           "language.levels = %d is out of range: it must be between 1 and %d", p->levels,
           SL_PCFG_MAX_LEVELS);
  for (int l = 0; l < p->levels; l++)
    SL_CHECK(p->symbols[l] >= 1 && p->symbols[l] <= SL_PCFG_MAX_SYMBOLS, SL_ERR_CONFIG,
             "language.symbols[%d] = %d is out of range: it must be between 1 and %d", l,
             p->symbols[l], SL_PCFG_MAX_SYMBOLS);
  for (int l = 0; l + 1 < p->levels; l++) {
    const int64_t pairs = (int64_t)p->symbols[l + 1] * p->symbols[l + 1];
    const int64_t most = pairs < SL_PCFG_MAX_RULES ? pairs : SL_PCFG_MAX_RULES;
    SL_CHECK(p->rules >= 1 && p->rules <= most, SL_ERR_CONFIG,
             "language.rules = %d is out of range: it must be between 1 and %lld (at most "
             "symbols[%d]^2 pairs and at most %d)",
             p->rules, (long long)most, l + 1, SL_PCFG_MAX_RULES);
  }
  SL_CHECK(p->T >= 1 && p->T <= SL_PCFG_MAX_T, SL_ERR_CONFIG,
           "language.T = %d is out of range: it must be between 1 and %d", p->T, SL_PCFG_MAX_T);
  SL_CHECK(p->emit_k >= 1 && p->emit_k <= p->T && p->emit_k <= SL_PCFG_MAX_EMIT, SL_ERR_CONFIG,
           "language.emit_k = %d is out of range: it must be between 1 and min(T = %d, %d)",
           p->emit_k, p->T, SL_PCFG_MAX_EMIT);
  SL_CHECK(p->p_emit >= 0 && p->p_emit < 1, SL_ERR_CONFIG,
           "language.p_emit = %g is out of range: it must be in [0, 1)", p->p_emit);
  SL_CHECK(p->alpha > 0 && isfinite(p->alpha), SL_ERR_CONFIG,
           "language.alpha = %g is out of range: it must be > 0", p->alpha);
  SL_CHECK(p->max_len >= 1, SL_ERR_CONFIG, "language.max_len = %d must be >= 1", p->max_len);
  return SL_OK;
}

/* ------------------------------------------------------------------ construction */

static int cmp_i64(const void *a, const void *b) {
  const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* k distinct values of [0, n) by rejection (k <= SL_PCFG_MAX_EMIT or SL_PCFG_MAX_RULES; when k is
 * close to n, n is small), ascending. */
static void draw_distinct(sl_rng *r, int64_t n, int k, int64_t *out) {
  for (int j = 0; j < k;) {
    const int64_t c = (int64_t)sl_rng_below(r, (uint64_t)n);
    int clash = 0;
    for (int i = 0; i < j && !clash; i++)
      clash = out[i] == c;
    if (!clash) out[j++] = c;
  }
  qsort(out, (size_t)k, sizeof *out, cmp_i64);
}

/* Longest yield of a level-l nonterminal under the cap. */
static int level_span(const sl_pcfg *G, int l, int n) {
  const int lv = G->p.levels - 1 - l;
  const int w = lv >= 30 ? n : (1 << lv);
  return w < n ? w : n;
}

/* The exact length distribution under the cap: lp_l[a][m] = P(nonterminal a yields m terminals)
 * for m <= W_l, bottom-up by level (a convolution of the two children for each binary rule).
 * Sets z, len_p and mean_sentence_tokens. */
static int length_distribution(sl_pcfg *G) {
  const int L = G->p.levels, cap = G->cap;
  int err = SL_OK;
  double **lp = sl_calloc((size_t)L, sizeof *lp);
  SL_CHECK(lp != NULL, SL_ERR_NOMEM, "out of memory for the length distribution");
  for (int l = L - 1; l >= 0; l--) {
    const int nl = G->p.symbols[l], W = level_span(G, l, cap), s0 = G->level_start[l];
    lp[l] = sl_calloc((size_t)nl * ((size_t)W + 1), sizeof(double));
    SL_CHECK_GOTO(lp[l] != NULL, SL_ERR_NOMEM, done, "out of memory for the length distribution");
    for (int a = 0; a < nl; a++) {
      double *out = lp[l] + (size_t)a * ((size_t)W + 1);
      for (int64_t j = G->rule_start[s0 + a]; j < G->rule_start[s0 + a + 1]; j++) {
        if (G->rule_b[j] < 0) {
          out[1] += G->rule_p[j];
          continue;
        }
        const int Wc = level_span(G, l + 1, cap), s1 = G->level_start[l + 1];
        const double *pb = lp[l + 1] + (size_t)(G->rule_b[j] - s1) * ((size_t)Wc + 1);
        const double *pc = lp[l + 1] + (size_t)(G->rule_c[j] - s1) * ((size_t)Wc + 1);
        for (int m = 2; m <= W; m++) {
          double s = 0;
          for (int k = 1; k < m; k++)
            if (k <= Wc && m - k <= Wc) s += pb[k] * pc[m - k];
          out[m] += G->rule_p[j] * s;
        }
      }
    }
  }
  {
    const int W0 = level_span(G, 0, cap);
    double z = 0, mean = 0;
    for (int m = 1; m <= W0; m++) {
      double s = 0;
      for (int a = 0; a < G->p.symbols[0]; a++)
        s += G->root_p[a] * lp[0][(size_t)a * ((size_t)W0 + 1) + (size_t)m];
      G->len_p[m] = s;
      z += s;
    }
    G->z = z;
    SL_CHECK_GOTO(z >= SL_PCFG_MIN_Z, SL_ERR_CONFIG, done,
                  "only a fraction %.3g of the grammar's sentences have at most max_len = %d "
                  "terminals (at least %g is needed for sampling by rejection): raise "
                  "language.max_len (longest sentence 2^(levels-1)) or language.p_emit",
                  z, G->p.max_len, SL_PCFG_MIN_Z);
    for (int m = 1; m <= W0; m++) {
      G->len_p[m] /= z;
      mean += m * G->len_p[m];
    }
    G->mean_sentence_tokens = mean + 1;
  }
done:
  for (int l = 0; l < L; l++)
    free(lp[l]);
  free(lp);
  return err;
}

int sl_pcfg_create(const sl_pcfg_params *p, uint64_t seed, sl_pcfg **out) {
  SL_CHECK(out != NULL, SL_ERR_ARG, "out is NULL");
  *out = NULL;
  SL_CALL(sl_pcfg_validate(p));
  const int L = p->levels;
  sl_pcfg *G = sl_calloc(1, sizeof *G);
  SL_CHECK(G != NULL, SL_ERR_NOMEM, "out of memory for the grammar");
  int err = SL_OK;
  double *w = NULL;
  int64_t *pick = NULL;
  G->p = *p;
  G->V = p->T + 1;
  G->eos = p->T;
  G->cap = level_span(G, 0, p->max_len);
  G->level_start = sl_calloc((size_t)L + 1, sizeof *G->level_start);
  SL_CHECK_GOTO(G->level_start != NULL, SL_ERR_NOMEM, fail, "out of memory for the grammar");
  int64_t n_rules = 0;
  for (int l = 0; l < L; l++) {
    G->level_start[l + 1] = G->level_start[l] + p->symbols[l];
    const int per = l + 1 < L ? p->rules + (p->p_emit > 0 ? p->emit_k : 0) : p->emit_k;
    n_rules += (int64_t)p->symbols[l] * per;
  }
  G->n_nt = G->level_start[L];
  const int n0 = p->symbols[0];
  const int most = (p->rules > p->emit_k ? p->rules : p->emit_k) + p->emit_k;
  G->root_p = sl_calloc((size_t)n0, sizeof *G->root_p);
  G->root_keep = sl_calloc((size_t)n0, sizeof *G->root_keep);
  G->root_alias = sl_calloc((size_t)n0, sizeof *G->root_alias);
  G->rule_start = sl_calloc((size_t)G->n_nt + 1, sizeof *G->rule_start);
  G->rule_b = sl_calloc((size_t)n_rules, sizeof *G->rule_b);
  G->rule_c = sl_calloc((size_t)n_rules, sizeof *G->rule_c);
  G->rule_p = sl_calloc((size_t)n_rules, sizeof *G->rule_p);
  G->rule_keep = sl_calloc((size_t)n_rules, sizeof *G->rule_keep);
  G->rule_alias = sl_calloc((size_t)n_rules, sizeof *G->rule_alias);
  G->len_p = sl_calloc((size_t)G->cap + 1, sizeof *G->len_p);
  w = sl_calloc((size_t)most + (size_t)n0, sizeof *w);
  pick = sl_calloc((size_t)most, sizeof *pick);
  SL_CHECK_GOTO(
      G->root_p && G->root_keep && G->root_alias && G->rule_start && G->rule_b && G->rule_c &&
          G->rule_p && G->rule_keep && G->rule_alias && G->len_p && w && pick,
      SL_ERR_NOMEM, fail, "out of memory for a grammar of %lld rules", (long long)n_rules);
  /* Roots, rules and emissions come from separate streams, so that changing one part of the
   * parameters leaves the others as they were where possible. */
  sl_rng rr, re;
  sl_rng_stream(&rr, seed, 0, "pcfg.rules");
  sl_rng_stream(&re, seed, 0, "pcfg.emissions");
  {
    sl_rng r0;
    sl_rng_stream(&r0, seed, 0, "pcfg.roots");
    sl_lang_dirichlet(&r0, p->alpha, n0, G->root_p);
    int32_t *idx = malloc((size_t)n0 * sizeof *idx);
    SL_CHECK_GOTO(idx != NULL, SL_ERR_NOMEM, fail, "out of memory for the roots");
    for (int a = 0; a < n0; a++)
      idx[a] = a;
    err = sl_lang_alias_build(idx, G->root_p, n0, G->root_keep, G->root_alias);
    free(idx);
    SL_CALL_GOTO(err, fail);
  }
  int64_t j = 0;
  for (int l = 0; l < L; l++) {
    const int last = l + 1 == L;
    for (int a = G->level_start[l]; a < G->level_start[l + 1]; a++) {
      G->rule_start[a] = j;
      if (!last) {
        const int n1 = p->symbols[l + 1], s1 = G->level_start[l + 1];
        const double mass = 1 - p->p_emit;
        draw_distinct(&rr, (int64_t)n1 * n1, p->rules, pick);
        sl_lang_dirichlet(&rr, p->alpha, p->rules, w);
        for (int q = 0; q < p->rules; q++, j++) {
          G->rule_b[j] = s1 + (int32_t)(pick[q] / n1);
          G->rule_c[j] = s1 + (int32_t)(pick[q] % n1);
          G->rule_p[j] = mass * w[q];
        }
      }
      if (last || p->p_emit > 0) {
        const double mass = last ? 1.0 : p->p_emit;
        draw_distinct(&re, p->T, p->emit_k, pick);
        sl_lang_dirichlet(&re, p->alpha, p->emit_k, w);
        for (int q = 0; q < p->emit_k; q++, j++) {
          G->rule_b[j] = -1 - (int32_t)pick[q];
          G->rule_c[j] = -1;
          G->rule_p[j] = mass * w[q];
        }
      }
    }
  }
  G->rule_start[G->n_nt] = j;
  SL_CHECK_GOTO(j == n_rules, SL_ERR_INTERNAL, fail, "rule count %lld != %lld", (long long)j,
                (long long)n_rules);
  {
    int32_t *idx = malloc((size_t)most * sizeof *idx);
    SL_CHECK_GOTO(idx != NULL, SL_ERR_NOMEM, fail, "out of memory for the alias tables");
    for (int q = 0; q < most; q++)
      idx[q] = q;
    for (int a = 0; a < G->n_nt && err == SL_OK; a++) {
      const int64_t s = G->rule_start[a], k = G->rule_start[a + 1] - s;
      double sum = 0;
      for (int64_t q = s; q < s + k; q++)
        sum += G->rule_p[q];
      for (int64_t q = s; q < s + k; q++) /* exact normalisation for the alias table */
        G->rule_p[q] /= sum;
      err = sl_lang_alias_build(idx, G->rule_p + s, k, G->rule_keep + s, G->rule_alias + s);
    }
    free(idx);
    SL_CALL_GOTO(err, fail);
  }
  SL_CALL_GOTO(length_distribution(G), fail);
  free(w);
  free(pick);
  *out = G;
  return SL_OK;
fail:
  free(w);
  free(pick);
  sl_pcfg_destroy(G);
  return err;
}

void sl_pcfg_destroy(sl_pcfg *G) {
  if (!G) return;
  free(G->level_start);
  free(G->root_p);
  free(G->root_keep);
  free(G->root_alias);
  free(G->rule_start);
  free(G->rule_b);
  free(G->rule_c);
  free(G->rule_p);
  free(G->rule_keep);
  free(G->rule_alias);
  free(G->len_p);
  free(G);
}

/* ------------------------------------------------------------------ sampling */

static inline int alias_draw(const uint64_t *keep, const int32_t *alias, uint64_t k, sl_rng *r) {
  const unsigned __int128 m = (unsigned __int128)sl_rng_u64(r) * k;
  const int j = (int)(m >> 64);
  return (uint64_t)m < keep[j] ? j : alias[j];
}

/* One sentence from the unrestricted grammar, expanded depth-first left to right; returns its
 * length, or -1 as soon as it exceeds cap terminals. */
static int sample_raw(const sl_pcfg *G, sl_rng *r, int32_t *out, int cap) {
  int32_t stack[SL_PCFG_MAX_LEVELS + 1]; /* each pop of level l pushes two of level l + 1 */
  int sp = 0, len = 0;
  stack[sp++] = alias_draw(G->root_keep, G->root_alias, (uint64_t)G->p.symbols[0], r);
  while (sp > 0) {
    const int a = stack[--sp];
    const int64_t s = G->rule_start[a];
    const int64_t j = s + alias_draw(G->rule_keep + s, G->rule_alias + s,
                                     (uint64_t)(G->rule_start[a + 1] - s), r);
    const int32_t b = G->rule_b[j];
    if (b < 0) {
      if (len == cap) return -1;
      out[len++] = -1 - b;
    } else {
      stack[sp++] = G->rule_c[j];
      stack[sp++] = b;
    }
  }
  return len;
}

int sl_pcfg_sample_sentence(const sl_pcfg *G, sl_rng *rng, int32_t *tokens, int *len) {
  SL_CHECK(G != NULL && rng != NULL && tokens != NULL && len != NULL, SL_ERR_ARG,
           "grammar, rng, tokens or len is NULL");
  int m;
  while ((m = sample_raw(G, rng, tokens, G->cap)) < 0) {
  }
  *len = m;
  return SL_OK;
}

int sl_pcfg_generate(const sl_pcfg *G, sl_rng *rng, int32_t *tokens, size_t n,
                     size_t *n_sentences) {
  SL_CHECK(G != NULL && rng != NULL && (tokens != NULL || n == 0), SL_ERR_ARG,
           "grammar, rng or tokens is NULL");
  if (n_sentences) *n_sentences = 0;
  if (n == 0) return SL_OK;
  const size_t cap = (size_t)G->cap;
  int32_t *buf = malloc(cap * sizeof *buf);
  SL_CHECK(buf != NULL, SL_ERR_NOMEM, "out of memory for a sentence of %zu tokens", cap);
  size_t pos = 1, ns = 0;
  tokens[0] = G->eos;
  while (pos < n) {
    int m;
    if (n - pos >= cap + 1) { /* straight into the stream: rejected tries are overwritten */
      while ((m = sample_raw(G, rng, tokens + pos, G->cap)) < 0) {
      }
      pos += (size_t)m;
      tokens[pos++] = G->eos;
    } else {
      while ((m = sample_raw(G, rng, buf, G->cap)) < 0) {
      }
      for (int i = 0; i <= m && pos < n; i++)
        tokens[pos++] = i < m ? buf[i] : G->eos;
    }
    ns++;
  }
  free(buf);
  if (n_sentences) *n_sentences = ns;
  return SL_OK;
}

/* ------------------------------------------------------------------ inside algorithm */

/* A position that matches any terminal (prefix probabilities): its single-token inside value is
 * the nonterminal's total terminal-rule probability. */
#define PCFG_ANY INT32_MIN

/* Tables of levels 1..L-1 for sentences of up to nmax terminals. Level l keeps, for every start
 * i and span length m <= W_l, the inside vector over its n_l nonterminals divided by its largest
 * entry, and the log of that factor in sc (-INFINITY when the vector is 0). Level 0 is only ever
 * needed for the whole sentence. */
typedef struct inside_ws {
  int nmax;
  int W[SL_PCFG_MAX_LEVELS];
  double *val[SL_PCFG_MAX_LEVELS];
  double *sc[SL_PCFG_MAX_LEVELS];
  double *acc; /* [max n_l] */
} inside_ws;

static void ws_free(inside_ws *ws) {
  for (int l = 0; l < SL_PCFG_MAX_LEVELS; l++) {
    free(ws->val[l]);
    free(ws->sc[l]);
  }
  free(ws->acc);
  memset(ws, 0, sizeof *ws);
}

static int ws_init(const sl_pcfg *G, int nmax, inside_ws *ws) {
  memset(ws, 0, sizeof *ws);
  ws->nmax = nmax;
  int nl_max = 1;
  for (int l = 0; l < G->p.levels; l++) {
    const int nl = G->p.symbols[l];
    if (nl > nl_max) nl_max = nl;
    ws->W[l] = level_span(G, l, nmax);
    const size_t cells = l == 0 ? 1 : (size_t)nmax * (size_t)ws->W[l];
    ws->val[l] = malloc(cells * (size_t)nl * sizeof(double));
    ws->sc[l] = malloc(cells * sizeof(double));
    if (!ws->val[l] || !ws->sc[l]) {
      ws_free(ws);
      return SL_ERROR(SL_ERR_NOMEM, "out of memory for the inside tables of %d tokens", nmax);
    }
  }
  ws->acc = malloc((size_t)nl_max * sizeof *ws->acc);
  if (!ws->acc) {
    ws_free(ws);
    return SL_ERROR(SL_ERR_NOMEM, "out of memory for the inside tables");
  }
  return SL_OK;
}

/* The inside vector of level l over span [i, i + m) into val / *sc. */
static void inside_cell(const sl_pcfg *G, inside_ws *ws, const int32_t *t, int l, int i, int m,
                        double *val, double *sc) {
  const int nl = G->p.symbols[l], s0 = G->level_start[l];
  double *acc = ws->acc;
  double top = -INFINITY;
  for (int a = 0; a < nl; a++)
    acc[a] = 0;
  if (m == 1) {
    top = 0;
    for (int a = 0; a < nl; a++)
      for (int64_t j = G->rule_start[s0 + a]; j < G->rule_start[s0 + a + 1]; j++)
        if (G->rule_b[j] == -1 - t[i] || (t[i] == PCFG_ANY && G->rule_b[j] < 0))
          acc[a] += G->rule_p[j];
  } else if (l + 1 < G->p.levels) {
    const int Wc = ws->W[l + 1], s1 = G->level_start[l + 1], n1 = G->p.symbols[l + 1];
    const double *cv = ws->val[l + 1], *cs = ws->sc[l + 1];
    for (int k = 1; k < m; k++) /* the common scale of all splits */
      if (k <= Wc && m - k <= Wc) {
        const double s =
            cs[(size_t)i * Wc + (size_t)(k - 1)] + cs[(size_t)(i + k) * Wc + (size_t)(m - k - 1)];
        if (s > top) top = s;
      }
    if (top > -INFINITY) {
      for (int k = 1; k < m; k++) {
        if (k > Wc || m - k > Wc) continue;
        const size_t cl = (size_t)i * Wc + (size_t)(k - 1), cr = (size_t)(i + k) * Wc + (m - k - 1);
        const double s = cs[cl] + cs[cr];
        if (s == -INFINITY) continue;
        const double f = exp(s - top);
        const double *left = cv + cl * (size_t)n1, *right = cv + cr * (size_t)n1;
        for (int a = 0; a < nl; a++) {
          double x = 0;
          for (int64_t j = G->rule_start[s0 + a]; j < G->rule_start[s0 + a + 1]; j++) {
            const int32_t b = G->rule_b[j];
            if (b < 0) break; /* binary rules come first */
            x += G->rule_p[j] * left[b - s1] * right[G->rule_c[j] - s1];
          }
          acc[a] += f * x;
        }
      }
    }
  }
  double mx = 0;
  for (int a = 0; a < nl; a++)
    if (acc[a] > mx) mx = acc[a];
  if (mx == 0 || top == -INFINITY) {
    *sc = -INFINITY;
    for (int a = 0; a < nl; a++)
      val[a] = 0;
    return;
  }
  *sc = top + log(mx);
  const double inv = 1.0 / mx;
  for (int a = 0; a < nl; a++)
    val[a] = acc[a] * inv;
}

/* ln P_grammar(t[0..n)) (unconditioned on the cap), n <= ws->nmax. */
static double inside_ln(const sl_pcfg *G, inside_ws *ws, const int32_t *t, int n) {
  const int L = G->p.levels;
  if (n < 1 || n > ws->nmax) return -INFINITY;
  for (int i = 0; i < n; i++)
    if ((t[i] < 0 || t[i] >= G->p.T) && t[i] != PCFG_ANY) return -INFINITY;
  for (int l = L - 1; l >= 1; l--) {
    const int W = ws->W[l], nl = G->p.symbols[l];
    const int Wn = W < n ? W : n;
    for (int m = 1; m <= Wn; m++) /* shorter spans first: a span needs only shorter children */
      for (int i = 0; i + m <= n; i++) {
        const size_t c = (size_t)i * W + (size_t)(m - 1);
        inside_cell(G, ws, t, l, i, m, ws->val[l] + c * (size_t)nl, ws->sc[l] + c);
      }
  }
  double sc;
  inside_cell(G, ws, t, 0, 0, n, ws->val[0], &sc);
  if (sc == -INFINITY) return -INFINITY;
  double s = 0;
  for (int a = 0; a < G->p.symbols[0]; a++)
    s += G->root_p[a] * ws->val[0][a];
  return s > 0 ? sc + log(s) : -INFINITY;
}

int sl_pcfg_log_prob(const sl_pcfg *G, const int32_t *tokens, int n, double *ln_p) {
  SL_CHECK(G != NULL && ln_p != NULL && (tokens != NULL || n == 0), SL_ERR_ARG,
           "grammar, tokens or ln_p is NULL");
  if (n < 1 || n > G->cap) {
    *ln_p = -INFINITY;
    return SL_OK;
  }
  inside_ws ws;
  SL_CALL(ws_init(G, n, &ws));
  const double lg = inside_ln(G, &ws, tokens, n);
  ws_free(&ws);
  *ln_p = lg - log(G->z);
  return SL_OK;
}

int sl_pcfg_entropy_rate(const sl_pcfg *G, sl_rng *rng, size_t n_sentences, double *mean_bits,
                         double *stderr_bits) {
  SL_CHECK(G != NULL && rng != NULL && mean_bits != NULL, SL_ERR_ARG,
           "grammar, rng or mean_bits is NULL");
  SL_CHECK(n_sentences >= 2, SL_ERR_ARG, "n_sentences = %zu must be >= 2", n_sentences);
  int err = SL_OK;
  inside_ws ws;
  SL_CALL(ws_init(G, G->cap, &ws));
  double *a = malloc(n_sentences * sizeof *a), *b = malloc(n_sentences * sizeof *b);
  int32_t *t = malloc((size_t)G->cap * sizeof *t);
  SL_CHECK_GOTO(a && b && t, SL_ERR_NOMEM, done, "out of memory for %zu sentences", n_sentences);
  const double lnz = log(G->z);
  double sa = 0, sb = 0;
  for (size_t s = 0; s < n_sentences; s++) {
    int m;
    SL_CALL_GOTO(sl_pcfg_sample_sentence(G, rng, t, &m), done);
    const double lp = inside_ln(G, &ws, t, m) - lnz;
    SL_CHECK_GOTO(isfinite(lp), SL_ERR_INTERNAL, done, "a sampled sentence has probability 0");
    sa += a[s] = -lp / M_LN2;
    sb += b[s] = m + 1.0;
  }
  const double R = sa / sb, mb = sb / (double)n_sentences;
  *mean_bits = R;
  if (stderr_bits) {
    double v = 0;
    for (size_t s = 0; s < n_sentences; s++)
      v += (a[s] - R * b[s]) * (a[s] - R * b[s]);
    *stderr_bits = sqrt(v / ((double)n_sentences * (double)(n_sentences - 1))) / mb;
  }
done:
  ws_free(&ws);
  free(a);
  free(b);
  free(t);
  return err;
}

/* ln of the grammar mass of the sentences that begin with w[0..k) (any length up to the cap):
 * the sum over n = max(k, 1)..cap of the inside probability of w followed by n - k positions
 * that match any terminal. buf: room for G->cap tokens. */
static double prefix_ln(const sl_pcfg *G, inside_ws *ws, const int32_t *w, int k, int32_t *buf) {
  double top = -INFINITY, terms[SL_PCFG_MAX_LEN_SUM];
  int nt = 0;
  memcpy(buf, w, (size_t)k * sizeof *buf);
  for (int n = k < 1 ? 1 : k; n <= G->cap; n++) {
    for (int i = k; i < n; i++)
      buf[i] = PCFG_ANY;
    const double x = inside_ln(G, ws, buf, n);
    terms[nt++] = x;
    if (x > top) top = x;
  }
  if (top == -INFINITY) return -INFINITY;
  double s = 0;
  for (int i = 0; i < nt; i++)
    s += exp(terms[i] - top);
  return top + log(s);
}

int sl_pcfg_next_dist(const sl_pcfg *G, const int32_t *prefix, int len, double *p) {
  SL_CHECK(G != NULL && p != NULL && (prefix != NULL || len == 0), SL_ERR_ARG,
           "grammar, prefix or p is NULL");
  SL_CHECK(len >= 0 && len <= G->cap, SL_ERR_ARG,
           "prefix of %d terminals: a sentence has 0 to %d before its EOS", len, G->cap);
  SL_CHECK(G->cap <= SL_PCFG_MAX_LEN_SUM, SL_ERR_ARG,
           "next-token distributions need a length cap of at most %d (this grammar's is %d)",
           SL_PCFG_MAX_LEN_SUM, G->cap);
  for (int i = 0; i < len; i++)
    SL_CHECK(prefix[i] >= 0 && prefix[i] < G->p.T, SL_ERR_ARG,
             "prefix token %d at %d is not a terminal (0..%d)", prefix[i], i, G->p.T - 1);
  inside_ws ws;
  SL_CALL(ws_init(G, G->cap, &ws));
  int err = SL_OK;
  int32_t *buf = malloc(((size_t)G->cap + 1) * sizeof *buf);
  int32_t *w = malloc(((size_t)len + 1) * sizeof *w);
  SL_CHECK_GOTO(buf && w, SL_ERR_NOMEM, done, "out of memory for a prefix of %d", len);
  memcpy(w, prefix, (size_t)len * sizeof *w);
  const double base = len == 0 ? log(G->z) : prefix_ln(G, &ws, w, len, buf);
  SL_CHECK_GOTO(base > -INFINITY, SL_ERR_ARG, done,
                "the prefix of %d terminals begins no sentence of the grammar", len);
  for (int t = 0; t < G->V; t++)
    p[t] = 0;
  /* EOS: the sentence is exactly the prefix. */
  if (len >= 1) p[G->eos] = exp(inside_ln(G, &ws, w, len) - base);
  if (len < G->cap)
    for (int t = 0; t < G->p.T; t++) {
      w[len] = t;
      p[t] = exp(prefix_ln(G, &ws, w, len + 1, buf) - base);
    }
done:
  ws_free(&ws);
  free(buf);
  free(w);
  return err;
}
