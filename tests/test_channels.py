"""Channels (X, beta, aliases), named versions with previews, gating and feature groups."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from datever import Change, ChangeError, Engine, Version, VersionError, add, rename
from datever.changes import load_changes
from datever.errors import AccessError
from datever.groups import FeatureGroups
from datever.versions import Timeline

TODAY = dt.date(2024, 6, 1)


def dated() -> Timeline:
    """Two releases, one beta and one experimental change on charges, all versioned."""
    return Timeline([
        Change(released="2021-01-01", description="a", id="c1",
               resources={"charge": [rename("amount_cents", "amount")]}),
        Change(released="2022-01-01", description="b", id="c2",
               resources={"charge": [add("currency", "usd")]}, retroactive=False),
        Change(stage="beta", description="beta", id="c3",
               resources={"charge": [add("risk", 0)]}, retroactive=False),
        Change(stage="experimental", description="x", id="c4",
               resources={"charge": [add("trace", "")]}, retroactive=False),
    ], aliases={"playground": "X", "latest-beta": "beta"})


def test_beta_is_the_newest_release_plus_beta_changes() -> None:
    """beta undoes only the experimental changes and is flagged unstable."""
    version = dated().resolve("beta", today=TODAY)
    assert [c.id for c in version.pending] == ["c4"]
    assert version.channel == "beta"
    assert version.unstable
    assert version.warning


def test_newest_release_still_undoes_beta_and_experimental() -> None:
    """Today's date gives the newest release, without the beta and experimental changes."""
    version = dated().resolve(TODAY.isoformat(), today=TODAY)
    assert [c.id for c in version.pending] == ["c3", "c4"]
    assert not version.unstable


def test_alias_resolves_to_its_target_and_keeps_the_requested_text() -> None:
    """A configured alias (playground -> X) resolves like its target."""
    version = dated().resolve("playground", today=TODAY)
    assert version.name == "X"
    assert version.requested == "playground"
    assert version.unstable


def test_alias_to_beta() -> None:
    """An alias may point at beta."""
    assert dated().resolve("latest-beta", today=TODAY).channel == "beta"


@pytest.mark.parametrize("alias", ["X", "beta", "v1", "2021-01-01"])
def test_alias_may_not_hide_a_version(alias: str) -> None:
    """An alias named like a version is refused."""
    with pytest.raises(ValueError, match="hide"):
        Timeline([], aliases={alias: "X"})


def test_unknown_alias_is_a_version_error_listing_aliases() -> None:
    """A malformed version on a timeline with aliases lists them among the accepted forms."""
    with pytest.raises(VersionError) as raised:
        dated().resolve("sandbox", today=TODAY)
    assert "'playground'" in raised.value.accepted
    assert "beta" in raised.value.accepted


def test_stable_and_initial_are_not_unstable() -> None:
    """Dated releases and v1 are stable channels."""
    timeline = dated()
    assert not timeline.resolve("2021-06-01", today=TODAY).unstable
    assert timeline.resolve("v1", today=TODAY).channel == "initial"


# -- named versions ---------------------------------------------------------------


def named(**kwargs: object) -> Timeline:
    """A Climatiq-style group: v1, v2-preview1, v2-preview2, v2, with one change each,
    all versioned."""
    return Timeline([
        Change(released="v2-preview1", description="p1", id="p1",
               resources={"estimate": [rename("co2", "co2e")]}),
        Change(released="v2-preview2", description="p2", id="p2",
               resources={"estimate": [add("unit", "kg")]}, retroactive=False),
        Change(released="v2", description="ga", id="ga",
               resources={"estimate": [rename("source", "source_trail")]}),
    ], name="compute", **kwargs)  # type: ignore[arg-type]


def test_named_versions_are_ordered_previews_before_ga() -> None:
    """Previews of v2 come after v1 and before v2."""
    assert named().versions == ("v1", "v2-preview1", "v2-preview2", "v2")


def test_named_versions_resolve_exactly() -> None:
    """Each named version undoes exactly the changes released after it."""
    timeline = named()
    pending = {name: [c.id for c in timeline.resolve(name, today=TODAY).pending]
               for name in timeline.versions}
    assert pending == {"v1": ["p1", "p2", "ga"], "v2-preview1": ["p2", "ga"],
                       "v2-preview2": ["ga"], "v2": []}


def test_preview_is_an_unstable_channel_with_a_warning() -> None:
    """A preview version is flagged unstable and warned about."""
    version = named().resolve("v2-preview1", today=TODAY)
    assert version.channel == "preview"
    assert version.unstable
    assert version.warning is not None
    assert "preview" in version.warning


@pytest.mark.parametrize("text", ["v3", "v2-preview3", "2024-01-01", "v2-beta1"])
def test_unknown_named_version_is_rejected_with_the_list(text: str) -> None:
    """A name the group does not have is an error listing the group's versions."""
    with pytest.raises(VersionError) as raised:
        named().resolve(text, today=TODAY)
    assert "v2-preview2" in raised.value.accepted


