#!/usr/bin/env bash
# The Debian package, end to end: builds it from a copy of the source tree with dpkg-buildpackage
# (ccache, ninja, parallel=nproc), runs lintian (no errors allowed), checks what it ships, then
# installs it with apt into a clean Debian 12 minbase root made by mmdebstrap from deb.debian.org,
# runs `rtvswitch --version` and `vswitchctl --help` there, checks the group and that the service
# was neither enabled nor started, and removes then purges it: nothing of it may remain.
#   package_test.sh SOURCE_DIR WORK_DIR
set -euo pipefail
SRC=$1
WORK=$2
SUITE=${RTVS_PACKAGE_SUITE:-bookworm}

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $* ($(date +%T))"; }

rm -rf "$WORK"
mkdir -p "$WORK/src"
trap 'rm -rf "$WORK/root"' EXIT

step "copying the source tree"
# Tracked and new (not ignored) files, as a clean clone would have them plus local edits.
git -C "$SRC" ls-files -z --cached --others --exclude-standard |
  (cd "$SRC" && xargs -0 tar --no-recursion -cf - 2>/dev/null) | tar -xf - -C "$WORK/src"

step "dpkg-buildpackage"
version=$(cd "$WORK/src" && dpkg-parsechangelog -S Version)
project_version=$(sed -n 's/^project(rtvswitch VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
[ "$version" = "$project_version" ] ||
  fail "debian/changelog version $version differs from CMakeLists.txt's $project_version"
(cd "$WORK/src" &&
  PATH=/usr/lib/ccache:$PATH CCACHE_BASEDIR="$WORK" \
  DEB_BUILD_OPTIONS="parallel=$(nproc) nocheck" \
  dpkg-buildpackage -b -us -uc > "$WORK/build.log" 2>&1) ||
  { tail -50 "$WORK/build.log"; fail "dpkg-buildpackage failed (log: $WORK/build.log)"; }
arch=$(dpkg --print-architecture)
deb=$WORK/rtvswitch_${version}_${arch}.deb
changes=$WORK/rtvswitch_${version}_${arch}.changes
[ -f "$deb" ] || fail "no $deb"

step "lintian"
lintian --fail-on error --display-info "$changes" | tee "$WORK/lintian.txt" ||
  fail "lintian reports errors"

step "contents"
dpkg-deb -c "$deb" > "$WORK/contents.txt"
for f in ./usr/sbin/rtvswitch ./usr/bin/vswitchctl ./lib/systemd/system/rtvswitch.service \
         ./usr/lib/sysusers.d/rtvswitch.conf ./etc/rtvswitch/rtvswitch.toml \
         ./usr/share/man/man8/rtvswitch.8.gz ./usr/share/man/man8/vswitchctl.8.gz \
         ./usr/share/doc/rtvswitch/README.md ./usr/share/doc/rtvswitch/api.md \
         ./usr/share/rtvswitch/dashboards/rtvswitch.json; do
  grep -q " $f\( \|$\)" "$WORK/contents.txt" || fail "the package lacks $f"
done
dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./conffiles | grep -qx /etc/rtvswitch/rtvswitch.toml ||
  fail "/etc/rtvswitch/rtvswitch.toml is not a conffile"
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for d in librte-eal23 librte-ethdev23 libspdlog1.10 libsystemd0 librte-net-vhost23; do
  grep -q "\b$d\b" <<<"$depends" || fail "Depends lacks $d"
done
postinst=$(dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./postinst)
grep -q "systemd-sysusers" <<<"$postinst" || fail "postinst does not create the group"
# Enabling is checked in the root below (dh keeps an admin's earlier `enable` over upgrades).
! grep -Eq "deb-systemd-invoke .*start" <<<"$postinst" || fail "postinst starts the service"

step "clean $SUITE root (mmdebstrap minbase)"
ROOT=$WORK/root
# Packages this host's apt already downloaded (setup.sh's) are hard-linked into the root's
# cache, so apt fetches only the others from deb.debian.org; the package lists stay for apt.
host_cache() { ln -f /var/cache/apt/archives/*.deb "$1/var/cache/apt/archives/" 2>/dev/null || true; }
mmdebstrap --quiet --variant=minbase --mode=root --skip=cleanup/apt/lists \
  --skip=essential/unlink --setup-hook='mkdir -p "$1/var/cache/apt/archives"' \
  --setup-hook='ln -f /var/cache/apt/archives/*.deb "$1/var/cache/apt/archives/" 2>/dev/null || true' \
  "$SUITE" "$ROOT" http://deb.debian.org/debian > "$WORK/mmdebstrap.log" 2>&1 ||
  { tail -20 "$WORK/mmdebstrap.log"; fail "mmdebstrap failed"; }
host_cache "$ROOT"
cp "$deb" "$ROOT/tmp/rtvswitch.deb"
in_root() { chroot "$ROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }

step "install"
in_root apt-get install -y -q --no-install-recommends /tmp/rtvswitch.deb > "$WORK/install.log" 2>&1 ||
  { tail -30 "$WORK/install.log"; fail "apt-get install failed"; }
in_root dpkg -L rtvswitch | while read -r f; do [ -d "$ROOT$f" ] || echo "$f"; done > "$WORK/files.txt"
in_root rtvswitch --version | tee /dev/stderr | grep -qx "rtvswitch $version" ||
  fail "rtvswitch --version"
in_root vswitchctl --help > "$WORK/vswitchctl-help.txt" || fail "vswitchctl --help"
grep -q "port" "$WORK/vswitchctl-help.txt" || fail "vswitchctl --help: no commands"
in_root getent group rtvswitch || fail "no group rtvswitch"
[ ! -e "$ROOT/etc/systemd/system/multi-user.target.wants/rtvswitch.service" ] ||
  fail "the service was enabled on install"
in_root man -w rtvswitch > /dev/null 2>&1 || [ -f "$ROOT/usr/share/man/man8/rtvswitch.8.gz" ] ||
  fail "no man page"

step "remove, purge"
mkdir -p "$ROOT/var/lib/rtvswitch"
echo '{}' > "$ROOT/var/lib/rtvswitch/ports.json"  # as the daemon would leave it
in_root apt-get remove -y -q rtvswitch > "$WORK/remove.log" 2>&1 || fail "apt-get remove failed"
[ -f "$ROOT/etc/rtvswitch/rtvswitch.toml" ] || fail "remove deleted the conffile"
[ ! -e "$ROOT/usr/sbin/rtvswitch" ] || fail "remove left the binary"
in_root dpkg --purge rtvswitch > "$WORK/purge.log" 2>&1 || fail "dpkg --purge failed"
left=$(while read -r f; do [ -e "$ROOT$f" ] && echo "$f"; done < "$WORK/files.txt" || true)
[ -z "$left" ] || fail "purge left: $left"
[ ! -e "$ROOT/etc/rtvswitch" ] || fail "purge left /etc/rtvswitch"
[ ! -e "$ROOT/var/lib/rtvswitch" ] || fail "purge left /var/lib/rtvswitch"
in_root dpkg -s rtvswitch > /dev/null 2>&1 && fail "dpkg still knows rtvswitch"
step "PASS"
