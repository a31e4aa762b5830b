/* t_hash.c: the hash type (issue 3) -- being written; no commands bound yet. */
#include "cmd.h"
#include "db.h"

void t_hash_setup(void)
{
}

const cmd_bind_t t_hash_cmds[] = {
    {CMD__COUNT, NULL},
};
