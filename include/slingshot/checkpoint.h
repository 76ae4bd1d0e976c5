/* Checkpoints of a cell in training: everything needed to continue it bitwise as if it had never
 * stopped, in one binary file. Nothing here is collective; each rank writes its own cells' files.
 *
 * What a checkpoint holds (legend: N params, P loss-curve points):
 *   identity  cell index, model family, optimiser kind, N, P, SHA-256 of the resolved config
 *   progress  steps done, the optimiser's step count, tokens trained, next curve point, and the
 *             batch stream (sl_rng, four words) as it stands before the next step's batch
 *   state     params [N], AdamW/SGD moments m [N] and v [N] (v is zero for SGD, see optim.c),
 *             the curve so far: loss [P] and tokens [P] (NaN where not reached yet)
 * Gradients and activations are not stored: a step recomputes them from params and the batch.
 *
 * File layout, version 1. Every integer and float is little-endian whatever the host; floats are
 * IEEE-754 binary32 (state) and binary64 (curve), stored bit for bit.
 *
 *   offset size  field
 *        0    8  magic "SLCKPT01" (no NUL)
 *        8    4  u32 format version = 1
 *       12    4  u32 header size in bytes = 256
 *       16    8  u64 payload size in bytes = 12 N + 16 P
 *       24    8  u64 FNV-1a 64 of the payload bytes
 *       32    8  i64 cell index
 *       40    4  u32 model family (0 mlp, 1 gpt: sl_model_family)
 *       44    4  u32 optimiser kind (0 adamw, 1 sgd: sl_optim_kind)
 *       48    8  u64 N
 *       56    8  i64 steps done (training resumes at this step)
 *       64    8  i64 optimiser step count
 *       72    8  i64 tokens trained
 *       80    4  u32 P
 *       84    4  u32 next curve point (0 .. P)
 *       88   32  u64 x 4 batch rng state s[0..3]
 *      120   72  config SHA-256: 64 lowercase hex characters, then NUL padding
 *      192   56  reserved, zero
 *      248    8  u64 FNV-1a 64 of header bytes 0 .. 247
 *      256       payload: params f32 [N], m f32 [N], v f32 [N], curve loss f64 [P],
 *                curve tokens f64 [P]
 * The file is exactly 256 + 12 N + 16 P bytes. FNV-1a 64 (offset basis 0xcbf29ce484222325, prime
 * 0x100000001b3, bytewise) changes under any single changed byte, since each step is a bijection of
 * the state; together with the sizes it refuses truncated, extended and corrupted files.
 *
 * Writing is atomic: the file is written to PATH.tmp, flushed and fsync'ed, then renamed over PATH
 * (and the directory fsync'ed), so a kill at any moment leaves either the old or the new PATH,
 * never a mixture. A stale PATH.tmp from a killed write is ignored by load and replaced by the next
 * save. */
#ifndef SLINGSHOT_CHECKPOINT_H
#define SLINGSHOT_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "slingshot/model.h"
#include "slingshot/optim.h"
#include "slingshot/rng.h"

#define SL_CHECKPOINT_MAGIC "SLCKPT01"
#define SL_CHECKPOINT_VERSION 1u
#define SL_CHECKPOINT_HEADER_BYTES 256u

typedef struct sl_checkpoint {
  /* identity: load refuses a file whose identity differs (SL_ERR_STATE, naming what differs) */
  int64_t cell_index;
  int family;             /* sl_model_family */
  int optim_kind;         /* sl_optim_kind */
  char config_sha256[65]; /* 64 hex characters of the resolved config text, NUL-terminated */
  size_t n_params;        /* N: length of params, m, v */
  int n_points;           /* P: length of curve_loss, curve_tokens */
  /* progress: save writes these, load sets them */
  int64_t step;           /* training steps done: the loop resumes at this step */
  int64_t optim_step;     /* sl_optim.step */
  int64_t tokens_trained; /* predicted tokens seen so far */
  int next_point;         /* index of the next loss-curve point, 0 .. P */
  sl_rng rng;             /* batch stream, before the batch of step `step` */
  /* state, caller-owned: save reads these buffers, load overwrites them */
  float *params, *m, *v;             /* [N] each */
  double *curve_loss, *curve_tokens; /* [P] each (may be NULL when P = 0) */
} sl_checkpoint;

/* Fills the identity and the buffer pointers of ck for a cell trained with m and o: family, N and
 * the optimiser kind from them, buffers pointing at m->params, o->m, o->v and the curve arrays.
 * The progress fields are zeroed. Call it once; then before each save set step, optim_step
 * (= o->step), tokens_trained, next_point and rng; after a load set o->step = ck->optim_step. */
int sl_checkpoint_bind(sl_checkpoint *ck, int64_t cell_index, const char *config_sha256,
                       sl_model *m, sl_optim *o, double *curve_loss, double *curve_tokens,
                       int n_points);

/* Writes ck to path atomically (PATH.tmp, fsync, rename). SL_ERR_IO naming the file on any
 * failure, in which case an existing PATH is left as it was and PATH.tmp is removed. */
int sl_checkpoint_save(const char *path, const sl_checkpoint *ck);

/* Reads path into ck. ck's identity (cell_index, family, optim_kind, config_sha256, n_params,
 * n_points) and buffers must be set (sl_checkpoint_bind); the file must match that identity.
 * Errors: SL_ERR_IO if the file cannot be opened or read; SL_ERR_FORMAT if it is not a valid
 * checkpoint (wrong magic or version, truncated, extended, checksum mismatch); SL_ERR_STATE if it
 * is a valid checkpoint of something else. Each message names the file. On error the buffers may
 * hold part of the file's state, and the progress fields are unchanged. */
int sl_checkpoint_load(const char *path, sl_checkpoint *ck);

/* Reads and checks only the header of path (magic, version, header checksum, file size against the
 * sizes it declares) and fills the identity and progress fields of ck; the buffer pointers are set
 * to NULL. For deciding whether a checkpoint belongs to a cell before allocating anything. The
 * payload checksum is checked by load only. */
int sl_checkpoint_peek(const char *path, sl_checkpoint *ck);

#endif
