"""``sfgw bindings test``: the contract test of outbound-message contracts against the real
intake (a layer above ``gateway.intake``, which it exercises in-process)."""
