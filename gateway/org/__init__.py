"""The org side as code: the SFDX bundle in ``salesforce/``, read strictly and typed.

Salesforce's own CLI cannot check a bundle without an org (``sf project convert source``
accepts invented elements, ``sf project deploy validate`` needs ``--target-org``), so the
checks live here: every metadata file is validated against a Metadata API schema subset
(``contracts/salesforce/metadata``) and bound to the classes generated from it; the bundle's
outbound messages are compared with the contracts the gateway serves; and
``sfgw org bundle`` writes a deployable copy for one gateway URL.
"""
