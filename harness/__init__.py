"""The real-Kubo-network harness that tests/ and bench/ share: Kubo daemons on loopback in
a private swarm (kubonet), an IPFS Cluster beside them (clusternet), and loopback HTTP and
DNS-over-HTTP servers."""
