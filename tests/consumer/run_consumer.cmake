# run_consumer.cmake — installs the libactors build into a scratch prefix, then configures, builds and
# runs an outside project (./project) against that prefix alone. Proves that the installed headers,
# exported targets and package config are complete and relocatable.
#
#   cmake -DBUILD_DIR=<libactors build dir> -DSOURCE_DIR=<consumer project> -DPREFIX=<scratch prefix>
#         [-DCONSUMER_BUILD_DIR=<dir>] [-DGENERATOR=Ninja] [-DMAKE_PROGRAM=<ninja>]
#         [-DCXX_COMPILER=<c++>] [-DCONFIG=RelWithDebInfo] [-DTOP_SOURCE_DIR=<libactors source dir>]
#         -P run_consumer.cmake
#
# Needs a complete build of BUILD_DIR first (ctest runs after `cmake --build`; this script builds nothing
# of libactors itself).
cmake_minimum_required(VERSION 3.22)

foreach(_var IN ITEMS BUILD_DIR SOURCE_DIR PREFIX)
  if(NOT DEFINED ${_var} OR "${${_var}}" STREQUAL "")
    message(FATAL_ERROR "consumer: -D${_var}=... is required")
  endif()
endforeach()
if(NOT CONSUMER_BUILD_DIR)
  get_filename_component(CONSUMER_BUILD_DIR "${PREFIX}/../consumer-build" ABSOLUTE)
endif()
if(NOT EXISTS "${BUILD_DIR}/cmake_install.cmake")
  message(FATAL_ERROR "consumer: ${BUILD_DIR} is not a configured libactors build dir "
                      "(no cmake_install.cmake)")
endif()

# Runs a command; on failure stops with the step's name and the command's output.
function(consumer_step _name)
  cmake_parse_arguments(PARSE_ARGV 1 _s "" "WORKING_DIRECTORY;TIMEOUT;HINT" "COMMAND")
  if(NOT _s_WORKING_DIRECTORY)
    set(_s_WORKING_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}")
  endif()
  if(NOT _s_TIMEOUT)
    set(_s_TIMEOUT 900)
  endif()
  list(JOIN _s_COMMAND " " _pretty)
  message(STATUS "consumer: [${_name}] ${_pretty}")
  execute_process(COMMAND ${_s_COMMAND}
    WORKING_DIRECTORY "${_s_WORKING_DIRECTORY}"
    TIMEOUT ${_s_TIMEOUT}
    RESULT_VARIABLE _rc
    OUTPUT_VARIABLE _out
    ERROR_VARIABLE _out)
  if(NOT _rc STREQUAL "0")
    message("${_out}")
    set(_msg "consumer: step '${_name}' failed (${_rc}): ${_pretty}")
    if(_s_HINT)
      string(APPEND _msg "\n  hint: ${_s_HINT}")
    endif()
    message(FATAL_ERROR "${_msg}")
  endif()
  set(CONSUMER_LAST_OUTPUT "${_out}" PARENT_SCOPE)
endfunction()

set(_config_args)
if(CONFIG)
  set(_config_args --config "${CONFIG}")
endif()

# 1. Install into a fresh prefix.
file(REMOVE_RECURSE "${PREFIX}" "${CONSUMER_BUILD_DIR}")
consumer_step(install
  COMMAND "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${PREFIX}" ${_config_args}
  HINT "build everything first (cmake --build ${BUILD_DIR}); a missing file means a target was not built")

file(GLOB_RECURSE _configs "${PREFIX}/*/libactorsConfig.cmake")
if(NOT _configs)
  message(FATAL_ERROR "consumer: the install put no libactorsConfig.cmake under ${PREFIX}")
endif()
file(GLOB_RECURSE _headers RELATIVE "${PREFIX}" "${PREFIX}/include/actors/actors.hpp")
if(NOT _headers)
  message(FATAL_ERROR "consumer: the install put no include/actors/actors.hpp under ${PREFIX}")
endif()

