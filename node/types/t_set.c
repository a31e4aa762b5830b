/* t_set.c: the set type (issue 3) -- being written; no commands bound yet. */
#include "cmd.h"
#include "db.h"

void t_set_setup(void)
{
}

const cmd_bind_t t_set_cmds[] = {
    {CMD__COUNT, NULL},
};
