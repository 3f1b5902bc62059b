# Tests of the fixture generator (tools/hostgen) and of the generated roots.
foreach(t hostgen_listing_test hostgen_lscpu_test hostgen_regen_test)
  vfioctl_unit_test(${t})
  target_link_libraries(${t} PRIVATE hostgen_lib)
endforeach()
