/* Checkpoints: bit-exact round trip; every kind of damaged file refused with SL_ERR_FORMAT naming
 * the file; a checkpoint of another cell refused with SL_ERR_STATE; atomic replacement; and the
 * property that matters: K steps, save, destroy, load into fresh objects, K more steps is bitwise
 * the same training as 2K steps in one go, for the MLP and the GPT.
 *
 * Legend: B batch, T context, C channels, H hidden, V vocabulary, N params, P curve points. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "slingshot/checkpoint.h"
#include "slingshot/config.h"
#include "slingshot/model.h"
#include "slingshot/optim.h"
#include "slingshot/rng.h"
#include "test_util.h"

static char dir[64];

static void path_of(char *out, size_t size, const char *name) {
  snprintf(out, size, "%s/%s", dir, name);
}

static long file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Reads a whole file into a malloc'ed buffer. */
static unsigned char *slurp(const char *path, long *n) {
  *n = file_size(path);
  if (*n < 0) return NULL;
  unsigned char *b = malloc((size_t)*n + 1);
  FILE *f = fopen(path, "rb");
  if (!b || !f || fread(b, 1, (size_t)*n, f) != (size_t)*n) {
    free(b);
    if (f) fclose(f);
    return NULL;
  }
  fclose(f);
  return b;
}

static int spit(const char *path, const unsigned char *b, long n) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t w = fwrite(b, 1, (size_t)n, f);
  return fclose(f) == 0 && w == (size_t)n ? 0 : -1;
}

/* A checkpoint of made-up state with its own buffers, filled from seed. */
typedef struct fake {
  sl_checkpoint ck;
  float *p, *m, *v;
  double *cl, *ct;
} fake;

static void fake_make(fake *f, size_t N, int P, uint64_t seed) {
  memset(f, 0, sizeof *f);
  f->p = malloc(N * sizeof *f->p);
  f->m = malloc(N * sizeof *f->m);
  f->v = malloc(N * sizeof *f->v);
  f->cl = malloc((size_t)P * sizeof *f->cl + 1);
  f->ct = malloc((size_t)P * sizeof *f->ct + 1);
  sl_rng r;
  sl_rng_seed(&r, seed);
  for (size_t i = 0; i < N; i++) {
    f->p[i] = (float)sl_rng_normal(&r);
    f->m[i] = (float)sl_rng_normal(&r) * 1e-3f;
    f->v[i] = (float)sl_rng_uniform(&r) * 1e-6f;
  }
  if (N > 2) {
    f->p[0] = -0.0f; /* sign of zero and a NaN payload must survive */
    uint32_t nan_bits = 0x7fc01234u;
    memcpy(&f->p[1], &nan_bits, 4);
  }
  for (int i = 0; i < P; i++) {
    f->cl[i] = i < P / 2 ? 3.0 - 0.1 * i : NAN;
    f->ct[i] = i < P / 2 ? 1024.0 * i : NAN;
  }
  sl_checkpoint *c = &f->ck;
  c->cell_index = 7;
  c->family = SL_MODEL_GPT;
  c->optim_kind = SL_OPTIM_ADAMW;
  memset(c->config_sha256, 'a', 64);
  c->config_sha256[5] = '3';
  c->n_params = N;
  c->n_points = P;
  c->step = 123;
  c->optim_step = 123;
  c->tokens_trained = 123 * 512;
  c->next_point = P / 2;
  for (int i = 0; i < 4; i++)
    c->rng.s[i] = sl_rng_u64(&r);
  c->params = f->p;
  c->m = f->m;
  c->v = f->v;
  c->curve_loss = f->cl;
  c->curve_tokens = f->ct;
}

static void fake_free(fake *f) {
  free(f->p);
  free(f->m);
  free(f->v);
  free(f->cl);
  free(f->ct);
}

/* A fresh fake with the same identity as a, its buffers and progress scrambled. */
static void fake_blank_like(fake *b, const fake *a) {
  fake_make(b, a->ck.n_params, a->ck.n_points, 999);
  b->ck.cell_index = a->ck.cell_index;
  b->ck.family = a->ck.family;
  b->ck.optim_kind = a->ck.optim_kind;
  memcpy(b->ck.config_sha256, a->ck.config_sha256, 65);
  b->ck.step = b->ck.optim_step = b->ck.tokens_trained = -5;
  b->ck.next_point = 0;
}

