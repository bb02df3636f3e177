"""Category schemes: what a category number means in a case. A case picks one at creation;
matches and reviews store plain integers interpreted through it.

Codes are not universal: 0 is "non-pertinent" in Project VIC but "uncategorised" in the old
DHS scheme, and the UK's numeric coding inside VICS is not public (formats.md §1.7, §2.3). So a
scheme is data, chosen per case, and NULL always means "no verdict yet".
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

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


def label_key(text: str) -> str:
    """A category label compared loosely: writers differ in case, spacing and punctuation
    ("Child Abuse Material - (CAM)" in Autopsy, "Child Abuse Material (CAM)" elsewhere)."""
    return "".join(ch for ch in text.lower() if ch.isalnum())


def code_of_label(scheme: CategoryScheme, text: str) -> int | None:
    """The code whose label `text` names in `scheme`, or None."""
    key = label_key(text)
    for code, label in scheme.labels.items():
        if label_key(label) == key:
            return code
    return None


SCHEMES: Registry[CategoryScheme] = Registry("category scheme")
for _scheme in (PROJECT_VIC, UK):
    SCHEMES.register(_scheme.name, _scheme)


# -- what a list's codes mean in a case ------------------------------------------------


@dataclass(frozen=True, slots=True)
class CategoryMap:
    """How the category codes a hash list writes read in a case's scheme.

    A list's code never silently changes meaning: it reads as the same code only when the list
    is in the case's scheme (or names none), otherwise only through an explicit map
    (`--category-map`). `codes` None means "same scheme: a code the scheme defines is itself";
    a code it does not define (NIST's CAID set writes 8) has no meaning in the case (None).
    With an explicit map, every code the list uses must be in it; a code mapped to None is kept
    on the entry but gives no verdict.
    """

    list_scheme: str | None
    case_scheme: CategoryScheme
    codes: dict[int, int | None] | None = None
    source: str | None = None  # the map file, for the message and the hash set's row

    @property
    def same_scheme(self) -> bool:
        return self.list_scheme in (None, self.case_scheme.name)

    def meaning(self, code: int | None) -> int | None:
        """The case-scheme category of the list's `code`; ConfigError where none may be
        assumed (another scheme and no map, or a code the map leaves out)."""
        if code is None:
            return None
        if self.codes is not None:
            if code not in self.codes:
                raise ConfigError(
                    f"the list uses category {code}, which {self.source} does not map; "
                    'add it (a case category, or "none" for no verdict)'
                )
            return self.codes[code]
        if self.same_scheme:
            return code if code in self.case_scheme.labels else None
        raise ConfigError(
            f"the list's categories are in the {describe_list_scheme(self.list_scheme)} scheme "
            f"but this case uses {self.case_scheme.name}: category {code} would change meaning. "
            "Give a --category-map FILE (list code = case code), import it with --kind "
            "ignorable or --kind reference (categories then decide nothing), or use a case "
            f"created with the list's scheme (vigil case create --scheme …)"
        )

    def describe(self) -> str:
        if self.codes is not None:
            return f"{describe_list_scheme(self.list_scheme)} codes mapped by {self.source}"
        if self.list_scheme is None:
            return f"read as {self.case_scheme.name} codes (the list names no scheme)"
        return f"{self.list_scheme} codes, the case's own scheme"

    def as_json(self) -> str | None:
        if self.codes is None:
            return None
        return json.dumps({str(k): v for k, v in sorted(self.codes.items())}, sort_keys=True)


def describe_list_scheme(name: str | None) -> str:
    if name is None:
        return "unnamed"
    if name == "recon-source":
        return "RECON Lab evidence-source number (not a verdict)"
    if name.startswith("vics-region:"):
        return f"VICS region {name.split(':', 1)[1]!r}"
    return name


def load_category_map(path: Path, case_scheme: CategoryScheme) -> dict[int, int | None]:
    """An explicit map from a TOML file of `list_code = case_code` lines (`"none"` for no
    verdict), e.g. `8 = 0` or `1 = "none"`. Every target must be in the case's scheme."""
    try:
        doc = tomllib.loads(Path(path).read_text("utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the category map {path}: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"category map {path}: {exc}") from exc
    table = doc.get("categories", doc)
    codes: dict[int, int | None] = {}
    for key, value in table.items():
        try:
            code = int(key)
        except ValueError:
            raise ConfigError(f"category map {path}: {key!r} is not a category code") from None
        if isinstance(value, str) and value.strip().lower() == "none":
            codes[code] = None
        elif isinstance(value, int) and not isinstance(value, bool):
            codes[code] = case_scheme.check(value)
        else:
            raise ConfigError(
                f'category map {path}: {key} = {value!r}: want a {case_scheme.name} code or "none"'
            )
    if not codes:
        raise ConfigError(f"category map {path} maps no codes")
    return codes
