#!/usr/bin/env bash
# The patched Kokkos 3.4.1 source that the CUDA scripts build: Debian's trilinos source package
# (only its packages/kokkos), downloaded through a private apt configuration (the system's own is
# left alone), checked for the version and patched for CUDA 13 (scripts/kokkos-cuda13.patch).
#
#   scripts/kokkos-source.sh DIR     puts the patched source in DIR (which must not exist)
#
# Sourced (scripts/cuda-check.sh, scripts/gpu-prepare.sh), it defines wfc_kokkos_source WORK: the
# source lands in WORK/kokkos, with WORK/apt and WORK/src as scratch (WORK/src is removed again).
# Messages start with "$wfc_log_prefix: " (default kokkos-source); a `phase` function, when the
# caller defines one, is called after the download and after the patch. Failures exit.

wfc_kokkos_version=3.4.1
wfc_kokkos_patch=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/kokkos-cuda13.patch

wfc_kokkos_source() {
  local work=$1 prefix=${wfc_log_prefix:-kokkos-source}
  local codename entry f orig found apt_options

  # A deb-src entry for the system's own Debian release, from its deb entries (one-line .list or
  # deb822 .sources); deb.debian.org when none names the release.
  . /etc/os-release
  codename=${VERSION_CODENAME:?$prefix: no VERSION_CODENAME in /etc/os-release}
  mkdir -p "$work/apt/sources.list.d" "$work/apt/lists/partial" "$work/apt/cache/archives/partial" "$work/src"
  : >"$work/apt/sources.list"
  entry=""
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] && [ -z "$entry" ] || continue
    entry=$(awk -v c="$codename" '
      $1 == "deb" { i = 2; opts = ""
        if ($2 ~ /^\[/) { while (i < NF && $i !~ /\]$/) opts = opts " " $(i++); opts = opts " " $(i++) }
        if ($(i + 1) == c) { print "deb-src" opts " " $i " " c " main"; exit } }' "$f")
    [ -z "$entry" ] || printf '%s\n' "$entry" >"$work/apt/sources.list"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && [ -z "$entry" ] || continue
    entry=$(awk -v RS= -v c="$codename" '{
        types = uris = suites = signed = ""
        n = split($0, lines, "\n")
        for (k = 1; k <= n; k++) {
          if (lines[k] ~ /^#/) continue
          split(lines[k], kv, ":"); key = kv[1]; value = substr(lines[k], length(key) + 2); sub(/^[ \t]+/, "", value)
          if (key == "Types") types = value; else if (key == "URIs") uris = value
          else if (key == "Suites") suites = value; else if (key == "Signed-By") signed = value
        }
        if ((" " types " ") ~ / deb / && (" " suites " ") ~ (" " c " ")) {
          print "Types: deb-src\nURIs: " uris "\nSuites: " c "\nComponents: main"
          if (signed != "") print "Signed-By: " signed
          exit
        } }' "$f")
    [ -z "$entry" ] || printf '%s\n' "$entry" >"$work/apt/sources.list.d/debian-src.sources"
  done
  if [ -z "$entry" ]; then
    echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $codename main" \
      >"$work/apt/sources.list"
  fi
  apt_options=(-o "Dir::Etc::SourceList=$work/apt/sources.list" -o "Dir::Etc::SourceParts=$work/apt/sources.list.d"
    -o "Dir::State::Lists=$work/apt/lists" -o "Dir::Cache=$work/apt/cache" -o "APT::Sandbox::User=$(id -un)" -q)
  if ! apt-get "${apt_options[@]}" update >/dev/null ||
     ! (cd "$work/src" && apt-get "${apt_options[@]}" source --download-only trilinos >/dev/null); then
    echo "$prefix: cannot download Debian's trilinos source package ($(grep -h . "$work"/apt/sources.list \
      "$work"/apt/sources.list.d/* 2>/dev/null | tr '\n' ' '))" >&2
    exit 1
  fi
  if declare -F phase >/dev/null; then phase "download the trilinos source package"; fi

  # Only packages/kokkos of the upstream tarball (a few seconds out of the whole tree).
  orig=$(ls "$work"/src/trilinos_*.orig.tar.* | head -n 1)
  mkdir -p "$work/kokkos"
  tar -xf "$orig" -C "$work/kokkos" --strip-components=3 --wildcards '*/packages/kokkos/*'
  rm -rf "$work/src"
  found=$(printf '%d.%d.%d' $(sed -n 's/^set(Kokkos_VERSION_\(MAJOR\|MINOR\|PATCH\) 0*\([0-9][0-9]*\))/\2/p' \
    "$work/kokkos/CMakeLists.txt"))  # PATCH is written 01
  if [ "$found" != "$wfc_kokkos_version" ]; then
    echo "$prefix: the trilinos source package holds Kokkos $found; scripts/kokkos-cuda13.patch is for $wfc_kokkos_version" >&2
    exit 1
  fi
  patch -p1 --forward --quiet -d "$work/kokkos" <"$wfc_kokkos_patch"
  if declare -F phase >/dev/null; then phase "extract and patch Kokkos"; fi
}

# Executed rather than sourced: the source into DIR.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  if [ $# -ne 1 ] || [ -e "$1" ]; then
    echo "usage: $0 DIR   (DIR must not exist; the patched Kokkos $wfc_kokkos_version source is put there)" >&2
    exit 2
  fi
  mkdir -p "$(dirname "$1")"
  dest=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
  work=$(mktemp -d "${TMPDIR:-/tmp}/kokkos-source.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  wfc_kokkos_source "$work"
  mv "$work/kokkos" "$dest"
  echo "kokkos-source: Kokkos $wfc_kokkos_version, patched for CUDA 13, in $dest"
fi
