"""gRPC: tokens, the call interceptor, server bootstrap and client helpers."""
