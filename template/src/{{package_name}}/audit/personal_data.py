"""Columns that look like personal data: by their name (email, phone, names, addresses, ID numbers, ...)
or by their values on a sample (emails, phone numbers, IBANs, IP addresses). Postcodes are
quasi-identifiers, left out only when the table also describes people."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from .common import snake_case

PII_SAMPLE_VALUES = 500
PERSON_NAME_SHARE = 0.7  # of sampled values, to take a bare `name` column for people's names
QUASI_IDENTIFIERS = ("postcodes",)  # identify a person only together with other facts about them

# Column names that suggest personal data, checked in this order on the snake_case name. Groups are
# non-capturing throughout, so that a pattern can also be handed to pandas' `str.contains` without a warning.
_PII_NAMES = tuple(
    (kind, re.compile(pattern))
    for kind, pattern in (
        ("email addresses", r"(?:^|_)e_?mails?(?:_|$)|(?:^|_)email"),
        ("IP addresses", r"(?:^|_)ip(?:_?addr(?:ess)?)?(?:_|$)"),
        (
            "phone numbers",
            r"(?:^|_)(?:tele)?phone|(?:^|_)(?:tel|fax|msisdn)(?:_|$)"
            r"|(?:^|_)(?:mobile|cell)(?:_?(?:no|nr|number|phone))?$",
        ),
        (
            "person names",
            r"(?:^|_)(?:first|last|full|given|family|middle|maiden|sur|fore)_?name(?:_|$)|^name$"
            r"|^(?:customer|contact|client|person|user|patient|employee|holder|owner)_?name$",
        ),
        ("postcodes", r"(?:^|_)(?:zip|zipcode|zip_code|post_?code|postal(?:_?code)?)(?:_|$)"),
        (
            "postal addresses",
            r"address|(?:^|_)street|(?:^|_)addr(?:_|$)|(?:^|_)house_?(?:number|no|nr)(?:_|$)",
        ),
        (
            "national ID numbers",
            r"(?:^|_)(?:ssn|social_security(?:_number)?|national_id|national_insurance(?:_number)?"
            r"|nino|tax_id|bsn)(?:_|$)",
        ),
        ("passport or licence numbers", r"passport|driv(?:er|ing)_?licen[cs]e"),
        ("dates of birth", r"birth|(?:^|_)dob(?:_|$)|(?:^|_)born(?:_|$)"),
        (
            "bank or card numbers",
            r"(?:^|_)iban(?:_|$)|bank_?account|account_?(?:number|no)|credit_?card|card_?number",
        ),
    )
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_PHONE = re.compile(r"^(?:\+|00)?[\d\s().\-/]{7,22}$")
_IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$")
_IPV4 = re.compile(r"^(?:\d{1,3}\.){3}\d{1,3}$")
_DATE_VALUE = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}")
# A state, country or city is coarse geography, not an address (`addr_state` is a state).
_COARSE_GEOGRAPHY = re.compile(
    r"(?:^|_)(?:state|country|region|province|county|city|town|municipality|district|territory|nation"
    r"|continent)s?(?:_|$)"
)
# Columns that show a table describes people (with a postcode, a person can then be singled out).
_PERSON_ATTRIBUTES = re.compile(
    r"(?:^|_)(?:age|sex|gender|birth\w*|dob|ethnicity|ethnic|race|marital(?:_status)?|religion)(?:_|$)"
)
_THINGS_WITH_AN_AGE = re.compile(r"(?:^|_)(?:house|home|building|property|car|vehicle|account|loan|asset)")
_ORGANISATION_WORDS = frozenset(
    ("inc", "inc.", "ltd", "ltd.", "llc", "corp", "corp.", "co", "co.", "company", "group", "bank", "gmbh")
    + ("ag", "sa", "bv", "plc", "university")
)
_NAME_PARTICLES = frozenset(
    ("van", "von", "de", "der", "den", "da", "di", "du", "la", "le", "del", "della", "dos", "das", "bin")
    + ("ibn", "al", "el", "st")
)


def personal_data_columns(frame: pd.DataFrame, profiles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Columns that look like personal data, by their name or by their values (on a sample), each with
    whether the audit leaves it out (`excluded`; see `_settle_quasi_identifiers`)."""
    found = []
    for profile in profiles:
        if profile["role"] == "target":
            continue
        name = profile["name"]
        # A flag such as `email_opt_in` (yes/no) is named like personal data but holds none.
        name_kind = _pii_by_name(name) if profile["distinct"] > 2 else None
        value_kind, share = _pii_by_values(frame[name], profile["kind"])
        if name_kind == "person names" and snake_case(name) == "name" and not value_kind:
            # A bare `name` can name anything (car models, products, places): the values must confirm it.
            share = _person_name_share(frame[name])
            name_kind = value_kind = "person names" if share >= PERSON_NAME_SHARE else None
        if name_kind or value_kind:
            found.append(
                {
                    "column": name,
                    "kind": name_kind or value_kind,
                    "by_name": bool(name_kind),
                    "by_values": bool(value_kind),
                    "value_share": share if value_kind else None,
                }
            )
    return _settle_quasi_identifiers(found, profiles)


