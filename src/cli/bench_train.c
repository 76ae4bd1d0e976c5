/* slingshot bench train: how fast the engine trains, against this machine's single-thread sgemm
 * and against the same models in PyTorch (bench/bench_train_torch.py). See bench/README.md.
 *
 * Legend: B batch, T context, C channels, H hidden, V vocabulary, L layers, NH heads, N params.
 * One step = B random windows of T+1 tokens from a random corpus (as train.c draws them), forward,
 * backward, AdamW; no gradient clipping (the torch twin does none either). tokens/s is taken from
 * the median step time, in both programs, so that another process on a shared machine spoils one
 * step rather than the figure; both programs time each step by the wall clock and by the process's
 * CPU time, and the comparison uses CPU time, which time spent descheduled by other processes
 * does not inflate. The torch twin runs as a server (--serve) for the whole run, and for each
 * model the two programs take turns of BENCH_SEGMENT steps, so that both are timed under the same
 * load (this 2-vCPU VM's speed drifts by tens of percent over seconds; timing one program after
 * the other turned that drift into the ratio). A run makes --rounds rounds, each one sgemm
 * measurement, then each model in both programs; the summary gives the medians over the rounds. */
#include "slingshot/bench.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "options.h"
#include "slingshot/error.h"
#include "slingshot/model.h"
#include "slingshot/optim.h"
#include "slingshot/rng.h"
#include "slingshot/timer.h"

#define BENCH_CORPUS (1 << 16) /* tokens of the random corpus batches are drawn from */
#define BENCH_MAX_MODELS 3
#define BENCH_MAX_ROUNDS 15
#define BENCH_SEGMENT 5 /* steps one program makes before the other takes over */

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
  double ms_mm;     /* the median step's matmuls (wall ms, sl_mm_tally) */
  double mm_gflops; /* the matmuls' FLOPs per second of their wall time, over the timed steps */
  double mm_mflop;  /* the matmuls' FLOPs per step, millions (as executed) */
  double ms_torch;  /* torch's median step (wall ms); 0: not measured */
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

/* One program's model in one round: slingshot's side of the comparison. */
typedef struct side {
  const bench_model *bm;
  sl_model *m;
  sl_optim *opt;
  int32_t *rows;
  sl_rng rng;
  double t_fwd, t_bwd, t_opt; /* wall seconds summed over the timed steps */
  double mm_flops;            /* the matmuls' FLOPs summed over the timed steps */
  int timed;                  /* steps timed so far */
} side;

static void side_close(side *sd) {
  sl_optim_destroy(sd->opt);
  sl_model_destroy(sd->m);
  free(sd->rows);
  memset(sd, 0, sizeof *sd);
}

/* n training steps; wall, cpu and mm (NULL for warmup steps) get each step's seconds: wall clock,
 * CPU time, and the wall seconds of its matmuls (sl_mm_tally). */
static int side_steps(side *sd, const int32_t *corpus, int n, double *wall, double *cpu,
                      double *mm) {
  const int T = sd->bm->spec.T, B = sd->bm->spec.B;
  int err = SL_OK;
  for (int s = 0; s < n; s++) {
    if (wall) sl_mm_tally_start();
    const double c0 = cpu_time();
    const double t0 = sl_wtime();
    for (int b = 0; b < B; b++) {
      const uint64_t start = sl_rng_below(&sd->rng, (uint64_t)(BENCH_CORPUS - T));
      memcpy(sd->rows + (size_t)b * (T + 1), corpus + start, sizeof(int32_t) * (size_t)(T + 1));
    }
    float loss;
    SL_CALL_GOTO(sl_model_forward(sd->m, sd->rows, B, &loss), fail);
    const double t1 = sl_wtime();
    SL_CALL_GOTO(sl_model_backward(sd->m, sd->rows, B), fail);
    const double t2 = sl_wtime();
    SL_CALL_GOTO(sl_optim_step(sd->opt, sd->m->params, sd->m->grads, sd->m->decay, 3e-3), fail);
    const double t3 = sl_wtime();
    const double c3 = cpu_time();
    if (wall) {
      const sl_mm_tally mt = sl_mm_tally_stop();
      mm[s] = mt.seconds;
      sd->mm_flops += mt.flops;
      wall[s] = t3 - t0;
      cpu[s] = c3 - c0;
      sd->t_fwd += t1 - t0;
      sd->t_bwd += t2 - t1;
      sd->t_opt += t3 - t2;
      sd->timed++;
    }
  }
  return SL_OK;
fail:
  sl_mm_tally_stop();
  return err;
}

