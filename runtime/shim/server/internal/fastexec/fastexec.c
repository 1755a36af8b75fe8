// The exec helper: runs before the Go runtime when the shim binary is
// started as "podd-shim podd-fastexec", joins a running container from
// the set-up request the shim sends, then forks each command the shim
// sends into it, sets it up and execs it. Every step's order follows
// runc's nsexec.c and setns_init_linux.go; see doc.go.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/keyctl.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <termios.h>
#include <unistd.h>

#include "helper.h"

// write_file writes s to path (a cgroup or /proc file).
static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, s, strlen(s));
	int saved = errno;
	close(fd);
	errno = saved;
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

// enter_cgroups moves this process into each cgroup v1 hierarchy's
// container cgroup (on v2 the shim cloned it straight into its cgroup).
// A hierarchy the container has no directory in is skipped, as runc does.
static void enter_cgroups(struct request *q)
{
	char path[4096];
	for (uint32_t i = 0; i < q->ncgroups; i++) {
		if (snprintf(path, sizeof(path), "%s/cgroup.procs", q->cgroups[i]) >= (int)sizeof(path))
			fe_fail(FE_ERR_SETUP, "cgroup path too long: %s", q->cgroups[i]);
		if (write_file(path, "0") < 0 && errno != ENOENT)
			fe_fail(FE_ERR_SETUP, "join cgroup %s: %s", q->cgroups[i], fe_errstr(errno));
	}
}

static const char *ns_name(uint32_t type)
{
	switch (type) {
	case CLONE_NEWUSER: return "user";
	case CLONE_NEWNS: return "mnt";
	case CLONE_NEWNET: return "net";
	case CLONE_NEWIPC: return "ipc";
	case CLONE_NEWUTS: return "uts";
	case CLONE_NEWPID: return "pid";
	case CLONE_NEWCGROUP: return "cgroup";
	default: return "unknown";
	}
}

// join_some setns()es into every namespace of the request whose type is
// in allow and that is not joined yet; with lenient, one the kernel
// refuses (EPERM) is left for a later round.
static void join_some(struct request *q, uint32_t allow, int lenient)
{
	for (uint32_t i = 0; i < q->nns; i++) {
		uint32_t type = q->ns[i].type;
		if (q->ns[i].fd < 0 || !(type & allow))
			continue;
		if (setns(q->ns[i].fd, type) < 0) {
			if (lenient && errno == EPERM)
				continue;
			fe_fail(FE_ERR_SETUP, "join %s namespace: %s", ns_name(type), fe_errstr(errno));
		}
		// Joining a user namespace leaves the ids unmapped until set: be
		// its root, as unshare(CLONE_NEWUSER) would make us.
		if (type == CLONE_NEWUSER && setresuid(0, 0, 0) < 0)
			fe_fail(FE_ERR_SETUP, "become root in the user namespace: %s", fe_errstr(errno));
		if (close(q->ns[i].fd) < 0)
			fe_fail(FE_ERR_SETUP, "close %s namespace: %s", ns_name(type), fe_errstr(errno));
		q->ns[i].fd = -1;
	}
}

// join_namespaces joins the container's namespaces like runc's nsexec: the
// others first (a namespace owned outside the container's user namespace
// may not be joinable from inside it), then the user namespace, then what
// needed its capabilities.
static void join_namespaces(struct request *q)
{
	join_some(q, ~(uint32_t)CLONE_NEWUSER, 1);
	join_some(q, CLONE_NEWUSER, 0);
	join_some(q, ~(uint32_t)CLONE_NEWUSER, 0);
}

// setup_console gives the process a new terminal of the container's devpts
// (the mount namespace is joined), makes it the controlling terminal of
// this session and the standard I/O, and sends the master to the shim.
static void setup_console(struct request *q)
{
	struct winsize ws = { .ws_row = q->rows, .ws_col = q->cols };
	int unlock = 0, master, slave;

	master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		fe_fail(FE_ERR_SETUP, "open /dev/ptmx: %s", fe_errstr(errno));
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		fe_fail(FE_ERR_SETUP, "unlock terminal: %s", fe_errstr(errno));
	slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	if (slave < 0)
		fe_fail(FE_ERR_SETUP, "open terminal peer: %s", fe_errstr(errno));
	if (ws.ws_row && ws.ws_col && ioctl(master, TIOCSWINSZ, &ws) < 0)
		fe_fail(FE_ERR_SETUP, "set terminal size: %s", fe_errstr(errno));
	for (int fd = 0; fd < 3; fd++)
		if (dup2(slave, fd) < 0)
			fe_fail(FE_ERR_SETUP, "terminal as fd %d: %s", fd, fe_errstr(errno));
	if (slave > 2 && close(slave) < 0)
		fe_fail(FE_ERR_SETUP, "close terminal peer: %s", fe_errstr(errno));
	fe_send_reply(FE_REPLY_CONSOLE, 0, master);
	if (close(master) < 0)
		fe_fail(FE_ERR_SETUP, "close terminal: %s", fe_errstr(errno));
	if (ioctl(0, TIOCSCTTY, 0) < 0)
		fe_fail(FE_ERR_SETUP, "make the terminal the controlling one: %s", fe_errstr(errno));
}

