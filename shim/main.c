/*
 * main.c: ctr-shim's entry point. The only native code in ctr: Bun is
 * multithreaded and the kernel refuses unshare(CLONE_NEWUSER) to a
 * multithreaded process, so every namespace, mount and exec step of a
 * container happens here. The interface with ctr is shim/PROTOCOL.md.
 */
#include <stdio.h>
#include <string.h>

#include "shim.h"
#include "util.h"

static const char usage[] =
  "usage: ctr-shim --version\n"
  "       ctr-shim run --bundle DIR --state DIR [--sync-fd N] [--detach] [--log FILE]\n"
  "                    [--restart POLICY] [--exit-command PATH [--exit-command-arg ARG]... [--exit-command-by-caller]]\n"
  "       ctr-shim exec --bundle DIR --pid PID [--sync-fd N] [--detach]\n"
  "       ctr-shim init -- CMD [ARG...]\n"
  "       ctr-shim userns --uid-map C:H:N [...] --gid-map C:H:N [...] -- CMD [ARG...]\n"
  "       ctr-shim net-holder DIR\n"
  "       ctr-shim net-attach PID JSON\n"
  "       ctr-shim net-detach PID IFNAME\n";

int main(int argc, char **argv)
{
  if (argc >= 2 && strcmp(argv[1], "--version") == 0)
    {
      printf("ctr-shim %s\nprotocol %d\n", SHIM_VERSION, SHIM_PROTOCOL_VERSION);
      return 0;
    }
  if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
    {
      fputs(usage, stdout);
      return 0;
    }
  if (argc >= 2 && strcmp(argv[1], "run") == 0)
    return cmd_run(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "init") == 0)
    return cmd_init(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "exec") == 0)
    return cmd_exec(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "userns") == 0)
    return cmd_userns(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "net-holder") == 0)
    return cmd_net_holder(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "net-attach") == 0)
    return cmd_net_attach(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "net-detach") == 0)
    return cmd_net_detach(argc - 2, argv + 2);

  fputs(usage, stderr);
  return EXIT_ENGINE;
}
