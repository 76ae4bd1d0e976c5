/* `slingshot bench corpus` (include/slingshot/bench_corpus.h): the figures that decide whether
 * corpus work can keep up with training. Targets per core (issue 4): skills generation >= 50 M
 * tokens/s, exact distinct 8-grams >= 20 M tokens/s, HyperLogLog >= 100 M tokens/s.
 *
 * The targets are judged on the library (sl_corpus_count_unique), on rates per second of the
 * thread's CPU time: on a shared machine wall time also counts other processes' turns on the
 * core. The peak memory of exact counting per distinct key is the library's own account (the
 * sets' slots, old and new during a grow, plus key blocks). The exact count is timed twice:
 * the first call also pays for the first touch of its table (page faults, and on a virtual
 * machine the host backing the pages), the second reuses memory the process has just freed. Two
 * plain reference loops check the library and show what its batching buys: the rolling 8-gram
 * key inserted one at a time into an sl_uset grown from empty, and the rolling key added to a
 * sketch one at a time. Their count and estimate must equal the library's (the run fails
 * otherwise). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "slingshot/bench_corpus.h"
#include "slingshot/corpus.h"
#include "slingshot/error.h"
#include "slingshot/hmm.h"
#include "slingshot/lang.h"
#include "slingshot/pcfg.h"
#include "slingshot/rng.h"
#include "slingshot/timer.h"

#define BENCH_NGRAM 8
#define BENCH_HLL_P 14
#define BENCH_CHUNK ((size_t)1 << 20)
#define BENCH_STREAM_N ((size_t)1 << 24) /* doubles per STREAM array: 128 MiB */
#define BENCH_STREAM_REPS 5

static void usage(FILE *f) {
  fprintf(f, "usage: slingshot bench corpus [--tokens N] [--help]\n"
             "  Memory bandwidth (STREAM-like copy and triad, one thread), corpus generation\n"
             "  throughput of the skills, HMM and PCFG languages, exact distinct 8-gram counting\n"
             "  (tokens/s, bytes per distinct key) and HyperLogLog (p = 14) over N tokens of the\n"
             "  skills language (default N = 1e8; 4 B per token of memory for the corpus, about\n"
             "  12-16 B per distinct 8-gram for the exact set). Every rank measures at once;\n"
             "  rank 0 prints the minimum and the mean over ranks. Rates are given per second\n"
             "  of the thread's CPU time (targets judged on it) and of wall time.\n"
             "  --tokens N   corpus size (>= 1000; 1e6 for a quick run)\n");
}

/* ------------------------------------------------------------------ figures across ranks */

typedef struct bench_row {
  const char *what, *unit;
  double value;  /* from wall-clock time */
  double cpu;    /* from this thread's CPU time (equal to value for figures that are not rates) */
  double target; /* 0: none; judged on cpu */
} bench_row;

#define BENCH_MAX_ROWS 24

typedef struct bench_out {
  bench_row row[BENCH_MAX_ROWS];
  int n;
} bench_out;

static void put(bench_out *o, const char *what, const char *unit, double value, double target) {
  if (o->n < BENCH_MAX_ROWS) o->row[o->n++] = (bench_row){what, unit, value, value, target};
}

/* A start mark on both clocks. The machine may be shared: the wall-clock rate then counts the
 * time other processes held the core, the CPU-time rate does not (page faults, in the kernel or
 * on a VM's host, stall the thread and count as its CPU time). */
typedef struct mark {
  double wall, cpu;
} mark;

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static mark mark_now(void) {
  return (mark){sl_wtime(), cpu_now()};
}

/* A rate row: count / scale per second since m, on both clocks. */
static void put_rate(bench_out *o, const char *what, const char *unit, double count, double scale,
                     mark m, double target) {
  const double w = sl_wtime() - m.wall, c = cpu_now() - m.cpu;
  if (o->n < BENCH_MAX_ROWS)
    o->row[o->n++] =
        (bench_row){what, unit, count / w / scale, count / (c > 0 ? c : w) / scale, target};
}

