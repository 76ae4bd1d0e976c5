/* slingshot theory: Arora and Goyal's skill-theorem curves by exact evaluation, k'-tuple curves
 * by tensorisation, and a Monte Carlo of random skill graphs over MPI ranks (SCIENCE.md
 * section 1; include/slingshot/theory.h). */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gnuplot.h"
#include "options.h"
#include "slingshot/cli.h"
#include "slingshot/config.h"
#include "slingshot/error.h"
#include "slingshot/lang.h"
#include "slingshot/rng.h"
#include "slingshot/log.h"
#include "slingshot/theory.h"

#define MAX_LIST 16

static void theory_usage(FILE *f) {
  fprintf(f,
          "usage: slingshot theory [CONFIG] [-o theory.h5] [--force] [--results FILE]\n"
          "                        [--report DIR] [--theta LIST] [--k LIST] [--tuples K]\n"
          "                        [--betas N] [--skills N1] [--pieces N2] [--trials T]\n"
          "                        [--seed S] [--log-level L]\n\n"
          "Arora and Goyal's skill theorem (docs/SCIENCE.md section 1), in the union-bound form\n"
          "H(theta) < k theta KL(beta alpha || alpha) (bits): for each theta, k and beta, the\n"
          "smallest alpha gives the point (competence 1 - beta theta, fraction of skills\n"
          "1 - alpha). The paper's exact statement could not be read; this is the derivation it\n"
          "rests on. k'-tuple curves by tensorisation (the curve at theta of k'-tuples is the\n"
          "single-skill curve at k' theta). A Monte Carlo of random skill graphs (N1 skills, N2\n"
          "pieces of k skills) with random and greedy-adversarial failure sets of theta N2\n"
          "pieces shows how tight the bound is; its trials are spread over the MPI ranks and\n"
          "give the same numbers at any rank count.\n\n"
          "  CONFIG          an experiment (file or built-in name): skills N1 = language.S, k =\n"
          "                  every arity with weight > 0, K = skills.K, seed = seed\n"
          "  -o FILE         HDF5 output (default theory.h5; refused if it exists, --force)\n"
          "  --results FILE  also write /theory into this results file (replacing one there)\n"
          "  --report DIR    theory.md and figures (gnuplot) into DIR (created if missing)\n"
          "  --theta LIST    failure fractions, comma separated (default 0.05,0.1,0.2)\n"
          "  --k LIST        skills per piece (default 2,4,8,16)\n"
          "  --tuples K      tuple curves for k' = 1..K (default 3)\n"
          "  --betas N       log-spaced betas from 1.02 to 20 for the curves (default 96)\n"
          "  --skills N1     Monte Carlo skills (default 100)\n"
          "  --pieces N2     Monte Carlo pieces (default 2000)\n"
          "  --trials T      Monte Carlo trials (default 32; 0: no Monte Carlo)\n"
          "  --seed S        Monte Carlo seed (default 1): trial i uses stream (S, i)\n"
          "  --log-level L   error, warn, info (default: the Monte Carlo's progress on stderr)\n"
          "                  or debug\n");
}

static int parse_list(const char *opt, const char *s, double *v, int *n, double lo, double hi) {
  *n = 0;
  char *copy = strdup(s), *save = NULL;
  SL_CHECK(copy, SL_ERR_NOMEM, "out of memory");
  int err = SL_OK;
  for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    char *end;
    double x = strtod(t, &end);
    SL_CHECK_GOTO(end != t && *end == '\0' && x > lo && x < hi && *n < MAX_LIST, SL_ERR_ARG, done,
                  "%s takes up to %d comma-separated numbers in (%g, %g); got '%s'", opt, MAX_LIST,
                  lo, hi, s);
    v[(*n)++] = x;
  }
  SL_CHECK_GOTO(*n > 0, SL_ERR_ARG, done, "%s needs at least one number", opt);
done:
  free(copy);
  return err;
}

static int parse_int(const char *opt, const char *s, long lo, long hi, long *out) {
  char *end;
  long v = s ? strtol(s, &end, 10) : 0;
  SL_CHECK(s && end != s && *end == '\0' && v >= lo && v <= hi, SL_ERR_ARG,
           "%s takes an integer from %ld to %ld (got '%s')", opt, lo, hi, s ? s : "");
  *out = v;
  return SL_OK;
}

