"""Demo data for development, built only through the app's services."""

from seeds.demo import run

__all__ = ["run"]
