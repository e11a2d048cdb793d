# Install layout (FHS, GNUInstallDirs): `cmake --install build` (prefix /usr/local) or
# `--prefix /usr` as the Debian package does.
#   sbin/rtvswitch, bin/vswitchctl and their man pages (section 8, generated from --help),
#   the systemd unit and the sysusers.d entry of group rtvswitch (systemd's directories under
#   /usr, else below the prefix), <sysconfdir>/rtvswitch/rtvswitch.toml, the docs and examples in
#   <docdir>, the Grafana dashboard in <datadir>/rtvswitch/dashboards.
install(TARGETS rtvswitch RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
install(TARGETS vswitchctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

set(RTVS_CONFIG_DIR ${CMAKE_INSTALL_FULL_SYSCONFDIR}/rtvswitch)
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  pkg_get_variable(RTVS_SYSTEMD_UNIT_DIR_DEFAULT systemd systemdsystemunitdir)
  pkg_get_variable(RTVS_SYSUSERS_DIR_DEFAULT systemd sysusersdir)
endif()
if(NOT RTVS_SYSTEMD_UNIT_DIR_DEFAULT)
  set(RTVS_SYSTEMD_UNIT_DIR_DEFAULT ${CMAKE_INSTALL_PREFIX}/lib/systemd/system)
endif()
if(NOT RTVS_SYSUSERS_DIR_DEFAULT)
  set(RTVS_SYSUSERS_DIR_DEFAULT ${CMAKE_INSTALL_PREFIX}/lib/sysusers.d)
endif()
if(NOT RTVS_SYSTEMD_UNIT_DIR)
  set(RTVS_SYSTEMD_UNIT_DIR ${RTVS_SYSTEMD_UNIT_DIR_DEFAULT})
endif()
if(NOT RTVS_SYSUSERS_DIR)
  set(RTVS_SYSUSERS_DIR ${RTVS_SYSUSERS_DIR_DEFAULT})
endif()

configure_file(${PROJECT_SOURCE_DIR}/configs/rtvswitch.service
               ${PROJECT_BINARY_DIR}/rtvswitch.service @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/rtvswitch.service DESTINATION ${RTVS_SYSTEMD_UNIT_DIR})
install(FILES ${PROJECT_SOURCE_DIR}/configs/rtvswitch.sysusers DESTINATION ${RTVS_SYSUSERS_DIR}
        RENAME rtvswitch.conf)
install(FILES ${PROJECT_SOURCE_DIR}/configs/rtvswitch.toml DESTINATION ${RTVS_CONFIG_DIR})

install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/api.md
              ${PROJECT_SOURCE_DIR}/docs/realtime.md ${PROJECT_SOURCE_DIR}/docs/benchmark.md
              ${PROJECT_SOURCE_DIR}/docs/kubevirt.md
              ${PROJECT_SOURCE_DIR}/docs/benchmark-latency.png
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${PROJECT_SOURCE_DIR}/configs/kernel-cmdline.example
              ${PROJECT_SOURCE_DIR}/configs/kubevirt/rtvswitch-dra.yaml
              ${PROJECT_SOURCE_DIR}/configs/kubevirt/kubevirt-vhostuser-binding.yaml
              ${PROJECT_SOURCE_DIR}/configs/kubevirt/rt-vm.yaml
              ${PROJECT_SOURCE_DIR}/configs/rtvswitch-rt-guest.xml
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
file(GLOB RTVS_DASHBOARDS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/dashboards/*.json)
install(FILES ${RTVS_DASHBOARDS} DESTINATION ${CMAKE_INSTALL_DATADIR}/rtvswitch/dashboards)

# Man pages from the programs' own --help (help2man), with the sections of man/*.h2m.
if(RTVS_MAN_PAGES)
  find_program(HELP2MAN help2man REQUIRED)
  set(RTVS_MAN_rtvswitch_NAME "poll-mode DPDK vhost-user switch for real-time KVM guests")
  set(RTVS_MAN_vswitchctl_NAME "control a running rtvswitch")
  set(RTVS_MANS)
  foreach(prog rtvswitch vswitchctl)
    set(page ${PROJECT_BINARY_DIR}/man/${prog}.8)
    add_custom_command(
      OUTPUT ${page}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
      COMMAND ${HELP2MAN} --no-info --no-discard-stderr --section=8
              --name=${RTVS_MAN_${prog}_NAME} --version-string=${PROJECT_VERSION}
              --include=${PROJECT_SOURCE_DIR}/man/${prog}.h2m --output=${page} $<TARGET_FILE:${prog}>
      DEPENDS ${prog} ${PROJECT_SOURCE_DIR}/man/${prog}.h2m
      COMMENT "man page ${prog}(8)" VERBATIM)
    list(APPEND RTVS_MANS ${page})
  endforeach()
  add_custom_target(man ALL DEPENDS ${RTVS_MANS})
  install(FILES ${RTVS_MANS} DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
endif()
