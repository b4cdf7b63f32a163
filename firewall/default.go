package firewall

// Default returns the Host for this machine's network namespace: native
// nftables over netlink, iptables-nft and iptables-legacy.
func Default() *Host {
	return NewHost(NewNFTables(-1), NewIptablesNFT(), NewIptablesLegacy())
}
