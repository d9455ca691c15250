# Install rules and the Debian package (CPack's DEB generator), included from the top
# CMakeLists.txt. With the default prefix /usr:
#   /usr/bin/dnswatch, man pages, /usr/share/doc/dnswatch (README, docs, CHANGELOG,
#   copyright), bash completion, the systemd unit, sysusers.d and tmpfiles.d snippets,
#   the Prometheus rules and Grafana dashboard under /usr/share/dnswatch, and
#   /etc/dnswatch/dnswatch.yaml with the shipped rule pack in /etc/dnswatch/rules.
# `cmake --install build/rel` (DESTDIR=... for a staging root); `cpack -G DEB` in the build
# directory (or `ninja package`) makes the .deb.
include(GNUInstallDirs)

# Relative to the prefix (the .deb's is /usr): systemd, sysusers and tmpfiles read
# /usr/lib/... and /usr/local/lib/... alike.
set(DNSWATCH_SYSTEMD_DIR "lib/systemd/system" CACHE STRING "Where the systemd unit goes")
set(DNSWATCH_SYSUSERS_DIR "lib/sysusers.d" CACHE STRING "Where the sysusers.d snippet goes")
set(DNSWATCH_TMPFILES_DIR "lib/tmpfiles.d" CACHE STRING "Where the tmpfiles.d snippet goes")
set(DNSWATCH_COMPLETION_DIR "${CMAKE_INSTALL_DATADIR}/bash-completion/completions" CACHE STRING
  "Where the bash completion goes")
# The config is where the program looks for it (/etc/dnswatch/dnswatch.yaml), whatever the
# prefix.
set(DNSWATCH_CONF_DIR "/etc/dnswatch" CACHE PATH "Where the config and rule pack go")
set(DW_CONF_DIR "${DNSWATCH_CONF_DIR}")
set(DW_DOC_DIR "${CMAKE_INSTALL_DOCDIR}")
set(DW_SHARE_DIR "${CMAKE_INSTALL_DATADIR}/dnswatch")

install(TARGETS dnswatch RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES man/dnswatch.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES man/dnswatch-rules.5 DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
install(FILES deploy/dnswatch.service DESTINATION ${DNSWATCH_SYSTEMD_DIR})
install(FILES deploy/dnswatch.sysusers DESTINATION ${DNSWATCH_SYSUSERS_DIR} RENAME dnswatch.conf)
install(FILES deploy/dnswatch.tmpfiles DESTINATION ${DNSWATCH_TMPFILES_DIR} RENAME dnswatch.conf)
install(FILES deploy/bash-completion/dnswatch DESTINATION ${DNSWATCH_COMPLETION_DIR})
install(FILES deploy/dnswatch.yaml DESTINATION ${DW_CONF_DIR})
file(GLOB DW_RULE_PACK CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/deploy/rules/*.yaml
                                         ${PROJECT_SOURCE_DIR}/deploy/rules/*.example)
install(FILES ${DW_RULE_PACK} DESTINATION ${DW_CONF_DIR}/rules)
install(FILES README.md CHANGELOG.md DESTINATION ${DW_DOC_DIR})
install(FILES cmake/debian/copyright DESTINATION ${DW_DOC_DIR})
file(GLOB DW_DOCS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${DW_DOCS} DESTINATION ${DW_DOC_DIR}/docs)
install(FILES deploy/prometheus/dnswatch-alerts.yml DESTINATION ${DW_SHARE_DIR}/prometheus)
install(FILES deploy/grafana/dnswatch.json DESTINATION ${DW_SHARE_DIR}/grafana)

# ---- the .deb ---------------------------------------------------------------------------
# Conffiles: every file under /etc, so that dpkg keeps an operator's edits on upgrade and
# removes them on purge.
set(DW_CONFFILES "${DW_CONF_DIR}/dnswatch.yaml\n")
foreach(f ${DW_RULE_PACK})
  get_filename_component(n ${f} NAME)
  string(APPEND DW_CONFFILES "${DW_CONF_DIR}/rules/${n}\n")
endforeach()
file(WRITE ${PROJECT_BINARY_DIR}/debian/conffiles "${DW_CONFFILES}")
foreach(script postinst prerm postrm)
  configure_file(${PROJECT_SOURCE_DIR}/cmake/debian/${script}
                 ${PROJECT_BINARY_DIR}/debian/${script} COPYONLY
                 FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ
                                  GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
endforeach()

set(CPACK_PACKAGE_NAME dnswatch)
set(CPACK_PACKAGE_VENDOR "dnswatch")
set(CPACK_PACKAGE_CONTACT "dnswatch maintainers <dev@dnswatch.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "passive DNS sensor for build networks")
set(CPACK_PACKAGE_DESCRIPTION
  "dnswatch reads the DNS responses on a span port (or a capture file), judges them\n"
  "against rules (which addresses, prefixes, ASNs and CNAME chains a name may resolve\n"
  "to, DNS rebinding, answers stub resolvers read differently) and writes JSON events to\n"
  "Redis or stdout. Runs as a systemd service under its own user with CAP_NET_RAW only.")
string(REPLACE ";" "" CPACK_PACKAGE_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION}")
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The libraries' packages come from dpkg-shlibdeps; the user is made by systemd-sysusers
# or, without systemd, adduser.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd | adduser")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "redis-server")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "geoipupdate, prometheus-node-exporter, redis-tools")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${PROJECT_BINARY_DIR}/debian/conffiles ${PROJECT_BINARY_DIR}/debian/postinst
  ${PROJECT_BINARY_DIR}/debian/prerm ${PROJECT_BINARY_DIR}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
