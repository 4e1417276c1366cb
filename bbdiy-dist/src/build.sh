#!/usr/bin/env bash
# Builds the Debian package and the tarball of bbdiy from the shaded CLI jar; called by Maven (bbdiy-dist's
# package phase) as: build.sh VERSION CLI_JAR OUTPUT_DIR. Needs bash, java, dpkg-deb and tar; nothing is
# downloaded. The .deb is built without root (dpkg-deb --root-owner-group).
set -euo pipefail
version="$1"
jar="$2"
out="$3"
src="$(cd "$(dirname "$0")" && pwd)"
top="$(cd "$src/../.." && pwd)"
deb_version="${version/-SNAPSHOT/~snapshot}"
command -v dpkg-deb >/dev/null || { echo "build.sh: dpkg-deb is missing (apt-get install dpkg)" >&2; exit 2; }
[ -r "$jar" ] || { echo "build.sh: no CLI jar at $jar: build bbdiy-cli first" >&2; exit 2; }

work="$out/dist-work"
rm -rf "$work"
mkdir -p "$work"
# Man pages and bash completion, from the commands' own help.
java -cp "$jar" dev.bbdiy.cli.Docs "$work/man" "$work/bbdiy.bash" >/dev/null
gzip -9n "$work"/man/*.1

# --- the Debian package --------------------------------------------------------------------------------------
root="$work/deb"
install -d "$root/DEBIAN" "$root/usr/bin" "$root/usr/share/bbdiy" "$root/usr/share/man/man1" \
  "$root/usr/share/bash-completion/completions" "$root/lib/systemd/system" "$root/etc/bbdiy" \
  "$root/usr/share/doc/bbdiy"
install -m 0644 "$jar" "$root/usr/share/bbdiy/bbdiy.jar"
install -m 0755 "$src/dist/bin/bbdiy" "$root/usr/bin/bbdiy"
install -m 0644 "$work"/man/*.1.gz "$root/usr/share/man/man1/"
install -m 0644 "$work/bbdiy.bash" "$root/usr/share/bash-completion/completions/bbdiy"
install -m 0644 "$src/dist/systemd/bbdiy.service" "$src/dist/systemd/bbdiy.timer" "$root/lib/systemd/system/"
install -m 0600 "$src/dist/etc/bbdiy.properties" "$root/etc/bbdiy/bbdiy.properties"
install -m 0644 "$top/README.md" "$root/usr/share/doc/bbdiy/README.md"
gzip -9n "$root/usr/share/doc/bbdiy/README.md"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$deb_version/" -e "s/@SIZE@/$size/" "$src/deb/control" > "$root/DEBIAN/control"
install -m 0644 "$src/deb/conffiles" "$root/DEBIAN/conffiles"
install -m 0755 "$src/deb/postinst" "$src/deb/prerm" "$src/deb/postrm" "$root/DEBIAN/"
deb="$out/bbdiy_${deb_version}_all.deb"
# gzip -1: the jar is compressed already; xz would take a minute and save little.
dpkg-deb --root-owner-group -Zgzip -z1 --build "$root" "$deb" >/dev/null

# --- the tarball ---------------------------------------------------------------------------------------------
name="bbdiy-$version"
tree="$work/tar/$name"
install -d "$tree/bin" "$tree/share/bbdiy" "$tree/share/man/man1" "$tree/share/bash-completion/completions" \
  "$tree/lib/systemd/system" "$tree/etc/bbdiy" "$tree/share/doc/bbdiy"
install -m 0644 "$jar" "$tree/share/bbdiy/bbdiy.jar"
install -m 0755 "$src/dist/bin/bbdiy" "$tree/bin/bbdiy"
install -m 0644 "$work"/man/*.1.gz "$tree/share/man/man1/"
install -m 0644 "$work/bbdiy.bash" "$tree/share/bash-completion/completions/bbdiy"
install -m 0644 "$src/dist/systemd/bbdiy.service" "$src/dist/systemd/bbdiy.timer" "$tree/lib/systemd/system/"
install -m 0600 "$src/dist/etc/bbdiy.properties" "$tree/etc/bbdiy/bbdiy.properties"
install -m 0644 "$top/README.md" "$tree/share/doc/bbdiy/README.md"
tar -C "$work/tar" --owner=0 --group=0 --numeric-owner --sort=name -cf - "$name" | gzip -1n > "$out/$name.tar.gz"

echo "Built $deb and $out/$name.tar.gz"
