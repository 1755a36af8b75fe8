// The exec helper's own declarations, shared by its C files (fastexec.c
// does the setup, request.c talks to the shim). Not read by Go.
#ifndef PODD_FASTEXEC_HELPER_H
#define PODD_FASTEXEC_HELPER_H

#include <linux/filter.h>
#include <stdint.h>
#include <sys/types.h>

#include "fastexec.h"

// The set-up request and the current command, as fastexec.go encodes
// them: native-endian integers, strings as a length and bytes, NUL
// included.
struct request {
	// The set-up: what every command shares.
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
	char *keyring;

	// The command (fe_read_command).
	uint32_t cmd_flags;
	uint16_t rows, cols;
	char *cwd;
	char **argv, **envp;
	char *cmd_buf;
};

// fe_report writes kind (FE_ERR_RUN or FE_ERR_SETUP) and the message to the
// error pipe; fe_fail does and exits.
void __attribute__((format(printf, 2, 3))) fe_report(char kind, const char *fmt, ...);
void __attribute__((noreturn, format(printf, 2, 3))) fe_fail(char kind, const char *fmt, ...);
// fe_errstr is strerror(e) with a lower-case first letter.
const char *fe_errstr(int e);
// fe_read_setup receives and decodes the shim's set-up request.
void fe_read_setup(struct request *q);
// fe_read_command receives the next command into q (freeing the last
// one's) and its descriptors into fds, and makes the error pipe's write end
// FE_FD_ERR. It returns 0 when the shim has closed the socket.
int fe_read_command(struct request *q, int fds[FE_CMD_FDS]);
// fe_send_reply sends the shim a reply of type with value v and, when
// fd >= 0, that descriptor.
void fe_send_reply(uint32_t type, int32_t v, int fd);

#endif