/* ------------------------------------------------------------------ memory bandwidth */

static int bench_stream(bench_out *o) {
  const size_t n = BENCH_STREAM_N;
  double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *c = malloc(n * sizeof *c);
  int err = SL_OK;
  SL_CHECK_GOTO(a && b && c, SL_ERR_NOMEM, done, "out of memory for the bandwidth arrays");
  for (size_t i = 0; i < n; i++) {
    a[i] = 1.0;
    b[i] = 2.0;
    c[i] = 0.5;
  }
  double best_copy = INFINITY, best_triad = INFINITY;
  const double s = 3.0;
  double wall_copy = INFINITY, wall_triad = INFINITY;
  for (int r = 0; r < BENCH_STREAM_REPS; r++) {
    mark t0 = mark_now();
    for (size_t i = 0; i < n; i++)
      c[i] = a[i];
    mark t1 = mark_now();
    for (size_t i = 0; i < n; i++)
      a[i] = b[i] + s * c[i];
    mark t2 = mark_now();
    best_copy = fmin(best_copy, t1.cpu - t0.cpu);
    best_triad = fmin(best_triad, t2.cpu - t1.cpu);
    wall_copy = fmin(wall_copy, t1.wall - t0.wall);
    wall_triad = fmin(wall_triad, t2.wall - t1.wall);
  }
  /* Keep the compiler from dropping the loops: a depends on every pass. */
  volatile double sink = a[n / 2] + c[n / 3];
  (void)sink;
  const double copy_b = 2.0 * n * sizeof(double), triad_b = 3.0 * n * sizeof(double);
  if (o->n + 2 <= BENCH_MAX_ROWS) {
    o->row[o->n++] = (bench_row){"memory bandwidth, copy (best of 5)", "GB/s",
                                 copy_b / wall_copy / 1e9, copy_b / best_copy / 1e9, 0};
    o->row[o->n++] = (bench_row){"memory bandwidth, triad (best of 5)", "GB/s",
                                 triad_b / wall_triad / 1e9, triad_b / best_triad / 1e9, 0};
  }
done:
  free(a);
  free(b);
  free(c);
  return err;
}

/* The first touch of fresh anonymous memory advised for huge pages, as the exact counter's table
 * gets it: the page faults (and on a virtual machine the host backing the pages) that the first
 * exact count pays and a second one in the same process mostly does not. */
static int bench_first_touch(bench_out *o) {
  const size_t bytes = (size_t)256 << 20;
  void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  SL_CHECK(p != MAP_FAILED, SL_ERR_NOMEM, "out of memory for the first-touch test");
#ifdef MADV_HUGEPAGE
  (void)madvise(p, bytes, MADV_HUGEPAGE);
#endif
  mark t0 = mark_now();
  volatile char *c = p;
  for (size_t i = 0; i < bytes; i += 4096)
    c[i] = 1;
  put_rate(o, "first touch of fresh memory (huge pages)", "GB/s", (double)bytes, 1e9, t0, 0);
  munmap(p, bytes);
  return SL_OK;
}

/* ------------------------------------------------------------------ generation */

