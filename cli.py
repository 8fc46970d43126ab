"""The `rassembleur` command: serve, migrate, worker, accounts, imports, demo data.

A top-level module beside `server.py` (not in `core`): it calls the feature packages.
`python -m cli …` runs it too.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from core.settings import ConfigurationError, Settings, load_settings


def _print(message: str) -> None:
    print(message, flush=True)


async def _with_orm(settings: Settings, func: Callable[[], Awaitable[Any]]) -> Any:
    from core.db import close_orm, init_orm

    await init_orm(settings)
    try:
        return await func()
    finally:
        await close_orm()


async def migrate(settings: Settings) -> None:
    from core.db import close_orm, init_orm, run_migrations
    from people.reference import ensure_reference_data

    def progress(event: str, app: str, name: str) -> None:
        if event == "apply_start":
            _print(f"  migration {app}.{name}…")

    await run_migrations(settings, progress=progress)
    await close_orm()
    await init_orm(settings)
    try:
        report = await ensure_reference_data()
    finally:
        await close_orm()
    _print(f"Base de données à jour ({report}).")


# Listening addresses that mean "every interface" (links then use the loopback address),
# and the names of this machine: a BASE_URL naming one of them is served by us directly.
ANY_INTERFACE = {"0.0.0.0", "::", ""}  # noqa: S104 - compared with, not bound to
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", *ANY_INTERFACE}
log = logging.getLogger("rassembleur")


def serve_base_url(environ: Mapping[str, str], host: str, port: int) -> tuple[str, str | None]:
    """The base URL links use when serving on host:port, and a warning when BASE_URL
    sends them elsewhere.

    Without BASE_URL, links (e-mails, calendars, API) follow the address actually served.
    With it, BASE_URL wins; if it names this machine on another port than the one we
    listen on, the links would lead nowhere: say so. A public name is left alone (a
    reverse proxy in front answers on its own port).
    """
    link_host = "127.0.0.1" if host in ANY_INTERFACE else host
    if ":" in link_host:
        link_host = f"[{link_host}]"
    configured = (environ.get("BASE_URL") or "").strip().rstrip("/")
    if not configured:
        return f"http://{link_host}:{port}", None
    parsed = urlsplit(configured)
    try:
        configured_port = parsed.port or (443 if parsed.scheme == "https" else 80)
    except ValueError:
        return configured, None
    hostname = parsed.hostname or ""
    if configured_port != port and (hostname in LOCAL_HOSTS or hostname == host):
        return configured, (
            f"BASE_URL ({configured}) indique le port {configured_port}, mais le service "
            f"écoute sur le port {port} : les liens des courriels et des calendriers mèneront "
            f"au port {configured_port}. Corrigez BASE_URL ou retirez-la."
        )
    return configured, None


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from server import create_app

    base_url, warning = serve_base_url(os.environ, args.host, args.port)
    if warning:
        log.warning(warning)
    if base_url != settings.base_url:
        settings = settings.with_(base_url=base_url)
        # Worker processes (--workers) build their settings from the environment.
        os.environ["BASE_URL"] = base_url
    if args.migrate:
        asyncio.run(migrate(settings))
    _print(f"Rassembleur sert {settings.base_url} (http://{args.host}:{args.port}).")
    options: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "log_level": args.log_level,
        "access_log": not args.no_access_log,
        "proxy_headers": True,
        "forwarded_allow_ips": args.forwarded_allow_ips,
    }
    if args.workers > 1:
        # Each worker process builds its own app from the same environment. With SQLite,
        # writes are serialized by the database file lock (busy timeout): PostgreSQL is the
        # database for several processes. Run the mail worker separately
        # (RUN_WORKER_IN_SERVER=false, `rassembleur worker`) or it runs in every process.
        uvicorn.run("server:create_app", factory=True, workers=args.workers, **options)
    else:
        uvicorn.run(create_app(settings), **options)
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from core.db import ForeignKeysBroken

    try:
        asyncio.run(migrate(settings))
    except ForeignKeysBroken as error:
        print(f"Erreur : {error}", file=sys.stderr)
        return 1
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from core.mail.worker import run_worker

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        _print("Travailleur d'envoi démarré (Ctrl+C pour arrêter).")

        async def both() -> None:
            from core.maintenance import run_maintenance

            await asyncio.gather(run_worker(settings, stop), run_maintenance(stop))

        await _with_orm(settings, both)

    asyncio.run(main())
    return 0


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Mot de passe : ")
    second = getpass.getpass("Mot de passe (confirmation) : ")
    if first != second:
        raise SystemExit("Les deux mots de passe ne correspondent pas.")
    return first


def cmd_create_user(args: argparse.Namespace, settings: Settings) -> int:
    from core import accounts
    from core.auth import Principal

    password = _read_password(args)

    async def run() -> None:
        user = await accounts.create_user(
            Principal.system("cli"), args.email, password, args.role, args.name or ""
        )
        _print(f"Compte créé : {user.email} ({user.role}).")

    asyncio.run(_with_orm(settings, run))
    return 0


def cmd_create_token(args: argparse.Namespace, settings: Settings) -> int:
    from core import accounts
    from core.auth import Principal
    from core.models import User

    async def run() -> None:
        user = await User.get_or_none(email=args.email.strip().lower())
        if user is None:
            raise SystemExit(f"Aucun compte pour {args.email}.")
        _token, raw = await accounts.create_token(Principal.system("cli"), user, args.name)
        _print("Nouveau jeton (affiché une seule fois) :")
        _print(raw)

    asyncio.run(_with_orm(settings, run))
    return 0


def cmd_import_territories(args: argparse.Namespace, settings: Settings) -> int:
    from core.auth import Principal
    from people.reference import import_territories

    data = Path(args.csv).read_bytes()

    async def run() -> None:
        report = await import_territories(Principal.system("cli"), data)
        _print(
            f"Territoires : {report.created} créés, {report.updated} mis à jour, "
            f"{len(report.rejected)} rejetés."
        )
        for item in report.rejected:
            _print(f"  ligne {item['line']} : {item['error']}")

    asyncio.run(_with_orm(settings, run))
    return 0


def cmd_import_people(args: argparse.Namespace, settings: Settings) -> int:
    from core.auth import Principal
    from people.imports import import_people_csv

    data = Path(args.csv).read_bytes()

    async def run() -> int:
        report = await import_people_csv(Principal.system("cli"), data)
        _print(
            f"Personnes : {report.created} créées, {report.updated} mises à jour, "
            f"{len(report.rejected)} lignes rejetées."
        )
        for item in report.rejected:
            _print(f"  ligne {item['line']} : {item['error']}")
        return 1 if report.rejected else 0

    return int(asyncio.run(_with_orm(settings, run)))


def cmd_send_test_mail(args: argparse.Namespace, settings: Settings) -> int:
    from core.mail.outbox import send_test_mail

    async def run() -> None:
        message = await send_test_mail(settings, args.to)
        if settings.smtp_url:
            _print(f"Message {message.id} mis en file; le travailleur l'enverra à {args.to}.")
        else:
            _print(
                f"Message {message.id} mis en file. SMTP_URL n'est pas défini : il reste dans "
                "la boîte d'envoi (visible dans /admin/outbox)."
            )

    asyncio.run(_with_orm(settings, run))
    return 0


def cmd_unsubscribe_mail(args: argparse.Namespace, settings: Settings) -> int:
    """One message sent to the List-Unsubscribe mailto, on stdin (a mail server's pipe).

    Exits 0 even when the message holds no valid link, so the mail server does not send
    a bounce (to an address that may be forged)."""
    from campaigns.preferences import unsubscribe_by_mail

    raw = sys.stdin.buffer.read(1_000_001)

    async def run() -> None:
        target = await unsubscribe_by_mail(settings, raw)
        if target is None:
            _print("Aucun lien de désabonnement valide dans ce message : rien n'est changé.")
        else:
            _print(f"Personne {target.person_id} désabonnée : {target.purpose.value}.")

    asyncio.run(_with_orm(settings, run))
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from demo import load_demo

    async def run() -> None:
        result = await load_demo(settings, if_empty=args.if_empty)
        for line in result:
            _print(line)

    asyncio.run(_with_orm(settings, run))
    return 0


def cmd_retention(args: argparse.Namespace, settings: Settings) -> int:
    from core.auth import Principal
    from core.i18n import format_day
    from registrations.retention import apply_retention, preview_retention

    async def run() -> None:
        if args.dry_run:
            preview = await preview_retention(settings)
            _print(
                f"Essai à blanc (rien n'est modifié). Durée de conservation par défaut : "
                f"{preview.retention_months} mois."
            )
            for item in preview.events:
                event = item.event
                months = event.retention_months or preview.retention_months
                _print(
                    f"  événement {event.id} « {event.title} », terminé le "
                    f"{format_day(event.ends_at)} (conservation : {months} mois) : "
                    f"{item.registrations} inscription(s) à anonymiser"
                )
            _print(
                f"Inscriptions à anonymiser : {preview.registrations}; personnes sans activité "
                f"ni consentement à anonymiser : {preview.people}."
            )
            return
        report = await apply_retention(settings, actor=Principal.system("cli"))
        _print(
            f"Conservation appliquée ({report.retention_months} mois par défaut) : "
            f"{report.people_erased} personne(s) et {report.registrations_anonymized} "
            "inscription(s) anonymisées."
        )

    asyncio.run(_with_orm(settings, run))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rassembleur", description="Rassembleur : événements et mobilisation."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="servir l'application web")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--log-level", default="info")
    p.add_argument("--no-access-log", action="store_true")
    p.add_argument("--migrate", action="store_true", help="appliquer les migrations d'abord")
    p.add_argument("--workers", type=int, default=1, help="nombre de processus (défaut : 1)")
    p.add_argument("--forwarded-allow-ips", default="127.0.0.1")
    p.set_defaults(func=cmd_serve)

    sub.add_parser("migrate", help="appliquer les migrations").set_defaults(func=cmd_migrate)
    sub.add_parser("worker", help="envoyer les courriels en file").set_defaults(func=cmd_worker)

    p = sub.add_parser("create-user", help="créer un compte de l'équipe")
    p.add_argument("email")
    p.add_argument("--role", required=True, choices=["admin", "organizer", "checkin", "reviewer"])
    p.add_argument("--name", default="")
    p.add_argument("--password-stdin", action="store_true")
    p.set_defaults(func=cmd_create_user)

    p = sub.add_parser("create-token", help="créer un jeton d'API personnel")
    p.add_argument("email")
    p.add_argument("--name", default="CLI")
    p.set_defaults(func=cmd_create_token)

    p = sub.add_parser("import-territories", help="importer les territoires (CSV)")
    p.add_argument("csv")
    p.set_defaults(func=cmd_import_territories)

    p = sub.add_parser("import-people", help="importer des personnes (CSV)")
    p.add_argument("csv")
    p.set_defaults(func=cmd_import_people)

    p = sub.add_parser("send-test-mail", help="mettre un courriel d'essai en file")
    p.add_argument("to")
    p.set_defaults(func=cmd_send_test_mail)

    sub.add_parser(
        "unsubscribe-mail",
        help="appliquer un courriel de désabonnement reçu (lu sur l'entrée standard)",
    ).set_defaults(func=cmd_unsubscribe_mail)
    p = sub.add_parser(
        "retention", help="anonymiser maintenant ce qui a dépassé la durée de conservation"
    )
    p.add_argument(
        "--dry-run", action="store_true", help="afficher ce qui serait anonymisé, sans rien changer"
    )
    p.set_defaults(func=cmd_retention)

    p = sub.add_parser("demo", help="charger les données de démonstration")
    p.add_argument("--if-empty", action="store_true", help="seulement si aucune donnée")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigurationError as error:
        print(f"Configuration invalide : {error}", file=sys.stderr)
        return 2
    from core.errors import AppError

    try:
        return int(args.func(args, settings) or 0)
    except AppError as error:
        details = "; ".join(f"{k} : {v}" for k, v in error.fields.items())
        print(f"Erreur : {error.message} {details}".strip(), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
