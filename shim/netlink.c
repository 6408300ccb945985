/*
 * netlink.c: rtnetlink requests built in a fixed buffer (see netlink.h).
 * Attribute layout follows rtnetlink(7) and the kernel's
 * net/core/rtnetlink.c; nested attributes are IFLA_LINKINFO and the veth
 * peer (drivers/net/veth.c reads a struct ifinfomsg then attributes).
 */
#include "netlink.h"

#include <errno.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"

#define NL_BUFFER 4096

struct nl_message
{
  union
  {
    struct nlmsghdr header;
    char bytes[NL_BUFFER];
  };
};

static void *message_tail(struct nl_message *m)
{
  return m->bytes + NLMSG_ALIGN(m->header.nlmsg_len);
}

static void message_init(struct nl_message *m, uint16_t type, uint16_t flags, const void *body, size_t body_len)
{
  memset(m, 0, sizeof *m);
  m->header.nlmsg_type = type;
  m->header.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  m->header.nlmsg_len = NLMSG_LENGTH(body_len);
  memcpy(NLMSG_DATA(&m->header), body, body_len);
}

/* Our messages are a few hundred bytes: the buffer cannot overflow. */
static struct rtattr *put_attr(struct nl_message *m, uint16_t type, const void *data, size_t len)
{
  struct rtattr *attr = message_tail(m);

  attr->rta_type = type;
  attr->rta_len = (unsigned short) RTA_LENGTH(len);
  if (len)
    memcpy(RTA_DATA(attr), data, len);
  m->header.nlmsg_len = NLMSG_ALIGN(m->header.nlmsg_len) + RTA_ALIGN(attr->rta_len);
  return attr;
}

static void put_u32(struct nl_message *m, uint16_t type, uint32_t value)
{
  put_attr(m, type, &value, sizeof value);
}

static void put_string(struct nl_message *m, uint16_t type, const char *s)
{
  put_attr(m, type, s, strlen(s) + 1);
}

static struct rtattr *nest_start(struct nl_message *m, uint16_t type)
{
  return put_attr(m, type, NULL, 0);
}

static void nest_end(struct nl_message *m, struct rtattr *nest)
{
  nest->rta_len = (unsigned short) ((char *) message_tail(m) - (char *) nest);
}

int nl_open(struct nl_socket *nl)
{
  struct sockaddr_nl addr = { .nl_family = AF_NETLINK };

  nl->seq = 0;
  nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (nl->fd < 0)
    return -errno;
  if (bind(nl->fd, (struct sockaddr *) &addr, sizeof addr) < 0)
    {
      int err = -errno;
      close(nl->fd);
      nl->fd = -1;
      return err;
    }
  return 0;
}

void nl_close(struct nl_socket *nl)
{
  if (nl->fd >= 0)
    close(nl->fd);
  nl->fd = -1;
}

/* Sends m and reads until the kernel's answer to it: the acknowledgement
 * (0), an error (-errno), or for a GET of a link its index. */
static int talk(struct nl_socket *nl, struct nl_message *m, int *link_index)
{
  struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
  uint32_t seq = ++nl->seq;

  m->header.nlmsg_seq = seq;
  if (sendto(nl->fd, m, m->header.nlmsg_len, 0, (struct sockaddr *) &kernel, sizeof kernel) < 0)
    return -errno;
  for (;;)
    {
      /* A link's full description (stats, bridge details) is a few KiB. */
      union
      {
        struct nlmsghdr header;
        char bytes[32768];
      } in;
      ssize_t n = recv(nl->fd, &in, sizeof in, 0);
      struct nlmsghdr *h;
      size_t left;

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -errno;
      left = (size_t) n;
      for (h = &in.header; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left))
        {
          if (h->nlmsg_seq != seq)
            continue;
          if (h->nlmsg_type == NLMSG_ERROR)
            {
              struct nlmsgerr *e = NLMSG_DATA(h);
              return e->error;
            }
          if (link_index && h->nlmsg_type == RTM_NEWLINK)
            {
              *link_index = ((struct ifinfomsg *) NLMSG_DATA(h))->ifi_index;
              return 0;
            }
        }
    }
}

int nl_link_index(struct nl_socket *nl, const char *name)
{
  struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
  struct nl_message m;
  int index = -1, err;

  message_init(&m, RTM_GETLINK, 0, &ifi, sizeof ifi);
  put_string(&m, IFLA_IFNAME, name);
  /* The ACK flag on a GET would add a message after the reply. */
  m.header.nlmsg_flags &= (uint16_t) ~NLM_F_ACK;
  err = talk(nl, &m, &index);
  if (err < 0)
    return err;
  return index > 0 ? index : -ENODEV;
}

