# tests/sdk/sdk_common.sh - sourced by the tests/sdk scripts, which set
# strict mode and define `work` (a scratch folder) and `fail` first.
#   install_sdk PREFIX    installs this build's lpz (binary, liblpz, SDK
#                         headers, lpz.pc, plugins) into PREFIX and points
#                         pkg-config at it, as a plugin author's machine has it
#   build_template SRC DIR [NAME]
#                         copies the template SRC to DIR (cp -r, as the how-tos
#                         say), configures and builds it out of tree in
#                         DIR/build, and fails on a compiler warning
# In a sanitizer build (LPZ_SANITIZE) the templates get the same
# -fsanitize flags: a test program linked to an instrumented liblpz needs
# the ASan runtime first.
install_sdk() {
  local prefix=$1
  cmake --install "$LPZ_BUILD_DIR" --prefix "$prefix" > "$work/install.log" || fail "cmake --install failed"
  local pc
  pc=$(find "$prefix" -name lpz.pc | head -n 1)
  [ -n "$pc" ] || fail "no lpz.pc installed"
  [ -f "$prefix/include/lpz/lpz.h" ] || fail "SDK headers not installed"
  export PKG_CONFIG_PATH="$(dirname "$pc")"
}

template_cmake_args=()
if grep -q '^LPZ_SANITIZE:BOOL=ON' "$LPZ_BUILD_DIR/CMakeCache.txt" 2> /dev/null; then
  template_cmake_args=("-DCMAKE_C_FLAGS=-fsanitize=address,undefined -fno-omit-frame-pointer"
                       "-DCMAKE_MODULE_LINKER_FLAGS=-fsanitize=address,undefined"
                       "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined")
fi

build_template() {
  local src=$1 dir=$2 name=${3:-$(basename "$1")}
  cp -r "$src" "$dir"
  cmake -S "$dir" -B "$dir/build" "${template_cmake_args[@]}" > "$work/$name-configure.log" 2>&1 ||
    { cat "$work/$name-configure.log"; fail "$name: configure"; }
  cmake --build "$dir/build" > "$work/$name-build.log" 2>&1 || { cat "$work/$name-build.log"; fail "$name: build"; }
  if grep -qi "warning" "$work/$name-build.log"; then
    cat "$work/$name-build.log"
    fail "$name builds with warnings"
  fi
}
