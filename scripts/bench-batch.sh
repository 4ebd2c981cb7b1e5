#!/bin/sh
# A batch of small files signed with one PIN on the virtual card (BENCHMARKS.md, "Batch signing"):
# `podpis sign --in DIR` over FILES files of SIZE bytes, RUNS times, each run in a fresh folder and
# data directory (the certificate read from the card, not from the cache); then, for comparison,
# the same files signed one `podpis sign` at a time. Needs the release build
# (`cargo build --release -p cli -p vcard`), pcscd with vpcd, and the tests' PKI
# (target/debug/podpis-tests/pki, made by any card test, or `podpis-vcard pki init --dir DIR`).
#
# The second vpcd reader is held under the tests' own lock (tests/src/lib.rs, ReaderLease), so a
# test running meanwhile waits instead of meeting this card.
set -eu
cd "$(dirname "$0")/.."
FILES=${FILES:-100}
SIZE=${SIZE:-1024}
RUNS=${RUNS:-5}
PKI=${PKI:-target/debug/podpis-tests/pki}
PORT=35964
READER="Virtual PCD 00 01"
PODPIS=target/release/podpis
VCARD=target/release/podpis-vcard
LOCK=${TMPDIR:-/tmp}/podpis-test-reader-$PORT.lock

if [ "${BENCH_BATCH_LOCKED:-}" != 1 ]; then
    BENCH_BATCH_LOCKED=1 exec flock -w 600 "$LOCK" "$0" "$@"
fi

work=$(mktemp -d)
state="$work/card"
OPENSSL_CONF=config/openssl-gost.cnf "$VCARD" --profile entrepreneur --port "$PORT" \
    --pki "$PKI" --state "$state" 2>"$work/vcard.log" &
card=$!
trap 'kill $card 2>/dev/null; wait $card 2>/dev/null; rm -rf "$work"' EXIT
i=0
until PODPIS_PKCS11_DISCOVERY=0 "$PODPIS" readers --json | grep -q '"gost-token"'; do
    i=$((i + 1))
    [ $i -lt 300 ] || { echo "the card did not come up" >&2; cat "$work/vcard.log" >&2; exit 1; }
    sleep 0.1
done

now() { date +%s%N; }
ms() { echo "scale=2; ($2 - $1) / 1000000" | bc; }

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
echo "batch: $FILES files of $SIZE bytes, one PIN, $RUNS runs"
run=1
while [ $run -le "$RUNS" ]; do
    dir="$work/run-$run"
    mkdir -p "$dir/docs"
    n=1
    while [ $n -le "$FILES" ]; do
        head -c "$SIZE" /dev/urandom >"$dir/docs/doc-$n.bin"
        n=$((n + 1))
    done
    t0=$(now)
    echo 12345678 | PODPIS_PKCS11_DISCOVERY=0 "$PODPIS" sign --json --pin-stdin \
        --reader "$READER" --data-dir "$dir/data" --in "$dir/docs" >"$dir/out.json"
    t1=$(now)
    signed=$(grep -o '"signed": *[0-9]*' "$dir/out.json" | head -1 | grep -o '[0-9]*$')
    total=$(ms "$t0" "$t1")
    echo "run $run: $signed signed in $total ms, $(echo "scale=2; $total / $FILES" | bc) ms per file"
    run=$((run + 1))
done

echo "one at a time: $FILES runs of podpis sign, one file and one PIN each"
dir="$work/single"
mkdir -p "$dir/docs"
n=1
while [ $n -le "$FILES" ]; do
    head -c "$SIZE" /dev/urandom >"$dir/docs/doc-$n.bin"
    n=$((n + 1))
done
t0=$(now)
n=1
while [ $n -le "$FILES" ]; do
    echo 12345678 | PODPIS_PKCS11_DISCOVERY=0 "$PODPIS" sign --json --pin-stdin \
        --reader "$READER" --data-dir "$dir/data" --in "$dir/docs/doc-$n.bin" >/dev/null
    n=$((n + 1))
done
t1=$(now)
total=$(ms "$t0" "$t1")
echo "one at a time: $FILES signed in $total ms, $(echo "scale=2; $total / $FILES" | bc) ms per file"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
