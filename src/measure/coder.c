/* Arithmetic coding of a symbol stream with a static model (its exact symbol counts), and the
 * message length of a quantised vector (SCIENCE.md section 3). See include/slingshot/bound.h.
 *
 * The coder is the integer coder of Witten, Neal and Cleary (CACM 1987) with 32-bit code values
 * held in 64-bit words: [low, high] shrinks to the symbol's slice of the cumulative counts, and
 * leading bits are sent as soon as low and high agree on them; a straddle of the middle
 * (low >= 1/4, high < 3/4) is deferred as a pending bit. Its length is within 2 bits of
 * sum_i -log2(count[s_i] / n) plus the rounding of slices, which with total < 2^30 is far below a
 * bit for any stream of interest. The decoder reads bits beyond the message as zeros. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "slingshot/bound.h"
#include "slingshot/error.h"

#define AC_BITS 32
#define AC_TOP (((uint64_t)1 << AC_BITS) - 1)
#define AC_HALF ((uint64_t)1 << (AC_BITS - 1))
#define AC_Q1 ((uint64_t)1 << (AC_BITS - 2))
#define AC_Q3 (3 * AC_Q1)

typedef struct bitbuf {
  uint8_t *b;
  size_t n_bits, cap_bytes;
} bitbuf;

static int put_bit(bitbuf *o, int bit) {
  if (o->n_bits / 8 >= o->cap_bytes) {
    size_t cap = o->cap_bytes ? 2 * o->cap_bytes : 256;
    uint8_t *nb = realloc(o->b, cap);
    SL_CHECK(nb, SL_ERR_NOMEM, "out of memory growing the code buffer to %zu bytes", cap);
    memset(nb + o->cap_bytes, 0, cap - o->cap_bytes);
    o->b = nb;
    o->cap_bytes = cap;
  }
  if (bit) o->b[o->n_bits / 8] |= (uint8_t)(0x80u >> (o->n_bits % 8));
  o->n_bits++;
  return SL_OK;
}

/* A bit and then `pending` opposite bits. */
static int put_bits(bitbuf *o, int bit, uint64_t *pending) {
  SL_CALL(put_bit(o, bit));
  for (; *pending > 0; (*pending)--)
    SL_CALL(put_bit(o, !bit));
  return SL_OK;
}

static int check_model(int L, const uint64_t *counts, size_t n, uint64_t *cum) {
  SL_CHECK(L >= 1 && L <= SL_BOUND_MAX_LEVELS, SL_ERR_ARG, "%d symbols: allowed 1 to %d", L,
           SL_BOUND_MAX_LEVELS);
  cum[0] = 0;
  for (int s = 0; s < L; s++)
    cum[s + 1] = cum[s] + counts[s];
  SL_CHECK(cum[L] == (uint64_t)n, SL_ERR_ARG, "the counts sum to %llu, not to the %zu symbols",
           (unsigned long long)cum[L], n);
  SL_CHECK(cum[L] < SL_AC_MAX_TOTAL, SL_ERR_ARG,
           "%zu symbols are too many for the 32-bit coder (at most 2^30 - 1)", n);
  return SL_OK;
}

int sl_ac_encode(const int32_t *sym, size_t n, int L, const uint64_t *counts, uint8_t **out,
                 size_t *n_bits) {
  int err = SL_OK;
  uint64_t *cum = NULL;
  bitbuf o = {0};
  SL_ALLOC(cum, (size_t)L + 1);
  SL_CALL_GOTO(check_model(L, counts, n, cum), done);
  const uint64_t total = cum[L];
  uint64_t low = 0, high = AC_TOP, pending = 0;
  for (size_t i = 0; i < n; i++) {
    int s = sym[i];
    SL_CHECK_GOTO(s >= 0 && s < L && counts[s] > 0, SL_ERR_ARG, done,
                  "symbol %d at %zu is outside the model", s, i);
    uint64_t range = high - low + 1;
    high = low + range * cum[s + 1] / total - 1;
    low = low + range * cum[s] / total;
    for (;;) {
      if (high < AC_HALF) {
        SL_CALL_GOTO(put_bits(&o, 0, &pending), done);
      } else if (low >= AC_HALF) {
        SL_CALL_GOTO(put_bits(&o, 1, &pending), done);
        low -= AC_HALF;
        high -= AC_HALF;
      } else if (low >= AC_Q1 && high < AC_Q3) {
        pending++;
        low -= AC_Q1;
        high -= AC_Q1;
      } else {
        break;
      }
      low = 2 * low;
      high = 2 * high + 1;
    }
  }
  /* Two more bits select a quarter inside [low, high]; the zeros read after them stay inside. */
  pending++;
  SL_CALL_GOTO(put_bits(&o, low >= AC_Q1, &pending), done);
  *out = o.b;
  *n_bits = o.n_bits;
  o.b = NULL;
done:
  free(o.b);
  free(cum);
  return err;
}

