"""The caregiver PIN: hashed with Argon2id (argon2-cffi), checked in constant time, at least 6 digits.

The cost (256 MiB, 3 passes) makes one guess take about 0.6 s on one core of a 2-core laptop, so trying
every 6-digit PIN offline takes days there (docs/benchmarks.md measures it). Hashes written by older
versions (PBKDF2-SHA256) are still checked, so a caregiver is not locked out; the next ``set-pin`` replaces
them. The lockout after wrong PINs lives with the caregiver record (``alerts/lock.py``).
"""

from __future__ import annotations

import hashlib
import hmac

MIN_DIGITS = 6
TIME_COST = 3
MEMORY_COST_KIB = 256 * 1024
PARALLELISM = 1


class PinError(ValueError):
    """A PIN that is not allowed (too short, not digits); the message says what is."""


def validate_new_pin(pin: str) -> str:
    pin = pin.strip()
    if not pin.isdigit() or not pin.isascii():
        raise PinError("the PIN must be digits only")
    if len(pin) < MIN_DIGITS:
        raise PinError(f"the PIN must be at least {MIN_DIGITS} digits")
    return pin


def hash_pin(pin: str, *, time_cost: int = TIME_COST, memory_cost: int = MEMORY_COST_KIB) -> str:
    """``$argon2id$v=19$m=...,t=...,p=1$SALT$HASH`` (salted; never the PIN). Lower costs: tests only."""
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=PARALLELISM).hash(pin)


def check_pin(pin: str, stored: str) -> bool:
    if stored.startswith("$argon2"):
        from argon2 import PasswordHasher
        from argon2.exceptions import InvalidHashError, VerificationError

        try:
            return bool(PasswordHasher().verify(stored, pin))
        except (VerificationError, InvalidHashError):
            return False
    return _check_pbkdf2(pin, stored)


def is_weak(stored: str) -> bool:
    """An old PBKDF2 hash (any 4-digit PIN fell to an offline search in minutes): set a new PIN."""
    return not stored.startswith("$argon2id$")


def _check_pbkdf2(pin: str, stored: str) -> bool:
    try:
        algo, rounds, salt, digest = stored.split("$")
        if algo != "pbkdf2_sha256":
            return False
        got = hashlib.pbkdf2_hmac("sha256", pin.encode(), bytes.fromhex(salt), int(rounds))
    except ValueError:
        return False
    return hmac.compare_digest(got.hex(), digest)


def lockout_s(failures: int) -> float:
    """How long to wait after ``failures`` wrong PINs in a row: three free tries (typing slips), then 30 s,
    doubling up to an hour."""
    if failures < 3:
        return 0.0
    return float(min(3600, 30 * 2 ** (failures - 3)))