# The installed package must not point back into the source or build tree (it would then work here
# but not once the prefix is moved or the tree deleted).
file(GLOB_RECURSE _pkg_files "${PREFIX}/*.cmake")
foreach(_f IN LISTS _pkg_files)
  file(READ "${_f}" _text)
  foreach(_tree IN ITEMS "${TOP_SOURCE_DIR}" "${BUILD_DIR}")
    if(NOT _tree STREQUAL "")
      string(FIND "${_text}" "${_tree}/" _pos)
      if(NOT _pos EQUAL -1)
        message(FATAL_ERROR "consumer: installed ${_f} refers to ${_tree}; "
                            "use $<BUILD_INTERFACE:...>/$<INSTALL_INTERFACE:...> for that path")
      endif()
    endif()
  endforeach()
endforeach()

# 2. Configure the outside project against the prefix alone.
set(_gen_args)
if(GENERATOR)
  list(APPEND _gen_args -G "${GENERATOR}")
endif()
if(MAKE_PROGRAM)
  list(APPEND _gen_args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()
if(CXX_COMPILER)
  list(APPEND _gen_args "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
endif()
if(CONFIG)
  list(APPEND _gen_args "-DCMAKE_BUILD_TYPE=${CONFIG}")
endif()
# A sanitized build (cmake --preset asan) installs sanitized libraries: their consumer links the runtime.
if(CXX_FLAGS)
  list(APPEND _gen_args "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}")
endif()
if(EXE_LINKER_FLAGS)
  list(APPEND _gen_args "-DCMAKE_EXE_LINKER_FLAGS=${EXE_LINKER_FLAGS}")
endif()
consumer_step(configure
  COMMAND "${CMAKE_COMMAND}" -S "${SOURCE_DIR}" -B "${CONSUMER_BUILD_DIR}" ${_gen_args}
          "-DCMAKE_PREFIX_PATH=${PREFIX}"
          -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
          -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF
  HINT "find_package(libactors CONFIG) or one of its find_dependency() calls failed; see the output above")

# 3. Build it.
consumer_step(build
  COMMAND "${CMAKE_COMMAND}" --build "${CONSUMER_BUILD_DIR}" ${_config_args}
  HINT "the installed headers or exported link interface are incomplete")

# 4. Run it.
set(_app "")
foreach(_candidate IN ITEMS "${CONSUMER_BUILD_DIR}/app" "${CONSUMER_BUILD_DIR}/${CONFIG}/app")
  if(EXISTS "${_candidate}" AND NOT IS_DIRECTORY "${_candidate}")
    set(_app "${_candidate}")
    break()
  endif()
endforeach()
if(NOT _app)
  message(FATAL_ERROR "consumer: built, but found no app executable in ${CONSUMER_BUILD_DIR}")
endif()
consumer_step(run COMMAND "${_app}" WORKING_DIRECTORY "${CONSUMER_BUILD_DIR}" TIMEOUT 120
  HINT "the consumer app built but returned an error; see its output above")
message("${CONSUMER_LAST_OUTPUT}")

# 5. The spelling GCC 12 miscompiles (project/temporary_effect.cpp, `co_await cx.perform(E{...})` with a
# std::string in E): on GCC < 13 it must be refused at compile time, by our error, at the user's line,
# naming the type and the fix; on other compilers it must compile and run correctly.
function(consumer_find_exe _out _name)
  foreach(_candidate IN ITEMS "${CONSUMER_BUILD_DIR}/${_name}" "${CONSUMER_BUILD_DIR}/${CONFIG}/${_name}")
    if(EXISTS "${_candidate}" AND NOT IS_DIRECTORY "${_candidate}")
      set(${_out} "${_candidate}" PARENT_SCOPE)
      return()
    endif()
  endforeach()
  message(FATAL_ERROR "consumer: built, but found no ${_name} executable in ${CONSUMER_BUILD_DIR}")
endfunction()

file(STRINGS "${CONSUMER_BUILD_DIR}/expectation.txt" _expectation)
list(GET _expectation 0 _expect)
list(GET _expectation 1 _compiler)
# The installed headers must come in as system headers, as in any application (GCC then silences
# warnings from them: only an error reaches the user).
file(READ "${CONSUMER_BUILD_DIR}/compile_commands.json" _commands)
string(FIND "${_commands}" "-isystem ${PREFIX}/include" _pos)
if(_pos EQUAL -1)
  message(FATAL_ERROR "consumer: the installed headers are not included with -isystem ${PREFIX}/include; "
                      "compile_commands.json:\n${_commands}")
endif()

if(_expect STREQUAL "refused")
  # The line of the bad spelling, where the error must point.
  file(READ "${SOURCE_DIR}/temporary_effect.cpp" _source)
  string(FIND "${_source}" "// REFUSED-ON-GCC12" _pos)
  string(SUBSTRING "${_source}" 0 ${_pos} _before)
  string(REGEX MATCHALL "\n" _newlines "${_before}")
  list(LENGTH _newlines _line)
  math(EXPR _line "${_line} + 1")
  message(STATUS "consumer: [refused] temporary_effect.cpp must not compile with ${_compiler}")
  execute_process(
    COMMAND "${CMAKE_COMMAND}" --build "${CONSUMER_BUILD_DIR}" --target temporary_effect ${_config_args}
    TIMEOUT 900 RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _out)
  if(_rc STREQUAL "0")
    message(FATAL_ERROR "consumer: temporary_effect.cpp compiled with ${_compiler}, which destroys "
                        "`fetch_balance{id}` twice inside co_await: the installed headers no longer refuse "
                        "the spelling (libactors/include/actors/ctx.hpp, static_assert in perform(E&&))")
  endif()
  set(_wanted
    "temporary_effect\\.cpp:${_line}:[0-9]+: +required from here" # the user's line
    "\\[with E = fetch_balance\\]"                                # the type
    "cx\\.perform<E>\\(args\\.\\.\\.\\)"                      # the fix
    "Compiler notes")
  foreach(_re IN LISTS _wanted)
    if(NOT _out MATCHES "${_re}")
      message("${_out}")
      message(FATAL_ERROR "consumer: temporary_effect.cpp failed to compile, but its output (above) lacks "
                          "'${_re}': not the refusal it must be")
    endif()
  endforeach()
  # Every error is ours: the build cannot pass for an unrelated error.
  string(REGEX MATCHALL "error: " _errors "${_out}")
  string(REGEX MATCHALL "error: static assertion failed: GCC 12 destroys" _ours "${_out}")
  list(LENGTH _errors _n_errors)
  list(LENGTH _ours _n_ours)
  if(NOT _n_errors EQUAL _n_ours)
    message("${_out}")
    message(FATAL_ERROR "consumer: temporary_effect.cpp failed with ${_n_errors} error(s), only ${_n_ours} "
                        "of them the GCC 12 refusal (output above)")
  endif()
  string(REGEX MATCH "[^\n]*required from here[^\n]*\n[^\n]*static assertion failed[^\n]*" _shown "${_out}")
  message(STATUS "consumer: refused as it must be (${_compiler}):\n${_shown}")
else()
  consumer_step(build-temporary-effect
    COMMAND "${CMAKE_COMMAND}" --build "${CONSUMER_BUILD_DIR}" --target temporary_effect ${_config_args}
    HINT "with ${_compiler}, `co_await cx.perform(E{...})` must compile (only GCC < 13 refuses it)")
  consumer_find_exe(_tmp_app temporary_effect)
  consumer_step(run-temporary-effect COMMAND "${_tmp_app}" WORKING_DIRECTORY "${CONSUMER_BUILD_DIR}"
    TIMEOUT 120 HINT "temporary_effect built with ${_compiler} but returned an error; see its output above")
  message("${CONSUMER_LAST_OUTPUT}")
endif()
message(STATUS "consumer: OK")
