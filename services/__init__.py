"""The four Switchboard services. None imports another: they meet through events and gRPC."""
