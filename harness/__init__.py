"""The real-Kubo-network harness that tests/ and bench/ share: Kubo daemons on loopback in
a private swarm (kubonet), and loopback HTTP and DNS-over-HTTP servers."""
