#!/usr/bin/env bash
# Run here, on a machine with network, before a session on the GPU machine (which has CUDA 13,
# PyTorch, CMake and ninja but no network): puts what scripts/gpu-run.sh needs and cannot
# download there into gpu-kit/ (git-ignored), which the device run carries (`carry: ["gpu-kit"]`):
#
#   gpu-kit/kokkos-3.4.1.tar.gz  Kokkos 3.4.1 source (Debian's trilinos source package, only
#                                packages/kokkos; scripts/kokkos-source.sh), patched for CUDA 13
#                                (scripts/kokkos-cuda13.patch) and with a Hopper architecture
#                                option (scripts/kokkos-hopper90.patch)
#   gpu-kit/debs/*.deb           Eigen, xsimd, Catch2, Google Benchmark (headers and library),
#                                nlohmann-json: Debian packages, unpacked there with `dpkg -x`
#                                into a private prefix (never into /)
#   gpu-kit/MANIFEST             what the kit holds, from where, and when
#
# The system's apt configuration is left alone (private lists and cache). Prints the kit's size.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
kit=$root/gpu-kit
wfc_log_prefix=gpu-prepare
. "$root/scripts/kokkos-source.sh"  # wfc_kokkos_source, wfc_kokkos_version

# The Debian packages: the CPU backend's and the tests' and benchmarks' dependencies that a
# CUDA/PyTorch image need not have. All header-only except Google Benchmark (libbenchmark-dev has
# only the shared library's link, libbenchmark1debian the library itself).
packages=(libeigen3-dev libxsimd-dev catch2 libbenchmark-dev libbenchmark1debian nlohmann-json3-dev)

start=$SECONDS
phase_start=$SECONDS
phase() {  # phase NAME: prints the time of the phase that just ended
  echo "gpu-prepare: $1: $((SECONDS - phase_start)) s"
  phase_start=$SECONDS
}

work=$(mktemp -d "${TMPDIR:-/tmp}/gpu-prepare.XXXXXX")
trap 'rm -rf "$work" "$kit.new"' EXIT
rm -rf "$kit.new"
mkdir -p "$kit.new/debs"

# ---- Kokkos source ---------------------------------------------------------------------------------
wfc_kokkos_source "$work"
patch -p1 --forward --quiet -d "$work/kokkos" <"$root/scripts/kokkos-hopper90.patch"
tar -C "$work" -czf "$kit.new/kokkos-$wfc_kokkos_version.tar.gz" kokkos
phase "Kokkos source with the Hopper option, packed"

# ---- Debian packages -------------------------------------------------------------------------------
# The system's own sources, private lists and cache: `apt-get download` needs no root.
mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
apt_options=(-o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o "APT::Sandbox::User=$(id -un)" -q)
if ! apt-get "${apt_options[@]}" update >/dev/null; then
  echo "gpu-prepare: apt-get update failed (private lists in $work/lists)" >&2
  exit 1
fi
(cd "$kit.new/debs" && apt-get "${apt_options[@]}" download "${packages[@]}" >/dev/null) || {
  echo "gpu-prepare: cannot download ${packages[*]}" >&2
  exit 1
}
phase "download ${#packages[@]} Debian packages"

{
  echo "gpu-kit for scripts/gpu-run.sh, made $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "kokkos-$wfc_kokkos_version.tar.gz: Kokkos $wfc_kokkos_version from Debian's trilinos source package," \
    "patched: kokkos-cuda13.patch $(sha256sum "$wfc_kokkos_patch" | cut -c1-12)," \
    "kokkos-hopper90.patch $(sha256sum "$root/scripts/kokkos-hopper90.patch" | cut -c1-12)"
  for deb in "$kit.new"/debs/*.deb; do
    echo "debs/$(basename "$deb"): $(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version)"
  done
} >"$kit.new/MANIFEST"

rm -rf "$kit"
mv "$kit.new" "$kit"
trap 'rm -rf "$work"' EXIT
grep -qxF '/gpu-kit/' "$root/.gitignore" 2>/dev/null || echo "gpu-prepare: note: gpu-kit/ is not in .gitignore" >&2
cat "$kit/MANIFEST"
echo "gpu-prepare: gpu-kit is $(du -sh "$kit" | cut -f1) ($(du -sb "$kit" | cut -f1) bytes; a device run carries at most 64 MiB)" \
  "in $((SECONDS - start)) s"