static int fake_equal(const fake *a, const fake *b) {
  const size_t N = a->ck.n_params, P = (size_t)a->ck.n_points;
  return memcmp(a->p, b->p, N * 4) == 0 && memcmp(a->m, b->m, N * 4) == 0 &&
         memcmp(a->v, b->v, N * 4) == 0 && memcmp(a->cl, b->cl, P * 8) == 0 &&
         memcmp(a->ct, b->ct, P * 8) == 0 && a->ck.step == b->ck.step &&
         a->ck.optim_step == b->ck.optim_step && a->ck.tokens_trained == b->ck.tokens_trained &&
         a->ck.next_point == b->ck.next_point &&
         memcmp(&a->ck.rng, &b->ck.rng, sizeof a->ck.rng) == 0;
}

/* Asserts that loading path fails with code and a message naming path (and containing what, if
 * not NULL). */
static void expect_refused(const char *path, const fake *like, int code, const char *what) {
  fake b;
  fake_blank_like(&b, like);
  sl_error_clear();
  const int e = sl_checkpoint_load(path, &b.ck);
  CU_ASSERT_EQUAL(e, code);
  CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), path));
  if (what) CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), what));
  if (e != code || !strstr(sl_error_message(), path))
    fprintf(stderr, "\n  %s: got %d '%s'\n", path, e, sl_error_message());
  CU_ASSERT_EQUAL(b.ck.step, -5); /* progress untouched on failure */
  sl_error_clear();
  fake_free(&b);
}

/* ---------------------------------------------------------------- file format */

static void test_round_trip(void) {
  char path[128];
  path_of(path, sizeof path, "rt.ckpt");
  fake a, b;
  fake_make(&a, 1000, 8, 1);
  SL_ASSERT_OK(sl_checkpoint_save(path, &a.ck));
  CU_ASSERT_EQUAL(file_size(path), 256 + 12 * 1000 + 16 * 8);
  char tmp[160];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  CU_ASSERT_EQUAL(file_size(tmp), -1); /* renamed away */
  fake_blank_like(&b, &a);
  CU_ASSERT_FALSE(fake_equal(&a, &b));
  SL_ASSERT_OK(sl_checkpoint_load(path, &b.ck));
  CU_ASSERT_TRUE(fake_equal(&a, &b));

  /* The header is little-endian at the documented offsets. */
  long n;
  unsigned char *bytes = slurp(path, &n);
  CU_ASSERT_PTR_NOT_NULL_FATAL(bytes);
  CU_ASSERT_EQUAL(memcmp(bytes, "SLCKPT01", 8), 0);
  CU_ASSERT_EQUAL(bytes[8], 1);
  CU_ASSERT_EQUAL(bytes[12], 0);
  CU_ASSERT_EQUAL(bytes[13], 1); /* header size 256 */
  CU_ASSERT_EQUAL(bytes[32], 7); /* cell index */
  CU_ASSERT_EQUAL(bytes[40], SL_MODEL_GPT);
  CU_ASSERT_EQUAL(bytes[56], 123); /* step */
  CU_ASSERT_EQUAL(memcmp(bytes + 120, a.ck.config_sha256, 64), 0);
  uint32_t p0;
  memcpy(&p0, &a.p[2], 4);
  CU_ASSERT_EQUAL(bytes[256 + 8] | bytes[256 + 9] << 8 | (uint32_t)bytes[256 + 10] << 16 |
                      (uint32_t)bytes[256 + 11] << 24,
                  p0);
  free(bytes);

  /* peek: the identity and progress without the buffers */
  sl_checkpoint h;
  SL_ASSERT_OK(sl_checkpoint_peek(path, &h));
  CU_ASSERT_EQUAL(h.cell_index, 7);
  CU_ASSERT_EQUAL(h.family, SL_MODEL_GPT);
  CU_ASSERT_EQUAL(h.n_params, 1000);
  CU_ASSERT_EQUAL(h.n_points, 8);
  CU_ASSERT_EQUAL(h.step, 123);
  CU_ASSERT_EQUAL(h.next_point, 4);
  CU_ASSERT_STRING_EQUAL(h.config_sha256, a.ck.config_sha256);
  CU_ASSERT_PTR_NULL(h.params);

  /* P = 0 (no curve) also round-trips */
  fake c, d;
  fake_make(&c, 3, 0, 2);
  c.ck.curve_loss = c.ck.curve_tokens = NULL;
  c.ck.next_point = 0;
  SL_ASSERT_OK(sl_checkpoint_save(path, &c.ck));
  fake_blank_like(&d, &c);
  SL_ASSERT_OK(sl_checkpoint_load(path, &d.ck));
  CU_ASSERT_TRUE(fake_equal(&c, &d));
  fake_free(&a);
  fake_free(&b);
  fake_free(&c);
  fake_free(&d);
}

