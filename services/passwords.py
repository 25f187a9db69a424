"""Passwords: argon2id hashing with rehash on login, and the policy for new passwords."""

from __future__ import annotations

import contextlib
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

from models import User

PASSWORD_MIN = 8
PASSWORD_MAX = 128

# Common in Chinese leaks and missing from the English-centred list.
_EXTRA_COMMON = {
    "woaini1314",
    "woaini520",
    "5201314520",
    "1314520",
    "aini1314",
    "iloveyou1314",
    "qq5201314",
    "wang1234",
    "zhang123",
    "li123456",
    "abc123456",
    "a1234567",
    "a12345678",
    "123456abc",
    "11223344",
    "88888888",
    "66666666",
    "12344321",
    "147258369",
    "159357123",
    "1qaz2wsx3edc",
    "qwe123456",
    "asd123456",
    "zxc123456",
    "1q2w3e4r",
    "password123",
    "admin123",
    "admin888",
    "gongjian123",
}


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The most common passwords (zxcvbn's list plus Chinese favourites), lower-cased."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(p.lower() for p in FREQUENCY_LISTS["passwords"]) | _EXTRA_COMMON


def password_problem(password: str, username: str = "") -> str | None:
    """Return why a new password is refused (in Chinese), or None if it is fine."""
    if len(password) < PASSWORD_MIN:
        return f"密码至少需要 {PASSWORD_MIN} 个字符。"
    if len(password) > PASSWORD_MAX:
        return f"密码不能超过 {PASSWORD_MAX} 个字符。"
    lowered = password.lower()
    if lowered in common_passwords():
        return "这个密码过于常见，容易被猜中，请换一个。"
    if username and lowered == username.lower():
        return "密码不能与用户名相同。"
    if len(set(password)) == 1:
        return "密码不能由同一个字符重复组成。"
    return None


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    key = (cfg["PASSWORD_TIME_COST"], cfg["PASSWORD_MEMORY_COST"], cfg["PASSWORD_PARALLELISM"])
    hasher = current_app.extensions.get("password_hasher")
    if hasher is None or hasher[0] != key:
        hasher = (key, PasswordHasher(time_cost=key[0], memory_cost=key[1], parallelism=key[2]))
        current_app.extensions["password_hasher"] = hasher
    return hasher[1]


def hash_password(password: str) -> str:
    """Hash a password with argon2id at the configured strength."""
    return _hasher().hash(password)


def set_password(user: User, password: str) -> None:
    """Give the user a new password and end all their sessions."""
    user.password_hash = hash_password(password)
    user.end_sessions()


# A hash to verify against when the user does not exist, so both cases take as long.
_DUMMY = {}


def check_password(user: User | None, password: str) -> bool:
    """Verify a password, rehashing it when the configured parameters changed."""
    hasher = _hasher()
    if user is None:
        dummy = _DUMMY.get(id(hasher))
        if dummy is None:
            dummy = _DUMMY[id(hasher)] = hasher.hash(secrets.token_hex(8))
        with contextlib.suppress(VerificationError):
            hasher.verify(dummy, password)
        return False
    try:
        hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return True
