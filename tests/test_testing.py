"""datever.testing: strategies that draw only valid payloads, and verify() for users' suites."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import importlib
import re
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datever import API, Schemas
from datever.changes import load_schemas
from datever.testing import head_payloads, payloads, requests, verify
from datever.versions import Timeline
from tests.reference import CHANGES

SCHEMAS = load_schemas(CHANGES)
assert SCHEMAS is not None
V1 = Timeline([]).resolve("v1")
REFERENCE = API(CHANGES)
FEW = settings(max_examples=25, deadline=None)

SCHEMAS_PY = '''
from typing import Literal

import msgspec

from datever import API, Schemas


class Customer(msgspec.Struct, tag_field="object", tag="customer", forbid_unknown_fields=True):
    id: str
    email: str | None


class Charge(msgspec.Struct, tag_field="object", tag="charge", forbid_unknown_fields=True):
    id: str
    amount: int
    status: Literal["succeeded", "pending"]
    customer: str | Customer
    metadata: dict[str, str]


class ChargeCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    amount: int
    customer: str
    description: str | None = None


schemas = Schemas([Charge], requests={"charge.create": ChargeCreate})
'''

SOUND = {
    "2021_01_04_amount_renamed.py": '''
        """Charges call their amount `amount` (it was `total`)."""
        from datever import Change, rename

        change = Change(released="2021-01-04", resources={
            "charge": [rename("total", "amount")],
            "charge.create": [rename("total", "amount")],
        })
    ''',
    "2022_03_07_status_succeeded.py": '''
        """A successful charge is `succeeded` (it was `paid`)."""
        from datever import Change, map_values

        change = Change(released="2022-03-07", resources={
            "charge": [map_values("status", {"paid": "succeeded"})],
        })
    ''',
}


def write_history(root: Path, modules: dict[str, str], schemas: str = SCHEMAS_PY) -> Path:
    """A changes directory holding ``schemas`` (its schemas.py) and ``modules``."""
    changes = root / "changes"
    changes.mkdir()
    (changes / "schemas.py").write_text(schemas)
    for name, source in modules.items():
        (changes / name).write_text(textwrap.dedent(source))
    return changes


def run_pytest(root: Path, changes: Path) -> str:
    """The output of a pytest run of a test module holding ``verify(changes)``."""
    (root / "test_history.py").write_text(
        "import datever.testing\n\n"
        f"test_versions = datever.testing.verify({str(changes)!r}, max_examples=20)\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "test_history.py"], cwd=root, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    return done.stdout


# -- importing ----------------------------------------------------------------------


def test_import_datever_does_not_import_hypothesis() -> None:
    """``import datever`` leaves hypothesis unimported: it is only a testing extra."""
    code = "import sys, datever; print('hypothesis' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "False"


def test_without_hypothesis_the_error_says_what_to_install(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Importing datever.testing without hypothesis names the extra to install."""
    monkeypatch.setitem(sys.modules, "hypothesis", None)
    monkeypatch.delitem(sys.modules, "datever.testing")
    with pytest.raises(ImportError, match=r"pip install 'datever\[testing\]'"):
        importlib.import_module("datever.testing")


# -- strategies -----------------------------------------------------------------------


@FEW
@given(head_payloads(SCHEMAS))
def test_head_payloads_validate_against_the_head_structs(case: tuple[str, Any]) -> None:
    """Every drawn head response, list envelopes and nested resources included, converts
    into its head Struct."""
    name, payload = case
    msgspec.convert(payload, SCHEMAS.head[name])


@FEW
@given(st.data())
def test_old_requests_validate_against_their_versions_struct(data: st.DataObject) -> None:
    """requests() draws bodies valid against the derived Struct of their version."""
    version = REFERENCE.resolve("v1")
    name = data.draw(st.sampled_from(["charge.create", "customer.create", "refund.create",
                                      "payment_method.create"]))
    body = data.draw(requests(SCHEMAS, name, version))
    msgspec.convert(body, SCHEMAS.at(version)[name])


class Colour(enum.Enum):
    """An enum property."""

    RED = "red"
    BLUE = "blue"


