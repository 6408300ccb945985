/*
 * netlink.h: the few rtnetlink requests ctr's networks need (links,
 * addresses, the default route), written by hand: the shim is static and
 * small, and these are a dozen attributes.
 *
 * A socket belongs to the network namespace it was created in, whatever
 * namespace its user is in later: open one per namespace. Every request
 * asks for an acknowledgement; functions return 0 or -errno (the kernel's
 * answer), so callers name the step that failed.
 */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

struct nl_socket
{
  int fd;
  uint32_t seq;
};

/* A NETLINK_ROUTE socket in the current network namespace. */
int nl_open(struct nl_socket *nl);
void nl_close(struct nl_socket *nl);

/* The index of the interface called name, or -errno (-ENODEV if none). */
int nl_link_index(struct nl_socket *nl, const char *name);

/* A veth pair: name here, peer_name created directly in the network
 * namespace peer_netns_fd names (so it never shows up here), both with
 * mtu (0: the kernel's default); mac (6 bytes) for the peer, or NULL. */
int nl_create_veth(struct nl_socket *nl, const char *name, const char *peer_name, int peer_netns_fd, uint32_t mtu,
                   const uint8_t *mac);

/* A bridge with STP off and no forward delay (ports forward at once). */
int nl_create_bridge(struct nl_socket *nl, const char *name, uint32_t mtu);

/* Changes to an existing link; master < 0 and mtu 0 leave those alone. */
int nl_link_set(struct nl_socket *nl, int index, int master, uint32_t mtu, bool up);

int nl_link_delete(struct nl_socket *nl, int index);

/* addr/prefix on the link (IPv4), with the subnet's broadcast. */
int nl_addr_add(struct nl_socket *nl, int index, struct in_addr addr, int prefix);

/* The default route via gateway (IPv4), in the main table. */
int nl_route_add_default(struct nl_socket *nl, struct in_addr gateway);
