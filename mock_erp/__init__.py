"""A stand-in for the ERP order service: contracts/erp on Falcon, SQLite, fault injection."""
