"""The review app (FastAPI): `create_app` and `vigil serve`."""

from vigil.web.app import create_app

__all__ = ["create_app"]
