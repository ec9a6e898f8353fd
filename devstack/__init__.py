"""The local stack, the demo and the embedded Redis server: sfgw's development harness.

Depends on the product (``gateway``) and the mocks; nothing in either imports it. The
stack is :class:`devstack.stack.Stack`, configured by :mod:`devstack.config`, started and
wired by :mod:`devstack.wiring`, observed through :mod:`devstack.observe`; every process
environment comes from :mod:`devstack.envs`. ``sfgw demo`` is :mod:`devstack.demo`.
"""
