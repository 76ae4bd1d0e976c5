/* Optimisers over flat buffers (AdamW, SGD with momentum), gradient clipping and the learning-rate
 * schedule. Legend: N params.
 *
 * The state is m, v and step only, so a checkpoint stores the two [N] buffers and one integer. */
#include "slingshot/optim.h"

#include <math.h>
#include <stdlib.h>

#include "slingshot/error.h"
#include "model_impl.h"

int sl_optim_create(const sl_optim_spec *spec, size_t n, sl_optim **out) {
  SL_CHECK(spec != NULL && out != NULL, SL_ERR_ARG, "NULL argument");
  *out = NULL;
  SL_CHECK(n > 0, SL_ERR_ARG, "optimiser over 0 parameters");
  SL_CHECK(spec->kind == SL_OPTIM_ADAMW || spec->kind == SL_OPTIM_SGD, SL_ERR_CONFIG,
           "unknown optimiser kind %d", (int)spec->kind);
  SL_CHECK(isfinite(spec->weight_decay) && spec->weight_decay >= 0, SL_ERR_CONFIG,
           "weight_decay must be >= 0, got %g", spec->weight_decay);
  if (spec->kind == SL_OPTIM_ADAMW) {
    SL_CHECK(spec->beta1 >= 0 && spec->beta1 < 1 && spec->beta2 >= 0 && spec->beta2 < 1,
             SL_ERR_CONFIG, "AdamW betas must lie in [0, 1), got beta1=%g beta2=%g", spec->beta1,
             spec->beta2);
    SL_CHECK(spec->eps > 0 && isfinite(spec->eps), SL_ERR_CONFIG, "AdamW eps must be > 0, got %g",
             spec->eps);
  } else {
    SL_CHECK(spec->momentum >= 0 && spec->momentum < 1, SL_ERR_CONFIG,
             "SGD momentum must lie in [0, 1), got %g", spec->momentum);
  }
  int err = SL_OK;
  sl_optim *o = NULL;
  SL_ALLOC(o, 1);
  o->spec = *spec;
  o->n = n;
  o->step = 0;
  /* v is allocated for SGD too (and stays zero) so that every checkpoint has the same layout. */
  o->m = sl_calloc(n, sizeof *o->m);
  o->v = sl_calloc(n, sizeof *o->v);
  SL_CHECK_GOTO(o->m && o->v, SL_ERR_NOMEM, fail, "out of memory for optimiser state of %zu x 2",
                n);
  *out = o;
  return SL_OK;
fail:
  sl_optim_destroy(o);
  return err;
}

void sl_optim_destroy(sl_optim *o) {
  if (!o) return;
  free(o->m);
  free(o->v);
  free(o);
}

/* AdamW (Loshchilov and Hutter 2019, algorithm 2 with the schedule multiplier folded into lr), in
 * the form torch.optim.AdamW computes, with t = step + 1:
 *   m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g^2,  mh = m / (1 - b1^t),  vh = v / (1 - b2^t)
 *   p = p - lr (mh / (sqrt(vh) + eps) + wd p)        (the wd term only where decay[i])
 * Decoupled: the decay shrinks p directly, it never enters m or v. One pass in float, as torch
 * does it: the per-step constants in double, the loop vectorised (SL_VEC). */
SL_VEC static void adamw_loop(float *restrict p, float *restrict m, float *restrict v,
                              const float *restrict g, const uint8_t *restrict decay, size_t n,
                              float b1, float b2, float ibc1, float ibc2, float eps, float lrf,
                              float lwd) {
  for (size_t i = 0; i < n; i++) {
    const float gi = g[i];
    const float mi = b1 * m[i] + (1.0f - b1) * gi;
    const float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    const float wd = decay[i] ? lwd : 0.0f;
    p[i] = p[i] - lrf * (mi * ibc1) / (sqrtf(vi * ibc2) + eps) - wd * p[i];
  }
}