static void load_seccomp(struct request *q)
{
	struct sock_fprog prog = { .len = (unsigned short)q->seccomp_len, .filter = q->seccomp };
	if (!q->seccomp_len)
		return;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, q->seccomp_flags, &prog) < 0)
		fe_fail(FE_ERR_SETUP, "load seccomp filter: %s", fe_errstr(errno));
}

static int is_dev_null(struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(1, 3);
}

// fix_stdio gives the standard I/O to the user the process runs as (runc's
// fixStdioPermissions), so it can reopen them through /proc/self/fd.
static void fix_stdio(struct request *q)
{
	struct stat st;
	for (int fd = 0; fd < 3; fd++) {
		if (fstat(fd, &st) < 0)
			fe_fail(FE_ERR_SETUP, "stat fd %d: %s", fd, fe_errstr(errno));
		if (st.st_uid == q->uid || is_dev_null(&st))
			continue;
		if (fchown(fd, q->uid, st.st_gid) < 0 && errno != EINVAL && errno != EPERM && errno != EROFS)
			fe_fail(FE_ERR_SETUP, "chown fd %d: %s", fd, fe_errstr(errno));
	}
}

// setgroups_denied reports whether the user namespace forbids setgroups.
static int setgroups_denied(void)
{
	char buf[16] = { 0 };
	int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		fe_fail(FE_ERR_SETUP, "open /proc/self/setgroups: %s", fe_errstr(errno));
	}
	if (read(fd, buf, sizeof(buf) - 1) < 0)
		fe_fail(FE_ERR_SETUP, "read /proc/self/setgroups: %s", fe_errstr(errno));
	close(fd);
	return strncmp(buf, "deny", 4) == 0;
}

static void set_user(struct request *q)
{
	fix_stdio(q);
	if (!setgroups_denied() && setgroups(q->ngroups, q->groups) < 0)
		fe_fail(FE_ERR_SETUP, "setgroups: %s", fe_errstr(errno));
	if (setgid(q->gid) < 0)
		fe_fail(FE_ERR_SETUP, errno == EINVAL ? "cannot setgid to unmapped gid %u in user namespace" : "setgid %u: %s",
		     q->gid, fe_errstr(errno));
	if (setuid(q->uid) < 0)
		fe_fail(FE_ERR_SETUP, errno == EINVAL ? "cannot setuid to unmapped uid %u in user namespace" : "setuid %u: %s",
		     q->uid, fe_errstr(errno));
}

static int has_cap(uint64_t set, uint32_t cap) { return cap < 64 && (set >> cap) & 1; }

