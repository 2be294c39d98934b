"""The mail port and its adapters (local Maildir, in-memory; EWS, Graph and IMAP/SMTP later),
MIME composition, template rendering and the classification of inbound mail into signals."""
