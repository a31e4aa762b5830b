/*
 * config.h: options declared as tables, parsed from a redis.conf-style
 * file and command-line overrides, read and changed by CONFIG GET/SET,
 * written back by CONFIG REWRITE, and listed in the docs.
 *
 * A program declares a static array of config_opt_t describing every
 * option (name, type, default, where the value lives, bounds, whether it
 * may change at run time, an optional apply hook).  Values are stored
 * directly in the program's own struct fields through `ptr`, so hot code
 * reads plain fields, never looks options up by name.
 *
 * Syntax is redis.conf's: one directive per line, `name arg arg...`,
 * arguments split like Redis's sdssplitargs ("double quotes" with \n \t
 * \xHH escapes, 'single quotes'), # comments, `include path`.  Names are
 * case-insensitive.  The command line takes `[file] --name value ...` as
 * redis-server does (a `--name` followed by values up to the next
 * `--name`; `--save ''` works).
 */
#ifndef TS_CONFIG_H
#define TS_CONFIG_H

#include <stddef.h>
#include <stdint.h>

typedef enum config_type {
    CONFIG_BOOL,     /* int*: yes/no */
    CONFIG_INT,      /* long long*: integer, optional bounds */
    CONFIG_MEMORY,   /* long long*: accepts 1k 5mb 2gb (Redis units: k=1000, kb=1024) */
    CONFIG_STRING,   /* char**: owned, ts_malloc'd; NULL allowed */
    CONFIG_ENUM,     /* int*: one of enum_names (index stored) */
    CONFIG_SPECIAL,  /* handled entirely by the set/get hooks (save, rename-command, client-output-buffer-limit) */
} config_type_t;

/* Flags */
#define CONFIG_IMMUTABLE  (1u << 0)  /* only at start-up: CONFIG SET refuses */
#define CONFIG_SENSITIVE  (1u << 1)  /* value hidden in logs (requirepass) */
#define CONFIG_MULTI_ARG  (1u << 2)  /* takes several arguments (save, rename-command) */
#define CONFIG_HIDDEN     (1u << 3)  /* not in docs */
/* With MULTI_ARG: repeated lines in one file/argv load add up, and `set`
 * gets the whole list so far (Redis's `save 900 1` + `save 300 10`); a
 * line whose only argument is "" empties the list (`save ""`). */
#define CONFIG_ACCUMULATE (1u << 4)

typedef struct config_opt config_opt_t;

/*
 * Hooks.  `set` (for SPECIAL, or to validate/apply a typed option) gets
 * the raw arguments; return NULL on success or an error text
 * ("argument must be a memory value").  `get` appends the value as text to
 * out (size outsz) for CONFIG GET / REWRITE.  `apply` runs after a
 * successful CONFIG SET of a typed option, with the program's context.
 */
typedef const char *config_set_fn(const config_opt_t *opt, void *ctx,
                                  int argc, char **argv);
typedef void config_get_fn(const config_opt_t *opt, void *ctx, char *out,
                           size_t outsz);
typedef const char *config_apply_fn(const config_opt_t *opt, void *ctx);

struct config_opt {
    const char *name;
    const char *alias;          /* e.g. "slaveof" for "replicaof"; NULL */
    config_type_t type;
    unsigned flags;
    void *ptr;                  /* where the value lives */
    const char *def;            /* default, as text (parsed at init) */
    long long min, max;         /* INT/MEMORY bounds; 0, 0 = unbounded */
    const char *const *enum_names; /* ENUM: NULL-terminated */
    config_set_fn *set;
    config_get_fn *get;
    config_apply_fn *apply;
    const char *doc;            /* one line for docs */
};

typedef struct config config_t;

/* The table must outlive the config (static). `ctx` is passed to hooks. */
config_t *config_create(const config_opt_t *opts, size_t nopts, void *ctx);
void config_destroy(config_t *c);

/* Apply every default.  Returns NULL or an error. */
const char *config_load_defaults(config_t *c);

/*
 * Load a whole file's text ("include" is resolved relative to the cwd).
 * On error returns Redis 7.0.15's text, newlines included:
 *   "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the
 *   configuration file, at line 3\n>>> 'foo bar'\nBad directive or wrong
 *   number of arguments\n"
 * or "Fatal error, can't open config file 'x': <strerror>" (ts_malloc'd;
 * caller frees with ts_free).  NULL on success.
 */
char *config_load_file(config_t *c, const char *path);
char *config_load_string(config_t *c, const char *text);
/*
 * Parse main()'s argv after the program name (pass argc - 1, argv + 1):
 * optional config file first (if argv[0] does not start with '-'), then
 * --name value... overrides, with "-" meaning read the config from stdin.
 * Same error convention.
 */
char *config_load_argv(config_t *c, int argc, char **argv);

/* Set by name at run time (CONFIG SET, runtime=1); NULL or Redis 7's
 * error text, "ERR " included, valid until the next call on c:
 * "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"
 * "ERR CONFIG SET failed (possibly related to argument 'foo') - <reason>"
 * A multi-arg value passed as one string is split on spaces.  runtime=0
 * (start-up): immutables allowed, no apply hook, bare reason returned. */
const char *config_set(config_t *c, const char *name, int argc, char **argv,
                       int runtime);

/* Find options matching a glob (CONFIG GET), names and aliases, nocase,
 * hidden ones only by exact name; calls fn(name, value). */
void config_get_matching(config_t *c, const char *pattern,
                         void (*fn)(void *arg, const char *name,
                                    const char *value),
                         void *arg);

/* Current value as text, NULL if no such option. Caller-supplied buffer. */
const char *config_get_value(config_t *c, const char *name, char *out,
                             size_t outsz);

/* Write the current configuration back to path (CONFIG REWRITE; NULL path:
 * the loaded file): keeps the file's comments and unknown lines, updates
 * changed options, appends new ones; written to a temp file, fsynced and
 * renamed.  NULL or "ERR ..." (e.g. "ERR The server is running without a
 * config file"). */
const char *config_rewrite(config_t *c, const char *path);

/* Path of the loaded config file, or NULL. */
const char *config_file_path(const config_t *c);

/* Iterate over the table (for docs). */
const config_opt_t *config_opts(const config_t *c, size_t *n);

/* Redis's memory units: "1gb" -> 1073741824, "1g" -> 1000000000.
 * Returns 0 on success. */
int config_parse_memory(const char *s, long long *out);

#endif