static void test_damaged(void) {
  char good[128], bad[128];
  path_of(good, sizeof good, "good.ckpt");
  path_of(bad, sizeof bad, "bad.ckpt");
  fake a;
  fake_make(&a, 5, 2, 3); /* 256 + 60 + 32 = 348 bytes */
  SL_ASSERT_OK(sl_checkpoint_save(good, &a.ck));
  long n;
  unsigned char *bytes = slurp(good, &n);
  CU_ASSERT_PTR_NOT_NULL_FATAL(bytes);
  CU_ASSERT_EQUAL_FATAL(n, 348);

  /* Truncated anywhere: inside the payload, at the header's end, inside the header, empty. */
  const long cuts[] = {347, 300, 256, 255, 100, 12, 4, 0};
  for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
    CU_ASSERT_EQUAL_FATAL(spit(bad, bytes, cuts[i]), 0);
    expect_refused(bad, &a, SL_ERR_FORMAT, NULL);
  }
  CU_ASSERT_EQUAL_FATAL(spit(bad, bytes, 300), 0);
  expect_refused(bad, &a, SL_ERR_FORMAT, "truncated");

  /* Extended by one byte. */
  unsigned char *longer = malloc((size_t)n + 1);
  memcpy(longer, bytes, (size_t)n);
  longer[n] = 0;
  CU_ASSERT_EQUAL_FATAL(spit(bad, longer, n + 1), 0);
  expect_refused(bad, &a, SL_ERR_FORMAT, NULL);
  free(longer);

  /* Any single flipped byte, header or payload, is refused. */
  int refused = 0;
  for (long i = 0; i < n; i++) {
    bytes[i] ^= 0x20;
    CU_ASSERT_EQUAL_FATAL(spit(bad, bytes, n), 0);
    bytes[i] ^= 0x20;
    fake b;
    fake_blank_like(&b, &a);
    const int e = sl_checkpoint_load(bad, &b.ck);
    refused += e == SL_ERR_FORMAT && strstr(sl_error_message(), bad) != NULL;
    if (e != SL_ERR_FORMAT) fprintf(stderr, "\n  flip at byte %ld: status %d\n", i, e);
    sl_error_clear();
    fake_free(&b);
  }
  CU_ASSERT_EQUAL(refused, n);
  bytes[300] ^= 1;
  CU_ASSERT_EQUAL_FATAL(spit(bad, bytes, n), 0);
  expect_refused(bad, &a, SL_ERR_FORMAT, "payload checksum");
  bytes[300] ^= 1;
  bytes[60] ^= 1;
  CU_ASSERT_EQUAL_FATAL(spit(bad, bytes, n), 0);
  expect_refused(bad, &a, SL_ERR_FORMAT, "header checksum");
  bytes[60] ^= 1;

  /* Wrong magic, wrong version (the rest of the file intact). */
  memcpy(bytes, "SLCKPT00", 8);
  CU_ASSERT_EQUAL_FATAL(spit(bad, bytes, n), 0);
  expect_refused(bad, &a, SL_ERR_FORMAT, "not a slingshot checkpoint");
  memcpy(bytes, "SLCKPT01", 8);
  bytes[8] = 2;
  CU_ASSERT_EQUAL_FATAL(spit(bad, bytes, n), 0);
  expect_refused(bad, &a, SL_ERR_FORMAT, "version 2");
  bytes[8] = 1;

  /* A text file, and a missing file (an I/O error, not a format error). */
  const unsigned char text[] = "name = \"smoke\";\n";
  CU_ASSERT_EQUAL_FATAL(spit(bad, text, (long)sizeof text - 1), 0);
  expect_refused(bad, &a, SL_ERR_FORMAT, "not a slingshot checkpoint");
  char missing[128];
  path_of(missing, sizeof missing, "missing.ckpt");
  expect_refused(missing, &a, SL_ERR_IO, NULL);
  sl_checkpoint h;
  CU_ASSERT_EQUAL(sl_checkpoint_peek(missing, &h), SL_ERR_IO);
  sl_error_clear();

  /* The restored bytes are a valid checkpoint again: the refusals above came from the damage. */
  CU_ASSERT_EQUAL_FATAL(spit(bad, bytes, n), 0);
  fake b;
  fake_blank_like(&b, &a);
  SL_ASSERT_OK(sl_checkpoint_load(bad, &b.ck));
  CU_ASSERT_TRUE(fake_equal(&a, &b));
  fake_free(&b);
  free(bytes);
  fake_free(&a);
}

