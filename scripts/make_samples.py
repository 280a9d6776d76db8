"""Make the sample datasets shipped with the template, in template/data/sample/.

Each file's name there is wrapped in a Copier condition, so a project gets the sample of its problem type.

Three synthetic, client-like exports, one per problem type the template supports:

* customer_churn.csv    binary classification, target ``churned`` (0/1): a CRM export
* support_tickets.csv   multiclass classification, target ``priority`` (low/medium/high): a ticketing export
* house_prices.csv      regression, target ``sale_price``: a property listings export

Each has a unique ID column, a date column with trend and seasonality, numeric and categorical
columns, missing values (some missing-not-at-random) and a real but imperfect signal: a gradient
boosting model clearly beats a dummy baseline without being perfect.

customer_churn.csv also carries two deliberate data-quality traps that the data audit must catch:
``contact_email`` (personal data) and ``cancellation_reason`` (filled only for churned customers,
i.e. target leakage).

Everything is made up (numpy and pandas only, fixed seed), so rerunning gives byte-identical files.
Rerun from the repository root after changing this script:

    python scripts/make_samples.py
"""

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20261125
OUT_DIR = Path(__file__).resolve().parents[1] / "template" / "data" / "sample"

# Relative frequency of events per calendar month (January first).
SIGNUP_SEASON = (1.45, 1.15, 1.05, 0.95, 0.9, 0.8, 0.75, 0.85, 1.25, 1.1, 1.2, 0.85)
TICKET_SEASON = (1.25, 1.1, 1.0, 0.95, 0.95, 0.85, 0.75, 0.8, 1.05, 1.05, 1.1, 0.9)
LISTING_SEASON = (0.7, 0.85, 1.15, 1.3, 1.3, 1.2, 1.0, 0.85, 1.1, 1.05, 0.85, 0.55)

# Whitespace-separated name pools for the fake contact emails.
FIRST_NAMES = (
    "james mary john patricia robert jennifer michael linda david elizabeth william barbara richard susan "
    "joseph jessica thomas sarah daniel karen emma liam olivia noah sophie lucas mia oliver anna leo "
    "chloe ethan julia adam laura omar fatima wei mei raj priya"
)
LAST_NAMES = (
    "smith johnson williams brown jones garcia miller davis wilson anderson taylor thomas moore martin "
    "jackson white harris clark lewis walker hall young king wright scott green baker adams nelson "
    "carter mitchell roberts turner phillips campbell parker evans edwards collins stewart morris "
    "murphy cook rogers morgan peterson cooper reed bailey bell kelly howard ward cox richardson "
    "wood watson brooks bennett gray hughes price sanders patel nguyen kim chen singh khan"
)
EMAIL_DOMAINS = {"example.com": 0.55, "example.org": 0.2, "example.net": 0.15, "mail.example.com": 0.1}


# --------------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------------


def pick(rng: np.random.Generator, n: int, levels: dict[str, float]) -> np.ndarray:
    """Draw ``n`` categories with the given (relative) frequencies."""
    weights = np.tile(np.array(list(levels.values()), dtype=float), (n, 1))
    return pick_per_row(rng, list(levels), weights)


def pick_per_row(rng: np.random.Generator, levels: list[str], weights: np.ndarray) -> np.ndarray:
    """Draw one category per row, with row-specific (relative) weights of shape (n, len(levels))."""
    cumulative = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
    index = (rng.random((len(weights), 1)) > cumulative).sum(axis=1)
    return np.asarray(levels, dtype=object)[np.minimum(index, len(levels) - 1)]


def lookup(keys: np.ndarray, table: dict[str, float]) -> np.ndarray:
    """Map each category to a number (an effect size, a base value, ...)."""
    return np.array([table[key] for key in keys], dtype=float)


