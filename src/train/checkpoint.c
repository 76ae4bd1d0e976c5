/* Checkpoints of a cell in training. The file layout is documented in
 * include/slingshot/checkpoint.h; this file is its only reader and writer. Legend: N params,
 * P loss-curve points. */
#include "slingshot/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "slingshot/error.h"

/* Offsets in the header (see the table in checkpoint.h). */
enum {
  OFF_MAGIC = 0,
  OFF_VERSION = 8,
  OFF_HEADER_BYTES = 12,
  OFF_PAYLOAD_BYTES = 16,
  OFF_PAYLOAD_SUM = 24,
  OFF_CELL = 32,
  OFF_FAMILY = 40,
  OFF_OPTIM = 44,
  OFF_N = 48,
  OFF_STEP = 56,
  OFF_OPTIM_STEP = 64,
  OFF_TOKENS = 72,
  OFF_P = 80,
  OFF_NEXT_POINT = 84,
  OFF_RNG = 88,
  OFF_SHA = 120,
  SHA_FIELD = 72,
  OFF_HEADER_SUM = 248,
  HEADER = SL_CHECKPOINT_HEADER_BYTES
};

#define FNV_BASIS 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

/* Bytes encoded per chunk while streaming the payload. */
#define CHUNK (1u << 16)

static uint64_t fnv1a(uint64_t h, const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= FNV_PRIME;
  }
  return h;
}

