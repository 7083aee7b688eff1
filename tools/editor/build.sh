#!/bin/sh
# Rebuild the vendored editor: CodeMirror 6 (MIT) with its SPARQL mode, one minified script,
# and the licence notices of every bundled package beside it. Run after `npm ci` here.
set -eu
cd "$(dirname "$0")"
version=$(node -p 'require("./node_modules/codemirror/package.json").version')
out=../../ikmkg/static/codemirror-$version.bundle.min.js
notice=../../ikmkg/static/codemirror-$version.bundle.LICENSE.txt
packages=$(node -e '
  const lock = require("./package-lock.json").packages;
  for (const [path, p] of Object.entries(lock))
    if (path && !p.dev && !path.includes("esbuild")) console.log(path.replace("node_modules/", "") + " " + p.version);')
banner="/* CodeMirror $version bundle for ikmkg (MIT licence; see codemirror-$version.bundle.LICENSE.txt): $(echo "$packages" | tr '\n' ',' | sed 's/,$//; s/,/, /g') */"
./node_modules/.bin/esbuild entry.js --bundle --minify --format=iife --global-name=IkmkgCM \
  --legal-comments=none --banner:js="$banner" --outfile="$out"
{
  echo "The editor bundle codemirror-$version.bundle.min.js holds these npm packages, built by"
  echo "tools/editor/build.sh. Each is under the MIT licence; their notices follow."
  echo
  echo "$packages" | while read -r name ver; do
    echo "=== $name $ver"
    cat "node_modules/$name/LICENSE" 2>/dev/null || cat "node_modules/$name/LICENSE.md" 2>/dev/null \
      || cat "node_modules/$name/license" 2>/dev/null || node -p "require('./node_modules/$name/package.json').license"
    echo
  done
} > "$notice"
ls -l "$out" "$notice"
