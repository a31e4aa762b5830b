/*
 * numfmt.h: Redis's long double text conversions, shared by the types
 * whose commands take or return floats as strings (INCRBYFLOAT,
 * HINCRBYFLOAT), so that they accept and print exactly what Redis 7.0
 * does.
 */
#ifndef TS_NUMFMT_H
#define TS_NUMFMT_H

#include <stddef.h>

/* Redis's MAX_LONG_DOUBLE_CHARS: longest float text accepted or produced. */
#define NUMFMT_LD_MAX_CHARS (5 * 1024)

/*
 * Redis's string2ld: a long double from the whole of s (no leading space,
 * no trailing bytes, not NaN, no overflow to infinity or underflow to
 * zero; "inf" and hex floats pass as in Redis).  1 on success.
 */
int numfmt_str2ld(const char *s, size_t slen, long double *out);

/*
 * Redis's ld2string in LD_STR_HUMAN mode: "%.17Lf" with trailing zeros
 * (and a bare '.') removed, "-0" as "0".  v must be finite; dst holds
 * NUMFMT_LD_MAX_CHARS bytes.  Returns the length (no terminator counted).
 */
size_t numfmt_ld2str_human(char *dst, long double v);

/*
 * Redis 7.0's d2string: how sorted-set scores are written into listpacks
 * ("nan", "inf", "-inf", integers in +-2^52 as integers, -0 as "0", else
 * "%.17g").  Returns the length written to buf (cap >= 32).
 */
size_t numfmt_d2string(char *buf, size_t cap, double v);

#endif
