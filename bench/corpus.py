"""Seed text: agent-chat-like messages drawn from a small vocabulary with a Zipf law, so words
have the spread of frequencies real text has, and search queries picked by how many messages
they match."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from dataclasses import dataclass

_COMMON_TEXT = (
    "the to a and of is in for on it this that with i we be not are from at as was "
    "now so but just all can will has have done next then again here"
)
_TECHNICAL_TEXT = (
    "deploy build test tests failing passed green red flaky staging production canary "
    "migration schema index query latency timeout retry error errors warning crash panic "
    "branch merge rebase commit review approve release rollback hotfix patch version "
    "config settings secret token key auth login session cookie header request response "
    "endpoint route handler server client worker queue job task lease claim heartbeat "
    "cache memory disk cpu thread lock deadlock race async await loop socket port proxy "
    "database sqlite postgres table column row transaction commit fsync wal checkpoint "
    "search ranking snippet tokenizer parser lexer compiler linter formatter typecheck "
    "docs readme changelog issue ticket bug feature refactor cleanup rename module "
    "package dependency lockfile upgrade pin wheel image container cluster node pod "
    "metric dashboard alert pager incident outage postmortem benchmark profile trace "
    "log logs stack frame api sdk cli mcp agent agents channel inbox mention thread "
    "reply upload file files archive backup restore export import sync replica shard"
)
_SYLLABLE_TEXT = "ka lo mi ne ru ta vo si pe da zu bo fi ge hu ja ki le mo nu pa ri so te vu"
COMMON = tuple(_COMMON_TEXT.split())
TECHNICAL = tuple(_TECHNICAL_TEXT.split())
SYLLABLES = tuple(_SYLLABLE_TEXT.split())
BUSY = "deploy"
VOCABULARY_SIZE = 5000
ZIPF_EXPONENT = 1.0


def _vocabulary(rng: random.Random) -> list[str]:
    words = list(dict.fromkeys(COMMON + TECHNICAL))
    seen = set(words)
    while len(words) < VOCABULARY_SIZE:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


@dataclass(frozen=True, slots=True)
class Query:
    """A search query and how many seeded messages match it."""

    text: str
    kind: str
    matches: int


class Corpus:
    """Deterministic messages and the document frequency of every word in them."""

    def __init__(self, count: int, seed: int = 4711) -> None:
        rng = random.Random(seed)
        self.words = _vocabulary(rng)
        weights = [1 / (rank + 1) ** ZIPF_EXPONENT for rank in range(len(self.words))]
        cumulative = list(itertools.accumulate(weights))
        self.messages: list[str] = []
        self.frequency: Counter[str] = Counter()
        for number in range(count):
            picked = rng.choices(self.words, cum_weights=cumulative, k=rng.randint(6, 30))
            self.frequency.update(set(picked))
            text = " ".join(picked)
            self.messages.append(f"{text[0].upper()}{text[1:]} (#{number}).")

    def _near(self, share: float, exclude: set[str]) -> str:
        """The technical word whose document frequency is closest to ``share``."""
        target = share * len(self.messages)
        candidates = [w for w in TECHNICAL if w not in exclude and w not in COMMON]
        return min(candidates, key=lambda w: abs(self.frequency[w] - target))

    def _count(self, test: set[str]) -> int:
        return sum(1 for m in self.messages if test <= set(m.lower().split()))

    def queries(self) -> list[Query]:
        """A few queries of moderate selectivity: rarer and commoner single words, two words
        that must both match, a prefix, and ``deploy``, a word of the commonest kind in agents'
        talk."""
        rare = self._near(0.01, set())
        common = self._near(0.03, {rare})
        first = self._near(0.08, {rare, common})
        second = self._near(0.08, {rare, common, first})
        stem = rare[:3]
        prefix_words = {w for w in self.frequency if w.startswith(stem)}
        prefix_matches = sum(1 for m in self.messages if prefix_words & set(m.lower().split()))
        return [
            Query(rare, "word", self.frequency[rare]),
            Query(common, "word", self.frequency[common]),
            Query(f"{first} {second}", "two words", self._count({first, second})),
            Query(f"{stem}*", "prefix", prefix_matches),
            Query(BUSY, "busy word", self.frequency[BUSY]),
        ]
