/* t_zset.c: the zset type (issue 3) -- being written; no commands bound yet. */
#include "cmd.h"
#include "db.h"

void t_zset_setup(void)
{
}

const cmd_bind_t t_zset_cmds[] = {
    {CMD__COUNT, NULL},
};