static void test_identity(void) {
  char path[128];
  path_of(path, sizeof path, "id.ckpt");
  fake a;
  fake_make(&a, 64, 4, 4);
  SL_ASSERT_OK(sl_checkpoint_save(path, &a.ck));
  fake b;
  fake_blank_like(&b, &a);
  b.ck.cell_index = 8;
  sl_error_clear();
  CU_ASSERT_EQUAL(sl_checkpoint_load(path, &b.ck), SL_ERR_STATE);
  CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), "cell 7, not 8"));
  CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), path));
  b.ck.cell_index = 7;
  b.ck.config_sha256[0] = 'b';
  CU_ASSERT_EQUAL(sl_checkpoint_load(path, &b.ck), SL_ERR_STATE);
  CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), "another config"));
  b.ck.config_sha256[0] = 'a';
  b.ck.family = SL_MODEL_MLP;
  CU_ASSERT_EQUAL(sl_checkpoint_load(path, &b.ck), SL_ERR_STATE);
  b.ck.family = SL_MODEL_GPT;
  b.ck.n_params = 63; /* the buffers are larger; the sizes must still agree exactly */
  CU_ASSERT_EQUAL(sl_checkpoint_load(path, &b.ck), SL_ERR_STATE);
  b.ck.n_params = 64;
  b.ck.n_points = 3;
  CU_ASSERT_EQUAL(sl_checkpoint_load(path, &b.ck), SL_ERR_STATE);
  b.ck.n_points = 4;
  CU_ASSERT_EQUAL(b.ck.step, -5);
  sl_error_clear();
  SL_ASSERT_OK(sl_checkpoint_load(path, &b.ck));
  CU_ASSERT_TRUE(fake_equal(&a, &b));
  fake_free(&a);
  fake_free(&b);
}

static void test_atomic(void) {
  char path[128], tmp[160];
  path_of(path, sizeof path, "atomic.ckpt");
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  fake a, later, b;
  fake_make(&a, 200, 4, 5);
  fake_make(&later, 200, 4, 6);
  SL_ASSERT_OK(sl_checkpoint_save(path, &a.ck));

  /* A stale PATH.tmp (a write killed midway) does not affect loading PATH. */
  const unsigned char junk[] = "SLCKPT01 half-written";
  CU_ASSERT_EQUAL_FATAL(spit(tmp, junk, (long)sizeof junk), 0);
  fake_blank_like(&b, &a);
  SL_ASSERT_OK(sl_checkpoint_load(path, &b.ck));
  CU_ASSERT_TRUE(fake_equal(&a, &b));
  fake_free(&b);

  /* A failed write leaves the previous checkpoint as it was. PATH.tmp as a directory makes the
   * write fail even for root. */
  CU_ASSERT_EQUAL_FATAL(remove(tmp), 0);
  CU_ASSERT_EQUAL_FATAL(mkdir(tmp, 0700), 0);
  sl_error_clear();
  CU_ASSERT_EQUAL(sl_checkpoint_save(path, &later.ck), SL_ERR_IO);
  CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), tmp));
  sl_error_clear();
  fake_blank_like(&b, &a);
  SL_ASSERT_OK(sl_checkpoint_load(path, &b.ck));
  CU_ASSERT_TRUE(fake_equal(&a, &b));
  fake_free(&b);
  CU_ASSERT_EQUAL_FATAL(rmdir(tmp), 0);

  /* The next save replaces PATH (over a stale PATH.tmp) and leaves no PATH.tmp. */
  CU_ASSERT_EQUAL_FATAL(spit(tmp, junk, (long)sizeof junk), 0);
  SL_ASSERT_OK(sl_checkpoint_save(path, &later.ck));
  CU_ASSERT_EQUAL(file_size(tmp), -1);
  fake_blank_like(&b, &later);
  SL_ASSERT_OK(sl_checkpoint_load(path, &b.ck));
  CU_ASSERT_TRUE(fake_equal(&later, &b));
  CU_ASSERT_FALSE(fake_equal(&a, &b));
  fake_free(&b);
  fake_free(&a);
  fake_free(&later);
}

