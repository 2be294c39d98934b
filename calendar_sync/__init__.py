"""The calendar port and its adapters (local vdir, in-memory; EWS, Graph and CalDAV later)."""
