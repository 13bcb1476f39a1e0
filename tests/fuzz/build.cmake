# ctest's fuzz_build: configures tests/fuzz with clang++ and builds it (cmake -P; see the fuzz
# block at the end of tests/CMakeLists.txt). Incremental: a second run rebuilds what changed.
#   -DSOURCE_DIR=tests/fuzz -DBUILD_DIR=<build>/fuzz -DCXX=clang++ -DGENERATOR=<generator>
#   [-DNLOHMANN_JSON_DIR=<dir of nlohmann_jsonConfig.cmake>]
foreach(var SOURCE_DIR BUILD_DIR CXX GENERATOR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "build.cmake needs -D${var}=…")
  endif()
endforeach()

function(run_step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "fuzz build step failed (${rc}): ${ARGN}")
  endif()
endfunction()

set(extra)
if(NLOHMANN_JSON_DIR)
  list(APPEND extra -Dnlohmann_json_DIR=${NLOHMANN_JSON_DIR})
endif()
run_step(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${BUILD_DIR} -G ${GENERATOR} -DCMAKE_CXX_COMPILER=${CXX}
         -DCMAKE_BUILD_TYPE=RelWithDebInfo ${extra})
# Three programs: more jobs than that buy nothing.
cmake_host_system_information(RESULT cores QUERY NUMBER_OF_LOGICAL_CORES)
if(cores GREATER 3)
  set(cores 3)
endif()
run_step(${CMAKE_COMMAND} --build ${BUILD_DIR} --parallel ${cores})