static void put_u32(uint8_t *p, uint32_t x) {
  for (size_t i = 0; i < 4; i++)
    p[i] = (uint8_t)(x >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t x) {
  for (size_t i = 0; i < 8; i++)
    p[i] = (uint8_t)(x >> (8 * i));
}
static uint32_t get_u32(const uint8_t *p) {
  uint32_t x = 0;
  for (size_t i = 0; i < 4; i++)
    x |= (uint32_t)p[i] << (8 * i);
  return x;
}
static uint64_t get_u64(const uint8_t *p) {
  uint64_t x = 0;
  for (size_t i = 0; i < 8; i++)
    x |= (uint64_t)p[i] << (8 * i);
  return x;
}

/* The payload as a list of arrays: 4-byte floats then 8-byte doubles, in file order. */
typedef struct segment {
  void *data;
  size_t count, width; /* elements, bytes per element (4 or 8) */
} segment;

static void payload_segments(const sl_checkpoint *ck, segment seg[5]) {
  const size_t N = ck->n_params, P = (size_t)ck->n_points;
  seg[0] = (segment){ck->params, N, 4};
  seg[1] = (segment){ck->m, N, 4};
  seg[2] = (segment){ck->v, N, 4};
  seg[3] = (segment){ck->curve_loss, P, 8};
  seg[4] = (segment){ck->curve_tokens, P, 8};
}

/* 12 N + 16 P, or 0 with *ok = 0 when it overflows. */
static uint64_t payload_bytes(uint64_t N, uint64_t P, int *ok) {
  *ok = N <= (UINT64_MAX - 16 * (uint64_t)UINT32_MAX - HEADER) / 12 && P <= UINT32_MAX;
  return *ok ? 12 * N + 16 * P : 0;
}

/* ---------------------------------------------------------------- bind */

int sl_checkpoint_bind(sl_checkpoint *ck, int64_t cell_index, const char *config_sha256,
                       sl_model *m, sl_optim *o, double *curve_loss, double *curve_tokens,
                       int n_points) {
  SL_CHECK(ck && config_sha256 && m && o, SL_ERR_ARG, "NULL argument");
  SL_CHECK(o->n == m->n_params, SL_ERR_ARG,
           "optimiser over %zu parameters bound with a model of %zu", o->n, m->n_params);
  SL_CHECK(n_points >= 0 && (n_points == 0 || (curve_loss && curve_tokens)), SL_ERR_ARG,
           "curve of %d points without its buffers", n_points);
  SL_CHECK(strlen(config_sha256) == 64, SL_ERR_ARG,
           "config SHA-256 must be 64 hex characters, got %zu", strlen(config_sha256));
  memset(ck, 0, sizeof *ck);
  ck->cell_index = cell_index;
  ck->family = (int)m->spec.family;
  ck->optim_kind = (int)o->spec.kind;
  memcpy(ck->config_sha256, config_sha256, 65);
  ck->n_params = m->n_params;
  ck->n_points = n_points;
  ck->params = m->params;
  ck->m = o->m;
  ck->v = o->v;
  ck->curve_loss = curve_loss;
  ck->curve_tokens = curve_tokens;
  return SL_OK;
}

/* ---------------------------------------------------------------- save */

static int write_all(FILE *f, const void *p, size_t n, const char *path) {
  SL_CHECK(fwrite(p, 1, n, f) == n, SL_ERR_IO, "cannot write checkpoint %s: %s", path,
           strerror(errno));
  return SL_OK;
}

/* Streams the payload into f, little-endian, and returns its checksum in *sum. */
static int write_payload(FILE *f, const sl_checkpoint *ck, uint8_t *buf, const char *path,
                         uint64_t *sum) {
  segment seg[5];
  payload_segments(ck, seg);
  uint64_t h = FNV_BASIS;
  for (size_t s = 0; s < 5; s++) {
    const uint8_t *src = seg[s].data;
    const size_t w = seg[s].width, per = CHUNK / w;
    for (size_t i0 = 0; i0 < seg[s].count; i0 += per) {
      const size_t n = seg[s].count - i0 < per ? seg[s].count - i0 : per;
      for (size_t i = 0; i < n; i++) {
        if (w == 4) {
          uint32_t x;
          memcpy(&x, src + (i0 + i) * 4, 4);
          put_u32(buf + i * 4, x);
        } else {
          uint64_t x;
          memcpy(&x, src + (i0 + i) * 8, 8);
          put_u64(buf + i * 8, x);
        }
      }
      h = fnv1a(h, buf, n * w);
      SL_CALL(write_all(f, buf, n * w, path));
    }
  }
  *sum = h;
  return SL_OK;
}

static void encode_header(uint8_t *hd, const sl_checkpoint *ck, uint64_t payload,
                          uint64_t payload_sum) {
  memset(hd, 0, HEADER);
  memcpy(hd + OFF_MAGIC, SL_CHECKPOINT_MAGIC, 8);
  put_u32(hd + OFF_VERSION, SL_CHECKPOINT_VERSION);
  put_u32(hd + OFF_HEADER_BYTES, HEADER);
  put_u64(hd + OFF_PAYLOAD_BYTES, payload);
  put_u64(hd + OFF_PAYLOAD_SUM, payload_sum);
  put_u64(hd + OFF_CELL, (uint64_t)ck->cell_index);
  put_u32(hd + OFF_FAMILY, (uint32_t)ck->family);
  put_u32(hd + OFF_OPTIM, (uint32_t)ck->optim_kind);
  put_u64(hd + OFF_N, (uint64_t)ck->n_params);
  put_u64(hd + OFF_STEP, (uint64_t)ck->step);
  put_u64(hd + OFF_OPTIM_STEP, (uint64_t)ck->optim_step);
  put_u64(hd + OFF_TOKENS, (uint64_t)ck->tokens_trained);
  put_u32(hd + OFF_P, (uint32_t)ck->n_points);
  put_u32(hd + OFF_NEXT_POINT, (uint32_t)ck->next_point);
  for (size_t i = 0; i < 4; i++)
    put_u64(hd + OFF_RNG + 8 * i, ck->rng.s[i]);
  memcpy(hd + OFF_SHA, ck->config_sha256, strnlen(ck->config_sha256, 64));
  put_u64(hd + OFF_HEADER_SUM, fnv1a(FNV_BASIS, hd, OFF_HEADER_SUM));
}

/* Best effort: makes the rename durable. Some file systems refuse fsync on a directory; the
 * checkpoint itself is already on disk then, so this is not an error. */
static void fsync_parent(const char *path) {
  char dir[4096];
  const char *slash = strrchr(path, '/');
  if (!slash)
    snprintf(dir, sizeof dir, ".");
  else if (slash == path)
    snprintf(dir, sizeof dir, "/");
  else
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
  int fd = open(dir, O_RDONLY);
  if (fd >= 0) {
    (void)fsync(fd);
    close(fd);
  }
}

int sl_checkpoint_save(const char *path, const sl_checkpoint *ck) {
  SL_CHECK(path && ck, SL_ERR_ARG, "NULL argument");
  SL_CHECK(ck->n_params > 0 && ck->params && ck->m && ck->v, SL_ERR_ARG,
           "checkpoint %s: no parameter or optimiser buffers (call sl_checkpoint_bind)", path);
  SL_CHECK(ck->n_points >= 0 && (ck->n_points == 0 || (ck->curve_loss && ck->curve_tokens)),
           SL_ERR_ARG, "checkpoint %s: a curve of %d points without its buffers", path,
           ck->n_points);
  SL_CHECK(ck->next_point >= 0 && ck->next_point <= ck->n_points && ck->step >= 0, SL_ERR_ARG,
           "checkpoint %s: next point %d outside 0..%d or negative step %lld", path, ck->next_point,
           ck->n_points, (long long)ck->step);
  int ok;
  const uint64_t payload = payload_bytes(ck->n_params, (uint64_t)ck->n_points, &ok);
  SL_CHECK(ok, SL_ERR_ARG, "checkpoint %s: %zu parameters is too many", path, ck->n_params);

  int err = SL_OK;
  char *tmp = NULL;
  uint8_t *buf = NULL;
  FILE *f = NULL;
  const size_t len = strlen(path);
  SL_ALLOC(tmp, len + 5);
  memcpy(tmp, path, len);
  memcpy(tmp + len, ".tmp", 5);
  buf = malloc(CHUNK);
  SL_CHECK_GOTO(buf, SL_ERR_NOMEM, done, "out of memory for a %u B write buffer", CHUNK);

  f = fopen(tmp, "wb");
  SL_CHECK_GOTO(f, SL_ERR_IO, done, "cannot write checkpoint %s: %s", tmp, strerror(errno));
  /* The header carries the payload's checksum, so it is written last, over a placeholder. */
  uint8_t hd[HEADER];
  memset(hd, 0, sizeof hd);
  SL_CALL_GOTO(write_all(f, hd, HEADER, tmp), done);
  uint64_t sum = 0;
  SL_CALL_GOTO(write_payload(f, ck, buf, tmp, &sum), done);
  encode_header(hd, ck, payload, sum);
  SL_CHECK_GOTO(fseek(f, 0, SEEK_SET) == 0, SL_ERR_IO, done, "cannot seek in checkpoint %s: %s",
                tmp, strerror(errno));
  SL_CALL_GOTO(write_all(f, hd, HEADER, tmp), done);
  SL_CHECK_GOTO(fflush(f) == 0 && fsync(fileno(f)) == 0, SL_ERR_IO, done,
                "cannot flush checkpoint %s to disk: %s", tmp, strerror(errno));
  const int closed = fclose(f);
  f = NULL;
  SL_CHECK_GOTO(closed == 0, SL_ERR_IO, done, "cannot close checkpoint %s: %s", tmp,
                strerror(errno));
  SL_CHECK_GOTO(rename(tmp, path) == 0, SL_ERR_IO, done, "cannot rename %s to %s: %s", tmp, path,
                strerror(errno));
  fsync_parent(path);

done:
  if (f) fclose(f);
  if (err != SL_OK && tmp) {
    struct stat st;
    if (stat(tmp, &st) == 0 && S_ISREG(st.st_mode)) remove(tmp);
  }
  free(buf);
  free(tmp);
  return err;
}

/* ---------------------------------------------------------------- load */

/* Opens path, checks its header and size, and decodes the header into *hdr (buffers NULL). On
 * success *fp is positioned at the payload and *payload_sum holds the declared checksum. */
static int open_checked(const char *path, FILE **fp, sl_checkpoint *hdr, uint64_t *payload_sum) {
  *fp = NULL;
  FILE *f = fopen(path, "rb");
  SL_CHECK(f, SL_ERR_IO, "cannot open checkpoint %s: %s", path, strerror(errno));
  int err = SL_OK;
  struct stat st;
  SL_CHECK_GOTO(fstat(fileno(f), &st) == 0, SL_ERR_IO, fail, "cannot stat checkpoint %s: %s", path,
                strerror(errno));
  const uint64_t size = (uint64_t)st.st_size;
  uint8_t hd[HEADER];
  const size_t got = fread(hd, 1, HEADER, f);
  SL_CHECK_GOTO(got == HEADER || !ferror(f), SL_ERR_IO, fail, "cannot read checkpoint %s: %s", path,
                strerror(errno));
  SL_CHECK_GOTO(got >= 8 && memcmp(hd + OFF_MAGIC, SL_CHECKPOINT_MAGIC, 8) == 0, SL_ERR_FORMAT,
                fail, "%s is not a slingshot checkpoint (it does not start with \"%s\")", path,
                SL_CHECKPOINT_MAGIC);
  SL_CHECK_GOTO(got >= 16, SL_ERR_FORMAT, fail,
                "checkpoint %s is truncated: %llu bytes, shorter than its header", path,
                (unsigned long long)size);
  const uint32_t version = get_u32(hd + OFF_VERSION);
  SL_CHECK_GOTO(version == SL_CHECKPOINT_VERSION, SL_ERR_FORMAT, fail,
                "checkpoint %s has format version %u; this slingshot reads version %u only "
                "(delete it to restart the cell from scratch)",
                path, version, SL_CHECKPOINT_VERSION);
  SL_CHECK_GOTO(get_u32(hd + OFF_HEADER_BYTES) == HEADER, SL_ERR_FORMAT, fail,
                "checkpoint %s declares a %u-byte header; version %u has %u", path,
                get_u32(hd + OFF_HEADER_BYTES), SL_CHECKPOINT_VERSION, HEADER);
  SL_CHECK_GOTO(got == HEADER, SL_ERR_FORMAT, fail,
                "checkpoint %s is truncated: %llu bytes, shorter than its %u-byte header", path,
                (unsigned long long)size, HEADER);
  SL_CHECK_GOTO(get_u64(hd + OFF_HEADER_SUM) == fnv1a(FNV_BASIS, hd, OFF_HEADER_SUM), SL_ERR_FORMAT,
                fail, "checkpoint %s is corrupted: its header checksum does not match", path);

  const uint64_t N = get_u64(hd + OFF_N), P = get_u32(hd + OFF_P);
  const uint64_t payload = get_u64(hd + OFF_PAYLOAD_BYTES);
  int ok;
  const uint64_t expect = payload_bytes(N, P, &ok);
  SL_CHECK_GOTO(ok && N <= SIZE_MAX && P <= INT32_MAX && payload == expect, SL_ERR_FORMAT, fail,
                "checkpoint %s is corrupted: a payload of %llu bytes for N=%llu, P=%llu", path,
                (unsigned long long)payload, (unsigned long long)N, (unsigned long long)P);
  SL_CHECK_GOTO(size >= HEADER + payload, SL_ERR_FORMAT, fail,
                "checkpoint %s is truncated: %llu bytes where %llu were written", path,
                (unsigned long long)size, (unsigned long long)(HEADER + payload));
  SL_CHECK_GOTO(size == HEADER + payload, SL_ERR_FORMAT, fail,
                "checkpoint %s is damaged: %llu bytes, %llu more than were written", path,
                (unsigned long long)size, (unsigned long long)(size - HEADER - payload));

  memset(hdr, 0, sizeof *hdr);
  hdr->cell_index = (int64_t)get_u64(hd + OFF_CELL);
  hdr->family = (int)get_u32(hd + OFF_FAMILY);
  hdr->optim_kind = (int)get_u32(hd + OFF_OPTIM);
  hdr->n_params = (size_t)N;
  hdr->n_points = (int)P;
  hdr->step = (int64_t)get_u64(hd + OFF_STEP);
  hdr->optim_step = (int64_t)get_u64(hd + OFF_OPTIM_STEP);
  hdr->tokens_trained = (int64_t)get_u64(hd + OFF_TOKENS);
  hdr->next_point = (int)get_u32(hd + OFF_NEXT_POINT);
  for (size_t i = 0; i < 4; i++)
    hdr->rng.s[i] = get_u64(hd + OFF_RNG + 8 * i);
  memcpy(hdr->config_sha256, hd + OFF_SHA, 64);
  hdr->config_sha256[64] = '\0';
  SL_CHECK_GOTO(memchr(hd + OFF_SHA, 0, SHA_FIELD) != NULL && hdr->next_point >= 0 &&
                    (uint64_t)hdr->next_point <= P && hdr->step >= 0,
                SL_ERR_FORMAT, fail, "checkpoint %s is corrupted: inconsistent header fields",
                path);
  *payload_sum = get_u64(hd + OFF_PAYLOAD_SUM);
  *fp = f;
  return SL_OK;
fail:
  fclose(f);
  return err;
}

int sl_checkpoint_peek(const char *path, sl_checkpoint *ck) {
  SL_CHECK(path && ck, SL_ERR_ARG, "NULL argument");
  FILE *f = NULL;
  uint64_t sum;
  SL_CALL(open_checked(path, &f, ck, &sum));
  fclose(f);
  return SL_OK;
}

/* Says which identity field of the file (got) differs from the caller's (want), or "" if none. */
static void identity_diff(const sl_checkpoint *got, const sl_checkpoint *want, char *buf,
                          size_t size) {
  buf[0] = '\0';
  if (got->cell_index != want->cell_index)
    snprintf(buf, size, "it is of cell %lld, not %lld", (long long)got->cell_index,
             (long long)want->cell_index);
  else if (strcmp(got->config_sha256, want->config_sha256) != 0)
    snprintf(buf, size, "it was made with another config (sha256 %.12s..., now %.12s...)",
             got->config_sha256, want->config_sha256);
  else if (got->family != want->family)
    snprintf(buf, size, "it is of a %s model, not %s",
             sl_model_family_name((sl_model_family)got->family),
             sl_model_family_name((sl_model_family)want->family));
  else if (got->optim_kind != want->optim_kind)
    snprintf(buf, size, "its optimiser kind is %d, not %d", got->optim_kind, want->optim_kind);
  else if (got->n_params != want->n_params)
    snprintf(buf, size, "it has %zu parameters, not %zu", got->n_params, want->n_params);
  else if (got->n_points != want->n_points)
    snprintf(buf, size, "it has %d loss-curve points, not %d", got->n_points, want->n_points);
}

/* Streams the payload from f into ck's buffers and checks its checksum. */
static int read_payload(FILE *f, const sl_checkpoint *ck, uint8_t *buf, const char *path,
                        uint64_t want_sum) {
  segment seg[5];
  payload_segments(ck, seg);
  uint64_t h = FNV_BASIS;
  for (size_t s = 0; s < 5; s++) {
    uint8_t *dst = seg[s].data;
    const size_t w = seg[s].width, per = CHUNK / w;
    for (size_t i0 = 0; i0 < seg[s].count; i0 += per) {
      const size_t n = seg[s].count - i0 < per ? seg[s].count - i0 : per;
      SL_CHECK(fread(buf, 1, n * w, f) == n * w, SL_ERR_FORMAT,
               "checkpoint %s is truncated: the payload ended early (%s)", path,
               ferror(f) ? strerror(errno) : "end of file");
      h = fnv1a(h, buf, n * w);
      for (size_t i = 0; i < n; i++) {
        if (w == 4) {
          const uint32_t x = get_u32(buf + i * 4);
          memcpy(dst + (i0 + i) * 4, &x, 4);
        } else {
          const uint64_t x = get_u64(buf + i * 8);
          memcpy(dst + (i0 + i) * 8, &x, 8);
        }
      }
    }
  }
  SL_CHECK(h == want_sum, SL_ERR_FORMAT,
           "checkpoint %s is corrupted: its payload checksum does not match (delete it to restart "
           "the cell from scratch)",
           path);
  return SL_OK;
}

int sl_checkpoint_load(const char *path, sl_checkpoint *ck) {
  SL_CHECK(path && ck, SL_ERR_ARG, "NULL argument");
  SL_CHECK(ck->n_params > 0 && ck->params && ck->m && ck->v, SL_ERR_ARG,
           "loading checkpoint %s: no parameter or optimiser buffers (call sl_checkpoint_bind)",
           path);
  SL_CHECK(ck->n_points >= 0 && (ck->n_points == 0 || (ck->curve_loss && ck->curve_tokens)),
           SL_ERR_ARG, "loading checkpoint %s: a curve of %d points without its buffers", path,
           ck->n_points);
  FILE *f = NULL;
  sl_checkpoint got;
  uint64_t sum = 0;
  SL_CALL(open_checked(path, &f, &got, &sum));
  int err = SL_OK;
  uint8_t *buf = NULL;
  char why[256];
  identity_diff(&got, ck, why, sizeof why);
  SL_CHECK_GOTO(why[0] == '\0', SL_ERR_STATE, done,
                "checkpoint %s does not belong to this cell: %s (delete it to restart the cell)",
                path, why);
  buf = malloc(CHUNK);
  SL_CHECK_GOTO(buf, SL_ERR_NOMEM, done, "out of memory for a %u B read buffer", CHUNK);
  SL_CALL_GOTO(read_payload(f, ck, buf, path, sum), done);
  ck->step = got.step;
  ck->optim_step = got.optim_step;
  ck->tokens_trained = got.tokens_trained;
  ck->next_point = got.next_point;
  ck->rng = got.rng;
done:
  free(buf);
  fclose(f);
  return err;
}