static void drop_bounding(struct request *q)
{
	for (uint32_t c = 0; c <= q->last_cap; c++)
		if (!has_cap(q->caps[FE_CAP_BOUNDING], c) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
			fe_fail(FE_ERR_SETUP, "drop capability %u from the bounding set: %s", c, fe_errstr(errno));
}

static void apply_caps(struct request *q)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	for (int i = 0; i < 2; i++) {
		data[i].effective = (uint32_t)(q->caps[FE_CAP_EFFECTIVE] >> (32 * i));
		data[i].permitted = (uint32_t)(q->caps[FE_CAP_PERMITTED] >> (32 * i));
		data[i].inheritable = (uint32_t)(q->caps[FE_CAP_INHERITABLE] >> (32 * i));
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		fe_fail(FE_ERR_SETUP, "capset: %s", fe_errstr(errno));
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		fe_fail(FE_ERR_SETUP, "clear ambient capabilities: %s", fe_errstr(errno));
	for (uint32_t c = 0; c <= q->last_cap; c++)
		if (has_cap(q->caps[FE_CAP_AMBIENT], c) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
			fe_fail(FE_ERR_SETUP, "raise ambient capability %u: %s", c, fe_errstr(errno));
}

// finalize is runc's finalizeNamespace: working directory, bounding set,
// user, capabilities. chdir is tried before the user change (a directory
// only root may enter) and again after it (one only the user may enter).
static void finalize(struct request *q)
{
	char cwd[4096];
	int chdir_later = 0;

	if (chdir(q->cwd) < 0) {
		if (errno != EACCES && errno != EPERM)
			fe_fail(FE_ERR_SETUP, "chdir to cwd (\"%s\"): %s", q->cwd, fe_errstr(errno));
		chdir_later = 1;
	}
	drop_bounding(q);
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		fe_fail(FE_ERR_SETUP, "keep capabilities: %s", fe_errstr(errno));
	set_user(q);
	if (chdir_later && chdir(q->cwd) < 0)
		fe_fail(FE_ERR_SETUP, "chdir to cwd (\"%s\"): %s", q->cwd, fe_errstr(errno));
	// A working directory outside the container's root would be a breakout.
	if (!getcwd(cwd, sizeof(cwd)) || cwd[0] != '/')
		fe_fail(FE_ERR_SETUP, "current working directory is outside of the container's root");
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		fe_fail(FE_ERR_SETUP, "clear keep capabilities: %s", fe_errstr(errno));
	apply_caps(q);
}

static const char *getenv_from(char **envp, const char *name)
{
	const char *v = NULL;
	size_t n = strlen(name);
	for (char **e = envp; *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			v = *e + n + 1;
	return v;
}

static int executable(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) && access(path, X_OK) == 0;
}

// lookup resolves argv[0] like Go's exec.LookPath (runc's): a name with a
// slash as it is, any other on the container's PATH.
static const char *lookup(struct request *q, char *buf, size_t size)
{
	const char *name = q->argv[0], *path, *p;
	struct stat st;

	if (strchr(name, '/')) {
		if (stat(name, &st) < 0)
			fe_fail(FE_ERR_RUN, "exec: \"%s\": stat %s: %s", name, name, fe_errstr(errno));
		if (S_ISDIR(st.st_mode))
			fe_fail(FE_ERR_RUN, "exec: \"%s\": is a directory", name);
		if (!(st.st_mode & 0111) || access(name, X_OK) < 0)
			fe_fail(FE_ERR_RUN, "exec: \"%s\": permission denied", name);
		return name;
	}
	path = getenv_from(q->envp, "PATH");
	for (p = path; p && *p;) {
		const char *end = strchrnul(p, ':');
		int dirlen = end - p;
		if (dirlen == 0)
			snprintf(buf, size, "./%s", name);
		else if (snprintf(buf, size, "%.*s/%s", dirlen, p, name) >= (int)size)
			goto next;
		if (executable(buf))
			return buf;
next:
		p = *end ? end + 1 : end;
	}
	fe_fail(FE_ERR_RUN, "exec: \"%s\": executable file not found in $PATH", name);
}

// reset_signals gives the process the signal dispositions and mask a
// process started through libcontainer's init has: every signal default
// but those in ignore (bit n-1 for signal n), none blocked. The helper
// inherited the shim's ignored signals.
static void reset_signals(uint64_t ignore)
{
	struct sigaction sa;
	sigset_t none;

	for (int sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = (sig <= 64 && (ignore >> (sig - 1)) & 1) ? SIG_IGN : SIG_DFL;
		// Signals glibc reserves for itself (32, 33) refuse a change.
		if (sigaction(sig, &sa, NULL) < 0 && errno != EINVAL)
			fe_fail(FE_ERR_SETUP, "reset signal %d: %s", sig, fe_errstr(errno));
	}
	if (sigemptyset(&none) < 0 || sigprocmask(SIG_SETMASK, &none, NULL) < 0)
		fe_fail(FE_ERR_SETUP, "unblock signals: %s", fe_errstr(errno));
}

// run_process is a command's process: in the container's PID namespace,
// the shim's child (CLONE_PARENT). It becomes the command.
static void __attribute__((noreturn)) run_process(struct request *q, int fds[FE_CMD_FDS])
{
	char buf[4096];
	const char *path;

	for (int i = 0; i < 3; i++)
		if (dup2(fds[i], i) < 0)
			fe_fail(FE_ERR_SETUP, "standard I/O fd %d: %s", i, fe_errstr(errno));
	reset_signals(q->sig_ignore);
	if (setsid() < 0)
		fe_fail(FE_ERR_SETUP, "setsid: %s", fe_errstr(errno));
	if (setuid(0) < 0)
		fe_fail(FE_ERR_SETUP, "setuid 0: %s", fe_errstr(errno));
	if (setgid(0) < 0)
		fe_fail(FE_ERR_SETUP, "setgid 0: %s", fe_errstr(errno));
	// The container's session keyring, not the shim's.
	if (q->keyring[0] && syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, q->keyring) < 0 && errno != ENOSYS)
		fe_fail(FE_ERR_SETUP, "join session keyring: %s", fe_errstr(errno));
	if (q->cmd_flags & FE_FLAG_TTY)
		setup_console(q);
	if ((q->flags & FE_FLAG_NO_NEW_PRIVS) && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fe_fail(FE_ERR_SETUP, "set no_new_privs: %s", fe_errstr(errno));
	if (q->umask != FE_NO_UMASK)
		umask(q->umask);
	// Without no_new_privs loading a filter takes CAP_SYS_ADMIN: before the
	// capabilities go. With it, as late as possible, so the fewest syscalls
	// run under the filter (runc's order).
	if (!(q->flags & FE_FLAG_NO_NEW_PRIVS))
		load_seccomp(q);
	finalize(q);
	path = lookup(q, buf, sizeof(buf));
	if (q->flags & FE_FLAG_NO_NEW_PRIVS)
		load_seccomp(q);
	execve(path, q->argv, q->envp);
	fe_fail(FE_ERR_RUN, "exec %s: %s", path, fe_errstr(errno));
}

// serve forks each command the shim sends into the joined container until
// the shim closes the socket. A command whose process cannot be forked
// (the PID namespace's init has ended, the pids limit) is reported; the
// helper goes on.
static void __attribute__((noreturn)) serve(struct request *q)
{
	int fds[FE_CMD_FDS];
	pid_t pid;

	while (fe_read_command(q, fds)) {
		// A PID namespace takes effect for children only: fork, as the
		// shim's child so that the shim reaps it, and report its pid.
		pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, NULL, NULL, 0);
		if (pid == 0)
			run_process(q, fds);
		for (int i = 0; i < 3; i++)
			close(fds[i]);
		if (pid < 0) {
			fe_report(FE_ERR_SETUP, "clone into the PID namespace: %s", fe_errstr(errno));
			fe_send_reply(FE_REPLY_PID, -1, -1);
		} else {
			fe_send_reply(FE_REPLY_PID, pid, -1);
		}
		// Our end of the error pipe goes (the slot stays taken, so that
		// no descriptor received later lands on it): the shim reads
		// end-of-file once the process has exec'd.
		if (dup3(0, FE_FD_ERR, O_CLOEXEC) < 0)
			_exit(1);
	}
	_exit(0);
}

// fastexec runs the helper: the shim's child, which joins the container
// once and then serves its commands.
static void __attribute__((noreturn)) fastexec(void)
{
	struct request q = { 0 };
	char oom[16];

	// Nothing of ours may reach a command but its standard I/O.
	if (fcntl(FE_FD_ERR, F_SETFD, FD_CLOEXEC) < 0)
		_exit(1);
	if (fcntl(FE_FD_SOCK, F_SETFD, FD_CLOEXEC) < 0)
		fe_fail(FE_ERR_SETUP, "close-on-exec: %s", fe_errstr(errno));
	fe_read_setup(&q);
	for (uint32_t i = 0; i < q.nns; i++)
		if (fcntl(q.ns[i].fd, F_SETFD, FD_CLOEXEC) < 0)
			fe_fail(FE_ERR_SETUP, "namespace fd %d: %s", q.ns[i].fd, fe_errstr(errno));
	if (syscall(SYS_close_range, FE_FD_FIRST_FREE, ~0U, CLOSE_RANGE_CLOEXEC) < 0 && errno != ENOSYS && errno != EINVAL)
		fe_fail(FE_ERR_SETUP, "close-on-exec: %s", fe_errstr(errno));

	// Host-side steps, while this process can still see and write the
	// host's files: cgroups, OOM score (before !dumpable, which would make
	// /proc/self read-only to an unprivileged writer), rlimits (raising a
	// hard limit is not allowed inside a user namespace).
	enter_cgroups(&q);
	if (q.flags & FE_FLAG_OOM) {
		snprintf(oom, sizeof(oom), "%d", q.oom_score_adj);
		if (write_file("/proc/self/oom_score_adj", oom) < 0)
			fe_fail(FE_ERR_SETUP, "set oom_score_adj %s: %s", oom, fe_errstr(errno));
	}
	// The container must not ptrace or read the memory of the shim's image.
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fe_fail(FE_ERR_SETUP, "set non-dumpable: %s", fe_errstr(errno));
	for (uint32_t i = 0; i < q.nrlimits; i++) {
		struct rlimit rl = { .rlim_cur = q.rlimits[i].cur, .rlim_max = q.rlimits[i].max };
		if (setrlimit(q.rlimits[i].resource, &rl) < 0)
			fe_fail(FE_ERR_SETUP, "setrlimit %u: %s", q.rlimits[i].resource, fe_errstr(errno));
	}
	join_namespaces(&q);
	fe_send_reply(FE_REPLY_READY, 0, -1);
	if (dup3(0, FE_FD_ERR, O_CLOEXEC) < 0)
		_exit(1);
	serve(&q);
}

// fastexec_init runs before main and before the Go runtime starts: with the
// marker argument it never returns; without, it costs a string compare.
__attribute__((constructor)) static void fastexec_init(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], FE_MARKER) == 0)
		fastexec();
}
