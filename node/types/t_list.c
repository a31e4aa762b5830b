/* t_list.c: the list type (issue 3) -- being written; no commands bound yet. */
#include "cmd.h"
#include "db.h"

void t_list_setup(void)
{
}

const cmd_bind_t t_list_cmds[] = {
    {CMD__COUNT, NULL},
};
