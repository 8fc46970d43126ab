"""Output schemas of the public certification endpoints (directory, verification), as the
OpenAPI document declares them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from campaigns.certification.schemas import SectorCode


class TerritoryRef(BaseModel):
    code: str = Field(max_length=10)
    name: str = Field(max_length=120)


class LevelRef(BaseModel):
    code: str = Field(max_length=32)
    name: str = Field(max_length=100)


class DirectoryEntryOut(BaseModel):
    employer: str = Field(max_length=200, description="raison sociale")
    sector: SectorCode | Literal[""] = Field(description="code du secteur")
    sector_label: str
    territory: TerritoryRef | None = Field(description="MRC ou territoire équivalent")
    level: LevelRef
    program: str = Field(max_length=200)
    certified_since: str = Field(json_schema_extra={"format": "date"})
    valid_until: str = Field(json_schema_extra={"format": "date"})
    verify_url: str


class DirectoryOut(BaseModel):
    items: list[DirectoryEntryOut]
    total: int = Field(ge=0)
    page: int = Field(ge=1)
    per_page: int = Field(ge=1, le=200)


class VerificationOut(BaseModel):
    code: str = Field(max_length=16)
    state: Literal["valid", "expiring", "expired", "lapsed", "revoked", "renewed"]
    valid: bool
    employer: str = Field(max_length=200)
    program: str = Field(max_length=200)
    level: LevelRef
    issued_at: str = Field(json_schema_extra={"format": "date-time"})
    valid_until: str = Field(json_schema_extra={"format": "date-time"})
    revoked_at: str | None = Field(json_schema_extra={"format": "date-time"})
    replacement_url: str | None
    verify_url: str