/* ---------------------------------------------------------------- resume is bitwise */

#define LR 3e-3
#define MIN_LR 3e-4
#define WARMUP 4
#define CLIP 1.0
#define P_POINTS 3

/* A corpus with structure to learn (mostly a fixed successor map, some noise). */
static void make_corpus(int32_t *c, size_t D, int V) {
  sl_rng r;
  sl_rng_seed(&r, 77);
  c[0] = 0;
  for (size_t i = 1; i < D; i++)
    c[i] = sl_rng_uniform(&r) < 0.8 ? (int32_t)((c[i - 1] * 5 + 3) % V)
                                    : (int32_t)sl_rng_below(&r, (uint64_t)V);
}

/* What train.c's loop carries from step to step. */
typedef struct trainee {
  sl_model *m;
  sl_optim *o;
  sl_rng rng;
  int64_t tokens;
  int next_point;
  double curve_loss[P_POINTS], curve_tokens[P_POINTS];
} trainee;

static void trainee_create(trainee *t, const sl_model_spec *spec, uint64_t init_seed) {
  memset(t, 0, sizeof *t);
  sl_optim_spec os = {
      .kind = SL_OPTIM_ADAMW, .beta1 = 0.9, .beta2 = 0.99, .eps = 1e-8, .weight_decay = 0.1};
  SL_ASSERT_OK(sl_model_create(spec, &t->m));
  sl_rng r;
  sl_rng_stream(&r, 1, init_seed, "init");
  SL_ASSERT_OK(sl_model_init(t->m, &r));
  SL_ASSERT_OK(sl_optim_create(&os, t->m->n_params, &t->o));
  sl_rng_stream(&t->rng, 1, 0, "batch");
  for (int i = 0; i < P_POINTS; i++)
    t->curve_loss[i] = t->curve_tokens[i] = NAN;
}

static void trainee_destroy(trainee *t) {
  sl_optim_destroy(t->o);
  sl_model_destroy(t->m);
  memset(t, 0, sizeof *t);
}

/* Steps [from, to) of a run of `total` steps, as train.c takes them: a batch of random windows of
 * the corpus, forward, backward, clip, scheduled AdamW; curve points (here the batch loss) at steps
 * 0, (total-1)/2, total-1. losses[step] receives each step's loss. */
static void train_steps(trainee *t, const int32_t *corpus, size_t D, int64_t from, int64_t to,
                        int64_t total, float *losses) {
  const int T = t->m->spec.T, B = t->m->spec.B;
  int32_t *rows = malloc((size_t)B * (T + 1) * sizeof *rows);
  for (int64_t step = from; step < to; step++) {
    for (int b = 0; b < B; b++) {
      const uint64_t start = sl_rng_below(&t->rng, (uint64_t)(D - (size_t)T));
      memcpy(rows + (size_t)b * (T + 1), corpus + start, sizeof(int32_t) * (T + 1));
    }
    float loss;
    SL_ASSERT_OK(sl_model_forward(t->m, rows, B, &loss));
    SL_ASSERT_OK(sl_model_backward(t->m, rows, B));
    double norm;
    sl_grad_clip(t->m->grads, t->m->n_params, CLIP, &norm);
    SL_ASSERT_OK(sl_optim_step(t->o, t->m->params, t->m->grads, t->m->decay,
                               sl_lr_at(LR, MIN_LR, step, WARMUP, total)));
    losses[step] = loss;
    t->tokens += (int64_t)B * t->m->targets_per_row;
    if (t->next_point < P_POINTS && step == t->next_point * (total - 1) / (P_POINTS - 1)) {
      t->curve_loss[t->next_point] = loss;
      t->curve_tokens[t->next_point] = (double)t->tokens;
      t->next_point++;
    }
  }
  free(rows);
}

