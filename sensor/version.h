/* What this build is: the release version (CMake's project version) and the git revision
 * of the tree it was built from, computed at build time (cmake/gitrev.cmake; "unknown"
 * when built from a tarball). */
#ifndef DW_VERSION_H
#define DW_VERSION_H

extern const char dw_git_revision[];

#endif