def seasonal_dates(
    rng: np.random.Generator,
    n: int,
    start: str,
    end: str,
    *,
    season: tuple[float, ...],
    growth: float,
    weekend: float,
) -> pd.Series:
    """Sorted dates between start and end: linear growth over the period, monthly season, quieter weekends."""
    days = pd.date_range(start, end, freq="D")
    progress = np.linspace(0.0, 1.0, len(days))
    weights = (
        (1.0 + growth * progress)
        * np.asarray(season)[days.month - 1]
        * np.where(days.dayofweek >= 5, weekend, 1.0)
    )
    return pd.Series(np.sort(rng.choice(days.to_numpy(), size=n, p=weights / weights.sum())))


def make_ids(rng: np.random.Generator, prefix: str, n: int) -> list[str]:
    """Unique, increasing IDs like "C-000123", with gaps (deleted and test records) as in a real export."""
    numbers = np.sort(rng.choice(np.arange(1, int(n * 1.35)), size=n, replace=False))
    return [f"{prefix}-{number:06d}" for number in numbers]


def with_missing(
    rng: np.random.Generator, values: np.ndarray | pd.Series, prob: np.ndarray | float
) -> pd.Series:
    """Blank out each value with its own probability (a constant, or per row for missing-not-at-random)."""
    values = pd.Series(values)
    return values.mask(rng.random(len(values)) < prob)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def intercept_for_rate(logit: np.ndarray, rate: float) -> float:
    """The shift of ``logit`` that makes the mean predicted probability equal ``rate`` (bisection)."""
    low, high = -20.0, 20.0
    for _ in range(100):
        middle = (low + high) / 2
        low, high = (middle, high) if sigmoid(logit + middle).mean() < rate else (low, middle)
    return (low + high) / 2


def yes_no(flags: np.ndarray) -> np.ndarray:
    return np.where(flags, "yes", "no")


def iso_dates(dates: pd.Series) -> pd.Series:
    return dates.dt.strftime("%Y-%m-%d")


def fake_emails(rng: np.random.Generator, n: int) -> list[str]:
    """Realistic but fake, unique email addresses on reserved example domains."""
    first = rng.choice(FIRST_NAMES.split(), size=n)
    last = rng.choice(LAST_NAMES.split(), size=n)
    number = rng.integers(1, 100, size=n)
    style = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    domain = pick(rng, n, EMAIL_DOMAINS)
    locals_ = [
        f"{f[0]}.{s}{k}" if st == 0 else f"{f}.{s}" if st == 1 else f"{f}{s[0]}{k}"
        for f, s, k, st in zip(first, last, number, style, strict=True)
    ]
    emails = pd.Series([f"{local}@{dom}" for local, dom in zip(locals_, domain, strict=True)])
    repeat = emails.groupby(emails).cumcount()
    user, host = emails.str.split("@").str[0], emails.str.split("@").str[1]
    emails = emails.where(repeat == 0, user + "." + (repeat + 1).astype(str) + "@" + host)
    return emails.tolist()


def write_csv(frame: pd.DataFrame, name: str, problem_type: str) -> Path:
    # The file name is a Copier condition: a generated project gets only the sample of its problem type.
    path = OUT_DIR / f"{{% if problem_type == '{problem_type}' %}}{name}{{% endif %}}"
    frame.to_csv(path, index=False, lineterminator="\n")
    return path


# --------------------------------------------------------------------------------------------------
# Datasets
# --------------------------------------------------------------------------------------------------


