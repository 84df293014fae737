"""Where is a certificate used? The one registry every referencing feature goes through.

A feature that points at certificates registers its foreign key here (`register(...)`); the
detail page lists the uses, Delete is refused while any exists (services, admin, API and the
database's on_delete=PROTECT alike), list pages ask for many certificates at once, and
services.replace moves every use of one certificate to another.

Every question is ONE query: a UNION ALL with one branch per registered foreign key, each
branch an index lookup (`fk IN (...)`; Django indexes every ForeignKey). So a list page costs
the same number of queries for 10 rows as for 10,000, whatever the number of kinds of use.
The statement is written from the models' metadata rather than composed with the ORM:
composing and compiling a four-branch union took longer than running it (~3 ms a page).
"""

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple
from uuid import UUID

from django.db import connection, models

from certadmin import kinds
from orgs.links import PathBuilder, current_urlconf, path_builder

# (org public id, uuid of the using object) -> the page where an admin sees or changes it.
UrlBuilder = PathBuilder
# A parameter of the union: a fixed name, a target or organization id, a using object's uuid.
SqlParam = str | int | UUID


class Use(NamedTuple):
    """One use of a certificate. A named tuple, not a dataclass: list pages build a hundred,
    and a frozen dataclass takes four times as long to make."""

    kind: str  # e.g. "SAML SSO configuration (Request Signing Certificate)"
    name: str  # the using object's name
    url: str  # where an admin can see or change it
    ref: str = ""  # the using object's uuid, as its canonical text

    @property
    def title(self) -> str:
        """Kind and name in a sentence: "SAML SSO configuration (...) Okta", and the
        singleton's name once ("Identity Provider", never "Identity Provider Identity
        Provider")."""
        return self.kind if self.name == self.kind else f"{self.kind} {self.name}"


@dataclass(frozen=True)
class UseKind:
    model: type[models.Model]
    field: str  # a ForeignKey (on_delete=PROTECT) to the certificate model it is a use of
    kind: str
    url: UrlBuilder
    name_field: str | None  # the using object's name column, or
    fixed_name: str  # the name of every object of this kind (a singleton per org)
    key_types: tuple[str, ...] | None  # key types a certificate needs to take this use
    moves_to: str  # the foreign key a replacement certificate goes into

    @property
    def target(self) -> type[models.Model]:
        """The model this kind of use points at (Certificate, or the retired proxy)."""
        related = self.model._meta.get_field(self.field).related_model
        assert isinstance(related, type)
        return related


_KINDS: list[UseKind] = []


def register(
    model: type[models.Model],
    field: str,
    kind: str,
    *,
    url: UrlBuilder,
    name_field: str | None = "name",
    fixed_name: str = "",
    key_types: tuple[str, ...] | None = None,
    moves_to: str | None = None,
) -> None:
    """Declare that `model.field` (a ForeignKey to a certificate) is a use.

    `model` needs `uuid` and `organization` fields. Its objects are named by `name_field`,
    or all `fixed_name` when `name_field` is None. `key_types` limits which certificates may
    take the use; `moves_to` names the foreign key a replacement goes into when it is not
    `field` (the retired proxy certificate is replaced by a Request Signing Certificate).
    """
    if any(k.model is model and k.field == field for k in _KINDS):
        return
    _KINDS.append(
        UseKind(
            model=model,
            field=field,
            kind=kind,
            url=url,
            name_field=name_field,
            fixed_name=fixed_name,
            key_types=key_types,
            moves_to=moves_to or field,
        )
    )


def kinds_of(target: type[models.Model]) -> list[UseKind]:
    """The registered kinds of use of `target` (a model class)."""
    return [k for k in _KINDS if k.target is target]


