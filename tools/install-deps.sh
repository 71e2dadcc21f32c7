#!/usr/bin/env bash
# Installs the Debian packages lpz needs to build, test and run its quick
# start, when they are missing. Used by `make deps`. Safe to run again.
#   tools/install-deps.sh            build + tests + quick start
#   tools/install-deps.sh --build    only what the build needs
set -euo pipefail

build_pkgs=(cmake make gcc pkg-config libopenblas-dev libyaml-dev libnng-dev libpcap-dev
            libcmocka-dev zlib1g-dev libpng-dev libjpeg-dev)
test_pkgs=(python3 python3-numpy python3-torch python3-torchvision python3-scipy dataset-fashion-mnist chromium bc
           tcpdump argus-client argus-server openssl iproute2)

want=("${build_pkgs[@]}")
if [ "${1:-}" != "--build" ]; then
  want+=("${test_pkgs[@]}")
fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#want[@]} packages present"
  exit 0
fi

echo "deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
  else
    echo "deps: missing packages and not root; run as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q >/dev/null
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
