#!/usr/bin/env bash
# The demo: the whole confirmation against the sandbox portal with the virtual card.
# A test PKI, the entrepreneur's virtual GOST token in a free vpcd reader, the sandbox portal on
# loopback with seeded accounts; then `podpis login` and `podpis confirm` with the test PIN,
# printing the account level before and after. Everything it starts, it stops.
set -euo pipefail
cd "$(dirname "$0")/.."

GOST_CONF="$PWD/config/openssl-gost.cnf"
RUN="$PWD/run/demo"
BIN="$PWD/target/debug"
rm -rf "$RUN/portal.db"* "$RUN/data" "$RUN/card-entrepreneur"
mkdir -p "$RUN"

pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT

reader_has_card() {
    "$BIN/podpis" readers --json | grep -A2 "\"$1\"" | grep -q '"atr"'
}
port=35963
reader="Virtual PCD 00 00"
if reader_has_card "$reader"; then
    port=35964
    reader="Virtual PCD 00 01"
fi

echo "== Test PKI, the entrepreneur's virtual token in \"$reader\""
OPENSSL_CONF="$GOST_CONF" "$BIN/podpis-vcard" pki init --dir "$RUN/pki"
OPENSSL_CONF="$GOST_CONF" "$BIN/podpis-vcard" --profile entrepreneur --pki "$RUN/pki" \
    --state "$RUN/card-entrepreneur" --port "$port" 2>"$RUN/vcard.log" &
pids+=($!)
for _ in $(seq 1 100); do
    reader_has_card "$reader" && break
    sleep 0.1
done

echo
echo "== The sandbox portal"
"$BIN/podpis-portal" seed --db "$RUN/portal.db"
OPENSSL_CONF="$GOST_CONF" "$BIN/podpis-portal" serve --listen 127.0.0.1:0 --db "$RUN/portal.db" \
    --trust "$RUN/pki/root.pem" --trust "$RUN/pki/ca.pem" --crl "$RUN/pki/crl.pem" --crl "$RUN/pki/root-crl.pem" \
    >"$RUN/portal.out" 2>"$RUN/portal.log" &
pids+=($!)
for _ in $(seq 1 100); do
    grep -q "listening on" "$RUN/portal.out" 2>/dev/null && break
    sleep 0.1
done
portal=$(sed -n 's/.*listening on //p' "$RUN/portal.out")
echo "listening on $portal"

export PODPIS_DATA_DIR="$RUN/data"
echo
echo "== podpis login +79990000001"
echo "ivanov-sandbox-1" | "$BIN/podpis" --portal "$portal" login +79990000001 --password-stdin
before=$("$BIN/podpis" status --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["level"])')
echo "level before: $before"
echo
echo "== podpis confirm --reader \"$reader\" (PIN 12345678)"
echo "12345678" | "$BIN/podpis" confirm --reader "$reader" --pin-stdin
after=$("$BIN/podpis" status --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["level"])')
echo
echo "level before: $before"
echo "level after:  $after"
"$BIN/podpis" logout >/dev/null
[ "$before" = standard ] && [ "$after" = confirmed ]

# With a display, the desktop app opens too, in sandbox mode (its own portal inside, trusting the
# same test PKI, its own data directory), with the virtual card still inserted. Closing its
# window ends the demo.
if [ -n "${DISPLAY:-}" ]; then
    echo
    echo "== The desktop app (sandbox mode); log in as +79990000001 / ivanov-sandbox-1, PIN 12345678"
    rm -rf "$RUN/app-data"
    PODPIS_DATA_DIR="$RUN/app-data" PODPIS_SANDBOX=1 PODPIS_SANDBOX_PKI="$RUN/pki" "$BIN/podpis-desktop" || true
fi
