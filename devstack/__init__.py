"""The local stack, the demo and the embedded Redis server: sfgw's development harness.

Depends on the product (``gateway``) and the mocks; nothing in either imports it.
"""
