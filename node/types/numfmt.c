/*
 * numfmt.c: Redis's long double text conversions (numfmt.h).
 *
 * The same code as t_string.c's INCRBYFLOAT helpers, made shared for
 * HINCRBYFLOAT; both follow Redis 7.0's util.c (string2ld, ld2string).
 */
#include "numfmt.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int numfmt_str2ld(const char *s, size_t slen, long double *out)
{
    char buf[NUMFMT_LD_MAX_CHARS];
    if (slen == 0 || slen >= sizeof(buf)) return 0;
    memcpy(buf, s, slen);
    buf[slen] = '\0';
    unsigned char c0 = (unsigned char)buf[0];
    if (c0 == ' ' || (c0 >= '\t' && c0 <= '\r')) return 0;
    errno = 0;
    char *end;
    long double v = strtold(buf, &end);
    if (*end != '\0' || (size_t)(end - buf) != slen ||
        (errno == ERANGE &&
         (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO)) ||
        errno == EINVAL || isnan(v))
        return 0;
    *out = v;
    return 1;
}

size_t numfmt_ld2str_human(char *dst, long double v)
{
    int n = snprintf(dst, NUMFMT_LD_MAX_CHARS, "%.17Lf", v);
    if (n < 0 || n >= NUMFMT_LD_MAX_CHARS) return 0;
    size_t l = (size_t)n;
    if (memchr(dst, '.', l)) {
        while (dst[l - 1] == '0')
            l--;
        if (dst[l - 1] == '.') l--;
    }
    if (l == 2 && dst[0] == '-' && dst[1] == '0') {
        dst[0] = '0';
        l = 1;
    }
    return l;
}

size_t numfmt_d2string(char *buf, size_t cap, double v)
{
    int n;
    if (isnan(v)) n = snprintf(buf, cap, "nan");
    else if (isinf(v)) n = snprintf(buf, cap, v < 0 ? "-inf" : "inf");
    else if (v > -4503599627370495.0 && v < 4503599627370496.0 &&
             v == (double)(long long)v)
        n = snprintf(buf, cap, "%lld", (long long)v);
    else
        n = snprintf(buf, cap, "%.17g", v);
    return (size_t)n;
}
