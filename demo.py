"""Demo content for `make run` / `rassembleur demo`: an admin account, people, plan items,
events, the employer certification (beside `server.py`, not in `core`: it calls the
feature packages)."""

from __future__ import annotations

import secrets

from core.models import Role, User
from core.security import hash_password, verify_password
from core.settings import Settings

DEMO_ADMIN_EMAIL = "admin@demo.rassembleur.local"


def _demo_password(settings: Settings) -> str:
    """A random password made on first load, kept in var/ (0600) so it can be shown again."""
    path = settings.var_dir / "demo_admin_password.txt"
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    if path.exists():
        return path.read_text().strip()
    password = secrets.token_urlsafe(12)
    path.write_text(password)
    path.chmod(0o600)
    return password


async def load_demo(settings: Settings, *, if_empty: bool = False) -> list[str]:
    from campaigns.certification.demo import load_demo_certification
    from events.demo import load_demo_events
    from people.demo import load_demo_people
    from people.reference import seed_plan_items

    lines: list[str] = []
    has_users = await User.exists()
    if if_empty and has_users and not await User.exists(email=DEMO_ADMIN_EMAIL):
        lines.append("La base contient déjà des comptes : données de démonstration non chargées.")
        return lines
    password = _demo_password(settings)
    admin = await User.get_or_none(email=DEMO_ADMIN_EMAIL)
    if admin is None:
        await User.create(
            email=DEMO_ADMIN_EMAIL,
            password_hash=hash_password(password),
            role=Role.ADMIN,
            full_name="Administration (démo)",
        )
    elif not verify_password(admin.password_hash, password):
        admin.password_hash = hash_password(password)
        admin.session_version += 1  # a new password ends the sessions opened with the old one
        await admin.save(update_fields=["password_hash", "session_version"])
    await seed_plan_items()
    people = await load_demo_people()
    events = await load_demo_events()
    certification = await load_demo_certification(settings)
    lines.append(f"Données de démonstration prêtes ({people}; {events}; {certification}).")
    lines.append("")
    lines.append(f"  Adresse : {settings.base_url}")
    lines.append(f"  Compte de démonstration : {DEMO_ADMIN_EMAIL}")
    lines.append(f"  Mot de passe : {password}")
    lines.append("")
    return lines
