/* The skill theorem and its Monte Carlo (see include/slingshot/theory.h, SCIENCE.md section 1). */
#include "slingshot/theory.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/error.h"
#include "slingshot/rng.h"

double sl_theory_h2(double p) {
  if (p <= 0 || p >= 1) return 0.0;
  return -p * log2(p) - (1 - p) * log2(1 - p);
}

double sl_theory_kl2(double p, double q) {
  double a = p > 0 ? p * log2(p / q) : 0.0;
  double b = p < 1 ? (1 - p) * log2((1 - p) / (1 - q)) : 0.0;
  return a + b;
}

/* k theta KL(beta a || a) - H(theta): the theorem holds at a where this is > 0. */
static double margin(double theta, double k, double beta, double a) {
  return k * theta * sl_theory_kl2(beta * a, a) - sl_theory_h2(theta);
}

double sl_theory_alpha(double theta, double k, double beta) {
  if (!(theta > 0 && theta < 1 && k > 0 && beta > 1)) return NAN;
  /* KL(beta a || a) rises to log2 beta as a -> 1/beta: no root when even that is too small. */
  if (k * theta * log2(beta) <= sl_theory_h2(theta)) return NAN;
  double lo = 0.0, hi = 1.0 / beta;
  for (int it = 0; it < 200 && hi - lo > 1e-14; it++) {
    double mid = 0.5 * (lo + hi);
    if (margin(theta, k, beta, mid) > 0)
      hi = mid;
    else
      lo = mid;
  }
  return hi;
}

double sl_theory_max_competence(double theta, double k) {
  return 1.0 - theta * pow(2.0, sl_theory_h2(theta) / (k * theta));
}

void sl_theory_curve(double theta, double k, const double *beta, int n, double *competence,
                     double *fraction) {
  for (int i = 0; i < n; i++) {
    competence[i] = 1.0 - beta[i] * theta;
    double a = sl_theory_alpha(theta, k, beta[i]);
    fraction[i] = isnan(a) ? NAN : 1.0 - a;
  }
}

void sl_theory_tuple_curve(double theta, double k, int kp, const double *beta, int n,
                           double *competence, double *fraction) {
  sl_theory_curve(theta * kp, k, beta, n, competence, fraction);
}

/* ------------------------------------------------------------------ Monte Carlo */

typedef struct graph {
  int n1, n2, k;
  int *skills;    /* [n2 x k] */
  int *deg;       /* [n1] */
  int *adj_start; /* [n1 + 1] CSR: pieces of each skill */
  int *adj;       /* [n2 x k] */
} graph;

static void graph_free(graph *g) {
  free(g->skills);
  free(g->deg);
  free(g->adj_start);
  free(g->adj);
}

static int graph_draw(graph *g, int n1, int n2, int k, sl_rng *rng) {
  memset(g, 0, sizeof *g);
  g->n1 = n1, g->n2 = n2, g->k = k;
  SL_ALLOC(g->skills, (size_t)n2 * k);
  SL_ALLOC(g->deg, n1);
  SL_ALLOC(g->adj_start, n1 + 1);
  SL_ALLOC(g->adj, (size_t)n2 * k);
  for (int p = 0; p < n2; p++) {
    int *s = g->skills + (size_t)p * k;
    for (int j = 0; j < k; j++) {
      int again;
      do { /* k distinct skills, uniform */
        s[j] = (int)sl_rng_below(rng, (uint64_t)n1);
        again = 0;
        for (int i = 0; i < j; i++)
          again |= s[i] == s[j];
      } while (again);
      g->deg[s[j]]++;
    }
  }
  for (int s = 0; s < n1; s++)
    g->adj_start[s + 1] = g->adj_start[s] + g->deg[s];
  int *fill = calloc((size_t)n1, sizeof(int));
  SL_CHECK(fill, SL_ERR_NOMEM, "out of memory");
  for (int p = 0; p < n2; p++)
    for (int j = 0; j < k; j++) {
      int s = g->skills[(size_t)p * k + j];
      g->adj[g->adj_start[s] + fill[s]++] = p;
    }
  free(fill);
  return SL_OK;
}

/* The fraction of skills in at least one piece whose competence 1 - fails/deg is >= 1 - bt
 * (bt = beta theta), i.e. fails <= bt deg. */
static double competent_fraction(const graph *g, const int *fails, double bt) {
  int n = 0, ok = 0;
  for (int s = 0; s < g->n1; s++) {
    if (g->deg[s] == 0) continue;
    n++;
    ok += fails[s] <= bt * g->deg[s];
  }
  return n ? (double)ok / n : NAN;
}

static void fail_piece(const graph *g, int p, char *failed, int *fails) {
  failed[p] = 1;
  for (int j = 0; j < g->k; j++)
    fails[g->skills[(size_t)p * g->k + j]]++;
}

typedef struct scored {
  int piece, score;
} scored;

static int scored_cmp(const void *a, const void *b) {
  const scored *x = a, *y = b;
  if (x->score != y->score) return x->score > y->score ? -1 : 1;
  return (x->piece > y->piece) - (x->piece < y->piece);
}

