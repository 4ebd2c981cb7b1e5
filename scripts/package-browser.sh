#!/bin/sh
# Stages what the .deb carries for the browsers, beside the desktop app, in STAGE (default
# target/package), as the installed system will have it (src-tauri/tauri.conf.json maps these
# files into the package):
#   usr/bin/podpis-host, usr/bin/podpis            the release builds (cargo build --release first)
#   etc/chromium/native-messaging-hosts/,          the system-wide host manifests, written by
#   etc/opt/chrome/native-messaging-hosts/,        `podpis browser install --system --root`, so
#   usr/lib/mozilla/native-messaging-hosts/        their places and contents are client::browser's
#   usr/share/podpis/extension/                    the unpacked extension (Chromium's manifest)
#   usr/share/podpis/podpis-bridge.xpi             the Firefox build (extension/firefox.sh), zipped
# and checks each of them, so a package is never made from a half-staged tree.
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
stage=${1:-"$repo/target/package"}
# PODPIS_BIN_DIR: where the built binaries are (default the release build; a test may give its own).
release=${PODPIS_BIN_DIR:-"$repo/target/release"}

for bin in podpis-host podpis; do
    [ -x "$release/$bin" ] || { echo "$release/$bin is missing: cargo build --release -p host -p cli" >&2; exit 1; }
done

rm -rf "$stage"
mkdir -p "$stage/usr/bin" "$stage/usr/share/podpis/extension"
# Absolute from here on: the .xpi is zipped from inside another directory.
stage=$(cd "$stage" && pwd)
cp "$release/podpis-host" "$release/podpis" "$stage/usr/bin/"

# The manifests name the installed host, /usr/bin/podpis-host; --root finds it in the stage.
"$stage/usr/bin/podpis" browser install --system --root "$stage" --host /usr/bin/podpis-host --lang en >/dev/null

# Chromium's unpacked extension: the extension's files without Firefox's manifest, its build
# script, its build output and the notes for developers.
(cd "$repo/extension" && find . -type f \
    ! -path './build/*' ! -name 'firefox.sh' ! -name 'manifest.firefox.json' \
    ! -name 'README.md' ! -name '.gitignore' -print) |
while read -r file; do
    mkdir -p "$stage/usr/share/podpis/extension/$(dirname "$file")"
    cp "$repo/extension/$file" "$stage/usr/share/podpis/extension/$file"
done
chmod -R u=rwX,go=rX "$stage/usr/share/podpis"

# Firefox: the extension helper's build, zipped with manifest.json at the archive's root (what
# an .xpi is); -X leaves out the owner and time extras.
firefox=$(mktemp -d)
trap 'rm -rf "$firefox"' EXIT
"$repo/extension/firefox.sh" "$firefox/build" >/dev/null
(cd "$firefox/build" && zip -q -X -r "$stage/usr/share/podpis/podpis-bridge.xpi" .)
chmod 0644 "$stage/usr/share/podpis/podpis-bridge.xpi"

# Checks: every manifest names /usr/bin/podpis-host and Podpis's ids; the unpacked extension is
# Chromium's (its key); the .xpi's manifest is Firefox's (its add-on id).
python3 - "$stage" <<'EOF'
import json, sys, zipfile
stage = sys.argv[1]
origin = "chrome-extension://heccbomkgkkfobheiepjmdhophngobhm/"
addon = "podpis-bridge@podpis"
for d, key, ident in [
    ("etc/chromium/native-messaging-hosts", "allowed_origins", origin),
    ("etc/opt/chrome/native-messaging-hosts", "allowed_origins", origin),
    ("usr/lib/mozilla/native-messaging-hosts", "allowed_extensions", addon),
]:
    m = json.load(open(f"{stage}/{d}/org.podpis.host.json"))
    assert m["name"] == "org.podpis.host" and m["type"] == "stdio", d
    assert m["path"] == "/usr/bin/podpis-host", d
    assert m[key] == [ident], d
chromium = json.load(open(f"{stage}/usr/share/podpis/extension/manifest.json"))
assert chromium.get("key") and "browser_specific_settings" not in chromium
with zipfile.ZipFile(f"{stage}/usr/share/podpis/podpis-bridge.xpi") as xpi:
    names = xpi.namelist()
    firefox = json.loads(xpi.read("manifest.json"))
assert firefox["browser_specific_settings"]["gecko"]["id"] == addon
assert "key" not in firefox
for script in ("background.js", "content.js"):
    assert script in names, script
EOF
echo "$stage"
