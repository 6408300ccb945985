/*
 * nethelper.h: the container's network helper (slirp4netns), started by
 * the monitor once the container's namespaces exist and before it execs.
 */
#pragma once

#include <signal.h>
#include <sys/types.h>

struct net_helper
{
  const char *path;  /* NULL: no helper */
  const char **args; /* NULL-terminated, argv[0] included; room for 4 more */
  size_t n_args;
  const char **requests; /* JSON requests for its API socket `slirp.sock`, sent once it is ready */
  size_t n_requests;
  int exit_fd; /* write end of its --exit-fd pipe; closing it ends the helper */
  /* --net-api-socket: the requests go to this API socket (a network's
   * slirp4netns, see PROTOCOL.md) instead of our own helper's, and the
   * port forwards they add are removed again when the container ends. */
  const char *api_socket;
  long *hostfwd_ids; /* the ids add_hostfwd returned, for remove_hostfwd */
  size_t n_hostfwd;
  int state_fd;
};

/* Starts the helper for the container whose init is pid, in a session of
 * its own (not our child: it must not show up in the monitor's waitpid),
 * with cwd = the state directory, and waits until it reports the network
 * configured. Dies with the helper's complaint otherwise. */
void net_helper_start(struct net_helper *h, pid_t pid, int state_fd, const sigset_t *mask);

/* Ends the helper (it exits when its exit fd closes), and removes the
 * port forwards added through --net-api-socket. */
void net_helper_stop(struct net_helper *h);

/* For the monitor's die hook: removes the port forwards of the helper
 * last started, if any. */
void net_helper_cleanup(void);
