/*
 * check_cpack.c: the compact pack (node/types/cpack.c).
 *
 * Known answers (bytes of small packs and of the listpacks they convert
 * to, the latter as redis-server 7.0.15 writes them), the element edge
 * cases (empty strings, integer-looking strings that must stay strings,
 * the 63/64 and 4095/4096 string header boundaries, integers of every
 * width, a 100 KB element), the count saturating at 65535 and coming
 * back, the short form (a one-byte count, up to 255 bytes) turning into
 * the long one and back at the front, middle and end, and a model test:
 * random inserts, replacements, deletions and lookups on a pack (resized
 * with realloc) and on a plain array of strings, compared after every
 * step element by element, by cp_seek and cp_find, and through the
 * listpack conversion both ways (which must equal a listpack built from
 * the model with lp_append).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cpack.h"
#include "listpack.h"
#include "numfmt.h"

#define REQUIRE(x)                                                           \
    do {                                                                     \
        if (!(x)) ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #x);         \
    } while (0)

/* A detached pack: bytes from ts_realloc. */
typedef struct pk {
    unsigned char *b;
    size_t len;
} pk_t;

static unsigned char *pk_resize(void *arg, size_t newlen)
{
    pk_t *k = arg;
    k->b = ts_realloc(k->b, newlen);
    return k->b;
}

static void pk_init(pk_t *k)
{
    k->b = ts_malloc(CP_EMPTY_SIZE);
    k->len = CP_EMPTY_SIZE;
    cp_init(k->b);
}

static void pk_insert(pk_t *k, size_t off, const char *s, size_t len)
{
    cp_str_t a = {s, (uint32_t)len, 0};
    cp_splice(k->b, &k->len, off, 0, &a, 1, pk_resize, k);
}

static void pk_append(pk_t *k, const char *s)
{
    pk_insert(k, k->len, s, strlen(s));
}

/* Offset of element i. */
static size_t pk_off(pk_t *k, long i)
{
    if (i == (long)cp_count(k->b, k->len)) return k->len;
    unsigned char *p = cp_seek(k->b, k->len, i);
    REQUIRE(p != NULL);
    return (size_t)(p - k->b);
}

static void pk_expect(const pk_t *k, const char *hex)
{
    char got[1024] = "";
    for (size_t i = 0; i < k->len && 2 * i + 2 < sizeof(got); i++)
        sprintf(got + 2 * i, "%02x", k->b[i]);
    ck_assert_str_eq(got, hex);
}

static void lp_expect(const pk_t *k, const char *hex)
{
    size_t n = cp_lp_size(k->b, k->len);
    unsigned char *lp = ts_malloc(n);
    cp_to_lp(k->b, k->len, lp);
    char got[1024] = "";
    for (size_t i = 0; i < n && 2 * i + 2 < sizeof(got); i++)
        sprintf(got + 2 * i, "%02x", lp[i]);
    ts_free(lp);
    ck_assert_str_eq(got, hex);
}

START_TEST(test_known_answers)
{
    pk_t k;
    pk_init(&k);
    pk_expect(&k, "00");
    lp_expect(&k, "070000000000ff");
    REQUIRE(cp_first(k.b, k.len) == NULL);
    pk_append(&k, "a");
    pk_expect(&k, "01" "81" "61");  /* short: a one-byte count */
    lp_expect(&k, "0a000000010081" "6102" "ff");
    pk_append(&k, "1");
    pk_append(&k, "-1");
    pk_append(&k, "");
    /* 1: 7-bit uint; -1: 13-bit int 0x1fff; "": 6-bit string of 0 */
    pk_expect(&k, "04" "816101dfff80");
    lp_expect(&k, "110000000400816102" "0101dfff028001" "ff");
    ck_assert_uint_eq(cp_count(k.b, k.len), 4);
    ts_free(k.b);
}
END_TEST

/* Elements that must come back exactly as written, with their size in
 * the pack (header + payload). */