/* The greedy adversary against the threshold bt = beta theta, with `budget` failures. */
static int adversary(const graph *g, int budget, double bt, char *failed, int *fails, scored *buf) {
  memset(failed, 0, (size_t)g->n2);
  memset(fails, 0, sizeof(int) * (size_t)g->n1);
  while (budget > 0) {
    int best = -1;
    long best_need = 0;
    for (int s = 0; s < g->n1; s++) {
      if (g->deg[s] == 0 || fails[s] > bt * g->deg[s]) continue; /* absent or broken */
      long need = (long)floor(bt * g->deg[s]) + 1 - fails[s];
      if (need > g->deg[s] - fails[s]) continue; /* cannot be broken any more */
      if (best < 0 || need < best_need) best = s, best_need = need;
    }
    if (best < 0 || best_need > budget) break;
    int n = 0;
    for (int i = g->adj_start[best]; i < g->adj_start[best + 1]; i++) {
      int p = g->adj[i];
      if (failed[p]) continue;
      int score = 0;
      for (int j = 0; j < g->k; j++) {
        int s = g->skills[(size_t)p * g->k + j];
        score += s != best && fails[s] <= bt * g->deg[s];
      }
      buf[n++] = (scored){p, score};
    }
    qsort(buf, (size_t)n, sizeof *buf, scored_cmp);
    for (long i = 0; i < best_need; i++)
      fail_piece(g, buf[i].piece, failed, fails);
    budget -= (int)best_need;
  }
  for (int p = 0; p < g->n2 && budget > 0; p++)
    if (!failed[p]) fail_piece(g, p, failed, fails), budget--;
  return SL_OK;
}

int sl_theory_mc_trial(const sl_theory_mc_spec *s, int64_t trial, double *frac_rand,
                       double *frac_adv) {
  SL_CHECK(s->n1 >= s->k && s->k >= 1 && s->n2 >= 1, SL_ERR_ARG,
           "Monte Carlo needs 1 <= k <= skills and at least one piece (k %d, skills %d, pieces %d)",
           s->k, s->n1, s->n2);
  int err = SL_OK;
  graph g;
  char *failed = NULL;
  int *fails = NULL, *perm = NULL;
  scored *buf = NULL;
  sl_rng rng;
  sl_rng_stream(&rng, s->seed, (uint64_t)trial, "theory_mc");
  SL_CALL(graph_draw(&g, s->n1, s->n2, s->k, &rng));
  failed = calloc((size_t)s->n2, 1);
  fails = calloc((size_t)s->n1, sizeof(int));
  perm = calloc((size_t)s->n2, sizeof(int));
  buf = calloc((size_t)s->n2, sizeof(scored));
  SL_CHECK_GOTO(failed && fails && perm && buf, SL_ERR_NOMEM, done, "out of memory");
  for (int t = 0; t < s->n_theta; t++) {
    int budget = (int)llround(s->theta[t] * s->n2);
    /* Random: a uniform budget-subset by a partial Fisher-Yates shuffle. */
    for (int p = 0; p < s->n2; p++)
      perm[p] = p;
    memset(failed, 0, (size_t)s->n2);
    memset(fails, 0, sizeof(int) * (size_t)s->n1);
    for (int i = 0; i < budget; i++) {
      int j = i + (int)sl_rng_below(&rng, (uint64_t)(s->n2 - i));
      int tmp = perm[i];
      perm[i] = perm[j], perm[j] = tmp;
      fail_piece(&g, perm[i], failed, fails);
    }
    for (int b = 0; b < s->n_beta; b++)
      frac_rand[t * s->n_beta + b] = competent_fraction(&g, fails, s->beta[b] * s->theta[t]);
    for (int b = 0; b < s->n_beta; b++) {
      double bt = s->beta[b] * s->theta[t];
      SL_CALL_GOTO(adversary(&g, budget, bt, failed, fails, buf), done);
      frac_adv[t * s->n_beta + b] = competent_fraction(&g, fails, bt);
    }
  }
done:
  graph_free(&g);
  free(failed);
  free(fails);
  free(perm);
  free(buf);
  return err;
}

int sl_theory_mc(const sl_theory_mc_spec *s, MPI_Comm comm, sl_theory_mc_out *out) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  const size_t m = (size_t)s->n_theta * s->n_beta, row = 2 * m;
  SL_CHECK(s->trials >= 1, SL_ERR_ARG, "Monte Carlo needs at least one trial");
  double *all = calloc((size_t)s->trials * row, sizeof(double));
  SL_CHECK(all, SL_ERR_NOMEM, "out of memory for %lld trials", (long long)s->trials);
  int err = SL_OK;
  for (int64_t i = rank; i < s->trials; i += size) {
    err = sl_theory_mc_trial(s, i, all + i * row, all + i * row + m);
    if (err) break;
  }
  int worst = err;
  MPI_Allreduce(&err, &worst, 1, MPI_INT, MPI_MAX, comm);
  if (worst != SL_OK) {
    free(all);
    return err ? err : SL_ERROR(worst, "another rank failed in the Monte Carlo");
  }
  /* Disjoint rows, zeros elsewhere: the sum is exact whatever the reduction order. */
  int e = MPI_Allreduce(MPI_IN_PLACE, all, (int)(s->trials * row), MPI_DOUBLE, MPI_SUM, comm);
  if (e != MPI_SUCCESS) {
    free(all);
    SL_CALL_MPI(e);
  }
  for (size_t j = 0; j < m; j++) {
    double rs = 0, as = 0, rmin = INFINITY, amin = INFINITY;
    for (int64_t i = 0; i < s->trials; i++) {
      double r = all[i * row + j], a = all[i * row + m + j];
      rs += r, as += a;
      rmin = r < rmin ? r : rmin;
      amin = a < amin ? a : amin;
    }
    out->rand_mean[j] = rs / (double)s->trials;
    out->adv_mean[j] = as / (double)s->trials;
    out->rand_min[j] = rmin;
    out->adv_min[j] = amin;
  }
  free(all);
  return SL_OK;
}
