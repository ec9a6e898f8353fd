"""The operator's console (``sfgw console``): where is my Opportunity, and fix it.

A separate process on its own listener, never the intake's: the intake faces the
internet, the console must not (docs/console.md). Functional core -- settings and the
bind rule (:mod:`.settings`), authentication and CSRF decisions (:mod:`.security`),
the dead-letter filter (:mod:`.selection`), the HTML (:mod:`.pages`, :mod:`.layout`) --
and a thin Falcon shell (:mod:`.app`) served by gunicorn like the intake.
"""
