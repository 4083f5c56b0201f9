#!/usr/bin/env bash
# NVRTC for CI, so the kernel compile tests (tests/NcclEp.Tests/Cuda/NvrtcKernelTableTests.cs and friends) compile
# every kernel without a GPU, with two compilers:
# - NVRTC 12.4, which the library's loader prefers (libnvrtc.so.12) and which knows PTX ISA 8.0 (cp.async.bulk, TMA,
#   fence.proxy.async): Debian trixie's non-free libnvrtc12 and libnvrtc-builtins12.4, two .debs fetched directly from
#   the Debian pool (no trixie apt source) and checked against the SHA-256 pinned below. They need only glibc >= 2.34,
#   libstdc++ and libgcc, so they install on bookworm.
# - NVRTC 11.8, the oldest that targets sm_90 (users with CUDA 11.8): bookworm non-free's libnvrtc11.2 through apt,
#   compiled with separately by tests/NcclEp.Tests/Cuda/OlderNvrtcCompileTests.cs.
# Idempotent and never fatal: a version already present is left alone; one that cannot be installed (not Debian, not
# root, no network, a checksum mismatch) is said why, the script returns 0 and the tests that need it skip with the
# reason. The last line of output sums up both; .ci/run exports it as NCCLEP_CI_NVRTC_STATUS for the skip reasons.
#   NCCLEP_CI_NVRTC=skip   install nothing       NCCLEP_CI_NVRTC=force   install both even when present
set -uo pipefail
PATH=$PATH:/usr/sbin:/sbin   # ldconfig and dpkg live there; a non-root shell may not have them on PATH
say() { echo "ci: NVRTC: $*"; }
mode=${NCCLEP_CI_NVRTC:-auto}
[ "$mode" = skip ] && { say "11.8 and 12.4 not installed (NCCLEP_CI_NVRTC=skip)"; exit 0; }

pool=http://deb.debian.org/debian/pool/non-free/n/nvidia-cuda-toolkit
nvrtc12_debs=(
  "libnvrtc-builtins12.4_12.4.127~12.4.1-2_amd64.deb c4f9ea43c3e176a9f46b50718d546adb0dc7344432cd7d8b1483692e0416d24c"
  "libnvrtc12_12.4.127~12.4.1-2_amd64.deb db76acbd9ad53eae57291114b615ed21551592dee0b1160990a33066d86c251c"
)

# The file the dynamic loader finds for a soname (ldconfig's cache), and "that file, its real name's version".
installed() { ldconfig -p 2>/dev/null | grep -oE "/[^ ]*/$1\$" | head -n 1; }
described() { local real; real=$(readlink -f "$1"); echo "$1, ${real##*/libnvrtc.so.}"; }

. /etc/os-release 2>/dev/null || true
root_and_dpkg() { [ "$(id -u)" -eq 0 ] && command -v dpkg >/dev/null; }