static void adamw_step(sl_optim *o, float *params, const float *grads, const uint8_t *decay,
                       double lr) {
  const double b1 = o->spec.beta1, b2 = o->spec.beta2, eps = o->spec.eps;
  const double wd = o->spec.weight_decay;
  const double t = (double)(o->step + 1);
  const double bc1 = 1.0 - pow(b1, t), bc2 = 1.0 - pow(b2, t);
  if (decay)
    adamw_loop(params, o->m, o->v, grads, decay, o->n, (float)b1, (float)b2, (float)(1.0 / bc1),
               (float)(1.0 / bc2), (float)eps, (float)lr, (float)(lr * wd));
  else /* decay everywhere: the same loop over a mask of ones, in pieces */
    for (size_t off = 0; off < o->n; off += 4096) {
      static const uint8_t ones[4096] = {[0 ... 4095] = 1};
      const size_t k = o->n - off < 4096 ? o->n - off : 4096;
      adamw_loop(params + off, o->m + off, o->v + off, grads + off, ones, k, (float)b1, (float)b2,
                 (float)(1.0 / bc1), (float)(1.0 / bc2), (float)eps, (float)lr, (float)(lr * wd));
    }
}

/* SGD with momentum, torch's convention (no dampening, no Nesterov), decoupled decay:
 *   m = mu m + g,   p = p - lr (m + wd p)   (the wd term only where decay[i]) */
static void sgd_step(sl_optim *o, float *params, const float *grads, const uint8_t *decay,
                     double lr) {
  const double mu = o->spec.momentum, wd = o->spec.weight_decay;
  for (size_t i = 0; i < o->n; i++) {
    double m = mu * o->m[i] + (double)grads[i];
    o->m[i] = (float)m;
    double p = params[i];
    double update = m;
    if (!decay || decay[i]) update += wd * p;
    params[i] = (float)(p - lr * update);
  }
}

int sl_optim_step(sl_optim *o, float *params, const float *grads, const uint8_t *decay, double lr) {
  SL_CHECK(o != NULL && params != NULL && grads != NULL, SL_ERR_ARG, "NULL argument");
  SL_CHECK(isfinite(lr) && lr >= 0, SL_ERR_ARG, "learning rate must be finite and >= 0, got %g",
           lr);
  if (o->spec.kind == SL_OPTIM_ADAMW)
    adamw_step(o, params, grads, decay, lr);
  else
    sgd_step(o, params, grads, decay, lr);
  o->step++;
  return SL_OK;
}

SL_VEC double sl_grad_norm(const float *g, size_t n) {
  double acc[SL_LANES] = {0};
  size_t i = 0;
  for (; i + SL_LANES <= n; i += SL_LANES)
    for (size_t l = 0; l < SL_LANES; l++)
      acc[l] += (double)g[i + l] * g[i + l];
  double s = 0.0;
  for (; i < n; i++)
    s += (double)g[i] * g[i];
  for (size_t l = 0; l < SL_LANES; l++)
    s += acc[l];
  return sqrt(s);
}

/* Scale by exactly max_norm / norm (no epsilon), so a clipped gradient has norm max_norm up to
 * float rounding. A NaN/Inf norm is reported and left alone: the loss check catches it. */
void sl_grad_clip(float *g, size_t n, double max_norm, double *norm) {
  double nrm = sl_grad_norm(g, n);
  if (norm) *norm = nrm;
  if (max_norm <= 0 || !isfinite(nrm) || nrm <= max_norm) return;
  const double scale = max_norm / nrm;
  for (size_t i = 0; i < n; i++)
    g[i] = (float)(g[i] * scale);
}

/* Convention (0-based steps t):
 *   t < warmup:            lr * (t + 1) / warmup      (lr/warmup at t = 0, lr at t = warmup - 1)
 *   warmup <= t < total:   min_lr + (lr - min_lr) (1 + cos(pi (t - warmup) / (total - warmup))) / 2
 *   t >= total:            min_lr
 * so the cosine starts at lr at t = warmup and would reach min_lr at t = total. warmup <= 0 means
 * no warmup; a negative step counts as 0. */
double sl_lr_at(double lr, double min_lr, int64_t step, int64_t warmup, int64_t total) {
  if (step < 0) step = 0;
  if (warmup > 0 && step < warmup) return lr * (double)(step + 1) / (double)warmup;
  if (warmup < 0) warmup = 0;
  if (step >= total) return min_lr;
  const double progress = (double)(step - warmup) / (double)(total - warmup);
  return min_lr + 0.5 * (lr - min_lr) * (1.0 + cos(M_PI * progress));
}
