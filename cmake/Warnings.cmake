# The warning set of bubblewrap and curl's PickyWarnings.cmake. -Wconversion (which in C includes
# -Wsign-conversion) is added for builder/ only (temper_strict_warnings): the test and fuzz
# harnesses feed APIs literal sizes and would need casts everywhere.
set(TEMPER_WARNINGS
    -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
    -Wswitch-enum -Wvla)
if(TEMPER_WERROR)
  list(APPEND TEMPER_WARNINGS -Werror)
endif()
add_compile_options(${TEMPER_WARNINGS})

function(temper_strict_warnings target)
  target_compile_options(${target} PRIVATE -Wconversion)
endfunction()
