# ASan + UBSan, every finding fatal (-fno-sanitize-recover=all), as in pax-utils' CI.
if(TEMPER_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=address,undefined -fno-sanitize-recover=all)
endif()
