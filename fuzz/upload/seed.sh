#!/usr/bin/env bash
# seed.sh BUILD_DIR CORPUS_ROOT TESTDATA_DIR: seeds for the upload fuzzers: Tecken's upload
# archives from the test data (whole: the largest is 71 KB), two small archives in store layout made
# here (a deflated .sym and a stored one), and a few multipart bodies.
set -euo pipefail
root="$2"; data="$3"
mkdir -p "$root/zip_archive_fuzzer" "$root/multipart_fuzzer"
n=0
while IFS= read -r -d '' f; do
  n=$((n + 1))
  cp "$f" "$root/zip_archive_fuzzer/seed-$n"
done < <(find "$data/uploads" -type f -name '*.zip' -print0)
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/xul.pdb/44E4EC8C2F41492B9369D6B9A059577C2" "$tmp/a.so/0123456789ABCDEF0123456789ABCDEF0"
printf 'MODULE windows x86_64 44E4EC8C2F41492B9369D6B9A059577C2 xul.pdb\nFILE 0 a.cc\nFUNC 1000 10 0 main\n1000 10 7 0\nPUBLIC 2000 0 f\n' \
  > "$tmp/xul.pdb/44E4EC8C2F41492B9369D6B9A059577C2/xul.sym"
printf 'MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 a.so\n' > "$tmp/a.so/0123456789ABCDEF0123456789ABCDEF0/a.sym"
(cd "$tmp" && zip -qr -9 deflated.zip xul.pdb && zip -qr -0 stored.zip a.so)
cp "$tmp/deflated.zip" "$tmp/stored.zip" "$root/zip_archive_fuzzer/"
m="$root/multipart_fuzzer"
printf 'multipart/form-data; boundary=XyZ\n--XyZ\r\nContent-Disposition: form-data; name="a.zip"; filename="a.zip"\r\nContent-Type: application/zip\r\n\r\nPK\003\004data\r\n--XyZ--\r\n' > "$m/seed-file"
printf 'multipart/form-data; boundary="q q"\n--q q\r\nContent-Disposition: form-data; name="url"\r\n\r\nhttps://example.com/s.zip\r\n--q q\r\nContent-Disposition: form-data; name="x"\r\n\r\n\r\n--q q--\r\n' > "$m/seed-fields"
printf 'multipart/form-data; boundary=b\npreamble\r\n--b\r\nContent-Disposition: form-data; name=z\r\n\r\n--b-\r\n--b--' > "$m/seed-odd"
