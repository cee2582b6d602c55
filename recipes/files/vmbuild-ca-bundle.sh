#!/bin/sh
# vmbuild: bring /etc/ssl/certs up to date after a local CA file in
# /usr/local/share/ca-certificates was added or removed, with the result
# update-ca-certificates gives: a link per local file, the hash links, and the
# bundle (the certificates ca-certificates.conf lists, then the local ones).
# update-ca-certificates starts several processes per certificate, which is a
# minute under emulation, twice per build; this takes a few processes. With a
# hook installed (ca-certificates-java, ...) the real tool runs instead, since
# hooks want its lists of what was added and removed.
set -eu
umask 022
certs=/etc/ssl/certs
hooks=/etc/ca-certificates/update.d
if [ -d "$hooks" ] && [ -n "$(run-parts --test "$hooks")" ]; then
    exec update-ca-certificates --fresh
fi
find -L /usr/local/share/ca-certificates -type f -name '*.crt' | while read -r crt; do
    name=${crt##*/}
    ln -sfn "$crt" "$certs/${name%.crt}.pem"
done
# links to local files that are gone, and hash links to those
find "$certs" -xtype l -delete
openssl rehash "$certs" >/dev/null
cd /usr/share/ca-certificates
{
    sed -e '/^$/d' -e '/^#/d' -e '/^!/d' /etc/ca-certificates.conf
    find -L /usr/local/share/ca-certificates -type f -name '*.crt' | sort
} | while read -r crt; do
    if [ -f "$crt" ]; then printf '%s\n' "$crt"; fi
done | xargs -r -d '\n' sed -s -e '$a\' >"$certs/ca-certificates.crt.new"
chmod 0644 "$certs/ca-certificates.crt.new"
mv -f "$certs/ca-certificates.crt.new" "$certs/ca-certificates.crt"
