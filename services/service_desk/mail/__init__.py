"""E-mail as a channel: inbound RFC 5322 messages threaded into tickets, attachments, and agent replies sent over SMTP."""
