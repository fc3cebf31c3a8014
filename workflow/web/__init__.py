"""The coordinator's web app and the JSON API: thin over ``workflow.service``."""

from workflow.web.app import create_app

__all__ = ["create_app"]