static int get_bit(const uint8_t *buf, size_t n_bits, size_t *pos) {
  size_t p = (*pos)++;
  return p < n_bits ? (buf[p / 8] >> (7 - p % 8)) & 1 : 0;
}

int sl_ac_decode(const uint8_t *buf, size_t n_bits, size_t n, int L, const uint64_t *counts,
                 int32_t *sym) {
  int err = SL_OK;
  uint64_t *cum = NULL;
  SL_ALLOC(cum, (size_t)L + 1);
  SL_CALL_GOTO(check_model(L, counts, n, cum), done);
  const uint64_t total = cum[L];
  uint64_t low = 0, high = AC_TOP, value = 0;
  size_t pos = 0;
  for (int b = 0; b < AC_BITS; b++)
    value = 2 * value + (uint64_t)get_bit(buf, n_bits, &pos);
  for (size_t i = 0; i < n; i++) {
    uint64_t range = high - low + 1;
    uint64_t scaled = ((value - low + 1) * total - 1) / range;
    /* The symbol s with cum[s] <= scaled < cum[s + 1]: binary search over the cumulative counts. */
    int lo = 0, hi = L - 1;
    while (lo < hi) {
      int mid = (lo + hi + 1) / 2;
      if (cum[mid] <= scaled)
        lo = mid;
      else
        hi = mid - 1;
    }
    SL_CHECK_GOTO(scaled < total && counts[lo] > 0, SL_ERR_FORMAT, done,
                  "the code does not decode at symbol %zu", i);
    sym[i] = lo;
    high = low + range * cum[lo + 1] / total - 1;
    low = low + range * cum[lo] / total;
    for (;;) {
      if (high < AC_HALF) {
        /* nothing to subtract */
      } else if (low >= AC_HALF) {
        low -= AC_HALF;
        high -= AC_HALF;
        value -= AC_HALF;
      } else if (low >= AC_Q1 && high < AC_Q3) {
        low -= AC_Q1;
        high -= AC_Q1;
        value -= AC_Q1;
      } else {
        break;
      }
      low = 2 * low;
      high = 2 * high + 1;
      value = 2 * value + (uint64_t)get_bit(buf, n_bits, &pos);
    }
  }
done:
  free(cum);
  return err;
}

int sl_code_length_measure(const int32_t *sym, size_t n, int L, const uint64_t *counts,
                           sl_code_length *out) {
  int err = SL_OK;
  uint8_t *buf = NULL;
  int32_t *back = NULL;
  size_t bits = 0;
  SL_CALL_GOTO(sl_ac_encode(sym, n, L, counts, &buf, &bits), done);
  SL_ALLOC(back, n ? n : 1);
  SL_CALL_GOTO(sl_ac_decode(buf, bits, n, L, counts, back), done);
  SL_CHECK_GOTO(n == 0 || memcmp(sym, back, n * sizeof *sym) == 0, SL_ERR_INTERNAL, done,
                "the arithmetic code of %zu symbols does not decode to them", n);
  out->code_bits = (double)bits;
  out->codebook_bits = 16.0 * L;
  /* A count lies in 0..n, so it takes ceil(log2(n + 1)) bits. */
  out->count_bits = (double)L * ceil(log2((double)n + 1.0));
  out->total_bits = out->code_bits + out->codebook_bits + out->count_bits;
done:
  free(buf);
  free(back);
  return err;
}