def _settle_quasi_identifiers(
    found: list[dict[str, Any]], profiles: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Direct personal data is always left out. A postcode is a quasi-identifier: alone it names an area of
    many households, but combined with facts about a person (age, sex, date of birth, or other personal
    data) it can single one out. So it is left out only when the table also describes people."""
    direct = [item["column"] for item in found if item["kind"] not in QUASI_IDENTIFIERS]
    attributes = [p["name"] for p in profiles if _describes_a_person(p["name"])]
    for item in found:
        quasi = item["kind"] in QUASI_IDENTIFIERS
        people = [name for name in [*direct, *attributes] if name != item["column"]]
        item["quasi_identifier"] = quasi
        item["excluded"] = not quasi or bool(people)
        if quasi:
            item["people_columns"] = people
    return found


def _describes_a_person(name: str) -> bool:
    """A column about a person (age, sex, gender, birth, ethnicity, marital status), not a thing's age."""
    snake = snake_case(name)
    return bool(_PERSON_ATTRIBUTES.search(snake)) and not _THINGS_WITH_AN_AGE.search(snake)


def _pii_by_name(name: str) -> str | None:
    snake = snake_case(name)
    kind = next((kind for kind, pattern in _PII_NAMES if pattern.search(snake)), None)
    if kind == "postal addresses" and _COARSE_GEOGRAPHY.search(snake):
        return None  # `addr_state`, `address_country`: where someone lives, as coarsely as a state
    return kind


def _person_name_share(series: pd.Series) -> float:
    """The share of sampled values written like people's names."""
    values = series.dropna().astype(str).str.strip()
    if values.empty:
        return 0.0
    return float(
        values.sample(min(len(values), PII_SAMPLE_VALUES), random_state=0).map(_is_person_name).mean()
    )


def _is_person_name(value: str) -> bool:
    """'Ada Lovelace', 'Lovelace, Ada', 'J. R. Tolkien', 'Vincent van Gogh', 'José Müller': two to five
    capitalised words of letters (name particles aside), no digits, no company words. Car models as data
    sets write them ('chevrolet chevelle malibu', 'ford pinto 2000') are not."""
    words = value.replace(",", " ").split()
    if not 2 <= len(words) <= 5:
        return False
    capitalised = 0
    for word in words:
        lower = word.lower()
        if lower in _ORGANISATION_WORDS:
            return False
        if lower in _NAME_PARTICLES:
            continue
        letters = word.rstrip(".").replace("-", "").replace("'", "").replace("’", "")
        if not (letters.isalpha() and word[0].isupper()):
            return False
        capitalised += 1
    return capitalised >= 2


def _pii_by_values(series: pd.Series, kind: str) -> tuple[str | None, float]:
    """The kind of personal data most sampled text values look like, and the share that do."""
    if kind not in ("categorical", "text") or pd.api.types.is_numeric_dtype(series):
        return None, 0.0
    values = series.dropna().astype(str).str.strip()
    if values.empty:
        return None, 0.0
    sample = values.sample(min(len(values), PII_SAMPLE_VALUES), random_state=0)
    shares = {
        "email addresses": (sample.str.contains(_EMAIL, regex=True).mean(), 0.2),
        "phone numbers": (sample.map(_looks_like_phone).mean(), 0.5),
        "bank account numbers (IBAN)": (sample.map(_looks_like_iban).mean(), 0.5),
        "IP addresses": (sample.str.match(_IPV4).mean(), 0.5),
    }
    for pii_kind, (share, needed) in shares.items():
        if share >= needed:
            return pii_kind, float(share)
    return None, 0.0


def _looks_like_phone(value: str) -> bool:
    """7 to 15 digits written the way phone numbers are: a leading +, 00 or (, or three or more groups of
    digits; not a date, a range such as 10000-20000, or a number with thousands separators."""
    if not _PHONE.match(value) or _DATE_VALUE.match(value):
        return False
    groups = re.findall(r"\d+", value)
    digits = sum(len(group) for group in groups)
    separated = len(groups) >= 3 and any(sep in value for sep in " -()")
    return 7 <= digits <= 15 and (value.startswith(("+", "00", "(")) or separated)


def _looks_like_iban(value: str) -> bool:
    """An IBAN: country code, check digits, account; the check digits must verify (ISO 13616, mod 97)."""
    compact = value.replace(" ", "").upper()
    if not _IBAN.match(compact):
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1