static int bench_generation(size_t N, int32_t *tokens, bench_out *o) {
  int err = SL_OK;
  sl_skills_lang *S = NULL;
  sl_hmm *H = NULL;
  sl_pcfg *P = NULL;
  /* The default experiment's language (experiments/default.cfg). */
  sl_skills_params sp;
  memset(&sp, 0, sizeof sp);
  sp.M = 32;
  sp.S = 16;
  sp.k_max = 3;
  sp.arity_weights[0] = sp.arity_weights[1] = sp.arity_weights[2] = 1;
  SL_CALL_GOTO(sl_skills_create(&sp, 1, &S), done);
  sl_rng r;
  sl_rng_seed(&r, 1);
  mark t0 = mark_now();
  SL_CALL_GOTO(sl_skills_generate(S, &r, tokens, N, NULL, 0, NULL), done);
  put_rate(o, "skills generation (M 32, S 16, k 3)", "M tokens/s", (double)N, 1e6, t0, 50);

  sl_hmm_params hp = {
      .H = 64, .V = 1024, .trans_k = 8, .emit_k = 32, .trans_alpha = 0.5, .emit_alpha = 0.5};
  SL_CALL_GOTO(sl_hmm_create(&hp, 1, &H), done);
  const size_t nh = N < 20 * BENCH_CHUNK ? N : 20 * BENCH_CHUNK;
  int hidden = -1;
  t0 = mark_now();
  for (size_t pos = 0; pos < nh; pos += BENCH_CHUNK) {
    const size_t m = nh - pos < BENCH_CHUNK ? nh - pos : BENCH_CHUNK;
    SL_CALL_GOTO(sl_hmm_generate(H, &r, &hidden, tokens + pos, NULL, m), done);
  }
  put_rate(o, "HMM generation (H 64, V 1024, k 8/32)", "M tokens/s", (double)nh, 1e6, t0, 0);

  sl_pcfg_params pp;
  memset(&pp, 0, sizeof pp);
  pp.levels = 5;
  for (int l = 0; l < 5; l++)
    pp.symbols[l] = l == 0 ? 1 : 8;
  pp.rules = 8;
  pp.T = 256;
  pp.emit_k = 16;
  pp.p_emit = 0.1;
  pp.alpha = 0.5;
  pp.max_len = 16;
  SL_CALL_GOTO(sl_pcfg_create(&pp, 1, &P), done);
  t0 = mark_now();
  SL_CALL_GOTO(sl_pcfg_generate(P, &r, tokens, nh, NULL), done);
  put_rate(o, "PCFG generation (5 levels, 8 sym, T 256)", "M tokens/s", (double)nh, 1e6, t0, 0);
  /* The exact-probability side, for scale: inside algorithm per sentence. */
  const size_t ns = 2000;
  double mean, se;
  t0 = mark_now();
  SL_CALL_GOTO(sl_pcfg_entropy_rate(P, &r, ns, &mean, &se), done);
  put_rate(o, "PCFG sample + inside (sentences of <= 16)", "k sentences/s", (double)ns, 1e3, t0, 0);
  t0 = mark_now();
  const size_t ne = 1000000;
  SL_CALL_GOTO(sl_hmm_entropy_rate(H, &r, ne, 0, 20, &mean, &se), done);
  put_rate(o, "HMM sample + forward step (H 64)", "M tokens/s", (double)ne, 1e6, t0, 0);

  /* Leave the skills corpus in tokens for the counting. */
  sl_rng_seed(&r, 1);
  SL_CALL_GOTO(sl_skills_generate(S, &r, tokens, N, NULL, 0, NULL), done);
done:
  sl_skills_destroy(S);
  sl_hmm_destroy(H);
  sl_pcfg_destroy(P);
  return err;
}

/* ------------------------------------------------------------------ counting */

/* The library's digit width: the bits of (largest token + 1). */
static int digit_bits(const int32_t *t, size_t n) {
  int32_t mx = 0;
  for (size_t i = 0; i < n; i++)
    if (t[i] > mx) mx = t[i];
  int b = 1;
  while (((uint64_t)mx + 1) >> b != 0)
    b++;
  return b;
}

/* Tracks the largest table the set ever held together with its predecessor (during a grow). */
static size_t peak_slots(size_t cap) {
  return cap + cap / 2; /* the grow from cap / 2 to cap holds both */
}

/* Rolling keys: the packing of the 8-gram ending at e read backwards has t[e-1] as its top digit,
 * so key(e + 1) = (key(e) >> b) | ((t[e] + 1) << (b (n - 1))). Requires n b <= 64. One insert at
 * a time into an sl_uset that grows from empty. */
