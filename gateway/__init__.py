"""sfgw: the contract-first gateway between Salesforce Outbound Messages and the ERP."""

__version__ = "0.1.0"
