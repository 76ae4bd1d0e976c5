/* Optimisers over flat buffers, and the learning-rate schedule. Nothing here is collective. */
#ifndef SLINGSHOT_OPTIM_H
#define SLINGSHOT_OPTIM_H

#include <stddef.h>
#include <stdint.h>

typedef enum sl_optim_kind { SL_OPTIM_ADAMW = 0, SL_OPTIM_SGD = 1 } sl_optim_kind;

typedef struct sl_optim_spec {
  sl_optim_kind kind;
  double beta1, beta2, eps; /* AdamW */
  double weight_decay;      /* decoupled (AdamW) / L2-free decoupled for SGD too */
  double momentum;          /* SGD */
} sl_optim_spec;

typedef struct sl_optim {
  sl_optim_spec spec;
  size_t n;
  float *m, *v; /* [n] moments (v unused by SGD) */
  int64_t step; /* steps taken */
} sl_optim;

int sl_optim_create(const sl_optim_spec *spec, size_t n, sl_optim **out);
/* One update with learning rate lr; decay[i] = 1 where weight decay applies (NULL: everywhere). */
int sl_optim_step(sl_optim *o, float *params, const float *grads, const uint8_t *decay, double lr);
void sl_optim_destroy(sl_optim *o);

/* L2 norm of g (accumulated in double). */
double sl_grad_norm(const float *g, size_t n);
/* Scales g so that its norm is at most max_norm (max_norm <= 0: no clipping); returns the norm
 * before clipping in *norm. */
void sl_grad_clip(float *g, size_t n, double max_norm, double *norm);
/* Linear warmup over `warmup` steps to lr, then cosine decay to min_lr at step `total`. */
double sl_lr_at(double lr, double min_lr, int64_t step, int64_t warmup, int64_t total);

#endif
