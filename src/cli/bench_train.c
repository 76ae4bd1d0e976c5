/* slingshot bench train: how fast the engine trains, against this machine's single-thread sgemm
 * and against the same models in PyTorch (bench/bench_train_torch.py). See bench/README.md.
 *
 * Legend: B batch, T context, C channels, H hidden, V vocabulary, L layers, NH heads, N params.
 * One step = B random windows of T+1 tokens from a random corpus (as train.c draws them), forward,
 * backward, AdamW; no gradient clipping (the torch twin does none either). tokens/s is taken from
 * the median step time, in both programs, so that another process on a shared machine spoils one
 * step rather than the figure; both programs time each step by the wall clock and by the process's
 * CPU time, and the comparison uses CPU time, which time spent descheduled by other processes
 * does not inflate. A run makes --rounds rounds, each one sgemm measurement, the slingshot models,
 * then the torch models, back to back; the summary gives the medians over the rounds. */
#include "slingshot/bench.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "slingshot/error.h"
#include "slingshot/model.h"
#include "slingshot/optim.h"
#include "slingshot/rng.h"
#include "slingshot/timer.h"

#define BENCH_CORPUS (1 << 16) /* tokens of the random corpus batches are drawn from */
#define BENCH_MAX_MODELS 3
#define BENCH_MAX_ROUNDS 15

typedef struct bench_model {
  const char *name; /* also the torch script's name for it */
  sl_model_spec spec;
  const char *flops; /* the formula of the model's flops_per_token */
} bench_model;

/* The three configurations of issue 3. */
static const bench_model models[BENCH_MAX_MODELS] = {
    {"gpt",
     {.family = SL_MODEL_GPT,
      .V = 256,
      .T = 64,
      .B = 32,
      .C = 128,
      .n_layer = 2,
      .n_head = 4,
      .tied = 1},
     "6 N_no_embed + 6 L T C (Kaplan et al. 2020)"},
    {"mlp",
     {.family = SL_MODEL_MLP, .V = 256, .T = 8, .B = 512, .C = 32, .H = 256, .n_layer = 1},
     "6 N_no_embed (Kaplan et al. 2020)"},
    {"gpt256",
     {.family = SL_MODEL_GPT,
      .V = 256,
      .T = 64,
      .B = 32,
      .C = 256,
      .n_layer = 2,
      .n_head = 4,
      .tied = 1},
     "6 N_no_embed + 6 L T C (Kaplan et al. 2020)"},
};

/* One model in one round. */
typedef struct bench_result {
  double tokens_per_s;     /* from the median wall-clock step */
  double cpu_tokens_per_s; /* from the median CPU-time step */
  double ms_step, ms_fwd, ms_bwd, ms_opt;
  size_t n_params;
  double torch_tokens_per_s, torch_cpu_tokens_per_s; /* 0: not measured */
  size_t torch_n_params;
} bench_result;

typedef struct bench_opts {
  int steps, warmup, rounds, use_torch;
  unsigned models; /* bit k: models[k] selected */
  const char *python, *script;
} bench_opts;

