/* Least privilege: once the capture is open, become an unprivileged user with its groups
 * and no capability at all (tcpdump's -Z). */
#ifndef DW_PRIVDROP_H
#define DW_PRIVDROP_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

/* Switches to user (its primary and supplementary groups), clears every capability
 * (effective, permitted, inheritable, ambient, and the bounding set where allowed) and
 * sets no_new_privs. Returns 0, or a negative code with one line in err. */
DW_MUST_USE
int privdrop_to(const char *user, char *err, size_t errlen);

/* For a process that is not root but was given capabilities (systemd's
 * AmbientCapabilities): clears them all and sets no_new_privs. Returns 0, or a negative
 * code with one line in err. */
DW_MUST_USE
int privdrop_caps(char *err, size_t errlen);

/* What the pipeline does once its input is open (nothing from then on needs privileges):
 * drops to user when given one; else, for a live input (one that needed privileges to
 * open), clears the capabilities of an unprivileged user given some, and refuses to go on
 * as root unless allow_root. src names the input in the message. Returns 0, or a negative
 * code with one line in err. */
DW_MUST_USE
int privdrop_after_open(const char *user, bool allow_root, bool live, const char *src, char *err,
                        size_t errlen);

/* True if the process runs as root or holds any effective capability. */
bool privdrop_privileged(void);

#endif
