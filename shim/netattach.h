/*
 * netattach.h: connecting a container to a user-defined network (see
 * PROTOCOL.md, "Networks"): a veth pair whose host end is a port of the
 * network's bridge in the holder's network namespace and whose peer is the
 * container's interface, with its address and, for the first network, the
 * default route.
 *
 * Everything here runs as root of the network user namespace, which owns
 * both network namespaces: moving a link between two namespaces needs
 * CAP_NET_ADMIN over both.
 */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"

/* The annotation on config.json carrying a JSON array of attachments. */
#define ANNOTATION_NETWORK_ATTACHMENTS "run.ctr.network.attachments"

struct net_attachment
{
  const char *netns;          /* the holder's network namespace, e.g. /proc/123/ns/net */
  const char *bridge;         /* in that namespace */
  const char *host_interface; /* the veth end created there */
  const char *interface;      /* the peer, in the container */
  struct in_addr address;
  int prefix;
  bool has_gateway; /* the default route goes via gateway */
  struct in_addr gateway;
  uint32_t mtu; /* 0: the kernel's default */
  bool has_mac; /* always, once parsed: mac, or 02:42 and the IPv4 address (as docker) */
  uint8_t mac[6];
};

struct net_attachments
{
  struct json *document; /* owns the strings */
  struct net_attachment *items;
  size_t len;
};

/* One attachment object; false with a message naming the field. `what`
 * prefixes messages ("annotations.run.ctr.network.attachments[0]"). */
bool net_attachment_parse(const struct json *object, const char *what, struct net_attachment *out, char *err,
                          size_t err_size);

/* The annotation's text (a JSON array); dies with config.json's message. */
void net_attachments_parse(const char *text, struct net_attachments *out);
void net_attachments_free(struct net_attachments *a);

/* Creates and configures a's veth pair with the current network namespace
 * as the container's. Dies with the interface and the failed step. */
void net_attach(const struct net_attachment *a);

/* Deletes the interface ifname of the current network namespace (its veth
 * peer goes with it). Dies when it cannot. */
void net_detach(const char *ifname);
