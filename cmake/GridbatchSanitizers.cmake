# GRIDBATCH_SANITIZE=address,undefined instruments the C++ code (CPU-only builds: ASan and the
# CUDA runtime do not mix).
set(GRIDBATCH_SANITIZE "" CACHE STRING "Sanitizers for C++ code, e.g. address,undefined")
if(GRIDBATCH_SANITIZE)
  if(GRIDBATCH_HAS_CUDA)
    message(FATAL_ERROR "GRIDBATCH_SANITIZE needs GRIDBATCH_CUDA=OFF")
  endif()
  add_compile_options(-fsanitize=${GRIDBATCH_SANITIZE} -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${GRIDBATCH_SANITIZE})
endif()
