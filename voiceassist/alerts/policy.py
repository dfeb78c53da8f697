"""Alert policy as an explicit state machine, and crisis-phrase detection (pure, no I/O).

Volatility alerts (per metric, default ``rmssd_valence``):

    NORMAL --value >= enter--> PENDING --held for debounce_n utterances or debounce_s seconds--> ACTIVE
    PENDING --value < exit--> NORMAL           ACTIVE --value < exit--> NORMAL (episode over)

- hysteresis: entering needs ``enter``, staying needs only ``exit`` (< enter), so a score hovering at the
  threshold does not flap;
- debounce: one wild utterance is not an alert;
- cooldown: after an alert, a new episode within ``cooldown_s`` is recorded but not sent;
- severity: ``warning`` when the value reached ``warning``, else ``info``; an ACTIVE info episode that
  climbs to ``warning`` escalates once.

Crisis phrases raise an ``urgent`` alert at once, whatever the volatility (a per-category cooldown keeps
a repeated phrase from sending a flood; repeats are still recorded).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from voiceassist.config import AlertsConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class Severity(str, Enum):
    INFO = "info"
    WARNING = "warning"
    URGENT = "urgent"


class PolicyState(Enum):
    NORMAL = "normal"
    PENDING = "pending"
    ACTIVE = "active"


@dataclass(frozen=True)
class AlertDecision:
    kind: str
    """"volatility" or "crisis:<category>"."""
    severity: Severity
    rule: str
    """The rule that fired, in words, with its numbers."""
    segment_ids: tuple[int, ...]
    values: tuple[float, ...] = ()
    phrases: tuple[str, ...] = ()
    suppressed: bool = False
    """Within a cooldown: stored as evidence, not delivered."""


_DEFAULTS = AlertsConfig()  # the defaults (and their documentation) live in the config section


@dataclass
class VolatilityPolicy:
    metric: str = _DEFAULTS.metric
    enter: float = _DEFAULTS.enter
    exit: float = _DEFAULTS.exit
    warning: float = _DEFAULTS.warning
    debounce_n: int = _DEFAULTS.debounce_n
    debounce_s: float = _DEFAULTS.debounce_s
    cooldown_s: float = _DEFAULTS.cooldown_s
    state: PolicyState = PolicyState.NORMAL
    _since: float = 0.0
    _evidence: list[tuple[int, float]] = field(default_factory=list)
    _last_fired: float | None = None
    _episode_severity: Severity | None = None

    @classmethod
    def from_config(cls, cfg: AlertsConfig) -> VolatilityPolicy:
        return cls(
            metric=cfg.metric,
            enter=cfg.enter,
            exit=cfg.exit,
            warning=cfg.warning,
            debounce_n=cfg.debounce_n,
            debounce_s=cfg.debounce_s,
            cooldown_s=cfg.cooldown_s,
        )

    def __post_init__(self) -> None:
        if not self.exit < self.enter <= self.warning:
            raise ValueError("volatility thresholds must satisfy exit < enter <= warning")

    def observe(self, t: float, segment_id: int, value: float | None) -> list[AlertDecision]:
        if value is None:
            return []
        if self.state is PolicyState.NORMAL:
            if value >= self.enter:
                self.state, self._since, self._evidence = PolicyState.PENDING, t, [(segment_id, value)]
                return self._maybe_fire(t)
            return []
        if value < self.exit:
            self.state, self._evidence, self._episode_severity = PolicyState.NORMAL, [], None
            return []
        self._evidence.append((segment_id, value))
        if self.state is PolicyState.PENDING:
            return self._maybe_fire(t)
        # ACTIVE: escalate once if it climbs to the warning level
        if self._episode_severity is Severity.INFO and value >= self.warning:
            self._episode_severity = Severity.WARNING
            return [
                self._decision(
                    Severity.WARNING, f"escalated: {self.metric} {value:.2f} >= {self.warning}", suppressed=False
                )
            ]
        return []

    def _maybe_fire(self, t: float) -> list[AlertDecision]:
        held_n = len(self._evidence)
        held_s = t - self._since
        if held_n < self.debounce_n and not (self.debounce_s > 0 and held_s >= self.debounce_s and held_n >= 2):
            return []
        self.state = PolicyState.ACTIVE
        peak = max(v for _, v in self._evidence)
        severity = Severity.WARNING if peak >= self.warning else Severity.INFO
        self._episode_severity = severity
        in_cooldown = self._last_fired is not None and t - self._last_fired < self.cooldown_s
        if not in_cooldown:
            self._last_fired = t
        rule = f"{self.metric} >= {self.enter} for {held_n} utterances ({held_s:.0f} s); peak {peak:.2f}" + (
            f" >= warning level {self.warning}" if severity is Severity.WARNING else ""
        )
        return [self._decision(severity, rule, suppressed=in_cooldown)]

    def _decision(self, severity: Severity, rule: str, suppressed: bool) -> AlertDecision:
        return AlertDecision(
            kind="volatility",
            severity=severity,
            rule=rule,
            segment_ids=tuple(s for s, _ in self._evidence),
            values=tuple(round(v, 4) for _, v in self._evidence),
            suppressed=suppressed,
        )


@dataclass(frozen=True)
class CrisisMatch:
    category: str
    phrase: str


class CrisisDetector:
    """Crisis phrases from a TOML file (categories with ``en``, ``zh`` and ``except`` lists)."""

    def __init__(self, table: dict[str, Any]) -> None:
        self._rules: list[tuple[str, str, re.Pattern[str]]] = []
        self._except: list[re.Pattern[str]] = []
        for category, entry in table.items():
            if not isinstance(entry, dict):
                raise ValueError(f"crisis phrases: [{category}] must be a table")
            for phrase in entry.get("en", []):
                words = [re.escape(w) if w != "*" else r"\w+" for w in phrase.lower().split()]
                self._rules.append((category, phrase, re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)")))
            for phrase in entry.get("zh", []):
                self._rules.append((category, phrase, re.compile(re.escape(phrase))))
            for phrase in entry.get("except", []):
                self._except.append(re.compile(re.escape(phrase.lower())))

    @classmethod
    def from_config(cls, crisis_phrases: str) -> CrisisDetector:
        """The phrases in ``alerts.crisis_phrases``, or the ones shipped in voiceassist/resources."""
        from voiceassist.paths import resources_dir

        return cls.from_file(Path(crisis_phrases) if crisis_phrases else resources_dir() / "crisis_phrases.toml")

    @classmethod
    def from_file(cls, path: Path) -> CrisisDetector:
        try:
            return cls(tomllib.loads(path.read_text(encoding="utf-8")))
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise ValueError(f"cannot read crisis phrases {path}: {e}") from e

    def detect(self, text: str) -> list[CrisisMatch]:
        norm = re.sub(r"\s+", " ", text.lower().replace("’", "'"))
        excluded = [m.span() for pat in self._except for m in pat.finditer(norm)]
        found: dict[str, CrisisMatch] = {}
        for category, phrase, pat in self._rules:
            for m in pat.finditer(norm):
                if any(a <= m.start() and m.end() <= b for a, b in excluded):
                    continue
                found.setdefault(category, CrisisMatch(category, phrase))
        return list(found.values())


@dataclass
class CrisisPolicy:
    cooldown_s: float = 300.0
    _last: dict[str, float] = field(default_factory=dict)

    def observe(self, t: float, segment_id: int, matches: list[CrisisMatch]) -> list[AlertDecision]:
        out = []
        for m in matches:
            last = self._last.get(m.category)
            suppressed = last is not None and t - last < self.cooldown_s
            if not suppressed:
                self._last[m.category] = t
            out.append(
                AlertDecision(
                    kind=f"crisis:{m.category}",
                    severity=Severity.URGENT,
                    rule=f'crisis phrase ({m.category.replace("_", " ")}): "{m.phrase}"',
                    segment_ids=(segment_id,),
                    phrases=(m.phrase,),
                    suppressed=suppressed,
                )
            )
        return out
