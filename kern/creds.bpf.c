/* Credentials: the set*id family and capset — the "creds" rows of the
 * catalogue (api/syscalls.h). Each is judged by the task's facts only;
 * userspace reads the new ids from the arguments and the resulting
 * capability sets from the task (lib/args.bpf.h has the shared emitter).
 */
#include "lib/args.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define PG_ARGS_FAMILY_creds PG_ARGS_PROG
#define PG_ARGS_FAMILY_net PG_ARGS_SKIP
#define PG_ARGS_FAMILY_proc PG_ARGS_SKIP
PG_ARGS_SYSCALLS(PG_ARGS_ROW)
