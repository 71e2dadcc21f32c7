# Functions that keep each folder's CMakeLists.txt to a few lines.

# lpz_core_area(NAME SOURCES src... [DEPS lpz_x...] [LIBS ext...])
# A folder of core/ becomes a static library lpz_<NAME>, compiled with
# hidden visibility and PIC; liblpz.so takes all of them whole, so only
# LPZ_API symbols are exported. Tests link the static libraries directly.
function(lpz_core_area NAME)
  cmake_parse_arguments(A "" "" "SOURCES;DEPS;LIBS" ${ARGN})
  set(target lpz_${NAME})
  add_library(${target} STATIC ${A_SOURCES})
  set_target_properties(${target} PROPERTIES
    POSITION_INDEPENDENT_CODE ON
    C_VISIBILITY_PRESET hidden)
  target_compile_definitions(${target} PRIVATE LPZ_BUILDING_CORE)
  target_include_directories(${target} PUBLIC
    ${PROJECT_SOURCE_DIR}/sdk/include ${PROJECT_SOURCE_DIR}/core)
  target_link_libraries(${target} PUBLIC ${A_DEPS} ${A_LIBS})
  set_property(GLOBAL APPEND PROPERTY LPZ_CORE_AREAS ${target})
endfunction()

# lpz_add_plugin(NAME SOURCES src... [LIBS ext...] [DEFINES d...])
# A plugin: a MODULE library <NAME>.so in build/plugins/, linked only to
# liblpz with -z defs, exporting only its descriptor.
function(lpz_add_plugin NAME)
  cmake_parse_arguments(A "" "" "SOURCES;LIBS;DEFINES" ${ARGN})
  add_library(plugin_${NAME} MODULE ${A_SOURCES})
  set_target_properties(plugin_${NAME} PROPERTIES
    PREFIX "" OUTPUT_NAME ${NAME}
    LIBRARY_OUTPUT_DIRECTORY ${LPZ_PLUGIN_OUTPUT_DIR}
    C_VISIBILITY_PRESET hidden
    INSTALL_RPATH "$ORIGIN/../..")
  target_include_directories(plugin_${NAME} PRIVATE ${PROJECT_SOURCE_DIR}/sdk/include)
  target_compile_definitions(plugin_${NAME} PRIVATE ${A_DEFINES})
  target_link_libraries(plugin_${NAME} PRIVATE liblpz ${A_LIBS})
  target_link_options(plugin_${NAME} PRIVATE -Wl,-z,defs)
  install(TARGETS plugin_${NAME} LIBRARY DESTINATION ${LPZ_PLUGIN_INSTALL_REL})
endfunction()

# lpz_add_test(NAME name SOURCES src... [LIBS lib...] [TIMEOUT s] [LABELS l...])
# A cmocka test executable build/tests/<NAME>, registered with ctest. The
# environment gives it the source and build folders.
function(lpz_add_test)
  cmake_parse_arguments(A "" "NAME;TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  if(A_NAME)
    set(NAME ${A_NAME})
  else()
    list(GET A_UNPARSED_ARGUMENTS 0 NAME)
  endif()
  add_executable(${NAME} ${A_SOURCES})
  set_target_properties(${NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  target_include_directories(${NAME} PRIVATE ${PROJECT_SOURCE_DIR}/sdk/include
    ${PROJECT_SOURCE_DIR}/core ${PROJECT_SOURCE_DIR}/tests/common)
  target_link_libraries(${NAME} PRIVATE ${A_LIBS} PkgConfig::CMOCKA m)
  add_test(NAME ${NAME} COMMAND ${NAME})
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 300)
  endif()
  set_tests_properties(${NAME} PROPERTIES TIMEOUT ${A_TIMEOUT}
    ENVIRONMENT "LPZ_SOURCE_DIR=${PROJECT_SOURCE_DIR};LPZ_BUILD_DIR=${CMAKE_BINARY_DIR};OPENBLAS_NUM_THREADS=1;CMOCKA_MESSAGE_OUTPUT=stdout")
  if(A_LABELS)
    set_tests_properties(${NAME} PROPERTIES LABELS "${A_LABELS}")
  endif()
endfunction()

# lpz_add_script_test(NAME name COMMAND cmd... [TIMEOUT s])
# An end-to-end test run by a script (bash or python3) against the built
# binaries.
function(lpz_add_script_test)
  cmake_parse_arguments(A "" "NAME;TIMEOUT" "COMMAND;LABELS" ${ARGN})
  if(A_NAME)
    set(NAME ${A_NAME})
  else()
    list(GET A_UNPARSED_ARGUMENTS 0 NAME)
  endif()
  add_test(NAME ${NAME} COMMAND ${A_COMMAND})
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 300)
  endif()
  set_tests_properties(${NAME} PROPERTIES TIMEOUT ${A_TIMEOUT}
    ENVIRONMENT "LPZ_SOURCE_DIR=${PROJECT_SOURCE_DIR};LPZ_BUILD_DIR=${CMAKE_BINARY_DIR};OPENBLAS_NUM_THREADS=1"
    SKIP_RETURN_CODE 77)
  if(A_LABELS)
    set_tests_properties(${NAME} PROPERTIES LABELS "${A_LABELS}")
  endif()
endfunction()
