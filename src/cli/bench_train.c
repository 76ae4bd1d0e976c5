/* slingshot bench train: how fast the engine trains, against this machine's single-thread sgemm
 * and against the same models in PyTorch (bench/bench_train_torch.py). See bench/README.md.
 *
 * Legend: B batch, T context, C channels, H hidden, V vocabulary, L layers, NH heads, N params.
 * One step = B random windows of T+1 tokens from a random corpus (as train.c draws them), forward,
 * backward, AdamW; no gradient clipping (the torch twin does none either). tokens/s is taken from
 * the median step time, in both programs, so that another process on a shared machine spoils one
 * step rather than the figure. */
#include "slingshot/bench.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "slingshot/error.h"
#include "slingshot/model.h"
#include "slingshot/optim.h"
#include "slingshot/rng.h"
#include "slingshot/timer.h"

#define BENCH_CORPUS (1 << 16) /* tokens of the random corpus batches are drawn from */
#define BENCH_MAX_MODELS 3

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

typedef struct bench_result {
  double tokens_per_s, ms_step, ms_fwd, ms_bwd, ms_opt, gflops;
  size_t n_params;
  double torch_tokens_per_s; /* 0: not measured */
  size_t torch_n_params;
} bench_result;

typedef struct bench_opts {
  int steps, warmup, use_torch;
  const char *python, *script;
} bench_opts;

/* ---------------------------------------------------------------- sgemm */