static void check_resume(const sl_model_spec *spec, int64_t K, const char *name) {
  const size_t D = 4000;
  int32_t *corpus = malloc(D * sizeof *corpus);
  make_corpus(corpus, D, spec->V);
  const int64_t total = 2 * K;
  char path[128], sha[65];
  path_of(path, sizeof path, name);
  sl_sha256_hex(name, strlen(name), sha);
  float *loss_a = calloc((size_t)total, sizeof *loss_a);
  float *loss_b = calloc((size_t)total, sizeof *loss_b);
  float *loss_c = calloc((size_t)total, sizeof *loss_c);

  /* A: 2K steps in one go. */
  trainee a;
  trainee_create(&a, spec, 3);
  float *init = malloc(a.m->n_params * sizeof *init);
  memcpy(init, a.m->params, a.m->n_params * sizeof *init);
  train_steps(&a, corpus, D, 0, total, total, loss_a);

  /* B: K steps, save, destroy everything. */
  trainee b;
  trainee_create(&b, spec, 3);
  train_steps(&b, corpus, D, 0, K, total, loss_b);
  sl_checkpoint ck;
  SL_ASSERT_OK(sl_checkpoint_bind(&ck, 11, sha, b.m, b.o, b.curve_loss, b.curve_tokens, P_POINTS));
  ck.step = K;
  ck.optim_step = b.o->step;
  ck.tokens_trained = b.tokens;
  ck.next_point = b.next_point;
  ck.rng = b.rng;
  SL_ASSERT_OK(sl_checkpoint_save(path, &ck));
  trainee_destroy(&b);

  /* Fresh objects, initialised from another stream so nothing of the old run is left. */
  trainee_create(&b, spec, 4);
  CU_ASSERT_NOT_EQUAL(memcmp(b.m->params, init, b.m->n_params * sizeof *init), 0);
  sl_rng_stream(&b.rng, 1, 999, "batch");
  SL_ASSERT_OK(sl_checkpoint_bind(&ck, 11, sha, b.m, b.o, b.curve_loss, b.curve_tokens, P_POINTS));
  SL_ASSERT_OK(sl_checkpoint_load(path, &ck));
  CU_ASSERT_EQUAL(ck.step, K);
  b.o->step = ck.optim_step;
  b.tokens = ck.tokens_trained;
  b.next_point = ck.next_point;
  b.rng = ck.rng;
  train_steps(&b, corpus, D, ck.step, total, total, loss_b);

  /* The training did something, and the resumed run is the same bit for bit. */
  const size_t nb = a.m->n_params * sizeof(float);
  CU_ASSERT_NOT_EQUAL(memcmp(a.m->params, init, nb), 0);
  CU_ASSERT_TRUE(loss_a[total - 1] < loss_a[0]);
  CU_ASSERT_EQUAL(memcmp(a.m->params, b.m->params, nb), 0);
  CU_ASSERT_EQUAL(memcmp(a.o->m, b.o->m, nb), 0);
  CU_ASSERT_EQUAL(memcmp(a.o->v, b.o->v, nb), 0);
  CU_ASSERT_EQUAL(a.o->step, b.o->step);
  CU_ASSERT_EQUAL(memcmp(loss_a, loss_b, (size_t)total * sizeof *loss_a), 0);
  CU_ASSERT_EQUAL(memcmp(a.curve_loss, b.curve_loss, sizeof a.curve_loss), 0);
  CU_ASSERT_EQUAL(memcmp(a.curve_tokens, b.curve_tokens, sizeof a.curve_tokens), 0);
  CU_ASSERT_EQUAL(a.tokens, b.tokens);
  CU_ASSERT_EQUAL(a.next_point, P_POINTS);
  CU_ASSERT_EQUAL(b.next_point, P_POINTS);
  CU_ASSERT_EQUAL(memcmp(&a.rng, &b.rng, sizeof a.rng), 0);
  printf("\n  %s: N=%zu, %lld+%lld steps, loss %.4f -> %.4f, resumed run bitwise equal: %s\n", name,
         a.m->n_params, (long long)K, (long long)K, loss_a[0], loss_a[total - 1],
         memcmp(a.m->params, b.m->params, nb) == 0 ? "yes" : "NO");

  /* The comparison can fail: a resume that forgets the optimiser's moments (or the batch
   * stream) diverges from A. */
  trainee c;
  trainee_create(&c, spec, 4);
  SL_ASSERT_OK(sl_checkpoint_bind(&ck, 11, sha, c.m, c.o, c.curve_loss, c.curve_tokens, P_POINTS));
  SL_ASSERT_OK(sl_checkpoint_load(path, &ck));
  memset(c.o->m, 0, nb);
  c.o->step = ck.optim_step;
  c.rng = ck.rng;
  train_steps(&c, corpus, D, ck.step, total, total, loss_c);
  CU_ASSERT_NOT_EQUAL(memcmp(a.m->params, c.m->params, nb), 0);
  trainee_destroy(&c);
  trainee_create(&c, spec, 4);
  SL_ASSERT_OK(sl_checkpoint_bind(&ck, 11, sha, c.m, c.o, c.curve_loss, c.curve_tokens, P_POINTS));
  SL_ASSERT_OK(sl_checkpoint_load(path, &ck));
  c.o->step = ck.optim_step; /* rng left at c's own fresh stream */
  train_steps(&c, corpus, D, ck.step, total, total, loss_c);
  CU_ASSERT_NOT_EQUAL(memcmp(a.m->params, c.m->params, nb), 0);
  trainee_destroy(&c);

  trainee_destroy(&a);
  trainee_destroy(&b);
  free(init);
  free(loss_a);
  free(loss_b);
  free(loss_c);
  free(corpus);
}