def _branch(
    number: int,
    use_kind: UseKind,
    ids: list[int] | None,
    org_id: int | None,
    refs: list[UUID] | None,
) -> tuple[str, list[SqlParam]]:
    """SELECT target id, kind number, uuid, name, org public id FROM one kind of use
    (of the targets in `ids`, or of any target when `ids` is None)."""
    from orgs.models import Organization

    qn = connection.ops.quote_name
    model = use_kind.model
    meta = model._meta
    column = {name: _column(model, name) for name in (use_kind.field, "uuid")}
    org_column = _column(model, "organization")
    params: list[SqlParam] = []
    if use_kind.name_field is not None:
        name_sql = f"t.{_column(model, use_kind.name_field)}"
    else:
        name_sql = "CAST(%s AS VARCHAR(200))"
        params.append(use_kind.fixed_name)
    # The org's public id comes from a join written CROSS JOIN: SQLite then keeps the using
    # table as the outer loop (an INNER JOIN let its planner start from the organization
    # index and scan every row of a big org), while PostgreSQL plans it as any inner join,
    # reading the organization table once. A scalar subquery per row instead made PostgreSQL
    # scan the organization table once per use: 150 times for a list page (issue 14).
    orgs = Organization._meta
    public_id = f"o.{_column(Organization, 'public_id')}"
    where = [f"o.{_column(Organization, orgs.pk.name)} = t.{org_column}"]
    if ids is None:
        where.append(f"t.{column[use_kind.field]} IS NOT NULL")
    else:
        where.append(f"t.{column[use_kind.field]} IN ({', '.join(['%s'] * len(ids))})")
        params += ids
    if org_id is not None:
        where.append(f"t.{org_column} = %s")
        params.append(org_id)
    if refs is not None:
        uuid_field = _field(model, "uuid")
        where.append(f"t.{column['uuid']} IN ({', '.join(['%s'] * len(refs))})")
        params += [uuid_field.get_db_prep_value(ref, connection) for ref in refs]
    sql = (
        f"SELECT t.{column[use_kind.field]}, {number}, t.{column['uuid']}, {name_sql}, "
        f"{public_id} FROM {qn(meta.db_table)} t CROSS JOIN {qn(orgs.db_table)} o "
        f"WHERE {' AND '.join(where)}"
    )
    return sql, params


def _field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    """The concrete field `name` of `model` (every name this module asks for is one: the use's
    foreign key, uuid, organization, the name column), never a reverse relation."""
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field), f"{model.__name__}.{name} is not a concrete field"
    return field


def _column(model: type[models.Model], name: str) -> str:
    """The quoted column of the concrete field `name` of `model`."""
    column = _field(model, name).column
    assert column is not None  # set by contribute_to_class for every concrete field
    return connection.ops.quote_name(column)


def _uses(
    target: type[models.Model],
    ids: list[int] | None,
    *,
    org: models.Model | None = None,
    refs: Collection[UUID] | None = None,
) -> list[tuple[int, Use]]:
    """(target id, use) pairs, in one UNION ALL query over every registered kind; of the
    targets in `ids`, or of any target when `ids` is None."""
    kinds = kinds_of(target)
    if (ids is not None and not ids) or not kinds or (refs is not None and not refs):
        return []
    branches = [
        _branch(n, k, ids, org.pk if org else None, list(refs) if refs is not None else None)
        for n, k in enumerate(kinds)
    ]
    sql = " UNION ALL ".join(sql for sql, _ in branches)
    with connection.cursor() as cursor:
        cursor.execute(sql, [param for _, params in branches for param in params])
        rows = cursor.fetchall()
    rows.sort(key=lambda row: (row[1], row[3].lower()))  # by kind, then name
    # reverse() costs 30-70 us and a page has ~100 uses: each kind's URL is reversed once.
    urlconf = current_urlconf()
    links = [path_builder(k.url, urlconf) for k in kinds]
    found = []
    for target_id, number, raw_ref, name, org_id in rows:
        ref = str(raw_ref) if isinstance(raw_ref, UUID) else _canonical(raw_ref)
        url = links[number](org_id, ref)
        found.append((target_id, Use(kinds[number].kind, name, url, ref)))
    return found


def _canonical(hex_digits: str) -> str:
    """SQLite's text of a UUIDField (32 hex digits) as str(UUID) writes it, without making
    the UUID (a list page has a hundred uses)."""
    if len(hex_digits) != 32:  # not what Django writes: let UUID() parse it or refuse it
        return str(UUID(hex_digits))
    h = hex_digits.lower()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def in_use(target: type[models.Model]) -> models.Q:
    """A filter on `target` rows: those at least one registered kind of use points at (an
    EXISTS per kind, each an index lookup on its foreign key)."""
    condition = models.Q(pk__in=[])
    for use_kind in kinds_of(target):
        users = use_kind.model._default_manager.filter(**{use_kind.field: models.OuterRef("pk")})
        condition |= models.Q(models.Exists(users))
    return condition


