/* Deterministic random numbers. Not collective.
 *
 * xoshiro256** seeded through splitmix64. A cell's streams derive from (config seed, index,
 * stream name) only, so a cell's numbers never depend on the rank that runs it or the order of
 * cells. The whole state is four words, so a checkpoint stores it as it is. */
#ifndef SLINGSHOT_RNG_H
#define SLINGSHOT_RNG_H

#include <stdint.h>

typedef struct sl_rng {
  uint64_t s[4];
} sl_rng;

/* FNV-1a hash of a string: the stream name's contribution to a seed. */
uint64_t sl_hash_str(const char *s);
/* Mixes two words into a well-spread seed (splitmix64 finaliser). */
uint64_t sl_seed_mix(uint64_t a, uint64_t b);
void sl_rng_seed(sl_rng *r, uint64_t seed);
/* The stream `name` of item `index` under `config_seed`. */
void sl_rng_stream(sl_rng *r, uint64_t config_seed, uint64_t index, const char *name);
uint64_t sl_rng_u64(sl_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double sl_rng_uniform(sl_rng *r);
/* Uniform integer in [0, n), unbiased; n > 0. */
uint64_t sl_rng_below(sl_rng *r, uint64_t n);
/* Standard normal (Box-Muller; stateless beyond s[4]). */
double sl_rng_normal(sl_rng *r);

#endif
