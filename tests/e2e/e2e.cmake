# End-to-end tests (label e2e): real TCG guests under libvirtd, prepared by
# tests/e2e/env.sh. See tests/e2e/README.md. CTest brings the environment up
# once before them (a skip outside CI counts as set up: each test then skips)
# and takes down what it started afterwards.
set(VFIOCTL_E2E_ENV ${CMAKE_CURRENT_SOURCE_DIR}/e2e/env.sh)
add_test(NAME e2e_env_up COMMAND sh -c "\"$0\" up || [ $? = 77 ]" ${VFIOCTL_E2E_ENV})
add_test(NAME e2e_env_down COMMAND ${VFIOCTL_E2E_ENV} down)
set_tests_properties(e2e_env_up PROPERTIES FIXTURES_SETUP vfioctl_e2e LABELS e2e TIMEOUT 600)
set_tests_properties(e2e_env_down PROPERTIES FIXTURES_CLEANUP vfioctl_e2e LABELS e2e TIMEOUT 120)

function(vfioctl_e2e_test name)
  add_executable(${name} e2e/${name}.cpp)
  target_link_libraries(${name} PRIVATE vfioctl_warnings GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE VFIOCTL_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS e2e TIMEOUT 300
                       FIXTURES_REQUIRED vfioctl_e2e RESOURCE_LOCK vfioctl_e2e)
endfunction()

vfioctl_e2e_test(libvirt_pinning_test)

# `vfioctl new` end to end: runs the built binary, parses its --json plan.
vfioctl_e2e_test(new_guest_test)
target_link_libraries(new_guest_test PRIVATE nlohmann_json::nlohmann_json)
target_compile_definitions(new_guest_test PRIVATE VFIOCTL_BIN="$<TARGET_FILE:vfioctl>")
add_dependencies(new_guest_test vfioctl)

# `vfioctl new --qemu-script` and `vfioctl pin` end to end: a plain-QEMU guest, no libvirt.
vfioctl_e2e_test(qemu_pin_test)
target_link_libraries(qemu_pin_test PRIVATE nlohmann_json::nlohmann_json)
target_compile_definitions(qemu_pin_test PRIVATE VFIOCTL_BIN="$<TARGET_FILE:vfioctl>")
add_dependencies(qemu_pin_test vfioctl)

# `vfioctl hook` under the real libvirtd: installs the hook, restarts libvirtd,
# starts generated guests with a short hugepage pool; `hook recover` after a kill.
vfioctl_e2e_test(libvirt_hook_test)
target_link_libraries(libvirt_hook_test PRIVATE nlohmann_json::nlohmann_json)
target_compile_definitions(libvirt_hook_test PRIVATE VFIOCTL_BIN="$<TARGET_FILE:vfioctl>")
add_dependencies(libvirt_hook_test vfioctl)

# A guest installed from an ISO: [install], an image created with qemu-img, --installed.
vfioctl_e2e_test(install_test)
target_compile_definitions(install_test PRIVATE VFIOCTL_BIN="$<TARGET_FILE:vfioctl>")
add_dependencies(install_test vfioctl)

# `vfioctl tune` end to end: the plain-QEMU script tunes the host like the
# hook, its watcher gives it back when QEMU ends, `hook recover` after a kill.
vfioctl_e2e_test(qemu_tune_test)
target_link_libraries(qemu_tune_test PRIVATE nlohmann_json::nlohmann_json)
target_compile_definitions(qemu_tune_test PRIVATE VFIOCTL_BIN="$<TARGET_FILE:vfioctl>")
add_dependencies(qemu_tune_test vfioctl)
