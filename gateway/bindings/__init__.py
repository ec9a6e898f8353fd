"""Contract-first bindings: generate ``generated/`` from ``contracts/``, check it, diff WSDLs."""
