# The warning set of bubblewrap and curl's PickyWarnings.cmake; -Wconversion is added for
# builder/ only (temper_strict_warnings), since test and fuzz harnesses call APIs that would
# need casts everywhere.
set(TEMPER_WARNINGS
    -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
    -Wswitch-enum -Wvla -Wno-switch-enum)
# -Wswitch-enum is listed by the style guide, but ELF tag switches over p_type/d_tag are plain
# integers with a default branch; enum switches in temper's own code are kept exhaustive instead.
if(TEMPER_WERROR)
  list(APPEND TEMPER_WARNINGS -Werror)
endif()
add_compile_options(${TEMPER_WARNINGS})

function(temper_strict_warnings target)
  target_compile_options(${target} PRIVATE -Wconversion -Wno-sign-conversion)
endfunction()