class Box(msgspec.Struct, tag_field="object", tag="box"):
    """A resource of every kind of property, with Meta constraints."""

    small: Annotated[int, msgspec.Meta(gt=0, le=10, multiple_of=3)]
    ratio: Annotated[float, msgspec.Meta(ge=0.0, lt=1.0)]
    code: Annotated[str, msgspec.Meta(pattern="^[a-z]{3}$")]
    short: Annotated[str, msgspec.Meta(min_length=2, max_length=4)]
    kind: Literal["a", "b"]
    colour: Colour
    when: dt.datetime
    day: dt.date
    at: dt.time
    span: dt.timedelta
    key: uuid.UUID
    raw: bytes
    pair: tuple[int, str]
    tags: set[str]
    anything: Any
    price: decimal.Decimal
    labelled: Annotated[int, msgspec.Meta(title="labelled")]
    mixed: dict[str, Box | None] | list[Box] | Annotated[int, msgspec.Meta(title="n")] | None
    inner: Box | None = None
    many: Annotated[list[int], msgspec.Meta(min_length=1, max_length=2)] = msgspec.field(
        default_factory=lambda: [0])


@FEW
@given(payloads(Schemas([Box]), "box"))
def test_meta_constraints_and_encoded_types_are_honoured(payload: dict[str, Any]) -> None:
    """Bounds, patterns, lengths, enums, dates, uuids and bytes are drawn valid."""
    box = msgspec.convert(payload, Box)
    assert box.small in (3, 6, 9)
    assert 2 <= len(box.short) <= 4


class Item(msgspec.Struct, tag_field="object", tag="item"):
    """A resource of a schema that declares no list envelope."""

    id: str


@FEW
@given(payloads(Schemas([Item]), "list"))
def test_an_undeclared_list_envelope_holds_valid_resources(payload: dict[str, Any]) -> None:
    """``"list"`` draws ``{"object": "list", "data": [...]}`` of valid resources."""
    assert payload["object"] == "list"
    for item in payload["data"]:
        msgspec.convert(item, Item)


class Loop(msgspec.Struct, tag_field="object", tag="loop"):
    """A resource that requires itself: it has no finite payload."""

    next: Loop


def test_a_struct_that_requires_itself_is_refused() -> None:
    """A shape with no way to stop nesting is a TypeError naming it."""
    with pytest.raises(TypeError, match="Loop cannot be drawn"):
        payloads(Schemas([Loop]), "loop")


class Row(msgspec.Struct, array_like=True):
    """Encoded as a JSON array."""

    id: str


class Odd(msgspec.Struct, tag_field="object", tag="odd"):
    """A resource holding what a JSON object drawn from it cannot."""

    row: Row


class Ext(msgspec.Struct, tag_field="object", tag="ext"):
    """A resource holding a msgpack extension."""

    blob: msgspec.msgpack.Ext


@pytest.mark.parametrize(("schemas", "message"), [
    (Schemas([Odd]), "Row is array_like"), (Schemas([Ext]), "cannot draw JSON for ExtType")])
def test_types_json_objects_cannot_hold_are_refused(schemas: Schemas, message: str) -> None:
    """An array-like Struct or a msgpack extension is a TypeError naming it."""
    with pytest.raises(TypeError, match=message):
        payloads(schemas, next(iter(schemas.head)))


def test_unknown_names_are_refused() -> None:
    """payloads() names what the schemas describe; requests() refuses a response resource."""
    with pytest.raises(KeyError, match="no resource 'chrage'"):
        payloads(SCHEMAS, "chrage")
    with pytest.raises(KeyError, match="'charge' is not a request body"):
        requests(SCHEMAS, "charge", V1)


# -- verify ---------------------------------------------------------------------------


def test_verify_passes_on_a_sound_history(tmp_path: Path) -> None:
    """Every version of a history whose shapes and transforms agree passes."""
    test = verify(write_history(tmp_path, SOUND), max_examples=20)
    versions = test.pytestmark[0].args[1]  # type: ignore[attr-defined]
    assert versions == ["v1", "2021-01-04"]
    for version in versions:
        test(version)


def test_verify_needs_head_shapes(tmp_path: Path) -> None:
    """Without schemas, verify says how to declare them."""
    (tmp_path / "changes").mkdir()
    with pytest.raises(ValueError, match="give schemas="):
        verify(tmp_path / "changes")


