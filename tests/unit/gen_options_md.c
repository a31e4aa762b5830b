/*
 * gen_options_md.c: writes docs/options.md from the node's option table
 * (node/options.c), as gen_commands_md does for commands.
 *
 *   gen_options_md             print the Markdown
 *   gen_options_md --check F   exit 1 if F differs
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"
#include "gendoc.h"
#include "node.h"
#include "options.h"

static const char *type_name(config_type_t t)
{
    switch (t) {
    case CONFIG_BOOL: return "yes/no";
    case CONFIG_INT: return "integer";
    case CONFIG_MEMORY: return "memory";
    case CONFIG_STRING: return "string";
    case CONFIG_ENUM: return "enum";
    case CONFIG_SPECIAL: return "special";
    }
    return "?";
}

/* The default as the table shows it: `""` for an empty string; an option
 * without a default is "dir" (the working directory at start) or one that
 * is unset until given (rename-command, replicaof). */
static const char *default_shown(const config_opt_t *o)
{
    if (o->def) return o->def[0] ? o->def : "\"\"";
    return strcmp(o->name, "dir") == 0 ? "(cwd)" : "(none)";
}

static void emit(buf_t *out)
{
    node_t n;
    memset(&n, 0, sizeof(n));
    size_t count;
    config_opt_t *opts = options_for_node(&n, &count);
    buf_append_str(out,
        "# tessera-node options\n\n"
        "Generated from `node/options.c` by `tests/unit/gen_options_md.c` "
        "(`ninja -C build options-md`);\nthe unit test `options_doc` fails "
        "when they differ.  Options are given as in redis.conf\n"
        "(`name value`), as `--name value` on the command line, and "
        "read/changed with CONFIG GET/SET\nunless marked start-up only.\n\n"
        "| option | type | default | CONFIG SET | description |\n"
        "|---|---|---|---|---|\n");
    for (size_t i = 0; i < count; i++) {
        const config_opt_t *o = &opts[i];
        if (o->flags & CONFIG_HIDDEN) continue;
        char vals[256] = "";
        if (o->type == CONFIG_ENUM && o->enum_names) {
            size_t len = 0;
            for (int k = 0; o->enum_names[k] && len < sizeof(vals) - 1; k++)
                len += (size_t)snprintf(vals + len, sizeof(vals) - len,
                                        "%s%s", k ? ", " : " (", o->enum_names[k]);
            snprintf(vals + len, sizeof(vals) - len, ")");
        }
        buf_printf(out, "| `%s` | %s%s | `%s` | %s | %s |\n", o->name,
                   type_name(o->type), vals,
                   default_shown(o),
                   (o->flags & CONFIG_IMMUTABLE) ? "start-up only" : "yes",
                   o->doc ? o->doc : "");
    }
    ts_free(opts);
}

int main(int argc, char **argv)
{
    if (argc != 1 && !(argc == 3 && strcmp(argv[1], "--check") == 0)) {
        fprintf(stderr, "usage: %s [--check FILE]\n", argv[0]);
        return 2;
    }
    buf_t out;
    buf_init(&out);
    emit(&out);
    return gendoc_finish(&out, argc == 3 ? argv[2] : NULL, "node/options.c",
                         "options-md");
}