static int count_reference(const int32_t *t, size_t N, int bits, size_t *count, size_t *peak) {
  const int n = BENCH_NGRAM;
  sl_uset s;
  SL_CALL(sl_uset_init(&s, 0));
  int err = SL_OK;
  const int top = bits * (n - 1);
  uint64_t packed = 0;
  for (int L = n; L >= 2; L--) /* the key of the (n-1) tokens before position n - 1 */
    packed = (packed >> bits) | (((uint64_t)t[n - L] + 1) << top);
  for (size_t e = n; e <= N; e++) {
    packed = (packed >> bits) | (((uint64_t)t[e - 1] + 1) << top);
    SL_CALL_GOTO(sl_uset_insert(&s, sl_hash_mix64(packed), NULL), done);
  }
  *count = s.count;
  *peak = peak_slots(s.cap) * sizeof(uint64_t);
done:
  sl_uset_free(&s);
  return err;
}

static int count_hll_reference(const int32_t *t, size_t N, int bits, double *est) {
  const int n = BENCH_NGRAM, top = bits * (n - 1);
  sl_hll h;
  SL_CALL(sl_hll_init(&h, BENCH_HLL_P));
  uint64_t packed = 0;
  for (int L = n; L >= 2; L--)
    packed = (packed >> bits) | (((uint64_t)t[n - L] + 1) << top);
  for (size_t e = n; e <= N; e++) {
    packed = (packed >> bits) | (((uint64_t)t[e - 1] + 1) << top);
    sl_hll_add(&h, sl_hash_mix64(packed));
  }
  *est = sl_hll_estimate(&h);
  sl_hll_free(&h);
  return SL_OK;
}

static int bench_counting(const int32_t *t, size_t N, bench_out *o, double *distinct) {
  const int L = BENCH_NGRAM;
  const int64_t pre[1] = {(int64_t)N};
  double exact = 0, exact2 = 0, hll = 0;
  mark t0 = mark_now();
  size_t peak = 0;
  SL_CALL(
      sl_corpus_count_unique_spans(t, N, NULL, NULL, 0, &L, 1, pre, 1, 0, 0, NULL, &exact, &peak));
  put_rate(o, "exact 8-grams, library, 1st call", "M tokens/s", (double)N, 1e6, t0, 20);
  t0 = mark_now();
  SL_CALL(sl_corpus_count_unique(t, N, NULL, 0, &L, 1, pre, 1, 0, 0, NULL, &exact2));
  put_rate(o, "exact 8-grams, library, 2nd call", "M tokens/s", (double)N, 1e6, t0, 20);
  const int bits = digit_bits(t, N);
  SL_CHECK(bits * L <= 64, SL_ERR_INTERNAL, "the skills corpus needs %d-bit digits", bits);
  size_t c1 = 0, peak1 = 0;
  t0 = mark_now();
  SL_CALL(count_reference(t, N, bits, &c1, &peak1));
  put_rate(o, "exact 8-grams, reference loop (sl_uset)", "M tokens/s", (double)N, 1e6, t0, 0);
  SL_CHECK((double)c1 == exact && exact2 == exact, SL_ERR_INTERNAL,
           "the reference loop counts %zu distinct 8-grams, the library %.0f then %.0f", c1, exact,
           exact2);
  put(o, "distinct 8-grams", "M", exact / 1e6, 0);
  put(o, "exact counting, library: peak B per key", "B", (double)peak / exact, 0);
  put(o, "sl_uset grown from empty: peak B per key", "B", (double)peak1 / exact, 0);
  t0 = mark_now();
  SL_CALL(sl_corpus_count_unique(t, N, NULL, 0, &L, 1, pre, 1, 1, BENCH_HLL_P, NULL, &hll));
  put_rate(o, "HyperLogLog 8-grams, library", "M tokens/s", (double)N, 1e6, t0, 100);
  double hll2 = 0;
  t0 = mark_now();
  SL_CALL(count_hll_reference(t, N, bits, &hll2));
  put_rate(o, "HyperLogLog 8-grams, reference loop", "M tokens/s", (double)N, 1e6, t0, 0);
  SL_CHECK(hll2 == hll, SL_ERR_INTERNAL, "the reference HLL estimate %.3f != library %.3f", hll2,
           hll);
  put(o, "HyperLogLog relative error (p = 14)", "%", 100 * (hll / exact - 1), 0);
  *distinct = exact;
  return SL_OK;
}

