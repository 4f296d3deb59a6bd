# ASan + UBSan, every finding fatal (-fno-sanitize-recover=all), as in pax-utils' CI.
if(TEMPER_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=address,undefined -fno-sanitize-recover=all)
  # Leak checking needs everything freed at exit (see TEMPER_FREE_AT_EXIT in cli.h).
  add_compile_definitions(TEMPER_FREE_AT_EXIT=1)
endif()

# ThreadSanitizer, for the parse pool's threads (cannot be combined with ASan).
if(TEMPER_TSAN)
  if(TEMPER_SANITIZE)
    message(FATAL_ERROR "TEMPER_TSAN and TEMPER_SANITIZE cannot be combined")
  endif()
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=thread)
endif()
