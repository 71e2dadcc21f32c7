# bench/quality/common.sh - sourced by ring.sh and study.sh (after their
# option parsing): the lpz build to use and checks of numeric options.

# quality_lpz NAME BUILD_DIR: sets build (absolute) and lpz, or exits 1
# saying what is missing (NAME: the script's name, for messages).
quality_lpz() {
    build=$(cd "$2" 2>/dev/null && pwd) || { echo "$1: no build folder $2 (run make first)" >&2; exit 1; }
    lpz=$build/bin/lpz
    [ -x "$lpz" ] || { echo "$1: not built: $lpz (run make first)" >&2; exit 1; }
}

# quality_whole NAME VALUE...: exits 2 unless every value is a positive whole number.
quality_whole() {
    local name=$1 v
    shift
    for v in "$@"; do
        case $v in '' | 0 | *[!0-9]*) echo "$name: not a positive whole number: '$v'" >&2; exit 2 ;; esac
    done
}
