#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks for Podpis and starts pcscd with vpcd's virtual
# readers. Idempotent: a second run installs nothing and leaves a working pcscd alone.
set -euo pipefail

SUDO=""
if [ "$(id -u)" != 0 ]; then
    SUDO="sudo"
fi

PACKAGES=(
    # PC/SC, the virtual reader, tools to look at cards
    pcscd libpcsclite-dev vsmartcard-vpcd pcsc-tools opensc
    # PKCS#11: SoftHSM2 and OpenSC's module as third-party tokens for the PKCS#11 tier, p11-kit's
    # module registry
    softhsm2 opensc-pkcs11 p11-kit
    # OpenSSL with the GOST engine (the virtual card, the portal, the tests' verifier)
    openssl libssl-dev libengine-gost-openssl pkg-config
    # building Rust crates with C parts; curl for the scripts; zip for the Firefox .xpi of
    # `make package` (scripts/package-browser.sh)
    build-essential curl zip
    # the desktop app (Tauri 2) and its tests in a real window
    libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev
    xvfb webkit2gtk-driver x11-utils
    # the browser bridge's tests: Chromium with the extension, driven by chromedriver, and its
    # locales (without them its only UI language is en-US; the extension's pages are tested in ru)
    chromium chromium-driver chromium-l10n
)

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo-nextest >/dev/null 2>&1; then
    echo "setup: installing cargo-nextest"
    cargo install --locked cargo-nextest
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "setup: installing cargo-fuzz"
    cargo install --locked cargo-fuzz
fi

if ! command -v cargo-deny >/dev/null 2>&1; then
    echo "setup: installing cargo-deny (the dependencies' licences are checked in make test)"
    cargo install --locked cargo-deny
fi

if ! command -v tauri-driver >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/tauri-driver" ]; then
    echo "setup: installing tauri-driver (WebDriver for the desktop app's tests)"
    cargo install --locked tauri-driver
fi
if ! command -v schemathesis >/dev/null 2>&1; then
    echo "setup: installing schemathesis"
    python3 -m pip install --quiet schemathesis
fi

# pcscd with the vpcd readers ("Virtual PCD 00 00" on TCP 35963, "Virtual PCD 00 01" on 35964).
# Debian's vpcd driver keeps its sockets per slot, so these two are all one pcscd can have.
has_vpcd_readers() {
    timeout 5 pcsc_scan -r 2>/dev/null | grep -q "Virtual PCD 00 01"
}
if ! has_vpcd_readers; then
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
        $SUDO systemctl restart pcscd.socket pcscd.service
    else
        # No systemd (containers, CI): run the daemon ourselves. A pcscd started before vpcd
        # was installed does not know the readers: restart it.
        $SUDO pkill -x pcscd 2>/dev/null || true
        sleep 0.5
        $SUDO pcscd
    fi
    for _ in $(seq 1 50); do
        has_vpcd_readers && break
        sleep 0.2
    done
    has_vpcd_readers || { echo "setup: pcscd does not show the vpcd readers" >&2; exit 1; }
fi
echo "setup: pcscd is running with the vpcd readers"
