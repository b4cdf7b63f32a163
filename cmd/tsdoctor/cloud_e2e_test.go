package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/tsdoctor/tsdoctor/checks"
	"github.com/tsdoctor/tsdoctor/lab"
	"github.com/tsdoctor/tsdoctor/wire"
)

// alibabaWords are what wording must not say on a host that is not on
// Alibaba Cloud.
// (223.5.5.5:53 stays among the check's default --internet targets, which
// only prove the uplink.)
var alibabaWords = []string{"Alibaba", "阿里", "aliyun", "ECS", "100.100.2.136", "100.100.100.200"}

// TestLabHuaweiCloud: on the lab's Huawei Cloud shape (DMI sys_vendor
// "HUAWEI CLOUD", DNS 100.125.1.250/.129.250) with tailscaled's real rules
// on the real firewall, the check names the cloud, blocks exactly its two
// resolvers and says nothing of Alibaba; remedy 4 offers no resolver
// (Huawei's documentation names none of its own) and works with --dns.
func TestLabHuaweiCloud(t *testing.T) {
	l := startLabHost(t, "new-order", lab.HostHuawei)
	for _, lang := range []string{"en", "zh"} {
		rep, code, raw := check(t, l, "--lang", lang)
		if code != 1 || rep.Verdict != checks.Blocked || rep.Culprit == nil || rep.Culprit.Kind != "rule" {
			t.Fatalf("%s: exit %d, verdict %s, culprit %+v:\n%s", lang, code, rep.Verdict, rep.Culprit, raw)
		}
		if rep.Host.Cloud != "huawei" || rep.Host.DetectedBy != "dmi:sys_vendor" {
			t.Errorf("%s: host %+v, want huawei by dmi:sys_vendor", lang, rep.Host)
		}
		var blocked []string
		for _, b := range rep.Blocked {
			blocked = append(blocked, b.Address.String()+":"+string(b.Service))
		}
		slices.Sort(blocked)
		if want := []string{lab.HuaweiDNS1 + ":dns", lab.HuaweiDNS2 + ":dns"}; !slices.Equal(blocked, want) {
			t.Errorf("%s: blocked %v, want %v", lang, blocked, want)
		}
		name := map[string]string{"en": "Huawei Cloud", "zh": "华为云"}[lang]
		if !servicesSay(rep, name) {
			t.Errorf("%s: the services step does not name %s:\n%s", lang, name, raw)
		}
		for _, w := range alibabaWords {
			if strings.Contains(raw, w) {
				t.Errorf("%s: the check on Huawei Cloud says %q:\n%s", lang, w, raw)
			}
		}
	}
	noResolverOffered(t, l)

	// Applied with --dns (the lab's public resolver), DNS answers; a second
	// run without --dns finds it done, although the resolvers that told
	// the cloud are gone; undo puts them back.
	if fj, code, out := runFix(t, l, "--remedy", "4", "--dns", lab.PublicDNS1); code != 0 || !fj.Changed {
		t.Fatalf("remedy 4 --dns %s: exit %d:\n%s", lab.PublicDNS1, code, out)
	}
	if fj, code, out := runFix(t, l, "--remedy", "4"); code != 0 || fj.Changed {
		t.Errorf("remedy 4 again, without --dns: exit %d, changed %v, want 0 and nothing:\n%s", code, fj.Changed, out)
	}
	if uj := runUndo(t, l); len(uj.Undone) == 0 {
		t.Errorf("undo: %+v", uj)
	}
	if rep, _, raw := check(t, l); !slices.ContainsFunc(rep.Blocked, func(b checks.BlockedService) bool { return b.Address.String() == lab.HuaweiDNS1 }) {
		t.Errorf("after undo the Huawei DNS is not back (and blocked):\n%s", raw)
	}
}

// TestLabCGNATISP: a machine behind an ISP's carrier-grade NAT (its
// resolver 100.64.0.1, no cloud in DMI): still blocked by tailscaled's
// rule, host.cloud unknown, a generic line about the resolver, and no word
// of Alibaba or ECS anywhere in the check or remedy 4's plan.
func TestLabCGNATISP(t *testing.T) {
	l := startLabHost(t, "new-order", lab.HostISP)
	for _, lang := range []string{"en", "zh"} {
		rep, code, raw := check(t, l, "--lang", lang)
		if code != 1 || rep.Verdict != checks.Blocked || len(rep.Blocked) != 1 || rep.Blocked[0].Address.String() != lab.ISPDNS {
			t.Fatalf("%s: exit %d, verdict %s, blocked %+v:\n%s", lang, code, rep.Verdict, rep.Blocked, raw)
		}
		if rep.Host.Cloud != "unknown" || rep.Host.DetectedBy != "" {
			t.Errorf("%s: host %+v, want unknown", lang, rep.Host)
		}
		if !servicesSay(rep, lab.ISPDNS) {
			t.Errorf("%s: the services step does not name the resolver in 100.64.0.0/10:\n%s", lang, raw)
		}
		for _, w := range alibabaWords {
			if strings.Contains(raw, w) {
				t.Errorf("%s: the check on a CGNAT ISP says %q:\n%s", lang, w, raw)
			}
		}
	}
	noResolverOffered(t, l)
}

func servicesSay(rep wire.Check, s string) bool {
	for _, st := range rep.Steps {
		if st.ID == "services" && slices.ContainsFunc(st.Evidence, func(e string) bool { return strings.Contains(e, s) }) {
			return true
		}
	}
	return false
}

// noResolverOffered: remedy 4 refuses without --dns, saying to give it, and
// plans with --dns; neither says Alibaba.
func noResolverOffered(t *testing.T, l *lab.Lab) {
	t.Helper()
	fj, code, out := runFix(t, l, "--remedy", "4", "--dry-run")
	if code == 0 || !strings.Contains(out, "--dns") {
		t.Errorf("remedy 4 without --dns: exit %d, want a refusal naming --dns:\n%s", code, out)
	}
	fj, code, out = runFix(t, l, "--remedy", "4", "--dry-run", "--dns", "9.9.9.9")
	if code != 0 || fj.Plan == nil || !fj.DryRun {
		t.Fatalf("remedy 4 --dns 9.9.9.9 --dry-run: exit %d:\n%s", code, out)
	}
	notes, _ := json.Marshal(fj.Plan.Notes)
	if !strings.Contains(string(notes), "private resolvers in 100.64.0.0/10") {
		t.Errorf("plan notes lack the generic internal-names note: %s", notes)
	}
	for _, w := range alibabaWords {
		if strings.Contains(out, w) {
			t.Errorf("remedy 4's plan says %q:\n%s", w, out)
		}
	}
}