int nl_create_veth(struct nl_socket *nl, const char *name, const char *peer_name, int peer_netns_fd, uint32_t mtu,
                   const uint8_t *mac)
{
  struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
  struct nl_message m;
  struct rtattr *linkinfo, *data, *peer;
  struct ifinfomsg *peer_ifi;

  message_init(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof ifi);
  put_string(&m, IFLA_IFNAME, name);
  if (mtu)
    put_u32(&m, IFLA_MTU, mtu);
  linkinfo = nest_start(&m, IFLA_LINKINFO);
  put_string(&m, IFLA_INFO_KIND, "veth");
  data = nest_start(&m, IFLA_INFO_DATA);
  peer = nest_start(&m, VETH_INFO_PEER);
  /* The peer's attributes come after a header of its own. */
  peer_ifi = message_tail(&m);
  memset(peer_ifi, 0, sizeof *peer_ifi);
  peer_ifi->ifi_family = AF_UNSPEC;
  m.header.nlmsg_len = NLMSG_ALIGN(m.header.nlmsg_len) + NLMSG_ALIGN(sizeof *peer_ifi);
  put_string(&m, IFLA_IFNAME, peer_name);
  put_u32(&m, IFLA_NET_NS_FD, (uint32_t) peer_netns_fd);
  if (mtu)
    put_u32(&m, IFLA_MTU, mtu);
  if (mac)
    put_attr(&m, IFLA_ADDRESS, mac, 6);
  nest_end(&m, peer);
  nest_end(&m, data);
  nest_end(&m, linkinfo);
  return talk(nl, &m, NULL);
}

int nl_create_bridge(struct nl_socket *nl, const char *name, uint32_t mtu)
{
  struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
  struct nl_message m;
  struct rtattr *linkinfo, *data;

  message_init(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof ifi);
  put_string(&m, IFLA_IFNAME, name);
  /* Set by us, the bridge's MTU no longer follows its smallest port. */
  if (mtu)
    put_u32(&m, IFLA_MTU, mtu);
  linkinfo = nest_start(&m, IFLA_LINKINFO);
  put_string(&m, IFLA_INFO_KIND, "bridge");
  data = nest_start(&m, IFLA_INFO_DATA);
  put_u32(&m, IFLA_BR_FORWARD_DELAY, 0);
  put_u32(&m, IFLA_BR_STP_STATE, 0);
  nest_end(&m, data);
  nest_end(&m, linkinfo);
  return talk(nl, &m, NULL);
}

int nl_link_set(struct nl_socket *nl, int index, int master, uint32_t mtu, bool up)
{
  struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = index };
  struct nl_message m;

  if (up)
    {
      ifi.ifi_flags = IFF_UP;
      ifi.ifi_change = IFF_UP;
    }
  message_init(&m, RTM_NEWLINK, 0, &ifi, sizeof ifi);
  if (master >= 0)
    put_u32(&m, IFLA_MASTER, (uint32_t) master);
  if (mtu)
    put_u32(&m, IFLA_MTU, mtu);
  return talk(nl, &m, NULL);
}

int nl_link_delete(struct nl_socket *nl, int index)
{
  struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = index };
  struct nl_message m;

  message_init(&m, RTM_DELLINK, 0, &ifi, sizeof ifi);
  return talk(nl, &m, NULL);
}

int nl_addr_add(struct nl_socket *nl, int index, struct in_addr addr, int prefix)
{
  struct ifaddrmsg ifa = {
    .ifa_family = AF_INET,
    .ifa_prefixlen = (unsigned char) prefix,
    .ifa_scope = RT_SCOPE_UNIVERSE,
    .ifa_index = (unsigned) index,
  };
  uint32_t mask = prefix == 0 ? 0 : htonl(~0U << (32 - prefix));
  struct in_addr broadcast = { .s_addr = addr.s_addr | ~mask };
  struct nl_message m;

  message_init(&m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof ifa);
  put_attr(&m, IFA_LOCAL, &addr, sizeof addr);
  put_attr(&m, IFA_ADDRESS, &addr, sizeof addr);
  if (prefix < 31)
    put_attr(&m, IFA_BROADCAST, &broadcast, sizeof broadcast);
  return talk(nl, &m, NULL);
}

int nl_route_add_default(struct nl_socket *nl, struct in_addr gateway)
{
  struct rtmsg rt = {
    .rtm_family = AF_INET,
    .rtm_table = RT_TABLE_MAIN,
    .rtm_protocol = RTPROT_BOOT,
    .rtm_scope = RT_SCOPE_UNIVERSE,
    .rtm_type = RTN_UNICAST,
  };
  struct nl_message m;

  message_init(&m, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rt, sizeof rt);
  put_attr(&m, RTA_GATEWAY, &gateway, sizeof gateway);
  return talk(nl, &m, NULL);
}
