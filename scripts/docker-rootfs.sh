#!/usr/bin/env bash
# Gathers a root file system for a FROM scratch image: the given programs (stripped) in
# /usr/bin, the dynamic loader at /lib64/ld-linux-x86-64.so.2 and exactly the shared libraries
# `ldd` lists for them, each at the path ldd shows. Nothing else: no shell, no libc tools, no
# nsswitch.conf (glibc 2.36 resolves /etc/hosts and DNS without it; docker mounts those files).
#
#   scripts/docker-rootfs.sh OUT_DIR PROGRAM...
#
# OUT_DIR is emptied first. Prints one line per file copied.
set -euo pipefail

[ $# -ge 2 ] || { echo "usage: $0 OUT_DIR PROGRAM..." >&2; exit 2; }
out="$1"
shift
rm -rf "$out"
mkdir -p "$out/usr/bin"

copy_file() {  # copy_file SOURCE DEST_PATH_IN_IMAGE (follows symlinks: the image gets files)
  mkdir -p "$out$(dirname "$2")"
  cp -L "$1" "$out$2"
  echo "  $2 ($(du -k --apparent-size "$out$2" | cut -f1) KiB)"
}

libs=()
for prog in "$@"; do
  [ -x "$prog" ] || { echo "docker-rootfs: $prog is not an executable" >&2; exit 1; }
  dest="/usr/bin/$(basename "$prog")"
  copy_file "$prog" "$dest"
  strip --strip-all "$out$dest"
  echo "  $dest stripped ($(du -k --apparent-size "$out$dest" | cut -f1) KiB)"
  # ldd lines: "libfoo.so.1 => /path/libfoo.so.1 (0x...)", "/lib64/ld-linux-x86-64.so.2 (0x...)"
  # and "linux-vdso.so.1 (0x...)" (in the kernel, no file). A "not found" stops the build.
  if ldd "$prog" | grep -q 'not found'; then
    echo "docker-rootfs: $prog needs a library that is not installed:" >&2
    ldd "$prog" | grep 'not found' >&2
    exit 1
  fi
  while read -r path; do libs+=("$path"); done < <(ldd "$prog" | awk '
    $2 == "=>" && $3 ~ /^\// { print $3; next }
    $1 ~ /^\// { print $1 }')
done

# The loader is named by the programs' ELF interpreter field; make sure it is there even if ldd
# printed it under another path.
libs+=(/lib64/ld-linux-x86-64.so.2)
for lib in $(printf '%s\n' "${libs[@]}" | sort -u); do copy_file "$lib" "$lib"; done
