/*
 * gen_commands_md.c: writes docs/commands.md from the command table.
 *
 *   gen_commands_md REDIS7_LIST            print the Markdown
 *   gen_commands_md REDIS7_LIST --check F  exit 1 if F differs
 *
 * REDIS7_LIST (docs/redis7-commands.txt) is every command of Redis 7.0
 * with its group, taken from COMMAND DOCS of Debian's redis-server.  Each
 * one is marked implemented when commands.def has it and a handler is
 * bound, else "not yet".  The meson test `commands_doc` runs --check, so the docs
 * cannot drift from the table; `ninja commands-md` regenerates them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cmd.h"
#include "cmdtab.h"
#include "gendoc.h"

static void emit(buf_t *out, FILE *list)
{
    buf_append_str(out,
        "# Command compatibility\n\n"
        "Generated from `common/commands.def` by "
        "`tests/unit/gen_commands_md.c` (`ninja -C build commands-md`); the\n"
        "unit test `commands_doc` fails when this file and the table "
        "differ.  Every Redis 7.0\ncommand is listed; **yes** means Tessera "
        "implements it with Redis 7.0's\nreplies and errors (tested against "
        "Debian's redis-server).\n\n"
        "| command | group | Tessera | arity | flags |\n"
        "|---|---|---|---|---|\n");
    char line[256];
    size_t yes = 0, total = 0;
    while (fgets(line, sizeof(line), list)) {
        if (line[0] == '#' || line[0] == '\n') continue;
        char name[128], group[64];
        if (sscanf(line, "%127s %63s", name, group) != 2) continue;
        total++;
        const cmd_spec_t *c = NULL;
        char *bar = strchr(name, '|');
        if (bar) {
            const cmd_spec_t *p = cmdtab_lookup(name, (size_t)(bar - name));
            if (p) c = cmdtab_lookup_sub(p, bar + 1, strlen(bar + 1));
        } else {
            c = cmdtab_lookup(name, strlen(name));
        }
        /* "client|kill" would split a Markdown table cell */
        char shown[160];
        char *bar2 = strchr(name, '|');
        if (bar2)
            snprintf(shown, sizeof(shown), "%.*s \\| %s",
                     (int)(bar2 - name), name, bar2 + 1);
        else
            snprintf(shown, sizeof(shown), "%s", name);
        if (!cmd_implemented(c)) {
            buf_printf(out, "| %s | %s | not yet | | |\n", shown, group);
            continue;
        }
        yes++;
        buf_printf(out, "| %s | %s | **yes** | %d | ", shown, group,
                   c->arity);
        int first = 1;
        for (unsigned b = 0; b < CF_FLAG_COUNT; b++) {
            if (!(c->flags & (1u << b)) || !cmdtab_flag_name(b)) continue;
            buf_printf(out, "%s%s", first ? "" : ", ", cmdtab_flag_name(b));
            first = 0;
        }
        buf_append_str(out, " |\n");
    }
    buf_printf(out, "\n%zu of %zu Redis 7.0 commands implemented.\n", yes,
               total);
}

int main(int argc, char **argv)
{
    if (argc != 2 && !(argc == 4 && strcmp(argv[2], "--check") == 0)) {
        fprintf(stderr, "usage: %s REDIS7_LIST [--check FILE]\n", argv[0]);
        return 2;
    }
    cmd_setup();
    FILE *list = fopen(argv[1], "r");
    if (!list) {
        perror(argv[1]);
        return 2;
    }
    buf_t out;
    buf_init(&out);
    emit(&out, list);
    fclose(list);
    return gendoc_finish(&out, argc == 4 ? argv[3] : NULL,
                         "common/commands.def", "commands-md");
}
