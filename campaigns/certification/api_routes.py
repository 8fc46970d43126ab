"""JSON API of the employer certification (DESIGN.md, "HTTP surface"): programs,
applications, transitions. Thin: each handler parses, calls one service function (which
checks the permission itself) and answers JSON."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from campaigns.certification import applications, programs, workflow
from campaigns.certification.schemas import (
    ApplicationCreatedOut,
    ApplicationIn,
    ApplicationOut,
    ProgramIn,
    ProgramOut,
    TransitionIn,
)
from core.auth import requires
from core.http import actor_of, client_ip_of, json_response, parse_json, path_id, settings_of
from core.openapi import api_doc

TAGS = ["certification"]
# Per client address (RATE_LIMIT_ENABLED=false turns it off); shared with the form.
APPLY_LIMIT = "10/hour"


@api_doc(
    summary="Créer un programme de certification (critères, niveaux, périodes)",
    tags=TAGS,
    request=ProgramIn,
    response=ProgramOut,
    response_status=201,
    errors=[422],
)
@requires("certification.manage")
async def program_create(request: Request) -> Response:
    data = await parse_json(request, ProgramIn)
    program = await programs.create_program(actor_of(request), data)
    return json_response(await programs.program_out(program), 201)


@api_doc(
    summary="Présenter une demande de certification (brouillon ou soumise)",
    description=(
        "Ouvert à tous, limité par adresse (429). `submit: false` enregistre un brouillon "
        "et envoie le lien pour le reprendre; `submit: true` le soumet (tous les critères "
        "répondus, les critères obligatoires remplis). Une même `idempotency_key` renvoyée "
        "rend la même demande (200). 409 `application_in_progress` : une demande est déjà "
        "en cours pour cet employeur (son lien est envoyé à sa personne-ressource); 409 "
        "`applications_closed` : le programme n'accepte pas de demandes."
    ),
    tags=TAGS,
    request=ApplicationIn,
    response=ApplicationCreatedOut,
    response_status=201,
    auth="public",
    errors=[400, 409, 429],
    other_responses={
        200: ("La même demande (clé d'idempotence déjà reçue)", ApplicationCreatedOut)
    },
)
async def application_create(request: Request) -> Response:
    await request.app.state.limiter.hit(APPLY_LIMIT, "certification-apply", client_ip_of(request))
    data = await parse_json(request, ApplicationIn)
    settings = settings_of(request)
    application, created = await applications.create_application(
        data, settings=settings, ip=client_ip_of(request)
    )
    body = ApplicationCreatedOut.model_validate(
        {
            "id": application.id,
            "status": application.status.value,
            "resume_url": workflow.resume_url(settings, application.id),
        }
    )
    return json_response(body.model_dump(mode="json"), 201 if created else 200)


@api_doc(
    summary="Une demande de certification",
    tags=TAGS,
    response=ApplicationOut,
    errors=[404],
)
@requires("certification.review")
async def application_detail(request: Request) -> Response:
    application = await applications.get_application(actor_of(request), path_id(request))
    return json_response(await applications.application_out(application, settings_of(request)))


@api_doc(
    summary="Faire passer une demande à un autre état (étude, certification, refus...)",
    description=(
        "`certified` demande `level` (code d'un niveau du programme); `changes_requested` et "
        "`revoked` demandent `message` (envoyé à l'employeur). Un passage impossible depuis "
        "l'état actuel : 409 `illegal_transition`, avec les états permis dans le message."
    ),
    tags=TAGS,
    request=TransitionIn,
    response=ApplicationOut,
    errors=[404, 409, 422],
)
@requires("certification.review")
async def application_transition(request: Request) -> Response:
    data = await parse_json(request, TransitionIn)
    settings = settings_of(request)
    application = await workflow.transition(
        actor_of(request),
        path_id(request),
        data.to,
        level=data.level,
        message=data.message,
        note=data.note,
        settings=settings,
    )
    return json_response(await applications.application_out(application, settings))


routes = [
    Route(
        "/api/v1/certification/programs",
        program_create,
        methods=["POST"],
        name="api_certification_programs_create",
    ),
    Route(
        "/api/v1/certification/applications",
        application_create,
        methods=["POST"],
        name="api_certification_applications_create",
    ),
    Route(
        "/api/v1/certification/applications/{id:int}",
        application_detail,
        methods=["GET"],
        name="api_certification_applications_detail",
    ),
    Route(
        "/api/v1/certification/applications/{id:int}/transition",
        application_transition,
        methods=["POST"],
        name="api_certification_applications_transition",
    ),
]
