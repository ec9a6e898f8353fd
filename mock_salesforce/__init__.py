"""A stand-in Salesforce org: sends outbound messages and serves the callback APIs."""