def customer_churn(rng: np.random.Generator, n: int = 5000) -> pd.DataFrame:
    """CRM snapshot at 2025-10-31; ``churned`` = cancelled in the following 90 days."""
    snapshot = pd.Timestamp("2025-10-31")
    signup = seasonal_dates(rng, n, "2023-01-01", "2025-10-31", season=SIGNUP_SEASON, growth=0.9, weekend=0.6)
    tenure = np.floor((snapshot - signup).dt.days.to_numpy() / 30.44).astype(int)

    plan = pick(rng, n, {"basic": 0.42, "standard": 0.31, "premium": 0.17, "enterprise": 0.10})
    region = pick(rng, n, {"North": 0.31, "South": 0.24, "West": 0.2, "East": 0.17, "Central": 0.08})
    contract_mix = {
        "basic": [0.72, 0.2, 0.08],
        "standard": [0.55, 0.3, 0.15],
        "premium": [0.4, 0.35, 0.25],
        "enterprise": [0.15, 0.35, 0.5],
    }
    contract = pick_per_row(
        rng, ["month-to-month", "one-year", "two-year"], np.array([contract_mix[p] for p in plan])
    )
    is_enterprise = (plan == "enterprise")[:, None]
    payment = pick_per_row(
        rng,
        ["credit card", "direct debit", "bank transfer", "invoice"],
        np.where(is_enterprise, [0.15, 0.2, 0.25, 0.4], [0.46, 0.32, 0.15, 0.07]),
    )
    autopay = rng.random(n) < lookup(
        payment, {"credit card": 0.6, "direct debit": 0.92, "bank transfer": 0.25, "invoice": 0.08}
    )

    # Unobserved engagement drives logins, tickets and NPS (and churn), so they are correlated.
    engagement = rng.normal(size=n)
    base_charge = lookup(plan, {"basic": 29.0, "standard": 55.0, "premium": 89.0, "enterprise": 210.0})
    monthly = np.maximum(9.99, base_charge * np.exp(rng.normal(0.0, 0.2, n)) + rng.choice([0, 5, 10], n))
    plan_support = lookup(plan, {"basic": 0.0, "standard": 0.1, "premium": 0.25, "enterprise": 0.45})
    tickets = rng.poisson(0.7 * np.exp(-0.5 * engagement + plan_support + 0.35 * (tenure < 6)))
    login_mean = np.exp(2.3 + 0.55 * engagement + 0.5 * plan_support)
    logins = rng.poisson(rng.gamma(shape=2.0, scale=login_mean / 2.0))
    nps = np.clip(np.round(7.0 + 1.4 * engagement - 0.4 * tickets + rng.normal(0, 1.8, n)), 0, 10)

    billed = tenure * monthly * np.exp(rng.normal(0.0, 0.06, n))
    total = np.where(tenure == 0, monthly * rng.uniform(0.1, 1.0, n), billed)

    is_monthly = contract == "month-to-month"
    logit = (
        lookup(contract, {"month-to-month": 1.1, "one-year": -0.4, "two-year": -1.6})
        - np.where(is_monthly, 0.07, 0.03) * np.minimum(tenure, 30)
        + np.where(is_monthly, 1.0, 0.35) * np.log(monthly / 60.0)
        + 0.4 * np.minimum(tickets, 6)
        + 0.35 * np.minimum(tickets, 6) * (logins < 5)
        - 0.06 * np.minimum(logins, 30)
        + 0.7 * ~autopay
        - 0.25 * engagement
        + rng.normal(0.0, 0.45, n)
    )
    churned = rng.random(n) < sigmoid(logit + intercept_for_rate(logit, 0.25))

    # The cancellation reason is only ever recorded for customers who left: a target leak.
    reason_weights = np.column_stack(
        [
            0.3 + 0.3 * (monthly > 80),
            0.15 + 0.15 * np.minimum(tickets, 4),
            np.full(n, 0.3),
            np.full(n, 0.1),
            np.full(n, 0.08),
        ]
    )
    reason = pick_per_row(rng, ["price", "service", "competitor", "moved", "other"], reason_weights)

    frame = pd.DataFrame(
        {
            "customer_id": make_ids(rng, "C", n),
            "signup_date": iso_dates(signup),
            "contact_email": fake_emails(rng, n),
            "plan": plan,
            "contract": contract,
            "region": region,
            "payment_method": payment,
            "autopay": yes_no(autopay),
            "tenure_months": tenure,
            "monthly_charges": monthly.round(2),
            # Not billed yet for most customers in their first month; a few gaps from a billing migration.
            "total_charges": with_missing(rng, total.round(2), np.where(tenure == 0, 0.85, 0.005)),
            "support_tickets_90d": tickets,
            "logins_30d": logins,
            # Survey answered less often by disengaged customers (missing-not-at-random).
            "nps_score": with_missing(rng, nps, 0.09 + 0.2 * (logins < 5)).astype("Int64"),
            "cancellation_reason": pd.Series(reason).where(churned),
            "churned": churned.astype(int),
        }
    )
    return frame