/* The model and AdamW of bm, initialised, after `warmup` untimed steps. */
static int side_open(const bench_model *bm, int warmup, const int32_t *corpus, side *sd) {
  memset(sd, 0, sizeof *sd);
  sd->bm = bm;
  int err = SL_OK;
  SL_CALL_GOTO(sl_model_create(&bm->spec, &sd->m), fail);
  sl_rng_seed(&sd->rng, 1);
  SL_CALL_GOTO(sl_model_init(sd->m, &sd->rng), fail);
  const sl_optim_spec os = {
      .kind = SL_OPTIM_ADAMW, .beta1 = 0.9, .beta2 = 0.99, .eps = 1e-8, .weight_decay = 0.1};
  SL_CALL_GOTO(sl_optim_create(&os, sd->m->n_params, &sd->opt), fail);
  sd->rows = sl_calloc((size_t)bm->spec.B * (size_t)(bm->spec.T + 1), sizeof *sd->rows);
  SL_CHECK_GOTO(sd->rows, SL_ERR_NOMEM, fail, "out of memory for a batch");
  SL_CALL_GOTO(side_steps(sd, corpus, warmup, NULL, NULL, NULL), fail);
  return SL_OK;
fail:
  side_close(sd);
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

/* The torch twin as a server (bench_train_torch.py --serve): slingshot sends it `build NAME` and
 * `steps K` and reads its answers, so that the two programs' steps alternate in short segments
 * and both see the same load on a shared machine. */
typedef struct torch_srv {
  pid_t pid;
  FILE *to, *from; /* its standard input and output */
  char version[64];
} torch_srv;

static void torch_stop(torch_srv *t) {
  if (t->to) {
    fputs("quit\n", t->to);
    fclose(t->to);
  }
  if (t->from) fclose(t->from);
  if (t->pid > 0) waitpid(t->pid, NULL, 0);
  memset(t, 0, sizeof *t);
}

/* Starts the server; 1 when it answers SERVING, else 0 after printing why (never an error:
 * without torch the benchmark reports slingshot's figures only). */
static int torch_start(const bench_opts *o, torch_srv *t) {
  memset(t, 0, sizeof *t);
  if (!o->use_torch) {
    printf("PyTorch comparison skipped (--no-torch).\n");
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
  char cmd[8192] = "OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 exec ";
  char tail[64];
  snprintf(tail, sizeof tail, " --serve --warmup %d", o->warmup);
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
  printf("PyTorch (one thread): %s %s --serve\n", o->python, script);
  fflush(stdout);
  int in[2], out[2];
  if (pipe(in) != 0) {
    printf("PyTorch comparison skipped: no pipe (%s)\n", strerror(errno));
    return 0;
  }
  if (pipe(out) != 0) {
    printf("PyTorch comparison skipped: no pipe (%s)\n", strerror(errno));
    close(in[0]), close(in[1]);
    return 0;
  }
  t->pid = fork();
  if (t->pid == 0) { /* the child: pipes on stdin and stdout, then the shell */
    dup2(in[0], 0);
    dup2(out[1], 1);
    close(in[0]), close(in[1]), close(out[0]), close(out[1]);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  close(in[0]), close(out[1]);
  if (t->pid < 0) {
    printf("PyTorch comparison skipped: cannot start %s (%s)\n", o->python, strerror(errno));
    close(in[1]), close(out[0]);
    t->pid = 0;
    return 0;
  }
  t->to = fdopen(in[1], "w");
  t->from = fdopen(out[0], "r");
  char line[1024] = "";
  if (!t->to || !t->from || !fgets(line, sizeof line, t->from)) {
    printf("PyTorch comparison skipped: %s exited without answering\n", o->python);
    torch_stop(t);
    return 0;
  }
  line[strcspn(line, "\n")] = '\0';
  if (strncmp(line, "SERVING torch=", 14) != 0) {
    printf("PyTorch comparison skipped: %s cannot import torch (%s)\n", o->python,
           strncmp(line, "NOTORCH", 7) == 0 && line[7] ? line + 8 : line);
    torch_stop(t);
    return 0;
  }
  snprintf(t->version, sizeof t->version, "%.63s", line + 14);
  return 1;
}

/* One request; 1 with the answer's first line in line (without its newline), else 0. */
static int torch_ask(torch_srv *t, const char *request, char *line, size_t size) {
  if (fprintf(t->to, "%s\n", request) < 0 || fflush(t->to) != 0) return 0;
  if (!fgets(line, (int)size, t->from)) return 0;
  line[strcspn(line, "\n")] = '\0';
  return 1;
}

/* build NAME (with its warmup steps); the torch model's parameter count, 0 on failure. */
static size_t torch_build(torch_srv *t, const char *name) {
  char req[64], line[1024];
  unsigned long long np = 0;
  snprintf(req, sizeof req, "build %s", name);
  if (!torch_ask(t, req, line, sizeof line) ||
      sscanf(line, "READY name=%*s n_params=%llu", &np) != 1)
    printf("PyTorch comparison failed: 'build %s' answered '%s'\n", name, line);
  return (size_t)np;
}

/* n timed torch steps into wall[0..n) and cpu[0..n); 1 on success. */
static int torch_steps(torch_srv *t, int n, double *wall, double *cpu) {
  char req[32];
  char line[4096]; /* n <= BENCH_SEGMENT numbers of ~12 characters, twice */
  snprintf(req, sizeof req, "steps %d", n);
  if (!torch_ask(t, req, line, sizeof line) || strncmp(line, "STEPS ", 6) != 0) return 0;
  char *p = line + 6, *end = NULL;
  for (int i = 0; i < 2 * n; i++) {
    if (i == n) { /* the separator between the wall and the CPU times */
      while (*p == ' ')
        p++;
      if (*p++ != ';') return 0;
    }
    const double v = strtod(p, &end);
    if (end == p) return 0;
    (i < n ? wall : cpu)[i % n] = v;
    p = end;
  }
  return 1;
}

/* ---------------------------------------------------------------- one model, both programs */

/* One round of one model: slingshot's and torch's steps alternate, BENCH_SEGMENT at a time, so
 * both are timed under the same load; tokens/s from each program's median step. ts NULL: no
 * torch. Fills res (torch figures 0 when torch was not there or failed). */
static int bench_pair(const bench_model *bm, const bench_opts *o, const int32_t *corpus,
                      torch_srv *ts, bench_result *res) {
  side sd;
  SL_CALL(side_open(bm, o->warmup, corpus, &sd));
  int err = SL_OK;
  const int n = o->steps;
  double *x = sl_calloc(5 * (size_t)n, sizeof *x);
  SL_CHECK_GOTO(x, SL_ERR_NOMEM, done, "out of memory for %d step times", n);
  double *sw = x, *sc = x + n, *tw = x + 2 * n, *tc = x + 3 * n, *mm = x + 4 * n;
  int torch = ts && (res->torch_n_params = torch_build(ts, bm->name)) > 0;
  for (int s = 0; s < n; s += BENCH_SEGMENT) {
    const int seg = n - s < BENCH_SEGMENT ? n - s : BENCH_SEGMENT;
    SL_CALL_GOTO(side_steps(&sd, corpus, seg, sw + s, sc + s, mm + s), done);
    if (torch && !torch_steps(ts, seg, tw + s, tc + s)) {
      printf("PyTorch comparison failed: no answer to 'steps %d' for %s\n", seg, bm->name);
      torch = 0;
    }
  }
  const double tokens = (double)bm->spec.B * sd.m->targets_per_row;
  res->n_params = sd.m->n_params;
  /* medians (sorting x in place, after the means below are taken) */
  res->ms_fwd = 1e3 * sd.t_fwd / n;
  res->ms_bwd = 1e3 * sd.t_bwd / n;
  res->ms_opt = 1e3 * sd.t_opt / n;
  double mm_sum = 0.0;
  for (int i = 0; i < n; i++)
    mm_sum += mm[i];
  res->mm_gflops = mm_sum > 0 ? 1e-9 * sd.mm_flops / mm_sum : 0.0;
  res->ms_mm = 1e3 * median(mm, n);
  res->mm_mflop = 1e-6 * sd.mm_flops / n;
  const double med = median(sw, n), cmed = median(sc, n);
  res->tokens_per_s = tokens / med;
  res->cpu_tokens_per_s = tokens / cmed;
  res->ms_step = 1e3 * med;
  printf("  %-7s median %.2f ms/step wall, %.2f ms CPU (mean forward+batch %.2f, backward %.2f, "
         "AdamW %.2f): %.0f tokens/s wall, %.0f per CPU second\n",
         bm->name, res->ms_step, 1e3 * cmed, res->ms_fwd, res->ms_bwd, res->ms_opt,
         res->tokens_per_s, res->cpu_tokens_per_s);
  printf("  %-7s matmuls %.2f ms of the median step (%.0f%%), %.1f MFLOP at %.1f GFLOP/s; the "
         "rest %.2f ms\n",
         "", res->ms_mm, 100.0 * res->ms_mm / res->ms_step, res->mm_mflop, res->mm_gflops,
         res->ms_step - res->ms_mm);
  if (torch) {
    const double tmed = median(tw, n), tcmed = median(tc, n);
    res->ms_torch = 1e3 * tmed;
    res->torch_tokens_per_s = tokens / tmed;
    res->torch_cpu_tokens_per_s = tokens / tcmed;
    printf("  %-7s median %.2f ms/step wall, %.2f ms CPU in torch %s: %.0f tokens/s wall, %.0f per "
           "CPU second: %.2fx\n",
           "", 1e3 * tmed, 1e3 * tcmed, ts->version, res->torch_tokens_per_s,
           res->torch_cpu_tokens_per_s, res->cpu_tokens_per_s / res->torch_cpu_tokens_per_s);
    if (res->torch_n_params != res->n_params)
      printf("warning: the torch %s has %zu parameters, slingshot's %zu: the models differ\n",
             bm->name, res->torch_n_params, res->n_params);
  }
done:
  free(x);
  side_close(&sd);
  return err;
}

/* ---------------------------------------------------------------- report */

/* The median over R rounds of a[r], or of a[r] / b[r] when b is given. */
static double round_median(int R, const double *a, const double *b) {
  double x[BENCH_MAX_ROUNDS];
  for (int r = 0; r < R; r++)
    x[r] = b ? a[r] / b[r] : a[r];
  return median(x, R);
}

/* Where slingshot's step goes: its matmuls (sl_mm_tally) and the rest, and what a ratio target
 * leaves for the rest. The ceiling is torch's step over slingshot's matmul time: the ratio that
 * slingshot would reach if everything but its matmuls took no time. */
static void where_time_goes(const bench_opts *o, bench_result res[][BENCH_MAX_MODELS],
                            const double *sgemm_r, double sgemm) {
  const int R = o->rounds;
  printf("\nwhere slingshot's step goes (wall ms; medians over rounds):\n");
  printf("  %-7s %8s %8s %8s %9s %8s %8s %9s   %s\n", "model", "step", "matmuls", "rest", "matmul",
         "%sgemm", "torch", "ceiling", "the rest allowed by the target");
  printf("  %-7s %8s %8s %8s %9s %8s %8s %9s\n", "", "", "", "", "GFLOP/s", "", "step", "");
  for (size_t k = 0; k < BENCH_MAX_MODELS; k++) {
    if (!(o->models >> k & 1u)) continue;
    double step[BENCH_MAX_ROUNDS], mm[BENCH_MAX_ROUNDS], rest[BENCH_MAX_ROUNDS],
        gf[BENCH_MAX_ROUNDS], torch[BENCH_MAX_ROUNDS];
    int have_torch = 1;
    for (int r = 0; r < R; r++) {
      const bench_result *x = &res[r][k];
      step[r] = x->ms_step;
      mm[r] = x->ms_mm;
      rest[r] = x->ms_step - x->ms_mm;
      gf[r] = x->mm_gflops;
      torch[r] = x->ms_torch;
      have_torch &= x->ms_torch > 0;
    }
    const double g = round_median(R, gf, NULL);
    printf("  %-7s %8.2f %8.2f %8.2f %9.1f %7.0f%% ", models[k].name, round_median(R, step, NULL),
           round_median(R, mm, NULL), round_median(R, rest, NULL), g, 100.0 * g / sgemm);
    if (!have_torch) {
      printf("%8s %9s\n", "-", "-");
      continue;
    }
    printf("%8.2f %8.2fx   ", round_median(R, torch, NULL), round_median(R, torch, mm));
    if (k == 2) {
      printf("(its target is a share of sgemm)\n");
      continue;
    }
    const double want = k == 0 ? 1.5 : 2.0;
    double allowed[BENCH_MAX_ROUNDS], at_peak[BENCH_MAX_ROUNDS];
    for (int r = 0; r < R; r++) {
      allowed[r] = torch[r] / want - mm[r];
      at_peak[r] = torch[r] / want - res[r][k].mm_mflop / sgemm_r[r];
    }
    printf("%.2f ms (%.1fx needs a step of %.2f ms); %.2f ms with the matmuls at the sgemm rate\n",
           round_median(R, allowed, NULL), want, round_median(R, torch, NULL) / want,
           round_median(R, at_peak, NULL));
  }
  printf(
      "  matmuls: every matrix product of the step, timed one by one (sl_mm_tally), with its "
      "FLOPs as executed; rest: the step less its matmuls (batch, gathers, softmax, "
      "activations, norms, AdamW, and the GPT's attention where its vector kernel runs it, head "
      "sizes that are multiples of 8); ceiling: torch's step over slingshot's matmuls, the ratio "
      "slingshot would reach if the rest took no time.\n");
}

/* Medians over the rounds of each figure, then the table against the targets. */
static void report(const bench_opts *o, bench_result res[][BENCH_MAX_MODELS],
                   const double *sgemm_r) {
  const int R = o->rounds;
  double x[BENCH_MAX_ROUNDS], sgemm_tmp[BENCH_MAX_ROUNDS];
  memcpy(sgemm_tmp, sgemm_r, (size_t)R * sizeof *sgemm_tmp);
  const double sgemm = median(sgemm_tmp, R);
  printf("\nsummary: medians over %d round%s (each round: sgemm, then each model in slingshot and "
         "torch taking turns of %d steps);"
         " tokens/s per CPU second of one thread; sgemm %.1f GFLOP/s\n",
         R, R == 1 ? "" : "s", BENCH_SEGMENT, sgemm);
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
  where_time_goes(o, res, sgemm_r, sgemm);
}

static void usage(void) {
  printf("usage: slingshot bench train [--steps S] [--warmup W] [--rounds R] [--model NAME]...\n"
         "                             [--torch PYTHON] [--script PATH] [--no-torch]\n\n"
         "Measures this machine's single-thread sgemm rate, then times training steps (forward,\n"
         "backward, AdamW, after W warmup steps) of the three models of issue 3 (gpt, mlp,\n"
         "gpt256) and, when PYTHON (default /usr/bin/python3) imports torch, the same models in\n"
         "PyTorch on one thread (bench/bench_train_torch.py --serve), the two programs taking\n"
         "turns of %d steps so that both see the same load; R rounds of that, back to back.\n"
         "Prints tokens/s (median step, wall clock and CPU time), the ratio to torch, dense\n"
         "GFLOP/s of both against the sgemm rate, and the medians over the rounds; then where\n"
         "slingshot's step goes: its matmuls, timed one by one, and the rest, and how much time\n"
         "each ratio target leaves for the rest. Run it with OPENBLAS_NUM_THREADS=1.\n\n"
         "  --steps S       timed steps per model (default 20)\n"
         "  --warmup W      untimed steps first (default 3)\n"
         "  --rounds R      rounds, 1 to %d (default 3)\n"
         "  --model NAME    only this model (gpt, mlp or gpt256; repeatable; default all)\n"
         "  --torch PYTHON  python with torch (default /usr/bin/python3)\n"
         "  --script PATH   the torch script (default: from the source tree)\n"
         "  --no-torch      slingshot figures only\n",
         BENCH_SEGMENT, BENCH_MAX_ROUNDS);
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
      SL_CALL(sl_opt_int(a, next, 1, 1000000, &o->steps));
      i++;
    } else if (!strcmp(a, "--warmup")) {
      SL_CALL(sl_opt_int(a, next, 0, 1000000, &o->warmup));
      i++;
    } else if (!strcmp(a, "--rounds")) {
      SL_CALL(sl_opt_int(a, next, 1, BENCH_MAX_ROUNDS, &o->rounds));
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
  torch_srv ts = {0};
  void (*old_pipe)(int) = SIG_DFL;
  int pipe_set = 0;
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
  /* a torch server that dies must not take this process with it (SIGPIPE on a write) */
  old_pipe = signal(SIGPIPE, SIG_IGN);
  pipe_set = 1;
  int torch_ok = torch_start(o, &ts);
  for (int round = 0; round < o->rounds; round++) {
    printf("\nround %d of %d\n", round + 1, o->rounds);
    SL_CALL_GOTO(bench_sgemm(&sgemm[round]), done);
    for (size_t k = 0; k < BENCH_MAX_MODELS; k++) {
      if (!(o->models >> k & 1u)) continue;
      SL_CALL_GOTO(bench_pair(&models[k], o, corpus, torch_ok ? &ts : NULL, &res[round][k]), done);
      if (torch_ok && res[round][k].torch_cpu_tokens_per_s <= 0) torch_ok = 0, torch_stop(&ts);
      fflush(stdout);
    }
  }
  report(o, res, sgemm);
done:
  torch_stop(&ts);
  if (pipe_set) signal(SIGPIPE, old_pipe);
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