typedef struct theory_run {
  int n_theta, n_k, K, n_beta, n_mcb;
  double theta[MAX_LIST], k[MAX_LIST], beta[256], mcb[16];
  long n1, n2, trials;
  uint64_t seed;
  double *comp;       /* [n_theta x n_beta] 1 - beta theta */
  double *frac;       /* [n_k x n_theta x n_beta] 1 - alpha */
  double *maxc;       /* [n_k x n_theta] */
  double *tcomp;      /* [K x n_theta x n_beta] */
  double *tfrac;      /* [n_k x K x n_theta x n_beta] */
  double *mc[5];      /* rand_mean, rand_min, adv_mean, adv_min, bound: [n_k x n_theta x n_mcb] */
  int mc_k[MAX_LIST]; /* 1: the Monte Carlo ran for this k (integer, <= N1) */
} theory_run;

static const char *MC_NAME[5] = {"rand_mean", "rand_min", "adv_mean", "adv_min", "bound"};
static const char *MC_DESC[5] = {
    "mean over trials of the fraction of skills with competence >= 1 - beta theta when a "
    "uniformly random theta N2 pieces fail, [k, theta, beta]",
    "minimum over trials of the same, [k, theta, beta]",
    "mean over trials of the fraction of competent skills under the greedy adversarial failure "
    "set, [k, theta, beta]",
    "minimum over trials of the same, [k, theta, beta]",
    "the theorem's bound 1 - alpha at the same (k, theta, beta) (NaN: no valid alpha)"};