def support_tickets(rng: np.random.Generator, n: int = 5000) -> pd.DataFrame:
    """Ticketing export; ``priority`` as set by the triage team (about 50/35/15 low/medium/high)."""
    products = {
        "Mobile App": 0.28,
        "Billing Portal": 0.24,
        "Analytics Suite": 0.16,
        "API Gateway": 0.12,
        "Admin Console": 0.12,
        "Data Connector": 0.08,
    }
    # Regular tickets, plus a burst of tickets on each of a handful of outage days, each outage hitting one
    # product; then everything in date order, as exported.
    n_burst, n_outages = int(0.06 * n), 14
    regular = seasonal_dates(
        rng, n - n_burst, "2023-05-01", "2025-10-31", season=TICKET_SEASON, growth=0.7, weekend=0.45
    )
    outage_days = rng.choice(regular.drop_duplicates().to_numpy(), size=n_outages, replace=False)
    outage_products = rng.choice(["API Gateway", "Data Connector", "Mobile App", "Billing Portal"], n_outages)
    outage_of_burst = rng.integers(0, n_outages, n_burst)
    opened = pd.concat([regular, pd.Series(outage_days[outage_of_burst])], ignore_index=True)
    product = np.concatenate([pick(rng, n - n_burst, products), outage_products[outage_of_burst]])
    in_burst = np.arange(n) >= n - n_burst
    order = np.argsort(opened.to_numpy(), kind="stable")
    opened, in_burst, product = opened.iloc[order].reset_index(drop=True), in_burst[order], product[order]

    tier = pick(rng, n, {"free": 0.46, "pro": 0.31, "business": 0.16, "enterprise": 0.07})
    channel_mix = {
        "free": [0.45, 0.35, 0.17, 0.03],
        "pro": [0.4, 0.25, 0.25, 0.1],
        "business": [0.35, 0.15, 0.28, 0.22],
        "enterprise": [0.3, 0.1, 0.25, 0.35],
    }
    channel = pick_per_row(rng, ["email", "web", "chat", "phone"], np.array([channel_mix[t] for t in tier]))
    region = pick(rng, n, {"EMEA": 0.38, "North America": 0.34, "APAC": 0.19, "LATAM": 0.09})
    tier_age = lookup(tier, {"free": 0.0, "pro": 0.3, "business": 0.6, "enterprise": 0.9})
    # No account is older than the platform (launched 2016-03-01).
    platform_age = (opened - pd.Timestamp("2016-03-01")).dt.days.to_numpy()
    account_age = np.clip(np.round(np.exp(rng.normal(5.6 + tier_age, 0.85))), 1, platform_age).astype(int)
    tier_load = lookup(tier, {"free": 0.6, "pro": 1.0, "business": 1.5, "enterprise": 2.5})
    prior = rng.poisson(0.8 * tier_load)
    outage = rng.random(n) < np.where(in_burst, 0.7, 0.03)

    urgency = rng.normal(size=n)
    typical_length = lookup(channel, {"email": 6.3, "web": 5.8, "chat": 4.6, "phone": 5.2})
    length = np.clip(np.round(np.exp(rng.normal(typical_length + 0.1 * urgency, 0.6))), 8, 6000).astype(int)
    attach_rate = lookup(channel, {"email": 0.45, "web": 0.5, "chat": 0.1, "phone": 0.02})
    attachments = np.minimum(rng.poisson(attach_rate * np.exp(0.3 * urgency)), 8)
    office_hours = rng.random(n) < 0.8
    hour = np.where(office_hours, np.clip(np.round(rng.normal(13, 2.8, n)), 7, 19), rng.integers(0, 24, n))
    sentiment = np.clip(-0.1 - 0.3 * urgency - 0.35 * outage + rng.normal(0.0, 0.35, n), -1.0, 1.0)

    off_hours = (hour < 7) | (hour > 19)
    big_account = np.isin(tier, ["business", "enterprise"])
    score = (
        lookup(tier, {"free": -0.6, "pro": 0.0, "business": 0.5, "enterprise": 1.1})
        + 1.8 * outage
        - 1.3 * sentiment
        + lookup(channel, {"email": 0.0, "web": -0.2, "chat": 0.25, "phone": 0.7})
        + lookup(
            product,
            {
                "API Gateway": 0.6,
                "Data Connector": 0.4,
                "Billing Portal": 0.3,
                "Admin Console": 0.1,
                "Mobile App": 0.0,
                "Analytics Suite": -0.2,
            },
        )
        + 0.6 * (off_hours & big_account)
        + 0.1 * prior
        + 0.1 * attachments
        + 0.5 * urgency
        + rng.normal(0.0, 0.8, n)
    )
    low_cut, high_cut = np.quantile(score, [0.5, 0.85])
    priority = np.where(score < low_cut, "low", np.where(score < high_cut, "medium", "high"))

    frame = pd.DataFrame(
        {
            "ticket_id": make_ids(rng, "T", n),
            "opened_at": iso_dates(opened),
            "channel": channel,
            "product": product,
            "customer_tier": tier,
            # Free accounts have no billing address, so their region is often unknown.
            "region": with_missing(rng, region, np.where(tier == "free", 0.1, 0.01)),
            "account_age_days": account_age,
            "prior_tickets_90d": prior,
            "message_length": length,
            "attachments": attachments,
            "opened_hour": hour.astype(int),
            # Phone calls are mostly not transcribed, and very short messages are not scored.
            "sentiment_score": with_missing(
                rng, sentiment.round(2), np.where(channel == "phone", 0.45, 0.05) + 0.2 * (length < 40)
            ),
            "outage_reported": yes_no(outage),
            "priority": priority,
        }
    )
    return frame


