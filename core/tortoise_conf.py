"""Module-level Tortoise config, for Tortoise's own CLI (`make migrations`)."""

from core.db import tortoise_config
from core.settings import load_settings

TORTOISE_ORM = tortoise_config(load_settings())