static int write_theory(hid_t loc, const theory_run *t) {
  size_t d1[1], d2[2], d3[3], d4[4];
#define W(path, rank, dims, v, u, desc) SL_CALL(sl_h5_write_f64(loc, path, rank, dims, v, u, desc))
  d1[0] = (size_t)t->n_theta;
  W("theta", 1, d1, t->theta, "1", "failure fractions theta (fraction of pieces answered wrongly)");
  d1[0] = (size_t)t->n_k;
  W("k", 1, d1, t->k, "skills", "skills per text piece k");
  d1[0] = (size_t)t->n_beta;
  W("beta", 1, d1, t->beta, "1", "competence slack beta: competence 1 - beta theta");
  d2[0] = (size_t)t->n_theta, d2[1] = (size_t)t->n_beta;
  W("competence", 2, d2, t->comp, "1", "1 - beta theta, [theta, beta]");
  d3[0] = (size_t)t->n_k, d3[1] = (size_t)t->n_theta, d3[2] = (size_t)t->n_beta;
  W("fraction", 3, d3, t->frac, "1",
    "1 - alpha: the fraction of skills the theorem guarantees competence 1 - beta theta, "
    "[k, theta, beta]; NaN where no alpha satisfies H(theta) < k theta KL(beta alpha||alpha)");
  d2[0] = (size_t)t->n_k, d2[1] = (size_t)t->n_theta;
  W("max_competence", 2, d2, t->maxc, "1",
    "supremum of the competence over valid points, 1 - theta 2^(H(theta)/(k theta)), [k, theta]");
  double kp[SL_MAX_ARITY];
  for (int j = 0; j < t->K; j++)
    kp[j] = j + 1;
  d1[0] = (size_t)t->K;
  W("tuple_k", 1, d1, kp, "skills", "tuple sizes k'");
  d3[0] = (size_t)t->K, d3[1] = (size_t)t->n_theta, d3[2] = (size_t)t->n_beta;
  W("tuple_competence", 3, d3, t->tcomp, "1",
    "k'-tuple competence 1 - beta k' theta of the tensorised curve, [k', theta, beta]");
  d4[0] = (size_t)t->n_k, d4[1] = (size_t)t->K, d4[2] = (size_t)t->n_theta;
  d4[3] = (size_t)t->n_beta;
  W("tuple_fraction", 4, d4, t->tfrac, "1",
    "fraction of k'-tuples at tuple_competence: the single-skill curve at k' theta "
    "(tensorisation), [k, k', theta, beta]");
  if (t->trials > 0) {
    hid_t g = H5Gcreate2(loc, "mc", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    SL_CALL_HDF5(g);
    int err = SL_OK;
    char desc[256];
    snprintf(desc, sizeof desc,
             "Monte Carlo of random skill graphs: %ld skills, %ld pieces of k distinct uniform "
             "skills, %ld trials, seed %llu (trial i: stream (seed, i, \"theory_mc\"))",
             t->n1, t->n2, t->trials, (unsigned long long)t->seed);
    SL_CALL_GOTO(sl_h5_attr_str(g, "description", desc), mc_done);
    SL_CALL_GOTO(sl_h5_attr_f64(g, "skills", (double)t->n1), mc_done);
    SL_CALL_GOTO(sl_h5_attr_f64(g, "pieces", (double)t->n2), mc_done);
    SL_CALL_GOTO(sl_h5_attr_f64(g, "trials", (double)t->trials), mc_done);
    SL_CALL_GOTO(sl_h5_attr_f64(g, "seed", (double)t->seed), mc_done);
    d1[0] = (size_t)t->n_mcb;
    SL_CALL_GOTO(sl_h5_write_f64(g, "beta", 1, d1, t->mcb, "1", "betas of the Monte Carlo"),
                 mc_done);
    d3[0] = (size_t)t->n_k, d3[1] = (size_t)t->n_theta, d3[2] = (size_t)t->n_mcb;
    for (int q = 0; q < 5; q++)
      SL_CALL_GOTO(sl_h5_write_f64(g, MC_NAME[q], 3, d3, t->mc[q], "1", MC_DESC[q]), mc_done);
  mc_done:
    H5Gclose(g);
    SL_CALL(err);
  }
#undef W
  SL_CALL(sl_h5_attr_str(loc, "description",
                         "Arora-Goyal skill theorem (docs/SCIENCE.md section 1), union-bound form "
                         "H(theta) < k theta KL(beta alpha || alpha) in bits, evaluated exactly; "
                         "k'-tuple curves by tensorisation; a reconstruction of the derivation, "
                         "the paper's exact statement could not be read"));
  return SL_OK;
}

/* Writes into a new file, or into group /theory of an existing results file; through a working
 * file renamed into place at the end (sl_h5_edit_begin), so a kill leaves path as it was. */
static int write_h5(const char *path, int into_results, const theory_run *t) {
  char work[4200];
  SL_CALL(sl_h5_edit_begin(path, into_results, work, sizeof work));
  hid_t f = into_results ? H5Fopen(work, H5F_ACC_RDWR, H5P_DEFAULT)
                         : H5Fcreate(work, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (f < 0)
    return sl_h5_edit_end(
        work, path,
        SL_ERROR(SL_ERR_IO, "cannot %s %s", into_results ? "open for writing" : "create", work));
  int err = SL_OK;
  hid_t g = -1;
  if (into_results) {
    if (H5Lexists(f, "/theory", H5P_DEFAULT) > 0) H5Ldelete(f, "/theory", H5P_DEFAULT);
    g = H5Gcreate2(f, "/theory", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    SL_CHECK_GOTO(g >= 0, SL_ERR_HDF5, done, "cannot create /theory in %s", path);
    SL_CALL_GOTO(write_theory(g, t), done);
  } else {
    SL_CALL_GOTO(sl_h5_attr_str(f, "format", "slingshot-theory"), done);
    SL_CALL_GOTO(write_theory(f, t), done);
  }
done:
  if (g >= 0) H5Gclose(g);
  herr_t closed = H5Fclose(f);
  if (err == SL_OK && closed < 0)
    err = SL_ERROR(SL_ERR_HDF5, "closing %s failed (disk full?)", work);
  return sl_h5_edit_end(work, path, err);
}

static int write_report(const char *dir, const char *h5, const theory_run *t) {
  char path[4096];
  snprintf(path, sizeof path, "%s/theory.dat", dir);
  FILE *d = fopen(path, "w");
  SL_CHECK(d, SL_ERR_IO, "cannot write %s", path);
  /* index i = theta i: columns competence, then fraction for each k. */
  for (int a = 0; a < t->n_theta; a++) {
    fprintf(d, "# theta %g: competence, fraction of skills for k =", t->theta[a]);
    for (int q = 0; q < t->n_k; q++)
      fprintf(d, " %g", t->k[q]);
    fprintf(d, "\n");
    for (int b = 0; b < t->n_beta; b++) {
      fprintf(d, "%.8g", t->comp[a * t->n_beta + b]);
      for (int q = 0; q < t->n_k; q++)
        fprintf(d, " %.8g", t->frac[((size_t)q * t->n_theta + a) * t->n_beta + b]);
      fprintf(d, "\n");
    }
    fprintf(d, "\n\n");
  }
  /* Monte Carlo blocks: index n_theta + a: competence, then adv_min and rand_min for each k. */
  for (int a = 0; a < t->n_theta && t->trials > 0; a++) {
    fprintf(d, "# Monte Carlo theta %g: competence, then per k adv_min rand_min bound\n",
            t->theta[a]);
    for (int b = 0; b < t->n_mcb; b++) {
      fprintf(d, "%.8g", 1 - t->mcb[b] * t->theta[a]);
      for (int q = 0; q < t->n_k; q++) {
        size_t i = ((size_t)q * t->n_theta + a) * t->n_mcb + b;
        fprintf(d, " %.8g %.8g %.8g", t->mc[3][i], t->mc[1][i], t->mc[4][i]);
      }
      fprintf(d, "\n");
    }
    fprintf(d, "\n\n");
  }
  fclose(d);
  snprintf(path, sizeof path, "%s/theory.gp", dir);
  FILE *g = fopen(path, "w");
  SL_CHECK(g, SL_ERR_IO, "cannot write %s", path);
  fprintf(g,
          "# Skill-theorem curves (docs/SCIENCE.md section 1). Written by slingshot theory (%s).\n"
          "# Redraw with `gnuplot theory.gp` in this folder.\n"
          "set terminal pngcairo size 1400,500 enhanced font \"DejaVu Sans,12\"\n"
          "set output \"theory.png\"\nset grid lw 0.5 lc rgb \"#d0d0d0\"\n"
          "set multiplot layout 1,%d title \"fraction of skills guaranteed competence (lines: "
          "theorem; points: Monte Carlo worst adversarial / worst random)\"\n"
          "set xrange [0:1]\nset yrange [0:1]\nset xlabel \"competence 1 - beta theta\"\n"
          "set ylabel \"fraction of skills\"\nset key bottom left\n",
          h5, t->n_theta);
  for (int a = 0; a < t->n_theta; a++) {
    fprintf(g, "set title \"theta = %g\"\nplot ", t->theta[a]);
    for (int q = 0; q < t->n_k; q++) {
      fprintf(g, "%s\"theory.dat\" index %d using 1:%d with lines lw 2 lc %d title \"k = %g\"",
              q ? ", " : "", a, 2 + q, q + 1, t->k[q]);
      if (t->trials > 0 && t->mc_k[q])
        fprintf(g,
                ", \"theory.dat\" index %d using 1:%d with points pt 7 lc %d notitle, "
                "\"theory.dat\" index %d using 1:%d with points pt 6 lc %d notitle",
                t->n_theta + a, 2 + 3 * q, q + 1, t->n_theta + a, 3 + 3 * q, q + 1);
    }
    fprintf(g, "\n");
  }
  fprintf(g, "unset multiplot\n");
  fclose(g);
  int have = sl_gnuplot_found(), rc = have ? sl_gnuplot_run(dir, "theory") : 127;
  snprintf(path, sizeof path, "%s/theory.md", dir);
  FILE *m = fopen(path, "w");
  SL_CHECK(m, SL_ERR_IO, "cannot write %s", path);
  fprintf(m,
          "# Skill theorem (Arora and Goyal), evaluated\n\n"
          "Union-bound form of docs/SCIENCE.md section 1: H(theta) < k theta KL(beta alpha || "
          "alpha), bits. For each beta the smallest alpha gives the point (competence 1 - beta "
          "theta, fraction 1 - alpha). A reconstruction of the derivation; the paper's exact "
          "statement could not be read. Numbers in `%s`.\n\n",
          h5);
  static const double show[] = {1.5, 2, 3, 4, 6, 8};
  fprintf(m, "## alpha (fraction of skills allowed below competence 1 - beta theta)\n\n"
             "| theta | k | sup competence |");
  for (size_t b = 0; b < sizeof show / sizeof *show; b++)
    fprintf(m, " beta %g |", show[b]);
  fprintf(m, "\n|---|---|---|");
  for (size_t b = 0; b < sizeof show / sizeof *show; b++)
    fprintf(m, "---|");
  fprintf(m, "\n");
  for (int a = 0; a < t->n_theta; a++)
    for (int q = 0; q < t->n_k; q++) {
      fprintf(m, "| %g | %g | %.3f |", t->theta[a], t->k[q], t->maxc[(size_t)q * t->n_theta + a]);
      for (size_t b = 0; b < sizeof show / sizeof *show; b++) {
        double al = sl_theory_alpha(t->theta[a], t->k[q], show[b]);
        if (isnan(al))
          fprintf(m, " none |");
        else
          fprintf(m, " %.3f |", al);
      }
      fprintf(m, "\n");
    }
  if (t->trials > 0) {
    fprintf(m,
            "\n## Monte Carlo: how tight\n\n%ld trials of random graphs, %ld skills, %ld pieces. "
            "Gap = competent fraction minus the bound 1 - alpha, over the betas where the bound "
            "exists: the smallest gap over trials and betas (negative would break the bound), "
            "and the mean gap.\n\n"
            "| theta | k | adversarial min gap | adversarial mean gap | random min gap | random "
            "mean gap | respected |\n|---|---|---|---|---|---|---|\n",
            t->trials, t->n1, t->n2);
    for (int a = 0; a < t->n_theta; a++)
      for (int q = 0; q < t->n_k; q++) {
        if (!t->mc_k[q]) continue;
        double amin = INFINITY, rmin = INFINITY, asum = 0, rsum = 0;
        int n = 0;
        for (int b = 0; b < t->n_mcb; b++) {
          size_t i = ((size_t)q * t->n_theta + a) * t->n_mcb + b;
          if (isnan(t->mc[4][i])) continue;
          double ga = t->mc[3][i] - t->mc[4][i], gr = t->mc[1][i] - t->mc[4][i];
          amin = ga < amin ? ga : amin, rmin = gr < rmin ? gr : rmin;
          asum += t->mc[2][i] - t->mc[4][i], rsum += t->mc[0][i] - t->mc[4][i];
          n++;
        }
        if (n == 0)
          fprintf(m, "| %g | %g | no valid beta | | | | |\n", t->theta[a], t->k[q]);
        else
          fprintf(m, "| %g | %g | %.3f | %.3f | %.3f | %.3f | %s |\n", t->theta[a], t->k[q], amin,
                  asum / n, rmin, rsum / n, amin >= 0 && rmin >= 0 ? "yes" : "**no**");
      }
  }
  if (rc == 0)
    fprintf(m, "\n![theorem curves and Monte Carlo](theory.png)\n\nScript "
               "[theory.gp](theory.gp), data [theory.dat](theory.dat).\n");
  else
    fprintf(m, "\nFigure not drawn (%s); script [theory.gp](theory.gp).\n",
            have ? "gnuplot failed, see gnuplot.log" : "gnuplot not found");
  fclose(m);
  return SL_OK;
}

int sl_cmd_theory(int argc, char **argv, MPI_Comm comm) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  static const char *const known[] = {"-o",       "--force",  "--results",   "--report", "--theta",
                                      "--k",      "--tuples", "--betas",     "--skills", "--pieces",
                                      "--trials", "--seed",   "--log-level", "--help",   "-h"};
  const size_t n_known = sizeof known / sizeof *known;
  const char *out = "theory.h5", *results = NULL, *report = NULL, *config = NULL;
  int force = 0;
  theory_run t;
  memset(&t, 0, sizeof t);
  t.n_theta = 3, t.theta[0] = 0.05, t.theta[1] = 0.1, t.theta[2] = 0.2;
  t.n_k = 4, t.k[0] = 2, t.k[1] = 4, t.k[2] = 8, t.k[3] = 16;
  t.K = 3, t.n_beta = 96, t.n1 = 100, t.n2 = 2000, t.trials = 32, t.seed = 1;
  int k_given = 0, K_given = 0, seed_given = 0, n1_given = 0;
  for (int i = 1; i < argc; i++) {
    char name[64];
    const char *val;
    sl_opt_split(argv[i], name, sizeof name, &val);
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
      if (rank == 0) theory_usage(stdout);
      return SL_OK;
    }
    if (name[0] != '-') {
      SL_CHECK(!config, SL_ERR_ARG, "theory takes one CONFIG (got '%s' and '%s')", config, name);
      config = argv[i];
      continue;
    }
    SL_CHECK(sl_opt_known(name, known, n_known), SL_ERR_ARG,
             "unknown option '%s' (did you mean '%s'?); see slingshot theory --help", name,
             sl_opt_nearest(name, known, n_known));
    if (strcmp(name, "--force") == 0) {
      force = 1;
      continue;
    }
    if (!val) {
      SL_CHECK(i + 1 < argc, SL_ERR_ARG, "%s needs a value; see slingshot theory --help", name);
      val = argv[++i];
    }
    long v;
    if (strcmp(name, "-o") == 0) {
      out = val;
    } else if (strcmp(name, "--results") == 0) {
      results = val;
    } else if (strcmp(name, "--report") == 0) {
      report = val;
    } else if (strcmp(name, "--theta") == 0) {
      SL_CALL(parse_list(name, val, t.theta, &t.n_theta, 0, 1));
    } else if (strcmp(name, "--k") == 0) {
      SL_CALL(parse_list(name, val, t.k, &t.n_k, 0, 1e6));
      k_given = 1;
    } else if (strcmp(name, "--tuples") == 0) {
      SL_CALL(parse_int(name, val, 1, SL_MAX_ARITY, &v));
      t.K = (int)v, K_given = 1;
    } else if (strcmp(name, "--betas") == 0) {
      SL_CALL(parse_int(name, val, 2, 256, &v));
      t.n_beta = (int)v;
    } else if (strcmp(name, "--skills") == 0) {
      SL_CALL(parse_int(name, val, 1, 1000000, &v));
      t.n1 = v, n1_given = 1;
    } else if (strcmp(name, "--pieces") == 0) {
      SL_CALL(parse_int(name, val, 1, 100000000, &v));
      t.n2 = v;
    } else if (strcmp(name, "--trials") == 0) {
      SL_CALL(parse_int(name, val, 0, 1000000, &v));
      t.trials = v;
    } else if (strcmp(name, "--seed") == 0) {
      SL_CALL(parse_int(name, val, 0, 2147483647L, &v));
      t.seed = (uint64_t)v, seed_given = 1;
    } else if (strcmp(name, "--log-level") == 0) {
      SL_CALL(sl_opt_log_level("theory", val));
    }
  }
  if (config) { /* the experiment's skills graph: N1 = S, k = its arities, K, seed */
    const char *text = sl_config_embedded(config);
    char *buf = NULL;
    if (!text) {
      SL_CALL(sl_config_read_file(config, &buf));
      text = buf;
    }
    sl_config cfg;
    int e = sl_config_parse(text, config, &cfg);
    free(buf);
    SL_CALL(e);
    if (!n1_given) t.n1 = cfg.language.S;
    if (!seed_given) t.seed = (uint64_t)cfg.seed;
    if (!K_given) t.K = cfg.skills.K;
    if (!k_given) {
      t.n_k = 0;
      for (int a = 0; a < cfg.language.k_max; a++)
        if (cfg.language.n_arity == 0 || cfg.language.arity_weights[a] > 0) t.k[t.n_k++] = a + 1;
    }
  }
  /* Betas: log-spaced from 1.02 to 20 for the curves; a coarse set for the Monte Carlo. */
  for (int b = 0; b < t.n_beta; b++)
    t.beta[b] = 1.02 * pow(20 / 1.02, (double)b / (t.n_beta - 1));
  static const double mcb[] = {1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10, 15, 20};
  t.n_mcb = (int)(sizeof mcb / sizeof *mcb);
  memcpy(t.mcb, mcb, sizeof mcb);

  int err = SL_OK;
  if (rank == 0 && access(out, F_OK) == 0 && !force)
    err = SL_ERROR(SL_ERR_IO, "%s already exists: pass --force to overwrite it, or -o NEW.h5", out);
  if (rank == 0 && !err && results) err = sl_h5_edit_check(results, "--results (/theory)");
  if (rank == 0 && !err && report) err = sl_report_prepare_dir(report);
  int worst = err;
  MPI_Allreduce(&err, &worst, 1, MPI_INT, MPI_MAX, comm);
  if (worst) return err ? err : SL_ERROR(worst, "rank 0 refused the options (it says why)");

  const size_t nb = (size_t)t.n_beta, nt = (size_t)t.n_theta, nk = (size_t)t.n_k;
  const size_t nm = nk * nt * (size_t)t.n_mcb;
  SL_ALLOC(t.comp, nt * nb);
  SL_ALLOC(t.frac, nk * nt * nb);
  SL_ALLOC(t.maxc, nk * nt);
  SL_ALLOC(t.tcomp, (size_t)t.K * nt * nb);
  SL_ALLOC(t.tfrac, nk * (size_t)t.K * nt * nb);
  for (int q = 0; q < 5; q++) {
    SL_ALLOC(t.mc[q], nm);
    for (size_t i = 0; i < nm; i++)
      t.mc[q][i] = NAN;
  }
  for (size_t q = 0; q < nk; q++)
    for (size_t a = 0; a < nt; a++) {
      sl_theory_curve(t.theta[a], t.k[q], t.beta, t.n_beta, t.comp + a * nb,
                      t.frac + (q * nt + a) * nb);
      t.maxc[q * nt + a] = sl_theory_max_competence(t.theta[a], t.k[q]);
      for (int j = 0; j < t.K; j++)
        sl_theory_tuple_curve(t.theta[a], t.k[q], j + 1, t.beta, t.n_beta,
                              t.tcomp + ((size_t)j * nt + a) * nb,
                              t.tfrac + ((q * (size_t)t.K + (size_t)j) * nt + a) * nb);
    }
  for (size_t q = 0; q < nk && t.trials > 0; q++) {
    int kq = (int)t.k[q];
    if (kq != t.k[q] || kq > t.n1) {
      if (rank == 0)
        sl_log(SL_LOG_WARN, "Monte Carlo skipped for k = %g (not an integer <= %ld skills)", t.k[q],
               t.n1);
      continue;
    }
    t.mc_k[q] = 1;
    double *buf[4];
    for (int r = 0; r < 4; r++)
      buf[r] = malloc(nt * (size_t)t.n_mcb * sizeof(double));
    SL_CHECK(buf[0] && buf[1] && buf[2] && buf[3], SL_ERR_NOMEM, "out of memory");
    sl_theory_mc_spec s = {.n1 = (int)t.n1,
                           .n2 = (int)t.n2,
                           .k = kq,
                           .n_theta = t.n_theta,
                           .n_beta = t.n_mcb,
                           .theta = t.theta,
                           .beta = t.mcb,
                           .trials = t.trials,
                           .seed = sl_seed_mix(t.seed, (uint64_t)kq)};
    sl_theory_mc_out o = {buf[0], buf[1], buf[2], buf[3]};
    if (rank == 0)
      sl_log(SL_LOG_INFO, "Monte Carlo k = %d: %ld trials of %ld skills x %ld pieces", kq, t.trials,
             t.n1, t.n2);
    err = sl_theory_mc(&s, comm, &o);
    for (size_t a = 0; a < nt && !err; a++)
      for (int b = 0; b < t.n_mcb; b++) {
        size_t i = (q * nt + a) * t.n_mcb + b, j = a * t.n_mcb + b;
        for (int r = 0; r < 4; r++)
          t.mc[r][i] = buf[r][j];
        double al = sl_theory_alpha(t.theta[a], t.k[q], t.mcb[b]);
        t.mc[4][i] = isnan(al) ? NAN : 1 - al;
      }
    for (int r = 0; r < 4; r++)
      free(buf[r]);
    if (err) break;
  }
  if (!err && rank == 0) {
    err = write_h5(out, 0, &t);
    if (!err && results) err = write_h5(results, 1, &t);
    if (!err && report) err = write_report(report, out, &t);
    if (!err) {
      printf("theory: %s", out);
      if (results) printf(", /theory in %s", results);
      if (report) printf(", report in %s/theory.md", report);
      printf("\n");
      for (size_t a = 0; a < nt; a++)
        for (size_t q = 0; q < nk; q++)
          printf("  theta %-5g k %-3g sup competence %.3f  alpha(beta=2) %.3f  alpha(beta=3) "
                 "%.3f\n",
                 t.theta[a], t.k[q], t.maxc[q * nt + a], sl_theory_alpha(t.theta[a], t.k[q], 2),
                 sl_theory_alpha(t.theta[a], t.k[q], 3));
    }
  }
  free(t.comp), free(t.frac), free(t.maxc), free(t.tcomp), free(t.tfrac);
  for (int q = 0; q < 5; q++)
    free(t.mc[q]);
  worst = err;
  MPI_Allreduce(&err, &worst, 1, MPI_INT, MPI_MAX, comm);
  if (worst && !err) return SL_ERROR(worst, "rank 0 failed writing the theory output");
  return err;
}
