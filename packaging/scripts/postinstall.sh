#!/bin/sh
# tsdoctor postinst (deb: configure; rpm: %post). systemd learns of the
# guard's unit; a guard the user enabled and runs is restarted on an upgrade
# so the new binary runs. The unit is never enabled here.
set -e
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
	systemctl daemon-reload >/dev/null 2>&1 || true
	if systemctl is-active --quiet tsdoctor-guard.service; then
		systemctl restart tsdoctor-guard.service || true
	fi
fi
exit 0
