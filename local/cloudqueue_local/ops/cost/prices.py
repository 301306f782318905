"""List prices, read from ``pricing/us-east-1.yaml``: each with its unit, its always-free
allowance, and the page and date it was read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

PRICES_FILE = Path("pricing") / "us-east-1.yaml"  # under the project's root


@dataclass(frozen=True)
class Price:
    """One list price: ``usd`` for every ``per`` units, ``free`` units a month always free."""

    usd: float
    per: float
    free: float
    what: str
    source: str
    date: str

    def of(self, quantity: float) -> float:
        """The list price of ``quantity`` units, without the free tier."""
        return quantity * self.usd / self.per


def load_prices(path: Path) -> dict[str, Price]:
    """Every price in the prices file at ``path``, by its name."""
    document = yaml.safe_load(path.read_text())
    return {
        name: Price(
            usd=float(entry["usd"]),
            per=float(entry["per"]),
            free=float(entry.get("free", 0)),
            what=str(entry["what"]),
            source=str(entry["source"]),
            date=str(entry["date"]),
        )
        for name, entry in document["prices"].items()
    }
