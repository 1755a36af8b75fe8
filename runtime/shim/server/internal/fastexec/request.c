// The exec helper's side of the conversation with the shim: the request
// it reads, the replies and the error it writes (see helper.h).

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "helper.h"

static void vreport(char kind, const char *fmt, va_list ap)
{
	char buf[1024];
	int n;

	buf[0] = kind;
	n = vsnprintf(buf + 1, sizeof(buf) - 1, fmt, ap);
	if (n < 0)
		n = 0;
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	// Nothing is left to report a failed write to.
	(void)!write(FE_FD_ERR, buf, n + 1);
}

// fe_report writes kind and the formatted message to the error pipe. The
// pipe is close-on-exec: the shim reads end-of-file when the exec
// succeeded and a message when anything failed.
void fe_report(char kind, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(kind, fmt, ap);
	va_end(ap);
}

// fe_fail is fe_report, then exit.
void fe_fail(char kind, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(kind, fmt, ap);
	va_end(ap);
	_exit(1);
}

// fe_errstr is strerror(e) with a lower-case first letter, like Go's errors
// (the shim tells "not found" from other failures by the text).
const char *fe_errstr(int e)
{
	static char buf[128];
	snprintf(buf, sizeof(buf), "%s", strerror(e));
	if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z'))
		buf[0] += 'a' - 'A';
	return buf;
}

// reader walks the request buffer; any read past its end fails the exec.
struct reader {
	char *p, *end;
};

static void *take(struct reader *r, size_t n)
{
	void *p = r->p;
	if ((size_t)(r->end - r->p) < n)
		fe_fail(FE_ERR_SETUP, "malformed exec request");
	r->p += n;
	return p;
}

static uint32_t u32(struct reader *r) { uint32_t v; memcpy(&v, take(r, 4), 4); return v; }
static uint64_t u64(struct reader *r) { uint64_t v; memcpy(&v, take(r, 8), 8); return v; }

static char *str(struct reader *r)
{
	uint32_t n = u32(r);
	char *s = take(r, n);
	if (n == 0 || s[n - 1] != '\0')
		fe_fail(FE_ERR_SETUP, "malformed exec request string");
	return s;
}

// strs reads a count and that many strings into a NULL-terminated array.
static char **strs(struct reader *r, uint32_t *count)
{
	uint32_t n = u32(r);
	char **v;
	if (n > (uint32_t)(r->end - r->p))
		fe_fail(FE_ERR_SETUP, "malformed exec request list");
	v = calloc(n + 1, sizeof(char *));
	if (!v)
		fe_fail(FE_ERR_SETUP, "out of memory");
	for (uint32_t i = 0; i < n; i++)
		v[i] = str(r);
	if (count)
		*count = n;
	return v;
}

// recv_size returns the size of the next datagram on the socket without
// taking it (0 at end-of-file).
static ssize_t recv_size(void)
{
	ssize_t size;
	do
		size = recv(FE_FD_SOCK, NULL, 0, MSG_PEEK | MSG_TRUNC);
	while (size < 0 && errno == EINTR);
	if (size < 0)
		fe_fail(FE_ERR_SETUP, "read exec request: %s", fe_errstr(errno));
	return size;
}

