# pgenrm_library(NAME SOURCES ... DEPS ...): the static library of one folder.
# Every library sees the repository root as include root, so code writes
# #include "model/transformer.h".
function(pgenrm_library name)
  cmake_parse_arguments(A "" "" "SOURCES;DEPS" ${ARGN})
  add_library(pgenrm_${name} STATIC ${A_SOURCES})
  target_link_libraries(pgenrm_${name} PUBLIC ${A_DEPS})
  target_compile_options(pgenrm_${name} PRIVATE -Wall -Wextra -Wno-unused-parameter)
endfunction()

# pgenrm_test(NAME SOURCES ... DEPS ...): one GoogleTest binary, its cases
# registered with ctest one by one.
function(pgenrm_test name)
  cmake_parse_arguments(A "" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  target_link_libraries(${name} PRIVATE ${A_DEPS} GTest::gtest GTest::gtest_main)
  # Executables default to -fPIE; the libraries' precompiled header is -fPIC
  # and GCC silently ignores a PCH built with other flags.
  target_compile_options(${name} PRIVATE -fPIC)
  target_compile_definitions(${name} PRIVATE
    PGENRM_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    PGENRM_SHARED_DIR="${PROJECT_SOURCE_DIR}/../shared"
    PGENRM_PYTHON="${PGENRM_PYTHON}"
    PGENRM_BINARY_DIR="${PROJECT_BINARY_DIR}")
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 300)
  endif()
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60
    PROPERTIES TIMEOUT ${A_TIMEOUT} LABELS "${A_LABELS}")
endfunction()
