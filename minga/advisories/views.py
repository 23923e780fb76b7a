"""REST of public advisories (`/api/advisories`): draft, edit, publish, update, withdraw, read
(with the revision history and the CSAF document), awareness campaigns and page-view counts."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from minga.advisories import campaigns, csaf, provider, public, service
from minga.advisories.models import Advisory
from minga.api.deps import CurrentPrincipal, NodeDep, SessionDep, UtcDatetime
from minga.errors import NotFound

router = APIRouter(prefix="/api/advisories", tags=["advisories"])
TrackingId = Annotated[str, Path(max_length=64, description="e.g. CSIRT-CR-2026-0007")]


class Text(BaseModel):
    title: str = Field(max_length=200)
    summary: str = Field(max_length=4000, description="what is happening, for everyone")
    what_to_do: str = Field(max_length=8000, description="the advice: what people should do")


class Product(BaseModel):
    vendor: str = Field(max_length=200)
    product: str = Field(max_length=200)
    versions: str = Field(max_length=200, description='e.g. "< 2.17.1"')


class AdvisoryIn(BaseModel):
    texts: dict[str, Text] = Field(description="the advisory in one or more of es, pt, en")
    category: str = Field(
        description="vulnerability, phishing, malware, ransomware, fraud, outage or general"
    )
    severity: str = Field(description="low, medium, high or critical")
    sectors: list[str] = Field(default=[], description="affected sectors, e.g. health")
    products: list[Product] = Field(default=[], description="affected products")
    cves: list[str] = Field(default=[], description="CVE ids")
    references: list[str] = Field(default=[], description="http(s) URLs")
    links: list[str] = Field(
        default=[],
        description="STIX ids of related indicators and vulnerabilities in the store; all must"
        " be TLP:CLEAR when the advisory is published",
    )


class UpdateIn(AdvisoryIn):
    summary: str = Field(max_length=500, description="what changed, for the revision history")


class PublishIn(BaseModel):
    summary: str = Field(default="", max_length=500, description="revision note (optional)")


class WithdrawIn(BaseModel):
    reason: str = Field(max_length=2000, description="why: shown on the public page")


class RevisionOut(BaseModel):
    number: int
    at: UtcDatetime
    status: str
    summary: str


class AdvisoryOut(BaseModel):
    tracking_id: str
    status: str = Field(description="draft, published or withdrawn")
    category: str
    severity: str
    revision: int
    content: dict[str, Any]
    created_at: UtcDatetime
    updated_at: UtcDatetime
    published_at: UtcDatetime | None
    withdrawn_at: UtcDatetime | None
    withdrawn_reason: str | None
    public_url: str | None = Field(description="its public page (null while a draft)")
    csaf: bool = Field(description="also published as a CSAF 2.0 document")


class AdvisoryDetail(AdvisoryOut):
    revisions: list[RevisionOut]


class CampaignIn(BaseModel):
    slug: str = Field(max_length=80, description="e.g. tax-season-phishing")
    starts_on: date
    ends_on: date
    texts: dict[str, dict[str, Any]] = Field(
        description="per language (es, pt, en): title, theme and tips (a list of short texts)"
    )
    advisories: list[str] = Field(default=[], description="tracking ids of public advisories")


class CampaignOut(BaseModel):
    slug: str
    starts_on: date
    ends_on: date
    content: dict[str, Any]
    advisories: list[str]
    public_url: str


class PageViewOut(BaseModel):
    page: str
    day: date
    views: int


def _out(node: Any, advisory: Advisory) -> dict[str, Any]:
    root = node.settings.public_url.rstrip("/")
    return {
        "tracking_id": advisory.tracking_id,
        "status": advisory.status,
        "category": advisory.category,
        "severity": advisory.severity,
        "revision": advisory.revision,
        "content": service.loads(advisory),
        "created_at": advisory.created_at,
        "updated_at": advisory.updated_at,
        "published_at": advisory.published_at,
        "withdrawn_at": advisory.withdrawn_at,
        "withdrawn_reason": advisory.withdrawn_reason,
        "public_url": None
        if advisory.status == service.DRAFT
        else f"{root}/public/advisories/{advisory.tracking_id}",
        "csaf": csaf.has_csaf(advisory),
    }


def _fields(body: AdvisoryIn) -> dict[str, Any]:
    return body.model_dump(exclude={"summary"})


@router.get("/campaigns", response_model=list[CampaignOut], summary="Awareness campaigns")
def list_campaigns(session: SessionDep, principal: CurrentPrincipal, node: NodeDep) -> Any:
    root = node.settings.public_url.rstrip("/")
    return [
        CampaignOut(
            slug=c.slug,
            starts_on=c.starts_on,
            ends_on=c.ends_on,
            content=_content(c),
            advisories=campaigns.advisory_ids(c),
            public_url=f"{root}/public/campaigns/{c.slug}",
        )
        for c in campaigns.every(session)
    ]


def _content(campaign: Any) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(campaign.content)
    return data


@router.post("/campaigns", response_model=CampaignOut, status_code=201, summary="Start a campaign")
def create_campaign(
    body: CampaignIn, session: SessionDep, principal: CurrentPrincipal, node: NodeDep
) -> Any:
    campaign = campaigns.create(
        session,
        principal,
        slug=body.slug,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        texts=body.texts,
        advisories=body.advisories,
    )
    session.commit()
    root = node.settings.public_url.rstrip("/")
    return CampaignOut(
        slug=campaign.slug,
        starts_on=campaign.starts_on,
        ends_on=campaign.ends_on,
        content=_content(campaign),
        advisories=campaigns.advisory_ids(campaign),
        public_url=f"{root}/public/campaigns/{campaign.slug}",
    )


@router.get(
    "/page-views", response_model=list[PageViewOut], summary="Public page views per page per day"
)
def page_views(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: Annotated[str | None, Query(max_length=200, description="one page's path")] = None,
) -> Any:
    return [PageViewOut(page=v.page, day=v.day, views=v.views) for v in public.views(session, page)]


@router.get("", response_model=list[AdvisoryOut], summary="Advisories you may read")
def list_advisories(
    session: SessionDep,
    principal: CurrentPrincipal,
    node: NodeDep,
    status: Annotated[str | None, Query(description="draft, published or withdrawn")] = None,
) -> Any:
    return [_out(node, a) for a in service.list_for(session, principal, status=status)]


@router.post("", response_model=AdvisoryOut, status_code=201, summary="Draft an advisory")
def draft_advisory(
    body: AdvisoryIn, session: SessionDep, principal: CurrentPrincipal, node: NodeDep
) -> Any:
    advisory = service.draft(
        session, principal, _fields(body), prefix=node.settings.tracking_prefix
    )
    session.commit()
    return _out(node, advisory)


@router.get("/{tracking_id}", response_model=AdvisoryDetail, summary="One advisory")
def get_advisory(
    tracking_id: TrackingId, session: SessionDep, principal: CurrentPrincipal, node: NodeDep
) -> Any:
    advisory = service.get(session, principal, tracking_id)
    history = [
        RevisionOut(number=r.number, at=r.at, status=r.status, summary=r.summary)
        for r in service.revisions(session, advisory)
    ]
    return {**_out(node, advisory), "revisions": history}


@router.put("/{tracking_id}", response_model=AdvisoryOut, summary="Edit a draft")
def edit_advisory(
    tracking_id: TrackingId,
    body: AdvisoryIn,
    session: SessionDep,
    principal: CurrentPrincipal,
    node: NodeDep,
) -> Any:
    advisory = service.edit_draft(session, principal, tracking_id, _fields(body))
    session.commit()
    return _out(node, advisory)


@router.post("/{tracking_id}/publish", response_model=AdvisoryOut, summary="Publish a draft")
def publish_advisory(
    tracking_id: TrackingId,
    session: SessionDep,
    principal: CurrentPrincipal,
    node: NodeDep,
    body: PublishIn | None = None,
) -> Any:
    summary = body.summary if body is not None else ""
    advisory = service.publish(session, principal, tracking_id, summary=summary)
    session.commit()
    return _out(node, advisory)


@router.post("/{tracking_id}/revisions", response_model=AdvisoryOut, summary="Publish an update")
def update_advisory(
    tracking_id: TrackingId,
    body: UpdateIn,
    session: SessionDep,
    principal: CurrentPrincipal,
    node: NodeDep,
) -> Any:
    advisory = service.update(session, principal, tracking_id, _fields(body), summary=body.summary)
    session.commit()
    return _out(node, advisory)


@router.post("/{tracking_id}/withdraw", response_model=AdvisoryOut, summary="Withdraw")
def withdraw_advisory(
    tracking_id: TrackingId,
    body: WithdrawIn,
    session: SessionDep,
    principal: CurrentPrincipal,
    node: NodeDep,
) -> Any:
    advisory = service.withdraw(session, principal, tracking_id, reason=body.reason)
    session.commit()
    return _out(node, advisory)


@router.get("/{tracking_id}/csaf", summary="Its CSAF 2.0 document")
def advisory_csaf(
    tracking_id: TrackingId, session: SessionDep, principal: CurrentPrincipal, node: NodeDep
) -> dict[str, Any]:
    advisory = service.get(session, principal, tracking_id)
    if not csaf.has_csaf(advisory):
        raise NotFound(f"{tracking_id} has no CSAF document (a published vulnerability advisory)")
    path = f"{csaf.year_of(advisory)}/{csaf.filename(tracking_id)}"
    doc: dict[str, Any] = orjson.loads(provider.find(session, node.settings.public_url, path).body)
    return doc
