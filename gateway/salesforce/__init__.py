"""Clients for calling Salesforce back: OAuth tokens, record updates and reads."""
