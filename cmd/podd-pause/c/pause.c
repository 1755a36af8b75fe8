/*
 * podd-pause holds a pod's namespaces: it sleeps, reaps every child it
 * inherits (it is PID 1 when the pod shares its PID namespace) and exits 0
 * on SIGTERM or SIGINT.
 *
 * It is C, built static (hack/build-pause.sh, make build), because one runs
 * per pod: a Go pause cost 0.52 MiB PSS per pod at 200 pods (its runtime,
 * heap and signal thread; issue 13), this one a few pages.
 *
 * Signals: SIGTERM, SIGINT and SIGCHLD are blocked, first thing in main, and
 * taken with sigwaitinfo: there is no handler, no async-signal-safety to
 * mind, and a signal that arrives while the pause sets up waits, pending,
 * instead of killing it with the default action. (What remains is the
 * stretch between the shim's fork and this main: a SIGTERM there still ends
 * the pause with 143, as it did the Go pause before its handler.) Blocked
 * signals are queued even for the PID 1 of a PID namespace, to which the
 * kernel otherwise drops every signal it has no handler for.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>

/* reap collects every exited child without blocking: one SIGCHLD may
 * stand for many. It returns when none is left to collect (0: the others
 * still run; -1 with ECHILD: none left at all). */
static void reap(void)
{
	for (;;) {
		pid_t pid = waitpid(-1, NULL, WNOHANG);
		if (pid > 0 || (pid < 0 && errno == EINTR))
			continue;
		return;
	}
}

/* name_after_argv0 names the process (comm, what ps and top show) after
 * basename(argv[0]): the shim execs podd-pause through /proc/self/fd/N,
 * which would name it "N". The kernel cuts the name to 15 bytes. */
static void name_after_argv0(const char *argv0)
{
	const char *base;

	if (argv0 == NULL || *argv0 == '\0')
		return;
	base = strrchr(argv0, '/');
	base = base != NULL ? base + 1 : argv0;
	if (*base != '\0')
		prctl(PR_SET_NAME, (unsigned long)base, 0, 0, 0);
}

int main(int argc, char **argv)
{
	sigset_t set;
	int sig;

	(void)argc;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		return 1;
	name_after_argv0(argv[0]);

	/* Children that exited before the mask was set (inherited with the
	 * PID namespace or across the exec) sent their SIGCHLD already. */
	reap();
	for (;;) {
		sig = sigwaitinfo(&set, NULL);
		if (sig == SIGCHLD)
			reap();
		else if (sig == SIGTERM || sig == SIGINT)
			return 0;
		/* -1: EINTR (a stop and continue, a tracer); wait again. */
	}
}
