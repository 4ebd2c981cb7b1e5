#!/usr/bin/env bash
# The demo: a virtual GOST token (entrepreneur profile) in vpcd's first reader, found, recognised
# and read by `podpis`, and a signature made on the card and checked by OpenSSL.
# Everything it starts, it stops.
set -euo pipefail
cd "$(dirname "$0")/.."

GOST_CONF="$PWD/config/openssl-gost.cnf"
RUN="$PWD/run/demo"
BIN="$PWD/target/debug"
mkdir -p "$RUN"

card_pid=""
cleanup() {
    if [ -n "$card_pid" ]; then
        kill "$card_pid" 2>/dev/null || true
        wait "$card_pid" 2>/dev/null || true
    fi
}
trap cleanup EXIT

port=35963
reader="Virtual PCD 00 00"
if "$BIN/podpis" readers --json | grep -A2 "\"$reader\"" | grep -q '"atr"'; then
    port=35964
    reader="Virtual PCD 00 01"
fi

echo "== Test PKI and the entrepreneur's card"
OPENSSL_CONF="$GOST_CONF" "$BIN/podpis-vcard" pki init --dir "$RUN/pki"
OPENSSL_CONF="$GOST_CONF" "$BIN/podpis-vcard" --profile entrepreneur --pki "$RUN/pki" \
    --state "$RUN/card-entrepreneur" --port "$port" 2>"$RUN/vcard.log" &
card_pid=$!
for _ in $(seq 1 100); do
    "$BIN/podpis" readers --json | grep -A2 "\"$reader\"" | grep -q '"atr"' && break
    sleep 0.1
done

echo
echo "== podpis readers"
"$BIN/podpis" readers
echo
echo "== podpis certs --reader \"$reader\""
"$BIN/podpis" certs --reader "$reader"
echo
echo "The card's PIN is 12345678. Signing a confirmation with it against the sandbox portal"
echo "comes with the portal and the confirmation flow (docs/, issues 4 and 5)."