def test_declared_versions_may_include_a_ga_without_changes() -> None:
    """A GA version with no change of its own resolves to the same shape as its last preview."""
    timeline = Timeline([
        Change(released="v2-preview1", description="p1", id="p1",
               resources={"estimate": [add("unit", "kg")]}, retroactive=False),
    ], versions=["v1", "v2-preview1", "v2"])
    assert timeline.resolve("v2", today=TODAY).pending == ()
    assert timeline.resolve("v2", today=TODAY).channel == "stable"


def test_declared_versions_must_be_in_order() -> None:
    """Versions listed out of order are refused."""
    with pytest.raises(ChangeError, match="in order"):
        Timeline([], versions=["v1", "v2", "v2-preview1"])


def test_change_released_in_an_undeclared_version_is_refused() -> None:
    """A change whose version is not listed names itself."""
    with pytest.raises(ChangeError, match="p9"):
        Timeline([Change(released="v3", description="x", id="p9",
                         resources={"estimate": [add("a", 1)]}, retroactive=False)],
                 versions=["v1", "v2"])


def test_dated_and_named_changes_cannot_mix() -> None:
    """One timeline uses one scheme."""
    with pytest.raises(ChangeError, match="mixes"):
        Timeline([
            Change(released="v2", description="a", id="a", resources={"r": [add("x", 1)]}),
            Change(released="2020-01-01", description="b", id="b",
                   resources={"r": [add("y", 1)]}),
        ])


def test_named_change_files_are_named_after_their_version(tmp_path: Path) -> None:
    """The loader wants v2_preview1_<summary>.py for a change released in v2-preview1."""
    body = ('"""Doc."""\nfrom datever import Change, add\n'
            'change = Change(released="v2-preview1", resources={"e": [add("a", 1)]})\n')
    (tmp_path / "v2_preview1_unit.py").write_text(body)
    assert [c.named for c in load_changes(tmp_path)] == ["v2-preview1"]
    (tmp_path / "v2_preview1_unit.py").rename(tmp_path / "unit.py")
    with pytest.raises(ChangeError, match="v2_preview1_"):
        load_changes(tmp_path)


def test_named_pipelines_migrate_payloads() -> None:
    """An engine over a named timeline migrates down to a preview."""
    engine = Engine(named())
    head = {"object": "estimate", "co2e": 1.5, "unit": "kg", "source_trail": "x"}
    assert engine.down(head, "v2-preview1") == {"object": "estimate", "co2e": 1.5,
                                                "source": "x"}


# -- preview gating -----------------------------------------------------------------


def only_partners(client: str | None, version: Version) -> bool:
    """Previews are open to the client called 'partner'."""
    return client == "partner"


def test_gated_preview_refuses_a_client_without_access() -> None:
    """A client the hook refuses gets an AccessError naming the preview."""
    timeline = named(preview_access=only_partners)
    version = timeline.resolve("v2-preview2", today=TODAY)
    with pytest.raises(AccessError) as raised:
        timeline.check_access(version, "someone")
    assert raised.value.version == "v2-preview2"
    assert "preview" in str(raised.value)


def test_gated_preview_admits_a_client_with_access() -> None:
    """The hook's yes lets the client through; GA versions are never gated."""
    timeline = named(preview_access=only_partners)
    timeline.check_access(timeline.resolve("v2-preview2", today=TODAY), "partner")
    timeline.check_access(timeline.resolve("v2", today=TODAY), "someone")


def test_previews_are_open_without_a_hook() -> None:
    """With no access hook, previews are open to everyone."""
    timeline = named()
    timeline.check_access(timeline.resolve("v2-preview1", today=TODAY), None)


# -- feature groups -----------------------------------------------------------------


def groups() -> FeatureGroups:
    """A compute group (named) and a data group (dated)."""
    return FeatureGroups({"compute": Engine(named()), "data": Engine(dated())})


def test_route_finds_group_version_and_rest() -> None:
    """/compute/v2-preview1/estimate splits into group, version and path."""
    route = groups().route("/compute/v2-preview1/estimate")
    assert (route.group, route.version, route.path) == ("compute", "v2-preview1", "/estimate")


def test_route_without_version_segment() -> None:
    """A path with no version segment leaves version None."""
    route = groups().route("/data/search")
    assert (route.group, route.version, route.path) == ("data", None, "/search")


def test_groups_version_independently() -> None:
    """A version string means different things in different groups."""
    compute, data = groups()["compute"], groups()["data"]
    assert compute.resolve("v1", today=TODAY).pending != data.resolve("v1", today=TODAY).pending
    with pytest.raises(VersionError):
        compute.resolve("2021-06-01", today=TODAY)


def test_unknown_group_is_an_error_listing_groups() -> None:
    """A path outside every group names the groups there are."""
    with pytest.raises(Exception, match="compute, data"):
        groups().route("/billing/v1/x")


def test_beta_since_dates_a_beta_change() -> None:
    """beta_since is parsed as a date on a beta change and refused on others."""
    change = Change(stage="beta", beta_since="2024-05-01", description="b", id="b",
                    resources={"charge": [rename("a", "b")]})
    assert change.beta_since == dt.date(2024, 5, 1)
    with pytest.raises(ChangeError, match="beta_since"):
        Change(released="2024-01-01", beta_since="2024-05-01", description="r", id="r",
               resources={"charge": [rename("a", "b")]})
