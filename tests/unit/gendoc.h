/*
 * gendoc.h: the output step shared by the generators of docs/commands.md
 * (gen_commands_md.c) and docs/options.md (gen_options_md.c): print the
 * generated Markdown, or with --check compare it with the committed file,
 * which is how the unit tests catch a stale doc.
 */
#ifndef TS_GENDOC_H
#define TS_GENDOC_H

#include <stdio.h>
#include <string.h>

#include "buf.h"

/*
 * Writes out to stdout if check is NULL; else compares it with the file
 * check and, if they differ (or the file cannot be read), says that it is
 * out of date with `source` and to run `ninja -C <build> target`.  Frees
 * out.  Returns the exit status: 0, or 1 for a stale file.
 */
static inline int gendoc_finish(buf_t *out, const char *check,
                                const char *source, const char *target)
{
    int rc = 0;
    if (!check) {
        fwrite(buf_rptr(out), 1, buf_len(out), stdout);
    } else {
        FILE *f = fopen(check, "r");
        buf_t cur;
        buf_init(&cur);
        char chunk[4096];
        size_t n;
        while (f && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
            buf_append(&cur, chunk, n);
        if (f) fclose(f);
        if (buf_len(&cur) != buf_len(out) ||
            memcmp(buf_rptr(&cur), buf_rptr(out), buf_len(out)) != 0) {
            fprintf(stderr, "%s is out of date with %s: run `ninja -C "
                    "<build> %s`\n", check, source, target);
            rc = 1;
        }
        buf_deinit(&cur);
    }
    buf_deinit(out);
    return rc;
}

#endif
