#include "sensor/privdrop.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* capget/capset have no glibc wrapper; the raw calls avoid a library for ten lines. */
static int caps_get(struct __user_cap_data_struct data[2])
{
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    return (int)syscall(SYS_capget, &hdr, data);
}

static int caps_clear(void)
{
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    return (int)syscall(SYS_capset, &hdr, data);
}

bool privdrop_privileged(void)
{
    struct __user_cap_data_struct data[2];
    if (geteuid() == 0 || getuid() == 0)
        return true;
    if (caps_get(data) != 0)
        return false;
    return data[0].effective || data[1].effective || data[0].permitted || data[1].permitted;
}

int privdrop_to(const char *user, char *err, size_t errlen)
{
    struct passwd pw, *res = NULL;
    char buf[4096];
    int rc = getpwnam_r(user, &pw, buf, sizeof buf, &res);
    if (rc != 0 || !res) {
        snprintf(err, errlen, "--user %s: no such user%s%s", user, rc ? ": " : "",
                 rc ? strerror(rc) : "");
        return -ENOENT;
    }
    if (pw.pw_uid == 0) {
        snprintf(err, errlen, "--user %s is root: name an unprivileged user", user);
        return -EINVAL;
    }
    /* Bounding set first, while CAP_SETPCAP is still held (fails harmlessly without it). */
    for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
        prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    if (getuid() != pw.pw_uid || geteuid() != pw.pw_uid) {
        if (initgroups(pw.pw_name, pw.pw_gid) != 0 || setgid(pw.pw_gid) != 0 ||
            setuid(pw.pw_uid) != 0) {
            snprintf(err, errlen, "cannot become user %s: %s", user, strerror(errno));
            return -errno;
        }
    }
    if (caps_clear() != 0) {
        snprintf(err, errlen, "cannot clear capabilities: %s", strerror(errno));
        return -errno;
    }
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    /* Check it stuck: a process that can become root again has dropped nothing. */
    if (setuid(0) == 0 || geteuid() == 0 || privdrop_privileged()) {
        snprintf(err, errlen, "privileges still held after dropping to %s", user);
        return -EPERM;
    }
    return 0;
}

int privdrop_caps(char *err, size_t errlen)
{
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    if (caps_clear() != 0) {
        snprintf(err, errlen, "cannot clear capabilities: %s", strerror(errno));
        return -errno;
    }
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (privdrop_privileged()) {
        snprintf(err, errlen, "capabilities still held after dropping them");
        return -EPERM;
    }
    return 0;
}

int privdrop_after_open(const char *user, bool allow_root, bool live, const char *src, char *err,
                        size_t errlen)
{
    if (user)
        return privdrop_to(user, err, errlen);
    if (live && geteuid() != 0 && getuid() != 0 && privdrop_privileged())
        /* An unprivileged user given capabilities for the capture (the systemd unit):
         * keep the user, drop the capabilities. */
        return privdrop_caps(err, errlen);
    if (live && privdrop_privileged() && !allow_root) {
        snprintf(err, errlen, "refusing to keep capturing on %s with root privileges: pass "
                              "--user NAME to drop to that user once the interface is open, "
                              "or --allow-root", src);
        return -EPERM;
    }
    return 0;
}