def in_use_by(target: type[models.Model], user: str) -> models.Q:
    """A filter on `target` rows: those an object of the model `user` ("app_label.ModelName")
    uses through any of its registered foreign keys, e.g. the certificates SAML SSO
    configurations use."""
    condition = models.Q(pk__in=[])
    for use_kind in kinds_of(target):
        if use_kind.model._meta.label == user:
            users = use_kind.model._default_manager.filter(
                **{use_kind.field: models.OuterRef("pk")}
            )
            condition |= models.Q(models.Exists(users))
    return condition


def uses_by_certificate(certificate_ids: Iterable[int]) -> dict[int, list[Use]]:
    """{certificate id: its uses} for many certificates (a list page), in one query."""
    # Through the kinds registry: certadmin.models' querysets ask this module about uses.
    certificate = kinds.get(kinds.CERTIFICATE).model
    found: dict[int, list[Use]] = defaultdict(list)
    for target_id, use in _uses(certificate, list(certificate_ids)):
        found[target_id].append(use)
    return found


def uses_of(target: models.Model, *, org: models.Model | None = None) -> list[Use]:
    """The uses of one certificate (or of the retired proxy certificate within `org`)."""
    assert target.pk is not None
    return [use for _, use in _uses(type(target), [target.pk], org=org)]


def uses_of_any(target: type[models.Model], *, org: models.Model) -> list[Use]:
    """The uses within `org` of any object of `target`, a model with one row per installation
    (the retired proxy certificate): its uses, without first reading the row."""
    return [use for _, use in _uses(target, None, org=org)]


def accepted_key_types(uses: Iterable[Use]) -> tuple[str, ...] | None:
    """The key types a certificate needs to take over all of `uses` (None: any key)."""
    by_kind = {k.kind: k.key_types for k in _KINDS}
    accepted: tuple[str, ...] | None = None
    for kind in {use.kind for use in uses}:
        key_types = by_kind[kind]
        if key_types is not None:
            accepted = (
                key_types if accepted is None else tuple(k for k in accepted if k in key_types)
            )
    return accepted


def refusals(certificate: models.Model, uses: Iterable[Use]) -> list[str]:
    """Why `certificate` cannot take over `uses` (empty when it can)."""
    by_kind = {k.kind: k.key_types for k in _KINDS}
    key_type = getattr(certificate, "key_type", "")
    problems = []
    for kind in dict.fromkeys(use.kind for use in uses):
        key_types = by_kind[kind]
        if key_types is not None and key_type not in key_types:
            problems.append(
                f"{certificate} has a {key_type} key; a {kind} needs one of {', '.join(key_types)}."
            )
    return problems


def switch(
    old: models.Model,
    new: models.Model,
    *,
    org: models.Model,
    refs: Collection[UUID] | None = None,
) -> list[Use]:
    """Point every use of `old` in `org` (or only by the objects in `refs`) at `new`.

    One UPDATE per kind of use; the caller holds the transaction and has checked `refusals`.
    Returns the uses that moved.
    """
    assert old.pk is not None
    moved = [use for _, use in _uses(type(old), [old.pk], org=org, refs=refs)]
    for use_kind in kinds_of(type(old)):
        _move(use_kind, old, new, org=org, refs=refs)
    return moved


def _move(
    use_kind: UseKind,
    old: models.Model,
    new: models.Model,
    *,
    org: models.Model,
    refs: Collection[UUID] | None,
) -> int:
    rows = use_kind.model._default_manager.filter(organization=org, **{use_kind.field: old})
    if refs is not None:
        rows = rows.filter(uuid__in=list(refs))
    changes: dict[str, object] = {use_kind.moves_to: new}
    if use_kind.moves_to != use_kind.field:
        changes[use_kind.field] = None
    return rows.update(**changes)
