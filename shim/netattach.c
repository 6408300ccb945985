/*
 * netattach.c: a container's interface on a user-defined network (see
 * netattach.h). The holder's side is configured through a netlink socket
 * opened inside the holder's namespace; the container's side through one
 * opened in our own.
 */
#include "netattach.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "netlink.h"
#include "util.h"

static bool parse_cidr(const char *text, struct in_addr *addr, int *prefix)
{
  char buf[INET_ADDRSTRLEN];
  const char *slash = strchr(text, '/');
  char *end;
  long n;

  if (slash == NULL || (size_t) (slash - text) >= sizeof buf || slash[1] == '\0')
    return false;
  memcpy(buf, text, (size_t) (slash - text));
  buf[slash - text] = '\0';
  n = strtol(slash + 1, &end, 10);
  if (*end != '\0' || n < 0 || n > 32)
    return false;
  *prefix = (int) n;
  return inet_pton(AF_INET, buf, addr) == 1;
}

static bool parse_mac(const char *text, uint8_t mac[6])
{
  unsigned v[6];
  char tail;

  if (sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
    return false;
  for (int i = 0; i < 6; i++)
    mac[i] = (uint8_t) v[i];
  return true;
}

/* A string member; NULL if absent, null or "" (then an error if required). */
static const char *string_member(const struct json *object, const char *key, bool required, const char *what,
                                 char *err, size_t err_size, bool *failed)
{
  struct json *v = json_get(object, key);

  if (v == NULL || v->type == JSON_NULL || (v->type == JSON_STRING && v->string.value[0] == '\0'))
    {
      if (required)
        {
          snprintf(err, err_size, "%s.%s is required", what, key);
          *failed = true;
        }
      return NULL;
    }
  if (v->type != JSON_STRING)
    {
      snprintf(err, err_size, "%s.%s must be a string, not %s", what, key, json_type_name(v->type));
      *failed = true;
      return NULL;
    }
  return v->string.value;
}

static bool interface_name_ok(const char *name)
{
  return strlen(name) < IFNAMSIZ && strchr(name, '/') == NULL && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

bool net_attachment_parse(const struct json *object, const char *what, struct net_attachment *out, char *err,
                          size_t err_size)
{
  bool failed = false;
  const char *address, *gateway, *mac;
  struct json *mtu;
  uint64_t n;

  memset(out, 0, sizeof *out);
  if (object->type != JSON_OBJECT)
    {
      snprintf(err, err_size, "%s must be an object, not %s", what, json_type_name(object->type));
      return false;
    }
  out->netns = string_member(object, "netns", true, what, err, err_size, &failed);
  out->bridge = string_member(object, "bridge", !failed, what, err, err_size, &failed);
  out->host_interface = string_member(object, "hostInterface", !failed, what, err, err_size, &failed);
  out->interface = string_member(object, "interface", !failed, what, err, err_size, &failed);
  address = string_member(object, "address", !failed, what, err, err_size, &failed);
  gateway = string_member(object, "gateway", false, what, err, err_size, &failed);
  mac = string_member(object, "mac", false, what, err, err_size, &failed);
  if (failed)
    return false;
  if (out->netns[0] != '/')
    {
      snprintf(err, err_size, "%s.netns must be an absolute path, not \"%s\"", what, out->netns);
      return false;
    }
  if (!interface_name_ok(out->bridge) || !interface_name_ok(out->host_interface) || !interface_name_ok(out->interface))
    {
      snprintf(err, err_size, "%s: interface names must be 1 to %d characters without '/'", what, IFNAMSIZ - 1);
      return false;
    }
  if (!parse_cidr(address, &out->address, &out->prefix))
    {
      snprintf(err, err_size, "%s.address must be an IPv4 address with a prefix length (10.89.1.4/24), not \"%s\"",
               what, address);
      return false;
    }
  if (gateway)
    {
      if (inet_pton(AF_INET, gateway, &out->gateway) != 1)
        {
          snprintf(err, err_size, "%s.gateway must be an IPv4 address, not \"%s\"", what, gateway);
          return false;
        }
      out->has_gateway = true;
    }
  if (mac)
    {
      if (!parse_mac(mac, out->mac))
        {
          snprintf(err, err_size, "%s.mac must look like aa:bb:cc:dd:ee:ff, not \"%s\"", what, mac);
          return false;
        }
    }
  else
    {
      /* As docker does: the MAC address follows from the IP address. A
       * container that gets the address of one that is gone (a restart, a
       * freed address) then has its MAC address too, so the ARP caches of
       * slirp4netns (published ports) and of the other containers stay
       * right: a gratuitous ARP at link-up would race the bridge port's
       * carrier and be lost. */
      memcpy(out->mac, (const uint8_t[]){ 0x02, 0x42 }, 2);
      memcpy(out->mac + 2, &out->address.s_addr, 4);
    }
  out->has_mac = true;
  mtu = json_get(object, "mtu");
  if (mtu && mtu->type != JSON_NULL)
    {
      if (mtu->type != JSON_NUMBER || !json_to_u64(mtu, &n) || n > 65535 || (n != 0 && n < 68))
        {
          snprintf(err, err_size, "%s.mtu must be an integer from 68 to 65535", what);
          return false;
        }
      out->mtu = (uint32_t) n;
    }
  return true;
}

void net_attachments_parse(const char *text, struct net_attachments *out)
{
  char err[256];
  const char *what = "annotations." ANNOTATION_NETWORK_ATTACHMENTS;

  memset(out, 0, sizeof *out);
  out->document = json_parse(text, strlen(text), err, sizeof err);
  if (out->document == NULL)
    die(EXIT_ENGINE, "config.json: %s: %s", what, err);
  if (out->document->type != JSON_ARRAY)
    die(EXIT_ENGINE, "config.json: %s must be a JSON array, not %s", what, json_type_name(out->document->type));
  out->len = out->document->array.len;
  out->items = xcalloc(out->len ? out->len : 1, sizeof *out->items);
  for (size_t i = 0; i < out->len; i++)
    {
      char item[96];
      snprintf(item, sizeof item, "%s[%zu]", what, i);
      if (!net_attachment_parse(out->document->array.items[i], item, &out->items[i], err, sizeof err))
        die(EXIT_ENGINE, "config.json: %s", err);
    }
}

void net_attachments_free(struct net_attachments *a)
{
  free(a->items);
  json_free(a->document);
  memset(a, 0, sizeof *a);
}

/* State for undoing a half-made attachment: once the pair exists, its
 * host end is deleted again if a later step fails (for `net-attach`, where
 * the container lives on; in a container's setup the pair would go with
 * its namespace anyway). */
/* How long a host interface name that exists may take to go away. */
#define EXISTS_WAIT_MS 3000

struct attach_job
{
  const struct net_attachment *a;
  struct nl_socket holder, own;
  int host_index;
};

static NORETURN void fail(struct attach_job *job, int err, const char *step)
{
  if (job->host_index > 0)
    nl_link_delete(&job->holder, job->host_index);
  die(EXIT_ENGINE, "network interface %s: cannot %s: %s", job->a->interface, step, strerror(-err));
}

void net_attach(const struct net_attachment *a)
{
  struct attach_job job = { .a = a, .holder = { .fd = -1 }, .own = { .fd = -1 } };
  cleanup_fd int own_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  cleanup_fd int holder_ns = open(a->netns, O_RDONLY | O_CLOEXEC);
  int bridge, index, err;

  if (own_ns < 0)
    die_with_error(EXIT_ENGINE, "network interface %s: cannot open /proc/self/ns/net", a->interface);
  if (holder_ns < 0)
    die_with_error(EXIT_ENGINE, "network interface %s: cannot open the network's namespace %s (is its holder running?)",
                   a->interface, a->netns);
  /* A netlink socket talks to the namespace it was created in: visit the
   * holder's just long enough to create one. */
  if (setns(holder_ns, CLONE_NEWNET) < 0)
    die_with_error(EXIT_ENGINE, "network interface %s: cannot enter the network's namespace %s", a->interface, a->netns);
  err = nl_open(&job.holder);
  if (setns(own_ns, CLONE_NEWNET) < 0)
    die_with_error(EXIT_ENGINE, "network interface %s: cannot return to the container's network namespace", a->interface);
  if (err < 0)
    fail(&job, err, "open a netlink socket in the network's namespace");
  err = nl_open(&job.own);
  if (err < 0)
    fail(&job, err, "open a netlink socket");

  bridge = nl_link_index(&job.holder, a->bridge);
  if (bridge < 0)
    die(EXIT_ENGINE, "network interface %s: no bridge %s in %s: %s", a->interface, a->bridge, a->netns, strerror(-bridge));
  /* The peer is created in our namespace directly, so its name can never
   * clash with the holder's links. */
  /* The kernel deletes a dead container's pair with its namespace, but
   * in a work queue, a moment after its last process: the same container
   * restarting at once may find its host end's name still taken. */
  for (int waited_ms = 0;; waited_ms += 50)
    {
      struct timespec pause = { .tv_nsec = 50 * 1000000L };

      err = nl_create_veth(&job.holder, a->host_interface, a->interface, own_ns, a->mtu, a->has_mac ? a->mac : NULL);
      if (err != -EEXIST || waited_ms >= EXISTS_WAIT_MS)
        break;
      nanosleep(&pause, NULL);
    }
  if (err == -EEXIST && nl_link_index(&job.own, a->interface) > 0)
    die(EXIT_ENGINE, "network interface %s: cannot create the veth pair: the container has an interface %s already",
        a->interface, a->interface);
  if (err == -EEXIST)
    die(EXIT_ENGINE, "network interface %s: cannot create the veth pair: %s exists already in %s", a->interface,
        a->host_interface, a->netns);
  if (err < 0)
    fail(&job, err, "create the veth pair");
  job.host_index = nl_link_index(&job.holder, a->host_interface);
  if (job.host_index < 0)
    {
      err = job.host_index;
      job.host_index = 0;
      fail(&job, err, "find the veth pair's host end");
    }
  err = nl_link_set(&job.holder, job.host_index, bridge, 0, true);
  if (err < 0)
    fail(&job, err, "add the host end to the bridge");

  index = nl_link_index(&job.own, a->interface);
  if (index < 0)
    fail(&job, index, "find the interface");
  err = nl_addr_add(&job.own, index, a->address, a->prefix);
  if (err < 0)
    fail(&job, err, "set its address");
  err = nl_link_set(&job.own, index, -1, 0, true);
  if (err < 0)
    fail(&job, err, "bring it up");
  index = nl_link_index(&job.own, "lo");
  if (index < 0 || (err = nl_link_set(&job.own, index, -1, 0, true)) < 0)
    fail(&job, index < 0 ? index : err, "bring lo up");
  if (a->has_gateway && (err = nl_route_add_default(&job.own, a->gateway)) < 0)
    fail(&job, err, "add the default route");
  nl_close(&job.holder);
  nl_close(&job.own);
}

void net_detach(const char *ifname)
{
  struct nl_socket nl;
  int index, err;

  err = nl_open(&nl);
  if (err < 0)
    die(EXIT_ENGINE, "network interface %s: cannot open a netlink socket: %s", ifname, strerror(-err));
  index = nl_link_index(&nl, ifname);
  if (index < 0)
    die(EXIT_ENGINE, "network interface %s: %s", ifname, index == -ENODEV ? "no such interface" : strerror(-index));
  err = nl_link_delete(&nl, index);
  if (err < 0)
    die(EXIT_ENGINE, "network interface %s: cannot delete it: %s", ifname, strerror(-err));
  nl_close(&nl);
}