/* ------------------------------------------------------------------ command */

int sl_bench_corpus(int argc, char **argv, MPI_Comm comm) {
  double tokens = 1e8;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      int rank;
      SL_CALL_MPI(MPI_Comm_rank(comm, &rank));
      if (rank == 0) usage(stdout);
      return SL_OK;
    } else if (strcmp(argv[i], "--tokens") == 0 && i + 1 < argc) {
      char *end;
      tokens = strtod(argv[++i], &end);
      SL_CHECK(*end == '\0' && tokens >= 1000 && tokens <= 4e9, SL_ERR_ARG,
               "--tokens %s is not a number between 1000 and 4e9", argv[i]);
    } else {
      return SL_ERROR(SL_ERR_ARG,
                      "unknown option '%s' for 'slingshot bench corpus' (known: "
                      "--tokens N, --help)",
                      argv[i]);
    }
  }
  int rank, size;
  SL_CALL_MPI(MPI_Comm_rank(comm, &rank));
  SL_CALL_MPI(MPI_Comm_size(comm, &size));
  const size_t N = (size_t)tokens;
  bench_out o;
  memset(&o, 0, sizeof o);
  int err = SL_OK;
  int32_t *t = malloc(N * sizeof *t);
  double distinct = 0;
  if (!t) err = SL_ERROR(SL_ERR_NOMEM, "out of memory for %zu tokens", N);
  if (err == SL_OK) err = bench_stream(&o);
  if (err == SL_OK) err = bench_first_touch(&o);
  if (err == SL_OK) err = bench_generation(N, t, &o);
  if (err == SL_OK) err = bench_counting(t, N, &o, &distinct);
  free(t);
  /* Agree on success before the reductions (a failed rank skips nothing collective after). */
  int bad = err != SL_OK, any_bad = 0;
  SL_CALL_MPI(MPI_Allreduce(&bad, &any_bad, 1, MPI_INT, MPI_MAX, comm));
  if (err != SL_OK) return err;
  SL_CHECK(!any_bad, SL_ERR_STATE, "the benchmark failed on another rank");
  /* [0, n): wall-clock figures, [n, 2n): CPU-time figures. */
  double vmin[2 * BENCH_MAX_ROWS], vsum[2 * BENCH_MAX_ROWS], v[2 * BENCH_MAX_ROWS];
  for (int i = 0; i < o.n; i++) {
    v[i] = o.row[i].value;
    v[o.n + i] = o.row[i].cpu;
  }
  SL_CALL_MPI(MPI_Allreduce(v, vmin, 2 * o.n, MPI_DOUBLE, MPI_MIN, comm));
  SL_CALL_MPI(MPI_Allreduce(v, vsum, 2 * o.n, MPI_DOUBLE, MPI_SUM, comm));
  if (rank == 0) {
    printf("slingshot bench corpus: %zu tokens, %d rank(s) measuring at once, one thread each\n", N,
           size);
    printf("rates per core: 'cpu' divides by this thread's CPU time (what the core spent on it,\n"
           "page faults included), 'wall' by elapsed time (lower when other processes share the\n"
           "core); targets are judged on the minimum over ranks of the cpu rate\n");
    printf("%-46s %10s %10s %10s  %-13s %s\n", "measure", "cpu min", "cpu mean", "wall min", "unit",
           "target");
    for (int i = 0; i < o.n; i++) {
      char tg[32] = "";
      const double cmin = vmin[o.n + i];
      if (o.row[i].target > 0)
        snprintf(tg, sizeof tg, ">= %g %s", o.row[i].target,
                 cmin >= o.row[i].target ? "met" : "MISSED");
      printf("%-46s %10.3f %10.3f %10.3f  %-13s %s\n", o.row[i].what, cmin, vsum[o.n + i] / size,
             vmin[i], o.row[i].unit, tg);
    }
    fflush(stdout);
  }
  return SL_OK;
}