static void test_resume_mlp(void) {
  sl_model_spec s = {
      .family = SL_MODEL_MLP, .V = 16, .T = 4, .B = 16, .C = 8, .H = 32, .n_layer = 1};
  check_resume(&s, 15, "mlp.ckpt");
}

static void test_resume_gpt(void) {
  sl_model_spec s = {.family = SL_MODEL_GPT,
                     .V = 16,
                     .T = 8,
                     .B = 4,
                     .C = 16,
                     .n_layer = 2,
                     .n_head = 2,
                     .tied = 1};
  check_resume(&s, 10, "gpt.ckpt");
  s.tied = 0;
  check_resume(&s, 10, "gpt_untied.ckpt");
}

/* ---------------------------------------------------------------- main */

static void remove_dir(void) {
  const char *names[] = {"rt.ckpt",     "good.ckpt", "bad.ckpt", "id.ckpt",
                         "atomic.ckpt", "mlp.ckpt",  "gpt.ckpt", "gpt_untied.ckpt"};
  char p[160];
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    path_of(p, sizeof p, names[i]);
    remove(p);
  }
  rmdir(dir);
}

int main(int argc, char **argv) {
  snprintf(dir, sizeof dir, "/tmp/sl_ckpt_XXXXXX");
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 2;
  }
  static const sl_test tests[] = {{"round trip bit-exact, peek", test_round_trip},
                                  {"truncated, extended, flipped, magic, version", test_damaged},
                                  {"another cell's checkpoint refused", test_identity},
                                  {"atomic replace, stale .tmp", test_atomic},
                                  {"MLP: K + save/load + K == 2K bitwise", test_resume_mlp},
                                  {"GPT: K + save/load + K == 2K bitwise", test_resume_gpt},
                                  {NULL, NULL}};
  int rc = sl_test_main(argc, argv, "checkpoint", tests);
  remove_dir();
  return rc;
}
