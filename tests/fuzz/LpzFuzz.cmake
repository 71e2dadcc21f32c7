# tests/fuzz/LpzFuzz.cmake - lpz_add_fuzz_target(), for any test folder.
#
# lpz_add_fuzz_target(NAME <name> SOURCES <target.c>... [LIBS <lib>...]
#                     CORPUS <folder>... [SECONDS <s>])
# <target.c> defines int LLVMFuzzerTestOneInput(const uint8_t *, size_t).
# Always: an executable build/tests/fuzz/<name> = target + driver.c, run by
# ctest (label "fuzz") over the CORPUS folders: every seed, then seeded
# random mutations for SECONDS (default 5; env LPZ_FUZZ_SECONDS overrides).
# With clang also: build/tests/fuzz/<name>_libfuzzer, a real libFuzzer
# binary (-fsanitize=fuzzer,address), not run by ctest.
include_guard(GLOBAL)

function(lpz_add_fuzz_target)
  cmake_parse_arguments(A "" "NAME;SECONDS" "SOURCES;LIBS;CORPUS" ${ARGN})
  if(NOT A_NAME OR NOT A_SOURCES OR NOT A_CORPUS)
    message(FATAL_ERROR "lpz_add_fuzz_target needs NAME, SOURCES and CORPUS")
  endif()
  set(outdir ${CMAKE_BINARY_DIR}/tests/fuzz)
  add_executable(${A_NAME} ${A_SOURCES} ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/driver.c)
  set_target_properties(${A_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${outdir})
  target_include_directories(${A_NAME} PRIVATE ${PROJECT_SOURCE_DIR}/sdk/include ${PROJECT_SOURCE_DIR}/core)
  target_link_libraries(${A_NAME} PRIVATE ${A_LIBS})
  set(args)
  if(A_SECONDS)
    list(APPEND args --seconds ${A_SECONDS})
  endif()
  add_test(NAME ${A_NAME} COMMAND ${A_NAME} ${args} ${A_CORPUS})
  set_tests_properties(${A_NAME} PROPERTIES TIMEOUT 300 LABELS fuzz
    ENVIRONMENT "LPZ_SOURCE_DIR=${PROJECT_SOURCE_DIR};LPZ_BUILD_DIR=${CMAKE_BINARY_DIR};OPENBLAS_NUM_THREADS=1")
  if(CMAKE_C_COMPILER_ID STREQUAL "Clang")
    add_executable(${A_NAME}_libfuzzer ${A_SOURCES})
    set_target_properties(${A_NAME}_libfuzzer PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${outdir})
    target_include_directories(${A_NAME}_libfuzzer PRIVATE ${PROJECT_SOURCE_DIR}/sdk/include
      ${PROJECT_SOURCE_DIR}/core)
    target_compile_options(${A_NAME}_libfuzzer PRIVATE -fsanitize=fuzzer,address)
    target_link_options(${A_NAME}_libfuzzer PRIVATE -fsanitize=fuzzer,address)
    target_link_libraries(${A_NAME}_libfuzzer PRIVATE ${A_LIBS})
  endif()
endfunction()
