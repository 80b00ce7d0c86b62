#!/usr/bin/env bash
# Installs the Debian packages the test suite uses, and only those that are missing:
#   notary (the reference client and servers), softhsm2 (PKCS#11 tests), openssl, curl, jq,
#   docker-registry, skopeo and umoci (a real OCI registry, filled with images, for `trust`),
#   faketime (reading trust data as a client would some days from now: expiry), the docker CLI
#   where there is none (Debian's docker.io),
#   and Notary's Go sources with a Go toolchain (tests build small checkers against Notary's own code).
# As root (CI) it installs with apt-get; otherwise through passwordless sudo if there is one, and
# failing that it names what is missing and carries on, leaving those tests to say what they lack.
set -euo pipefail

# package:command that proves it is installed
wanted=(
  notary:notary
  softhsm2:softhsm2-util
  openssl:openssl
  curl:curl
  jq:jq
  golang-go:go
  docker-registry:docker-registry
  skopeo:skopeo
  umoci:umoci
  faketime:faketime
  # The docker CLI is the reference for `notarius trust` (machines of this kind ship docker
  # 28.2.2 in /usr/local/bin; Debian 12's docker.io, 20.10, only where it is missing).
  docker.io:docker
)

missing=()
for w in "${wanted[@]}"; do
  command -v "${w#*:}" >/dev/null 2>&1 || missing+=("${w%%:*}")
done
# A package without a command: Notary 0.7's Go sources.
[ -d /usr/share/gocode/src/github.com/theupdateframework/notary ] ||
  missing+=(golang-github-docker-notary-dev)
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "ci-prereqs: missing ${missing[*]} and cannot install them without root; continuing" >&2
  exit 0
fi

echo "ci-prereqs: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