def house_prices(rng: np.random.Generator, n: int = 5000) -> pd.DataFrame:
    """Listings export with the agreed sale price; prices follow a market trend over the listing date."""
    # name: (share of listings, price level, median km to centre, type mix, median year built)
    neighborhoods = {
        "Old Town": (0.10, 1.45, 1.0, [0.65, 0.25, 0.07, 0.03], 1910),
        "Riverside": (0.14, 1.25, 3.0, [0.5, 0.2, 0.15, 0.15], 1990),
        "Harbour": (0.09, 1.35, 2.5, [0.7, 0.1, 0.1, 0.1], 2008),
        "Northgate": (0.18, 0.9, 6.0, [0.35, 0.35, 0.2, 0.1], 1965),
        "Parkview": (0.15, 1.15, 5.0, [0.15, 0.3, 0.3, 0.25], 1975),
        "Millbrook": (0.20, 0.8, 9.0, [0.2, 0.35, 0.3, 0.15], 1985),
        "Westfield": (0.14, 0.75, 14.0, [0.1, 0.25, 0.35, 0.3], 2000),
    }
    listed = seasonal_dates(
        rng, n, "2022-11-01", "2025-10-31", season=LISTING_SEASON, growth=0.15, weekend=0.35
    )
    years = (listed - listed.iloc[0]).dt.days.to_numpy() / 365.25

    hood = pick(rng, n, {name: spec[0] for name, spec in neighborhoods.items()})
    types = ["apartment", "terraced", "semi-detached", "detached"]
    kind = pick_per_row(rng, types, np.array([neighborhoods[h][3] for h in hood]))
    is_apartment = kind == "apartment"

    typical_area = lookup(kind, dict(zip(types, [68, 100, 122, 165], strict=True)))
    area = np.clip(np.exp(rng.normal(np.log(typical_area), 0.24)), 30, 360)
    bedrooms = np.clip(np.round(area / 32 + rng.normal(0, 0.6, n)), 1, 7).astype(int)
    bathrooms = np.clip(1 + (bedrooms >= 3) + (area > 150) + (rng.random(n) < 0.2), 1, 4).astype(int)
    median_year = np.array([neighborhoods[h][4] for h in hood])
    listed_year = listed.dt.year.to_numpy()
    year_built = np.clip(np.round(rng.normal(median_year, 22)), 1880, listed_year).astype(int)
    age = listed_year - year_built
    distance = np.exp(rng.normal(np.log([neighborhoods[h][2] for h in hood]), 0.35))

    condition_score = 0.03 * (year_built - 1970) + rng.normal(size=n)
    condition_cuts = np.quantile(condition_score, [0.08, 0.35, 0.8])
    condition_rank = np.searchsorted(condition_cuts, condition_score)
    condition = np.array(["poor", "fair", "good", "excellent"])[condition_rank]
    garage_rate = lookup(kind, dict(zip(types, [0.15, 0.25, 0.55, 0.8], strict=True))) + 0.02 * distance
    garage = rng.random(n) < np.minimum(garage_rate, 0.95)
    lot = np.exp(rng.normal(np.log(lookup(kind, dict(zip(types, [400, 150, 300, 700], strict=True)))), 0.45))

    label_score = 0.03 * (year_built - 1960) + 0.5 * condition_rank + rng.normal(size=n)
    label_cuts = np.quantile(label_score, [0.07, 0.17, 0.32, 0.54, 0.78, 0.92])
    label = np.array(list("GFEDCBA"))[np.searchsorted(label_cuts, label_score)]

    market = np.exp(0.045 * years) * (1 - 0.05 * np.exp(-(((years - 0.9) / 0.35) ** 2)))
    age_effect = np.where(
        age < 5, 1.1, np.where(year_built < 1920, 1.05, 1 - 0.0025 * np.minimum(age - 5, 60))
    )
    price = (
        3100.0
        * area
        * lookup(hood, {name: spec[1] for name, spec in neighborhoods.items()})
        * lookup(kind, dict(zip(types, [1.1, 1.0, 1.05, 1.12], strict=True)))
        * lookup(condition, {"poor": 0.78, "fair": 0.9, "good": 1.0, "excellent": 1.12})
        * lookup(label, dict(zip("ABCDEFG", [1.06, 1.04, 1.02, 1.0, 0.97, 0.94, 0.92], strict=True)))
        * age_effect
        * np.exp(-0.012 * distance)
        * np.where(garage, 1.04, 1.0)
        * np.where(is_apartment, 1.0, (lot / 300) ** 0.06)
        * market
        * np.exp(rng.normal(0.0, 0.14, n))
    )

    frame = pd.DataFrame(
        {
            "listing_id": make_ids(rng, "L", n),
            "listed_date": iso_dates(listed),
            "neighborhood": hood,
            "property_type": kind,
            "living_area_m2": area.round(1),
            "bedrooms": bedrooms,
            "bathrooms": bathrooms,
            "year_built": year_built,
            # Only houses have their own plot; a few house listings leave it blank too.
            "lot_size_m2": with_missing(rng, lot.round(), np.where(is_apartment, 0.93, 0.04)).astype("Int64"),
            "condition": condition,
            "garage": yes_no(garage),
            "distance_to_center_km": distance.round(2),
            # Sellers of poorly rated homes leave the energy label out more often.
            "energy_label": with_missing(
                rng, label, 0.05 + 0.18 * np.isin(label, ["F", "G"]) + 0.05 * (age > 70)
            ),
            "sale_price": (np.round(price / 500) * 500).astype(int),
        }
    )
    return frame


def main() -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    churn_seed, tickets_seed, houses_seed = np.random.SeedSequence(SEED).spawn(3)
    datasets = {
        ("customer_churn.csv", "binary"): customer_churn(np.random.default_rng(churn_seed)),
        ("support_tickets.csv", "multiclass"): support_tickets(np.random.default_rng(tickets_seed)),
        ("house_prices.csv", "regression"): house_prices(np.random.default_rng(houses_seed)),
    }
    for (name, problem_type), frame in datasets.items():
        path = write_csv(frame, name, problem_type)
        size_kb = path.stat().st_size / 1024
        print(f"{name} ({problem_type}): {len(frame)} rows, {len(frame.columns)} columns, {size_kb:.0f} KB")


if __name__ == "__main__":
    main()
