/*
 * glob.c: Redis's glob-style matcher (stringmatchlen), byte for byte.
 *
 * KEYS, SCAN MATCH, PSUBSCRIBE and CONFIG GET must select exactly what a
 * Redis 7 server selects, quirks included:
 *
 *   - "[a-" and other unterminated classes match as if the class ended at
 *     the end of the pattern; "[z-a]" is the same range as "[a-z]"; "\"
 *     inside a class escapes the next byte; a range compares bytes as
 *     *signed* chars, as Redis's `int start = pattern[0]` does.
 *   - A trailing lone "\" matches a literal backslash.
 *   - Case folding (nocase) is ASCII only: Redis never sets LC_CTYPE, so its
 *     tolower() is the C locale's.
 *
 * Redis reads one byte past the pattern in two places (it relies on the sds
 * terminator); here every read is bounded by plen, which gives the same
 * answers because the terminator never equals '*', '^' or ']'.
 *
 * Hostile patterns: "a*a*a*...b" against "aaaa..." is exponential in a
 * naive backtracking matcher.  Redis 7 fixed that (CVE-2022-36021) with
 * `skipLongerMatches`: once the rest of the pattern after a '*' failed to
 * match at every remaining position of the string, no earlier '*' can help
 * by consuming more, so the whole match fails at once.  Recursion depth is
 * capped at 1000 nested stars ("*?" repeated 50000 times must not blow the
 * stack); past it the branch simply does not match, as in Redis.
 */
#include "glob.h"

#define GLOB_MAX_NESTING 1000

/* ASCII-only case folding; works on the signed values Redis compares. */
static int fold(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* One '[...]' class against the byte *s.  On entry *pp points just past
 * '['; on return it points at the closing ']' (or at the last byte of an
 * unterminated pattern), exactly where Redis leaves it. */
static int match_class(const char **pp, size_t *plenp, char sc, int nocase)
{
    const char *p = *pp;
    size_t plen = *plenp;
    int neg = 0, match = 0;

    if (plen > 0 && p[0] == '^') {
        neg = 1;
        p++;
        plen--;
    }
    for (;;) {
        if (plen == 0) {
            /* Unterminated: step back so the caller's advance lands on
             * the end of the pattern. */
            p--;
            plen++;
            break;
        } else if (p[0] == '\\' && plen >= 2) {
            p++;
            plen--;
            if (p[0] == sc) match = 1;
        } else if (p[0] == ']') {
            break;
        } else if (plen >= 3 && p[1] == '-') {
            int start = (signed char)p[0];
            int end = (signed char)p[2];
            int c = (signed char)sc;
            if (start > end) {
                int t = start;
                start = end;
                end = t;
            }
            if (nocase) {
                start = fold(start);
                end = fold(end);
                c = fold(c);
            }
            p += 2;
            plen -= 2;
            if (c >= start && c <= end) match = 1;
        } else if (!nocase) {
            if (p[0] == sc) match = 1;
        } else if (fold((signed char)p[0]) == fold((signed char)sc)) {
            match = 1;
        }
        p++;
        plen--;
    }
    *pp = p;
    *plenp = plen;
    return neg ? !match : match;
}

static int match_impl(const char *p, size_t plen, const char *s, size_t slen,
                      int nocase, int *skip_longer, int nesting)
{
    if (nesting > GLOB_MAX_NESTING) return 0;

    while (plen && slen) {
        switch (p[0]) {
        case '*':
            while (plen > 1 && p[1] == '*') {
                p++;
                plen--;
            }
            if (plen == 1) return 1;
            while (slen) {
                if (match_impl(p + 1, plen - 1, s, slen, nocase, skip_longer,
                               nesting + 1))
                    return 1;
                if (*skip_longer) return 0;
                s++;
                slen--;
            }
            /* The rest of the pattern matches nowhere in the rest of the
             * string: earlier stars cannot fix that by eating more. */
            *skip_longer = 1;
            return 0;
        case '?':
            s++;
            slen--;
            break;
        case '[':
            p++;
            plen--;
            if (!match_class(&p, &plen, s[0], nocase)) return 0;
            s++;
            slen--;
            break;
        case '\\':
            if (plen >= 2) {
                p++;
                plen--;
            }
            /* fall through */
        default:
            if (!nocase) {
                if (p[0] != s[0]) return 0;
            } else if (fold((signed char)p[0]) != fold((signed char)s[0])) {
                return 0;
            }
            s++;
            slen--;
            break;
        }
        p++;
        plen--;
        if (slen == 0) {
            while (plen && p[0] == '*') {
                p++;
                plen--;
            }
            break;
        }
    }
    return plen == 0 && slen == 0;
}

int glob_match(const char *pat, size_t plen, const char *s, size_t slen,
               int nocase)
{
    int skip_longer = 0;
    return match_impl(pat, plen, s, slen, nocase, &skip_longer, 0);
}