static const struct {
    const char *s;
    size_t len; /* 0: strlen */
    size_t size;
} edge[] = {
    {"", 0, 1},
    {"0", 0, 1},
    {"127", 0, 1},
    {"128", 0, 2},
    {"-4096", 0, 2},
    {"4096", 0, 3},
    {"-32769", 0, 4},
    {"8388608", 0, 5},
    {"2147483648", 0, 9},
    {"9223372036854775807", 0, 9},
    {"-9223372036854775808", 0, 9},
    {"9223372036854775808", 0, 20},  /* out of range: a string */
    {"0123", 0, 5},                  /* not canonical: a string */
    {"-0", 0, 3},
    {" 1", 0, 3},
    {"1.5", 0, 4},
    {"+1", 0, 3},
};

static char *make(size_t n, char c)
{
    char *s = malloc(n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

START_TEST(test_edge_elements)
{
    pk_t k;
    pk_init(&k);
    size_t nedge = sizeof(edge) / sizeof(edge[0]);
    size_t want = 0; /* the elements' bytes, then the count's */
    for (size_t i = 0; i < nedge; i++) {
        pk_append(&k, edge[i].s);
        want += edge[i].size;
        ck_assert_uint_eq(k.len, want + cp_hdr_size(1 + want));
    }
    /* string header boundaries and a large element */
    size_t lens[] = {63, 64, 4095, 4096, 100000};
    size_t hdrs[] = {1, 2, 2, 5, 5};
    char *big[5];
    for (int i = 0; i < 5; i++) {
        big[i] = make(lens[i], (char)('a' + i));
        pk_insert(&k, k.len, big[i], lens[i]);
        want += lens[i] + hdrs[i];
        ck_assert_uint_eq(k.len, want + cp_hdr_size(1 + want));
    }
    unsigned char *p = cp_first(k.b, k.len);
    unsigned char buf[LP_INTBUF_SIZE];
    for (size_t i = 0; i < nedge + 5; i++) {
        REQUIRE(p != NULL);
        uint32_t l;
        const unsigned char *t = lp_get_text(p, &l, buf);
        const char *s = i < nedge ? edge[i].s : big[i - nedge];
        size_t sl = i < nedge ? strlen(s) : lens[i - nedge];
        ck_assert_uint_eq(l, sl);
        REQUIRE(memcmp(t, s, sl) == 0);
        REQUIRE(cp_find(k.b, k.len, cp_first(k.b, k.len), s, (uint32_t)sl,
                        0) == p);
        p = cp_next(k.b, k.len, p);
    }
    REQUIRE(p == NULL);
    /* to a listpack and back: the same bytes; the listpack is valid */
    size_t n = cp_lp_size(k.b, k.len);
    unsigned char *lp = ts_malloc(n);
    cp_to_lp(k.b, k.len, lp);
    unsigned long cnt;
    REQUIRE(lp_validate(lp, n, 1, &cnt));
    ck_assert_uint_eq(cnt, nedge + 5);
    ck_assert_uint_eq(cp_size_of_lp(lp), k.len);
    unsigned char *back = ts_malloc(k.len);
    cp_from_lp(lp, back);
    REQUIRE(memcmp(back, k.b, k.len) == 0);
    ts_free(back);
    ts_free(lp);
    for (int i = 0; i < 5; i++) free(big[i]);
    ts_free(k.b);
}
END_TEST

START_TEST(test_count_saturates)
{
    pk_t k;
    pk_init(&k);
    const unsigned long n = 70000;
    for (unsigned long i = 0; i < n; i++) pk_append(&k, "7");
    ck_assert_uint_eq(k.b[0] | k.b[1] << 8, CP_COUNT_UNKNOWN);
    ck_assert_uint_eq(cp_count(k.b, k.len), n);
    REQUIRE(cp_seek(k.b, k.len, -1) != NULL);
    REQUIRE(cp_seek(k.b, k.len, (long)n) == NULL);
    REQUIRE(cp_seek(k.b, k.len, -(long)n - 1) == NULL);
    size_t lpn = cp_lp_size(k.b, k.len);
    unsigned char *lp = ts_malloc(lpn);
    cp_to_lp(k.b, k.len, lp);
    ck_assert_uint_eq(lp_length(lp), n);
    ts_free(lp);
    /* delete down to below 65535: the header count is exact again */
    cp_splice(k.b, &k.len, 2, n - 300, NULL, 0, pk_resize, &k);
    ck_assert_uint_eq(k.len, 302);
    ck_assert_uint_eq(k.b[0] | k.b[1] << 8, 300);
    ck_assert_uint_eq(cp_count(k.b, k.len), 300);
    /* and down to 100 one-byte elements: short, a one-byte count */
    cp_splice(k.b, &k.len, 2, 200, NULL, 0, pk_resize, &k);
    ck_assert_uint_eq(k.len, 101);
    ck_assert_uint_eq(k.b[0], 100);
    ck_assert_uint_eq(cp_count(k.b, k.len), 100);
    ts_free(k.b);
}
END_TEST

/* ---- model test ---- */

#define MODEL_MAX 160

typedef struct model {
    char *el[MODEL_MAX];
    size_t len[MODEL_MAX];
    int n;
} model_t;

static unsigned long long rnd_state;
static unsigned rnd(void)
{
    rnd_state = rnd_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)(rnd_state >> 33);
}

/* A random element: integers of every width, integer-looking strings,
 * empty, short and header-boundary strings. */
static size_t rnd_elem(char *buf)
{
    switch (rnd() % 8) {
    case 0: return (size_t)sprintf(buf, "%u", rnd() % 200);
    case 1: return (size_t)sprintf(buf, "%d", (int)(rnd() % 20000) - 10000);
    case 2:
        return (size_t)sprintf(buf, "%lld",
                               (long long)((unsigned long long)rnd() << 31 ^
                                           rnd()) * (rnd() % 2 ? 1 : -1));
    case 3: return (size_t)sprintf(buf, "0%u", rnd() % 100);
    case 4: return 0;
    case 5: {
        size_t l = (size_t)(62 + rnd() % 4); /* around 63/64 */
        memset(buf, 'x', l);
        buf[l / 2] = (char)('a' + rnd() % 26);
        return l;
    }
    default: {
        size_t l = 1 + rnd() % 12;
        for (size_t i = 0; i < l; i++) buf[i] = (char)('a' + rnd() % 4);
        return l;
    }
    }
}

static void model_compare(const model_t *m, pk_t *k)
{
    ck_assert_uint_eq(cp_count(k->b, k->len), (unsigned long)m->n);
    unsigned char *p = cp_first(k->b, k->len);
    unsigned char buf[LP_INTBUF_SIZE];
    unsigned char *lp = lp_new(0);
    for (int i = 0; i < m->n; i++) {
        REQUIRE(p != NULL);
        uint32_t l;
        const unsigned char *t = lp_get_text(p, &l, buf);
        ck_assert_uint_eq(l, m->len[i]);
        REQUIRE(l == 0 || memcmp(t, m->el[i], l) == 0);
        REQUIRE(lp_compare(p, m->el[i], (uint32_t)m->len[i]));
        lp = lp_append(lp, m->el[i], (uint32_t)m->len[i]);
        p = cp_next(k->b, k->len, p);
    }
    REQUIRE(p == NULL);
    /* the conversion equals what Redis's format holds for these elements */
    size_t n = cp_lp_size(k->b, k->len);
    ck_assert_uint_eq(n, lp_bytes(lp));
    unsigned char *got = ts_malloc(n);
    cp_to_lp(k->b, k->len, got);
    REQUIRE(memcmp(got, lp, n) == 0);
    ck_assert_uint_eq(cp_size_of_lp(lp), k->len);
    cp_from_lp(lp, got);
    REQUIRE(memcmp(got, k->b, k->len) == 0);
    ts_free(got);
    lp_free(lp);
    if (m->n) {
        int i = (int)(rnd() % (unsigned)m->n);
        unsigned char *a = cp_seek(k->b, k->len, i);
        unsigned char *b = cp_seek(k->b, k->len, i - m->n);
        REQUIRE(a != NULL && a == b);
        /* cp_find returns the first equal element */
        int first = 0;
        while (m->len[first] != m->len[i] ||
               memcmp(m->el[first], m->el[i], m->len[i]) != 0)
            first++;
        REQUIRE(cp_find(k->b, k->len, cp_first(k->b, k->len), m->el[i],
                        (uint32_t)m->len[i], 0) ==
                cp_seek(k->b, k->len, first));
    }
}

START_TEST(test_model)
{
    rnd_state = 12345;
    for (int round = 0; round < 40; round++) {
        model_t m = {.n = 0};
        pk_t k;
        pk_init(&k);
        for (int step = 0; step < 400; step++) {
            char buf[80], buf2[80];
            unsigned op = rnd() % 10;
            if (op < 4 && m.n < MODEL_MAX) { /* insert one at i */
                int i = (int)(rnd() % (unsigned)(m.n + 1));
                size_t l = rnd_elem(buf);
                pk_insert(&k, pk_off(&k, i), buf, l);
                memmove(&m.el[i + 1], &m.el[i], sizeof(char *) * (size_t)(m.n - i));
                memmove(&m.len[i + 1], &m.len[i], sizeof(size_t) * (size_t)(m.n - i));
                m.el[i] = malloc(l + 1);
                memcpy(m.el[i], buf, l);
                m.len[i] = l;
                m.n++;
            } else if (op < 6 && m.n > 0) { /* replace one by two */
                if (m.n >= MODEL_MAX) continue;
                int i = (int)(rnd() % (unsigned)m.n);
                size_t l = rnd_elem(buf), l2 = rnd_elem(buf2);
                cp_str_t a[2] = {{buf, (uint32_t)l, 0}, {buf2, (uint32_t)l2, 0}};
                cp_splice(k.b, &k.len, pk_off(&k, i), 1, a, 2, pk_resize, &k);
                free(m.el[i]);
                memmove(&m.el[i + 1], &m.el[i], sizeof(char *) * (size_t)(m.n - i));
                memmove(&m.len[i + 1], &m.len[i], sizeof(size_t) * (size_t)(m.n - i));
                m.el[i] = malloc(l + 1);
                memcpy(m.el[i], buf, l);
                m.len[i] = l;
                m.el[i + 1] = malloc(l2 + 1);
                memcpy(m.el[i + 1], buf2, l2);
                m.len[i + 1] = l2;
                m.n++;
            } else if (m.n > 0) { /* delete one or two */
                int i = (int)(rnd() % (unsigned)m.n);
                int d = (i + 1 < m.n && rnd() % 2) ? 2 : 1;
                cp_splice(k.b, &k.len, pk_off(&k, i), (unsigned long)d, NULL,
                          0, pk_resize, &k);
                for (int j = 0; j < d; j++) free(m.el[i + j]);
                memmove(&m.el[i], &m.el[i + d], sizeof(char *) * (size_t)(m.n - i - d));
                memmove(&m.len[i], &m.len[i + d], sizeof(size_t) * (size_t)(m.n - i - d));
                m.n -= d;
            }
            model_compare(&m, &k);
        }
        for (int i = 0; i < m.n; i++) free(m.el[i]);
        ts_free(k.b);
    }
}
END_TEST

/* Insert s at element i of both the model and the pack. */
static void both_insert(model_t *m, pk_t *k, int i, const char *s, size_t l)
{
    pk_insert(k, pk_off(k, i), s, l);
    memmove(&m->el[i + 1], &m->el[i], sizeof(char *) * (size_t)(m->n - i));
    memmove(&m->len[i + 1], &m->len[i], sizeof(size_t) * (size_t)(m->n - i));
    m->el[i] = malloc(l + 1);
    memcpy(m->el[i], s, l);
    m->len[i] = l;
    m->n++;
}

/* Delete d elements at i from both. */
static void both_delete(model_t *m, pk_t *k, int i, int d)
{
    cp_splice(k->b, &k->len, pk_off(k, i), (unsigned long)d, NULL, 0,
              pk_resize, k);
    for (int j = 0; j < d; j++) free(m->el[i + j]);
    memmove(&m->el[i], &m->el[i + d], sizeof(char *) * (size_t)(m->n - i - d));
    memmove(&m->len[i], &m->len[i + d], sizeof(size_t) * (size_t)(m->n - i - d));
    m->n -= d;
}

/* The pack's length is its elements' bytes plus its count's: one byte up
 * to 255 bytes in all, else two; either says how many there are. */
static void check_form(const model_t *m, const pk_t *k)
{
    size_t elems = 0;
    for (int i = 0; i < m->n; i++) {
        cp_str_t a = {m->el[i], (uint32_t)m->len[i], 0};
        elems += cp_encoded_size(&a, 1);
    }
    if (1 + elems <= CP_SHORT_MAX) {
        ck_assert_uint_eq(k->len, 1 + elems);
        ck_assert_uint_eq(k->b[0], (unsigned)m->n);
    } else {
        ck_assert_uint_eq(k->len, 2 + elems);
        ck_assert_uint_eq(k->b[0] | k->b[1] << 8, (unsigned)m->n);
    }
}

/*
 * The short and long forms: 2-byte elements ("a".."z") up to 253 bytes,
 * then 1-byte elements (small integers) through 255 -> 257 (the count
 * takes 2 bytes) and back, at the front, the middle and the end; a
 * replacement of one element by two across the boundary each way; then
 * all the way down.  Compared with a model after every step.
 */
START_TEST(test_form_boundary)
{
    model_t m = {.n = 0};
    pk_t k;
    pk_init(&k);
    rnd_state = 99;
    for (int i = 0; i < 126; i++) {
        char c = (char)('a' + i % 26);
        both_insert(&m, &k, (int)(rnd() % (unsigned)(m.n + 1)), &c, 1);
        check_form(&m, &k);
        model_compare(&m, &k);
    }
    ck_assert_uint_eq(k.len, 253);
    const int where[] = {0, 63, 126};
    for (int w = 0; w < 3; w++) {
        int at = where[w];
        both_insert(&m, &k, at, "5", 1);            /* 254 */
        check_form(&m, &k);
        model_compare(&m, &k);
        ck_assert_uint_eq(k.len, 254);
        both_insert(&m, &k, m.n - at, "6", 1);      /* 255: short */
        check_form(&m, &k);
        model_compare(&m, &k);
        ck_assert_uint_eq(k.len, 255);
        int five = 0;
        while (m.len[five] != 1 || m.el[five][0] != '5') five++;
        both_insert(&m, &k, five, "7", 1);          /* 257: long */
        check_form(&m, &k);
        model_compare(&m, &k);
        ck_assert_uint_eq(k.len, 257);
        both_delete(&m, &k, five, 2);               /* "7", "5": short */
        check_form(&m, &k);
        model_compare(&m, &k);
        ck_assert_uint_eq(k.len, 254);
        int digit = 0;                              /* "6": 253 */
        while (m.len[digit] != 1 || m.el[digit][0] > '9') digit++;
        both_delete(&m, &k, digit, 1);
        check_form(&m, &k);
        model_compare(&m, &k);
        ck_assert_uint_eq(k.len, 253);
    }
    /* one 2-byte element replaced by two (5 bytes): 253 -> 257 and back */
    int at = m.n / 3;
    cp_str_t two[2] = {{"xy", 2, 0}, {"z", 1, 0}};
    cp_splice(k.b, &k.len, pk_off(&k, at), 1, two, 2, pk_resize, &k);
    free(m.el[at]);
    memmove(&m.el[at + 1], &m.el[at], sizeof(char *) * (size_t)(m.n - at));
    memmove(&m.len[at + 1], &m.len[at], sizeof(size_t) * (size_t)(m.n - at));
    m.el[at] = strdup("xy");
    m.len[at] = 2;
    m.el[at + 1] = strdup("z");
    m.len[at + 1] = 1;
    m.n++;
    check_form(&m, &k);
    model_compare(&m, &k);
    ck_assert_uint_eq(k.len, 257);
    cp_str_t one = {"q", 1, 0};
    cp_splice(k.b, &k.len, pk_off(&k, at), 2, &one, 1, pk_resize, &k);
    free(m.el[at]);
    free(m.el[at + 1]);
    memmove(&m.el[at + 1], &m.el[at + 2], sizeof(char *) * (size_t)(m.n - at - 2));
    memmove(&m.len[at + 1], &m.len[at + 2], sizeof(size_t) * (size_t)(m.n - at - 2));
    m.el[at] = strdup("q");
    m.len[at] = 1;
    m.n--;
    check_form(&m, &k);
    model_compare(&m, &k);
    ck_assert_uint_eq(k.len, 253);
    while (m.n) {
        both_delete(&m, &k, (int)(rnd() % (unsigned)m.n), 1);
        check_form(&m, &k);
        model_compare(&m, &k);
    }
    ck_assert_uint_eq(k.len, CP_EMPTY_SIZE);
    REQUIRE(cp_first(k.b, k.len) == NULL);
    ts_free(k.b);
}
END_TEST

/* cp_compact_scores across the forms: 30 member, score pairs loaded as
 * text (270 + 2 bytes: long) compact to 210 + 1 bytes, short. */
START_TEST(test_compact_to_short)
{
    unsigned char *lp = lp_new(0);
    for (int i = 0; i < 30; i++) {
        char mb[8], sb[8];
        int ml = sprintf(mb, "m:%02d", i), sl = sprintf(sb, "%d.5", i % 10);
        lp = lp_append(lp, mb, (uint32_t)ml);
        lp = lp_append(lp, sb, (uint32_t)sl);
    }
    size_t n = cp_size_of_lp(lp);
    ck_assert_uint_eq(n, 30 * 9 + 2);
    unsigned char *b = ts_malloc(n);
    cp_from_lp(lp, b);
    ck_assert_uint_eq(b[0] | b[1] << 8, 60);
    ck_assert_uint_eq(cp_count(b, n), 60);
    size_t c = cp_compact_scores(b, n);
    ck_assert_uint_eq(c, 30 * 7 + 1);
    ck_assert_uint_eq(b[0], 60);
    ck_assert_uint_eq(cp_count(b, c), 60);
    unsigned char *p = cp_first(b, c);
    for (int i = 0; i < 30; i++) {
        char mb[8];
        int ml = sprintf(mb, "m:%02d", i);
        REQUIRE(lp_compare(p, mb, (uint32_t)ml));
        p = cp_next(b, c, p);
        double v;
        REQUIRE(cp_score(p, &v) && v == i % 10 + 0.5);
        p = cp_next(b, c, p);
    }
    REQUIRE(p == NULL);
    /* and back to Redis's listpack: the bytes loaded */
    ck_assert_uint_eq(cp_lp_size(b, c), lp_bytes(lp));
    unsigned char *out = ts_malloc(lp_bytes(lp));
    cp_to_lp(b, c, out);
    REQUIRE(memcmp(out, lp, lp_bytes(lp)) == 0);
    ts_free(out);
    ts_free(b);
    lp_free(lp);
}
END_TEST

/* Score elements: the size chosen, the value read back exactly, and the
 * listpack text equal to Redis's d2string. */
static const struct {
    double v;
    unsigned size;
} scores[] = {
    {0.5, 2},   {1.1, 2},     {0.1, 2},      {-12.8, 2},    {12.7, 2},
    {13.5, 5},  {-3.25, 6},   {0.123, 6},    {0.12345678, 9}, {1e-300, 7},
    {-0.0, 1},  {7, 1},       {-4096, 2},    {1e20, 6},     {4503599627370496.0, 9},
    {1.0 / 3, 9}, {-2.5, 2},  {100.5, 6},
};

START_TEST(test_scores)
{
    size_t n = sizeof(scores) / sizeof(scores[0]);
    pk_t k;
    pk_init(&k);
    for (size_t i = 0; i < n; i++) {
        unsigned char b[CP_SCORE_MAX];
        unsigned l = cp_encode_score(b, scores[i].v);
        ck_assert_msg(l == scores[i].size, "score %.17g: %u bytes, want %u",
                      scores[i].v, l, scores[i].size);
        ck_assert_uint_eq(cp_elem_size(b), l);
        cp_str_t a = {(const char *)b, l, 1};
        cp_splice(k.b, &k.len, k.len, 0, &a, 1, pk_resize, &k);
    }
    /* +inf is kept as Redis's text */
    unsigned char ib[CP_SCORE_MAX];
    ck_assert_uint_eq(cp_encode_score(ib, HUGE_VAL), 4);
    REQUIRE(memcmp(ib, "\x83inf", 4) == 0);

    size_t lpn = cp_lp_size(k.b, k.len);
    unsigned char *lp = ts_malloc(lpn);
    cp_to_lp(k.b, k.len, lp);
    unsigned long cnt;
    REQUIRE(lp_validate(lp, lpn, 1, &cnt));
    ck_assert_uint_eq(cnt, n);
    unsigned char *p = cp_first(k.b, k.len), *q = lp_first(lp);
    for (size_t i = 0; i < n; i++) {
        double v;
        if (cp_score(p, &v)) {
            REQUIRE(memcmp(&v, &scores[i].v, 8) == 0);
        } else {
            long long iv;
            uint32_t sl;
            const unsigned char *t = lp_get(p, &sl, &iv);
            v = t ? strtod((const char *)t, NULL) : (double)iv;
            REQUIRE(v == scores[i].v);
        }
        char want[CP_SCORE_MAX];
        size_t wl = numfmt_d2string(want, sizeof(want), scores[i].v);
        unsigned char tb[LP_INTBUF_SIZE];
        uint32_t gl;
        const unsigned char *got = lp_get_text(q, &gl, tb);
        ck_assert_uint_eq(gl, wl);
        REQUIRE(memcmp(got, want, wl) == 0);
        p = cp_next(k.b, k.len, p);
        q = lp_next(lp, q);
    }
    REQUIRE(p == NULL && q == NULL);
    /* loading keeps Redis's text: a valid pack that converts back the same */
    size_t n2 = cp_size_of_lp(lp);
    unsigned char *back = ts_malloc(n2);
    cp_from_lp(lp, back);
    ck_assert_uint_eq(cp_lp_size(back, n2), lpn);
    unsigned char *lp2 = ts_malloc(lpn);
    cp_to_lp(back, n2, lp2);
    REQUIRE(memcmp(lp, lp2, lpn) == 0);
    ts_free(lp2);
    ts_free(back);
    ts_free(lp);
    ts_free(k.b);

    /* member, score pairs loaded from Redis's text compact to exactly what
     * cp_encode_score makes; a non-canonical text ("-0", "0.50") stays */
    pk_t z, want;
    pk_init(&z);
    pk_init(&want);
    for (size_t i = 0; i < n; i++) {
        char t[CP_SCORE_MAX];
        size_t tl = numfmt_d2string(t, sizeof(t), scores[i].v);
        pk_append(&z, "m");
        pk_insert(&z, z.len, t, tl);
        pk_append(&want, "m");
        unsigned char b[CP_SCORE_MAX];
        cp_str_t a = {(const char *)b, cp_encode_score(b, scores[i].v), 1};
        cp_splice(want.b, &want.len, want.len, 0, &a, 1, pk_resize, &want);
    }
    const char *odd[] = {"-0", "0.50", "1e20", "+1.5"};
    for (int i = 0; i < 4; i++) {
        pk_append(&z, "o");
        pk_append(&z, odd[i]);
        pk_append(&want, "o");
        pk_append(&want, odd[i]);
    }
    z.len = cp_compact_scores(z.b, z.len);
    ck_assert_uint_eq(z.len, want.len);
    REQUIRE(memcmp(z.b, want.b, z.len) == 0);
    ts_free(z.b);
    ts_free(want.b);
}
END_TEST

static Suite *cpack_suite(void)
{
    Suite *s = suite_create("cpack");
    TCase *tc = tcase_create("cpack");
    tcase_add_test(tc, test_known_answers);
    tcase_add_test(tc, test_edge_elements);
    tcase_add_test(tc, test_count_saturates);
    tcase_add_test(tc, test_model);
    tcase_add_test(tc, test_form_boundary);
    tcase_add_test(tc, test_compact_to_short);
    tcase_add_test(tc, test_scores);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(cpack_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
