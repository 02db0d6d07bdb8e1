"""The agent tools served over the Model Context Protocol: ``hubbub mcp`` on stdio (with the
Claude Code channel push) and streamable HTTP at the hub's ``/mcp``. Clients of the SDK."""
