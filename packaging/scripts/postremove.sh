#!/bin/sh
# tsdoctor postrm (deb: "remove"/"purge"/...; rpm %postun: 0 = erase).
# Removal keeps /var/lib/tsdoctor, the journal of the remedies applied, so a
# reinstalled tsdoctor can still undo them; purge deletes it (dpkg deletes
# /etc/default/tsdoctor itself). The remedies' own files stay as they are:
# run `tsdoctor undo --all` before purging to revert them.
set -e
case "$1" in
purge)
	rm -rf /var/lib/tsdoctor
	;;
esac
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
	systemctl daemon-reload >/dev/null 2>&1 || true
fi
exit 0
