#!/bin/sh
# tsdoctor prerm (deb: "remove"/"upgrade"; rpm %preun: 0 = erase,
# 1 = upgrade). On removal the guard is stopped and disabled: its binary and
# unit are about to go, and an enabled unit would be left as a dangling link.
set -e
case "$1" in
remove | 0)
	if command -v systemctl >/dev/null 2>&1; then
		if [ -d /run/systemd/system ]; then
			systemctl disable --now tsdoctor-guard.service >/dev/null 2>&1 || true
		else
			systemctl disable tsdoctor-guard.service >/dev/null 2>&1 || true
		fi
	fi
	;;
esac
exit 0
