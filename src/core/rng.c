/* xoshiro256** (Blackman and Vigna) seeded by splitmix64, written from the published algorithm. */
#include "slingshot/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t sl_hash_str(const char *s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 0x100000001b3ull;
  }
  return h;
}

uint64_t sl_seed_mix(uint64_t a, uint64_t b) {
  uint64_t x = a ^ (b * 0xD1B54A32D192ED03ull);
  splitmix64(&x);
  return splitmix64(&x);
}

void sl_rng_seed(sl_rng *r, uint64_t seed) {
  uint64_t x = seed;
  for (int i = 0; i < 4; i++)
    r->s[i] = splitmix64(&x);
}

void sl_rng_stream(sl_rng *r, uint64_t config_seed, uint64_t index, const char *name) {
  sl_rng_seed(r, sl_seed_mix(sl_seed_mix(config_seed, index), sl_hash_str(name)));
}

static inline uint64_t rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

uint64_t sl_rng_u64(sl_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double sl_rng_uniform(sl_rng *r) {
  return (double)(sl_rng_u64(r) >> 11) * 0x1.0p-53;
}

uint64_t sl_rng_below(sl_rng *r, uint64_t n) {
  /* Rejection on the top range so that every residue is equally likely. */
  uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do
    x = sl_rng_u64(r);
  while (x >= limit);
  return x % n;
}

double sl_rng_normal(sl_rng *r) {
  double u1 = 1.0 - sl_rng_uniform(r); /* (0, 1]: log is finite */
  double u2 = sl_rng_uniform(r);
  return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}
