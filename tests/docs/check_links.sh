#!/usr/bin/env bash
# tests/docs/check_links.sh SOURCE_DIR
# Every relative link of README.md and docs/**/*.md points to a file or
# folder that exists, and every #anchor into a Markdown page matches one of
# its headings (GitHub's rule: lower case, punctuation dropped, spaces to -).
# A link on a line that says "when present" announces a page still being
# written (docs/status.md does that) and may point to nothing yet.
set -euo pipefail
src=$1
bad=0
anchor_of() { # heading text -> GitHub anchor
  sed -E 's/`//g; s/[A-Z]/\L&/g; s/[^a-z0-9 _-]//g; s/ /-/g' <<<"$1"
}
while IFS= read -r md; do
  dir=$(dirname "$md")
  # [text](target) links, skipping URLs and pure in-page anchors.
  while IFS= read -r target; do
    case "$target" in http://*|https://*|mailto:*|'#'*|'') continue ;; esac
    file=${target%%#*}
    anchor=""
    [ "$file" != "$target" ] && anchor=${target#*#}
    if [ ! -e "$dir/$file" ]; then
      echo "BROKEN: $md -> $target (no $dir/$file)"
      bad=1
      continue
    fi
    if [ -n "$anchor" ] && [[ "$file" == *.md ]]; then
      found=0
      while IFS= read -r h; do
        [ "$(anchor_of "$h")" = "$anchor" ] && { found=1; break; }
      done < <(grep -E '^#+ ' "$dir/$file" | sed -E 's/^#+ +//')
      [ "$found" = 1 ] || { echo "BROKEN: $md -> $target (no heading for #$anchor)"; bad=1; }
    fi
  done < <(grep -v 'when present' "$md" | grep -oE '\]\([^)]+\)' | sed -E 's/^\]\(//; s/\)$//; s/ .*//')
done < <(find "$src/docs" -name '*.md'; echo "$src/README.md")
[ "$bad" = 0 ] || { echo "FAIL: broken links (above)"; exit 1; }
echo PASS
