/*
 * caps.c: capability sets for the container process.
 *
 * Inside a user namespace, root holds every capability over the
 * namespace's own resources; the config narrows that down the way docker
 * does (a default set), so a compromised process cannot, say, use raw
 * sockets in its network namespace.
 */
#include "caps.h"

#include <errno.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "util.h"

static const char *const cap_names[] = {
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
  "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID",
  "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
  "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
  "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
};

#define N_CAPS ((int) (sizeof cap_names / sizeof cap_names[0]))

int cap_from_name(const char *name)
{
  for (int i = 0; i < N_CAPS; i++)
    if (strcmp(cap_names[i], name) == 0)
      return i;
  return -1;
}

/* Capabilities the running kernel knows; names it lacks are skipped, as
 * runc does, so one config works across kernels. */
static bool kernel_has_cap(int cap)
{
  return prctl(PR_CAPBSET_READ, (unsigned long) cap, 0, 0, 0) >= 0;
}

void prepare_caps(const struct caps_spec *caps)
{
  if (!caps->present)
    return;
  for (int cap = 0; cap < 64; cap++)
    {
      if (!kernel_has_cap(cap))
        break;
      if (caps->bounding & (1ULL << cap))
        continue;
      if (prctl(PR_CAPBSET_DROP, (unsigned long) cap, 0, 0, 0) < 0)
        die_with_error(EXIT_ENGINE, "cannot drop %s from the bounding set",
                       cap < N_CAPS ? cap_names[cap] : "capability");
    }
  /* Without this, setresuid() to a non-zero uid would clear the permitted
   * set and there would be nothing left to give the process. */
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
    die_with_error(EXIT_ENGINE, "cannot keep capabilities across the user switch");
}

void apply_caps(const struct caps_spec *caps)
{
  struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct data[2];
  uint64_t known = 0;

  if (!caps->present)
    return;
  for (int cap = 0; cap < 64 && kernel_has_cap(cap); cap++)
    known |= 1ULL << cap;

  memset(data, 0, sizeof data);
  data[0].effective = (uint32_t) (caps->effective & known);
  data[1].effective = (uint32_t) ((caps->effective & known) >> 32);
  data[0].permitted = (uint32_t) (caps->permitted & known);
  data[1].permitted = (uint32_t) ((caps->permitted & known) >> 32);
  data[0].inheritable = (uint32_t) (caps->inheritable & known);
  data[1].inheritable = (uint32_t) ((caps->inheritable & known) >> 32);
  if (syscall(SYS_capset, &header, data) < 0)
    die_with_error(EXIT_ENGINE, "cannot set capabilities");

  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
    die_with_error(EXIT_ENGINE, "cannot reset keep-capabilities");

  /* Ambient capabilities are what survives execve() for a non-root uid
   * running a binary without file capabilities. */
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    die_with_error(EXIT_ENGINE, "cannot clear ambient capabilities");
  for (int cap = 0; cap < 64; cap++)
    if ((caps->ambient & known) & (1ULL << cap))
      if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (unsigned long) cap, 0, 0) < 0)
        die_with_error(EXIT_ENGINE, "cannot raise ambient %s (it must be permitted and inheritable)",
                       cap < N_CAPS ? cap_names[cap] : "capability");
}
