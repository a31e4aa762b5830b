/*
 * cmdrun.h: call a type module's command handlers directly, as the node's
 * dispatch would, for the Check suites of the type files (check_t_*.c).
 *
 * Handlers are functions of (context, request, reply builder) (STYLE.md),
 * so a suite needs no server and no socket: it looks the handler up in
 * the module's bind table (t_set_cmds, ...), builds the request, and reads
 * the reply bytes from the output buffer.  Header-only: each suite is one
 * executable and uses what it needs.
 */
#ifndef TS_TEST_CMDRUN_H
#define TS_TEST_CMDRUN_H

#include <check.h>
#include <string.h>

#include "buf.h"
#include "cmd.h"
#include "cmdtab.h"
#include "node.h"
#include "reply.h"

/* The handler binds[] gives the command name[0, len), NULL if none. */
static inline cmd_handler_t *cmdrun_handler(const cmd_bind_t *binds,
                                            const char *name, size_t len)
{
    const cmd_spec_t *spec = cmdtab_lookup(name, len);
    if (!spec) return NULL;
    for (const cmd_bind_t *b = binds; b->fn; b++)
        if (b->id == spec->id) return b->fn;
    return NULL;
}

/*
 * Run argv (argv[0] names a command of binds[], with a valid arity) on
 * node's keyspace at time now_ms, replying through rep into out.  Returns
 * the reply bytes, NUL-terminated, valid until out changes; *len (if not
 * NULL) gets their length without the NUL.
 */
static inline const char *cmdrun_argv(node_t *node, const cmd_bind_t *binds,
                                      reply_t *rep, buf_t *out,
                                      long long now_ms, int argc,
                                      const resp_arg_t *argv, size_t *len)
{
    cmd_handler_t *fn = cmdrun_handler(binds, argv[0].ptr, argv[0].len);
    ck_assert_msg(fn != NULL, "no handler for %.*s", (int)argv[0].len,
                  argv[0].ptr);
    const cmd_spec_t *spec = cmdtab_lookup(argv[0].ptr, argv[0].len);
    ck_assert_msg(cmdtab_arity_ok(spec, argc), "arity of %.*s",
                  (int)argv[0].len, argv[0].ptr);
    cmdctx_t ctx = {
        .node = node, .client = NULL, .ks = node->ks, .now_ms = now_ms};
    req_t req = {.argc = argc, .argv = argv, .spec = spec};
    buf_clear(out);
    fn(&ctx, &req, rep);
    buf_putc(out, '\0');
    if (len) *len = buf_len(out) - 1;
    return buf_rptr(out);
}

/*
 * Split a space-separated command line, in place, into at most max
 * arguments; a '|' starts a last argument that may hold spaces or be
 * empty ("SET k| a b" sets "k" to " a b").  Returns argc.
 */
static inline int cmdrun_split(char *line, resp_arg_t *argv, int max)
{
    int argc = 0;
    char *save = NULL;
    char *bar = strchr(line, '|');
    if (bar) *bar = '\0';
    for (char *p = strtok_r(line, " ", &save); p && argc < max;
         p = strtok_r(NULL, " ", &save))
        argv[argc++] = (resp_arg_t){p, strlen(p)};
    if (bar && argc < max)
        argv[argc++] = (resp_arg_t){bar + 1, strlen(bar + 1)};
    return argc;
}

#endif