def test_a_wrong_old_type_fails_naming_the_change_and_the_example(tmp_path: Path) -> None:
    """A convert whose old_type is not what its down returns fails the down law, naming
    the change (not the newer one undone before it), with hypothesis' shrunk example."""
    broken = {**SOUND, "2021_06_01_amount_as_int.py": '''
        """Amounts are integers (they were strings)."""
        from datever import Change, convert

        change = Change(released="2021-06-01", resources={
            "charge": [convert("amount", down=str, up=int, old_type=int)],
        })
    '''}
    output = run_pytest(tmp_path, write_history(tmp_path, broken))
    for version in ("v1", "2021-01-04"):
        assert ("law broken: down of a valid head payload is valid at the old version "
                f"(version {version}, change 2021_06_01_amount_as_int)") in output
    assert re.search(r"(Falsifying example|Failing test case): down_to_2021_01_04\(", output)
    assert "'amount': '0'" in output  # the shrunk charge, as the old version sees it
    assert "1 passed" in output  # 2021-06-01: the broken change is not pending there


def test_an_up_transform_that_breaks_the_head_shape_fails(tmp_path: Path) -> None:
    """A custom up that leaves a request invalid at the head fails the up law."""
    broken = {**SOUND, "2023_05_01_customer_required.py": '''
        """Charge creation requests name their customer."""
        from datever import Change, custom

        def _drop(body):
            body.pop("customer")

        change = Change(released="2023-05-01", resources={
            "charge.create": [custom(up=_drop, touches=["customer"],
                                     old_types={"customer": str})],
        })
    '''}
    output = run_pytest(tmp_path, write_history(tmp_path, broken))
    assert ("law broken: up of a valid old request is valid at the head "
            "(version 2022-03-07, change 2023_05_01_customer_required)") in output
    assert re.search(r"(Falsifying example|Failing test case): up_from_2022_03_07\(", output)
    assert "'charge.create'" in output


def run_versions(changes: Path, max_examples: int = 20, **options: Any) -> None:
    """Run verify's test at each of its versions, here."""
    test = verify(changes, max_examples=max_examples, **options)
    for version in test.pytestmark[0].args[1]:  # type: ignore[attr-defined]
        test(version)


def test_a_transform_that_raises_fails_naming_the_change(tmp_path: Path) -> None:
    """A down that raises on a valid head payload fails the law that down migrates it."""
    broken = {**SOUND, "2023_05_01_amount_inverted.py": '''
        """Amounts were inverted."""
        from datever import Change, convert

        change = Change(released="2023-05-01", resources={
            "charge": [convert("amount", down=lambda v: 1 // v, up=int, old_type=int)],
        })
    '''}
    with pytest.raises(AssertionError, match=r"law broken: down of a valid payload migrates "
                       r"\(version 2022-03-07, change 2023_05_01_amount_inverted\)"):
        run_versions(write_history(tmp_path, broken), versions=["2022-03-07"])


def test_a_lossless_change_that_loses_fails_the_round_trip(tmp_path: Path) -> None:
    """A change declared lossless whose up does not undo its down fails the round trip."""
    broken = {**SOUND, "2023_05_01_amount_positive.py": '''
        """Amounts may be negative (they were positive)."""
        from datever import Change, convert

        change = Change(released="2023-05-01", resources={
            "charge": [convert("amount", down=abs, up=int, old_type=int, lossless=True)],
        })
    '''}
    with pytest.raises(AssertionError, match=r"law broken: round trip: up\(down\(x\)\) == x "
                       r"for a lossless change \(version 2022-03-07, "
                       r"change 2023_05_01_amount_positive\)"):
        # only a negative amount shows the loss: enough examples that one is always drawn
        run_versions(write_history(tmp_path, broken), max_examples=300,
                     versions=["2022-03-07"])


def test_verify_takes_schemas_without_request_bodies(tmp_path: Path) -> None:
    """With no request body declared, only the down laws run, and they pass."""
    responses_only = SCHEMAS_PY.replace(', requests={"charge.create": ChargeCreate}', "")
    sound = {"2022_03_07_status_succeeded.py": SOUND["2022_03_07_status_succeeded.py"]}
    run_versions(write_history(tmp_path, sound, responses_only))
