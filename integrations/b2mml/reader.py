"""Reading a B2MML document safely: size limit, no DTD (so no entity expansion and no external
entity), well-formedness, then the official XSD of its version and message family.

Every problem names the element path, the line and the reason, so that the person who runs
the import (or the ERP team reading the API answer) can fix the file without guessing.
"""

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import xmlschema
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeElementTree
from lxml import etree

SCHEMAS = Path(__file__).resolve().parent / "schemas"
MAX_BYTES = 5 * 1024 * 1024  # an ERP's schedule for a plant is kilobytes; 5 MiB is generous
MAX_PROBLEMS = 50  # per file: enough to fix it, not a megabyte of errors
MAX_DEPTH = 64  # B2MML nests segments; nothing legitimate goes this deep

NAMESPACES = {
    "http://www.mesa.org/xml/B2MML-V0600": "V0600",
    "http://www.wbf.org/xml/B2MML-V0401": "V0401",
}
NAMESPACE = {version: ns for ns, version in NAMESPACES.items()}
# Verbs (OAGIS BOD) whose message carries data to import; Get/Cancel/Acknowledge/Confirm ask
# or answer and carry nothing for us.
VERBS = ("Process", "Sync", "Change", "Show", "Respond", "")
# Message family → (entry schema, the nouns a root element may name).
FAMILIES = {
    "schedule": ("ProductionSchedule", ("ProductionSchedule",)),
    "performance": ("ProductionPerformance", ("ProductionPerformance",)),
    "material": (
        "Material",
        ("MaterialInformation", "MaterialDefinition", "MaterialLot", "MaterialSubLot"),
    ),
}


@dataclass(frozen=True)
class Problem:
    path: str
    line: int | None
    reason: str

    def as_dict(self) -> dict:
        return {"path": self.path, "line": self.line, "reason": self.reason}

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "line ?"
        return f"{self.path or '/'} ({where}): {self.reason}"


class B2mmlError(Exception):
    """The file is refused; ``problems`` says where and why. Nothing was written."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(str(p) for p in problems[:3]))
        self.problems = problems[:MAX_PROBLEMS]


@dataclass
class Document:
    version: str  # "V0600" | "V0401"
    family: str  # "schedule" | "performance" | "material"
    verb: str  # "Process", "Sync", … or "" for a bare noun
    noun: str  # "ProductionSchedule", "MaterialInformation", …
    root: etree._Element
    ns: str

    def q(self, local: str) -> str:
        """The qualified tag of a B2MML element of this document's version."""
        return f"{{{self.ns}}}{local}"


def local_name(element) -> str:
    tag = element.tag if isinstance(element.tag, str) else ""
    return tag.rpartition("}")[2]


def element_path(element) -> str:
    """``/ProcessProductionSchedule/DataArea/ProductionSchedule/ProductionRequest[2]/ID``: the
    local names, with a 1-based position where siblings share a name."""
    parts = []
    while element is not None:
        name = local_name(element)
        parent = element.getparent()
        if parent is not None:
            same = [child for child in parent if child.tag == element.tag]
            if len(same) > 1:
                name += f"[{same.index(element) + 1}]"
        parts.append(name)
        element = parent
    return "/" + "/".join(reversed(parts))


def problem_at(element, reason: str) -> Problem:
    return Problem(element_path(element), element.sourceline, reason)


@cache
def schema_for(version: str, family: str) -> xmlschema.XMLSchema:
    """The official entry schema (compiled once per process: about half a second each).
    Only files copied into the project are read; nothing is fetched."""
    entry = FAMILIES[family][0]
    return xmlschema.XMLSchema(
        str(SCHEMAS / version / f"B2MML-{version}-{entry}.xsd"), allow="local"
    )


def _parser() -> etree.XMLParser:
    # Belt and braces after the defusedxml check: no DTD loaded, no entity resolved, no
    # network, libxml2's own size limits kept (huge_tree off).
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
    )


def _refuse_hostile(data: bytes) -> None:
    """defusedxml first: a DOCTYPE (how entity expansion and external entities arrive; B2MML
    needs none) is refused when the parser reaches it, before the rest is read."""
    try:
        SafeElementTree.fromstring(
            data, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException as exc:
        raise B2mmlError(
            [
                Problem(
                    "/",
                    None,
                    f"refused: {type(exc).__name__} — a B2MML file must not carry a DOCTYPE, "
                    "entities or external references",
                )
            ]
        ) from None
    except SafeElementTree.ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else None
        raise B2mmlError([Problem("/", line, f"not well-formed XML: {exc}")]) from None
    except (ValueError, RecursionError) as exc:
        raise B2mmlError([Problem("/", None, f"not well-formed XML: {exc}")]) from None


def document_read(data: bytes) -> Document:
    """Parse and schema-validate one B2MML file; ``B2mmlError`` lists what is wrong.

    A UTF-8 byte-order mark and CRLF line ends are fine (the XML parsers handle both).
    """
    if not isinstance(data, bytes):
        raise TypeError("document_read takes the file's bytes")
    if len(data) > MAX_BYTES:
        raise B2mmlError([Problem("/", None, f"file is over {MAX_BYTES} bytes")])
    if not data.strip():
        raise B2mmlError([Problem("/", None, "file is empty")])
    _refuse_hostile(data)
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise B2mmlError([Problem("/", exc.lineno, f"not well-formed XML: {exc.msg}")]) from None
    if root is None:
        raise B2mmlError([Problem("/", None, "file holds no XML element")])
    _depth_check(root)
    document = _kind(root)
    _schema_check(document)
    return document


def _depth_check(root) -> None:
    for element in root.iter():
        depth = sum(1 for _ in element.iterancestors())
        if depth > MAX_DEPTH:
            raise B2mmlError([problem_at(element, f"nested more than {MAX_DEPTH} levels deep")])


def _kind(root) -> Document:
    ns, _, name = root.tag.partition("}") if root.tag.startswith("{") else ("", "", root.tag)
    ns = ns.lstrip("{")
    version = NAMESPACES.get(ns)
    if version is None:
        raise B2mmlError(
            [
                problem_at(
                    root,
                    f"namespace {ns or '(none)'!r} is not B2MML V0600 "
                    f"({NAMESPACE['V0600']}) or V0401 ({NAMESPACE['V0401']})",
                )
            ]
        )
    for family, (_, nouns) in FAMILIES.items():
        for noun in nouns:
            if name.endswith(noun) and name[: -len(noun)] in VERBS:
                return Document(version, family, name[: -len(noun)], noun, root, ns)
    supported = ", ".join(noun for _, nouns in FAMILIES.values() for noun in nouns)
    raise B2mmlError(
        [
            problem_at(
                root,
                f"{name} is not imported: the import takes {supported} messages, bare or with "
                f"the verb {', '.join(v for v in VERBS if v)}",
            )
        ]
    )


_CLASS_NOISE = re.compile(r" for <class '[^']*'>")  # the validator's Python type names


def _schema_check(document: Document) -> None:
    schema = schema_for(document.version, document.family)
    problems = []
    # No location hints: a file's xsi:schemaLocation must never make us fetch a schema.
    for error in schema.iter_errors(document.root, use_location_hints=False):
        element = error.elem if etree.iselement(error.elem) else None
        line = getattr(element, "sourceline", None) if element is not None else None
        path = element_path(element) if element is not None else (error.path or "/")
        reason = _CLASS_NOISE.sub("", error.reason or error.message)
        problems.append(Problem(path, line, f"schema: {reason}"))
        if len(problems) >= MAX_PROBLEMS:
            break
    if problems:
        raise B2mmlError(problems)
