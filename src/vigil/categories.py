"""Category schemes: what a category number means in a case. A case picks one at creation;
matches and reviews store plain integers interpreted through it.

Codes are not universal: 0 is "non-pertinent" in Project VIC but "uncategorised" in the old
DHS scheme, and the UK's numeric coding inside VICS is not public (formats.md §1.7, §2.3). So a
scheme is data, chosen per case, and NULL always means "no verdict yet".
"""

from __future__ import annotations

from dataclasses import dataclass

from vigil.errors import ConfigError
from vigil.plugins import Registry


@dataclass(frozen=True, slots=True)
class CategoryScheme:
    name: str
    labels: dict[int, str]
    non_pertinent: int  # given to a file that only ignorable sets (NSRL) match
    severity: tuple[int, ...]  # most severe first: decides between disagreeing alert matches

    def label(self, code: int | None) -> str:
        return "uncategorised" if code is None else self.labels.get(code, f"unknown ({code})")

    def check(self, code: int | None) -> int | None:
        if code is not None and code not in self.labels:
            known = ", ".join(f"{c} {label}" for c, label in self.labels.items())
            raise ConfigError(f"category {code} is not in the {self.name} scheme ({known})")
        return code

    def most_severe(self, codes: list[int]) -> int | None:
        ranked = [c for c in self.severity if c in codes]
        return ranked[0] if ranked else None


PROJECT_VIC = CategoryScheme(
    name="projectvic",
    labels={
        0: "Non-Pertinent",
        1: "Child Abuse Material (CAM)",
        2: "Child Exploitive (Non-CAM) / Age Difficult",
        3: "CGI/Animation - Child Exploitive",
        4: "Comparison Images",
    },
    non_pertinent=0,
    severity=(1, 2, 3, 4, 0),
)

# Vigil's own coding of the UK Sentencing Council categories; convert explicitly when
# exchanging with a partner whose coding differs.
UK = CategoryScheme(
    name="uk",
    labels={0: "Not indecent / non-pertinent", 1: "Category A", 2: "Category B", 3: "Category C"},
    non_pertinent=0,
    severity=(1, 2, 3, 0),
)

SCHEMES: Registry[CategoryScheme] = Registry("category scheme")
for _scheme in (PROJECT_VIC, UK):
    SCHEMES.register(_scheme.name, _scheme)
