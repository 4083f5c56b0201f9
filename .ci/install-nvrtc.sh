#!/usr/bin/env bash
# NVRTC for CI, so tests/NcclEp.Tests/Cuda/NvrtcKernelTableTests.cs compiles every kernel without a GPU: Debian
# bookworm's non-free component serves libnvrtc11.2 (NVRTC 11.8, which targets sm_90; about 16 MB). Idempotent and
# never fatal: where NVRTC is already present it does nothing; where it cannot be installed (not Debian bookworm, not
# root, no network) it says why and returns 0, and the compile tests are skipped with the loader's reason.
#   NCCLEP_CI_NVRTC=skip   install nothing       NCCLEP_CI_NVRTC=force   run apt even when NVRTC is present
set -uo pipefail
say() { echo "ci: NVRTC: $*"; }
mode=${NCCLEP_CI_NVRTC:-auto}
[ "$mode" = skip ] && { say "not installed (NCCLEP_CI_NVRTC=skip)"; exit 0; }

present=$(ldconfig -p 2>/dev/null | grep -oE '/[^ ]*/libnvrtc\.so(\.[0-9.]+)?$' | head -n 1)
if [ -n "$present" ] && [ "$mode" != force ]; then say "present ($present)"; exit 0; fi

. /etc/os-release 2>/dev/null || true
if [ "${ID:-}" != debian ] || [ "${VERSION_CODENAME:-}" != bookworm ]; then
  say "not installed: this is ${PRETTY_NAME:-an unknown system}, not Debian bookworm (whose non-free component serves libnvrtc11.2)"; exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then say "not installed: installing libnvrtc11.2 needs root and apt-get"; exit 0; fi

# A deb822 source for bookworm non-free unless one is there already; apt reads only that one for the update.
word() { echo "^$1:(.*[[:space:]])?$2([[:space:]]|\$)"; }   # a whole word: non-free is not non-free-firmware
source_file=$(grep -lsE "$(word Components non-free)" /etc/apt/sources.list.d/*.sources |
  xargs -r grep -lsE "$(word Suites bookworm)" | head -n 1)
if [ -z "$source_file" ]; then
  source_file=/etc/apt/sources.list.d/ncclep-bookworm-non-free.sources
  printf '%s\n' 'Types: deb' 'URIs: http://deb.debian.org/debian' 'Suites: bookworm' 'Components: non-free' \
    'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' > "$source_file"
  say "added $source_file"
fi

export DEBIAN_FRONTEND=noninteractive
apt_net=(-o Acquire::Retries=1 -o Acquire::http::Timeout=20 -o Acquire::https::Timeout=20)
if ! timeout 120 apt-get "${apt_net[@]}" -o Dir::Etc::sourcelist="$source_file" -o Dir::Etc::sourceparts=- \
     -o APT::Get::List-Cleanup=0 --error-on=any -qq update; then
  say "not installed: apt-get update of $source_file failed (no network?)"; exit 0
fi
if ! timeout 300 apt-get "${apt_net[@]}" install -y -qq --no-install-recommends libnvrtc11.2 >/dev/null; then
  say "not installed: apt-get install libnvrtc11.2 failed"; exit 0
fi
say "installed libnvrtc11.2 ($(dpkg-query -W -f='${Version}' libnvrtc11.2 2>/dev/null))"