/* Best single-thread cblas_sgemm rate over square sizes 512..1024, each timed for >= 0.3 s. */
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
    const double t0 = sl_wtime();
    double dt = 0.0;
    do {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
      reps++;
      dt = sl_wtime() - t0;
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
  SL_ALLOC(step_s, (size_t)o->steps);
  for (int s = 0; s < o->warmup + o->steps; s++) {
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
    if (s >= o->warmup) {
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
  qsort(step_s, (size_t)o->steps, sizeof *step_s, cmp_double);
  const double med =
      o->steps % 2 ? step_s[o->steps / 2] : 0.5 * (step_s[o->steps / 2 - 1] + step_s[o->steps / 2]);
  res->tokens_per_s = tokens / o->steps / med;
  res->ms_step = 1e3 * med;
  res->ms_fwd = 1e3 * t_fwd / o->steps;
  res->ms_bwd = 1e3 * t_bwd / o->steps;
  res->ms_opt = 1e3 * t_opt / o->steps;
  res->gflops = m->flops_per_token * res->tokens_per_s * 1e-9;
  printf("%-7s N=%zu (no embed %zu), %d tokens/step, %.0f FLOP/token = %s\n", bm->name, m->n_params,
         m->n_params_no_embed, B * m->targets_per_row, m->flops_per_token, bm->flops);
  printf("        median %.2f ms/step (mean %.2f: forward+batch %.2f, backward %.2f, AdamW %.2f): "
         "%.0f tokens/s, %.1f GFLOP/s\n",
         res->ms_step, 1e3 * t_all / o->steps, res->ms_fwd, res->ms_bwd, res->ms_opt,
         res->tokens_per_s, res->gflops);
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

/* Runs the torch twin and fills res[k].torch_*; prints why when it cannot. Never an error: without
 * torch the benchmark reports slingshot's figures only. */
static void bench_torch(const bench_opts *o, bench_result *res) {
  if (!o->use_torch) {
    printf("\nPyTorch comparison skipped (--no-torch).\n");
    return;
  }
  if (access(o->python, X_OK) != 0) {
    printf("\nPyTorch comparison skipped: %s is not an executable (pass --torch PYTHON).\n",
           o->python);
    return;
  }
  const char *script = torch_script(o);
  if (!script) {
    printf("\nPyTorch comparison skipped: bench/bench_train_torch.py not found%s (pass --script "
           "PATH).\n",
           o->script ? " at the --script path" : "");
    return;
  }
  char cmd[8192] = "OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 ";
  char tail[128];
  snprintf(tail, sizeof tail, " --steps %d --warmup %d gpt mlp gpt256 2>&1", o->steps, o->warmup);
  if (shell_quote(cmd, sizeof cmd, o->python) || strlen(cmd) + 2 >= sizeof cmd) {
    printf("\nPyTorch comparison skipped: the python path is too long.\n");
    return;
  }
  strcat(cmd, " ");
  if (shell_quote(cmd, sizeof cmd, script) || strlen(cmd) + strlen(tail) + 1 >= sizeof cmd) {
    printf("\nPyTorch comparison skipped: the script path is too long.\n");
    return;
  }
  strcat(cmd, tail);
  printf("\nPyTorch (one thread): %s %s\n", o->python, script);
  fflush(stdout);
  FILE *p = popen(cmd, "r");
  if (!p) {
    printf("PyTorch comparison skipped: cannot start %s\n", o->python);
    return;
  }
  char line[1024];
  int got = 0;
  while (fgets(line, sizeof line, p)) {
    char name[32];
    double tps = 0.0;
    unsigned long long np = 0;
    if (strncmp(line, "NOTORCH", 7) == 0) {
      line[strcspn(line, "\n")] = '\0';
      printf("PyTorch comparison skipped: %s cannot import torch (%s)\n", o->python,
             line[7] ? line + 8 : "no reason given");
      continue;
    }
    if (sscanf(line, "RESULT name=%31s tokens_per_s=%lf %*s n_params=%llu", name, &tps, &np) == 3) {
      for (size_t k = 0; k < BENCH_MAX_MODELS; k++)
        if (strcmp(name, models[k].name) == 0) {
          res[k].torch_tokens_per_s = tps;
          res[k].torch_n_params = (size_t)np;
          got++;
        }
    }
    printf("  %s", line);
  }
  const int status = pclose(p);
  if (got == 0 && status != 0)
    printf("PyTorch comparison failed: the script exited with status %d\n", status);
  for (size_t k = 0; k < BENCH_MAX_MODELS; k++)
    if (res[k].torch_tokens_per_s > 0 && res[k].torch_n_params != res[k].n_params)
      printf("warning: the torch %s has %zu parameters, slingshot's %zu: the models differ\n",
             models[k].name, res[k].torch_n_params, res[k].n_params);
}

/* ---------------------------------------------------------------- report */

static void report(const bench_result *res, double sgemm) {
  printf("\nsummary (targets of issue 3)\n");
  printf("  %-7s %12s %12s %9s %8s %9s   %s\n", "model", "tokens/s", "torch tok/s", "GFLOP/s",
         "%sgemm", "vs torch", "target");
  for (size_t k = 0; k < BENCH_MAX_MODELS; k++) {
    const bench_result *r = &res[k];
    const double frac = sgemm > 0 ? r->gflops / sgemm : 0.0;
    char torch[32] = "-", ratio[32] = "-";
    const double x = r->torch_tokens_per_s > 0 ? r->tokens_per_s / r->torch_tokens_per_s : 0.0;
    if (x > 0) {
      snprintf(torch, sizeof torch, "%.0f", r->torch_tokens_per_s);
      snprintf(ratio, sizeof ratio, "%.2fx", x);
    }
    const char *target, *verdict;
    if (k == 2) {
      target = ">= 50% of sgemm";
      verdict = frac >= 0.5 ? "met" : "MISSED";
    } else {
      target = k == 0 ? ">= 1.5x torch" : ">= 2x torch";
      verdict = x <= 0 ? "no torch" : x >= (k == 0 ? 1.5 : 2.0) ? "met" : "MISSED";
    }
    printf("  %-7s %12.0f %12s %9.1f %7.1f%% %9s   %s: %s\n", models[k].name, r->tokens_per_s,
           torch, r->gflops, 100.0 * frac, ratio, target, verdict);
  }
}

static void usage(void) {
  printf("usage: slingshot bench train [--steps S] [--warmup W] [--torch PYTHON] [--script PATH]\n"
         "                             [--no-torch]\n\n"
         "Measures this machine's single-thread sgemm rate, then times training steps (forward,\n"
         "backward, AdamW, after W warmup steps) of the three models of issue 3 and prints\n"
         "tokens/s, model GFLOP/s and their fraction of the sgemm rate. When PYTHON (default\n"
         "/usr/bin/python3) imports torch, runs bench/bench_train_torch.py (the same models in\n"
         "PyTorch on one thread) and prints the ratio. Run it with OPENBLAS_NUM_THREADS=1.\n\n"
         "  --steps S       timed steps per model (default 20)\n"
         "  --warmup W      untimed steps first (default 3)\n"
         "  --torch PYTHON  python with torch (default /usr/bin/python3)\n"
         "  --script PATH   the torch script (default: from the source tree)\n"
         "  --no-torch      slingshot figures only\n");
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
  *o = (bench_opts){.steps = 20, .warmup = 3, .use_torch = 1, .python = "/usr/bin/python3"};
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
  printf("slingshot bench train: %d timed steps per model after %d warmup steps\n", o->steps,
         o->warmup);
  double sgemm = 0.0;
  SL_CALL(bench_sgemm(&sgemm));
  SL_ALLOC(corpus, BENCH_CORPUS);
  sl_rng r;
  sl_rng_seed(&r, 2);
  for (size_t i = 0; i < BENCH_CORPUS; i++)
    corpus[i] = (int32_t)sl_rng_below(&r, 256);
  bench_result res[BENCH_MAX_MODELS];
  memset(res, 0, sizeof res);
  printf("\nslingshot (forward + backward + AdamW; one thread)\n");
  for (size_t k = 0; k < BENCH_MAX_MODELS; k++) {
    SL_CALL_GOTO(bench_one(&models[k], o, corpus, &res[k]), done);
    fflush(stdout);
  }
  bench_torch(o, res);
  report(res, sgemm);
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
