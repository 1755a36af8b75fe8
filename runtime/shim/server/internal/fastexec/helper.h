// The exec helper's own declarations, shared by its C files (fastexec.c
// does the setup, request.c talks to the shim). Not read by Go.
#ifndef PODD_FASTEXEC_HELPER_H
#define PODD_FASTEXEC_HELPER_H

#include <linux/filter.h>
#include <stdint.h>
#include <sys/types.h>

#include "fastexec.h"

// The request, as fastexec.go encodes it: native-endian integers, strings
// as a length and bytes, NUL included.
struct request {
	uint32_t flags;
	int32_t oom_score_adj;
	uint32_t uid, gid, ngroups;
	gid_t *groups;
	uint64_t caps[FE_CAP_SETS];
	uint32_t last_cap;
	uint32_t nrlimits;
	struct { uint32_t resource; uint64_t cur, max; } *rlimits;
	uint32_t ncgroups;
	char **cgroups;
	uint32_t nns;
	struct { uint32_t type; int32_t fd; } *ns;
	uint32_t seccomp_flags, seccomp_len;
	struct sock_filter *seccomp;
	uint32_t umask;
	uint64_t sig_ignore;
	uint16_t rows, cols;
	char *cwd, *keyring;
	char **argv, **envp;
};

// fe_fail writes kind (FE_ERR_RUN or FE_ERR_SETUP) and the message to the
// error pipe and exits.
void __attribute__((noreturn, format(printf, 2, 3))) fe_fail(char kind, const char *fmt, ...);
// fe_errstr is strerror(e) with a lower-case first letter.
const char *fe_errstr(int e);
// fe_read_request receives and decodes the shim's request.
void fe_read_request(struct request *q);
// fe_send_reply sends the shim a reply of type with value v and, when
// fd >= 0, that descriptor.
void fe_send_reply(uint32_t type, int32_t v, int fd);

#endif
