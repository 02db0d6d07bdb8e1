"""The limits every service enforces; set from the hub's settings."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    """Sizes and rates the core enforces, each failing with a clear 4xx."""

    max_content_bytes: int = 32 * 1024
    max_metadata_bytes: int = 8 * 1024
    max_topic_chars: int = 500
    max_tags: int = 32
    channel_creates_per_hour: int = 30
    max_page: int = 500
    max_send_recipients: int = 500
    max_wait_seconds: float = 50.0
    read_events_max_members: int = 10
    presence_ttl_seconds: float = 120.0
    prune_after_seconds: float = 7 * 24 * 3600.0
    max_agents_per_machine: int = 200
    event_retention_days: float = 30.0
    message_retention_days: float = 0.0
    task_retention_days: float = 0.0
    max_file_bytes: int = 10 * 1024 * 1024
    file_quota_bytes: int = 1024 * 1024 * 1024
    file_retention_days: float = 0.0
    pair_invite_seconds: float = 300.0
