"""The always-on runner (``hubbub agent run``): wakes a harness's headless mode for each DM,
mention and task offer in an agent's inbox, posts the answer back, and never answers twice.

``options`` (what it is told), ``harnesses`` (each harness's argument list and answer),
``runs`` (one harness process), ``prompt`` (what the harness is given), ``work`` (what an
inbox item asks), ``approvals`` (guarded mode), ``limits`` (who, how often, the hop limit),
``status`` (busy and idle on the hub), ``lock`` (one runner per agent on a machine) and
``runner`` (the loop over the SDK client)."""
