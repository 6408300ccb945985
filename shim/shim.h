/*
 * shim.h: the verbs of ctr-shim (see PROTOCOL.md) and its versions.
 */
#pragma once

#ifndef SHIM_VERSION
#define SHIM_VERSION "0.0.0-dev"
#endif

/* Bumped when the sync-fd lines or the state files change meaning. */
#define SHIM_PROTOCOL_VERSION 1

int cmd_run(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_userns(int argc, char **argv);
int cmd_net_holder(int argc, char **argv);
int cmd_net_attach(int argc, char **argv);
int cmd_net_detach(int argc, char **argv);
