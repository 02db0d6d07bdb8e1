"""``hubbub hook EVENT``: a harness's hook relayed to the hub, on the standard library alone.

A command hook runs on every prompt, so this package imports nothing the command line
framework, the SDK or the server need: ``contract`` names the events and limits, ``relay``
speaks HTTP to the hub, ``command`` is the command itself.
"""
