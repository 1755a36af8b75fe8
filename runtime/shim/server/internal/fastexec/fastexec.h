// Constants shared by the exec helper (fastexec.c) and the shim's side of
// it (fastexec.go), which reads them through cgo.
#ifndef PODD_FASTEXEC_H
#define PODD_FASTEXEC_H

// FE_MARKER is argv[1] of the shim binary started as the exec helper.
#define FE_MARKER "podd-fastexec"
// FE_MAGIC starts the helper's set-up request and FE_CMD_MAGIC each
// command's; another value is a request of another build.
#define FE_MAGIC 0x70646679u
#define FE_CMD_MAGIC 0x70646663u

// The helper's descriptors: the request/reply socket, the error pipe's
// write end, and the first that is neither (namespace fds start here).
#define FE_FD_SOCK 3
#define FE_FD_ERR 4
#define FE_FD_FIRST_FREE 5

// A command comes with FE_CMD_FDS descriptors (SCM_RIGHTS): its standard
// input, output and error, and the write end of its error pipe.
#define FE_CMD_FDS 4

// Request flags (FE_FLAG_TTY is a command's, the others the set-up's).
#define FE_FLAG_TTY 1u
#define FE_FLAG_NO_NEW_PRIVS 2u
#define FE_FLAG_OOM 4u
// FE_NO_UMASK leaves the umask as inherited.
#define FE_NO_UMASK 0xffffffffu

// Capability sets, in request order.
#define FE_CAP_BOUNDING 0
#define FE_CAP_EFFECTIVE 1
#define FE_CAP_PERMITTED 2
#define FE_CAP_INHERITABLE 3
#define FE_CAP_AMBIENT 4
#define FE_CAP_SETS 5

// Replies on the socket: the process's pid (from the helper), the
// terminal's master (from the process, as SCM_RIGHTS), and the helper's
// set-up done (it has joined the container and waits for commands).
#define FE_REPLY_PID 1
#define FE_REPLY_CONSOLE 2
#define FE_REPLY_READY 3

// The first byte of an error message: the command cannot be run (not
// found, not executable), or the setup failed.
#define FE_ERR_RUN 'R'
#define FE_ERR_SETUP 'S'

#endif
