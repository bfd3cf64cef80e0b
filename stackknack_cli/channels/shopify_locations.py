"""Which Shopify locations count towards what the channel holds, and which receives
the pushes.

The settings of the ``shopify`` channel keep the push location as ``location_id`` and
``location_name`` (as before several locations could count) and the further counting
locations as ``count_locations``, a list of ``{"id", "name"}``. The push location
always counts. No network calls here: callers pass the shop's active locations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from stackknack_cli.channels import shopify_queries as q
from stackknack_cli.channels.shopify import Location
from stackknack_cli.errors import ConfigError, InputError

MAX_COUNT_LOCATIONS = 50
"""Further counting locations allowed: each one adds two points to every variant read,
and a page of variants must stay under Shopify's 1,000-point query cap."""


@dataclass(frozen=True)
class LocationPlan:
    """The push location and the further locations whose stock counts with it."""

    push: Location
    others: tuple[Location, ...] = ()

    @property
    def counting(self) -> tuple[Location, ...]:
        return (self.push, *self.others)

    def settings(self) -> dict[str, Any]:
        """Return the channel settings that record this plan."""
        return {
            "location_id": self.push.id,
            "location_name": self.push.name,
            "count_locations": [
                {"id": loc.id, "name": loc.name} for loc in self.others
            ],
        }

    def describe(self) -> str:
        names = ", ".join(loc.name for loc in self.counting)
        return f"pushes go to {self.push.name}; counting: {names}"


def count_ids(settings: Mapping[str, Any]) -> list[str]:
    """Return the ids of the further counting locations kept in ``settings``."""
    push = settings.get("location_id")
    found = [str(entry.get("id")) for entry in settings.get("count_locations") or []]
    return [ref for ref in dict.fromkeys(found) if ref and ref != push]


def require_names(option: str, values: Sequence[str]) -> None:
    """Raise ``InputError`` when a location option was given an empty name."""
    if any(not value.strip() for value in values):
        raise InputError(f"{option} needs a location name or id, not an empty one")


def stored_push(
    locations: Sequence[Location], settings: Mapping[str, Any] | None
) -> Location | None:
    """Return the push location ``settings`` keep, while it is still active."""
    push_id = (settings or {}).get("location_id")
    return next((loc for loc in locations if push_id and loc.id == push_id), None)


def is_same_choice(plan: LocationPlan, settings: Mapping[str, Any] | None) -> bool:
    """Tell whether ``settings`` already record ``plan``'s push and counting
    locations (in any order)."""
    if not settings or settings.get("location_id") != plan.push.id:
        return False
    return set(count_ids(settings)) == {loc.id for loc in plan.others}


def find_location(
    locations: Sequence[Location], wanted: str, *, option: str
) -> Location:
    """Return the location ``wanted`` names (gid, numeric id or name, any case).

    Raises ``ConfigError`` naming the known locations when none matches.
    """
    for location in locations:
        numeric = location.id.rsplit("/", 1)[-1]
        if wanted in (location.id, numeric) or wanted.lower() == location.name.lower():
            return location
    unique = {loc.id: loc for loc in locations}.values()
    known = ", ".join(f"{loc.name} ({loc.id})" for loc in unique) or "none"
    raise ConfigError(
        f"no active shopify location matches {wanted!r} ({option}); known: {known}"
    )


def plan_for_connect(
    locations: Sequence[Location],
    push: Location,
    *,
    count: Sequence[str],
    previous: Mapping[str, Any] | None,
) -> tuple[LocationPlan, list[str]]:
    """Return the plan ``connect`` records, and the names of counting locations dropped.

    ``count`` (``--count-location``) replaces the further counting locations; without
    it, those of ``previous`` settings are kept while they are still active.
    """
    if count:
        others = [find_location(locations, w, option="--count-location") for w in count]
        return _plan(push, others), []
    kept, dropped = _still_active(locations, previous or {})
    return _plan(push, kept), dropped


