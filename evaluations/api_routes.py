"""JSON API of the evaluations (DESIGN.md, "HTTP surface").

Organizers: the event's form (create or replace, read), its results, sending now. The
participant: answering through the personal link, `POST /api/v1/evaluation/{token}`.

Why answering has no CSRF check: the request is authenticated by the link's token alone
(144 bits of HMAC keyed by SECRET_KEY, one invitation), as the one-click unsubscribe of
`campaigns.preference_routes`; no cookie gives it any authority, so a third-party site
cannot forge it without already holding the person's own link. What it can do is bounded
to that one response, until the form closes. The HTML form of the page, which runs with
a session, is CSRF-checked (`evaluations.public_routes`). Writes are rate-limited per
client address.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.auth import requires
from core.http import actor_of, client_ip_of, json_response, parse_json, path_id, settings_of
from core.i18n import current_language, iso_or_none
from core.openapi import api_doc
from evaluations import answering, forms, results, sending
from evaluations.links import TOKEN_MAX
from evaluations.schemas import AnswersIn, AnswersOut, FormIn, FormOut, ResultsOut, SendOut

TAGS = ["évaluations"]
# Saving as one goes: a POST per answer; many participants may share one address.
ANSWER_LIMIT = "120/minute"


@api_doc(
    summary="Créer ou remplacer le questionnaire d'évaluation d'un événement",
    description=(
        "Les questions remplacent les précédentes (appariées par `code`). 409 "
        "`form_answered` : changer l'anonymat d'un questionnaire qui a des réponses; 409 "
        "`question_answered` : changer le type d'une question qui a des réponses."
    ),
    tags=TAGS,
    request=FormIn,
    response=FormOut,
    errors=[404, 409, 422],
)
@requires(forms.EDIT)
async def form_save(request: Request) -> Response:
    data = await parse_json(request, FormIn)
    form = await forms.save_form(actor_of(request), path_id(request), data)
    return json_response(await forms.form_out(form))


@api_doc(
    summary="Le questionnaire d'évaluation d'un événement",
    tags=TAGS,
    response=FormOut,
    errors=[404],
)
@requires("events.view")
async def form_get(request: Request) -> Response:
    form = await forms.existing_form(actor_of(request), path_id(request))
    return json_response(await forms.form_out(form))


@api_doc(
    summary="Résultats de l'évaluation : taux de réponse, distributions, moyennes",
    description=(
        "Pour un questionnaire nominatif, `by_clientele` et `by_territory` (MRC) donnent "
        "la satisfaction moyenne (questions d'appréciation 1–5) et le nombre de réponses."
    ),
    tags=TAGS,
    response=ResultsOut,
    errors=[404],
)
@requires(results.VIEW)
async def results_get(request: Request) -> Response:
    _event, found = await results.results_for_event(
        actor_of(request), path_id(request), current_language.get(), texts=0
    )
    return json_response(results.results_out(found))


@api_doc(
    summary="Envoyer l'évaluation maintenant",
    description=(
        "Aux présents (enregistrement à l'entrée), ou à tous les inscrits confirmés si "
        "l'événement n'a eu aucun enregistrement; chacun reçoit un lien personnel "
        "`/evaluation/{token}`. Sans doublon : un second envoi n'écrit qu'aux nouveaux. "
        "409 `no_form`, `form_closed`."
    ),
    tags=TAGS,
    response=SendOut,
    errors=[404, 409],
    request_required=False,
)
@requires(forms.EDIT)
async def send_now(request: Request) -> Response:
    queued = await sending.send_now(actor_of(request), settings_of(request), path_id(request))
    return json_response({"queued": queued})


@api_doc(
    summary="Répondre à l'évaluation (lien personnel)",
    description=(
        "Une réponse par lien : un nouvel envoi la remplace jusqu'à la fermeture. "
        "`complete: false` n'enregistre que les réponses données (la page enregistre au "
        "fur et à mesure). 404 : lien invalide; 409 `form_closed` : questionnaire fermé, "
        "rien n'est enregistré; 422 : réponses invalides, par code de question."
    ),
    tags=TAGS,
    request=AnswersIn,
    response=AnswersOut,
    auth="public",
    errors=[404, 409, 422, 429],
)
async def answer(request: Request) -> Response:
    await request.app.state.limiter.hit(ANSWER_LIMIT, "evaluation-answer", client_ip_of(request))
    token = str(request.path_params["token"])[:TOKEN_MAX]
    settings = settings_of(request)
    await answering.load(settings, token)  # a bad link is a 404 before the body is read
    data = await parse_json(request, AnswersIn)
    found = await answering.save_answers(
        settings, token, dict(data.answers), complete=data.complete
    )
    return json_response(
        {
            "saved": True,
            "complete": data.complete,
            "answered": sorted(found.values),
            "closes_at": iso_or_none(found.closes_at),
        }
    )


routes = [
    Route(
        "/api/v1/events/{id:int}/evaluation",
        form_save,
        methods=["POST"],
        name="api_evaluation_save",
    ),
    Route(
        "/api/v1/events/{id:int}/evaluation", form_get, methods=["GET"], name="api_evaluation_get"
    ),
    Route(
        "/api/v1/events/{id:int}/evaluation/results",
        results_get,
        methods=["GET"],
        name="api_evaluation_results",
    ),
    Route(
        "/api/v1/events/{id:int}/evaluation/send",
        send_now,
        methods=["POST"],
        name="api_evaluation_send",
    ),
    Route("/api/v1/evaluation/{token}", answer, methods=["POST"], name="api_evaluation_answer"),
]
