# libactorsModule.cmake — actors_add_module(<target> <source>...): builds a libactors module, a shared
# library that a running program loads with dlopen (<actors/module.hpp>, DESIGN §11).
#
# It is a CMake MODULE library linked to actors::actors, with
#   - hidden visibility, and the symbols of the static libraries it links (its own copy of libactors)
#     kept local: only the ACTORS_MODULE entry point is exported, so nothing of the module interposes on
#     the loading program or on another module;
#   - -fno-gnu-unique under g++: a static in an inline function or template would otherwise become an
#     STB_GNU_UNIQUE symbol, which makes glibc refuse to ever unload the library (a fixed build could not
#     replace it).
# Included by libactorsConfig.cmake, so find_package(libactors) provides it.
function(actors_add_module target)
  if(NOT ARGN)
    message(FATAL_ERROR "actors_add_module(${target}): no source files")
  endif()
  add_library(${target} MODULE ${ARGN})
  target_link_libraries(${target} PRIVATE actors::actors)
  set_target_properties(${target} PROPERTIES
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  target_link_options(${target} PRIVATE "LINKER:--exclude-libs,ALL")
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -fno-gnu-unique)
  endif()
endfunction()