/* CPU seconds used by this process: time on a core, whatever else the machine runs. */
static double cpu_time(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The matmul FLOPs per predicted token of the standard dense algorithm, which the torch twin runs
 * (forward 2 per multiply-add, backward twice the forward), biases, norms and activations left
 * out:
 *   gpt: 3 (L 24 C^2 + 2 V C + L 4 T C)   (four weight matrices of 12 C^2 per block, the output
 *        head, and Q K^T and P V over the full T x T square of every head);
 *   mlp: 3 x 2 (T C H + H V).
 * The attention term is what the torch twin computes (it masks after the product); slingshot's
 * vector attention stops at the causal edge and does about half of it, so its figure in these
 * units is "dense-equivalent". So is the MLP's: with V < B it computes its first layer from
 * per-position tables emb . W1_t (src/model/mlp.c), 3 T V C H multiply-adds per step instead of
 * 3 B T C H, and its dense figure can exceed the sgemm rate. */
static double dense_flops_per_token(const sl_model_spec *s) {
  const double V = s->V, T = s->T, C = s->C, L = s->n_layer, H = s->H;
  if (s->family == SL_MODEL_GPT) return 3.0 * (L * 24.0 * C * C + 2.0 * V * C + L * 4.0 * T * C);
  return 3.0 * 2.0 * (T * C * H + H * V);
}

/* ---------------------------------------------------------------- sgemm */

/* Best single-thread cblas_sgemm rate over square sizes 512..1024, each timed for >= 0.3 s of
 * CPU time (the wall clock would count time spent descheduled on a shared machine). */
static int bench_sgemm(double *best) {
  const int sizes[3] = {512, 768, 1024};
  const size_t nmax = 1024;
  int err = SL_OK;
  float *a = NULL, *b = NULL, *c = NULL;
  a = sl_calloc(nmax * nmax, sizeof *a);
  b = sl_calloc(nmax * nmax, sizeof *b);
  c = sl_calloc(nmax * nmax, sizeof *c);
  SL_CHECK_GOTO(a && b && c, SL_ERR_NOMEM, done, "out of memory for 3 sgemm matrices of %zu^2",
                nmax);
  sl_rng r;
  sl_rng_seed(&r, 5);
  for (size_t i = 0; i < nmax * nmax; i++) {
    a[i] = (float)sl_rng_uniform(&r) - 0.5f;
    b[i] = (float)sl_rng_uniform(&r) - 0.5f;
  }
  *best = 0.0;
  printf("sgemm (cblas_sgemm, C = A B, single precision, one thread):");
  for (size_t k = 0; k < 3; k++) {
    const int n = sizes[k];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
    int reps = 0;
    const double t0 = cpu_time();
    double dt = 0.0;
    do {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
      reps++;
      dt = cpu_time() - t0;
    } while (dt < 0.3);
    const double gf = 2.0 * n * (double)n * n * reps / dt * 1e-9;
    printf("  %d: %.1f", n, gf);
    if (gf > *best) *best = gf;
  }
  printf(" GFLOP/s; best %.1f GFLOP/s\n", *best);
done:
  free(a);
  free(b);
  free(c);
  return err;
}

/* ---------------------------------------------------------------- slingshot training steps */

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The median of x[0..n) (sorts x). */
static double median(double *x, int n) {
  qsort(x, (size_t)n, sizeof *x, cmp_double);
  return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

static int bench_one(const bench_model *bm, const bench_opts *o, const int32_t *corpus,
                     bench_result *res) {
  int err = SL_OK;
  sl_model *m = NULL;
  sl_optim *opt = NULL;
  int32_t *rows = NULL;
  double *step_s = NULL; /* [steps] seconds of each timed step */
  const int T = bm->spec.T, B = bm->spec.B;
  SL_CALL_GOTO(sl_model_create(&bm->spec, &m), done);
  sl_rng rng;
  sl_rng_seed(&rng, 1);
  SL_CALL_GOTO(sl_model_init(m, &rng), done);
  const sl_optim_spec os = {
      .kind = SL_OPTIM_ADAMW, .beta1 = 0.9, .beta2 = 0.99, .eps = 1e-8, .weight_decay = 0.1};
  SL_CALL_GOTO(sl_optim_create(&os, m->n_params, &opt), done);
  SL_ALLOC(rows, (size_t)B * (size_t)(T + 1));

  double t_fwd = 0, t_bwd = 0, t_opt = 0, t_all = 0;
  SL_ALLOC(step_s, 2 * (size_t)o->steps); /* wall, then CPU */
  double *cpu_s = step_s + o->steps;
  for (int s = 0; s < o->warmup + o->steps; s++) {
    const double c0 = cpu_time();
    const double t0 = sl_wtime();
    for (int b = 0; b < B; b++) {
      const uint64_t start = sl_rng_below(&rng, (uint64_t)(BENCH_CORPUS - T));
      memcpy(rows + (size_t)b * (T + 1), corpus + start, sizeof(int32_t) * (size_t)(T + 1));
    }
    float loss;
    SL_CALL_GOTO(sl_model_forward(m, rows, B, &loss), done);
    const double t1 = sl_wtime();
    SL_CALL_GOTO(sl_model_backward(m, rows, B), done);
    const double t2 = sl_wtime();
    SL_CALL_GOTO(sl_optim_step(opt, m->params, m->grads, m->decay, 3e-3), done);
    const double t3 = sl_wtime();
    const double c3 = cpu_time();
    if (s >= o->warmup) {
      cpu_s[s - o->warmup] = c3 - c0;
      t_fwd += t1 - t0;
      t_bwd += t2 - t1;
      t_opt += t3 - t2;
      t_all += t3 - t0;
      step_s[s - o->warmup] = t3 - t0;
    }
  }
  const double tokens = (double)o->steps * B * m->targets_per_row;
  res->n_params = m->n_params;
  /* The median step: robust to a step slowed by another process on a shared machine. */
  const double med = median(step_s, o->steps), cmed = median(cpu_s, o->steps);
  res->tokens_per_s = tokens / o->steps / med;
  res->cpu_tokens_per_s = tokens / o->steps / cmed;
  res->ms_step = 1e3 * med;
  res->ms_fwd = 1e3 * t_fwd / o->steps;
  res->ms_bwd = 1e3 * t_bwd / o->steps;
  res->ms_opt = 1e3 * t_opt / o->steps;
  printf("  %-7s median %.2f ms/step wall, %.2f ms CPU (mean wall %.2f: forward+batch %.2f, "
         "backward %.2f, AdamW %.2f): %.0f tokens/s wall, %.0f per CPU second\n",
         bm->name, res->ms_step, 1e3 * cmed, 1e3 * t_all / o->steps, res->ms_fwd, res->ms_bwd,
         res->ms_opt, res->tokens_per_s, res->cpu_tokens_per_s);
done:
  sl_optim_destroy(opt);
  sl_model_destroy(m);
  free(rows);
  free(step_s);
  return err;
}

/* ---------------------------------------------------------------- PyTorch */

/* Appends s to buf single-quoted for /bin/sh. */
static int shell_quote(char *buf, size_t size, const char *s) {
  size_t n = strlen(buf);
  if (n + 1 >= size) return -1;
  buf[n++] = '\'';
  for (const char *p = s; *p; p++) {
    const char *piece = *p == '\'' ? "'\\''" : NULL;
    const size_t len = piece ? 4 : 1;
    if (n + len + 2 >= size) return -1;
    if (piece)
      memcpy(buf + n, piece, len);
    else
      buf[n] = *p;
    n += len;
  }
  buf[n++] = '\'';
  buf[n] = '\0';
  return 0;
}

/* The torch script: --script, else SLINGSHOT_SOURCE_DIR/bench/..., else ./bench/...; NULL if none
 * is readable. */
static const char *torch_script(const bench_opts *o) {
  if (o->script) return access(o->script, R_OK) == 0 ? o->script : NULL;
#ifdef SLINGSHOT_SOURCE_DIR
  static const char compiled[] = SLINGSHOT_SOURCE_DIR "/bench/bench_train_torch.py";
  if (access(compiled, R_OK) == 0) return compiled;
#endif
  static const char local[] = "bench/bench_train_torch.py";
  return access(local, R_OK) == 0 ? local : NULL;
}

/* Runs the torch twin on the selected models and fills res[k].torch_*; prints why when it cannot
 * (then returns 0, and later rounds skip it). Never an error: without torch the benchmark
 * reports slingshot's figures only. */
static int bench_torch(const bench_opts *o, bench_result *res, int verbose) {
  if (!o->use_torch) {
    if (verbose) printf("PyTorch comparison skipped (--no-torch).\n");
    return 0;
  }
  if (access(o->python, X_OK) != 0) {
    printf("PyTorch comparison skipped: %s is not an executable (pass --torch PYTHON).\n",
           o->python);
    return 0;
  }
  const char *script = torch_script(o);
  if (!script) {
    printf("PyTorch comparison skipped: bench/bench_train_torch.py not found%s (pass --script "
           "PATH).\n",
           o->script ? " at the --script path" : "");
    return 0;
  }
  char cmd[8192] = "OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 ";
  char tail[256];
  int tl = snprintf(tail, sizeof tail, " --steps %d --warmup %d", o->steps, o->warmup);
  for (size_t k = 0; k < BENCH_MAX_MODELS; k++)
    if (o->models >> k & 1u)
      tl += snprintf(tail + tl, sizeof tail - (size_t)tl, " %s", models[k].name);
  snprintf(tail + tl, sizeof tail - (size_t)tl, " 2>&1");
  if (shell_quote(cmd, sizeof cmd, o->python) || strlen(cmd) + 2 >= sizeof cmd) {
    printf("PyTorch comparison skipped: the python path is too long.\n");
    return 0;
  }
  strcat(cmd, " ");
  if (shell_quote(cmd, sizeof cmd, script) || strlen(cmd) + strlen(tail) + 1 >= sizeof cmd) {
    printf("PyTorch comparison skipped: the script path is too long.\n");
    return 0;
  }
  strcat(cmd, tail);
  if (verbose) printf("PyTorch (one thread): %s %s\n", o->python, script);
  fflush(stdout);
  FILE *p = popen(cmd, "r");
  if (!p) {
    printf("PyTorch comparison skipped: cannot start %s\n", o->python);
    return 0;
  }
  char line[1024];
  int got = 0;
  while (fgets(line, sizeof line, p)) {
    char name[32];
    double tps = 0.0, ctps = 0.0;
    unsigned long long np = 0;
    if (strncmp(line, "NOTORCH", 7) == 0) {
      line[strcspn(line, "\n")] = '\0';
      printf("PyTorch comparison skipped: %s cannot import torch (%s)\n", o->python,
             line[7] ? line + 8 : "no reason given");
      continue;
    }
    if (sscanf(line, "RESULT name=%31s tokens_per_s=%lf cpu_tokens_per_s=%lf %*s n_params=%llu",
               name, &tps, &ctps, &np) == 4) {
      for (size_t k = 0; k < BENCH_MAX_MODELS; k++)
        if (strcmp(name, models[k].name) == 0) {
          res[k].torch_tokens_per_s = tps;
          res[k].torch_cpu_tokens_per_s = ctps;
          res[k].torch_n_params = (size_t)np;
          got++;
        }
    }
    printf("  torch %s", line + (strncmp(line, "RESULT ", 7) == 0 ? 7 : 0));
  }
  const int status = pclose(p);
  if (got == 0 && status != 0)
    printf("PyTorch comparison failed: the script exited with status %d\n", status);
  for (size_t k = 0; k < BENCH_MAX_MODELS; k++)
    if (res[k].torch_tokens_per_s > 0 && res[k].torch_n_params != res[k].n_params)
      printf("warning: the torch %s has %zu parameters, slingshot's %zu: the models differ\n",
             models[k].name, res[k].torch_n_params, res[k].n_params);
  return got;
}

/* ---------------------------------------------------------------- report */

/* Medians over the rounds of each figure, then the table against the targets. */
static void report(const bench_opts *o, bench_result res[][BENCH_MAX_MODELS],
                   const double *sgemm_r) {
  const int R = o->rounds;
  double x[BENCH_MAX_ROUNDS], sgemm_tmp[BENCH_MAX_ROUNDS];
  memcpy(sgemm_tmp, sgemm_r, (size_t)R * sizeof *sgemm_tmp);
  const double sgemm = median(sgemm_tmp, R);
  printf("\nsummary: medians over %d round%s (each round: sgemm, slingshot, torch, back to back);"
         " tokens/s per CPU second of one thread; sgemm %.1f GFLOP/s\n",
         R, R == 1 ? "" : "s", sgemm);
  printf("  %-7s %10s %10s %8s %8s %8s %8s %8s %8s   %s\n", "model", "tokens/s", "torch", "ratio",
         "wall", "dense", "%sgemm", "torch", "%sgemm", "target");
  printf("  %-7s %10s %10s %8s %8s %8s %8s %8s %8s\n", "", "", "tokens/s", "(CPU)", "ratio",
         "GFLOP/s", "", "GFLOP/s", "");
  for (size_t k = 0; k < BENCH_MAX_MODELS; k++) {
    if (!(o->models >> k & 1u)) continue;
    const bench_model *bm = &models[k];
    const double dense = dense_flops_per_token(&bm->spec);
    int have_torch = 1;
    for (int r = 0; r < R; r++)
      have_torch &= res[r][k].torch_cpu_tokens_per_s > 0;
    for (int r = 0; r < R; r++)
      x[r] = res[r][k].cpu_tokens_per_s;
    const double tps = median(x, R);
    double ttps = 0, ratio = 0, wratio = 0;
    if (have_torch) {
      for (int r = 0; r < R; r++)
        x[r] = res[r][k].torch_cpu_tokens_per_s;
      ttps = median(x, R);
      for (int r = 0; r < R; r++)
        x[r] = res[r][k].cpu_tokens_per_s / res[r][k].torch_cpu_tokens_per_s;
      ratio = median(x, R);
      for (int r = 0; r < R; r++)
        x[r] = res[r][k].tokens_per_s / res[r][k].torch_tokens_per_s;
      wratio = median(x, R);
    }
    const double gf = dense * tps * 1e-9, tgf = dense * ttps * 1e-9;
    char tcol[4][24] = {"-", "-", "-", "-"};
    if (have_torch) {
      snprintf(tcol[0], sizeof tcol[0], "%.0f", ttps);
      snprintf(tcol[1], sizeof tcol[1], "%.2fx", ratio);
      snprintf(tcol[2], sizeof tcol[2], "%.2fx", wratio);
      snprintf(tcol[3], sizeof tcol[3], "%.1f", tgf);
    }
    printf("  %-7s %10.0f %10s %8s %8s %8.1f %7.0f%% %8s %7.0f%%   ", bm->name, tps, tcol[0],
           tcol[1], tcol[2], gf, 100.0 * gf / sgemm, tcol[3], have_torch ? 100.0 * tgf / sgemm : 0);
    if (k == 2) {
      /* the figure: the model's own flops_per_token (Kaplan's 6N + 6LTC) */
      sl_model *m = NULL;
      double fpt = 0.0;
      if (sl_model_create(&bm->spec, &m) == SL_OK) fpt = m->flops_per_token;
      sl_model_destroy(m);
      sl_error_clear();
      const double frac = fpt * tps * 1e-9 / sgemm;
      printf(">= 50%% of sgemm in model FLOPs (%s): %.0f%%, %s\n", bm->flops, 100.0 * frac,
             frac >= 0.5 ? "met" : "MISSED");
    } else {
      const double want = k == 0 ? 1.5 : 2.0;
      if (!have_torch)
        printf(">= %.1fx torch: no torch\n", want);
      else
        printf(">= %.1fx torch: %s; it needs %.0f%% of sgemm in dense FLOPs\n", want,
               ratio >= want ? "met" : "MISSED", 100.0 * want * tgf / sgemm);
    }
  }
  printf("  dense GFLOP/s: the matmul FLOPs of the standard algorithm (gpt: 3 (24 L C^2 + 2 V C + "
         "4 L T C), mlp: 6 (T C H + H V) per token) per CPU second; a target ratio r needs r times "
         "torch's rate in these units. slingshot's attention and its MLP first layer (from "
         "per-position tables when V < B) do fewer FLOPs than that: dense-equivalent.\n");
}

static void usage(void) {
  printf("usage: slingshot bench train [--steps S] [--warmup W] [--rounds R] [--model NAME]...\n"
         "                             [--torch PYTHON] [--script PATH] [--no-torch]\n\n"
         "Measures this machine's single-thread sgemm rate, then times training steps (forward,\n"
         "backward, AdamW, after W warmup steps) of the three models of issue 3 (gpt, mlp,\n"
         "gpt256) and, when PYTHON (default /usr/bin/python3) imports torch, the same models in\n"
         "PyTorch on one thread (bench/bench_train_torch.py); R rounds of that, back to back.\n"
         "Prints tokens/s (median step, wall clock and CPU time), the ratio to torch, dense\n"
         "GFLOP/s of both against the sgemm rate, and the medians over the rounds. Run it with\n"
         "OPENBLAS_NUM_THREADS=1.\n\n"
         "  --steps S       timed steps per model (default 20)\n"
         "  --warmup W      untimed steps first (default 3)\n"
         "  --rounds R      rounds, 1 to %d (default 3)\n"
         "  --model NAME    only this model (gpt, mlp or gpt256; repeatable; default all)\n"
         "  --torch PYTHON  python with torch (default /usr/bin/python3)\n"
         "  --script PATH   the torch script (default: from the source tree)\n"
         "  --no-torch      slingshot figures only\n",
         BENCH_MAX_ROUNDS);
}

static int parse_int(const char *opt, const char *s, int lo, int hi, int *out) {
  char *end = NULL;
  const long v = s ? strtol(s, &end, 10) : 0;
  SL_CHECK(s && *s && *end == '\0' && v >= lo && v <= hi, SL_ERR_ARG,
           "%s needs an integer from %d to %d, got '%s'", opt, lo, hi, s ? s : "(nothing)");
  *out = (int)v;
  return SL_OK;
}

static int parse_args(int argc, char **argv, bench_opts *o, int *help) {
  *o = (bench_opts){
      .steps = 20, .warmup = 3, .rounds = 3, .use_torch = 1, .python = "/usr/bin/python3"};
  unsigned chosen = 0;
  *help = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      *help = 1;
    } else if (!strcmp(a, "--steps")) {
      SL_CALL(parse_int(a, next, 1, 1000000, &o->steps));
      i++;
    } else if (!strcmp(a, "--warmup")) {
      SL_CALL(parse_int(a, next, 0, 1000000, &o->warmup));
      i++;
    } else if (!strcmp(a, "--rounds")) {
      SL_CALL(parse_int(a, next, 1, BENCH_MAX_ROUNDS, &o->rounds));
      i++;
    } else if (!strcmp(a, "--model")) {
      size_t k = 0;
      while (k < BENCH_MAX_MODELS && !(next && !strcmp(next, models[k].name)))
        k++;
      SL_CHECK(k < BENCH_MAX_MODELS, SL_ERR_ARG, "--model needs gpt, mlp or gpt256, got '%s'",
               next ? next : "(nothing)");
      chosen |= 1u << k;
      i++;
    } else if (!strcmp(a, "--torch") || !strcmp(a, "--script")) {
      SL_CHECK(next, SL_ERR_ARG, "%s needs a path", a);
      if (!strcmp(a, "--torch"))
        o->python = next;
      else
        o->script = next;
      i++;
    } else if (!strcmp(a, "--no-torch")) {
      o->use_torch = 0;
    } else {
      return SL_ERROR(SL_ERR_ARG,
                      "unknown option '%s' for bench train (see slingshot bench train --help)", a);
    }
  }
  o->models = chosen ? chosen : (1u << BENCH_MAX_MODELS) - 1;
  return SL_OK;
}

