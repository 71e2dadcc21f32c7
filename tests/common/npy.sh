# tests/common/npy.sh - sourced by end-to-end scripts that need a .npy
# without numpy: npy_f4_damaged FILE SHAPE COUNT writes a float32 .npy of
# the shape given as numpy writes it ("(4, 6)"; COUNT its number of
# values) whose header is sound and whose values are 0.5 but the last, a
# NaN: damage that only reading every value finds.
npy_f4_damaged() {
  local dict="{'descr': '<f4', 'fortran_order': False, 'shape': $2, }" i
  local pad=$(((64 - (10 + ${#dict} + 1) % 64) % 64))
  local hlen=$((${#dict} + pad + 1))
  {
    printf '\x93NUMPY\x01\x00'
    printf "\\x$(printf %02x $((hlen & 255)))\\x$(printf %02x $((hlen >> 8)))"
    printf '%s%*s\n' "$dict" "$pad" ''
    for ((i = 1; i < $3; i++)); do printf '\x00\x00\x00\x3f'; done
    printf '\x00\x00\xc0\x7f'
  } > "$1"
}
