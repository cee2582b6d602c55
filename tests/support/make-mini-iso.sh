#!/bin/bash
# Build a small BIOS-bootable Debian installer ISO ("mini.iso") from the
# netboot kernel/initrd in the debian-installer-12-netboot-amd64 package
# (Debian ships no mini.iso). isolinux waits at a "boot:" prompt forever,
# so Packer's boot_command can type "install auto=true ... url=...".
# Usage: make-mini-iso.sh OUT.iso
set -euo pipefail
OUT=${1:?usage: make-mini-iso.sh OUT.iso}
NB=/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64
for f in "$NB/linux" "$NB/initrd.gz" /usr/lib/ISOLINUX/isolinux.bin \
         /usr/lib/syslinux/modules/bios/ldlinux.c32 /usr/lib/ISOLINUX/isohdpfx.bin; do
  [ -f "$f" ] || { echo "missing $f (apt-get install debian-installer-12-netboot-amd64 isolinux syslinux-common)" >&2; exit 1; }
done
command -v xorriso >/dev/null || { echo "missing xorriso (apt-get install xorriso)" >&2; exit 1; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/isolinux"
cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$W/isolinux/"
cp "$NB/linux" "$NB/initrd.gz" "$W/"
cat > "$W/isolinux/isolinux.cfg" <<'CFG'
serial 0 115200
prompt 1
timeout 0
default install
label install
  kernel /linux
  append initrd=/initrd.gz vga=788
CFG
TMP_OUT="$OUT.tmp.$$"
xorriso -as mkisofs -quiet -o "$TMP_OUT" -r -J -V DEBIAN_MINI \
  -b isolinux/isolinux.bin -c isolinux/boot.cat \
  -no-emul-boot -boot-load-size 4 -boot-info-table \
  -isohybrid-mbr /usr/lib/ISOLINUX/isohdpfx.bin "$W"
mv "$TMP_OUT" "$OUT"