// fe_read_setup receives the set-up request: one datagram on the socket.
void fe_read_setup(struct request *q)
{
	struct reader r;
	ssize_t n, size;
	char *buf;

	size = recv_size();
	if (size == 0)
		fe_fail(FE_ERR_SETUP, "read exec request: no request");
	buf = malloc(size);
	if (!buf)
		fe_fail(FE_ERR_SETUP, "out of memory");
	n = recv(FE_FD_SOCK, buf, size, 0);
	if (n != size)
		fe_fail(FE_ERR_SETUP, "read exec request: %s", n < 0 ? fe_errstr(errno) : "short read");
	r.p = buf;
	r.end = buf + size;

	if (u32(&r) != FE_MAGIC)
		fe_fail(FE_ERR_SETUP, "exec request of another shim version");
	q->flags = u32(&r);
	q->oom_score_adj = (int32_t)u32(&r);
	q->uid = u32(&r);
	q->gid = u32(&r);
	q->ngroups = u32(&r);
	q->groups = take(&r, (size_t)q->ngroups * sizeof(gid_t));
	for (int i = 0; i < FE_CAP_SETS; i++)
		q->caps[i] = u64(&r);
	q->last_cap = u32(&r);
	q->nrlimits = u32(&r);
	q->rlimits = take(&r, (size_t)q->nrlimits * sizeof(*q->rlimits));
	q->cgroups = strs(&r, &q->ncgroups);
	q->nns = u32(&r);
	q->ns = take(&r, (size_t)q->nns * sizeof(*q->ns));
	q->seccomp_flags = u32(&r);
	q->seccomp_len = u32(&r);
	q->seccomp = take(&r, (size_t)q->seccomp_len * sizeof(struct sock_filter));
	q->umask = u32(&r);
	q->sig_ignore = u64(&r);
	q->keyring = str(&r);
}

// free_command frees what the last command allocated.
static void free_command(struct request *q)
{
	free(q->argv);
	free(q->envp);
	free(q->cmd_buf);
	q->argv = q->envp = NULL;
	q->cmd_buf = NULL;
}

// fe_read_command receives one command: a datagram with its descriptors.
// The error pipe comes first, so that anything wrong with the rest is
// reported on it.
int fe_read_command(struct request *q, int fds[FE_CMD_FDS])
{
	union { char buf[CMSG_SPACE(FE_CMD_FDS * sizeof(int))]; struct cmsghdr align; } u;
	struct msghdr mh = { 0 };
	struct iovec iov;
	struct cmsghdr *c;
	struct reader r;
	ssize_t n, size;
	int nfds = 0;

	free_command(q);
	size = recv_size();
	if (size == 0)
		return 0;
	q->cmd_buf = malloc(size);
	if (!q->cmd_buf)
		fe_fail(FE_ERR_SETUP, "out of memory");
	iov.iov_base = q->cmd_buf;
	iov.iov_len = size;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof(u.buf);
	do
		n = recvmsg(FE_FD_SOCK, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n != size)
		fe_fail(FE_ERR_SETUP, "read exec command: %s", n < 0 ? fe_errstr(errno) : "short read");
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		int got = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (int i = 0; i < got; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (nfds < FE_CMD_FDS)
				fds[nfds++] = fd;
			else
				close(fd);
		}
	}
	if (nfds != FE_CMD_FDS || (mh.msg_flags & MSG_CTRUNC))
		fe_fail(FE_ERR_SETUP, "exec command with %d descriptors, not %d", nfds, FE_CMD_FDS);
	if (dup3(fds[3], FE_FD_ERR, O_CLOEXEC) < 0)
		fe_fail(FE_ERR_SETUP, "take the error pipe: %s", fe_errstr(errno));
	close(fds[3]);
	fds[3] = FE_FD_ERR;

	r.p = q->cmd_buf;
	r.end = q->cmd_buf + size;
	if (u32(&r) != FE_CMD_MAGIC)
		fe_fail(FE_ERR_SETUP, "exec command of another shim version");
	q->cmd_flags = u32(&r);
	q->rows = (uint16_t)u32(&r);
	q->cols = (uint16_t)u32(&r);
	q->cwd = str(&r);
	q->argv = strs(&r, NULL);
	q->envp = strs(&r, NULL);
	if (!q->argv[0])
		fe_fail(FE_ERR_SETUP, "exec command without a program");
	return 1;
}

// fe_send_reply sends a datagram of the int v, with fd attached when >= 0.
void fe_send_reply(uint32_t type, int32_t v, int fd)
{
	int32_t msg[2] = { (int32_t)type, v };
	struct iovec iov = { .iov_base = msg, .iov_len = sizeof(msg) };
	union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	if (sendmsg(FE_FD_SOCK, &mh, MSG_NOSIGNAL) != sizeof(msg))
		fe_fail(FE_ERR_SETUP, "reply to the shim: %s", fe_errstr(errno));
}