def plan_change(
    locations: Sequence[Location],
    settings: Mapping[str, Any],
    *,
    push: str | None = None,
    count: Sequence[str] = (),
    ignore: Sequence[str] = (),
) -> tuple[LocationPlan, list[str]]:
    """Return ``settings``' plan changed as asked, and the names of counting locations
    dropped because they are no longer active.

    ``push`` becomes the push location; the previous one keeps counting unless it is
    in ``ignore``. ``count`` adds counting locations, ``ignore`` removes them. Raises
    ``ConfigError`` for an unknown location, for ignoring the push location, and for
    a location both counted and ignored.
    """
    current = _current_push(locations, settings, replaced=push is not None)
    kept, dropped = _still_active(locations, settings)
    if push is not None:
        chosen = find_location(locations, push, option="--push")
        if current is not None:
            kept.insert(0, current)
        current = chosen
    assert current is not None

    added = [find_location(locations, w, option="--count") for w in count]
    # A counting location no longer active may be named too: it is dropped anyway.
    known = [*locations, *_configured(settings)]
    removed = [find_location(known, w, option="--ignore") for w in ignore]
    both = {loc.id for loc in added} & {loc.id for loc in removed}
    if both:
        names = ", ".join(loc.name for loc in added if loc.id in both)
        raise ConfigError(f"{names}: both --count and --ignore; choose one")
    if any(loc.id == current.id for loc in removed):
        raise ConfigError(
            f"{current.name} receives the pushes and always counts; "
            "choose another with --push first"
        )
    gone = {loc.id for loc in removed}
    return _plan(current, [loc for loc in kept + added if loc.id not in gone]), dropped


def stored_plan(
    locations: Sequence[Location], settings: Mapping[str, Any]
) -> tuple[LocationPlan | None, list[str]]:
    """Return the plan ``settings`` hold, resolved against the active locations, and
    the ids of configured locations that are no longer active."""
    by_id = {loc.id: loc for loc in locations}
    push_id = str(settings.get("location_id") or "")
    wanted = [push_id, *count_ids(settings)] if push_id else count_ids(settings)
    missing = [ref for ref in wanted if ref not in by_id]
    if push_id not in by_id:
        return None, missing
    others = [by_id[ref] for ref in count_ids(settings) if ref in by_id]
    return LocationPlan(by_id[push_id], tuple(others)), missing


def _current_push(
    locations: Sequence[Location], settings: Mapping[str, Any], *, replaced: bool
) -> Location | None:
    push_id = settings.get("location_id")
    found = next((loc for loc in locations if loc.id == push_id), None)
    if found is None and not replaced:
        name = settings.get("location_name") or push_id or "none"
        known = ", ".join(f"{loc.name} ({loc.id})" for loc in locations) or "none"
        raise ConfigError(
            f"the shopify push location {name} is no longer active; "
            f"choose one with --push: {known}"
        )
    return found


def _still_active(
    locations: Sequence[Location], settings: Mapping[str, Any]
) -> tuple[list[Location], list[str]]:
    by_id = {loc.id: loc for loc in locations}
    names = {
        str(entry.get("id")): str(entry.get("name") or entry.get("id"))
        for entry in settings.get("count_locations") or []
    }
    ids = count_ids(settings)
    kept = [by_id[ref] for ref in ids if ref in by_id]
    dropped = [names.get(ref, ref) for ref in ids if ref not in by_id]
    return kept, dropped


def _configured(settings: Mapping[str, Any]) -> list[Location]:
    return [
        Location(str(entry.get("id")), str(entry.get("name") or entry.get("id")))
        for entry in settings.get("count_locations") or []
    ]


def _plan(push: Location, others: Sequence[Location]) -> LocationPlan:
    unique = {loc.id: loc for loc in others if loc.id != push.id}
    if len(unique) > MAX_COUNT_LOCATIONS:
        raise ConfigError(
            f"{len(unique)} further counting locations asked; at most "
            f"{MAX_COUNT_LOCATIONS} fit in one Shopify query"
        )
    # Every read of a page of variants must stay within the query cost cap.
    assert q.variant_node_cost(len(unique)) + 2 <= q.MAX_QUERY_COST
    return LocationPlan(push, tuple(unique.values()))