# NVRTC 11.8 from bookworm non-free through apt. Prints its part of the summary.
install_11_8() {
  local present; present=$(installed 'libnvrtc\.so\.11\.2')
  if [ -n "$present" ] && [ "$mode" != force ]; then echo "11.8 present ($(described "$present"))"; return; fi
  if [ "${ID:-}" != debian ] || [ "${VERSION_CODENAME:-}" != bookworm ]; then
    echo "11.8 not installed (this is ${PRETTY_NAME:-an unknown system}, not Debian bookworm, whose non-free component serves libnvrtc11.2)"; return
  fi
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then echo "11.8 not installed (libnvrtc11.2 needs root and apt-get)"; return; fi

  # A deb822 source for bookworm non-free unless one is there already; apt reads only that one for the update.
  word() { echo "^$1:(.*[[:space:]])?$2([[:space:]]|\$)"; }   # a whole word: non-free is not non-free-firmware
  local source_file
  source_file=$(grep -lsE "$(word Components non-free)" /etc/apt/sources.list.d/*.sources |
    xargs -r grep -lsE "$(word Suites bookworm)" | head -n 1)
  if [ -z "$source_file" ]; then
    source_file=/etc/apt/sources.list.d/ncclep-bookworm-non-free.sources
    printf '%s\n' 'Types: deb' 'URIs: http://deb.debian.org/debian' 'Suites: bookworm' 'Components: non-free' \
      'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' > "$source_file"
    say "added $source_file" >&2
  fi

  local apt_net=(-o Acquire::Retries=1 -o Acquire::http::Timeout=20 -o Acquire::https::Timeout=20)
  if ! DEBIAN_FRONTEND=noninteractive timeout 120 apt-get "${apt_net[@]}" -o Dir::Etc::sourcelist="$source_file" \
       -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0 --error-on=any -qq update >&2; then
    echo "11.8 not installed (apt-get update of $source_file failed: no network?)"; return
  fi
  if ! DEBIAN_FRONTEND=noninteractive timeout 300 apt-get "${apt_net[@]}" install -y -qq --no-install-recommends \
       libnvrtc11.2 >/dev/null; then
    echo "11.8 not installed (apt-get install libnvrtc11.2 failed)"; return
  fi
  present=$(installed 'libnvrtc\.so\.11\.2')
  echo "11.8 installed (${present:+$(described "$present"), }libnvrtc11.2 $(dpkg-query -W -f='${Version}' libnvrtc11.2 2>/dev/null))"
}

# NVRTC 12.4: trixie's two .debs from the pool, SHA-256 checked, dpkg -i, ldconfig. Prints its part of the summary.
install_12_4() {
  local present; present=$(installed 'libnvrtc\.so\.12')
  if [ -n "$present" ] && [ "$mode" != force ]; then echo "12.4 present ($(described "$present"))"; return; fi
  if [ "${ID:-}" != debian ] || ! [[ ${VERSION_ID:-} =~ ^[0-9]+$ ]] || [ "$VERSION_ID" -lt 12 ] ||
     [ "$(dpkg --print-architecture 2>/dev/null)" != amd64 ]; then
    echo "12.4 not installed (this is ${PRETTY_NAME:-an unknown system}, not Debian 12 or newer on amd64, which trixie's libnvrtc12 .debs need)"; return
  fi
  if ! root_and_dpkg; then echo "12.4 not installed (dpkg -i of libnvrtc12 needs root)"; return; fi
  if ! command -v curl >/dev/null || ! command -v sha256sum >/dev/null; then echo "12.4 not installed (needs curl and sha256sum)"; return; fi

  local dir; dir=$(mktemp -d) || { echo "12.4 not installed (mktemp failed)"; return; }
  local entry file sum files=()
  for entry in "${nvrtc12_debs[@]}"; do
    file=${entry% *} sum=${entry#* }
    if ! curl --fail --silent --show-error --location --connect-timeout 15 --max-time 180 --retry 1 \
         -o "$dir/$file" "$pool/$file" >&2; then
      rm -rf "$dir"; echo "12.4 not installed (download of $pool/$file failed: no network?)"; return
    fi
    if ! echo "$sum  $dir/$file" | sha256sum --check --status; then
      rm -rf "$dir"; echo "12.4 not installed ($file does not have the pinned SHA-256 $sum)"; return
    fi
    files+=("$dir/$file")
  done
  if ! DEBIAN_FRONTEND=noninteractive dpkg -i "${files[@]}" >/dev/null; then
    rm -rf "$dir"
    # Never leave apt a half-configured package (an unmet dependency): take back what did not configure.
    local package
    for package in libnvrtc12 libnvrtc-builtins12.4; do
      [ "$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null)" = "install ok installed" ] || dpkg --remove "$package" >/dev/null 2>&1
    done
    echo "12.4 not installed (dpkg -i of libnvrtc12 and libnvrtc-builtins12.4 failed)"; return
  fi
  rm -rf "$dir"
  ldconfig
  present=$(installed 'libnvrtc\.so\.12')
  if [ -z "$present" ]; then echo "12.4 not installed (dpkg -i succeeded but ldconfig does not list libnvrtc.so.12)"; return; fi
  echo "12.4 installed ($(described "$present"), SHA-256 checked)"
}

older=$(install_11_8)
newer=$(install_12_4)
say "$older, $newer"
