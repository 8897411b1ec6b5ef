#!/usr/bin/env bash
# Fetch the browser assets the built book needs, from the npm registry (never a CDN), into DEST
# (default book/_vendor). The site then works from file:// with no network:
#   DEST/require.js               requirejs            (AMD loader that the widget manager needs)
#   DEST/widgets/embed-amd.js     @jupyter-widgets/html-manager (renders ipywidgets state without a kernel)
#   DEST/widgets/*.woff2 ...      the Font Awesome files that embed-amd.js loads lazily (Play button icons)
#   DEST/mathjax/...              MathJax 3 es5/ build (tex-mml-chtml.js + its lazily loaded components/fonts)
# The folder must NOT be called _static: Jupyter Book 1 injects every .js under _static into every page.
# Idempotent: re-running replaces DEST atomically; DEST/.fetched is written last (Makefile stamp).
set -euo pipefail

DEST="${1:-book/_vendor}"
# @jupyter-widgets/html-manager 1.0.15 comes from the same ipywidgets release as jupyterlab-manager 5.0.16
# (ipywidgets 8.1.9): same base ^6.0.12 / controls ^5.0.13 dependency ranges; ipywidgets asks for ^1.0.1.
HTML_MANAGER_VERSION="1.0.15"
REQUIREJS_VERSION="2.3.8"
MATHJAX_VERSION="3.2.2"

die() { echo "fetch_web_assets.sh: error: $*" >&2; exit 1; }

command -v npm >/dev/null 2>&1 || die "npm not found. Install Node.js/npm (e.g. 'apt-get install npm') to fetch require.js, the ipywidgets HTML manager and MathJax from the npm registry."
command -v tar >/dev/null 2>&1 || die "tar not found."

WORK="$(mktemp -d "${TMPDIR:-/tmp}/fetch_web_assets.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

packages=(
  "@jupyter-widgets/html-manager@${HTML_MANAGER_VERSION}"
  "requirejs@${REQUIREJS_VERSION}"
  "mathjax@${MATHJAX_VERSION}"
)
echo "Fetching ${packages[*]} from the npm registry ..."
if ! (cd "$WORK" && npm pack --silent --loglevel=error "${packages[@]}" >"$WORK/pack.log" 2>&1); then
  cat "$WORK/pack.log" >&2 || true
  die "'npm pack ${packages[*]}' failed (no access to the npm registry?). The book needs these files to work offline."
fi

unpack() {  # unpack TARBALL into WORK/NAME
  local tarball="$1" name="$2"
  [ -f "$WORK/$tarball" ] || die "npm pack did not produce $tarball"
  mkdir -p "$WORK/$name"
  tar -xzf "$WORK/$tarball" -C "$WORK/$name" || die "could not extract $tarball"
}
unpack "jupyter-widgets-html-manager-${HTML_MANAGER_VERSION}.tgz" html-manager
unpack "requirejs-${REQUIREJS_VERSION}.tgz" requirejs
unpack "mathjax-${MATHJAX_VERSION}.tgz" mathjax

STAGE="$WORK/stage"
mkdir -p "$STAGE/widgets" "$STAGE/mathjax"
cp "$WORK/requirejs/package/require.js" "$STAGE/require.js"
dist="$WORK/html-manager/package/dist"
cp "$dist/embed-amd.js" "$STAGE/widgets/"
# Lazily loaded files (fonts) that webpack resolves next to embed-amd.js; skip source maps and the non-AMD bundles.
find "$dist" -maxdepth 1 -type f \( -name '*.woff' -o -name '*.woff2' -o -name '*.ttf' -o -name '*.eot' -o -name '*.svg' \) \
  -exec cp {} "$STAGE/widgets/" \;
cp -R "$WORK/mathjax/package/es5/." "$STAGE/mathjax/"
cp "$WORK/mathjax/package/LICENSE" "$STAGE/mathjax/LICENSE"
cat > "$STAGE/VERSIONS.txt" <<VERSIONS
@jupyter-widgets/html-manager ${HTML_MANAGER_VERSION}
requirejs ${REQUIREJS_VERSION}
mathjax ${MATHJAX_VERSION}
VERSIONS

for required in require.js widgets/embed-amd.js mathjax/tex-mml-chtml.js; do
  [ -s "$STAGE/$required" ] || die "expected file $required is missing from the downloaded packages"
done

# Replace DEST in one step so an interrupted run never leaves a half-filled folder with a stamp.
mkdir -p "$(dirname "$DEST")"
rm -rf "$DEST.tmp"
mv "$STAGE" "$DEST.tmp"
rm -rf "$DEST"
mv "$DEST.tmp" "$DEST"
date -u +"%Y-%m-%dT%H:%M:%SZ" > "$DEST/.fetched"
echo "Web assets ready in $DEST ($(du -sh "$DEST" | cut -f1)): html-manager ${HTML_MANAGER_VERSION}, requirejs ${REQUIREJS_VERSION}, mathjax ${MATHJAX_VERSION}"
