# libactorsPackageDeps.cmake — works out which third-party packages the installed libraries' link
# interfaces name, so that libactorsConfig.cmake find_dependency()s exactly those.
#
# Why: a static library's PRIVATE dependencies are part of its exported link interface
# ($<LINK_ONLY:yaml-cpp::yaml-cpp>), so a consumer needs their imported targets too. Scanning the targets
# at configure time keeps the package config right as layers add dependencies, without each layer having
# to edit the config template.
#
# actors_package_dependencies(<out-var> EXCLUDE <dir-name>...) scans every library target defined under
# the top-level source dir (except in the excluded top-level folders) and sets <out-var> to the
# find_dependency() lines for the packages beyond the base set that the template always looks for,
# plus ACTORS_PACKAGE_CAF_COMPONENTS / ACTORS_PACKAGE_BOOST_COMPONENTS for the components used.

function(_actors_collect_library_targets dir out)
  set(_result)
  get_property(_targets DIRECTORY "${dir}" PROPERTY BUILDSYSTEM_TARGETS)
  foreach(_t IN LISTS _targets)
    get_target_property(_type ${_t} TYPE)
    if(_type MATCHES "^(STATIC|SHARED|MODULE|OBJECT|INTERFACE)_LIBRARY$")
      list(APPEND _result ${_t})
    endif()
  endforeach()
  get_property(_subdirs DIRECTORY "${dir}" PROPERTY SUBDIRECTORIES)
  foreach(_sub IN LISTS _subdirs)
    _actors_collect_library_targets("${_sub}" _more)
    list(APPEND _result ${_more})
  endforeach()
  set(${out} ${_result} PARENT_SCOPE)
endfunction()

function(actors_package_dependencies out)
  cmake_parse_arguments(PARSE_ARGV 1 _arg "" "" "EXCLUDE")
  set(_targets)
  get_property(_top_subdirs DIRECTORY "${PROJECT_SOURCE_DIR}" PROPERTY SUBDIRECTORIES)
  foreach(_sub IN LISTS _top_subdirs)
    get_filename_component(_name "${_sub}" NAME)
    if(NOT _name IN_LIST _arg_EXCLUDE)
      _actors_collect_library_targets("${_sub}" _found)
      list(APPEND _targets ${_found})
    endif()
  endforeach()

  # Every name the libraries link to, minus build-only ones ($<BUILD_INTERFACE:...> never gets installed).
  set(_links "")
  foreach(_t IN LISTS _targets)
    foreach(_prop IN ITEMS LINK_LIBRARIES INTERFACE_LINK_LIBRARIES)
      get_target_property(_value ${_t} ${_prop})
      if(_value)
        string(APPEND _links ";${_value}")
      endif()
    endforeach()
  endforeach()
  string(REGEX REPLACE "\\$<BUILD_INTERFACE:[^>]*>" "" _links "${_links}")

  set(_caf core io)
  string(REGEX MATCHALL "CAF::[A-Za-z0-9_]+" _caf_used "${_links}")
  foreach(_c IN LISTS _caf_used)
    string(REPLACE "CAF::" "" _c "${_c}")
    list(APPEND _caf ${_c})
  endforeach()
  list(REMOVE_DUPLICATES _caf)

  set(_boost serialization)
  string(REGEX MATCHALL "Boost::[A-Za-z0-9_]+" _boost_used "${_links}")
  foreach(_c IN LISTS _boost_used)
    string(REPLACE "Boost::" "" _c "${_c}")
    if(NOT _c MATCHES "^(headers|boost|disable_autolinking|dynamic_linking|diagnostic_definitions)$")
      list(APPEND _boost ${_c})
    endif()
  endforeach()
  list(REMOVE_DUPLICATES _boost)

  # Optional packages, each found only if some library links to one of its targets.
  set(_lines "")
  macro(_actors_dependency_if pattern package)
    if(_links MATCHES "${pattern}")
      string(APPEND _lines "find_dependency(${package})\n")
    endif()
  endmacro()
  _actors_dependency_if("CLI11::" CLI11)
  _actors_dependency_if("(^|[;:])yaml-cpp(::yaml-cpp)?([;>]|$)" yaml-cpp)
  _actors_dependency_if("nlohmann_json::" nlohmann_json)
  _actors_dependency_if("httplib::" httplib)
  _actors_dependency_if("benchmark::" benchmark)
  _actors_dependency_if("OpenSSL::" OpenSSL)

  set(${out} "${_lines}" PARENT_SCOPE)
  set(ACTORS_PACKAGE_CAF_COMPONENTS "${_caf}" PARENT_SCOPE)
  set(ACTORS_PACKAGE_BOOST_COMPONENTS "${_boost}" PARENT_SCOPE)
endfunction()
