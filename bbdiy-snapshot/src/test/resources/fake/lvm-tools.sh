#!/bin/bash
# Fake LVM and mount tools for bbdiy's lvm tests: stateful (volumes, free space, mounts), strict about arguments,
# failing on demand (touch $S/fail-<tool>). Installed by FakeTools with S (state) and M (the mounted origin file
# system) set at the top. Never touches a real device.
set -u
tool=$(basename "$0")
echo "$tool $*" >> "$S/log"
if [ -e "$S/fail-$tool" ]; then echo "$tool: simulated failure" >&2; exit 5; fi
bad() { echo "$tool: unexpected arguments: $*" >&2; exit 3; }
DEV=/dev/mapper/vg0-home
case "$tool" in
  findmnt)
    if [ "$#" -eq 5 ] && [ "$1 $2 $3 $4" = "-n -o SOURCE,TARGET,FSTYPE -T" ]; then
      case "$5" in "$M"|"$M"/*) echo "$DEV $M $(cat "$S/fstype")"; exit 0 ;; *) echo "not found" >&2; exit 1 ;; esac
    elif [ "$#" -eq 5 ] && [ "$1 $2 $3 $4" = "-n -o TARGET --mountpoint" ]; then
      grep -qxF "$5" "$S/mounted" 2>/dev/null && { echo "$5"; exit 0; }; exit 1
    fi
    bad "$@" ;;
  lvs)
    if [ "$#" -eq 6 ] && [ "$1 $2 $3 $4 $5" = "--noheadings --separator | -o vg_name,lv_name,lv_attr" ]; then
      [ "$6" = "$DEV" ] && { echo "  vg0|home|-wi-ao----"; exit 0; }
      echo "  Failed to find logical volume $6" >&2; exit 5
    elif [ "$#" -eq 4 ] && [ "$1 $2 $3" = "--noheadings -o lv_attr" ]; then
      f="$S/lv/$4"; [ -f "$f" ] && { echo "  $(head -n 1 "$f")"; exit 0; }
      echo "  Failed to find logical volume \"$4\"" >&2; exit 5
    fi
    bad "$@" ;;
  vgs)
    [ "$*" = "--noheadings --units b --nosuffix -o vg_free vg0" ] || bad "$@"
    echo "  $(cat "$S/free")" ;;
  lvcreate)
    [ "$#" -eq 6 ] && [ "$1" = --snapshot ] && [ "$2" = --size ] && [ "$4" = --name ] && [ "$6" = vg0/home ] \
      || bad "$@"
    size=${3%b}; [[ "$size" =~ ^[0-9]+$ ]] || bad "$@"
    free=$(cat "$S/free")
    [ "$size" -le "$free" ] || { echo "  Volume group \"vg0\" has insufficient free space" >&2; exit 5; }
    [ -e "$S/lv/vg0/$5" ] && { echo "  Logical volume \"$5\" already exists" >&2; exit 5; }
    mkdir -p "$S/lv/vg0" "$S/data/$5"
    printf 'swi-a-s---\n%s\n' "$size" > "$S/lv/vg0/$5"
    echo $((free - size)) > "$S/free"
    cp -a "$M/." "$S/data/$5/" ;;
  mount)
    [ "$#" -eq 4 ] && [ "$1" = -o ] || bad "$@"
    [ "$2" = "$(cat "$S/expect-mount-options")" ] || bad "$@"
    name=${3#/dev/vg0/}; [ -f "$S/lv/vg0/$name" ] || { echo "mount: $3: special device does not exist" >&2; exit 32; }
    [ -d "$4" ] || { echo "mount: $4: mount point does not exist" >&2; exit 32; }
    cp -a "$S/data/$name/." "$4/"
    echo "$4" >> "$S/mounted" ;;
  umount)
    [ "$#" -eq 1 ] || bad "$@"
    grep -qxF "$1" "$S/mounted" 2>/dev/null || { echo "umount: $1: not mounted" >&2; exit 32; }
    find "$1" -mindepth 1 -delete
    grep -vxF "$1" "$S/mounted" > "$S/mounted.new"; mv "$S/mounted.new" "$S/mounted" ;;
  lvremove)
    [ "$#" -eq 2 ] && [ "$1" = -f ] || bad "$@"
    f="$S/lv/$2"; [ -f "$f" ] || { echo "  Failed to find logical volume \"$2\"" >&2; exit 5; }
    for m in $(cat "$S/mounted" 2>/dev/null); do
      case "$m" in */"${2#vg0/}") echo "  Logical volume $2 contains a filesystem in use." >&2; exit 5 ;; esac
    done
    size=$(sed -n 2p "$f"); rm -f "$f"; rm -rf "$S/data/${2#vg0/}"
    echo $(( $(cat "$S/free") + size )) > "$S/free" ;;
  *) bad "$@" ;;
esac
