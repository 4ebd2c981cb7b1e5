#!/bin/sh
# Makes the Firefox build of the extension in OUT (default: ./build/firefox): the same files,
# with manifest.firefox.json as its manifest.json. Firefox needs another background key
# (scripts, not service_worker) and its add-on id; Chromium's `key` means nothing to it.
# No other build step: the scripts run as they are in both browsers.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-"$here/build/firefox"}
rm -rf "$out"
mkdir -p "$out"
cp -R "$here/_locales" "$here/background.js" "$here/content.js" "$here/sandbox.js" \
    "$here/options.html" "$here/options.js" "$out/"
cp "$here/manifest.firefox.json" "$out/manifest.json"
echo "$out"
