# Hardening flags for everything temper links. _FORTIFY_SOURCE needs optimisation and fights
# ASan's interceptors, so it is left out of sanitizer and unoptimised builds.
if(TEMPER_HARDENING)
  add_compile_options(-fstack-protector-strong -fstack-clash-protection -fcf-protection)
  if(NOT TEMPER_SANITIZE AND NOT CMAKE_BUILD_TYPE STREQUAL "Debug")
    add_compile_options(-U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=3)
  endif()
  set(CMAKE_POSITION_INDEPENDENT_CODE ON)
  include(CheckPIESupported)
  check_pie_supported()
  add_link_options(-Wl,-z,relro -Wl,-z,now -Wl,-z,noexecstack)
endif()