static int bench_rank0(const bench_opts *o) {
  int err = SL_OK;
  int32_t *corpus = NULL;
  const char *threads = getenv("OPENBLAS_NUM_THREADS");
  if (!threads || strcmp(threads, "1") != 0)
    printf("warning: OPENBLAS_NUM_THREADS is %s%s%s, not 1: the figures are meant for one thread "
           "(run with OPENBLAS_NUM_THREADS=1)\n",
           threads ? "'" : "", threads ? threads : "unset", threads ? "'" : "");
  printf("slingshot bench train: %d round%s of %d timed steps per model after %d warmup steps\n",
         o->rounds, o->rounds == 1 ? "" : "s", o->steps, o->warmup);
  for (size_t k = 0; k < BENCH_MAX_MODELS; k++) {
    if (!(o->models >> k & 1u)) continue;
    const sl_model_spec *sp = &models[k].spec;
    printf("  %-7s %s V %d, T %d, B %d, C %d, %s %d%s: %.0f dense FLOP/token\n", models[k].name,
           sl_model_family_name(sp->family), sp->V, sp->T, sp->B, sp->C,
           sp->family == SL_MODEL_GPT ? "layers" : "hidden",
           sp->family == SL_MODEL_GPT ? sp->n_layer : sp->H,
           sp->family == SL_MODEL_GPT ? ", 4 heads, tied head" : " (tanh)",
           dense_flops_per_token(sp));
  }
  SL_ALLOC(corpus, BENCH_CORPUS);
  sl_rng r;
  sl_rng_seed(&r, 2);
  for (size_t i = 0; i < BENCH_CORPUS; i++)
    corpus[i] = (int32_t)sl_rng_below(&r, 256);
  bench_result res[BENCH_MAX_ROUNDS][BENCH_MAX_MODELS];
  double sgemm[BENCH_MAX_ROUNDS];
  memset(res, 0, sizeof res);
  int torch_ok = o->use_torch;
  for (int round = 0; round < o->rounds; round++) {
    printf("\nround %d of %d\n", round + 1, o->rounds);
    SL_CALL_GOTO(bench_sgemm(&sgemm[round]), done);
    for (size_t k = 0; k < BENCH_MAX_MODELS; k++) {
      if (!(o->models >> k & 1u)) continue;
      SL_CALL_GOTO(bench_one(&models[k], o, corpus, &res[round][k]), done);
      fflush(stdout);
    }
    bench_opts ot = *o;
    ot.use_torch = torch_ok;
    if (!bench_torch(&ot, res[round], round == 0)) torch_ok = 0;
  }
  report(o, res, sgemm);
done:
  free(corpus);
  fflush(stdout);
  return err;
}

int sl_bench_train(int argc, char **argv, MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  bench_opts o;
  int help = 0;
  int err = parse_args(argc, argv, &o, &help); /* every rank parses: all agree on a bad option */
  if (err == SL_OK && rank == 0) {
    if (help)
      usage();
    else
      err = bench_rank0(&o);
  }
  int worst = err;
  MPI_Allreduce(&err, &worst, 1, MPI_INT, MPI_MAX, comm);
  if (err == SL_OK && worst != SL_OK)
    return SL_ERROR(worst, "bench train failed on rank 0 (see its message)");
  return err;
}
