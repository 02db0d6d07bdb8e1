"""The A2A (Agent2Agent) gateway: Agent Cards for hub agents and the protocol's JSON-RPC and
HTTP+JSON endpoints over the hub's own messages and tasks. Needs the ``hubbub[a2a]`` extra
(the ``a2a-sdk`` package); nothing else in the hub imports it."""
