"""Sign-up rate limits (issue 14): per client address an hour, per referral code a day and
per card template a day, each at the merchant's own setting (``Merchant.signup_*``).

Counted with the app's limiter (``services.rate_limit``): in this process without
``REDIS_URL``, in Redis (shared by every worker) when it is set; should Redis fail, the
process counts alone rather than refuse or admit everyone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis

from perkstar_ui.config import settings
from perkstar_ui.domain.signup import LIMIT_WINDOWS, LimitScope
from perkstar_ui.services.rate_limit import RedisWindow, SlidingWindow

log = logging.getLogger(__name__)

_local = {scope: SlidingWindow(0, seconds) for scope, seconds in LIMIT_WINDOWS.items()}
_shared: dict[tuple[str, LimitScope], RedisWindow] = {}


@dataclass(frozen=True)
class Limits:
    per_ip_hour: int
    per_code_day: int
    per_template_day: int

    def of(self, scope: LimitScope) -> int:
        return {LimitScope.IP: self.per_ip_hour, LimitScope.CODE: self.per_code_day,
                LimitScope.TEMPLATE: self.per_template_day}[scope]


def _window(scope: LimitScope) -> RedisWindow | None:
    url = settings().redis_url
    if not url:
        return None
    window = _shared.get((url, scope))
    if window is None:
        client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        window = _shared[(url, scope)] = RedisWindow(client, f"signup-{scope.value}", 0, LIMIT_WINDOWS[scope])
    return window


def hit(scope: LimitScope, key: str, limit: int) -> bool:
    """Count one sign-up for ``key`` in ``scope``; False when it is over ``limit``."""
    shared = _window(scope)
    if shared is not None:
        try:
            return shared.hit(key, limit)
        except redis.RedisError as error:
            log.warning("sign-up limit %s: Redis unavailable (%s); counting in this process", scope.value, error)
    return _local[scope].hit(key, limit)


def admit(merchant_id: int, limits: Limits, *, client: str, template_id: int, referral_code: str = "") -> bool:
    """Count one sign-up against every limit that applies; False as soon as one is full
    (the later ones are then not counted)."""
    checks = [(LimitScope.IP, f"{merchant_id}:{client or 'unknown'}"), (LimitScope.TEMPLATE, f"{merchant_id}:{template_id}")]
    if referral_code:
        checks.append((LimitScope.CODE, f"{merchant_id}:{referral_code}"))
    return all(hit(scope, key, limits.of(scope)) for scope, key in checks)


def reset_local() -> None:
    """Forget this process's counts (tests)."""
    for scope, seconds in LIMIT_WINDOWS.items():
        _local[scope] = SlidingWindow(0, seconds)
